variable "region" {
  description = "Region of the API (and of its invoke URL)."
  type        = string
  default     = "ap-northeast-1"
}

variable "assume_role_arn" {
  description = "Optional role in the provider account for Terraform to assume (e.g. from a CI account). null = use the ambient credentials."
  type        = string
  default     = null

  validation {
    condition     = var.assume_role_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", coalesce(var.assume_role_arn, "-")))
    error_message = "assume_role_arn must be an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>); got \"${coalesce(var.assume_role_arn, "null")}\"."
  }
}

variable "name" {
  description = "Name of the HTTP API."
  type        = string
  default     = "server-stag"
}

variable "api_server_url" {
  description = "URL of the existing API server the HTTP API fronts (HTTP_PROXY), e.g. https://api.internal.stag.foo.example.com."
  type        = string
}

variable "integration_timeout_ms" {
  description = "How long the API waits for the API server (50-30000 ms)."
  type        = number
  default     = 30000
}

variable "routes" {
  description = "Route keys; every route requires IAM authorization."
  type        = list(string)
  default     = ["ANY /{proxy+}"]
}

variable "invoke_roles" {
  description = "Invoke roles keyed by name; see modules/provider_api. The seed's setup: { ApiAllowByIamRoleStag = { trusted_role_arns = [\"arn:aws:iam::<deve account>:role/LambdaRoleDeve\"] } }."
  type = map(object({
    trusted_role_arns      = list(string)
    allowed_routes         = optional(list(string), ["*"])
    external_id            = optional(string)
    max_session_duration   = optional(number, 3600)
    trust_by_principal_arn = optional(bool, false)
  }))
}

variable "throttling" {
  description = "Stage throttling (burst_limit, rate_limit)."
  type = object({
    burst_limit = optional(number, 100)
    rate_limit  = optional(number, 50)
  })
  default = {}
}

variable "access_log_retention_in_days" {
  description = "Retention of the access log."
  type        = number
  default     = 30
}

variable "domain" {
  description = "Optional custom domain, e.g. { name = \"server.stag.foo.example.com\", certificate_arn = \"arn:aws:acm:...\", route53_zone_id = \"Z...\" }."
  type = object({
    name            = string
    certificate_arn = string
    route53_zone_id = optional(string)
  })
  default = null
}

variable "tags" {
  description = "Default tags for every resource."
  type        = map(string)
  default = {
    project = "xacct"
    env     = "stag"
  }
}
