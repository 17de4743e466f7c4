variable "name" {
  description = "Name of the HTTP API (1-128 characters). Also names the access log group."
  type        = string
  nullable    = false

  validation {
    condition     = length(var.name) >= 1 && length(var.name) <= 128
    error_message = "name must be 1-128 characters; got ${length(var.name)} characters: \"${var.name}\"."
  }
}

variable "integration" {
  description = <<-EOT
    Where the API forwards requests. type = "HTTP_PROXY" forwards to an API server URL (uri = http(s)://host[/base];
    the request path is passed through, appended to any base path), type = "AWS_PROXY" targets a Lambda function
    (uri = its function ARN, optionally with an alias/version; the Lambda permission scoped to this API is created).
    method is the HTTP method used towards an HTTP_PROXY target (ANY = the caller's method); timeout_ms is 50-30000.
    vpc_link_id sends HTTP_PROXY traffic through a VPC link (private API servers).
  EOT
  type = object({
    type        = string
    uri         = string
    method      = optional(string, "ANY")
    timeout_ms  = optional(number, 30000)
    vpc_link_id = optional(string)
  })
  nullable = false

  validation {
    condition     = contains(["HTTP_PROXY", "AWS_PROXY"], var.integration.type)
    error_message = "integration.type must be \"HTTP_PROXY\" (an API server URL) or \"AWS_PROXY\" (a Lambda function); got \"${var.integration.type}\"."
  }

  validation {
    condition     = var.integration.type != "HTTP_PROXY" || can(regex("^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[^\\s?#{}]*)?$", var.integration.uri))
    error_message = "integration.uri for HTTP_PROXY must be an http(s) URL such as https://api.internal.example.com or https://host:8443/base (no query, fragment or {templates}); got \"${var.integration.uri}\"."
  }

  validation {
    condition     = var.integration.type != "AWS_PROXY" || can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9$_-]+)?$", var.integration.uri))
    error_message = "integration.uri for AWS_PROXY must be a Lambda function ARN (arn:aws:lambda:<region>:<12-digit account>:function:<name>[:<alias or version>]); got \"${var.integration.uri}\"."
  }

  validation {
    condition     = contains(["ANY", "GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"], var.integration.method)
    error_message = "integration.method must be one of ANY, GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE; got \"${var.integration.method}\"."
  }

  validation {
    condition     = var.integration.type != "AWS_PROXY" || contains(["ANY", "POST"], var.integration.method)
    error_message = "integration.method cannot be \"${var.integration.method}\" with AWS_PROXY: API Gateway always invokes Lambda with POST. Leave method unset."
  }

  validation {
    condition     = var.integration.timeout_ms >= 50 && var.integration.timeout_ms <= 30000 && floor(var.integration.timeout_ms) == var.integration.timeout_ms
    error_message = "integration.timeout_ms must be a whole number of milliseconds from 50 to 30000 (the HTTP API limit); got ${var.integration.timeout_ms}."
  }

  validation {
    condition     = var.integration.vpc_link_id == null || (var.integration.type == "HTTP_PROXY" && can(regex("^[a-z0-9]{1,64}$", coalesce(var.integration.vpc_link_id, "-"))))
    error_message = "integration.vpc_link_id must be a VPC link id (lowercase letters and digits) and is only valid with HTTP_PROXY; got \"${coalesce(var.integration.vpc_link_id, "null")}\" with ${var.integration.type}."
  }
}

variable "routes" {
  description = "Route keys (\"METHOD /path\", with {param} segments and an optional final {proxy+}). Every route uses AWS_IAM authorization; there is no way to make one public."
  type        = list(string)
  default     = ["ANY /{proxy+}"]
  nullable    = false

  validation {
    condition     = length(var.routes) > 0
    error_message = "routes must list at least one route key, e.g. [\"ANY /{proxy+}\"]."
  }

  validation {
    condition     = alltrue([for rk in var.routes : contains(["ANY", "GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"], split(" ", rk)[0])])
    error_message = "routes: the HTTP method must be one of ANY, GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE; bad route keys: ${jsonencode([for rk in var.routes : rk if !contains(["ANY", "GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"], split(" ", rk)[0])])}."
  }

  validation {
    condition     = alltrue([for rk in var.routes : can(regex("^[A-Z]+ /(([A-Za-z0-9._~:@-]+|\\{[A-Za-z_][A-Za-z0-9_]*\\})(/([A-Za-z0-9._~:@-]+|\\{[A-Za-z_][A-Za-z0-9_]*\\}))*(/\\{[A-Za-z_][A-Za-z0-9_]*\\+\\})?|\\{[A-Za-z_][A-Za-z0-9_]*\\+\\})?$", rk))])
    error_message = "routes: each route key must be \"METHOD /path\" with one space, literal segments of [A-Za-z0-9._~:@-], {param} segments, and {proxy+} only as the last segment (e.g. \"GET /items/{id}\", \"ANY /{proxy+}\"); malformed: ${jsonencode([for rk in var.routes : rk if !can(regex("^[A-Z]+ /(([A-Za-z0-9._~:@-]+|\\{[A-Za-z_][A-Za-z0-9_]*\\})(/([A-Za-z0-9._~:@-]+|\\{[A-Za-z_][A-Za-z0-9_]*\\}))*(/\\{[A-Za-z_][A-Za-z0-9_]*\\+\\})?|\\{[A-Za-z_][A-Za-z0-9_]*\\+\\})?$", rk))])}."
  }

  validation {
    condition     = length(distinct(var.routes)) == length(var.routes)
    error_message = "routes must not repeat a route key; repeated: ${jsonencode(distinct([for i, rk in var.routes : rk if contains(slice(var.routes, 0, i), rk)]))}."
  }
}

variable "invoke_roles" {
  description = <<-EOT
    Invoke roles to create in this (the provider's) account, keyed by role name. Each role trusts exactly the
    consumer role ARNs in trusted_role_arns (sts:AssumeRole, with an sts:ExternalId condition when external_id is
    set) and may call execute-api:Invoke on this API only: every route for allowed_routes = ["*"], or just the
    listed route keys (each must be one of var.routes). max_session_duration is 3600-43200 seconds; note that a
    workload that itself runs as a role (Lambda, ECS) is role chaining and always gets at most one hour.
  EOT
  type = map(object({
    trusted_role_arns    = list(string)
    allowed_routes       = optional(list(string), ["*"])
    external_id          = optional(string)
    max_session_duration = optional(number, 3600)
  }))
  nullable = false

  validation {
    condition     = length(var.invoke_roles) > 0
    error_message = "invoke_roles must define at least one invoke role, e.g. { ApiAllowByIamRoleStag = { trusted_role_arns = [\"arn:aws:iam::<consumer account>:role/LambdaRoleDeve\"] } }."
  }

  validation {
    condition     = alltrue([for name in keys(var.invoke_roles) : can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", name))])
    error_message = "invoke_roles: role names must be 1-64 characters of letters, digits and + = , . @ _ -; bad names: ${jsonencode([for name in keys(var.invoke_roles) : "${name} (${length(name)} chars)" if !can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", name))])}."
  }

  validation {
    condition     = alltrue([for name, r in var.invoke_roles : length(r.trusted_role_arns) > 0])
    error_message = "invoke_roles: trusted_role_arns must name at least one consumer role ARN; empty for: ${jsonencode([for name, r in var.invoke_roles : name if length(r.trusted_role_arns) == 0])}."
  }

  validation {
    condition     = alltrue(flatten([for name, r in var.invoke_roles : [for arn in r.trusted_role_arns : !strcontains(arn, "*")]]))
    error_message = "invoke_roles: trusted_role_arns must not contain \"*\": a wildcard principal would let anyone assume the role. Name each consumer role ARN exactly. Found: ${jsonencode(flatten([for name, r in var.invoke_roles : [for arn in r.trusted_role_arns : "${name}: ${arn}" if strcontains(arn, "*")]]))}."
  }

  validation {
    condition     = alltrue(flatten([for name, r in var.invoke_roles : [for arn in r.trusted_role_arns : !can(regex("^[0-9]+$", arn)) && !can(regex("^arn:[^:]+:iam::[^:]*:root$", arn))]]))
    error_message = "invoke_roles: trusted_role_arns must be role ARNs, not an account id or an account root (\"arn:aws:iam::<account>:root\" trusts every principal the account allows). Ask the consumer for the role their workload runs as. Found: ${jsonencode(flatten([for name, r in var.invoke_roles : [for arn in r.trusted_role_arns : "${name}: ${arn}" if can(regex("^[0-9]+$", arn)) || can(regex("^arn:[^:]+:iam::[^:]*:root$", arn))]]))}."
  }

  validation {
    condition     = alltrue(flatten([for name, r in var.invoke_roles : [for arn in r.trusted_role_arns : !can(regex("^arn:[^:]+:(iam|sts)::[^:]*:(user|assumed-role|federated-user|group)/", arn))]]))
    error_message = "invoke_roles: trusted_role_arns must be IAM role ARNs (arn:aws:iam::<account>:role/<name>), not users, groups or sessions. Found: ${jsonencode(flatten([for name, r in var.invoke_roles : [for arn in r.trusted_role_arns : "${name}: ${arn}" if can(regex("^arn:[^:]+:(iam|sts)::[^:]*:(user|assumed-role|federated-user|group)/", arn))]]))}."
  }

  validation {
    condition = alltrue(flatten([for name, r in var.invoke_roles : [for arn in r.trusted_role_arns :
      can(regex("^arn:aws(-cn|-us-gov)?:iam::[0-9]{12}:role/([A-Za-z0-9+=,.@_-]+/)*[A-Za-z0-9+=,.@_-]{1,64}$", arn))
      || strcontains(arn, "*") || can(regex("^[0-9]+$", arn)) || can(regex("^arn:[^:]+:iam::[^:]*:root$", arn))
      || can(regex("^arn:[^:]+:(iam|sts)::[^:]*:(user|assumed-role|federated-user|group)/", arn))
    ]]))
    error_message = "invoke_roles: each trusted_role_arns entry must look like arn:aws:iam::<12-digit account id>:role/[<path>/]<name>. Malformed: ${jsonencode(flatten([for name, r in var.invoke_roles : [for arn in r.trusted_role_arns : "${name}: ${arn}" if !(can(regex("^arn:aws(-cn|-us-gov)?:iam::[0-9]{12}:role/([A-Za-z0-9+=,.@_-]+/)*[A-Za-z0-9+=,.@_-]{1,64}$", arn)) || strcontains(arn, "*") || can(regex("^[0-9]+$", arn)) || can(regex("^arn:[^:]+:iam::[^:]*:root$", arn)) || can(regex("^arn:[^:]+:(iam|sts)::[^:]*:(user|assumed-role|federated-user|group)/", arn)))]]))}."
  }

  validation {
    condition     = alltrue([for name, r in var.invoke_roles : length(distinct(r.trusted_role_arns)) == length(r.trusted_role_arns)])
    error_message = "invoke_roles: trusted_role_arns must not repeat an ARN; repeated in: ${jsonencode([for name, r in var.invoke_roles : name if length(distinct(r.trusted_role_arns)) != length(r.trusted_role_arns)])}."
  }

  validation {
    condition     = alltrue([for name, r in var.invoke_roles : length(r.allowed_routes) > 0 && (!contains(r.allowed_routes, "*") || length(r.allowed_routes) == 1)])
    error_message = "invoke_roles: allowed_routes is either [\"*\"] (every route) or a non-empty list of route keys, never both; bad for: ${jsonencode([for name, r in var.invoke_roles : name if !(length(r.allowed_routes) > 0 && (!contains(r.allowed_routes, "*") || length(r.allowed_routes) == 1))])}."
  }

  validation {
    condition     = alltrue(flatten([for name, r in var.invoke_roles : [for rk in r.allowed_routes : rk == "*" || contains(var.routes, rk)]]))
    error_message = "invoke_roles: every allowed_routes entry must be one of routes ${jsonencode(var.routes)}; not routes of this API: ${jsonencode(flatten([for name, r in var.invoke_roles : [for rk in r.allowed_routes : "${name}: ${rk}" if rk != "*" && !contains(var.routes, rk)]]))}."
  }

  validation {
    condition     = alltrue([for name, r in var.invoke_roles : r.max_session_duration >= 3600 && r.max_session_duration <= 43200 && floor(r.max_session_duration) == r.max_session_duration])
    error_message = "invoke_roles: max_session_duration must be a whole number of seconds from 3600 to 43200; bad: ${jsonencode({ for name, r in var.invoke_roles : name => r.max_session_duration if !(r.max_session_duration >= 3600 && r.max_session_duration <= 43200 && floor(r.max_session_duration) == r.max_session_duration) })}."
  }

  validation {
    condition     = alltrue([for name, r in var.invoke_roles : r.external_id == null || (length(coalesce(r.external_id, "-")) >= 2 && length(coalesce(r.external_id, "-")) <= 1224 && can(regex("^[A-Za-z0-9+=,.@:/_-]+$", coalesce(r.external_id, "-"))))])
    error_message = "invoke_roles: external_id must be 2-1224 characters of letters, digits and + = , . @ : / _ - (the sts:ExternalId rules); bad for: ${jsonencode([for name, r in var.invoke_roles : "${name} (${length(coalesce(r.external_id, "-"))} chars: ${coalesce(r.external_id, "-")})" if !(r.external_id == null || (length(coalesce(r.external_id, "-")) >= 2 && length(coalesce(r.external_id, "-")) <= 1224 && can(regex("^[A-Za-z0-9+=,.@:/_-]+$", coalesce(r.external_id, "-")))))])}."
  }
}

variable "invoke_role_permissions_boundary_arn" {
  description = "Optional permissions boundary (a managed policy ARN) for every invoke role, for accounts whose guardrails require one."
  type        = string
  default     = null

  validation {
    condition     = var.invoke_role_permissions_boundary_arn == null || can(regex("^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/.+$", coalesce(var.invoke_role_permissions_boundary_arn, "-")))
    error_message = "invoke_role_permissions_boundary_arn must be a managed policy ARN (arn:aws:iam::<account>:policy/<name>); got \"${coalesce(var.invoke_role_permissions_boundary_arn, "null")}\"."
  }
}

variable "stage_name" {
  description = "Stage name. \"$default\" serves the API at the root of its endpoint."
  type        = string
  default     = "$default"
  nullable    = false

  validation {
    condition     = var.stage_name == "$default" || can(regex("^[A-Za-z0-9_-]{1,128}$", var.stage_name))
    error_message = "stage_name must be \"$default\" or 1-128 characters of letters, digits, _ and -; got \"${var.stage_name}\"."
  }
}

variable "throttling" {
  description = "Stage-wide throttling: burst_limit (requests) and rate_limit (requests per second). The defaults suit an internal API with a handful of consumers; AWS's account defaults are far higher."
  type = object({
    burst_limit = optional(number, 100)
    rate_limit  = optional(number, 50)
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.throttling.burst_limit > 0 && floor(var.throttling.burst_limit) == var.throttling.burst_limit && var.throttling.rate_limit > 0
    error_message = "throttling.burst_limit must be a whole number > 0 and throttling.rate_limit a number > 0; got burst_limit = ${var.throttling.burst_limit}, rate_limit = ${var.throttling.rate_limit}."
  }
}

variable "access_log" {
  description = "JSON access log of every request (who called: account, ARN, principal; what: route, status, latency, source IP) into a CloudWatch log group."
  type = object({
    enabled           = optional(bool, true)
    retention_in_days = optional(number, 30)
    kms_key_arn       = optional(string)
  })
  default  = {}
  nullable = false

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.access_log.retention_in_days)
    error_message = "access_log.retention_in_days must be one of CloudWatch's values (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653); got ${var.access_log.retention_in_days}."
  }

  validation {
    condition     = var.access_log.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", coalesce(var.access_log.kms_key_arn, "-")))
    error_message = "access_log.kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>); got \"${coalesce(var.access_log.kms_key_arn, "null")}\"."
  }
}

variable "forward_caller_identity" {
  description = "Pass the verified caller to the API server as headers x-caller-account-id and x-caller-arn (from $context.identity), overwriting anything the client sent under those names."
  type        = bool
  default     = true
  nullable    = false
}

variable "domain" {
  description = "Optional custom domain (e.g. server.stag.foo.example.com) with a regional ACM certificate in this region; with route53_zone_id an alias A record is created too."
  type = object({
    name            = string
    certificate_arn = string
    route53_zone_id = optional(string)
  })
  default = null

  validation {
    condition     = var.domain == null || can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", try(var.domain.name, "")))
    error_message = "domain.name must be a lower-case DNS name such as api.example.com; got \"${try(var.domain.name, "")}\"."
  }

  validation {
    condition     = var.domain == null || can(regex("^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[A-Za-z0-9-]+$", try(var.domain.certificate_arn, "")))
    error_message = "domain.certificate_arn must be an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>); got \"${try(var.domain.certificate_arn, "")}\"."
  }

  validation {
    condition     = var.domain == null || try(var.domain.route53_zone_id, null) == null || can(regex("^[A-Z0-9]{1,32}$", try(var.domain.route53_zone_id, "")))
    error_message = "domain.route53_zone_id must be a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ (not the zone's name); got \"${coalesce(try(var.domain.route53_zone_id, null), "null")}\"."
  }
}

variable "tags" {
  description = "Tags for every resource that takes them."
  type        = map(string)
  default     = {}
  nullable    = false
}
