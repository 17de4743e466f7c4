# One API, four consumer teams, each with its own invoke role and route allowlist. The routes do not overlap, so
# an allowlist means exactly what it says (see the module README, "The invoke policy").

provider "aws" {
  region = "ap-northeast-1"
}

module "api" {
  source = "../../modules/provider_api"

  name = "orders-api"
  integration = {
    type       = "HTTP_PROXY"
    uri        = "https://orders.internal.example.com/v1"
    timeout_ms = 10000
  }
  routes = ["GET /orders", "GET /orders/{id}", "POST /orders", "DELETE /orders/{id}"]

  invoke_roles = {
    # The back office: every route.
    OrdersBackoffice = {
      trusted_role_arns = ["arn:aws:iam::222222222222:role/BackofficeApp"]
    }
    # Reporting reads, from two roles of its account (the batch and its canary).
    OrdersReporting = {
      trusted_role_arns = [
        "arn:aws:iam::333333333333:role/service-role/ReportingBatch",
        "arn:aws:iam::333333333333:role/service-role/ReportingBatchCanary",
      ]
      allowed_routes = ["GET /orders", "GET /orders/{id}"]
    }
    # Checkout only places orders.
    OrdersCheckout = {
      trusted_role_arns = ["arn:aws:iam::444444444444:role/CheckoutTask"]
      allowed_routes    = ["POST /orders"]
    }
    # A partner reads single orders, must send the agreed external id, and may keep a session for two hours.
    OrdersPartner = {
      trusted_role_arns    = ["arn:aws:iam::555555555555:role/PartnerSync"]
      allowed_routes       = ["GET /orders/{id}"]
      external_id          = "orders-partner-3b7e91"
      max_session_duration = 7200
    }
  }

  throttling = {
    burst_limit = 50
    rate_limit  = 20
  }
}

output "consumer_config" {
  description = "Send each team its part: region, invoke URL, its invoke role ARN and routes."
  value       = module.api.consumer_config
}
