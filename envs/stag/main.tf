module "api" {
  source = "../../modules/provider_api"

  name = var.name
  integration = {
    type       = "HTTP_PROXY"
    uri        = var.api_server_url
    timeout_ms = var.integration_timeout_ms
  }
  routes       = var.routes
  invoke_roles = var.invoke_roles
  throttling   = var.throttling
  access_log   = { retention_in_days = var.access_log_retention_in_days }
  domain       = var.domain
}
