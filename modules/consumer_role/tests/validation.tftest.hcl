# Bad inputs fail at plan. Each run changes one thing of the valid `variables` (see plan.tftest.hcl);
# tests/test_validation.py checks each failure's message (the rule and the offending value).
# With create_role = false the role is looked up; by default it exists.
mock_provider "aws" {
  mock_data "aws_iam_roles" {
    defaults = {
      names = ["LambdaRoleDeve"]
      arns  = ["arn:aws:iam::222222222222:role/LambdaRoleDeve"]
    }
  }
}

variables {
  role_name                 = "LambdaRoleDeve"
  provider_invoke_role_arns = ["arn:aws:iam::111111111111:role/ApiAllowByIamRoleStag"]
}

run "consumer_role_name_illegal_characters" {
  command = plan
  variables { role_name = "Lambda Role" }
  expect_failures = [var.role_name]
}

run "consumer_no_invoke_roles" {
  command = plan
  variables { provider_invoke_role_arns = [] }
  expect_failures = [var.provider_invoke_role_arns]
}

run "consumer_not_role_arns" {
  command = plan
  variables { provider_invoke_role_arns = ["arn:aws:iam::111111111111:user/api", "*"] }
  expect_failures = [var.provider_invoke_role_arns]
}

run "consumer_existing_role_with_services" {
  command = plan
  variables {
    create_role      = false
    trusted_services = ["ecs-tasks.amazonaws.com"]
  }
  expect_failures = [var.trusted_services]
}

run "consumer_existing_role_with_boundary" {
  command = plan
  variables {
    create_role              = false
    permissions_boundary_arn = "arn:aws:iam::222222222222:policy/Boundary"
  }
  expect_failures = [var.permissions_boundary_arn]
}

run "consumer_bad_service" {
  command = plan
  variables { trusted_services = ["lambda"] }
  expect_failures = [var.trusted_services]
}

run "consumer_no_service" {
  command = plan
  variables { trusted_services = [] }
  expect_failures = [var.trusted_services]
}

run "consumer_managed_policy_not_a_policy" {
  command = plan
  variables { managed_policy_arns = ["AWSLambdaBasicExecutionRole"] }
  expect_failures = [var.managed_policy_arns]
}

run "consumer_boundary_not_a_policy" {
  command = plan
  variables { permissions_boundary_arn = "arn:aws:iam::222222222222:role/Boundary" }
  expect_failures = [var.permissions_boundary_arn]
}

# create_role = false for a role the account does not have: a plan-time error naming the role.
run "consumer_existing_role_missing" {
  command = plan
  variables { create_role = false }
  override_data {
    target = data.aws_iam_roles.existing[0]
    values = { names = [], arns = [] }
  }
  expect_failures = [data.aws_iam_roles.existing[0]]
}
