"""S3 authorization in the local AWS: may this caller make this S3 call on this bucket or object?

moto's S3 authorizes nothing (its IAM check is off in server mode), so the payload hand-off's promise - an invoke
role reads and writes only its own prefix - would hold only in real AWS. This module decides as S3 does, with the
one policy engine (``xacct.iam``):

- the S3 operation from the request's method, path and query ("Required permissions for Amazon S3 API
  operations", AmazonS3/latest/userguide/using-with-s3-policy-actions.html; "Multipart upload and permissions",
  mpuoverview.html): PutObject, CreateMultipartUpload, UploadPart and CompleteMultipartUpload need
  ``s3:PutObject``; GetObject and HeadObject ``s3:GetObject``; AbortMultipartUpload ``s3:AbortMultipartUpload``;
  ListParts ``s3:ListMultipartUploadParts``; ListObjects(V2) and HeadBucket ``s3:ListBucket``; CopyObject also
  ``s3:GetObject`` on its source. An S3 call not in the table is answered 501 NotImplemented for any caller but
  the bucket account's root: the local AWS does not guess a permission it has not looked up;
- the decision by "Policy evaluation logic" and "Cross-account policy evaluation logic" (IAM User Guide), made
  by the one decision of the project, ``xacct.iam.decide``, with the bucket policy as the resource-based policy;
- the refusal in S3's REST error shape ("Error responses", AmazonS3/latest/API/ErrorResponses.html): 403,
  ``application/xml``, ``<Error><Code>AccessDenied</Code>...``; within one account with the added context S3 gives
  there ("Troubleshoot access denied (403 Forbidden) errors in Amazon S3", troubleshoot-403-errors.html:
  ``User: <arn> is not authorized to perform: <action> on resource: "<arn>" because ...``), across accounts the
  plain "Access Denied".

Local conventions: the root credentials of the bucket's account are not checked (as everywhere in the local AWS,
root plays the account); ``aws:SecureTransport`` is true for requests that reach the local AWS over loopback
(its plain-HTTP loopback endpoint stands in for S3's HTTPS endpoint - see docs/local-aws.md's "not emulated" list) and
for https, false for plain HTTP from another machine. Not emulated: ACLs (the hand-off bucket enforces bucket
ownership, which turns them off), S3-specific condition keys (``s3:prefix``, ``s3:x-amz-*``: absent from the
request context), access points, VPC endpoint policies, SCPs, Object Lock.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, unquote
from xml.sax.saxutils import escape

from moto.s3.models import s3_backends

from xacct.iam import Policies, Request, Requester
from xacct.iam import decide as xacct_decide
from xacct.local.identity import Caller, identity_policies, permissions_boundary, requester
from xacct.local.request_context import principal_keys, request_keys

Context = dict[str, str | list[str]]


@dataclass(frozen=True)
class S3Call:
    """One S3 request as IAM sees it: the operation's name, and each (action, resource ARN) it needs."""

    operation: str
    bucket: str
    key: str | None
    needs: tuple[tuple[str, str], ...]


class NotAuthorizable(Exception):
    """An S3 call the local AWS has no permission mapping for (answered 501 to any caller but the bucket's root)."""

    def __init__(self, operation: str) -> None:
        super().__init__(operation)
        self.operation = operation


def _arn(bucket: str, key: str | None = None) -> str:
    return f"arn:aws:s3:::{bucket}" if key is None else f"arn:aws:s3:::{bucket}/{key}"


_S3_HOST_SUFFIXES = (".s3.amazonaws.com",)


def bucket_and_key(path: str, host: str) -> tuple[str | None, str | None]:
    """(bucket, key) of a path-style or virtual-hosted-style request (key None for a bucket call)."""
    name = host.split(":", 1)[0].lower()
    hosted: str | None = None
    if ".s3." in name and name.endswith(".amazonaws.com"):
        hosted = name.split(".s3.", 1)[0]
    elif name.endswith(_S3_HOST_SUFFIXES):
        hosted = name[: -len(_S3_HOST_SUFFIXES[0])]
    if hosted:
        return hosted, unquote(path.lstrip("/")) or None
    parts = path.lstrip("/").split("/", 1)
    if not parts[0]:
        return None, None
    bucket = unquote(parts[0])
    key = unquote(parts[1]) if len(parts) > 1 and parts[1] else None
    return bucket, key


# Object subresources: (method, subresource) -> (operation, action).
_OBJECT_SUBRESOURCES: dict[tuple[str, str], tuple[str, str]] = {
    ("GET", "tagging"): ("GetObjectTagging", "s3:GetObjectTagging"),
    ("PUT", "tagging"): ("PutObjectTagging", "s3:PutObjectTagging"),
    ("DELETE", "tagging"): ("DeleteObjectTagging", "s3:DeleteObjectTagging"),
    ("GET", "acl"): ("GetObjectAcl", "s3:GetObjectAcl"),
    ("PUT", "acl"): ("PutObjectAcl", "s3:PutObjectAcl"),
    ("GET", "attributes"): ("GetObjectAttributes", "s3:GetObjectAttributes"),
}
# Bucket calls: (method, subresource or "") -> (operation, action).
_BUCKET_CALLS: dict[tuple[str, str], tuple[str, str]] = {
    ("GET", ""): ("ListObjects", "s3:ListBucket"),
    ("HEAD", ""): ("HeadBucket", "s3:ListBucket"),
    ("GET", "uploads"): ("ListMultipartUploads", "s3:ListBucketMultipartUploads"),
    ("GET", "versions"): ("ListObjectVersions", "s3:ListBucketVersions"),
    ("GET", "location"): ("GetBucketLocation", "s3:GetBucketLocation"),
    ("GET", "policy"): ("GetBucketPolicy", "s3:GetBucketPolicy"),
    ("PUT", "policy"): ("PutBucketPolicy", "s3:PutBucketPolicy"),
    ("DELETE", "policy"): ("DeleteBucketPolicy", "s3:DeleteBucketPolicy"),
    ("DELETE", ""): ("DeleteBucket", "s3:DeleteBucket"),
}
# Query parameters that are not subresources (they do not change the operation).
_PLAIN_PARAMETERS = frozenset(
    {
        "list-type",
        "prefix",
        "delimiter",
        "max-keys",
        "continuation-token",
        "start-after",
        "encoding-type",
        "fetch-owner",
        "marker",
        "key-marker",
        "upload-id-marker",
        "max-uploads",
        "version-id-marker",
        "partNumber",
        "uploadId",
        "versionId",
        "x-id",
        "max-parts",
        "part-number-marker",
    }
)


def s3_call(method: str, path: str, raw_query: str, headers: Mapping[str, str]) -> S3Call | None:
    """The S3 call a request makes (None for ListBuckets and other calls on no bucket); NotAuthorizable when
    the local AWS has no permission mapping for it."""
    bucket, key = bucket_and_key(path, headers.get("host", ""))
    if bucket is None:
        return None
    params = dict(parse_qsl(raw_query, keep_blank_values=True))
    params = {k: v for k, v in params.items() if not k.startswith("X-Amz-")}  # a query-string signature
    subresources = sorted(k for k in params if k not in _PLAIN_PARAMETERS)
    if key is None:
        if len(subresources) > 1:
            raise NotAuthorizable(f"{method} bucket ?{'&'.join(subresources)}")
        found = _BUCKET_CALLS.get((method, subresources[0] if subresources else ""))
        if found is None:
            raise NotAuthorizable(f"{method} bucket" + (f" ?{subresources[0]}" if subresources else ""))
        return S3Call(found[0], bucket, None, ((found[1], _arn(bucket)),))
    target = _arn(bucket, key)
    if "uploadId" in params and not subresources:
        by_method = {
            "PUT": ("UploadPart", "s3:PutObject"),
            "POST": ("CompleteMultipartUpload", "s3:PutObject"),
            "DELETE": ("AbortMultipartUpload", "s3:AbortMultipartUpload"),
            "GET": ("ListParts", "s3:ListMultipartUploadParts"),
        }
        if method not in by_method:
            raise NotAuthorizable(f"{method} object ?uploadId")
        operation, action = by_method[method]
        return S3Call(operation, bucket, key, ((action, target),))
    if subresources == ["uploads"] and method == "POST":
        return S3Call("CreateMultipartUpload", bucket, key, (("s3:PutObject", target),))
    if subresources:
        found = _OBJECT_SUBRESOURCES.get((method, subresources[0])) if len(subresources) == 1 else None
        if found is None:
            raise NotAuthorizable(f"{method} object ?{'&'.join(subresources)}")
        return S3Call(found[0], bucket, key, ((found[1], target),))
    versioned = "versionId" in params
    if method in ("GET", "HEAD"):
        action = "s3:GetObjectVersion" if versioned else "s3:GetObject"
        return S3Call("GetObject" if method == "GET" else "HeadObject", bucket, key, ((action, target),))
    if method == "PUT":
        source = headers.get("x-amz-copy-source")
        if source:
            source_path = unquote(source.split("?", 1)[0]).lstrip("/")
            return S3Call(
                "CopyObject", bucket, key, (("s3:PutObject", target), ("s3:GetObject", f"arn:aws:s3:::{source_path}"))
            )
        return S3Call("PutObject", bucket, key, (("s3:PutObject", target),))
    if method == "DELETE":
        action = "s3:DeleteObjectVersion" if versioned else "s3:DeleteObject"
        return S3Call("DeleteObject", bucket, key, ((action, target),))
    raise NotAuthorizable(f"{method} object")


# -- moto's own check ------------------------------------------------------------------------------------------


def take_over_from_moto() -> None:
    """Turn off moto's own bucket-policy check on object calls (``FakeBucket.get_permission``).

    moto evaluates a bucket policy on object calls with its own evaluator, which ignores Principal and Condition:
    a TLS-only policy (Deny "*" s3:* when aws:SecureTransport is false) then refuses every call, root's included,
    with an empty 403. This module decides instead, for every signed and unsigned S3 call, before moto runs; a call
    that reaches moto was allowed here, so moto's check answers "permitted" from here on ("neutral" made moto refuse
    an unsigned GET a bucket policy allows, by the object's ACL: issue 21). Idempotent; this process's moto only.
    """
    from moto.iam.access_control import PermissionResult
    from moto.s3.models import FakeBucket

    def decided_here(_bucket: FakeBucket, _action: str, _resource: str) -> Any:
        return PermissionResult.PERMITTED

    FakeBucket.get_permission = decided_here  # type: ignore[method-assign,assignment]


# -- whose bucket, and what its policy says ---------------------------------------------------------------------


def bucket_owner(bucket: str) -> str | None:
    """The account that owns ``bucket`` in moto (None: no such bucket; S3 answers NoSuchBucket)."""
    found: tuple[str, str] | None = s3_backends.bucket_accounts.get(bucket)
    return found[1] if found else None


def bucket_policy(bucket: str, account_id: str) -> str | None:
    backend: Any = s3_backends[account_id]["aws"]
    fake = backend.buckets.get(bucket)
    policy = getattr(fake, "policy", None) if fake is not None else None
    if not policy:
        return None
    return policy.decode() if isinstance(policy, bytes) else str(policy)


# -- the decision -------------------------------------------------------------------------------------------------


def request_context(
    caller: Caller, now: datetime, *, bucket_account: str, source_ip: str | None, region: str | None, secure: bool
) -> Context:
    return principal_keys(caller) | request_keys(
        now, source_ip=source_ip, region=region, secure_transport=secure, resource_account=bucket_account
    )


@dataclass(frozen=True)
class Refused:
    """Why a call is refused: the action and resource, and the reason as S3 words it within one account."""

    action: str
    resource: str
    reason: str


def decide(caller: Caller, bucket_account: str, policy: str | None, call: S3Call, context: Context) -> Refused | None:
    """None when every (action, resource) the call needs is allowed; the first refusal otherwise.

    The one decision (``xacct.iam.decide``); the bucket's account root is not checked (the local convention).
    """
    who = requester(caller)
    policies = Policies(identity_policies(caller), permissions_boundary(caller), caller.session_policy, policy)
    for action, resource in call.needs:
        result = xacct_decide(Request(who, action, resource, bucket_account, context), policies)
        if not result.allowed:
            return Refused(action, resource, result.reason)
    return None


def access_denied_xml(caller: Caller, refused: Refused, same_account: bool) -> bytes:
    """S3's AccessDenied body: with the added context within one account, "Access Denied" across accounts."""
    if same_account:
        message = (
            f"User: {caller.arn} is not authorized to perform: {refused.action} on resource: "
            f'"{refused.resource}" {refused.reason.replace("the action", f"the {refused.action} action")}'
        )
    else:
        message = "Access Denied"
    request_id = uuid.uuid4().hex[:16].upper()
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>AccessDenied</Code><Message>{escape(message)}</Message>"
        f"<RequestId>{request_id}</RequestId><HostId>{uuid.uuid4().hex}</HostId></Error>"
    ).encode()


def anonymous_allowed(policy: str | None, call: S3Call, context: Context) -> bool:
    """An anonymous call: only bucket policy statements naming ``"*"`` can allow it, with the request's own context
    keys (``aws:SecureTransport``, ``aws:SourceIp``, ``aws:CurrentTime``...; no principal keys)."""
    who = Requester("anonymous")
    policies = Policies(resource=policy)
    return all(
        xacct_decide(Request(who, action, resource, None, context), policies).allowed for action, resource in call.needs
    )


def anonymous_denied_xml() -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<Error><Code>AccessDenied</Code><Message>Access Denied</Message>"
        f"<RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId><HostId>{uuid.uuid4().hex}</HostId></Error>"
    ).encode()


def not_implemented_xml(operation: str) -> bytes:
    message = (
        f"The local AWS does not authorize this S3 call ({operation}) for anyone but the bucket account's root: "
        "it has no permission mapping for it (see xacct.local.s3_authz)"
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>NotImplemented</Code><Message>{escape(message)}</Message>"
        f"<RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId></Error>"
    ).encode()
