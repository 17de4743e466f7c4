locals {
  # One JSON object per request. The identity fields say which principal called; for consumers that is the
  # invoke role session (arn:aws:sts::<this account>:assumed-role/<invoke role>/<session name>).
  access_log_format = {
    requestId          = "$context.requestId"
    requestTime        = "$context.requestTime"
    sourceIp           = "$context.identity.sourceIp"
    accountId          = "$context.identity.accountId"
    userArn            = "$context.identity.userArn"
    caller             = "$context.identity.caller"
    user               = "$context.identity.user"
    userAgent          = "$context.identity.userAgent"
    httpMethod         = "$context.httpMethod"
    path               = "$context.path"
    routeKey           = "$context.routeKey"
    status             = "$context.status"
    protocol           = "$context.protocol"
    responseLength     = "$context.responseLength"
    responseLatency    = "$context.responseLatency"
    integrationLatency = "$context.integrationLatency"
    integrationStatus  = "$context.integrationStatus"
    errorMessage       = "$context.error.message"
  }

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
