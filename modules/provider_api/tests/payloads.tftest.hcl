# large_payloads: the hand-off bucket, its policies, and what each invoke role and the API server may do in it.
# Each run changes one thing of the valid `variables` (see plan.tftest.hcl); tests/test_validation.py checks each
# failure's message (the rule and the offending value).
mock_provider "aws" {}

# The bucket's ARN and name are known at plan here, so that the runs below can read the policies.
override_resource {
  target          = aws_s3_bucket.payloads
  override_during = plan
  values = {
    id     = "server-stag-payloads-20260101000000000000000001"
    arn    = "arn:aws:s3:::server-stag-payloads-20260101000000000000000001"
    bucket = "server-stag-payloads-20260101000000000000000001"
  }
}

variables {
  name        = "server-stag"
  integration = { type = "HTTP_PROXY", uri = "https://api.internal.stag.foo.example.com" }
  invoke_roles = {
    ApiAllowByIamRoleStag = { trusted_role_arns = ["arn:aws:iam::222222222222:role/LambdaRoleDeve"] }
    ApiAllowOther         = { trusted_role_arns = ["arn:aws:iam::333333333333:role/Other"] }
  }
  large_payloads = { enabled = true }
}

run "disabled_by_default_creates_nothing" {
  command = plan
  variables { large_payloads = { enabled = false } }

  assert {
    condition     = length(aws_s3_bucket.payloads) == 0 && length(aws_iam_role_policy.payloads) == 0
    error_message = "no bucket and no payload policy when large_payloads is disabled"
  }
  assert {
    condition     = output.payload_bucket == null && output.payload_server_policy_json == null && output.consumer_config.payload_bucket == null
    error_message = "outputs must be null when large_payloads is disabled"
  }
}

run "enabled_bucket_is_private_encrypted_tls_only_and_expires" {
  command = plan

  assert {
    condition     = aws_s3_bucket.payloads[0].bucket_prefix == "server-stag-payloads-"
    error_message = "bucket_prefix: ${aws_s3_bucket.payloads[0].bucket_prefix}"
  }
  assert {
    condition = alltrue([
      aws_s3_bucket_public_access_block.payloads[0].block_public_acls,
      aws_s3_bucket_public_access_block.payloads[0].block_public_policy,
      aws_s3_bucket_public_access_block.payloads[0].ignore_public_acls,
      aws_s3_bucket_public_access_block.payloads[0].restrict_public_buckets,
    ])
    error_message = "the public access block must block everything"
  }
  assert {
    condition     = aws_s3_bucket_ownership_controls.payloads[0].rule[0].object_ownership == "BucketOwnerEnforced"
    error_message = "object ownership must be BucketOwnerEnforced (ACLs off)"
  }
  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.payloads[0].rule).apply_server_side_encryption_by_default).sse_algorithm == "AES256"
    error_message = "default encryption must be SSE-S3"
  }
  assert {
    condition = jsondecode(aws_s3_bucket_policy.payloads[0].policy).Statement == [{
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource = [
        "arn:aws:s3:::server-stag-payloads-20260101000000000000000001",
        "arn:aws:s3:::server-stag-payloads-20260101000000000000000001/*",
      ]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
    error_message = "bucket policy: ${aws_s3_bucket_policy.payloads[0].policy}"
  }
  assert {
    condition = [for r in aws_s3_bucket_lifecycle_configuration.payloads[0].rule : [
      r.filter[0].prefix, r.expiration[0].days, r.abort_incomplete_multipart_upload[0].days_after_initiation, r.status
    ]] == [["request/", 1, 1, "Enabled"], ["response/", 1, 1, "Enabled"]]
    error_message = "lifecycle: request/ and response/ expire after 1 day, incomplete uploads are aborted after 1"
  }
  assert {
    condition     = output.consumer_config.payload_bucket == "server-stag-payloads-20260101000000000000000001"
    error_message = "consumer_config.payload_bucket: ${jsonencode(output.consumer_config.payload_bucket)}"
  }
}

run "expiration_days_is_used" {
  command = plan
  variables { large_payloads = { enabled = true, expiration_days = 7 } }

  assert {
    condition     = [for r in aws_s3_bucket_lifecycle_configuration.payloads[0].rule : r.expiration[0].days] == [7, 7]
    error_message = "expiration_days must set both rules' expiry"
  }
}

run "each_session_reaches_its_own_prefixes_only" {
  command = plan

  assert {
    condition = jsondecode(aws_iam_role_policy.payloads["ApiAllowByIamRoleStag"].policy).Statement == [
      {
        Sid      = "WriteOwnRequestBodies"
        Effect   = "Allow"
        Action   = ["s3:PutObject", "s3:AbortMultipartUpload"]
        Resource = "arn:aws:s3:::server-stag-payloads-20260101000000000000000001/request/ApiAllowByIamRoleStag/$${aws:userid}/*"
      },
      {
        Sid      = "ReadOwnResponseBodies"
        Effect   = "Allow"
        Action   = "s3:GetObject"
        Resource = "arn:aws:s3:::server-stag-payloads-20260101000000000000000001/response/ApiAllowByIamRoleStag/$${aws:userid}/*"
      },
    ]
    error_message = "payload policy: ${aws_iam_role_policy.payloads["ApiAllowByIamRoleStag"].policy}"
  }
  assert {
    condition     = strcontains(aws_iam_role_policy.payloads["ApiAllowOther"].policy, "/request/ApiAllowOther/$${aws:userid}/*") && !strcontains(aws_iam_role_policy.payloads["ApiAllowOther"].policy, "ApiAllowByIamRoleStag")
    error_message = "the other role's policy must name its own prefix only"
  }
}

run "server_policy_reads_requests_and_writes_responses" {
  command = plan

  assert {
    condition = jsondecode(output.payload_server_policy_json).Statement == [
      {
        Sid      = "ReadRequestBodies"
        Effect   = "Allow"
        Action   = "s3:GetObject"
        Resource = "arn:aws:s3:::server-stag-payloads-20260101000000000000000001/request/*"
      },
      {
        Sid      = "WriteResponseBodies"
        Effect   = "Allow"
        Action   = ["s3:PutObject", "s3:AbortMultipartUpload"]
        Resource = "arn:aws:s3:::server-stag-payloads-20260101000000000000000001/response/*"
      },
    ]
    error_message = "server policy: ${output.payload_server_policy_json}"
  }
}

run "name_without_letters_still_makes_a_valid_prefix" {
  command = plan
  variables { name = "__" }

  assert {
    condition     = aws_s3_bucket.payloads[0].bucket_prefix == "api-payloads-"
    error_message = "bucket_prefix: ${aws_s3_bucket.payloads[0].bucket_prefix}"
  }
}

run "expiration_days_zero" {
  command = plan
  variables { large_payloads = { enabled = true, expiration_days = 0 } }
  expect_failures = [var.large_payloads]
}

run "expiration_days_fraction" {
  command = plan
  variables { large_payloads = { enabled = true, expiration_days = 1.5 } }
  expect_failures = [var.large_payloads]
}
