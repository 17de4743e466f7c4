locals {
  trusted_services = coalesce(var.trusted_services, var.create_role ? ["lambda.amazonaws.com"] : [])
  role_name        = var.create_role ? aws_iam_role.this[0].name : data.aws_iam_role.existing[0].name
  role_arn         = var.create_role ? aws_iam_role.this[0].arn : data.aws_iam_role.existing[0].arn
}

resource "aws_iam_role" "this" {
  count = var.create_role ? 1 : 0

  name                 = var.role_name
  description          = "Workload role that may assume the provider's invoke role(s) to call their API."
  permissions_boundary = var.permissions_boundary_arn
  tags                 = var.tags

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "WorkloadServices"
      Effect    = "Allow"
      Principal = { Service = local.trusted_services }
      Action    = "sts:AssumeRole"
    }]
  })
}

data "aws_iam_role" "existing" {
  count = var.create_role ? 0 : 1

  name = var.role_name
}

resource "aws_iam_role_policy" "assume_provider_roles" {
  name = "AssumeProviderInvokeRoles"
  role = local.role_name

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid      = "AssumeProviderInvokeRolesOnly"
      Effect   = "Allow"
      Action   = "sts:AssumeRole"
      Resource = distinct(var.provider_invoke_role_arns)
    }]
  })
}

resource "aws_iam_role_policy_attachment" "managed" {
  for_each = toset(var.managed_policy_arns)

  role       = local.role_name
  policy_arn = each.value
}
