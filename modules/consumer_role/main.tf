locals {
  trusted_services = coalesce(var.trusted_services, var.create_role ? ["lambda.amazonaws.com"] : [])
  role_name        = var.create_role ? aws_iam_role.this[0].name : one(data.aws_iam_roles.existing[0].names)
  role_arn         = var.create_role ? aws_iam_role.this[0].arn : one(data.aws_iam_roles.existing[0].arns)
}

resource "aws_iam_role" "this" {
  count = var.create_role ? 1 : 0

  name                 = var.role_name
  description          = "Workload role that may assume the provider's invoke role(s) to call their API."
  permissions_boundary = var.permissions_boundary_arn
  tags                 = var.tags

  # Confused deputy ("The confused deputy problem", IAM User Guide): a service may assume this role only on behalf
  # of a resource of this account. aws:SourceAccount is the account of the resource the service acts for.
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [merge(
      {
        Sid       = "WorkloadServices"
        Effect    = "Allow"
        Principal = { Service = local.trusted_services }
        Action    = "sts:AssumeRole"
      },
      var.source_account_condition ? {
        Condition = { StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id } }
      } : {},
    )]
  })
}

data "aws_caller_identity" "current" {}

# create_role = false: the role must exist. A listing (not aws_iam_role, whose lookup of a missing role is a raw
# provider error) lets the plan say which role is missing and what to do. Role names are unique regardless of
# case in IAM, hence (?i); "." and "+" are the only regex metacharacters a role name can hold.
data "aws_iam_roles" "existing" {
  count = var.create_role ? 0 : 1

  name_regex = "(?i)^${replace(var.role_name, "/([.+])/", "\\$1")}$"

  lifecycle {
    postcondition {
      condition = length(self.names) == 1
      error_message = join(" ", [
        "create_role = false, but this account has no IAM role named \"${var.role_name}\" to attach the policy to.",
        "Create the role first (or check role_name and the account you plan against), or set create_role = true.",
      ])
    }
  }
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
