# A Lambda function (its "live" alias) behind the API: payload format 2.0, and a permission that lets this API,
# and no other, invoke the function. The function itself is deployed by its own pipeline.

provider "aws" {
  region = "ap-northeast-1"
}

module "api" {
  source = "../../modules/provider_api"

  name = "hoge-lambda-api"
  integration = {
    type       = "AWS_PROXY"
    uri        = "arn:aws:lambda:ap-northeast-1:111111111111:function:hoge-api:live"
    timeout_ms = 10000
  }
  routes = ["POST /hoge", "GET /hoge/{id}"]
  # The function reads the verified caller from its event's requestContext.authorizer.iam (no headers).
  forward_caller_identity = false
  invoke_roles = {
    ApiAllowByIamRoleStag = {
      trusted_role_arns = ["arn:aws:iam::222222222222:role/LambdaRoleDeve"]
      allowed_routes    = ["POST /hoge"]
    }
  }
  access_log = { retention_in_days = 90 }
}

output "consumer_config" {
  description = "Region, invoke URL and invoke role ARN for the consumer."
  value       = module.api.consumer_config
}
