# Grants that end by themselves (invoke_roles[*].expires): IAM enforces the end (iam.tf, local.until); these checks
# only warn at plan, so that a provider sees an ended grant still in the configuration, or one about to end.
locals {
  plan_time = plantimestamp()
  warn_from = timeadd(local.plan_time, "${var.expiry_warning_days * 24}h")
  # (Terraform evaluates both sides of && : a grant without an end is compared as one that never ends.)
  never = "9999-12-31T23:59:59Z"
  grants_ended = {
    for name, end in local.grant_ends : name => end if timecmp(coalesce(end, local.never), local.plan_time) <= 0
  }
  grants_ending = {
    for name, end in local.grant_ends : name => end
    if timecmp(coalesce(end, local.never), local.plan_time) > 0 && timecmp(coalesce(end, local.never), local.warn_from) <= 0
  }
}

check "grants_ended" {
  assert {
    condition = length(local.grants_ended) == 0
    error_message = join(" ", [
      "These invoke roles' grants have ended (expires is past; IAM already refuses them):",
      "${jsonencode(local.grants_ended)}. Remove them from invoke_roles, or extend expires after a review.",
    ])
  }
}

check "grants_ending" {
  assert {
    condition = length(local.grants_ending) == 0
    error_message = join(" ", [
      "These invoke roles' grants end within ${var.expiry_warning_days} days: ${jsonencode(local.grants_ending)}.",
      "Extend expires after a review, or let them end.",
    ])
  }
}

check "someone_can_call" {
  assert {
    condition     = length(var.invoke_roles) > 0
    error_message = "invoke_roles is empty: this API has no invoke role, so nobody can call it (every route requires IAM authorization)."
  }
}
