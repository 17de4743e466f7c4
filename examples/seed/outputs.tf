output "consumer_config" {
  description = "What the workload needs: region, invoke URL, invoke role ARN."
  value       = module.api.consumer_config
}

output "workload_role_arn" {
  description = "The role the Lambda function runs as."
  value       = module.workload_role.role_arn
}
