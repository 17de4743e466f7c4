"""The local AWS against a SigV4 signer nobody here wrote: requests-aws4auth, as teams use it against AWS.

requests-aws4auth signs an ``x-amz-content-sha256`` header by default (the hash of the body it signed). AWS reads
the payload line of an execute-api request as the hash of the body *received* ("Create a canonical request for
Signature Version 4": HashedPayload), so a body changed after signing fails the signature (403), whatever the
header claims; S3 signs the header's value and compares it with the body it received, answering 400
``XAmzContentSHA256Mismatch`` ("Error responses" of the Amazon S3 API Reference: "The provided
'x-amz-content-sha256' header does not match what was computed.").
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from requests_aws4auth import AWS4Auth

from xacct.local import LocalAws
from xacct.local.echo_server import EchoServer
from xacct.local.stacks import ApiStack, allow, build_api, trust

from helpers import REGION, botocore_signed


@pytest.fixture
def stack(local_aws: LocalAws, echo: EchoServer, new_account: Callable[[], str]) -> ApiStack:
    return build_api(local_aws, new_account(), new_account(), echo.url)


def aws4auth(credentials: dict[str, str], service: str) -> AWS4Auth:
    return AWS4Auth(credentials["key"], credentials["secret"], REGION, service, session_token=credentials["token"])


def prepared(
    local_aws: LocalAws, host: str, method: str, path: str, body: bytes, auth: AWS4Auth
) -> requests.PreparedRequest:
    """The request as requests-aws4auth signs it, for the API's host, sent to the local AWS's port."""
    request = requests.Request(method, f"https://{host}{path}", data=body, auth=auth).prepare()
    request.url = f"{local_aws.endpoint_url}{path}"
    request.headers["Host"] = host
    return request


def send(request: requests.PreparedRequest) -> requests.Response:
    with requests.Session() as session:
        return session.send(request, timeout=30)


def test_a_requests_aws4auth_call_reaches_the_api(local_aws: LocalAws, stack: ApiStack) -> None:
    auth = aws4auth(stack.invoke_credentials(), "execute-api")
    request = prepared(local_aws, stack.host, "PUT", "/hoge", b'{"n": 1}', auth)
    assert request.headers["x-amz-content-sha256"] == hashlib.sha256(b'{"n": 1}').hexdigest()
    response = send(request)
    assert response.status_code == 200, response.text
    assert response.json()["body"] == '{"n": 1}'


def test_a_body_changed_after_signing_is_a_signature_mismatch(local_aws: LocalAws, stack: ApiStack) -> None:
    request = prepared(
        local_aws, stack.host, "PUT", "/hoge", b'{"amount": 1}', aws4auth(stack.invoke_credentials(), "execute-api")
    )
    tampered = b'{"amount": 9}'
    request.body = tampered  # the signed x-amz-content-sha256 header still names the first body
    request.headers["Content-Length"] = str(len(tampered))
    response = send(request)
    assert response.status_code == 403, response.text  # the echo server would have answered 200
    assert response.headers["x-amzn-ErrorType"] == "InvalidSignatureException"
    assert response.json()["message"].startswith("The request signature we calculated does not match")


def test_a_signed_unsigned_payload_is_a_signature_mismatch_at_execute_api(local_aws: LocalAws, stack: ApiStack) -> None:
    """UNSIGNED-PAYLOAD is S3's; for execute-api the payload line is still the received body's hash."""
    creds = stack.invoke_credentials()
    headers = botocore_signed(
        "PUT", stack.host, "/hoge", creds, body=b"{}", headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}
    )
    response = requests.put(f"{local_aws.endpoint_url}/hoge", headers=headers, data=b"{}", timeout=30)
    assert response.status_code == 403, response.text
    assert response.headers["x-amzn-ErrorType"] == "InvalidSignatureException"


def test_s3_compares_the_signed_hash_with_the_body(local_aws: LocalAws, new_account: Callable[[], str]) -> None:
    account = new_account()
    s3 = local_aws.client("s3", account)
    bucket = f"signers-{account}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    role = f"arn:aws:iam::{account}:role/Writer"
    iam = local_aws.client("iam", account)
    iam.create_role(RoleName="Writer", AssumeRolePolicyDocument=trust(service=True))
    iam.put_role_policy(
        RoleName="Writer", PolicyName="put", PolicyDocument=allow("s3:PutObject", f"arn:aws:s3:::{bucket}/*")
    )
    frozen = local_aws.workload_session(role, region=REGION).get_credentials().get_frozen_credentials()
    creds = {"key": frozen.access_key, "secret": frozen.secret_key, "token": frozen.token or ""}
    auth = aws4auth(creds, "s3")
    good = requests.Request("PUT", f"{local_aws.endpoint_url}/{bucket}/ok", data=b"as signed", auth=auth).prepare()
    assert send(good).status_code == 200
    request = requests.Request("PUT", f"{local_aws.endpoint_url}/{bucket}/tampered", data=b"as signed", auth=auth)
    tampered = request.prepare()
    tampered.body = b"not as signed"
    tampered.headers["Content-Length"] = str(len(tampered.body))
    response = send(tampered)
    assert response.status_code == 400, response.text
    assert "<Code>XAmzContentSHA256Mismatch</Code>" in response.text
    assert "<Message>The provided 'x-amz-content-sha256' header does not match what was computed.</Message>" in (
        response.text
    )


@pytest.mark.parametrize("params", [{"q": "a b"}, {"q": "1 + 1", "empty": ""}, [("k", "x y"), ("k", "z")]])
def test_a_space_sent_as_plus_reads_as_api_gateway_reads_it(
    local_aws: LocalAws, stack: ApiStack, params: dict[str, str] | list[tuple[str, str]]
) -> None:
    """requests' ``params=`` sends a space as ``+`` and requests-aws4auth signs it as ``%20``: API Gateway reads a raw
    ``+`` in the query as a space (an API Gateway 403 echoing its canonical request, quoted in
    zirkelc/aws-signature-v4#4, shows ``q=a%20b`` for ``q=a+b``), so the call verifies and the server gets a space."""
    auth = aws4auth(stack.invoke_credentials(), "execute-api")
    request = requests.Request("GET", f"https://{stack.host}/hoge", params=params, auth=auth).prepare()
    assert "+" in (request.url or "")
    request.url = f"{local_aws.endpoint_url}/hoge?" + (request.url or "").split("?", 1)[1]
    request.headers["Host"] = stack.host
    response = send(request)
    assert response.status_code == 200, response.text
    expected = list(params.items()) if isinstance(params, dict) else params
    assert [tuple(pair) for pair in response.json()["query"]] == expected


def test_the_request_time_may_be_a_signed_date_header(local_aws: LocalAws, stack: ApiStack) -> None:
    """ "Elements of an AWS API request signature" (SigV4): the request's date is X-Amz-Date or, without it, the Date
    header (which must then be signed). Signed here with botocore's own SigV4Auth pieces, without its X-Amz-Date."""
    creds = stack.invoke_credentials()
    now = datetime.now(timezone.utc)
    request = AWSRequest(
        method="GET",
        url=f"https://{stack.host}/hoge",
        headers={"Date": format_datetime(now, usegmt=True), "X-Amz-Security-Token": creds["token"]},
    )
    request.context["timestamp"] = now.strftime("%Y%m%dT%H%M%SZ")
    signer = SigV4Auth(Credentials(creds["key"], creds["secret"], creds["token"]), "execute-api", REGION)
    signature = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    signed = signer.signed_headers(signer.headers_to_sign(request))
    assert "date" in signed.split(";")
    assert "x-amz-date" not in signed.split(";")
    authorization = (
        f"AWS4-HMAC-SHA256 Credential={creds['key']}/{signer.credential_scope(request)}, "
        f"SignedHeaders={signed}, Signature={signature}"
    )
    headers = {**dict(request.headers.items()), "Authorization": authorization, "Host": stack.host}
    response = requests.get(f"{local_aws.endpoint_url}/hoge", headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    stale = {**headers, "Date": format_datetime(now - timedelta(minutes=20), usegmt=True)}
    assert requests.get(f"{local_aws.endpoint_url}/hoge", headers=stale, timeout=30).status_code == 403
