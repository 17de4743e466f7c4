output "api_id" {
  description = "Id of the HTTP API."
  value       = aws_apigatewayv2_api.this.id
}

output "api_endpoint" {
  description = "Default execute-api endpoint (https://<api_id>.execute-api.<region>.amazonaws.com)."
  value       = aws_apigatewayv2_api.this.api_endpoint
}

output "execution_arn" {
  description = "execute-api ARN prefix of the API (arn:aws:execute-api:<region>:<account>:<api_id>)."
  value       = aws_apigatewayv2_api.this.execution_arn
}

output "stage_name" {
  description = "Name of the stage that serves the API."
  value       = aws_apigatewayv2_stage.this.name
}

output "invoke_url" {
  description = "URL consumers call: https://<domain>/ with a custom domain, the stage's execute-api URL otherwise."
  value       = var.domain == null ? aws_apigatewayv2_stage.this.invoke_url : "https://${var.domain.name}/"
}

output "invoke_role_arns" {
  description = "Invoke role name => ARN. Each consumer needs the ARN of its role(s)."
  value       = { for name, role in aws_iam_role.invoke : name => role.arn }
}

output "access_log_group_name" {
  description = "CloudWatch log group of the access log (null when disabled)."
  value       = var.access_log.enabled ? aws_cloudwatch_log_group.access[0].name : null
}

output "consumer_config" {
  description = <<-EOT
    The provider's overview of every consumer, in one object (no secret; external ids are not included). It names
    every consumer's accounts, roles and routes: do not send it to a consumer team, send it consumer_configs["<its
    account id>"] instead. trusted_principals: invoke role => the consumer role ARNs its trust policy names.
    role_session_name_prefix: invoke role => consumer account => the prefix every RoleSessionName must have when a
    role of that account assumes the invoke role ("<your account id>-", e.g. "222222222222-xacct-worker"); the
    trust policy refuses any other name. The xacct client picks such a name by itself. expires: invoke role => when its
    grant ends (RFC 3339; null: never), which xacct access report --expect compares.
  EOT
  value = {
    region               = data.aws_region.current.name
    invoke_url           = var.domain == null ? aws_apigatewayv2_stage.this.invoke_url : "https://${var.domain.name}/"
    invoke_role_arns     = { for name, role in aws_iam_role.invoke : name => role.arn }
    allowed_routes       = { for name, r in var.invoke_roles : name => r.allowed_routes }
    external_id_required = { for name, r in var.invoke_roles : name => r.external_id != null }
    trusted_principals   = { for name, r in var.invoke_roles : name => r.trusted_role_arns }
    payload_bucket       = local.payloads_enabled ? aws_s3_bucket.payloads[0].id : null
    expires              = local.grant_ends
    role_session_name_prefix = {
      for name, accounts in local.consumer_accounts : name => { for account in accounts : account => "${account}-" }
    }
  }
}

output "consumer_configs" {
  description = <<-EOT
    What each consumer team needs, keyed by its AWS account id, holding only that account's own grants: send
    consumer_configs["<account id>"] to that team (no secret, no external id, nothing of other consumers). Fields:
    region, invoke_url, payload_bucket, and invoke_roles: invoke role => { arn, allowed_routes, external_id_required,
    your_role_arns (this account's roles the trust names), role_session_name_prefix ("<account id>-") }.
  EOT
  value = {
    for account in distinct(flatten(values(local.consumer_accounts))) : account => {
      region         = data.aws_region.current.name
      invoke_url     = var.domain == null ? aws_apigatewayv2_stage.this.invoke_url : "https://${var.domain.name}/"
      payload_bucket = local.payloads_enabled ? aws_s3_bucket.payloads[0].id : null
      invoke_roles = {
        for name, r in var.invoke_roles : name => {
          arn                      = aws_iam_role.invoke[name].arn
          allowed_routes           = r.allowed_routes
          external_id_required     = r.external_id != null
          your_role_arns           = [for arn in r.trusted_role_arns : arn if try(regex(":iam::([0-9]{12}):", arn)[0], "") == account]
          role_session_name_prefix = "${account}-"
        } if contains(local.consumer_accounts[name], account)
      }
    }
  }
}

output "origin_secret" {
  description = <<-EOT
    The value the gateway sends in the origin_verify_header to an API server reached over the internet (null with a
    VPC link or Lambda). Give it to the API server only; never to consumers.
  EOT
  value       = local.origin_secret
  sensitive   = true
}

output "origin_verify_header" {
  description = "Name of the header that carries origin_secret (null when the integration needs none)."
  value       = local.origin_sealed ? var.origin_verify_header : null
}

output "vpc_link_id" {
  description = "Id of the VPC link the integration goes through (the one created here, or integration.vpc_link_id); null over the internet."
  value       = local.uses_vpc_link ? local.vpc_link_id : null
}

output "payload_bucket" {
  description = "Name of the payload hand-off bucket (large_payloads; null when disabled). Also in consumer_config."
  value       = local.payloads_enabled ? aws_s3_bucket.payloads[0].id : null
}

output "payload_server_policy_json" {
  description = <<-EOT
    IAM policy document (JSON) the API server's role needs for the payload hand-off: s3:GetObject on request/*,
    s3:PutObject and s3:AbortMultipartUpload on response/* (null when large_payloads is disabled). Attach it to the
    server's role.
  EOT
  value       = local.payload_server_policy
}
