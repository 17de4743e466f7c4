# Grants that end by themselves: invoke_roles[*].expires puts aws:CurrentTime before the end into the trust policy
# and into every Allow of the role's policies; checks warn at plan about grants that have ended or end soon.
# tests/test_validation.py checks each failure's message (the rule and the offending value).
mock_provider "aws" {}

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

run "expires_not_a_time" {
  command = plan
  variables {
    invoke_roles = {
      ApiAllowByIamRoleStag = { trusted_role_arns = ["arn:aws:iam::222222222222:role/LambdaRoleDeve"], expires = "next tuesday" }
    }
  }
  expect_failures = [var.invoke_roles]
}

run "a_date_is_the_start_of_that_day_in_the_trust_and_the_policies" {
  command = plan
  variables {
    invoke_roles = {
      ApiAllowByIamRoleStag = { trusted_role_arns = ["arn:aws:iam::222222222222:role/LambdaRoleDeve"], expires = "2999-03-31" }
    }
  }
  assert {
    condition     = jsondecode(aws_iam_role.invoke["ApiAllowByIamRoleStag"].assume_role_policy).Statement[0].Condition.DateLessThan == { "aws:CurrentTime" = "2999-03-31T00:00:00Z" }
    error_message = "trust: ${aws_iam_role.invoke["ApiAllowByIamRoleStag"].assume_role_policy}"
  }
  assert {
    condition     = jsondecode(aws_iam_role_policy.invoke["ApiAllowByIamRoleStag"].policy).Statement[0].Condition == { DateLessThan = { "aws:CurrentTime" = "2999-03-31T00:00:00Z" } }
    error_message = "invoke policy: ${aws_iam_role_policy.invoke["ApiAllowByIamRoleStag"].policy}"
  }
}

run "an_rfc3339_time_is_kept_as_written" {
  command = plan
  variables {
    invoke_roles = {
      ApiAllowByIamRoleStag = { trusted_role_arns = ["arn:aws:iam::222222222222:role/LambdaRoleDeve"], expires = "2999-03-31T18:00:00+09:00" }
    }
  }
  assert {
    condition     = jsondecode(aws_iam_role.invoke["ApiAllowByIamRoleStag"].assume_role_policy).Statement[0].Condition.DateLessThan == { "aws:CurrentTime" = "2999-03-31T18:00:00+09:00" }
    error_message = "trust: ${aws_iam_role.invoke["ApiAllowByIamRoleStag"].assume_role_policy}"
  }
}

run "without_expires_nothing_changes" {
  command = plan
  assert {
    condition     = !can(jsondecode(aws_iam_role.invoke["ApiAllowByIamRoleStag"].assume_role_policy).Statement[0].Condition.DateLessThan)
    error_message = "trust: ${aws_iam_role.invoke["ApiAllowByIamRoleStag"].assume_role_policy}"
  }
}

run "grant_ended" {
  command = plan
  variables {
    invoke_roles = {
      ApiAllowByIamRoleStag = { trusted_role_arns = ["arn:aws:iam::222222222222:role/LambdaRoleDeve"], expires = "2020-01-01" }
    }
  }
  expect_failures = [check.grants_ended]
}

run "grant_ending" {
  command = plan
  variables {
    expiry_warning_days = 36500
    invoke_roles = {
      ApiAllowByIamRoleStag = { trusted_role_arns = ["arn:aws:iam::222222222222:role/LambdaRoleDeve"], expires = "2100-03-31" }
    }
  }
  expect_failures = [check.grants_ending]
}
