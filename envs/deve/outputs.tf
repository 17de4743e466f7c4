output "role_arn" {
  description = "Give this to the provider team: their invoke role's trusted_role_arns."
  value       = module.consumer.role_arn
}

output "role_name" {
  description = "Name of the workload role (attach it to the Lambda function / ECS task)."
  value       = module.consumer.role_name
}
