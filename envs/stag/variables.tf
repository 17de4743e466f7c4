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
  description = <<-EOT
    Invoke roles keyed by name, beside the files in consumers/ (one per team; see consumers.tf); see
    modules/provider_api. The seed's setup:
    { ApiAllowByIamRoleStag = { trusted_role_arns = ["arn:aws:iam::<deve account>:role/LambdaRoleDeve"] } }.
  EOT
  type = map(object({
    trusted_role_arns      = list(string)
    allowed_routes         = optional(list(string), ["*"])
    external_id            = optional(string)
    max_session_duration   = optional(number, 3600)
    trust_by_principal_arn = optional(bool, false)
    expires                = optional(string)
  }))
  default  = {}
  nullable = false
}

variable "expiry_warning_days" {
  description = "Plan warns about grants that end within this many days (and fails for a consumers/ file whose expires has passed)."
  type        = number
  default     = 30
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
  description = "Retention of the access log in days (one of CloudWatch Logs' values; 365 or more where audit rules ask for a year)."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.access_log_retention_in_days)
    error_message = "access_log_retention_in_days must be one of CloudWatch Logs' retention values (1, 3, 5, 7, 14, 30, 60, 90, ... 3653); got ${var.access_log_retention_in_days}."
  }
}

variable "access_log_kms_key_arn" {
  description = "Optional KMS key (ARN) that encrypts the access log group; its key policy must let logs.<region>.amazonaws.com use it."
  type        = string
  default     = null

  validation {
    condition     = var.access_log_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", coalesce(var.access_log_kms_key_arn, "-")))
    error_message = "access_log_kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), not an alias; got \"${coalesce(var.access_log_kms_key_arn, "null")}\"."
  }
}

variable "invoke_role_permissions_boundary_arn" {
  description = "Optional permissions boundary (managed policy ARN) for every invoke role, where the account's guardrails require one."
  type        = string
  default     = null

  validation {
    condition     = var.invoke_role_permissions_boundary_arn == null || can(regex("^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/.+$", coalesce(var.invoke_role_permissions_boundary_arn, "-")))
    error_message = "invoke_role_permissions_boundary_arn must be a managed policy ARN (arn:aws:iam::<account>:policy/<name>); got \"${coalesce(var.invoke_role_permissions_boundary_arn, "null")}\"."
  }
}

variable "origin_verify_header" {
  description = "Header that carries the origin secret to the API server (see modules/provider_api/README.md, \"Sealing the API server\")."
  type        = string
  default     = "x-origin-verify"
}

variable "origin_secret_version" {
  description = "Increment to rotate the origin secret (two phases: see modules/provider_api/README.md, \"Rotating the origin secret\")."
  type        = number
  default     = 1
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

variable "large_payloads" {
  description = <<-EOT
    The payload hand-off through S3 for bodies past API Gateway's 10 MB / 30 s limits (see modules/provider_api,
    "Large payloads"): { enabled = true } creates the bucket; expiration_days (1-365, default 1).
  EOT
  type = object({
    enabled         = bool
    expiration_days = optional(number, 1)
  })
  default = { enabled = false }
}

variable "tags" {
  description = "Default tags for every resource."
  type        = map(string)
  default = {
    project = "xacct"
    env     = "stag"
  }
}
