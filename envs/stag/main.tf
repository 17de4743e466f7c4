module "api" {
  source = "../../modules/provider_api"

  name = var.name
  integration = {
    type       = "HTTP_PROXY"
    uri        = var.api_server_url
    timeout_ms = var.integration_timeout_ms
  }
  routes       = var.routes
  invoke_roles = local.invoke_roles
  throttling   = var.throttling
  access_log = {
    retention_in_days = var.access_log_retention_in_days
    kms_key_arn       = var.access_log_kms_key_arn
  }
  invoke_role_permissions_boundary_arn = var.invoke_role_permissions_boundary_arn
  origin_verify_header                 = var.origin_verify_header
  origin_secret_version                = var.origin_secret_version
  domain                               = var.domain
  large_payloads                       = var.large_payloads
  expiry_warning_days                  = var.expiry_warning_days
}
