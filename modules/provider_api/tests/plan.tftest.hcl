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
    condition     = aws_apigatewayv2_integration.this.request_parameters["overwrite:path"] == "$request.path"
    error_message = "overwrite:path: ${jsonencode(keys(aws_apigatewayv2_integration.this.request_parameters))}"
  }
  assert {
    condition     = aws_apigatewayv2_integration.this.request_parameters["overwrite:header.x-caller-arn"] == "$context.identity.userArn"
    error_message = "x-caller-arn: ${jsonencode(keys(aws_apigatewayv2_integration.this.request_parameters))}"
  }
  # The session's aws:userid (its payload prefixes) and the route the gateway authorized, for xacct.backend.
  assert {
    condition     = aws_apigatewayv2_integration.this.request_parameters["overwrite:header.x-caller-user-id"] == "$context.identity.user"
    error_message = "x-caller-user-id: ${jsonencode(keys(aws_apigatewayv2_integration.this.request_parameters))}"
  }
  assert {
    condition     = aws_apigatewayv2_integration.this.request_parameters["overwrite:header.x-route-key"] == "$context.routeKey"
    error_message = "x-route-key: ${jsonencode(keys(aws_apigatewayv2_integration.this.request_parameters))}"
  }
  # Sealed by default: the gateway adds the origin secret, which the module generated (unknown until apply).
  assert {
    condition     = contains(keys(aws_apigatewayv2_integration.this.request_parameters), "overwrite:header.x-origin-verify")
    error_message = "no origin header: ${jsonencode(keys(aws_apigatewayv2_integration.this.request_parameters))}"
  }
  assert {
    condition     = length(terraform_data.origin_secret) == 1 && output.origin_verify_header == "x-origin-verify"
    error_message = "the origin secret must be generated for an INTERNET integration"
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
    origin_verify_header    = "x-backend-origin"
  }

  # Only the origin secret (under a configurable name): no path mapping, no caller headers.
  assert {
    condition     = toset(keys(aws_apigatewayv2_integration.this.request_parameters)) == toset(["overwrite:header.x-backend-origin"])
    error_message = "request parameters: ${jsonencode(keys(aws_apigatewayv2_integration.this.request_parameters))}"
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
  # A private integration needs no origin secret: only the VPC link reaches the listener.
  assert {
    condition     = !contains(keys(aws_apigatewayv2_integration.this.request_parameters), "overwrite:header.x-origin-verify")
    error_message = "no origin header through a VPC link: ${jsonencode(keys(aws_apigatewayv2_integration.this.request_parameters))}"
  }
  assert {
    condition     = length(terraform_data.origin_secret) == 0 && length(aws_apigatewayv2_vpc_link.this) == 0 && output.vpc_link_id == "abc123"
    error_message = "an existing VPC link: no secret, no new link"
  }
  assert {
    condition     = length(aws_apigatewayv2_integration.this.tls_config) == 0
    error_message = "no tls_config unless tls_server_name is set"
  }
}

# integration.vpc_link: the module creates the link in the given subnets, with the given security groups, and
# tls_server_name makes the private integration speak HTTPS and verify that name.
run "vpc_link_created_by_the_module" {
  command = plan

  variables {
    integration = {
      type = "HTTP_PROXY"
      uri  = "arn:aws:elasticloadbalancing:ap-northeast-1:111111111111:listener/app/server-stag/50dc6c495c0c9188/0467ef3c8400ae65"
      vpc_link = {
        subnet_ids         = ["subnet-0123456789abcdef0", "subnet-89abcdef"]
        security_group_ids = ["sg-0123456789abcdef0"]
      }
      tls_server_name = "api.internal.stag.foo.example.com"
    }
  }

  assert {
    condition = (
      aws_apigatewayv2_vpc_link.this[0].subnet_ids == toset(["subnet-0123456789abcdef0", "subnet-89abcdef"])
      && aws_apigatewayv2_vpc_link.this[0].security_group_ids == toset(["sg-0123456789abcdef0"])
      && aws_apigatewayv2_vpc_link.this[0].name == "server-stag"
    )
    error_message = "vpc link: ${jsonencode(aws_apigatewayv2_vpc_link.this[0].subnet_ids)}"
  }
  assert {
    condition     = aws_apigatewayv2_integration.this.connection_type == "VPC_LINK"
    error_message = "connection_type: ${aws_apigatewayv2_integration.this.connection_type}"
  }
  assert {
    condition     = aws_apigatewayv2_integration.this.tls_config[0].server_name_to_verify == "api.internal.stag.foo.example.com"
    error_message = "tls_config: ${jsonencode(aws_apigatewayv2_integration.this.tls_config)}"
  }
  assert {
    condition     = length(terraform_data.origin_secret) == 0
    error_message = "no origin secret through a VPC link"
  }
}

# Plain http:// is for this machine only (the local AWS's echo server).
run "loopback_http_is_accepted" {
  command = plan

  variables {
    integration = { type = "HTTP_PROXY", uri = "http://127.0.0.1:8080" }
  }

  assert {
    condition     = contains(keys(aws_apigatewayv2_integration.this.request_parameters), "overwrite:header.x-origin-verify")
    error_message = "the loopback integration is sealed too"
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
    integration             = { type = "AWS_PROXY", uri = "arn:aws:lambda:ap-northeast-1:111111111111:function:server-stag:live" }
    forward_caller_identity = false
  }

  assert {
    condition     = aws_apigatewayv2_integration.this.request_parameters == null
    error_message = "no request parameters for Lambda"
  }
  assert {
    condition     = aws_lambda_permission.api[0].qualifier == "live"
    error_message = "qualifier: ${aws_lambda_permission.api[0].qualifier}"
  }
  # Scoped to the stage: <execution_arn>/<stage>/<method>/<path>.
  override_resource {
    target          = aws_apigatewayv2_api.this
    override_during = plan
    values          = { id = "a1b2c3d4e5", execution_arn = "arn:aws:execute-api:ap-northeast-1:111111111111:a1b2c3d4e5" }
  }
  assert {
    condition     = aws_lambda_permission.api[0].source_arn == "arn:aws:execute-api:ap-northeast-1:111111111111:a1b2c3d4e5/$default/*"
    error_message = "source_arn: ${aws_lambda_permission.api[0].source_arn}"
  }
  assert {
    condition     = length(terraform_data.origin_secret) == 0 && output.origin_verify_header == null
    error_message = "no origin secret for Lambda"
  }
}

# The quota message of invoke_roles.tftest.hcl promises that about 9 consumer accounts fit: 9 plan.
run "as_many_consumers_as_the_quota_message_promises_fit" {
  command = plan

  variables {
    invoke_roles = {
      ApiAllowByIamRoleStag = { trusted_role_arns = [for i in range(38) : "arn:aws:iam::${200000000000 + i}:role/LambdaRoleDeve"] }
    }
  }

  assert {
    condition     = length(aws_iam_role.invoke["ApiAllowByIamRoleStag"].assume_role_policy) <= 2048
    error_message = "38 consumer accounts: ${length(aws_iam_role.invoke["ApiAllowByIamRoleStag"].assume_role_policy)} characters"
  }
}

# The review's bar: one invoke role trusting 30 consumer accounts plans at IAM's default quota of 2,048 characters
# (a statement per account fitted about 9).
run "thirty_consumer_accounts_share_one_role_at_the_default_quota" {
  command = plan

  variables {
    invoke_roles = {
      ApiSharedRoleStag = { trusted_role_arns = [for i in range(30) : "arn:aws:iam::${300000000000 + i}:role/LambdaRoleDeve"] }
    }
  }

  assert {
    condition     = length(jsondecode(aws_iam_role.invoke["ApiSharedRoleStag"].assume_role_policy).Statement) == 1
    error_message = "one statement for all accounts: ${aws_iam_role.invoke["ApiSharedRoleStag"].assume_role_policy}"
  }
  assert {
    condition     = length(aws_iam_role.invoke["ApiSharedRoleStag"].assume_role_policy) <= 2048
    error_message = "30 consumer accounts: ${length(aws_iam_role.invoke["ApiSharedRoleStag"].assume_role_policy)} characters"
  }
}
