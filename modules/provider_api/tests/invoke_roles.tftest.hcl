# Bad invoke_roles fail at plan, and good ones plan the trust and invoke policies they should. Each run changes one thing of the valid `variables` (see plan.tftest.hcl);
# tests/test_validation.py checks each failure's message (the rule and the offending value).
mock_provider "aws" {}

# The API's ARN is known at plan here, so that the runs below can read the invoke policies.
override_resource {
  target          = aws_apigatewayv2_api.this
  override_during = plan
  values          = { id = "a1b2c3d4e5", execution_arn = "arn:aws:execute-api:ap-northeast-1:111111111111:a1b2c3d4e5" }
}

variables {
  name         = "server-stag"
  integration  = { type = "HTTP_PROXY", uri = "https://api.internal.stag.foo.example.com" }
  invoke_roles = { ApiAllowByIamRoleStag = { trusted_role_arns = ["arn:aws:iam::222222222222:role/LambdaRoleDeve"] } }
}

# -- trusted principals ---------------------------------------------------------------------------------------

run "wildcard_principal" {
  command = plan
  variables { invoke_roles = { ApiAllowByIamRoleStag = { trusted_role_arns = ["*"] } } }
  expect_failures = [var.invoke_roles]
}

run "account_id_principal" {
  command = plan
  variables { invoke_roles = { ApiAllowByIamRoleStag = { trusted_role_arns = ["222222222222"] } } }
  expect_failures = [var.invoke_roles]
}

run "account_root_principal" {
  command = plan
  variables { invoke_roles = { ApiAllowByIamRoleStag = { trusted_role_arns = ["arn:aws:iam::222222222222:root"] } } }
  expect_failures = [var.invoke_roles]
}

run "user_principal" {
  command = plan
  variables { invoke_roles = { ApiAllowByIamRoleStag = { trusted_role_arns = ["arn:aws:iam::222222222222:user/alice"] } } }
  expect_failures = [var.invoke_roles]
}

run "malformed_arn" {
  command = plan
  variables { invoke_roles = { ApiAllowByIamRoleStag = { trusted_role_arns = ["arn:aws:iam:222222222222:role/LambdaRoleDeve"] } } }
  expect_failures = [var.invoke_roles]
}

run "eleven_digit_account" {
  command = plan
  variables { invoke_roles = { ApiAllowByIamRoleStag = { trusted_role_arns = ["arn:aws:iam::22222222222:role/LambdaRoleDeve"] } } }
  expect_failures = [var.invoke_roles]
}

run "thirteen_digit_account" {
  command = plan
  variables { invoke_roles = { ApiAllowByIamRoleStag = { trusted_role_arns = ["arn:aws:iam::2222222222222:role/LambdaRoleDeve"] } } }
  expect_failures = [var.invoke_roles]
}

run "empty_trusted_role_arns" {
  command = plan
  variables { invoke_roles = { ApiAllowByIamRoleStag = { trusted_role_arns = [] } } }
  expect_failures = [var.invoke_roles]
}

run "repeated_trusted_role_arn" {
  command = plan
  variables {
    invoke_roles = {
      ApiAllowByIamRoleStag = {
        trusted_role_arns = ["arn:aws:iam::222222222222:role/LambdaRoleDeve", "arn:aws:iam::222222222222:role/LambdaRoleDeve"]
      }
    }
  }
  expect_failures = [var.invoke_roles]
}

# -- the roles ------------------------------------------------------------------------------------------------

run "no_invoke_roles" {
  command = plan
  variables { invoke_roles = {} }
  expect_failures = [check.someone_can_call]
}

run "role_name_too_long" {
  command = plan
  variables {
    invoke_roles = {
      AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA = {
        trusted_role_arns = ["arn:aws:iam::222222222222:role/LambdaRoleDeve"]
      }
    }
  }
  expect_failures = [var.invoke_roles]
}

run "role_name_illegal_characters" {
  command = plan
  variables { invoke_roles = { "Api Role!" = { trusted_role_arns = ["arn:aws:iam::222222222222:role/LambdaRoleDeve"] } } }
  expect_failures = [var.invoke_roles]
}

run "allowed_route_not_a_route" {
  command = plan
  variables {
    invoke_roles = {
      ApiAllowByIamRoleStag = {
        trusted_role_arns = ["arn:aws:iam::222222222222:role/LambdaRoleDeve"]
        allowed_routes    = ["GET /items/{id}"]
      }
    }
  }
  expect_failures = [var.invoke_roles]
}

run "allowed_routes_star_and_keys" {
  command = plan
  variables {
    invoke_roles = {
      ApiAllowByIamRoleStag = {
        trusted_role_arns = ["arn:aws:iam::222222222222:role/LambdaRoleDeve"]
        allowed_routes    = ["*", "ANY /{proxy+}"]
      }
    }
  }
  expect_failures = [var.invoke_roles]
}

run "max_session_too_short" {
  command = plan
  variables {
    invoke_roles = {
      ApiAllowByIamRoleStag = {
        trusted_role_arns    = ["arn:aws:iam::222222222222:role/LambdaRoleDeve"]
        max_session_duration = 3599
      }
    }
  }
  expect_failures = [var.invoke_roles]
}

run "max_session_too_long" {
  command = plan
  variables {
    invoke_roles = {
      ApiAllowByIamRoleStag = {
        trusted_role_arns    = ["arn:aws:iam::222222222222:role/LambdaRoleDeve"]
        max_session_duration = 43201
      }
    }
  }
  expect_failures = [var.invoke_roles]
}

run "external_id_too_short" {
  command = plan
  variables {
    invoke_roles = {
      ApiAllowByIamRoleStag = { trusted_role_arns = ["arn:aws:iam::222222222222:role/LambdaRoleDeve"], external_id = "x" }
    }
  }
  expect_failures = [var.invoke_roles]
}

run "external_id_too_long" {
  command = plan
  variables {
    invoke_roles = {
      ApiAllowByIamRoleStag = {
        trusted_role_arns = ["arn:aws:iam::222222222222:role/LambdaRoleDeve"]
        external_id       = replace(format("%1225s", ""), " ", "e") # 1225 characters
      }
    }
  }
  expect_failures = [var.invoke_roles]
}

run "external_id_illegal_characters" {
  command = plan
  variables {
    invoke_roles = {
      ApiAllowByIamRoleStag = { trusted_role_arns = ["arn:aws:iam::222222222222:role/LambdaRoleDeve"], external_id = "tenant #42" }
    }
  }
  expect_failures = [var.invoke_roles]
}

run "permissions_boundary_not_a_policy" {
  command = plan
  variables { invoke_role_permissions_boundary_arn = "arn:aws:iam::111111111111:role/Boundary" }
  expect_failures = [var.invoke_role_permissions_boundary_arn]
}

# -- the trust policy quota -----------------------------------------------------------------------------------

run "trust_policy_over_quota" {
  command = plan
  variables {
    invoke_roles = {
      ApiAllowByIamRoleStag = { trusted_role_arns = [for i in range(50) : "arn:aws:iam::${200000000000 + i}:role/LambdaRoleDeve"] }
    }
  }
  expect_failures = [aws_iam_role.invoke]
}

# One statement for every consumer role: 48 characters per role ARN of this length, so 38 consumer accounts' roles
# fit in the default 2,048 (plan.tftest.hcl), 39 do not.
run "one_consumer_more_than_fits" {
  command = plan
  variables {
    invoke_roles = {
      ApiAllowByIamRoleStag = { trusted_role_arns = [for i in range(39) : "arn:aws:iam::${200000000000 + i}:role/LambdaRoleDeve"] }
    }
  }
  expect_failures = [aws_iam_role.invoke]
}

# -- who called: one trust statement, the session name bound to the caller's own account ----------------------
# StringLike sts:RoleSessionName = "${aws:PrincipalAccount}-*" ("IAM policy elements: Variables and tags": global
# condition keys as variables, in resource-based policies too; HCL writes "$${" for a literal "${").

run "one_trust_statement_binds_each_session_name_to_its_account" {
  command = plan
  variables {
    invoke_roles = {
      ApiAllowByIamRoleStag = {
        trusted_role_arns = [
          "arn:aws:iam::222222222222:role/LambdaRoleDeve",
          "arn:aws:iam::333333333333:role/LambdaRoleDeve",
          "arn:aws:iam::222222222222:role/team/BatchRoleDeve",
        ]
        external_id = "xacct-partner-7f3a9c"
      }
    }
  }

  assert {
    condition = jsondecode(aws_iam_role.invoke["ApiAllowByIamRoleStag"].assume_role_policy).Statement == [
      {
        Sid    = "ConsumerRoles"
        Effect = "Allow"
        Principal = { AWS = [
          "arn:aws:iam::222222222222:role/LambdaRoleDeve",
          "arn:aws:iam::222222222222:role/team/BatchRoleDeve",
          "arn:aws:iam::333333333333:role/LambdaRoleDeve",
        ] }
        Action = "sts:AssumeRole"
        Condition = {
          StringLike   = { "sts:RoleSessionName" = "$${aws:PrincipalAccount}-*" }
          StringEquals = { "sts:ExternalId" = "xacct-partner-7f3a9c" }
        }
      },
    ]
    error_message = "trust policy: ${aws_iam_role.invoke["ApiAllowByIamRoleStag"].assume_role_policy}"
  }
  assert {
    condition = output.consumer_config.role_session_name_prefix == {
      ApiAllowByIamRoleStag = { "222222222222" = "222222222222-", "333333333333" = "333333333333-" }
    }
    error_message = "role_session_name_prefix: ${jsonencode(output.consumer_config.role_session_name_prefix)}"
  }
  assert {
    condition     = length(output.consumer_config.trusted_principals.ApiAllowByIamRoleStag) == 3
    error_message = "trusted_principals: ${jsonencode(output.consumer_config.trusted_principals)}"
  }
}

# -- exact route allowlists -----------------------------------------------------------------------------------
# IAM decides on the request's ARN <execution_arn>/<stage>/<METHOD>/<path> ("Control access to an HTTP API with
# IAM authorization", "Control access for invoking an API"), where "*" also spans "/"; API Gateway sends a request
# to the most specific route: exact path, then {param} routes, then the greedy {proxy+}, then $default; a route of
# the request's method before ANY ("Working with routes for HTTP APIs").

# GET/items/* would also allow GET /items/1/secret, which ANY /{proxy+} serves: its deeper paths are denied.
run "param_route_denies_deeper_paths" {
  command = plan
  variables {
    routes = ["ANY /{proxy+}", "GET /items/{id}"]
    invoke_roles = {
      ApiReadItemsRoleStag = { trusted_role_arns = ["arn:aws:iam::222222222222:role/LambdaRoleDeve"], allowed_routes = ["GET /items/{id}"] }
    }
  }

  assert {
    condition = jsondecode(aws_iam_role_policy.invoke["ApiReadItemsRoleStag"].policy).Statement == [
      {
        Sid      = "InvokeAllowedRoutes"
        Effect   = "Allow"
        Action   = "execute-api:Invoke"
        Resource = ["arn:aws:execute-api:ap-northeast-1:111111111111:a1b2c3d4e5/$default/GET/items/*"]
      },
      {
        Sid      = "DenyRequestsOfOtherRoutes"
        Effect   = "Deny"
        Action   = "execute-api:Invoke"
        Resource = ["arn:aws:execute-api:ap-northeast-1:111111111111:a1b2c3d4e5/$default/GET/items/*/*"]
      },
    ]
    error_message = "policy: ${aws_iam_role_policy.invoke["ApiReadItemsRoleStag"].policy}"
  }
}

# A literal route wins over {id} for its path; the deeper paths of every {param} are denied; a named stage.
run "more_specific_routes_denied" {
  command = plan
  variables {
    stage_name = "v1"
    routes     = ["GET /items/{id}/parts/{part}", "GET /items/special/parts/{part}", "GET /items/{id}/parts/all", "POST /items"]
    invoke_roles = {
      ApiReadItemsRoleStag = {
        trusted_role_arns = ["arn:aws:iam::222222222222:role/LambdaRoleDeve"]
        allowed_routes    = ["GET /items/{id}/parts/{part}"]
      }
    }
  }

  assert {
    condition = jsondecode(aws_iam_role_policy.invoke["ApiReadItemsRoleStag"].policy).Statement[0].Resource == [
      "arn:aws:execute-api:ap-northeast-1:111111111111:a1b2c3d4e5/v1/GET/items/*/parts/*",
    ]
    error_message = "policy: ${aws_iam_role_policy.invoke["ApiReadItemsRoleStag"].policy}"
  }
  assert {
    condition = toset(jsondecode(aws_iam_role_policy.invoke["ApiReadItemsRoleStag"].policy).Statement[1].Resource) == toset([
      "arn:aws:execute-api:ap-northeast-1:111111111111:a1b2c3d4e5/v1/GET/items/*/*/parts/*",
      "arn:aws:execute-api:ap-northeast-1:111111111111:a1b2c3d4e5/v1/GET/items/*/parts/*/*",
      "arn:aws:execute-api:ap-northeast-1:111111111111:a1b2c3d4e5/v1/GET/items/special/parts/*",
      "arn:aws:execute-api:ap-northeast-1:111111111111:a1b2c3d4e5/v1/GET/items/*/parts/all",
    ])
    error_message = "policy: ${aws_iam_role_policy.invoke["ApiReadItemsRoleStag"].policy}"
  }
}

# ANY is each method HTTP APIs accept, never "*" in the method slot (where "*" would span into the path).
run "any_route_is_each_method" {
  command = plan
  variables {
    routes = ["ANY /items", "GET /health"]
    invoke_roles = {
      ApiAllowByIamRoleStag = { trusted_role_arns = ["arn:aws:iam::222222222222:role/LambdaRoleDeve"], allowed_routes = ["ANY /items"] }
    }
  }

  assert {
    condition = jsondecode(aws_iam_role_policy.invoke["ApiAllowByIamRoleStag"].policy).Statement == [{
      Sid    = "InvokeAllowedRoutes"
      Effect = "Allow"
      Action = "execute-api:Invoke"
      Resource = [
        for m in ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"] :
        "arn:aws:execute-api:ap-northeast-1:111111111111:a1b2c3d4e5/$default/${m}/items"
      ]
    }]
    error_message = "policy: ${aws_iam_role_policy.invoke["ApiAllowByIamRoleStag"].policy}"
  }
}

# The greedy route allowed: the routes that win over it for their paths are denied, and only those.
run "greedy_route_allowed_others_denied" {
  command = plan
  variables {
    routes = ["ANY /{proxy+}", "POST /items", "ANY /admin/{proxy+}"]
    invoke_roles = {
      ApiAllowByIamRoleStag = { trusted_role_arns = ["arn:aws:iam::222222222222:role/LambdaRoleDeve"], allowed_routes = ["ANY /{proxy+}"] }
    }
  }

  assert {
    condition = toset(jsondecode(aws_iam_role_policy.invoke["ApiAllowByIamRoleStag"].policy).Statement[1].Resource) == toset(concat(
      ["arn:aws:execute-api:ap-northeast-1:111111111111:a1b2c3d4e5/$default/POST/items"],
      [
        for m in ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"] :
        "arn:aws:execute-api:ap-northeast-1:111111111111:a1b2c3d4e5/$default/${m}/admin/*"
      ],
    ))
    error_message = "policy: ${aws_iam_role_policy.invoke["ApiAllowByIamRoleStag"].policy}"
  }
}

# $default allowed: everything but the other routes; a greedy route's pattern matches only what it serves.
run "default_route_allowed" {
  command = plan
  variables {
    routes = ["$default", "GET /health", "ANY /admin/{proxy+}"]
    invoke_roles = {
      ApiAllowByIamRoleStag = {
        trusted_role_arns = ["arn:aws:iam::222222222222:role/LambdaRoleDeve"]
        allowed_routes    = ["$default", "GET /health"]
      }
    }
  }

  assert {
    # GET/health is covered by GET/*, so it is not listed on its own.
    condition = toset(jsondecode(aws_iam_role_policy.invoke["ApiAllowByIamRoleStag"].policy).Statement[0].Resource) == toset([
      for m in ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"] : "arn:aws:execute-api:ap-northeast-1:111111111111:a1b2c3d4e5/$default/${m}/*"
    ])
    error_message = "policy: ${aws_iam_role_policy.invoke["ApiAllowByIamRoleStag"].policy}"
  }
  assert {
    condition = toset(jsondecode(aws_iam_role_policy.invoke["ApiAllowByIamRoleStag"].policy).Statement[1].Resource) == toset([
      for m in ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"] : "arn:aws:execute-api:ap-northeast-1:111111111111:a1b2c3d4e5/$default/${m}/admin/*"
    ])
    error_message = "policy: ${aws_iam_role_policy.invoke["ApiAllowByIamRoleStag"].policy}"
  }
}

# GET/items/*/* would deny the allowed GET /items/{id}/parts: instead the route that serves other such paths is
# denied (and the paths deeper than parts' {id}).
run "deeper_allowed_route_not_denied" {
  command = plan
  variables {
    routes = ["GET /items/{id}", "GET /items/{id}/parts", "GET /items/{id}/secret"]
    invoke_roles = {
      ApiReadItemsRoleStag = {
        trusted_role_arns = ["arn:aws:iam::222222222222:role/LambdaRoleDeve"]
        allowed_routes    = ["GET /items/{id}", "GET /items/{id}/parts"]
      }
    }
  }

  assert {
    condition = jsondecode(aws_iam_role_policy.invoke["ApiReadItemsRoleStag"].policy).Statement[1].Resource == [
      "arn:aws:execute-api:ap-northeast-1:111111111111:a1b2c3d4e5/$default/GET/items/*/*/parts",
      "arn:aws:execute-api:ap-northeast-1:111111111111:a1b2c3d4e5/$default/GET/items/*/secret",
    ]
    error_message = "policy: ${aws_iam_role_policy.invoke["ApiReadItemsRoleStag"].policy}"
  }
}

# Every route: the stage, one statement, nothing to deny.
run "every_route" {
  command = plan
  variables {
    routes = ["ANY /{proxy+}", "GET /items/{id}"]
  }

  assert {
    condition = jsondecode(aws_iam_role_policy.invoke["ApiAllowByIamRoleStag"].policy).Statement == [{
      Sid      = "InvokeAllowedRoutes"
      Effect   = "Allow"
      Action   = "execute-api:Invoke"
      Resource = ["arn:aws:execute-api:ap-northeast-1:111111111111:a1b2c3d4e5/$default/*/*"]
    }]
    error_message = "policy: ${aws_iam_role_policy.invoke["ApiAllowByIamRoleStag"].policy}"
  }
}

# What IAM cannot express fails at plan, naming both routes: denying GET /items/{id} (GET/items/*) would also deny
# GET /items/1/2, which the allowed ANY /{proxy+} serves.
run "deny_would_hit_allowed_greedy_route" {
  command = plan
  variables {
    routes = ["ANY /{proxy+}", "GET /items/{id}"]
    invoke_roles = {
      ApiAllowByIamRoleStag = { trusted_role_arns = ["arn:aws:iam::222222222222:role/LambdaRoleDeve"], allowed_routes = ["ANY /{proxy+}"] }
    }
  }
  expect_failures = [aws_iam_role_policy.invoke]
}

# $default allowed beside a {param} route that is not: the Deny of GET/items/* would also take GET /items/1/2.
run "default_route_beside_denied_param_route" {
  command = plan
  variables {
    routes = ["$default", "GET /items/{id}"]
    invoke_roles = {
      ApiAllowByIamRoleStag = { trusted_role_arns = ["arn:aws:iam::222222222222:role/LambdaRoleDeve"], allowed_routes = ["$default"] }
    }
  }
  expect_failures = [aws_iam_role_policy.invoke]
}

# IAM's 10,240-character quota for a role's inline policies: 12 ANY routes with a {param} take 168 ARNs.
run "invoke_policy_over_quota" {
  command = plan
  variables {
    routes = [for i in range(12) : "ANY /resource${i}/{id}"]
    invoke_roles = {
      ApiAllowByIamRoleStag = {
        trusted_role_arns = ["arn:aws:iam::222222222222:role/LambdaRoleDeve"]
        allowed_routes    = [for i in range(12) : "ANY /resource${i}/{id}"]
      }
    }
  }
  expect_failures = [aws_iam_role_policy.invoke]
}

# -- trust by principal ARN, and the quotas a plan can know (issue 10) -----------------------------------------

# Opt-in: the consumer account as principal, its roles in ArnEquals aws:PrincipalArn (kept as written by IAM).
run "trust_by_principal_arn" {
  command = plan
  variables {
    invoke_roles = {
      ApiAllowByIamRoleStag = {
        trusted_role_arns      = ["arn:aws:iam::222222222222:role/LambdaRoleDeve", "arn:aws:iam::222222222222:role/team/BatchRoleDeve"]
        trust_by_principal_arn = true
      }
    }
  }

  assert {
    condition = jsondecode(aws_iam_role.invoke["ApiAllowByIamRoleStag"].assume_role_policy).Statement == [{
      Sid       = "ConsumerRoles"
      Effect    = "Allow"
      Principal = { AWS = ["arn:aws:iam::222222222222:root"] }
      Action    = "sts:AssumeRole"
      Condition = {
        StringLike = { "sts:RoleSessionName" = "$${aws:PrincipalAccount}-*" }
        ArnEquals  = { "aws:PrincipalArn" = ["arn:aws:iam::222222222222:role/LambdaRoleDeve", "arn:aws:iam::222222222222:role/team/BatchRoleDeve"] }
      }
    }]
    error_message = "trust policy: ${aws_iam_role.invoke["ApiAllowByIamRoleStag"].assume_role_policy}"
  }
}

# An account whose "Role trust policy length" quota was raised to 4,096: 81 consumer accounts' roles fit.
run "trust_policy_quota_raised" {
  command = plan
  variables {
    trust_policy_length_quota = 4096
    invoke_roles = {
      ApiAllowByIamRoleStag = { trusted_role_arns = [for i in range(81) : "arn:aws:iam::${200000000000 + i}:role/LambdaRoleDeve"] }
    }
  }

  assert {
    condition     = length(aws_iam_role.invoke["ApiAllowByIamRoleStag"].assume_role_policy) > 2048
    error_message = "81 consumer accounts: ${length(aws_iam_role.invoke["ApiAllowByIamRoleStag"].assume_role_policy)} characters"
  }
}

run "trust_policy_over_raised_quota" {
  command = plan
  variables {
    trust_policy_length_quota = 4096
    invoke_roles = {
      ApiAllowByIamRoleStag = { trusted_role_arns = [for i in range(82) : "arn:aws:iam::${200000000000 + i}:role/LambdaRoleDeve"] }
    }
  }
  expect_failures = [aws_iam_role.invoke]
}

run "trust_policy_quota_above_what_aws_grants" {
  command = plan
  variables { trust_policy_length_quota = 8192 }
  expect_failures = [var.trust_policy_length_quota]
}

run "trust_policy_quota_below_the_default" {
  command = plan
  variables { trust_policy_length_quota = 1024 }
  expect_failures = [var.trust_policy_length_quota]
}

# IAM's limit on a role path: 512 characters. This one has 521 ("/", then 52 times "abcdefghi/").
run "trusted_role_path_too_long" {
  command = plan
  variables {
    invoke_roles = {
      ApiAllowByIamRoleStag = {
        trusted_role_arns = ["arn:aws:iam::222222222222:role/${join("", [for i in range(52) : "abcdefghi/"])}LambdaRoleDeve"]
      }
    }
  }
  expect_failures = [aws_iam_role.invoke]
}

# -- what each consumer team is sent: its own grants only (issue 19) ---------------------------------------------

run "each_consumer_account_gets_only_its_own_config" {
  command = plan
  variables {
    routes = ["ANY /{proxy+}", "GET /items/{id}"]
    invoke_roles = {
      ApiSharedRoleStag = {
        trusted_role_arns = ["arn:aws:iam::222222222222:role/LambdaRoleDeve", "arn:aws:iam::333333333333:role/Batch"]
        external_id       = "shared-partner-id-1"
      }
      ApiTeamB = { trusted_role_arns = ["arn:aws:iam::222222222222:role/LambdaRoleDeve"], allowed_routes = ["GET /items/{id}"] }
    }
  }

  assert {
    condition     = jsonencode(sort(keys(output.consumer_configs))) == jsonencode(["222222222222", "333333333333"])
    error_message = "one config per consumer account: ${jsonencode(keys(output.consumer_configs))}"
  }
  assert {
    condition     = jsonencode(keys(output.consumer_configs["333333333333"].invoke_roles)) == jsonencode(["ApiSharedRoleStag"])
    error_message = "333333333333 must not learn of ApiTeamB: ${jsonencode(output.consumer_configs["333333333333"].invoke_roles)}"
  }
  assert {
    condition     = jsonencode(output.consumer_configs["333333333333"].invoke_roles.ApiSharedRoleStag.your_role_arns) == jsonencode(["arn:aws:iam::333333333333:role/Batch"])
    error_message = "only the account's own roles: ${jsonencode(output.consumer_configs["333333333333"].invoke_roles)}"
  }
  assert {
    condition     = !strcontains(jsonencode(output.consumer_configs["333333333333"]), "222222222222")
    error_message = "another consumer's account id leaked: ${jsonencode(output.consumer_configs["333333333333"])}"
  }
  assert {
    condition     = !strcontains(jsonencode(output.consumer_configs), "shared-partner-id-1")
    error_message = "an external id must never be in what consumers are sent"
  }
  assert {
    condition = jsonencode(output.consumer_configs["222222222222"].invoke_roles.ApiTeamB.allowed_routes) == jsonencode(["GET /items/{id}"]) && (
      output.consumer_configs["222222222222"].invoke_roles.ApiSharedRoleStag.role_session_name_prefix == "222222222222-"
    )
    error_message = "222222222222: ${jsonencode(output.consumer_configs["222222222222"])}"
  }
}
