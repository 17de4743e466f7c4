locals {
  # execute-api ARN of a route key: "GET /items/{id}" -> <execution_arn>/<stage>/GET/items/*.
  # ANY becomes *, and {param} / {proxy+} become * (in IAM, * also spans "/").
  route_arns = {
    for rk in var.routes : rk => format(
      "%s/%s/%s/%s",
      aws_apigatewayv2_api.this.execution_arn,
      var.stage_name,
      split(" ", rk)[0] == "ANY" ? "*" : split(" ", rk)[0],
      trimprefix(replace(split(" ", rk)[1], "/\\{[^}]+\\}/", "*"), "/"),
    )
  }
  all_routes_arn = "${aws_apigatewayv2_api.this.execution_arn}/${var.stage_name}/*/*"

  trust_policies = {
    for name, r in var.invoke_roles : name => jsonencode({
      Version = "2012-10-17"
      Statement = [merge(
        {
          Sid       = "AssumeFromNamedConsumerRoles"
          Effect    = "Allow"
          Principal = { AWS = r.trusted_role_arns }
          Action    = "sts:AssumeRole"
        },
        r.external_id == null ? {} : { Condition = { StringEquals = { "sts:ExternalId" = r.external_id } } },
      )]
    })
  }

  invoke_policies = {
    for name, r in var.invoke_roles : name => jsonencode({
      Version = "2012-10-17"
      Statement = [{
        Sid      = "InvokeThisApiOnly"
        Effect   = "Allow"
        Action   = "execute-api:Invoke"
        Resource = contains(r.allowed_routes, "*") ? [local.all_routes_arn] : distinct([for rk in r.allowed_routes : local.route_arns[rk]])
      }]
    })
  }

  # IAM's default quota for a role trust policy is 2,048 characters (white space not counted).
  trust_policy_quota = 2048
  # Per invoke role: the characters its principals take ("<arn>", with quotes and comma), on average per principal,
  # and how many principals of that size fit beside the rest of the policy.
  principal_chars = { for name, r in var.invoke_roles : name => sum([for arn in r.trusted_role_arns : length(arn) + 3]) }
  trust_policy_size = {
    for name, r in var.invoke_roles : name => {
      length        = length(local.trust_policies[name])
      principals    = length(r.trusted_role_arns)
      per_principal = ceil(local.principal_chars[name] / length(r.trusted_role_arns))
      fit = floor(
        (local.trust_policy_quota - (length(local.trust_policies[name]) - local.principal_chars[name]))
        / ceil(local.principal_chars[name] / length(r.trusted_role_arns))
      )
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
      condition = local.trust_policy_size[each.key].length <= local.trust_policy_quota
      error_message = join(" ", [
        "The trust policy of invoke role ${each.key} would be ${local.trust_policy_size[each.key].length} characters,",
        "over IAM's default quota of ${local.trust_policy_quota} for role trust policies.",
        "At about ${local.trust_policy_size[each.key].per_principal} characters per principal,",
        "about ${local.trust_policy_size[each.key].fit} of its ${local.trust_policy_size[each.key].principals} trusted_role_arns",
        "fit in one role: split the consumers into several invoke_roles entries (one per consumer team also tells the API",
        "server who called), or raise the account's \"Role trust policy length\" quota (up to 4,096).",
      ])
    }
  }
}

resource "aws_iam_role_policy" "invoke" {
  for_each = var.invoke_roles

  name   = "InvokeApi"
  role   = aws_iam_role.invoke[each.key].id
  policy = local.invoke_policies[each.key]
}
