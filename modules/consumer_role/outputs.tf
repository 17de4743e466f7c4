output "role_arn" {
  description = "ARN of the workload role: give it to the provider team for their invoke role's trusted_role_arns."
  value       = local.role_arn
}

output "role_name" {
  description = "Name of the workload role."
  value       = local.role_name
}
