# Bad routes, stage, throttling, access log and domain settings fail at plan. Each run changes one thing of the
# valid `variables` (see plan.tftest.hcl); tests/test_validation.py checks each failure's message.
mock_provider "aws" {}

variables {
  name         = "server-stag"
  integration  = { type = "HTTP_PROXY", uri = "https://api.internal.stag.foo.example.com" }
  invoke_roles = { ApiAllowByIamRoleStag = { trusted_role_arns = ["arn:aws:iam::222222222222:role/LambdaRoleDeve"] } }
}

run "name_too_long" {
  command = plan
  variables { name = replace(format("%129s", ""), " ", "a") }
  expect_failures = [var.name]
}

# -- routes ---------------------------------------------------------------------------------------------------

run "no_routes" {
  command = plan
  variables { routes = [] }
  expect_failures = [var.routes]
}

run "malformed_route_key" {
  command = plan
  variables { routes = ["GET hoge"] }
  expect_failures = [var.routes]
}

run "greedy_not_last" {
  command = plan
  variables { routes = ["ANY /{proxy+}/tail"] }
  expect_failures = [var.routes]
}

run "bad_http_method" {
  command = plan
  variables { routes = ["FETCH /hoge"] }
  expect_failures = [var.routes]
}

run "repeated_route" {
  command = plan
  variables { routes = ["GET /items", "GET /items"] }
  expect_failures = [var.routes]
}

# -- stage ----------------------------------------------------------------------------------------------------

run "stage_name_with_space" {
  command = plan
  variables { stage_name = "v 1" }
  expect_failures = [var.stage_name]
}

run "burst_zero" {
  command = plan
  variables { throttling = { burst_limit = 0 } }
  expect_failures = [var.throttling]
}

run "rate_negative" {
  command = plan
  variables { throttling = { rate_limit = -1 } }
  expect_failures = [var.throttling]
}

run "log_retention_not_a_cloudwatch_value" {
  command = plan
  variables { access_log = { retention_in_days = 31 } }
  expect_failures = [var.access_log]
}

run "log_kms_key_not_a_key_arn" {
  command = plan
  variables { access_log = { kms_key_arn = "alias/aws/logs" } }
  expect_failures = [var.access_log]
}

# -- custom domain --------------------------------------------------------------------------------------------

run "domain_name_upper_case" {
  command = plan
  variables {
    domain = { name = "API.example.com", certificate_arn = "arn:aws:acm:ap-northeast-1:111111111111:certificate/abc-123" }
  }
  expect_failures = [var.domain]
}

run "domain_certificate_not_acm" {
  command = plan
  variables {
    domain = { name = "api.example.com", certificate_arn = "arn:aws:iam::111111111111:server-certificate/api" }
  }
  expect_failures = [var.domain]
}

run "domain_zone_given_by_name" {
  command = plan
  variables {
    domain = {
      name            = "api.example.com"
      certificate_arn = "arn:aws:acm:ap-northeast-1:111111111111:certificate/abc-123"
      route53_zone_id = "example.com"
    }
  }
  expect_failures = [var.domain]
}

# -- the origin secret -----------------------------------------------------------------------------------------

run "origin_header_upper_case" {
  command = plan
  variables { origin_verify_header = "X-Origin-Verify" }
  expect_failures = [var.origin_verify_header]
}

# API Gateway reserves x-amz-* (and rewrites x-forwarded-*); x-caller-* are the identity headers.
run "origin_header_reserved" {
  command = plan
  variables { origin_verify_header = "x-amzn-origin" }
  expect_failures = [var.origin_verify_header]
}

run "origin_secret_version_zero" {
  command = plan
  variables { origin_secret_version = 0 }
  expect_failures = [var.origin_secret_version]
}
