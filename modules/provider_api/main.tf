data "aws_region" "current" {}

locals {
  is_lambda = var.integration.type == "AWS_PROXY"

  # HTTP_PROXY: how the API server's path is formed (see the integration variable's description).
  # - A URL whose path names route path variables (https://backend.example.com/{proxy} for ANY /{proxy+}): API
  #   Gateway fills them in ("Working with HTTP proxy integrations for HTTP APIs"); no path mapping is added, since
  #   overwrite:path would replace what the URI says.
  # - Any other URL: without a path mapping an HTTP API sends every request to the URI's fixed path, so the
  #   caller's path is appended to the URI's base path.
  # - A listener or Cloud Map ARN (VPC link): API Gateway would include the stage name in the path, so the path is
  #   mapped to the route path ("Working with private integrations for HTTP APIs").
  uri_has_path_variables = !local.is_lambda && can(regex(local.uri_path_var_use, var.integration.uri))
  uri_base_path          = local.is_lambda ? "" : trimsuffix(try(regex("^https?://[^/]+(/.*)$", var.integration.uri)[0], ""), "/")
  path_mapping           = local.is_lambda || local.uri_has_path_variables ? {} : { "overwrite:path" = "${local.uri_base_path}$request.path" }

  # The verified caller: the invoke role session, arn:aws:sts::<this account>:assumed-role/<invoke role>/<session>,
  # whose session name starts with the consumer's account id (the trust policy binds it: see iam.tf). Overwritten,
  # so a client cannot send its own. No x-caller-account-id: $context.identity.accountId is this (the provider's)
  # account, since the caller is a role of this account.
  identity_headers = var.forward_caller_identity ? {
    "overwrite:header.x-caller-arn" = "$context.identity.userArn"
  } : {}

  request_parameters = local.is_lambda ? {} : merge(local.path_mapping, local.identity_headers)
}

resource "aws_apigatewayv2_api" "this" {
  name          = var.name
  protocol_type = "HTTP"
  description   = "IAM-authorized HTTP API; callable only through the invoke roles of this stack."
  tags          = var.tags
}

resource "aws_apigatewayv2_integration" "this" {
  api_id                 = aws_apigatewayv2_api.this.id
  integration_type       = var.integration.type
  integration_uri        = var.integration.uri
  integration_method     = local.is_lambda ? "POST" : var.integration.method
  payload_format_version = local.is_lambda ? "2.0" : "1.0"
  timeout_milliseconds   = var.integration.timeout_ms
  connection_type        = var.integration.vpc_link_id == null ? "INTERNET" : "VPC_LINK"
  connection_id          = var.integration.vpc_link_id
  request_parameters     = length(local.request_parameters) > 0 ? local.request_parameters : null
}

resource "aws_apigatewayv2_route" "this" {
  for_each = toset(var.routes)

  api_id             = aws_apigatewayv2_api.this.id
  route_key          = each.value
  authorization_type = "AWS_IAM"
  target             = "integrations/${aws_apigatewayv2_integration.this.id}"
}

resource "aws_apigatewayv2_stage" "this" {
  api_id      = aws_apigatewayv2_api.this.id
  name        = var.stage_name
  auto_deploy = true
  tags        = var.tags

  default_route_settings {
    throttling_burst_limit = var.throttling.burst_limit
    throttling_rate_limit  = var.throttling.rate_limit
  }

  dynamic "access_log_settings" {
    for_each = var.access_log.enabled ? [1] : []
    content {
      destination_arn = aws_cloudwatch_log_group.access[0].arn
      format          = jsonencode(local.access_log_format)
    }
  }

  # Routes must exist before the auto-deployed stage serves them.
  depends_on = [aws_apigatewayv2_route.this]
}

# AWS_PROXY: let this API (and only this API) invoke the function.
resource "aws_lambda_permission" "api" {
  count = local.is_lambda ? 1 : 0

  statement_id  = "AllowInvokeFromApi-${aws_apigatewayv2_api.this.id}"
  action        = "lambda:InvokeFunction"
  function_name = regex("^(arn:[^:]+:lambda:[^:]+:[0-9]{12}:function:[^:]+)", var.integration.uri)[0]
  qualifier     = try(regex("^arn:[^:]+:lambda:[^:]+:[0-9]{12}:function:[^:]+:([^:]+)$", var.integration.uri)[0], null)
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.this.execution_arn}/*"
}
