module "consumer" {
  source = "../../modules/consumer_role"

  role_name                 = var.role_name
  create_role               = var.create_role
  trusted_services          = var.trusted_services
  provider_invoke_role_arns = var.provider_invoke_role_arns
  managed_policy_arns       = var.managed_policy_arns
}
