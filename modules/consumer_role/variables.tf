# Shared rules of the validations below (locals that depend on no variable, so a validation may read them).
locals {
  iam_name_chars     = "[A-Za-z0-9+=,.@_-]"
  role_name_regex    = "^${local.iam_name_chars}{1,64}$"
  role_arn_regex     = "^arn:aws(-cn|-us-gov)?:iam::[0-9]{12}:role/(${local.iam_name_chars}+/)*${local.iam_name_chars}{1,64}$"
  service_regex      = "^[a-z0-9-]+(\\.[a-z0-9-]+)*\\.amazonaws\\.com(\\.cn)?$"
  managed_policy_arn = "^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/.+$"
}

variable "role_name" {
  description = "Name of the workload role (e.g. LambdaRoleDeve): the role the provider's invoke role trusts."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex(local.role_name_regex, var.role_name))
    error_message = "role_name must be 1-64 characters of letters, digits and + = , . @ _ -; got \"${var.role_name}\" (${length(var.role_name)} characters)."
  }
}

variable "create_role" {
  description = "true: create the role, trusted by trusted_services. false: attach the policies to an existing role of that name (the plan fails if there is none; its trust policy is left alone)."
  type        = bool
  default     = true
  nullable    = false
}

variable "trusted_services" {
  description = <<-EOT
    AWS services that run the workload and may assume the created role, e.g. ["ecs-tasks.amazonaws.com"].
    null means ["lambda.amazonaws.com"] when create_role = true and nothing when create_role = false.
  EOT
  type        = list(string)
  default     = null

  validation {
    condition = var.trusted_services == null || alltrue([
      for s in coalesce(var.trusted_services, []) : can(regex(local.service_regex, s))
    ])
    error_message = join(" ", [
      "trusted_services must be AWS service principals such as lambda.amazonaws.com or ecs-tasks.amazonaws.com;",
      "bad: ${jsonencode([for s in coalesce(var.trusted_services, []) : s if !can(regex(local.service_regex, s))])}.",
    ])
  }

  validation {
    condition = var.create_role || length(coalesce(var.trusted_services, [])) == 0
    error_message = join(" ", [
      "trusted_services ${jsonencode(coalesce(var.trusted_services, []))} cannot be applied with create_role = false:",
      "the existing role's trust policy is not managed by this module. Remove trusted_services, or set create_role = true.",
    ])
  }

  validation {
    condition = !var.create_role || var.trusted_services == null || length(coalesce(var.trusted_services, ["x"])) > 0
    error_message = join(" ", [
      "trusted_services must name at least one service when create_role = true (a role nobody can assume cannot call",
      "the API); leave it unset for [\"lambda.amazonaws.com\"].",
    ])
  }
}

variable "source_account_condition" {
  description = <<-EOT
    Add Condition StringEquals aws:SourceAccount = <this account> to the created role's service trust (confused
    deputy prevention: a service assumes the role only for a resource of this account). ECS documents the key for
    task roles and AWS's Lambda samples use it; set false for a service that does not send aws:SourceAccount (AWS
    keeps no list; e.g. EC2 instance profiles), or the service can no longer assume the role.
  EOT
  type        = bool
  default     = true
  nullable    = false
}

variable "provider_invoke_role_arns" {
  description = "ARNs of the provider's invoke roles this workload may assume (the provider's invoke_role_arns output). The role gets sts:AssumeRole on exactly these."
  type        = list(string)
  nullable    = false

  validation {
    condition     = length(var.provider_invoke_role_arns) > 0
    error_message = "provider_invoke_role_arns must list at least one invoke role ARN, e.g. [\"arn:aws:iam::<provider account>:role/ApiAllowByIamRoleStag\"]."
  }

  validation {
    condition = alltrue([for arn in var.provider_invoke_role_arns : can(regex(local.role_arn_regex, arn))])
    error_message = join(" ", [
      "provider_invoke_role_arns must be IAM role ARNs (arn:aws:iam::<12-digit account id>:role/<name>, no wildcards);",
      "not role ARNs: ${jsonencode([for arn in var.provider_invoke_role_arns : arn if !can(regex(local.role_arn_regex, arn))])}.",
    ])
  }
}

variable "managed_policy_arns" {
  description = "Managed policies to attach as well (e.g. AWSLambdaBasicExecutionRole for a Lambda function's logs)."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition = alltrue([for arn in var.managed_policy_arns : can(regex(local.managed_policy_arn, arn))])
    error_message = join(" ", [
      "managed_policy_arns must be managed policy ARNs (arn:aws:iam::<account or aws>:policy/<name>);",
      "bad: ${jsonencode([for arn in var.managed_policy_arns : arn if !can(regex(local.managed_policy_arn, arn))])}.",
    ])
  }
}

variable "permissions_boundary_arn" {
  description = "Optional permissions boundary for the created role."
  type        = string
  default     = null

  validation {
    condition = (
      var.permissions_boundary_arn == null || can(regex(local.managed_policy_arn, coalesce(var.permissions_boundary_arn, "-")))
    )
    error_message = join(" ", [
      "permissions_boundary_arn must be a managed policy ARN (arn:aws:iam::<account>:policy/<name>);",
      "got \"${coalesce(var.permissions_boundary_arn, "null")}\".",
    ])
  }

  validation {
    condition = var.create_role || var.permissions_boundary_arn == null
    error_message = join(" ", [
      "permissions_boundary_arn \"${coalesce(var.permissions_boundary_arn, "null")}\" cannot be applied with create_role = false:",
      "this module does not change an existing role's boundary.",
    ])
  }
}

variable "tags" {
  description = "Tags for the created role."
  type        = map(string)
  default     = {}
  nullable    = false
}
