# Shared rules of the validations below. A validation may read these locals because they do not depend on any
# variable (a local computed from the variable under validation would be a cycle).
locals {
  http_methods      = ["ANY", "GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"]
  http_methods_text = join(", ", local.http_methods)

  # Route keys: "METHOD /path" with literal segments, {param} segments and an optional final {greedy+}.
  path_variable    = "[A-Za-z_][A-Za-z0-9_]*"
  route_literal    = "[A-Za-z0-9._~:@-]+"
  route_segment    = "(${local.route_literal}|\\{${local.path_variable}\\})"
  route_greedy     = "\\{${local.path_variable}\\+\\}"
  route_key_regex  = "^[A-Z]+ /(${local.route_segment}(/${local.route_segment})*(/${local.route_greedy})?|${local.route_greedy})?$"
  path_variables   = "\\{(${local.path_variable})\\+?\\}" # the names in a route key's {name} and {name+}
  uri_path_var_use = "\\{(${local.path_variable})\\}"     # the names an integration URI refers to

  # HTTP_PROXY targets: a URL whose path may refer to the routes' path variables ({proxy} for {proxy+}), or,
  # through a VPC link, an ALB/NLB listener or a Cloud Map service (what HTTP API private integrations take).
  http_uri_regex = "^https?://([A-Za-z0-9.-]+|\\[::1\\])(:[0-9]{1,5})?(/([^\\s?#{}]|\\{${local.path_variable}\\})*)?$"
  # Plain http:// only to this machine (local testing): 127.0.0.0/8, localhost, ::1.
  loopback_http_regex = "^http://(localhost|127\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}|\\[::1\\])(:[0-9]{1,5})?(/|$)"
  listener_arn        = "elasticloadbalancing:[a-z0-9-]+:[0-9]{12}:listener/(app|net)/[A-Za-z0-9-]{1,32}/[0-9a-f]+/[0-9a-f]+"
  cloud_map_arn       = "servicediscovery:[a-z0-9-]+:[0-9]{12}:service/srv-[a-z0-9]+"
  private_uri_regex   = "^arn:aws[a-z-]*:(${local.listener_arn}|${local.cloud_map_arn})$"
  lambda_arn_regex    = "^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9$_-]+)?$"
  vpc_link_id_regex   = "^[a-z0-9]{1,64}$"
  subnet_id_regex     = "^subnet-([0-9a-f]{8}|[0-9a-f]{17})$"
  sg_id_regex         = "^sg-([0-9a-f]{8}|[0-9a-f]{17})$"
  tls_name_regex      = "^([A-Za-z0-9*]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$"
  # Origin header names: lower-case token characters; not a header API Gateway reserves or rewrites ("Transforming
  # API requests and responses for HTTP APIs", reserved headers), nor one of the caller headers.
  header_name_regex        = "^[a-z0-9][a-z0-9-]{0,62}[a-z0-9]$"
  reserved_header_prefixes = ["x-amz-", "x-amzn-", "apigw-", "access-control-", "x-forwarded-", "x-caller-"]
  reserved_header_names = [
    "authorization", "connection", "content-encoding", "content-length", "content-location", "forwarded", "host",
    "keep-alive", "origin", "proxy-authenticate", "proxy-authorization", "te", "trailers", "transfer-encoding",
    "upgrade", "via", "www-authenticate",
  ]
  reserved_header_regex = "^(${join("|", local.reserved_header_prefixes)})|^(${join("|", local.reserved_header_names)})$"
  timeout_ms_min        = 50
  timeout_ms_max        = 30000
  http_uri_examples     = "https://api.internal.example.com, https://host:8443/base or https://backend.example.com/{proxy} for ANY /{proxy+}"
  private_uri_shapes = join(" ", [
    "an ALB/NLB listener ARN (arn:aws:elasticloadbalancing:<region>:<account>:listener/app|net/...)",
    "or a Cloud Map service ARN (arn:aws:servicediscovery:<region>:<account>:service/srv-...)",
  ])

  # IAM names and principals.
  iam_name_chars      = "[A-Za-z0-9+=,.@_-]"
  role_name_regex     = "^${local.iam_name_chars}{1,64}$"
  date_only           = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$" # an expires that is a date: that day's start, UTC (iam.tf)
  role_arn_regex      = "^arn:aws(-cn|-us-gov)?:iam::[0-9]{12}:role/(${local.iam_name_chars}+/)*${local.iam_name_chars}{1,64}$"
  account_principal   = "^([0-9]+|arn:[^:]+:iam::[^:]*:root)$" # an account id or an account root
  non_role_principal  = "^arn:[^:]+:(iam|sts)::[^:]*:(user|assumed-role|federated-user|group)/"
  external_id_regex   = "^[A-Za-z0-9+=,.@:/_-]+$"
  managed_policy_arn  = "^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/.+$"
  session_seconds_min = 3600
  session_seconds_max = 43200

  # Stage, log and domain settings.
  stage_name_regex   = "^[A-Za-z0-9_-]{1,128}$"
  log_retention_days = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]
  kms_key_arn_regex  = "^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$"
  domain_name_regex  = "^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$"
  acm_arn_regex      = "^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[A-Za-z0-9-]+$"
  zone_id_regex      = "^[A-Z0-9]{1,32}$"
}

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
    Where the API forwards requests. type = "HTTP_PROXY" forwards to an API server URL: uri = http(s)://host[/base]
    passes the caller's path through, appended to any base path; a uri whose path names the routes' path variables
    (https://backend.example.com/{proxy} for the route ANY /{proxy+}) is used as API Gateway uses it: the variables
    are filled in and the caller's path is not appended. type = "AWS_PROXY" targets a Lambda function (uri = its
    function ARN, optionally with an alias/version; the Lambda permission scoped to this API is created).
    method is the HTTP method used towards an HTTP_PROXY target (ANY = the caller's method); timeout_ms is 50-30000.
    Private API servers: vpc_link_id (an existing VPC link) or vpc_link = { subnet_ids, security_group_ids } (this
    module creates the link) sends HTTP_PROXY traffic through a VPC link; uri is then the ALB/NLB listener ARN or
    the Cloud Map service ARN, as HTTP API private integrations require, and tls_server_name (optional) makes the
    link speak HTTPS and verify that name. Without a VPC link the uri must be https://, or http:// to a loopback
    host (local testing), and the gateway adds the origin secret header (see origin_verify_header).
  EOT
  type = object({
    type        = string
    uri         = string
    method      = optional(string, "ANY")
    timeout_ms  = optional(number, 30000)
    vpc_link_id = optional(string)
    vpc_link = optional(object({
      subnet_ids         = list(string)
      security_group_ids = list(string)
    }))
    tls_server_name = optional(string)
  })
  nullable = false

  validation {
    condition     = contains(["HTTP_PROXY", "AWS_PROXY"], var.integration.type)
    error_message = "integration.type must be \"HTTP_PROXY\" (an API server URL) or \"AWS_PROXY\" (a Lambda function); got \"${var.integration.type}\"."
  }

  validation {
    condition = var.integration.type != "HTTP_PROXY" || (
      can(regex(local.http_uri_regex, var.integration.uri)) || can(regex(local.private_uri_regex, var.integration.uri))
    )
    error_message = join(" ", [
      "integration.uri for HTTP_PROXY must be an http(s) URL such as ${local.http_uri_examples}",
      "(no query or fragment; {name} only for path variables of the routes), or, with vpc_link_id,",
      "${local.private_uri_shapes}; got \"${var.integration.uri}\".",
    ])
  }

  validation {
    condition = (
      var.integration.vpc_link_id != null || var.integration.vpc_link != null
      || !can(regex(local.private_uri_regex, var.integration.uri))
    )
    error_message = join(" ", [
      "integration.uri \"${var.integration.uri}\" is a load balancer listener or Cloud Map service ARN, which API Gateway",
      "reaches only through a VPC link: set integration.vpc_link_id or integration.vpc_link, or give the API server's https URL.",
    ])
  }

  # "Working with private integrations for HTTP APIs": a private integration's URI is the listener or Cloud Map
  # service ARN; a URL through a VPC link is no private integration AWS accepts.
  validation {
    condition = (
      var.integration.vpc_link_id == null && var.integration.vpc_link == null
      || can(regex(local.private_uri_regex, var.integration.uri))
    )
    error_message = join(" ", [
      "integration.uri must be ${local.private_uri_shapes} when the integration goes through a VPC link",
      "(HTTP API private integrations take no URL); got \"${var.integration.uri}\". Give the listener's ARN, or drop",
      "the VPC link to call a public https URL.",
    ])
  }

  validation {
    condition = var.integration.vpc_link_id == null || var.integration.vpc_link == null
    error_message = join(" ", [
      "integration: set vpc_link_id (an existing VPC link, \"${coalesce(var.integration.vpc_link_id, "-")}\") or vpc_link",
      "(this module creates one), not both.",
    ])
  }

  validation {
    condition = (
      var.integration.type != "HTTP_PROXY" || !startswith(var.integration.uri, "http://") ||
      can(regex(local.loopback_http_regex, var.integration.uri))
    )
    error_message = join(" ", [
      "integration.uri \"${var.integration.uri}\" is plain http:// to a host that is not this machine: the caller's",
      "identity headers and the origin secret would cross the network unencrypted. Use https://, or a VPC link",
      "(plain http:// is accepted only for 127.0.0.0/8, localhost and [::1], for local testing).",
    ])
  }

  validation {
    condition = var.integration.vpc_link == null || (
      length(try(var.integration.vpc_link.subnet_ids, [])) > 0
      && alltrue([for id in try(var.integration.vpc_link.subnet_ids, []) : can(regex(local.subnet_id_regex, id))])
    )
    error_message = join(" ", [
      "integration.vpc_link.subnet_ids must list at least one subnet id (subnet- and 8 or 17 hex digits);",
      "bad: ${jsonencode([for id in try(var.integration.vpc_link.subnet_ids, []) : id if !can(regex(local.subnet_id_regex, id))])}.",
    ])
  }

  validation {
    condition = var.integration.vpc_link == null || alltrue([
      for id in try(var.integration.vpc_link.security_group_ids, []) : can(regex(local.sg_id_regex, id))
    ])
    error_message = join(" ", [
      "integration.vpc_link.security_group_ids must be security group ids (sg- and 8 or 17 hex digits);",
      "bad: ${jsonencode([for id in try(var.integration.vpc_link.security_group_ids, []) : id if !can(regex(local.sg_id_regex, id))])}.",
    ])
  }

  validation {
    condition = var.integration.tls_server_name == null || (
      (var.integration.vpc_link_id != null || var.integration.vpc_link != null)
      && can(regex(local.tls_name_regex, coalesce(var.integration.tls_server_name, "-")))
    )
    error_message = join(" ", [
      "integration.tls_server_name must be a DNS name (the name the private API server's certificate holds) and is",
      "only valid with a VPC link (tlsConfig is for private integrations); got \"${coalesce(var.integration.tls_server_name, "null")}\".",
    ])
  }

  validation {
    condition = var.integration.type != "HTTP_PROXY" || alltrue([
      for rk in var.routes : length(setsubtract(
        flatten(regexall(local.uri_path_var_use, var.integration.uri)),
        flatten(regexall(local.path_variables, try(split(" ", rk)[1], ""))),
      )) == 0
    ])
    error_message = join(" ", [
      "integration.uri \"${var.integration.uri}\" refers to path variables that not every route has",
      "(one integration serves every route, and API Gateway fills {name} from the route's {name} or {name+});",
      "routes without them: ${jsonencode([
        for rk in var.routes : rk if length(setsubtract(
          flatten(regexall(local.uri_path_var_use, var.integration.uri)),
          flatten(regexall(local.path_variables, try(split(" ", rk)[1], ""))),
        )) > 0
      ])}.",
    ])
  }

  validation {
    condition = var.integration.type != "AWS_PROXY" || can(regex(local.lambda_arn_regex, var.integration.uri))
    error_message = join(" ", [
      "integration.uri for AWS_PROXY must be a Lambda function ARN",
      "(arn:aws:lambda:<region>:<12-digit account>:function:<name>[:<alias or version>]); got \"${var.integration.uri}\".",
    ])
  }

  validation {
    condition     = contains(local.http_methods, var.integration.method)
    error_message = "integration.method must be one of ${local.http_methods_text}; got \"${var.integration.method}\"."
  }

  validation {
    condition     = var.integration.type != "AWS_PROXY" || contains(["ANY", "POST"], var.integration.method)
    error_message = "integration.method cannot be \"${var.integration.method}\" with AWS_PROXY: API Gateway always invokes Lambda with POST. Leave method unset."
  }

  validation {
    condition = (
      var.integration.timeout_ms >= local.timeout_ms_min && var.integration.timeout_ms <= local.timeout_ms_max
      && floor(var.integration.timeout_ms) == var.integration.timeout_ms
    )
    error_message = join(" ", [
      "integration.timeout_ms must be a whole number of milliseconds from ${local.timeout_ms_min} to ${local.timeout_ms_max}",
      "(the HTTP API limit); got ${var.integration.timeout_ms}.",
    ])
  }

  validation {
    condition     = var.integration.vpc_link == null || var.integration.type == "HTTP_PROXY"
    error_message = "integration.vpc_link is only valid with HTTP_PROXY (a Lambda function needs no VPC link); got ${var.integration.type}."
  }

  validation {
    condition = var.integration.vpc_link_id == null || (
      var.integration.type == "HTTP_PROXY" && can(regex(local.vpc_link_id_regex, coalesce(var.integration.vpc_link_id, "-")))
    )
    error_message = join(" ", [
      "integration.vpc_link_id must be a VPC link id (lowercase letters and digits) and is only valid with HTTP_PROXY;",
      "got \"${coalesce(var.integration.vpc_link_id, "null")}\" with ${var.integration.type}.",
    ])
  }
}

variable "routes" {
  description = <<-EOT
    Route keys ("METHOD /path", with {param} segments and an optional final {proxy+}, or "$default" for what no
    other route matches). Every route uses AWS_IAM authorization; there is no way to make one public.
  EOT
  type        = list(string)
  default     = ["ANY /{proxy+}"]
  nullable    = false

  validation {
    condition     = length(var.routes) > 0
    error_message = "routes must list at least one route key, e.g. [\"ANY /{proxy+}\"]."
  }

  validation {
    condition = alltrue([for rk in var.routes : rk == "$default" || contains(local.http_methods, split(" ", rk)[0])])
    error_message = "routes: the HTTP method must be one of ${local.http_methods_text}; bad route keys: ${jsonencode([
      for rk in var.routes : rk if !(rk == "$default" || contains(local.http_methods, split(" ", rk)[0]))
    ])}."
  }

  validation {
    condition = alltrue([for rk in var.routes : rk == "$default" || can(regex(local.route_key_regex, rk))])
    error_message = join(" ", [
      "routes: each route key must be \"METHOD /path\" with one space, literal segments of [A-Za-z0-9._~:@-], {param} segments,",
      "and {proxy+} only as the last segment (e.g. \"GET /items/{id}\", \"ANY /{proxy+}\");",
      "malformed: ${jsonencode([for rk in var.routes : rk if !(rk == "$default" || can(regex(local.route_key_regex, rk)))])}.",
    ])
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
    trust_by_principal_arn = true trusts each consumer account as the principal and names its roles in an
    ArnEquals aws:PrincipalArn condition instead: the trust survives a consumer re-creating its role and needs no
    apply order, but IAM no longer checks that the roles exist (see the README, "Trust by principal ARN").
    expires (a date, or an RFC 3339 time) ends the grant by itself: the trust admits the consumer, and the role's
    policies allow its calls, only while aws:CurrentTime is before it (a date is the start of that day, UTC). An empty
    map plans an API nobody can call (a check says so).
  EOT
  type = map(object({
    trusted_role_arns      = list(string)
    allowed_routes         = optional(list(string), ["*"])
    external_id            = optional(string)
    max_session_duration   = optional(number, 3600)
    trust_by_principal_arn = optional(bool, false)
    expires                = optional(string)
  }))
  nullable = false

  validation {
    # (A local cannot hold this: a validation may not depend on a local that depends on its own variable.)
    condition = alltrue([
      for r in values(var.invoke_roles) : r.expires == null
      || can(regex(local.date_only, r.expires)) && can(timeadd("${coalesce(r.expires, "x")}T00:00:00Z", "0s"))
      || can(timeadd(coalesce(r.expires, "x"), "0s"))
    ])
    error_message = join(" ", [
      "invoke_roles: expires must be a date (2027-03-31: the grant ends as that day starts, UTC) or an RFC 3339",
      "time (2027-03-31T18:00:00Z, 2027-03-31T18:00:00+09:00); bad: ${jsonencode({
        for name, r in var.invoke_roles : name => r.expires if !(
          r.expires == null
          || can(regex(local.date_only, r.expires)) && can(timeadd("${coalesce(r.expires, "x")}T00:00:00Z", "0s"))
          || can(timeadd(coalesce(r.expires, "x"), "0s"))
        )
      })}.",
    ])
  }

  validation {
    condition = alltrue([for name in keys(var.invoke_roles) : can(regex(local.role_name_regex, name))])
    error_message = "invoke_roles: role names must be 1-64 characters of letters, digits and + = , . @ _ -; bad names: ${jsonencode([
      for name in keys(var.invoke_roles) : "${name} (${length(name)} chars)" if !can(regex(local.role_name_regex, name))
    ])}."
  }

  validation {
    condition = alltrue([for name, r in var.invoke_roles : length(r.trusted_role_arns) > 0])
    error_message = "invoke_roles: trusted_role_arns must name at least one consumer role ARN; empty for: ${jsonencode([
      for name, r in var.invoke_roles : name if length(r.trusted_role_arns) == 0
    ])}."
  }

  validation {
    condition = alltrue(flatten([
      for name, r in var.invoke_roles : [for arn in r.trusted_role_arns : !strcontains(arn, "*")]
    ]))
    error_message = join(" ", [
      "invoke_roles: trusted_role_arns must not contain \"*\": a wildcard principal would let anyone assume the role.",
      "Name each consumer role ARN exactly. Found: ${jsonencode(flatten([
        for name, r in var.invoke_roles : [for arn in r.trusted_role_arns : "${name}: ${arn}" if strcontains(arn, "*")]
      ]))}.",
    ])
  }

  validation {
    condition = alltrue(flatten([
      for name, r in var.invoke_roles : [for arn in r.trusted_role_arns : !can(regex(local.account_principal, arn))]
    ]))
    error_message = join(" ", [
      "invoke_roles: trusted_role_arns must be role ARNs, not an account id or an account root",
      "(\"arn:aws:iam::<account>:root\" trusts every principal the account allows).",
      "Ask the consumer for the role their workload runs as. Found: ${jsonencode(flatten([
        for name, r in var.invoke_roles : [
          for arn in r.trusted_role_arns : "${name}: ${arn}" if can(regex(local.account_principal, arn))
        ]
      ]))}.",
    ])
  }

  validation {
    condition = alltrue(flatten([
      for name, r in var.invoke_roles : [for arn in r.trusted_role_arns : !can(regex(local.non_role_principal, arn))]
    ]))
    error_message = join(" ", [
      "invoke_roles: trusted_role_arns must be IAM role ARNs (arn:aws:iam::<account>:role/<name>), not users, groups or sessions.",
      "Found: ${jsonencode(flatten([
        for name, r in var.invoke_roles : [
          for arn in r.trusted_role_arns : "${name}: ${arn}" if can(regex(local.non_role_principal, arn))
        ]
      ]))}.",
    ])
  }

  # What the three rules above already name (wildcards, accounts, users, sessions) is not reported again here.
  validation {
    condition = alltrue(flatten([
      for name, r in var.invoke_roles : [
        for arn in r.trusted_role_arns : (
          can(regex(local.role_arn_regex, arn)) || strcontains(arn, "*")
          || can(regex(local.account_principal, arn)) || can(regex(local.non_role_principal, arn))
        )
      ]
    ]))
    error_message = join(" ", [
      "invoke_roles: each trusted_role_arns entry must look like arn:aws:iam::<12-digit account id>:role/[<path>/]<name>.",
      "Malformed: ${jsonencode(flatten([
        for name, r in var.invoke_roles : [
          for arn in r.trusted_role_arns : "${name}: ${arn}" if !(
            can(regex(local.role_arn_regex, arn)) || strcontains(arn, "*")
            || can(regex(local.account_principal, arn)) || can(regex(local.non_role_principal, arn))
          )
        ]
      ]))}.",
    ])
  }

  validation {
    condition = alltrue([
      for name, r in var.invoke_roles : length(distinct(r.trusted_role_arns)) == length(r.trusted_role_arns)
    ])
    error_message = "invoke_roles: trusted_role_arns must not repeat an ARN; repeated in: ${jsonencode([
      for name, r in var.invoke_roles : name if length(distinct(r.trusted_role_arns)) != length(r.trusted_role_arns)
    ])}."
  }

  validation {
    condition = alltrue([
      for name, r in var.invoke_roles : length(r.allowed_routes) > 0 && (!contains(r.allowed_routes, "*") || length(r.allowed_routes) == 1)
    ])
    error_message = join(" ", [
      "invoke_roles: allowed_routes is either [\"*\"] (every route) or a non-empty list of route keys, never both;",
      "bad for: ${jsonencode([
        for name, r in var.invoke_roles : name
        if !(length(r.allowed_routes) > 0 && (!contains(r.allowed_routes, "*") || length(r.allowed_routes) == 1))
      ])}.",
    ])
  }

  validation {
    condition = alltrue(flatten([
      for name, r in var.invoke_roles : [for rk in r.allowed_routes : rk == "*" || contains(var.routes, rk)]
    ]))
    error_message = join(" ", [
      "invoke_roles: every allowed_routes entry must be one of routes ${jsonencode(var.routes)};",
      "not routes of this API: ${jsonencode(flatten([
        for name, r in var.invoke_roles : [
          for rk in r.allowed_routes : "${name}: ${rk}" if rk != "*" && !contains(var.routes, rk)
        ]
      ]))}.",
    ])
  }

  validation {
    condition = alltrue([
      for name, r in var.invoke_roles : (
        r.max_session_duration >= local.session_seconds_min && r.max_session_duration <= local.session_seconds_max
        && floor(r.max_session_duration) == r.max_session_duration
      )
    ])
    error_message = join(" ", [
      "invoke_roles: max_session_duration must be a whole number of seconds",
      "from ${local.session_seconds_min} to ${local.session_seconds_max}; bad: ${jsonencode({
        for name, r in var.invoke_roles : name => r.max_session_duration if !(
          r.max_session_duration >= local.session_seconds_min && r.max_session_duration <= local.session_seconds_max
          && floor(r.max_session_duration) == r.max_session_duration
        )
      })}.",
    ])
  }

  validation {
    condition = alltrue([
      for name, r in var.invoke_roles : r.external_id == null || (
        length(coalesce(r.external_id, "-")) >= 2 && length(coalesce(r.external_id, "-")) <= 1224
        && can(regex(local.external_id_regex, coalesce(r.external_id, "-")))
      )
    ])
    error_message = join(" ", [
      "invoke_roles: external_id must be 2-1224 characters of letters, digits and + = , . @ : / _ - (the sts:ExternalId rules);",
      "bad for: ${jsonencode([
        for name, r in var.invoke_roles : "${name} (${length(coalesce(r.external_id, "-"))} chars: ${coalesce(r.external_id, "-")})"
        if !(r.external_id == null || (
          length(coalesce(r.external_id, "-")) >= 2 && length(coalesce(r.external_id, "-")) <= 1224
          && can(regex(local.external_id_regex, coalesce(r.external_id, "-")))
        ))
      ])}.",
    ])
  }
}

variable "invoke_role_permissions_boundary_arn" {
  description = "Optional permissions boundary (a managed policy ARN) for every invoke role, for accounts whose guardrails require one."
  type        = string
  default     = null

  validation {
    condition = (
      var.invoke_role_permissions_boundary_arn == null
      || can(regex(local.managed_policy_arn, coalesce(var.invoke_role_permissions_boundary_arn, "-")))
    )
    error_message = join(" ", [
      "invoke_role_permissions_boundary_arn must be a managed policy ARN (arn:aws:iam::<account>:policy/<name>);",
      "got \"${coalesce(var.invoke_role_permissions_boundary_arn, "null")}\".",
    ])
  }
}

variable "stage_name" {
  description = "Stage name. \"$default\" serves the API at the root of its endpoint."
  type        = string
  default     = "$default"
  nullable    = false

  validation {
    condition     = var.stage_name == "$default" || can(regex(local.stage_name_regex, var.stage_name))
    error_message = "stage_name must be \"$default\" or 1-128 characters of letters, digits, _ and -; got \"${var.stage_name}\"."
  }
}

variable "throttling" {
  description = <<-EOT
    Stage-wide throttling: burst_limit (requests) and rate_limit (requests per second).
    The defaults suit an internal API with a handful of consumers; AWS's account defaults are far higher.
  EOT
  type = object({
    burst_limit = optional(number, 100)
    rate_limit  = optional(number, 50)
  })
  default  = {}
  nullable = false

  validation {
    condition = (
      var.throttling.burst_limit > 0 && floor(var.throttling.burst_limit) == var.throttling.burst_limit
      && var.throttling.rate_limit > 0
    )
    error_message = join(" ", [
      "throttling.burst_limit must be a whole number > 0 and throttling.rate_limit a number > 0;",
      "got burst_limit = ${var.throttling.burst_limit}, rate_limit = ${var.throttling.rate_limit}.",
    ])
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
    condition     = contains(local.log_retention_days, var.access_log.retention_in_days)
    error_message = "access_log.retention_in_days must be one of CloudWatch's values (${join(", ", local.log_retention_days)}); got ${var.access_log.retention_in_days}."
  }

  validation {
    condition     = var.access_log.kms_key_arn == null || can(regex(local.kms_key_arn_regex, coalesce(var.access_log.kms_key_arn, "-")))
    error_message = "access_log.kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>); got \"${coalesce(var.access_log.kms_key_arn, "null")}\"."
  }
}

variable "forward_caller_identity" {
  description = <<-EOT
    HTTP_PROXY: pass what the gateway verified to the API server as headers, overwriting anything the client sent
    under those names: x-caller-arn ($context.identity.userArn, the invoke-role session), x-caller-user-id
    ($context.identity.user, "<role id>:<session name>") and x-route-key ($context.routeKey, the route the gateway
    authorized). null (the default) follows the integration: true for HTTP_PROXY, false for AWS_PROXY, where a
    Lambda function reads the same from its payload 2.0 event (requestContext.authorizer.iam, routeKey), which API
    Gateway fills in and no client can set. An explicit true with AWS_PROXY is refused.
  EOT
  type        = bool
  default     = null

  validation {
    condition = !(coalesce(var.forward_caller_identity, false) && var.integration.type == "AWS_PROXY")
    error_message = join(" ", [
      "forward_caller_identity = true is refused with integration.type = \"AWS_PROXY\": this module forwards no caller",
      "headers to a Lambda function, which takes the verified caller from requestContext.authorizer.iam (userArn,",
      "userId, accountId) and the route from routeKey of its payload 2.0 event instead. Set forward_caller_identity",
      "= false, or leave it unset (null follows the integration).",
    ])
  }
}

variable "origin_verify_header" {
  description = <<-EOT
    Name of the header that carries the origin secret to an API server reached over the internet (HTTP_PROXY
    without a VPC link). The gateway overwrites it on every request; the API server refuses requests without the
    secret (see the output origin_secret and README, "Sealing the API server").
  EOT
  type        = string
  default     = "x-origin-verify"
  nullable    = false

  validation {
    condition = can(regex(local.header_name_regex, var.origin_verify_header)) && !can(regex(local.reserved_header_regex, var.origin_verify_header))
    error_message = join(" ", [
      "origin_verify_header must be a lower-case header name of 2-64 letters, digits and -, and not one API Gateway",
      "reserves or the gateway sets itself (x-amz-*, x-amzn-*, apigw-*, x-forwarded-*, x-caller-*, authorization, host, ...);",
      "got \"${var.origin_verify_header}\".",
    ])
  }
}

variable "origin_secret_version" {
  description = "Change (e.g. increment) to generate a new origin secret; see README, \"Rotating the origin secret\"."
  type        = number
  default     = 1
  nullable    = false

  validation {
    condition     = var.origin_secret_version >= 1 && floor(var.origin_secret_version) == var.origin_secret_version
    error_message = "origin_secret_version must be a whole number >= 1; got ${var.origin_secret_version}."
  }
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
    condition     = var.domain == null || can(regex(local.domain_name_regex, try(var.domain.name, "")))
    error_message = "domain.name must be a lower-case DNS name such as api.example.com; got \"${try(var.domain.name, "")}\"."
  }

  validation {
    condition     = var.domain == null || can(regex(local.acm_arn_regex, try(var.domain.certificate_arn, "")))
    error_message = "domain.certificate_arn must be an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>); got \"${try(var.domain.certificate_arn, "")}\"."
  }

  validation {
    condition = (
      var.domain == null || try(var.domain.route53_zone_id, null) == null
      || can(regex(local.zone_id_regex, try(var.domain.route53_zone_id, "")))
    )
    error_message = join(" ", [
      "domain.route53_zone_id must be a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ (not the zone's name);",
      "got \"${coalesce(try(var.domain.route53_zone_id, null), "null")}\".",
    ])
  }
}

variable "tags" {
  description = "Tags for every resource that takes them."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "trust_policy_length_quota" {
  description = <<-EOT
    The provider account's IAM quota "Role trust policy length", in characters: 2,048 unless the account had it
    raised (Service Quotas, up to 4,096). Invoke role trust policies longer than this fail at plan.
  EOT
  type        = number
  default     = 2048
  nullable    = false

  validation {
    condition = (
      var.trust_policy_length_quota >= 2048 && var.trust_policy_length_quota <= 4096
      && floor(var.trust_policy_length_quota) == var.trust_policy_length_quota
    )
    error_message = join(" ", [
      "trust_policy_length_quota must be the account's \"Role trust policy length\" quota: a whole number from 2048",
      "(IAM's default) to 4096 (the most AWS grants); got ${var.trust_policy_length_quota}.",
    ])
  }
}

variable "large_payloads" {
  description = <<-EOT
    The payload hand-off for bodies past API Gateway's 10 MB / 30 s limits. enabled: create a private S3 bucket in
    this account where each invoke role writes request bodies under request/<its name>/ and reads response bodies
    under response/<its name>/ (the API server's role gets the reverse from the payload_server_policy_json output).
    expiration_days: objects are deleted this many days after they were written (1 to 365; the hand-off needs them
    for seconds, so keep it short).
  EOT
  type = object({
    enabled         = bool
    expiration_days = optional(number, 1)
  })
  default  = { enabled = false }
  nullable = false

  validation {
    condition = (
      var.large_payloads.expiration_days >= 1 && var.large_payloads.expiration_days <= 365
      && floor(var.large_payloads.expiration_days) == var.large_payloads.expiration_days
    )
    error_message = join(" ", [
      "large_payloads.expiration_days must be a whole number of days from 1 to 365 (S3 lifecycle expiry counts",
      "whole days; payloads are needed for seconds); got ${var.large_payloads.expiration_days}.",
    ])
  }
}

variable "expiry_warning_days" {
  description = "A check warns at plan about grants (invoke_roles[*].expires) that end within this many days, or have ended."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = var.expiry_warning_days >= 0 && var.expiry_warning_days <= 36500 && floor(var.expiry_warning_days) == var.expiry_warning_days
    error_message = "expiry_warning_days must be a whole number of days from 0 to 36500; got ${var.expiry_warning_days}."
  }
}
