variable "region" {
  description = "Region for the provider (IAM is global; this picks the STS and API endpoints)."
  type        = string
  default     = "ap-northeast-1"
}

variable "assume_role_arn" {
  description = "Optional role in the consumer account for Terraform to assume (e.g. from a CI account). null = use the ambient credentials."
  type        = string
  default     = null

  validation {
    condition     = var.assume_role_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", coalesce(var.assume_role_arn, "-")))
    error_message = "assume_role_arn must be an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>); got \"${coalesce(var.assume_role_arn, "null")}\"."
  }
}

variable "role_name" {
  description = "Name of the workload role the provider trusts."
  type        = string
  default     = "LambdaRoleDeve"
}

variable "create_role" {
  description = "false: attach the assume-role permission to an existing role named role_name."
  type        = bool
  default     = true
}

variable "trusted_services" {
  description = "Services that run the workload (null = lambda.amazonaws.com when creating the role)."
  type        = list(string)
  default     = null
}

variable "provider_invoke_role_arns" {
  description = "The provider's invoke role ARN(s), e.g. [\"arn:aws:iam::<stag account>:role/ApiAllowByIamRoleStag\"]. They need not exist yet."
  type        = list(string)
}

variable "managed_policy_arns" {
  description = "Managed policies for the workload role; the default lets a Lambda function write its logs."
  type        = list(string)
  default     = ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]
}

variable "tags" {
  description = "Default tags for every resource."
  type        = map(string)
  default = {
    project = "xacct"
    env     = "deve"
  }
}
