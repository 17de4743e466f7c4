provider "aws" {
  region = var.region

  # Deploying from a CI account: Terraform assumes this role in the provider account first.
  dynamic "assume_role" {
    for_each = var.assume_role_arn == null ? [] : [var.assume_role_arn]
    content {
      role_arn     = assume_role.value
      session_name = "terraform-xacct-deve"
    }
  }

  default_tags {
    tags = var.tags
  }
}
