# Bad invoke_roles fail at plan. Each run changes one thing of the valid `variables` (see plan.tftest.hcl);
# tests/test_validation.py checks each failure's message (the rule and the offending value).
mock_provider "aws" {}

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
  expect_failures = [var.invoke_roles]
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

# The message above promises that about 39 fit; 39 plan (plan.tftest.hcl), 40 do not.
run "one_consumer_more_than_fits" {
  command = plan
  variables {
    invoke_roles = {
      ApiAllowByIamRoleStag = { trusted_role_arns = [for i in range(40) : "arn:aws:iam::${200000000000 + i}:role/LambdaRoleDeve"] }
    }
  }
  expect_failures = [aws_iam_role.invoke]
}
