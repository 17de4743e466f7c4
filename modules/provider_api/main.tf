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

  # What the gateway verified, overwritten so that a client cannot send its own:
  # - x-caller-arn: the invoke role session, arn:aws:sts::<this account>:assumed-role/<invoke role>/<session>, whose
  #   session name starts with the consumer's account id (the trust policy binds it: see iam.tf);
  # - x-caller-user-id: "<role id>:<session name>" (aws:userid), which names the session's payload prefixes;
  # - x-route-key: the route API Gateway selected and authorized, so that the API server can refuse a request its
  #   own router would send elsewhere (a decoded %2F, a dot segment).
  # No x-caller-account-id: $context.identity.accountId is this (the provider's) account, since the caller is a role
  # of this account. null follows the integration: a Lambda function reads all of it from its event.
  forward_caller_identity = coalesce(var.forward_caller_identity, !local.is_lambda)
  identity_headers = local.forward_caller_identity ? {
    "overwrite:header.x-caller-arn"     = "$context.identity.userArn"
    "overwrite:header.x-caller-user-id" = "$context.identity.user"
    "overwrite:header.x-route-key"      = "$context.routeKey"
  } : {}

  # Connection: a VPC link (an existing one, or the one this module creates) makes the integration private.
  uses_vpc_link = var.integration.vpc_link_id != null || var.integration.vpc_link != null
  vpc_link_id   = var.integration.vpc_link != null ? aws_apigatewayv2_vpc_link.this[0].id : var.integration.vpc_link_id

  # The origin secret: every HTTP_PROXY integration over the internet (a loopback URL included) carries it, so
  # that the API server can refuse what did not come through the gateway. A VPC link integration is private.
  origin_sealed  = !local.is_lambda && !local.uses_vpc_link
  origin_secret  = local.origin_sealed ? terraform_data.origin_secret[0].output : null
  origin_headers = local.origin_sealed ? { "overwrite:header.${var.origin_verify_header}" = sensitive(local.origin_secret) } : {}

  request_parameters = local.is_lambda ? {} : merge(local.path_mapping, local.identity_headers, local.origin_headers)
}

# The origin secret, made with built-in functions only (no random provider offline): sha256 over two random
# UUIDs (uuid() draws from the OS's CSPRNG), 256 bits shown as 64 hex digits. uuid() is new at every plan, so the
# input is ignored after creation: the value stays until origin_secret_version changes (see README, "Rotating the
# origin secret").
resource "terraform_data" "origin_secret" {
  count = local.origin_sealed ? 1 : 0

  input            = sha256("${uuid()}/${uuid()}")
  triggers_replace = [var.origin_secret_version]

  lifecycle {
    ignore_changes = [input]
  }
}

# A VPC link into the API server's VPC, when integration.vpc_link asks for one ("Working with VPC links for HTTP
# APIs"). With integration.vpc_link_id an existing link is used instead.
resource "aws_apigatewayv2_vpc_link" "this" {
  count = var.integration.vpc_link != null ? 1 : 0

  name               = var.name
  subnet_ids         = var.integration.vpc_link.subnet_ids
  security_group_ids = var.integration.vpc_link.security_group_ids
  tags               = var.tags
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
  connection_type        = local.uses_vpc_link ? "VPC_LINK" : "INTERNET"
  connection_id          = local.uses_vpc_link ? local.vpc_link_id : null
  request_parameters     = length(local.request_parameters) > 0 ? local.request_parameters : null

  # Private integrations speak HTTP unless a server name to verify is given; then HTTPS to that name.
  dynamic "tls_config" {
    for_each = var.integration.tls_server_name == null ? [] : [var.integration.tls_server_name]
    content {
      server_name_to_verify = tls_config.value
    }
  }
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
      format          = local.access_log_format
    }
  }

  # Routes must exist before the auto-deployed stage serves them.
  depends_on = [aws_apigatewayv2_route.this]
}

# AWS_PROXY: let this API's stage (and nothing else) invoke the function. The source ARN is
# <execution_arn>/<stage>/<method>/<path>: scoped to the stage, any route of it.
resource "aws_lambda_permission" "api" {
  count = local.is_lambda ? 1 : 0

  statement_id  = "AllowInvokeFromApi-${aws_apigatewayv2_api.this.id}"
  action        = "lambda:InvokeFunction"
  function_name = regex("^(arn:[^:]+:lambda:[^:]+:[0-9]{12}:function:[^:]+)", var.integration.uri)[0]
  qualifier     = try(regex("^arn:[^:]+:lambda:[^:]+:[0-9]{12}:function:[^:]+:([^:]+)$", var.integration.uri)[0], null)
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.this.execution_arn}/${var.stage_name}/*"
}
