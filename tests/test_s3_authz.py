"""The local AWS authorizes S3 calls by role sessions and IAM users as S3 does.

AWS documentation behind each expectation:
- "Policy evaluation logic" and "Cross-account policy evaluation logic" (IAM User Guide,
  reference_policies_evaluation-logic.html, reference_policies_evaluation-logic-cross-account.html): an explicit
  Deny wins; within one account the identity policy or the bucket policy may allow; across accounts both must;
- "Required permissions for Amazon S3 API operations" (AmazonS3/latest/userguide/using-with-s3-policy-actions.html)
  and "Multipart upload and permissions" (mpuoverview.html): which action each call needs;
- "Error responses" (AmazonS3/latest/API/ErrorResponses.html): 403, application/xml, <Error><Code>AccessDenied;
  "Troubleshoot access denied (403 Forbidden) errors in Amazon S3" (userguide/troubleshoot-403-errors.html):
  within one account the message says who, which action, which resource and why;
- "AWS global condition context keys" (aws:SecureTransport) with the local AWS's convention: its loopback
  endpoint stands for S3's HTTPS endpoint (docs/local-aws.md, "not emulated").
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from xacct.local import LocalAws
from xacct.local.request_context import is_secure
from xacct.local.s3_authz import NotAuthorizable, s3_call
from xacct.local.stacks import REGION, trust

TLS_ONLY = {
    "Sid": "DenyInsecureTransport",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def own_prefix_policy(bucket: str, role: str) -> str:
    """What modules/provider_api (payloads.tf) gives an invoke role."""
    return policy(
        {
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:AbortMultipartUpload"],
            "Resource": f"arn:aws:s3:::{bucket}/request/{role}/*",
        },
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/response/{role}/*"},
    )


class Setup:
    def __init__(self, aws: LocalAws, account: str, bucket: str) -> None:
        self.aws, self.account, self.bucket = aws, account, bucket
        self.root = aws.client("s3", account)

    def role(self, name: str, document: str | None = None, *, config: Config | None = None) -> Any:
        """A session (S3 client) of a new role in self.account with this inline policy."""
        iam = self.aws.client("iam", self.account)
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust(service=True))
        if document is not None:
            iam.put_role_policy(RoleName=name, PolicyName="s3", PolicyDocument=document)
        return self.aws.workload_session(f"arn:aws:iam::{self.account}:role/{name}").client("s3", config=config)


@pytest.fixture
def setup(local_aws: LocalAws, new_account: Callable[[], str]) -> Setup:
    account = new_account()
    bucket = f"authz-{account}"
    local_aws.client("s3", account).create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    return Setup(local_aws, account, bucket)


def refused(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call()
    response: dict[str, Any] = caught.value.response
    return response


def test_a_role_reads_and_writes_its_own_prefix_and_not_another_roles(setup: Setup) -> None:
    a = setup.role("InvokeA", own_prefix_policy(setup.bucket, "InvokeA"))
    setup.role("InvokeB", own_prefix_policy(setup.bucket, "InvokeB"))
    a.put_object(Bucket=setup.bucket, Key="request/InvokeA/-/1", Body=b"mine")
    setup.root.put_object(Bucket=setup.bucket, Key="response/InvokeA/-/1", Body=b"for a")
    setup.root.put_object(Bucket=setup.bucket, Key="response/InvokeB/-/1", Body=b"for b")
    assert a.get_object(Bucket=setup.bucket, Key="response/InvokeA/-/1")["Body"].read() == b"for a"
    assert a.head_object(Bucket=setup.bucket, Key="response/InvokeA/-/1")["ContentLength"] == 5

    denied = refused(lambda: a.get_object(Bucket=setup.bucket, Key="response/InvokeB/-/1"))
    assert denied["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert denied["Error"]["Code"] == "AccessDenied"
    session_arn = f"arn:aws:sts::{setup.account}:assumed-role/InvokeA/workload"
    assert denied["Error"]["Message"] == (
        f"User: {session_arn} is not authorized to perform: s3:GetObject on resource: "
        f'"arn:aws:s3:::{setup.bucket}/response/InvokeB/-/1" '
        "because no identity-based policy allows the s3:GetObject action"
    )
    # Writing into another role's prefix, or reading its own request bodies (the server's job): refused too.
    assert (
        refused(lambda: a.put_object(Bucket=setup.bucket, Key="request/InvokeB/-/2", Body=b"x"))["Error"]["Code"]
        == "AccessDenied"
    )
    assert refused(lambda: a.get_object(Bucket=setup.bucket, Key="request/InvokeA/-/1"))["Error"]["Code"] == (
        "AccessDenied"
    )
    assert refused(lambda: a.list_objects_v2(Bucket=setup.bucket))["Error"]["Code"] == "AccessDenied"


def test_the_refusal_is_s3s_xml(setup: Setup, local_aws: LocalAws) -> None:
    """ "Error responses": Content-Type application/xml and <Error><Code>AccessDenied</Code>... (raw HTTP)."""
    a = setup.role("Reader", None, config=Config(signature_version="s3v4"))
    url = a.generate_presigned_url("get_object", Params={"Bucket": setup.bucket, "Key": "k"})
    response = requests.get(url, timeout=10)
    assert response.status_code == 403
    assert response.headers["Content-Type"] == "application/xml"
    assert response.text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>')
    assert "<RequestId>" in response.text
    # Unsigned, or signed with SigV2 (which the local AWS does not verify): an anonymous caller, refused.
    setup.root.put_object(Bucket=setup.bucket, Key="k", Body=b"private")
    anonymous = requests.get(f"{local_aws.endpoint_url}/{setup.bucket}/k", timeout=10)
    assert anonymous.status_code == 403
    assert "<Code>AccessDenied</Code><Message>Access Denied</Message>" in anonymous.text
    sigv2 = setup.role("ReaderV2", None).generate_presigned_url(
        "get_object", Params={"Bucket": setup.bucket, "Key": "k"}
    )
    assert "AWSAccessKeyId=" in sigv2
    assert requests.get(sigv2, timeout=10).status_code == 403


def test_multipart_upload_needs_put_object_and_abort_its_own_action(setup: Setup) -> None:
    a = setup.role("Uploader", own_prefix_policy(setup.bucket, "Uploader"))
    key = "request/Uploader/-/big"
    upload = a.create_multipart_upload(Bucket=setup.bucket, Key=key)["UploadId"]
    etag = a.upload_part(Bucket=setup.bucket, Key=key, UploadId=upload, PartNumber=1, Body=b"x" * 10)["ETag"]
    a.complete_multipart_upload(
        Bucket=setup.bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": [{"ETag": etag, "PartNumber": 1}]}
    )
    assert setup.root.get_object(Bucket=setup.bucket, Key=key)["Body"].read() == b"x" * 10
    second = a.create_multipart_upload(Bucket=setup.bucket, Key=key + "2")["UploadId"]
    a.abort_multipart_upload(Bucket=setup.bucket, Key=key + "2", UploadId=second)
    # Another prefix: the start of the upload is refused already.
    assert (
        refused(lambda: a.create_multipart_upload(Bucket=setup.bucket, Key="request/Other/-/big"))["Error"]["Code"]
        == "AccessDenied"
    )


def test_same_account_a_bucket_policy_naming_the_role_is_enough(setup: Setup) -> None:
    reader = setup.role("BucketGranted", None)
    role_arn = f"arn:aws:iam::{setup.account}:role/BucketGranted"
    setup.root.put_object(Bucket=setup.bucket, Key="shared/1", Body=b"ok")
    assert refused(lambda: reader.get_object(Bucket=setup.bucket, Key="shared/1"))["Error"]["Code"] == "AccessDenied"
    setup.root.put_bucket_policy(
        Bucket=setup.bucket,
        Policy=policy(
            {
                "Effect": "Allow",
                "Principal": {"AWS": role_arn},
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{setup.bucket}/shared/*",
            }
        ),
    )
    assert reader.get_object(Bucket=setup.bucket, Key="shared/1")["Body"].read() == b"ok"


def test_an_explicit_deny_in_the_bucket_policy_wins(setup: Setup) -> None:
    a = setup.role("Denied", policy({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}))
    setup.root.put_bucket_policy(
        Bucket=setup.bucket,
        Policy=policy(
            {
                "Effect": "Deny",
                "Principal": {"AWS": f"arn:aws:iam::{setup.account}:role/Denied"},
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{setup.bucket}/*",
            }
        ),
    )
    denied = refused(lambda: a.put_object(Bucket=setup.bucket, Key="x", Body=b"x"))
    assert denied["Error"]["Message"].endswith("with an explicit deny in a resource-based policy")
    a.list_objects_v2(Bucket=setup.bucket)  # what the Deny does not name stays allowed


def test_cross_account_needs_both_the_identity_and_the_bucket_policy(
    setup: Setup, local_aws: LocalAws, new_account: Callable[[], str]
) -> None:
    other = Setup(local_aws, new_account(), setup.bucket)
    key_arn = f"arn:aws:s3:::{setup.bucket}/cross/*"
    reader = other.role("CrossReader", policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": key_arn}))
    setup.root.put_object(Bucket=setup.bucket, Key="cross/1", Body=b"c")
    # Identity allows, the bucket does not: refused, with S3's plain message across accounts.
    denied = refused(lambda: reader.get_object(Bucket=setup.bucket, Key="cross/1"))
    assert denied["Error"] == {"Code": "AccessDenied", "Message": "Access Denied"}
    setup.root.put_bucket_policy(
        Bucket=setup.bucket,
        Policy=policy(
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{other.account}:root"},
                "Action": "s3:GetObject",
                "Resource": key_arn,
            }
        ),
    )
    assert reader.get_object(Bucket=setup.bucket, Key="cross/1")["Body"].read() == b"c"
    # The bucket allows the account, but this role's identity policy does not: refused.
    bare = other.role("CrossBare", None)
    assert refused(lambda: bare.get_object(Bucket=setup.bucket, Key="cross/1"))["Error"]["Code"] == "AccessDenied"


def test_a_tls_only_bucket_policy_allows_the_loopback_endpoint(setup: Setup) -> None:
    """The local AWS's loopback endpoint stands for S3's HTTPS endpoint: a TLS-only policy does not lock it out."""
    a = setup.role("TlsUser", own_prefix_policy(setup.bucket, "TlsUser"))
    setup.root.put_bucket_policy(
        Bucket=setup.bucket,
        Policy=policy({**TLS_ONLY, "Resource": [f"arn:aws:s3:::{setup.bucket}", f"arn:aws:s3:::{setup.bucket}/*"]}),
    )
    a.put_object(Bucket=setup.bucket, Key="request/TlsUser/-/1", Body=b"x")


def test_secure_transport_is_false_for_plain_http_from_another_machine() -> None:
    assert is_secure("http", "127.0.0.1")
    assert is_secure("http", "::1")
    assert is_secure("https", "192.0.2.1")
    assert not is_secure("http", "192.0.2.1")
    assert not is_secure("http", None)


def test_the_bucket_accounts_root_keeps_full_access(setup: Setup) -> None:
    setup.root.put_bucket_policy(
        Bucket=setup.bucket,
        Policy=policy({**TLS_ONLY, "Condition": {"Bool": {"aws:SecureTransport": "true"}}, "Resource": "*"}),
    )
    setup.root.put_object(Bucket=setup.bucket, Key="k", Body=b"root")  # the local convention: root is not checked


@pytest.mark.parametrize(
    ("method", "path", "query", "headers", "operation", "needs"),
    [
        ("PUT", "/b/k", "", {}, "PutObject", [("s3:PutObject", "arn:aws:s3:::b/k")]),
        ("POST", "/b/k", "uploads=", {}, "CreateMultipartUpload", [("s3:PutObject", "arn:aws:s3:::b/k")]),
        ("PUT", "/b/k", "partNumber=1&uploadId=u", {}, "UploadPart", [("s3:PutObject", "arn:aws:s3:::b/k")]),
        ("POST", "/b/k", "uploadId=u", {}, "CompleteMultipartUpload", [("s3:PutObject", "arn:aws:s3:::b/k")]),
        ("DELETE", "/b/k", "uploadId=u", {}, "AbortMultipartUpload", [("s3:AbortMultipartUpload", "arn:aws:s3:::b/k")]),
        ("HEAD", "/b/a%2Fb", "", {}, "HeadObject", [("s3:GetObject", "arn:aws:s3:::b/a/b")]),
        ("GET", "/b", "list-type=2&prefix=x", {}, "ListObjects", [("s3:ListBucket", "arn:aws:s3:::b")]),
        (
            "GET",
            "/k",
            "",
            {"host": "b.s3.us-east-1.amazonaws.com"},
            "GetObject",
            [("s3:GetObject", "arn:aws:s3:::b/k")],
        ),
        (
            "PUT",
            "/b/k",
            "",
            {"x-amz-copy-source": "/src/s%20k"},
            "CopyObject",
            [("s3:PutObject", "arn:aws:s3:::b/k"), ("s3:GetObject", "arn:aws:s3:::src/s k")],
        ),
    ],
)
def test_each_call_needs_the_documented_action(
    method: str, path: str, query: str, headers: dict[str, str], operation: str, needs: list[tuple[str, str]]
) -> None:
    call = s3_call(method, path, query, headers)
    assert call is not None
    assert (call.operation, list(call.needs)) == (operation, needs)


def test_a_call_without_a_mapping_is_not_guessed() -> None:
    with pytest.raises(NotAuthorizable):
        s3_call("PUT", "/b", "lifecycle=", {})


# -- issue 21: what the peer suite found, through the one decision (xacct.iam.decide) ------------------------------


def test_a_deny_with_not_principal_denies_a_listed_principal_with_a_boundary(setup: Setup, local_aws: LocalAws) -> None:
    """ "AWS JSON policy elements: NotPrincipal" and "Permissions boundaries for IAM entities": a Deny with
    NotPrincipal always applies to a principal that has a permissions boundary, even one it lists."""
    iam = local_aws.client("iam", setup.account)
    everything = policy({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    boundary_arn = iam.create_policy(PolicyName="Everything", PolicyDocument=everything)["Policy"]["Arn"]
    setup.root.put_object(Bucket=setup.bucket, Key="k", Body=b"x")
    listed = [f"arn:aws:iam::{setup.account}:role/{name}" for name in ("Plain", "Bounded")]
    listed += [f"arn:aws:sts::{setup.account}:assumed-role/{name}/workload" for name in ("Plain", "Bounded")]
    setup.root.put_bucket_policy(
        Bucket=setup.bucket,
        Policy=policy(
            {
                "Effect": "Deny",
                "NotPrincipal": {"AWS": [f"arn:aws:iam::{setup.account}:root", *listed]},
                "Action": "s3:*",
                "Resource": [f"arn:aws:s3:::{setup.bucket}", f"arn:aws:s3:::{setup.bucket}/*"],
            }
        ),
    )
    plain = setup.role("Plain", everything)
    assert plain.get_object(Bucket=setup.bucket, Key="k")["Body"].read() == b"x"
    iam.create_role(RoleName="Bounded", AssumeRolePolicyDocument=trust(service=True), PermissionsBoundary=boundary_arn)
    iam.put_role_policy(RoleName="Bounded", PolicyName="s3", PolicyDocument=everything)
    bounded = local_aws.workload_session(f"arn:aws:iam::{setup.account}:role/Bounded").client("s3")
    with pytest.raises(ClientError) as denied:
        bounded.get_object(Bucket=setup.bucket, Key="k")
    assert "with an explicit deny in a resource-based policy" in denied.value.response["Error"]["Message"]


def test_an_iam_users_permissions_boundary_limits_it(setup: Setup, local_aws: LocalAws) -> None:
    """ "Permissions boundaries for IAM entities": a user's effective permissions are the intersection of its
    identity policies and its boundary (PutUserPermissionsBoundary, IAM API Reference). moto keeps none for users:
    the local AWS does."""
    iam = local_aws.client("iam", setup.account)
    setup.root.put_object(Bucket=setup.bucket, Key="k", Body=b"x")
    only_put = policy({"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"})
    boundary_arn = iam.create_policy(PolicyName="OnlyPut", PolicyDocument=only_put)["Policy"]["Arn"]
    iam.create_user(UserName="alice")
    iam.put_user_policy(
        UserName="alice", PolicyName="s3", PolicyDocument=policy({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    )
    keys = iam.create_access_key(UserName="alice")["AccessKey"]
    alice = local_aws.session_with_keys(keys["AccessKeyId"], keys["SecretAccessKey"]).client("s3")
    assert alice.get_object(Bucket=setup.bucket, Key="k")["Body"].read() == b"x"
    iam.put_user_permissions_boundary(UserName="alice", PermissionsBoundary=boundary_arn)
    with pytest.raises(ClientError) as denied:
        alice.get_object(Bucket=setup.bucket, Key="k")
    assert "because no permissions boundary allows the s3:GetObject action" in denied.value.response["Error"]["Message"]
    alice.put_object(Bucket=setup.bucket, Key="k2", Body=b"y")  # what the boundary allows still works
    iam.delete_user_permissions_boundary(UserName="alice")
    assert alice.get_object(Bucket=setup.bucket, Key="k")["Body"].read() == b"x"
    with pytest.raises(ClientError) as missing:
        iam.put_user_permissions_boundary(UserName="nobody", PermissionsBoundary=boundary_arn)
    assert missing.value.response["Error"]["Code"] == "NoSuchEntity"


def test_an_anonymous_request_carries_its_request_context(setup: Setup, local_aws: LocalAws) -> None:
    """ "AWS global condition context keys": aws:SecureTransport, aws:SourceIp and aws:CurrentTime are in every
    request's context, anonymous ones too; a public-read statement limited to TLS (the loopback endpoint stands for
    S3's HTTPS one) and to the caller's address allows the unsigned GET, one limited to another address does not."""
    setup.root.put_object(Bucket=setup.bucket, Key="public", Body=b"open")
    setup.root.put_object(Bucket=setup.bucket, Key="office", Body=b"closed")
    setup.root.put_bucket_policy(
        Bucket=setup.bucket,
        Policy=policy(
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{setup.bucket}/public",
                "Condition": {"Bool": {"aws:SecureTransport": "true"}, "IpAddress": {"aws:SourceIp": "127.0.0.0/8"}},
            },
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{setup.bucket}/office",
                "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
            },
        ),
    )
    public = requests.get(f"{local_aws.endpoint_url}/{setup.bucket}/public", timeout=30)
    assert (public.status_code, public.content) == (200, b"open"), public.content
    office = requests.get(f"{local_aws.endpoint_url}/{setup.bucket}/office", timeout=30)
    assert office.status_code == 403
    assert b"<Code>AccessDenied</Code>" in office.content
