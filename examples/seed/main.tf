# The seed's whole story in one root: in the provider account (stag), the HTTP API of server-stag and the invoke
# role ApiAllowByIamRoleStag; in the consumer account (deve), the Lambda function's role LambdaRoleDeve, which may
# assume it. One provider configuration per account. Teams usually split the two halves (envs/stag, envs/deve).

locals {
  stag_account_id = "111111111111"
  deve_account_id = "222222222222"

  invoke_role_arn = "arn:aws:iam::${local.stag_account_id}:role/ApiAllowByIamRoleStag"
}

provider "aws" {
  alias   = "stag"
  region  = "ap-northeast-1"
  profile = var.stag_profile
}

provider "aws" {
  alias   = "deve"
  region  = "ap-northeast-1"
  profile = var.deve_profile
}

module "workload_role" {
  source    = "../../modules/consumer_role"
  providers = { aws = aws.deve }

  role_name                 = "LambdaRoleDeve"
  provider_invoke_role_arns = [local.invoke_role_arn]
  managed_policy_arns       = ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]
}

module "api" {
  source    = "../../modules/provider_api"
  providers = { aws = aws.stag }

  name = "server-stag"
  integration = {
    type = "HTTP_PROXY"
    uri  = "https://api.internal.stag.foo.example.com"
  }
  invoke_roles = {
    ApiAllowByIamRoleStag = {
      # The workload role by its name from the module: IAM refuses a trust policy that names a role which does
      # not exist yet, and this reference makes Terraform create the role first (the name is known at plan).
      trusted_role_arns = ["arn:aws:iam::${local.deve_account_id}:role/${module.workload_role.role_name}"]
    }
  }
  domain = {
    name            = "server.stag.foo.example.com"
    certificate_arn = "arn:aws:acm:ap-northeast-1:111111111111:certificate/0f2c7c2e-1a5b-4b1e-9d0e-3c1f5d2a7b91"
  }
}
