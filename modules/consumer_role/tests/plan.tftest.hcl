# Valid inputs plan, and plan what they say. The bad cases in validation.tftest.hcl differ from `variables` here
# only by their bad value.
# With create_role = false the role is looked up; by default it exists.
mock_provider "aws" {
  mock_data "aws_iam_roles" {
    defaults = {
      names = ["LambdaRoleDeve"]
      arns  = ["arn:aws:iam::222222222222:role/LambdaRoleDeve"]
    }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "222222222222" }
  }
}

variables {
  role_name                 = "LambdaRoleDeve"
  provider_invoke_role_arns = ["arn:aws:iam::111111111111:role/ApiAllowByIamRoleStag"]
}

run "base_plans" {
  command = plan

  assert {
    condition     = jsondecode(aws_iam_role.this[0].assume_role_policy).Statement[0].Principal == { Service = ["lambda.amazonaws.com"] }
    error_message = "trust policy: ${aws_iam_role.this[0].assume_role_policy}"
  }
  # Confused deputy prevention: the service acts for a resource of this account only.
  assert {
    condition     = jsondecode(aws_iam_role.this[0].assume_role_policy).Statement[0].Condition == { StringEquals = { "aws:SourceAccount" = "222222222222" } }
    error_message = "trust policy condition: ${aws_iam_role.this[0].assume_role_policy}"
  }
  assert {
    condition     = jsondecode(aws_iam_role_policy.assume_provider_roles.policy).Statement[0].Resource == ["arn:aws:iam::111111111111:role/ApiAllowByIamRoleStag"]
    error_message = "policy: ${aws_iam_role_policy.assume_provider_roles.policy}"
  }
}

# create_role = false: the role is looked up by its exact name, case aside ("." and "+" taken literally), and the
# policy goes onto the role IAM holds under that name.
run "existing_role_is_used_by_name" {
  command = plan

  variables {
    role_name   = "worker.role+blue"
    create_role = false
  }

  override_data {
    target = data.aws_iam_roles.existing[0]
    values = {
      names = ["Worker.Role+Blue"]
      arns  = ["arn:aws:iam::222222222222:role/Worker.Role+Blue"]
    }
  }

  assert {
    condition     = data.aws_iam_roles.existing[0].name_regex == "(?i)^worker\\.role\\+blue$"
    error_message = "name_regex: ${data.aws_iam_roles.existing[0].name_regex}"
  }
  assert {
    condition     = aws_iam_role_policy.assume_provider_roles.role == "Worker.Role+Blue"
    error_message = "policy on role ${aws_iam_role_policy.assume_provider_roles.role}"
  }
  assert {
    condition     = output.role_arn == "arn:aws:iam::222222222222:role/Worker.Role+Blue"
    error_message = "role_arn: ${output.role_arn}"
  }
  assert {
    condition     = length(aws_iam_role.this) == 0
    error_message = "no role may be created with create_role = false"
  }
}

# A service that sends no aws:SourceAccount: the condition can be left out.
run "source_account_condition_off" {
  command = plan

  variables {
    source_account_condition = false
  }

  assert {
    condition     = !contains(keys(jsondecode(aws_iam_role.this[0].assume_role_policy).Statement[0]), "Condition")
    error_message = "trust policy: ${aws_iam_role.this[0].assume_role_policy}"
  }
}
