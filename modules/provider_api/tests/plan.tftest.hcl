# Valid inputs plan, and plan what they say. Each file of bad inputs differs from `variables` here only by the
# bad value, so these runs also show that the bad cases fail for their bad value alone.
mock_provider "aws" {
  mock_data "aws_region" {
    defaults = { name = "ap-northeast-1" }
  }
}

variables {
  name         = "server-stag"
  integration  = { type = "HTTP_PROXY", uri = "https://api.internal.stag.foo.example.com" }
  invoke_roles = { ApiAllowByIamRoleStag = { trusted_role_arns = ["arn:aws:iam::222222222222:role/LambdaRoleDeve"] } }
}

run "base_plans" {
  command = plan

  assert {
    condition = aws_apigatewayv2_integration.this.request_parameters == tomap({
      "overwrite:path"                = "$request.path"
      "overwrite:header.x-caller-arn" = "$context.identity.userArn"
    })
    error_message = "request_parameters: ${jsonencode(aws_apigatewayv2_integration.this.request_parameters)}"
  }
  assert {
    condition     = [for r in aws_apigatewayv2_route.this : r.authorization_type] == ["AWS_IAM"]
    error_message = "every route must use AWS_IAM"
  }
  assert {
    condition     = jsondecode(aws_iam_role.invoke["ApiAllowByIamRoleStag"].assume_role_policy).Statement[0].Principal == { AWS = ["arn:aws:iam::222222222222:role/LambdaRoleDeve"] }
    error_message = "trust policy: ${aws_iam_role.invoke["ApiAllowByIamRoleStag"].assume_role_policy}"
  }
  assert {
    condition     = aws_apigatewayv2_integration.this.connection_type == "INTERNET"
    error_message = "connection_type: ${aws_apigatewayv2_integration.this.connection_type}"
  }
  assert {
    condition     = output.consumer_config.region == "ap-northeast-1"
    error_message = "consumer_config.region: ${output.consumer_config.region}"
  }
}

# A base path in the URI: the caller's path is appended to it.
run "base_path_is_kept" {
  command = plan

  variables {
    integration = { type = "HTTP_PROXY", uri = "https://api.internal.stag.foo.example.com/v1/" }
  }

  assert {
    condition     = aws_apigatewayv2_integration.this.request_parameters["overwrite:path"] == "/v1$request.path"
    error_message = "overwrite:path: ${jsonencode(aws_apigatewayv2_integration.this.request_parameters)}"
  }
}

# The form AWS's documentation uses ("Working with HTTP proxy integrations for HTTP APIs"): API Gateway fills
# {proxy} from the route's {proxy+}; no path mapping may override that.
run "greedy_path_variable_in_uri" {
  command = plan

  variables {
    integration = { type = "HTTP_PROXY", uri = "https://backend.example.com/{proxy}" }
  }

  assert {
    condition     = aws_apigatewayv2_integration.this.integration_uri == "https://backend.example.com/{proxy}"
    error_message = "integration_uri: ${aws_apigatewayv2_integration.this.integration_uri}"
  }
  assert {
    condition     = !contains(keys(aws_apigatewayv2_integration.this.request_parameters), "overwrite:path")
    error_message = "no overwrite:path with a path variable in the URI: ${jsonencode(aws_apigatewayv2_integration.this.request_parameters)}"
  }
}

run "named_path_variables_in_uri" {
  command = plan

  variables {
    integration             = { type = "HTTP_PROXY", uri = "https://backend.example.com/pets/extendedpath/{petID}" }
    routes                  = ["GET /pets/{petID}", "DELETE /pets/{petID}"]
    forward_caller_identity = false
  }

  assert {
    condition     = aws_apigatewayv2_integration.this.request_parameters == null
    error_message = "no request parameters: ${jsonencode(aws_apigatewayv2_integration.this.request_parameters)}"
  }
}

# Private integrations ("Working with private integrations for HTTP APIs"): the URI is a listener or Cloud Map
# service ARN, and the path is mapped to the route path (AWS would otherwise include the stage name).
run "load_balancer_listener_through_vpc_link" {
  command = plan

  variables {
    integration = {
      type        = "HTTP_PROXY"
      uri         = "arn:aws:elasticloadbalancing:ap-northeast-1:111111111111:listener/app/server-stag/50dc6c495c0c9188/0467ef3c8400ae65"
      vpc_link_id = "abc123"
    }
  }

  assert {
    condition     = aws_apigatewayv2_integration.this.connection_type == "VPC_LINK" && aws_apigatewayv2_integration.this.connection_id == "abc123"
    error_message = "connection: ${aws_apigatewayv2_integration.this.connection_type} ${aws_apigatewayv2_integration.this.connection_id}"
  }
  assert {
    condition     = aws_apigatewayv2_integration.this.request_parameters["overwrite:path"] == "$request.path"
    error_message = "overwrite:path: ${jsonencode(aws_apigatewayv2_integration.this.request_parameters)}"
  }
}

run "network_load_balancer_listener_through_vpc_link" {
  command = plan

  variables {
    integration = {
      type        = "HTTP_PROXY"
      uri         = "arn:aws:elasticloadbalancing:ap-northeast-1:111111111111:listener/net/server-stag/50dc6c495c0c9188/0467ef3c8400ae65"
      vpc_link_id = "abc123"
    }
  }
}

run "cloud_map_service_through_vpc_link" {
  command = plan

  variables {
    integration = {
      type        = "HTTP_PROXY"
      uri         = "arn:aws:servicediscovery:ap-northeast-1:111111111111:service/srv-e4anhexample0004"
      vpc_link_id = "abc123"
    }
  }

  assert {
    condition     = aws_apigatewayv2_integration.this.integration_uri == "arn:aws:servicediscovery:ap-northeast-1:111111111111:service/srv-e4anhexample0004"
    error_message = "integration_uri: ${aws_apigatewayv2_integration.this.integration_uri}"
  }
}

run "lambda_plans_with_its_permission" {
  command = plan

  variables {
    integration = { type = "AWS_PROXY", uri = "arn:aws:lambda:ap-northeast-1:111111111111:function:server-stag:live" }
  }

  assert {
    condition     = aws_apigatewayv2_integration.this.request_parameters == null
    error_message = "no request parameters for Lambda"
  }
  assert {
    condition     = aws_lambda_permission.api[0].qualifier == "live"
    error_message = "qualifier: ${aws_lambda_permission.api[0].qualifier}"
  }
}

# The quota message of invoke_roles.tftest.hcl promises that about 9 consumer accounts fit: 9 plan.
run "as_many_consumers_as_the_quota_message_promises_fit" {
  command = plan

  variables {
    invoke_roles = {
      ApiAllowByIamRoleStag = { trusted_role_arns = [for i in range(9) : "arn:aws:iam::${200000000000 + i}:role/LambdaRoleDeve"] }
    }
  }

  assert {
    condition     = length(aws_iam_role.invoke["ApiAllowByIamRoleStag"].assume_role_policy) <= 2048
    error_message = "9 consumer accounts: ${length(aws_iam_role.invoke["ApiAllowByIamRoleStag"].assume_role_policy)} characters"
  }
}
