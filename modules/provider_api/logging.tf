locals {
  # One JSON object per request. The identity fields say which principal called; for consumers that is the
  # invoke role session (arn:aws:sts::<this account>:assumed-role/<invoke role>/<session name>).
  #
  # Forgery: API Gateway's documentation does not say that it escapes the values it writes into an access log
  # ("Customize HTTP API access logs"), and users report quotes and backslashes in caller-controlled values breaking
  # the JSON (DataBiosphere/azul#4348). So no value the caller chooses freely is logged: not
  # $context.identity.userAgent (any bytes the client sends), and nothing from $request. The path is logged as the
  # route matched it ($context.path holds only characters a URL path may carry) and it comes first, with the
  # error message: a parser that keeps the last of two equal keys then keeps the gateway's own identity, route and
  # status fields, which follow. Terraform's jsonencode sorts keys, so the format is built in this order by hand.
  access_log_fields = [
    ["path", "$context.path"],
    ["errorMessage", "$context.error.message"],
    ["requestId", "$context.requestId"],
    ["requestTime", "$context.requestTime"],
    ["httpMethod", "$context.httpMethod"],
    ["routeKey", "$context.routeKey"],
    ["protocol", "$context.protocol"],
    ["sourceIp", "$context.identity.sourceIp"],
    ["accountId", "$context.identity.accountId"],
    ["caller", "$context.identity.caller"],
    ["user", "$context.identity.user"],
    ["userArn", "$context.identity.userArn"],
    ["status", "$context.status"],
    ["responseLength", "$context.responseLength"],
    ["responseLatency", "$context.responseLatency"],
    ["integrationLatency", "$context.integrationLatency"],
    ["integrationStatus", "$context.integrationStatus"],
  ]
  access_log_format = "{${join(",", [for f in local.access_log_fields : "${jsonencode(f[0])}:${jsonencode(f[1])}"])}}"

  # Log group names allow [.-_/#A-Za-z0-9]; API names allow more.
  log_group_name = "/aws/apigateway/${replace(var.name, "/[^A-Za-z0-9._#/-]/", "-")}/access"
}

resource "aws_cloudwatch_log_group" "access" {
  #checkov:skip=CKV_AWS_338:Retention is the caller's choice (access_log.retention_in_days, 30 days by default as the product specifies); set 365+ where audit rules require a year.
  count = var.access_log.enabled ? 1 : 0

  name              = local.log_group_name
  retention_in_days = var.access_log.retention_in_days
  kms_key_id        = var.access_log.kms_key_arn
  tags              = var.tags
}
