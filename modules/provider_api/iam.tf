# The invoke roles: who may assume them (trust policy) and which routes they may call (inline policy).
#
# execute-api:Invoke is decided on the *request's* ARN, <execution_arn>/<stage>/<METHOD>/<path>
# ("Control access to an HTTP API with IAM authorization", "Control access for invoking an API"), and in IAM "*"
# matches any characters, "/" included. API Gateway, on the other hand, sends a request to the most specific route
# ("Working with routes for HTTP APIs": an exact path first, then {param} routes, then the greedy {proxy+} route,
# then $default; a route of the request's method before an ANY route). So an allowed route's pattern,
# GET/items/*, also matches requests that API Gateway sends to other routes: GET /items/1/secret (deeper than
# {id}), GET /items/special (a literal route), anything ANY /{proxy+} would serve below /items/. Each invoke role
# gets an Allow of its routes' patterns and a Deny of what those patterns over-grant; where that Deny would also
# hit an allowed route, IAM cannot express the allowlist and the plan fails.
locals {
  # The methods an HTTP API route may name ("ANY" stands for all of them). A request with any other method gets
  # no Allow: AWS does not document how ANY treats other methods, so they are denied rather than guessed at.
  any_methods = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
  stage_arn   = "${aws_apigatewayv2_api.this.execution_arn}/${var.stage_name}"

  # Route keys taken apart: methods, path segments as written ("items", "{id}", "{proxy+}"), and the IAM pattern
  # of the path (segments of literals and "*").
  rk_methods = {
    for rk in var.routes : rk => rk == "$default" || startswith(rk, "ANY ") ? local.any_methods : [split(" ", rk)[0]]
  }
  rk_segments = {
    for rk in var.routes : rk => rk == "$default" ? [] : compact(split("/", try(split(" ", rk)[1], "")))
  }
  rk_greedy = { for rk, s in local.rk_segments : rk => length(regexall("^\\{.*\\+\\}$", try(s[length(s) - 1], ""))) > 0 }
  rk_fixed  = { for rk, s in local.rk_segments : rk => length(s) - (local.rk_greedy[rk] ? 1 : 0) }
  # Positions of {param} segments (not the greedy one): there "*" in IAM would also match deeper paths.
  rk_params = {
    for rk, s in local.rk_segments : rk => [for i, seg in s : i if startswith(seg, "{") && !endswith(seg, "+}")]
  }
  rk_glob = {
    for rk, s in local.rk_segments : rk => rk == "$default" ? "*" : join("/", [for seg in s : startswith(seg, "{") ? "*" : seg])
  }
  # Does the route's pattern match only requests of the route's own shape? True without {param}s, or with a
  # greedy last segment (which takes whatever the "*" of an earlier {param} would span).
  rk_pattern_is_shape = { for rk in var.routes : rk => rk != "$default" && (local.rk_greedy[rk] || length(local.rk_params[rk]) == 0) }

  # Precedence among routes that match a request, as a number per route (lower wins), compared only between
  # routes of one kind and length: a {param} segment ranks after a literal one, earlier segments weigh more, and
  # an ANY route ranks after a route of the method.
  rk_rank = {
    for rk, s in local.rk_segments : rk => tonumber(join("", concat(
      [local.rk_greedy[rk] || length(local.rk_params[rk]) == 0 ? "0" : "1"],
      [for seg in slice(s, 0, local.rk_fixed[rk]) : startswith(seg, "{") ? "1" : "0"],
      [startswith(rk, "ANY ") ? "1" : "0"],
    )))
  }
  # beats[s][a]: for a request both routes match, API Gateway picks s.
  beats = {
    for s in var.routes : s => {
      for a in var.routes : a => (
        s == a || s == "$default" ? false
        : a == "$default" ? true
        : local.rk_greedy[s] != local.rk_greedy[a] ? !local.rk_greedy[s]
        : local.rk_greedy[s] ? (
          local.rk_fixed[s] > local.rk_fixed[a]
          || (local.rk_fixed[s] == local.rk_fixed[a] && local.rk_rank[s] < local.rk_rank[a])
        )
        : length(local.rk_segments[s]) == length(local.rk_segments[a]) && local.rk_rank[s] < local.rk_rank[a]
      )
    }
  }

  # Patterns for the paths deeper than a route's {param}: "*/*" in the place of one {param}'s "*".
  deeper_globs = {
    for rk, s in local.rk_segments : rk => [
      for i in local.rk_params[rk] : join("/", [for j, seg in s : startswith(seg, "{") ? (j == i ? "*/*" : "*") : seg])
    ]
  }

  # Whether an IAM path pattern and a route can match one request: the pattern turned into a regular expression
  # over the route key's path as written, where a literal matches itself or a {param}, "*" matches one or more
  # whole segments (or nothing), and a greedy last segment may take the pattern's remaining segments.
  param_token  = "\\{[A-Za-z0-9_]+\\}"
  greedy_token = "\\{[A-Za-z0-9_]+\\+\\}"
  star_regex   = "([^/]+(/[^/]+)*)?"
  glob_regex = {
    for g in distinct(concat(values(local.rk_glob), flatten(values(local.deeper_globs)))) : g => join("|", concat(
      ["^${join("/", [for seg in compact(split("/", g)) : seg == "*" ? local.star_regex : "(${replace(seg, ".", "\\.")}|${local.param_token})"])}$"],
      [
        for k in range(length(compact(split("/", g)))) : "^${join("", [
          for seg in slice(compact(split("/", g)), 0, k) : "${seg == "*" ? local.star_regex : "(${replace(seg, ".", "\\.")}|${local.param_token})"}/"
        ])}${local.greedy_token}$"
      ],
    ))
  }
  # overlaps[glob][route]: some request matches both ($default: requests no other route takes, so assume yes).
  overlaps = {
    for g, re in local.glob_regex : g => {
      for rk, s in local.rk_segments : rk => rk == "$default" || length(regexall(re, join("/", s))) > 0
    }
  }

  # Per invoke role with a route list: its allowed and other routes.
  listed = { for name, r in var.invoke_roles : name => r.allowed_routes if !contains(r.allowed_routes, "*") }
  others = { for name, allowed in local.listed : name => [for rk in var.routes : rk if !contains(allowed, rk)] }

  allow_candidates = {
    for name, allowed in local.listed : name => distinct(flatten([
      for a in allowed : [for m in local.rk_methods[a] : "${m}/${local.rk_glob[a]}"]
    ]))
  }
  # A pattern that another pattern of the list already matches adds nothing (GET/items/* beside GET/*): read
  # as text, the covered pattern's "*"s fall inside the covering pattern's "*"s, so all it matches is covered.
  allow_patterns = {
    for name, ps in local.allow_candidates : name => [
      for p in ps : p if !anytrue([for q in ps : q != p && can(regex("^${replace(replace(q, ".", "\\."), "*", ".*")}$", p))])
    ]
  }

  # Other routes that win requests an allowed route's pattern matches, same shape: Deny their patterns.
  route_denies = {
    for name, allowed in local.listed : name => flatten([
      for a in allowed : [
        for m in local.rk_methods[a] : [
          for s in local.others[name] : { method = m, route = s, because = a }
          if s != "$default" && contains(local.rk_methods[s], m) && local.beats[s][a] && local.overlaps[local.rk_glob[a]][s]
        ]
      ]
    ])
  }
  # Deeper paths below an allowed route's {param}: Deny them, unless another allowed route serves some of them.
  deeper = {
    for name, allowed in local.listed : name => flatten([
      for a in allowed : [
        for m in local.rk_methods[a] : [
          for g in local.deeper_globs[a] : {
            method  = m
            glob    = g
            because = a
            allowed = [for b in allowed : b if b != a && contains(local.rk_methods[b], m) && local.overlaps[g][b]]
            others  = [for s in local.others[name] : s if contains(local.rk_methods[s], m) && local.overlaps[g][s]]
          }
        ]
      ]
    ])
  }
  # Where such a Deny would hit an allowed route, deny instead the other routes that serve deeper paths: possible
  # for routes of one shape, not for a greedy route or $default (their pattern covers the allowed route too).
  deeper_fallback = {
    for name, ds in local.deeper : name => flatten([
      for d in ds : [
        for s in d.others : { method = d.method, route = s, because = d.because } if s != "$default" && !local.rk_greedy[s]
      ] if length(d.allowed) > 0
    ])
  }

  deny_candidates = {
    for name, allowed in local.listed : name => distinct(concat(
      [for d in local.deeper[name] : "${d.method}/${d.glob}" if length(d.allowed) == 0],
      [for d in concat(local.route_denies[name], local.deeper_fallback[name]) : "${d.method}/${local.rk_glob[d.route]}"],
    ))
  }
  deny_patterns = {
    for name, ps in local.deny_candidates : name => [
      for p in ps : p if !anytrue([for q in ps : q != p && can(regex("^${replace(replace(q, ".", "\\."), "*", ".*")}$", p))])
    ]
  }

  # What IAM cannot express: a Deny that also matches requests API Gateway sends to an allowed route.
  route_conflicts = {
    for name, allowed in local.listed : name => distinct(concat(
      # A route's pattern denied: it hits allowed route b unless every shared request goes to the denied route.
      flatten([
        for d in concat(local.route_denies[name], local.deeper_fallback[name]) : [
          for b in allowed : {
            allowed = b
            other   = d.route
            deny    = "${d.method}/${local.rk_glob[d.route]}"
          }
          if contains(local.rk_methods[b], d.method) && (
            b == "$default" ? !local.rk_pattern_is_shape[d.route] : (
              local.overlaps[local.rk_glob[d.route]][b] && !(local.beats[d.route][b] && (
                local.rk_pattern_is_shape[d.route]
                || (!local.rk_greedy[b] && length(local.rk_segments[b]) == length(local.rk_segments[d.route]))
              ))
            )
          )
        ]
      ]),
      # Deeper paths that a greedy route or $default would serve, while another allowed route serves some too.
      flatten([
        for d in local.deeper[name] : [
          for s in d.others : { allowed = d.allowed[0], other = s, deny = "${d.method}/${d.glob}" }
          if s == "$default" || local.rk_greedy[s]
        ] if length(d.allowed) > 0
      ]),
    ))
  }

  # The policy document for a prefix of the resource ARNs: this stage's, and for the quota check (before the API
  # exists its ARN is unknown) the longest this stage's can be.
  invoke_policy_documents = {
    for name, r in var.invoke_roles : name => {
      for which, prefix in { real = local.stage_arn, longest = local.longest_stage_arn } : which => jsonencode({
        Version = "2012-10-17"
        Statement = concat(
          [merge({
            Sid      = "InvokeAllowedRoutes"
            Effect   = "Allow"
            Action   = "execute-api:Invoke"
            Resource = contains(r.allowed_routes, "*") ? ["${prefix}/*/*"] : [for p in local.allow_patterns[name] : "${prefix}/${p}"]
          }, length(local.until[name]) == 0 ? {} : { Condition = local.until[name] })],
          length(try(local.deny_patterns[name], [])) == 0 ? [] : [{
            Sid      = "DenyRequestsOfOtherRoutes"
            Effect   = "Deny"
            Action   = "execute-api:Invoke"
            Resource = [for p in local.deny_patterns[name] : "${prefix}/${p}"]
          }],
        )
      })
    }
  }
  longest_stage_arn = "arn:aws-us-gov:execute-api:${data.aws_region.current.name}:000000000000:0000000000/${var.stage_name}"
}

# Trust: one statement naming every consumer role, that binds the session name to the caller's own account:
# StringLike sts:RoleSessionName = "${aws:PrincipalAccount}-*". AWS records the session name in the assumed-role ARN
# that API Gateway passes on ($context.identity.userArn), so the API server learns the consumer account from it, and
# since no consumer can assume the role under another account's prefix, no consumer can pose as another.
# "IAM policy elements: Variables and tags": global condition keys can be variables, variables work in
# resource-based policies (a trust policy is one), and a variable without a value makes its condition false;
# aws:PrincipalAccount is in every request ("AWS global condition context keys"). One statement for all accounts
# costs one role ARN per consumer role, where a statement per account cost about 219 characters per account.
#
# With trust_by_principal_arn the statement's principals are the consumer accounts, and their roles are named in an
# ArnEquals aws:PrincipalArn condition: IAM keeps the ARNs as written, so the trust survives a consumer re-creating
# its role (a role principal is stored as the role's unique id and goes stale), and the consumer need not apply
# first. The price: IAM no longer refuses an ARN of a role that does not exist, so a typo is never matched.
locals {
  consumer_accounts = {
    for name, r in var.invoke_roles : name => sort(distinct([
      for arn in r.trusted_role_arns : try(regex(":iam::([0-9]{12}):", arn)[0], "000000000000")
    ]))
  }
  # The session name rule, written literally ("$${" is how Terraform writes "${").
  session_name_rule = "$${aws:PrincipalAccount}-*"

  # Grants that end by themselves: IAM compares aws:CurrentTime (in every request: "AWS global condition context
  # keys") with the end, in the trust (no new session after it) and in every Allow of the role's policies (a
  # session issued just before it can make no call after it). A date is the start of that day, UTC (as YAML reads an
  # unquoted date: 2027-03-31 is 2027-03-31T00:00:00Z).
  grant_ends = {
    for name, r in var.invoke_roles : name => (
      r.expires == null ? null : can(regex(local.date_only, r.expires)) ? "${r.expires}T00:00:00Z" : r.expires
    )
  }
  until = {
    for name, end in local.grant_ends : name => end == null ? {} : { DateLessThan = { "aws:CurrentTime" = end } }
  }

  trust_policies = {
    for name, r in var.invoke_roles : name => jsonencode({
      Version = "2012-10-17"
      Statement = [{
        Sid    = "ConsumerRoles"
        Effect = "Allow"
        Principal = {
          AWS = r.trust_by_principal_arn ? [
            for account in local.consumer_accounts[name] :
            "arn:${try(regex("^arn:([^:]+):", r.trusted_role_arns[0])[0], "aws")}:iam::${account}:root"
          ] : sort(distinct(r.trusted_role_arns))
        }
        Action = "sts:AssumeRole"
        Condition = merge(
          { StringLike = { "sts:RoleSessionName" = local.session_name_rule } },
          r.trust_by_principal_arn ? { ArnEquals = { "aws:PrincipalArn" = sort(distinct(r.trusted_role_arns)) } } : {},
          r.external_id == null ? {} : { StringEquals = { "sts:ExternalId" = r.external_id } },
          local.until[name],
        )
      }]
    })
  }

  # IAM's quota for a role trust policy: 2,048 characters unless the account had it raised (up to 4,096); white
  # space is not counted and jsonencode adds none. Each consumer role adds its ARN (and, with trust_by_principal_arn,
  # a new account adds its root ARN).
  trust_policy_quota = var.trust_policy_length_quota
  trust_policy_size = {
    for name, r in var.invoke_roles : name => {
      length     = length(local.trust_policies[name])
      accounts   = length(local.consumer_accounts[name])
      principals = length(distinct(r.trusted_role_arns))
      per_principal = ceil(
        (length(join(",", [for arn in distinct(r.trusted_role_arns) : jsonencode(arn)])) + 1) / max(1, length(distinct(r.trusted_role_arns)))
      )
      # What the statement costs without its role ARNs, and so how many role ARNs of this length fit.
      fixed = length(local.trust_policies[name]) - length(join(",", [for arn in distinct(r.trusted_role_arns) : jsonencode(arn)]))
    }
  }

  # IAM's limits on the consumer roles named: a path of at most 512 characters ("/" included), a name of at most 64
  # (the name is checked with the ARN's form, in variables.tf).
  role_path_quota = 512
  long_role_paths = {
    for name, r in var.invoke_roles : name => [
      for arn in r.trusted_role_arns : "${arn} (path of ${length(try(regex(":role(/.*/)[^/]+$", arn)[0], "/"))} characters)"
      if length(try(regex(":role(/.*/)[^/]+$", arn)[0], "/")) > local.role_path_quota
    ]
  }

  # IAM's quota for the inline policies of one role, together: 10,240 characters (white space not counted).
  inline_policy_quota = 10240
  invoke_policy_size = {
    for name, r in var.invoke_roles : name => {
      length = length(local.invoke_policy_documents[name].longest)
      allows = contains(r.allowed_routes, "*") ? 1 : length(local.allow_patterns[name])
      denies = length(try(local.deny_patterns[name], []))
    }
  }
}

resource "aws_iam_role" "invoke" {
  for_each = var.invoke_roles

  name                 = each.key
  description          = "Lets the consumer roles named in its trust policy call one IAM-authorized HTTP API."
  assume_role_policy   = local.trust_policies[each.key]
  max_session_duration = each.value.max_session_duration
  permissions_boundary = var.invoke_role_permissions_boundary_arn
  tags                 = var.tags

  lifecycle {
    precondition {
      condition = length(local.long_role_paths[each.key]) == 0
      error_message = join(" ", [
        "invoke_roles.${each.key}: trusted_role_arns must have role paths of at most ${local.role_path_quota} characters",
        "(IAM's limit; the path is what lies between \":role\" and the role name, slashes included);",
        "too long: ${jsonencode(local.long_role_paths[each.key])}.",
      ])
    }
    precondition {
      condition = local.trust_policy_size[each.key].length <= local.trust_policy_quota
      error_message = join(" ", [
        "The trust policy of invoke role ${each.key} would be ${local.trust_policy_size[each.key].length} characters,",
        "over the account's quota of ${local.trust_policy_quota} for role trust policies (trust_policy_length_quota):",
        "its ${local.trust_policy_size[each.key].principals} trusted_role_arns (${local.trust_policy_size[each.key].accounts} accounts)",
        "take about ${local.trust_policy_size[each.key].per_principal} characters each, so about",
        "${floor((local.trust_policy_quota - local.trust_policy_size[each.key].fixed) / local.trust_policy_size[each.key].per_principal)}",
        "fit in one role. Split the consumers into several",
        "invoke_roles entries, or raise the account's \"Role trust policy length\" quota (up to 4,096) and set",
        "trust_policy_length_quota to it.",
      ])
    }
  }
}

resource "aws_iam_role_policy" "invoke" {
  for_each = var.invoke_roles

  name   = "InvokeApi"
  role   = aws_iam_role.invoke[each.key].id
  policy = local.invoke_policy_documents[each.key].real

  lifecycle {
    precondition {
      condition = length(try(local.route_conflicts[each.key], [])) == 0
      error_message = join(" ", [
        "invoke_roles.${each.key}: IAM cannot allow exactly these allowed_routes (in an execute-api ARN \"*\" also matches \"/\").",
        join(" ", [
          for c in try(local.route_conflicts[each.key], []) :
          "To keep out ${c.other}, the policy needs Deny ${c.deny}, which also matches requests that go to the allowed route ${c.allowed}."
        ]),
        "Allow both routes to this role or neither (another invoke role can hold the other), or give the routes paths",
        "that do not overlap.",
      ])
    }
    precondition {
      condition = local.invoke_policy_size[each.key].length <= local.inline_policy_quota
      error_message = join(" ", [
        "The invoke policy of invoke role ${each.key} would be up to ${local.invoke_policy_size[each.key].length} characters",
        "(${local.invoke_policy_size[each.key].allows} allowed and ${local.invoke_policy_size[each.key].denies} denied route patterns),",
        "over IAM's quota of ${local.inline_policy_quota} characters for a role's inline policies.",
        "Split its allowed_routes over several invoke_roles entries, or use fewer routes (ANY routes take one pattern per method).",
      ])
    }
  }
}
