terraform {
  # 1.10: the S3 backend's use_lockfile (see README, "Remote state").
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }

  # State is local (terraform.tfstate here) until you add the S3 backend from backend.tf.example.
}
