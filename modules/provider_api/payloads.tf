# The payload hand-off (large_payloads): bodies past API Gateway's 10 MB / 30 s go through one private bucket.
#
# Keys (xacct.payloads): request/<invoke role>/<aws:userid>/<32 hex> for request bodies, written by the invoke-role
# session and read by the API server; response/<invoke role>/<aws:userid>/<32 hex> for response bodies, written by
# the API server and read by that session. aws:userid of an assumed-role session is "<role id>:<session name>"
# ("IAM policy elements: Variables and tags", "Information available in all requests"), and the trust policy binds
# the session name to the consumer's account (iam.tf), so each session - and so each consumer account, even of an
# invoke role several consumer accounts share - reaches only its own prefixes: one consumer cannot read or
# overwrite another's bodies, whatever their keys. One statement per direction serves every consumer of a role,
# so the policy does not grow with the consumers. The reference that points at an object carries its length and
# SHA-256 inside the signed request, and the reader checks both.
#
# Encryption is SSE-S3, not SSE-KMS: the bodies are in transit for seconds and expire after expiration_days, every
# reader and writer is in this account, and SSE-KMS would add a key policy to keep in step with the invoke roles, a
# KMS call per part of a multipart upload (KMS request quotas) and per-request cost, for no reader it would keep out
# (anyone with s3:GetObject here would be granted kms:Decrypt too).
locals {
  payloads_enabled = var.large_payloads.enabled
  # bucket_prefix: at most 37 characters of [a-z0-9-], starting with a letter or digit; S3 adds a unique suffix.
  payloads_stem   = trim(substr(lower(replace(var.name, "/[^A-Za-z0-9]+/", "-")), 0, 26), "-")
  payloads_prefix = "${local.payloads_stem == "" ? "api" : local.payloads_stem}-payloads-"
  payloads_arn    = local.payloads_enabled ? aws_s3_bucket.payloads[0].arn : ""

  # The invoke role's policy, for this bucket and for the quota check the longest bucket ARN there can be.
  payload_policy_documents = {
    for name, r in var.invoke_roles : name => {
      for which, arn in {
        real    = local.payloads_arn
        longest = "arn:aws-us-gov:s3:::${replace(format("%63s", ""), " ", "b")}"
        } : which => jsonencode({
          Version = "2012-10-17"
          Statement = [for statement in [
            {
              Sid      = "WriteOwnRequestBodies"
              Effect   = "Allow"
              Action   = ["s3:PutObject", "s3:AbortMultipartUpload"]
              Resource = "${arn}/request/${name}/$${aws:userid}/*"
            },
            {
              Sid      = "ReadOwnResponseBodies"
              Effect   = "Allow"
              Action   = "s3:GetObject"
              Resource = "${arn}/response/${name}/$${aws:userid}/*"
            },
          ] : merge(statement, length(local.until[name]) == 0 ? {} : { Condition = local.until[name] })]
      })
    }
  }
}

resource "aws_s3_bucket" "payloads" {
  # CKV_AWS_18: server access logs would need a second bucket; every hand-off is already in the gateway's access log
  # (who, when, which route), and CloudTrail S3 data events are the account-wide record where audit rules ask for one.
  #checkov:skip=CKV_AWS_18:No second bucket for server access logs; the gateway's access log records every hand-off.
  #checkov:skip=CKV_AWS_144:Cross-region replication of bodies that live for seconds (expiring after large_payloads.expiration_days) would only copy transit data; a lost body is re-sent by the client.
  # CKV_AWS_145: SSE-S3 on purpose (see the comment at the top of this file): every reader is in this account, the
  # bodies expire in days, and SSE-KMS would add a key policy and a KMS call per multipart part.
  #checkov:skip=CKV_AWS_145:SSE-S3 on purpose: readers are all in this account; see the comment above.
  #checkov:skip=CKV_AWS_21:Versioning would keep deleted or expired bodies past the lifecycle expiry; keys are random and never overwritten.
  #checkov:skip=CKV2_AWS_62:No consumer of event notifications: the reference in the signed request tells the reader where the object is.
  count = local.payloads_enabled ? 1 : 0

  bucket_prefix = local.payloads_prefix
  # The bucket holds transit bodies only: destroying the API deletes whatever has not expired yet.
  force_destroy = true
  tags          = var.tags
}

resource "aws_s3_bucket_public_access_block" "payloads" {
  count = local.payloads_enabled ? 1 : 0

  bucket                  = aws_s3_bucket.payloads[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "payloads" {
  count = local.payloads_enabled ? 1 : 0

  bucket = aws_s3_bucket.payloads[0].id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "payloads" {
  count = local.payloads_enabled ? 1 : 0

  bucket = aws_s3_bucket.payloads[0].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "payloads" {
  count = local.payloads_enabled ? 1 : 0

  bucket = aws_s3_bucket.payloads[0].id

  dynamic "rule" {
    for_each = ["request", "response"]
    content {
      id     = "expire-${rule.value}-bodies"
      status = "Enabled"
      filter {
        prefix = "${rule.value}/"
      }
      expiration {
        days = var.large_payloads.expiration_days
      }
      abort_incomplete_multipart_upload {
        days_after_initiation = 1
      }
    }
  }
}

resource "aws_s3_bucket_policy" "payloads" {
  count = local.payloads_enabled ? 1 : 0

  bucket = aws_s3_bucket.payloads[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = [aws_s3_bucket.payloads[0].arn, "${aws_s3_bucket.payloads[0].arn}/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
  })

  # "The specified bucket policy grants public access" is refused while the public access block is being set.
  depends_on = [aws_s3_bucket_public_access_block.payloads]
}

resource "aws_iam_role_policy" "payloads" {
  for_each = local.payloads_enabled ? var.invoke_roles : {}

  name   = "PayloadHandoff"
  role   = aws_iam_role.invoke[each.key].id
  policy = local.payload_policy_documents[each.key].real

  lifecycle {
    # IAM's quota covers a role's inline policies together: this one and InvokeApi (iam.tf).
    precondition {
      condition = (
        local.invoke_policy_size[each.key].length + length(local.payload_policy_documents[each.key].longest)
        <= local.inline_policy_quota
      )
      error_message = join(" ", [
        "The inline policies of invoke role ${each.key} would be up to",
        "${local.invoke_policy_size[each.key].length + length(local.payload_policy_documents[each.key].longest)} characters",
        "(InvokeApi ${local.invoke_policy_size[each.key].length}, PayloadHandoff",
        "${length(local.payload_policy_documents[each.key].longest)}), over IAM's quota of ${local.inline_policy_quota}",
        "characters for a role's inline policies. Split its allowed_routes over several invoke_roles entries.",
      ])
    }
  }
}

locals {
  # What the API server's role needs: read request bodies, write response bodies, of every invoke role.
  payload_server_policy = local.payloads_enabled ? jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ReadRequestBodies"
        Effect   = "Allow"
        Action   = "s3:GetObject"
        Resource = "${local.payloads_arn}/request/*"
      },
      {
        Sid      = "WriteResponseBodies"
        Effect   = "Allow"
        Action   = ["s3:PutObject", "s3:AbortMultipartUpload"]
        Resource = "${local.payloads_arn}/response/*"
      },
    ]
  }) : null
}
