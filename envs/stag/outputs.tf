output "consumer_config" {
  description = "The provider's overview of every consumer (accounts, roles, routes): keep it; send each team consumer_configs[\"<its account id>\"]."
  value       = module.api.consumer_config
}

output "consumer_configs" {
  description = "Per consumer account id, only that account's own grants: send consumer_configs[\"<account id>\"] to that team."
  value       = module.api.consumer_configs
}

output "invoke_role_arns" {
  description = "Invoke role name => ARN (the consumers' provider_invoke_role_arns; the API server's xacct.backend invoke_roles)."
  value       = module.api.invoke_role_arns
}

output "invoke_url" {
  description = "URL consumers call."
  value       = module.api.invoke_url
}

output "api_id" {
  description = "Id of the HTTP API."
  value       = module.api.api_id
}

output "execution_arn" {
  description = "execute-api ARN prefix of the API."
  value       = module.api.execution_arn
}

output "access_log_group_name" {
  description = "CloudWatch log group with one JSON line per request."
  value       = module.api.access_log_group_name
}

output "origin_secret" {
  description = "The secret the gateway sends in origin_verify_header: configure the API server with it (terraform output -raw origin_secret). Never give it to consumers."
  value       = module.api.origin_secret
  sensitive   = true
}

output "origin_verify_header" {
  description = "Name of the header that carries origin_secret."
  value       = module.api.origin_verify_header
}

output "payload_bucket" {
  description = "The payload hand-off bucket (null unless large_payloads.enabled); consumer_config carries it too."
  value       = module.api.payload_bucket
}

output "payload_server_policy_json" {
  description = "IAM policy the API server's role needs for the payload hand-off (null unless large_payloads.enabled)."
  value       = module.api.payload_server_policy_json
}
