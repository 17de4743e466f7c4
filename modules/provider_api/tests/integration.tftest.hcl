# Bad integration settings fail at plan. Each run changes one thing of the valid `variables` (see plan.tftest.hcl);
# tests/test_validation.py checks each failure's message (the rule and the offending value).
mock_provider "aws" {}

variables {
  name         = "server-stag"
  integration  = { type = "HTTP_PROXY", uri = "https://api.internal.stag.foo.example.com" }
  invoke_roles = { ApiAllowByIamRoleStag = { trusted_role_arns = ["arn:aws:iam::222222222222:role/LambdaRoleDeve"] } }
}

run "integration_type" {
  command = plan
  variables { integration = { type = "HTTP", uri = "https://api.example.com" } }
  expect_failures = [var.integration]
}

run "http_proxy_uri_not_url" {
  command = plan
  variables { integration = { type = "HTTP_PROXY", uri = "api.internal.example.com" } }
  expect_failures = [var.integration]
}

run "http_proxy_uri_with_query" {
  command = plan
  variables { integration = { type = "HTTP_PROXY", uri = "https://api.example.com/v1?tenant=a" } }
  expect_failures = [var.integration]
}

# Path variables belong in the path; a template in the host name is no URL API Gateway fills in.
run "path_variable_in_host" {
  command = plan
  variables {
    integration = { type = "HTTP_PROXY", uri = "https://{proxy}.example.com/" }
  }
  expect_failures = [var.integration]
}

# One integration serves every route: each route must have the variables the URI names.
run "uri_path_variable_missing_from_a_route" {
  command = plan
  variables {
    integration = { type = "HTTP_PROXY", uri = "https://backend.example.com/{proxy}" }
    routes      = ["ANY /{proxy+}", "GET /health"]
  }
  expect_failures = [var.integration]
}

run "listener_arn_without_vpc_link" {
  command = plan
  variables {
    integration = {
      type = "HTTP_PROXY"
      uri  = "arn:aws:elasticloadbalancing:ap-northeast-1:111111111111:listener/app/server-stag/50dc6c495c0c9188/0467ef3c8400ae65"
    }
  }
  expect_failures = [var.integration]
}

run "cloud_map_arn_without_vpc_link" {
  command = plan
  variables {
    integration = { type = "HTTP_PROXY", uri = "arn:aws:servicediscovery:ap-northeast-1:111111111111:service/srv-e4anhexample0004" }
  }
  expect_failures = [var.integration]
}

# A load balancer's ARN is not its listener's.
run "load_balancer_arn_is_not_a_listener" {
  command = plan
  variables {
    integration = {
      type        = "HTTP_PROXY"
      uri         = "arn:aws:elasticloadbalancing:ap-northeast-1:111111111111:loadbalancer/app/server-stag/50dc6c495c0c9188"
      vpc_link_id = "abc123"
    }
  }
  expect_failures = [var.integration]
}

run "vpc_link_id_malformed" {
  command = plan
  variables {
    integration = { type = "HTTP_PROXY", uri = "https://api.example.com", vpc_link_id = "VPC Link" }
  }
  expect_failures = [var.integration]
}

run "lambda_uri_not_function_arn" {
  command = plan
  variables {
    integration             = { type = "AWS_PROXY", uri = "https://api.example.com" }
    forward_caller_identity = false
  }
  expect_failures = [var.integration]
}

run "lambda_with_get" {
  command = plan
  variables {
    integration             = { type = "AWS_PROXY", uri = "arn:aws:lambda:ap-northeast-1:111111111111:function:server", method = "GET" }
    forward_caller_identity = false
  }
  expect_failures = [var.integration]
}

run "timeout_too_short" {
  command = plan
  variables { integration = { type = "HTTP_PROXY", uri = "https://api.example.com", timeout_ms = 49 } }
  expect_failures = [var.integration]
}

run "timeout_too_long" {
  command = plan
  variables { integration = { type = "HTTP_PROXY", uri = "https://api.example.com", timeout_ms = 30001 } }
  expect_failures = [var.integration]
}

run "integration_method" {
  command = plan
  variables { integration = { type = "HTTP_PROXY", uri = "https://api.example.com", method = "FETCH" } }
  expect_failures = [var.integration]
}

# -- private integrations ("Working with private integrations for HTTP APIs") ----------------------------------

# A private integration's URI is a listener or Cloud Map service ARN: a URL through a VPC link is refused, be its
# host public or private.
run "vpc_link_with_a_url" {
  command = plan
  variables {
    integration = { type = "HTTP_PROXY", uri = "https://api.example.com", vpc_link_id = "abc123" }
  }
  expect_failures = [var.integration]
}

run "vpc_link_and_vpc_link_id" {
  command = plan
  variables {
    integration = {
      type        = "HTTP_PROXY"
      uri         = "arn:aws:servicediscovery:ap-northeast-1:111111111111:service/srv-e4anhexample0004"
      vpc_link_id = "abc123"
      vpc_link    = { subnet_ids = ["subnet-0123456789abcdef0"], security_group_ids = [] }
    }
  }
  expect_failures = [var.integration]
}

run "vpc_link_subnet_malformed" {
  command = plan
  variables {
    integration = {
      type     = "HTTP_PROXY"
      uri      = "arn:aws:servicediscovery:ap-northeast-1:111111111111:service/srv-e4anhexample0004"
      vpc_link = { subnet_ids = ["subnet-0123456789abcdef0", "subnet-XYZ"], security_group_ids = [] }
    }
  }
  expect_failures = [var.integration]
}

run "vpc_link_without_subnets" {
  command = plan
  variables {
    integration = {
      type     = "HTTP_PROXY"
      uri      = "arn:aws:servicediscovery:ap-northeast-1:111111111111:service/srv-e4anhexample0004"
      vpc_link = { subnet_ids = [], security_group_ids = ["sg-0123456789abcdef0"] }
    }
  }
  expect_failures = [var.integration]
}

run "vpc_link_security_group_malformed" {
  command = plan
  variables {
    integration = {
      type     = "HTTP_PROXY"
      uri      = "arn:aws:servicediscovery:ap-northeast-1:111111111111:service/srv-e4anhexample0004"
      vpc_link = { subnet_ids = ["subnet-0123456789abcdef0"], security_group_ids = ["default"] }
    }
  }
  expect_failures = [var.integration]
}

run "vpc_link_with_lambda" {
  command = plan
  variables {
    integration = {
      type     = "AWS_PROXY"
      uri      = "arn:aws:lambda:ap-northeast-1:111111111111:function:server"
      vpc_link = { subnet_ids = ["subnet-0123456789abcdef0"], security_group_ids = [] }
    }
    forward_caller_identity = false
  }
  expect_failures = [var.integration]
}

# tlsConfig is for private integrations only.
run "tls_server_name_without_vpc_link" {
  command = plan
  variables {
    integration = { type = "HTTP_PROXY", uri = "https://api.example.com", tls_server_name = "api.example.com" }
  }
  expect_failures = [var.integration]
}

run "tls_server_name_malformed" {
  command = plan
  variables {
    integration = {
      type            = "HTTP_PROXY"
      uri             = "arn:aws:servicediscovery:ap-northeast-1:111111111111:service/srv-e4anhexample0004"
      vpc_link_id     = "abc123"
      tls_server_name = "https://api.example.com/"
    }
  }
  expect_failures = [var.integration]
}

# -- the origin ------------------------------------------------------------------------------------------------

# The caller's identity and the origin secret would cross the network in clear text.
run "public_plain_http" {
  command = plan
  variables { integration = { type = "HTTP_PROXY", uri = "http://api.internal.stag.foo.example.com" } }
  expect_failures = [var.integration]
}

# 127.0.0.1 is loopback; 128.0.0.1 and a name that merely starts with "localhost" are not.
run "plain_http_to_a_lookalike_of_localhost" {
  command = plan
  variables { integration = { type = "HTTP_PROXY", uri = "http://localhost.example.com:8080/" } }
  expect_failures = [var.integration]
}

# -- Lambda ----------------------------------------------------------------------------------------------------

# The minimal Lambda call: forward_caller_identity left unset follows the integration (nothing to forward).
run "minimal_lambda_integration_plans" {
  command = plan
  variables {
    integration = { type = "AWS_PROXY", uri = "arn:aws:lambda:ap-northeast-1:111111111111:function:server" }
  }

  assert {
    condition     = aws_apigatewayv2_integration.this.request_parameters == null
    error_message = "a Lambda integration forwards no headers: ${jsonencode(aws_apigatewayv2_integration.this.request_parameters)}"
  }
}

# A Lambda function reads the caller from requestContext.authorizer.iam; an explicit true is refused.
run "lambda_with_forward_caller_identity" {
  command = plan
  variables {
    integration             = { type = "AWS_PROXY", uri = "arn:aws:lambda:ap-northeast-1:111111111111:function:server" }
    forward_caller_identity = true
  }
  expect_failures = [var.forward_caller_identity]
}
