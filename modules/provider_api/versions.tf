terraform {
  # 1.9: validations that refer to other variables (allowed_routes must be one of routes).
  required_version = ">= 1.9"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0, < 7.0"
    }
  }
}
