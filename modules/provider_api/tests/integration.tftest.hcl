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
  variables { integration = { type = "AWS_PROXY", uri = "https://api.example.com" } }
  expect_failures = [var.integration]
}

run "lambda_with_get" {
  command = plan
  variables {
    integration = { type = "AWS_PROXY", uri = "arn:aws:lambda:ap-northeast-1:111111111111:function:server", method = "GET" }
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
