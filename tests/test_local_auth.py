"""The one authentication path (xacct.local.auth), through the gateway and through the control plane.

Every request here goes over loopback HTTP, signed by botocore (SigV4Auth / SigV4QueryAuth, or boto3 clients),
and every refusal is checked in the shape of the service that answers it.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import boto3
import botocore.auth
import pytest
import requests
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from xacct.local import LocalAws
from xacct.local.auth import AuthRefusal, Refusal, SignedHttpRequest, check_clock, parse
from xacct.local.echo_server import EchoServer
from xacct.local.stacks import ApiStack, allow, build_api, trust

from helpers import REGION, botocore_signed

_REAL_NOW = botocore.auth.get_current_datetime


@pytest.fixture
def signed_at(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[timedelta], None]]:
    """signed_at(offset): botocore signs as if its clock were ``offset`` away from now (a skewed client)."""

    def shift(offset: timedelta) -> None:
        monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: _REAL_NOW() + offset)

    yield shift
    monkeypatch.undo()


@pytest.fixture
def stack(local_aws: LocalAws, echo: EchoServer, new_account: Callable[[], str]) -> ApiStack:
    return build_api(local_aws, new_account(), new_account(), echo.url)


@pytest.fixture
def workload(local_aws: LocalAws, new_account: Callable[[], str]) -> boto3.Session:
    """Session credentials of a role (what the control plane checks a signature for; root keys have no secret)."""
    account = new_account()
    iam = local_aws.client("iam", account)
    iam.create_role(RoleName="Worker", AssumeRolePolicyDocument=trust(service=True))
    iam.put_role_policy(RoleName="Worker", PolicyName="all", PolicyDocument=allow("*", "*"))
    return local_aws.workload_session(f"arn:aws:iam::{account}:role/Worker")


def frozen(session: boto3.Session) -> dict[str, str]:
    credentials = session.get_credentials()
    assert credentials is not None
    creds = credentials.get_frozen_credentials()
    return {"key": creds.access_key, "secret": creds.secret_key, "token": creds.token}


def presign(url: str, creds: dict[str, str], *, expires: int, service: str = "execute-api") -> str:
    """A presigned URL made by botocore's SigV4QueryAuth (the X-Amz-* query parameters)."""
    request = AWSRequest(method="GET", url=url)
    SigV4QueryAuth(Credentials(creds["key"], creds["secret"], creds["token"]), service, REGION, expires).add_auth(
        request
    )
    return str(request.url)


def through_gateway(aws: LocalAws, stack: ApiStack, url: str) -> requests.Response:
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    return requests.get(f"{aws.endpoint_url}{target}", headers={"Host": stack.host}, timeout=30)


def sts_post(aws: LocalAws, creds: dict[str, str], *, region: str = REGION, service: str = "sts") -> requests.Response:
    """A raw, botocore-signed sts:GetCallerIdentity (so that the test sees AWS's reply as sent)."""
    host = urlsplit(aws.endpoint_url).netloc
    body = b"Action=GetCallerIdentity&Version=2011-06-15"
    headers = botocore_signed(
        "POST",
        host,
        "/",
        creds,
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        region=region,
        service=service,
    )
    return requests.post(aws.endpoint_url, headers=headers, data=body, timeout=30)


def xml_field(text: str, name: str) -> str:
    match = re.search(rf"<{name}>(.*?)</{name}>", text, re.S)
    assert match is not None, text
    return match.group(1)


# -- clock skew ------------------------------------------------------------------------------------------------


def test_sts_refuses_a_signature_older_than_its_15_minute_window(
    local_aws: LocalAws, workload: boto3.Session, signed_at: Callable[[timedelta], None]
) -> None:
    """ "Signing AWS API requests" (IAM User Guide): a request must reach AWS within minutes of its time stamp.

    STS's window is 15 minutes, as its own refusal says ("Signature expired: ... (... - 15 min.)",
    aws/aws-cli#6676, devsecops/bootcamp#101), with SignatureDoesNotMatch in STS's ErrorResponse XML.
    """
    creds = frozen(workload)
    signed_at(-timedelta(minutes=16))
    response = sts_post(local_aws, creds)
    assert response.status_code == 403
    assert response.text.startswith('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">')
    assert xml_field(response.text, "Type") == "Sender"
    assert xml_field(response.text, "Code") == "SignatureDoesNotMatch"
    message = xml_field(response.text, "Message")
    assert re.fullmatch(
        r"Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 15 min\.\)", message
    )
    assert re.fullmatch(r"[0-9a-f-]{36}", xml_field(response.text, "RequestId"))
    # boto3 reads it as AWS's own error.
    with pytest.raises(ClientError) as caught:
        workload.client("sts").get_caller_identity()
    assert caught.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_sts_accepts_six_minutes_of_skew_and_refuses_a_future_signature(
    local_aws: LocalAws, workload: boto3.Session, signed_at: Callable[[timedelta], None]
) -> None:
    """ "Signing AWS API requests" (IAM User Guide) and STS's "- 15 min." refusal (aws/aws-cli#6676): six minutes
    are within STS's window (stricter would be a bug too); 16 minutes ahead is "Signature not yet current"."""
    creds = frozen(workload)
    signed_at(-timedelta(minutes=6))
    assert sts_post(local_aws, creds).status_code == 200
    signed_at(timedelta(minutes=16))
    response = sts_post(local_aws, creds)
    assert (response.status_code, xml_field(response.text, "Code")) == (403, "SignatureDoesNotMatch")
    assert xml_field(response.text, "Message").startswith("Signature not yet current: ")
    assert xml_field(response.text, "Message").endswith(" + 15 min.)")


def test_the_gateway_and_a_json_service_keep_to_five_minutes(
    local_aws: LocalAws, stack: ApiStack, workload: boto3.Session, signed_at: Callable[[timedelta], None]
) -> None:
    """ "Signing AWS API requests" (IAM User Guide): "In most cases, a request must reach AWS within five minutes
    of the time stamp in the request." API Gateway answers InvalidSignatureException (403, {"message":...});
    CloudWatch Logs (a JSON service) the same type as {"__type":...,"message":...} (aws/aws-sdk-js#254)."""
    creds = stack.invoke_credentials()
    signed_at(-timedelta(minutes=6))
    headers = botocore_signed("GET", stack.host, "/hoge", creds)
    response = requests.get(f"{local_aws.endpoint_url}/hoge", headers=headers, timeout=30)
    assert response.status_code == 403
    assert response.headers["x-amzn-ErrorType"] == "InvalidSignatureException"
    assert response.json()["message"].endswith(" - 5 min.)")
    with pytest.raises(ClientError) as caught:
        workload.client("logs").describe_log_groups()
    error = caught.value.response
    assert (error["ResponseMetadata"]["HTTPStatusCode"], error["Error"]["Code"]) == (403, "InvalidSignatureException")
    assert error["Error"]["Message"].startswith("Signature expired: ")
    assert error["Error"]["Message"].endswith(" - 5 min.)")


# -- credential scope ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "region", "message"),
    [
        ("lambda", REGION, "Credential should be scoped to correct service: 'execute-api'. "),
        ("execute-api", "us-west-2", "Credential should be scoped to a valid region, not 'us-west-2'. "),
    ],
)
def test_the_gateway_refuses_a_scope_for_another_service_or_region(
    local_aws: LocalAws, stack: ApiStack, service: str, region: str, message: str
) -> None:
    """ "Elements of an AWS API request signature" (IAM User Guide): the credential scope names the date, the
    Region and the service the request is for; API Gateway refuses another with InvalidSignatureException."""
    headers = botocore_signed("GET", stack.host, "/hoge", stack.invoke_credentials(), service=service, region=region)
    response = requests.get(f"{local_aws.endpoint_url}/hoge", headers=headers, timeout=30)
    assert response.status_code == 403
    assert response.headers["x-amzn-ErrorType"] == "InvalidSignatureException"
    assert response.content == json.dumps({"message": message}, separators=(",", ":")).encode()


def test_sts_refuses_a_scope_without_a_valid_region(local_aws: LocalAws, workload: boto3.Session) -> None:
    """ "Elements of an AWS API request signature" (IAM User Guide): the scope's Region must be a Region; STS
    answers SignatureDoesNotMatch in its ErrorResponse XML."""
    response = sts_post(local_aws, frozen(workload), region="nowhere")
    assert (response.status_code, xml_field(response.text, "Code")) == (403, "SignatureDoesNotMatch")
    assert xml_field(response.text, "Message") == "Credential should be scoped to a valid region, not 'nowhere'. "


def test_a_scope_must_end_with_aws4_request() -> None:
    """ "Elements of an AWS API request signature" (IAM User Guide): the scope ends with "aws4_request"."""
    authorization = (
        "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20240101/us-east-1/sts/aws5_request, "
        "SignedHeaders=host;x-amz-date, Signature=00"
    )
    request = SignedHttpRequest(
        "POST", "/", "", {"authorization": authorization, "x-amz-date": "20240101T000000Z"}, b""
    )
    with pytest.raises(AuthRefusal) as caught:
        parse(request)
    assert caught.value.kind is Refusal.INCOMPLETE_SIGNATURE


# -- keys, tokens and signatures ---------------------------------------------------------------------------------


def test_a_mismatch_answers_the_canonical_request_in_each_services_shape(
    local_aws: LocalAws, stack: ApiStack, workload: boto3.Session
) -> None:
    """ "Troubleshoot signing" / "Create a signed AWS API request" (IAM User Guide): a mismatch answers what the
    canonical request and the string to sign should have been: API Gateway as JSON (InvalidSignatureException),
    STS as SignatureDoesNotMatch XML (boto/boto3#756 shows STS's)."""
    creds = stack.invoke_credentials()
    headers = botocore_signed("GET", stack.host, "/hoge", {**creds, "secret": "not-the-secret"})
    gateway = requests.get(f"{local_aws.endpoint_url}/hoge", headers=headers, timeout=30)
    assert (gateway.status_code, gateway.headers["x-amzn-ErrorType"]) == (403, "InvalidSignatureException")
    message = gateway.json()["message"]
    assert "\n\nThe Canonical String for this request should have been\n'GET\n/hoge\n" in message
    assert f"/{REGION}/execute-api/aws4_request\n" in message
    sts = sts_post(local_aws, {**frozen(workload), "secret": "not-the-secret"})
    assert (sts.status_code, xml_field(sts.text, "Code")) == (403, "SignatureDoesNotMatch")
    assert "The Canonical String for this request should have been\n'POST\n/\n" in xml_field(sts.text, "Message")


def test_unknown_keys_in_each_services_shape(local_aws: LocalAws, stack: ApiStack) -> None:
    """ "Common Errors" (STS API Reference): InvalidClientTokenId, 403; CloudWatch Logs ("Common Errors"):
    UnrecognizedClientException; API Gateway: 403 {"message":"The security token included in the request is
    invalid."} with x-amzn-ErrorType UnrecognizedClientException."""
    unknown = {"key": "ASIAUNKNOWNKEY000000", "secret": "x", "token": "t"}
    sts = sts_post(local_aws, unknown)
    assert (sts.status_code, xml_field(sts.text, "Code")) == (403, "InvalidClientTokenId")
    assert xml_field(sts.text, "Message") == "The security token included in the request is invalid."
    session = local_aws.session_with_keys("ASIAUNKNOWNKEY000000", "x", "t")
    with pytest.raises(ClientError) as caught:
        session.client("logs").describe_log_groups()
    assert caught.value.response["Error"]["Code"] == "UnrecognizedClientException"
    gateway = requests.get(
        f"{local_aws.endpoint_url}/hoge", headers=botocore_signed("GET", stack.host, "/hoge", unknown), timeout=30
    )
    assert gateway.status_code == 403
    assert gateway.headers["x-amzn-ErrorType"] == "UnrecognizedClientException"
    assert gateway.content == b'{"message":"The security token included in the request is invalid."}'


# -- query-string (presigned) SigV4 ------------------------------------------------------------------------------


def test_a_presigned_url_works_through_the_gateway(local_aws: LocalAws, stack: ApiStack) -> None:
    """ "Authenticating Requests: Using Query Parameters (AWS Signature Version 4)": X-Amz-Algorithm,
    X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders, X-Amz-Security-Token and X-Amz-Signature in
    the query string instead of an Authorization header."""
    url = presign(f"https://{stack.host}/hoge?a=1&b=two%20words", stack.invoke_credentials(), expires=60)
    assert "X-Amz-Security-Token=" in url
    response = through_gateway(local_aws, stack, url)
    assert response.status_code == 200, response.text
    echo = response.json()
    assert echo["caller"]["arn"] == f"arn:aws:sts::{stack.provider}:assumed-role/ApiInvoke/test-session"
    tampered = url.replace("a=1", "a=2")
    refused = through_gateway(local_aws, stack, tampered)
    assert refused.status_code == 403
    assert refused.json()["message"].startswith("The request signature we calculated does not match")
    assert "&X-Amz-SignedHeaders=host&a=2&b=two%20words\nhost:" in refused.json()["message"]  # sorted, encoded


def test_an_expired_presigned_url_is_refused_by_the_gateway(
    local_aws: LocalAws, stack: ApiStack, signed_at: Callable[[timedelta], None]
) -> None:
    """ "Authenticating Requests: Using Query Parameters (AWS Signature Version 4)": X-Amz-Expires is how long
    the presigned URL stays valid from X-Amz-Date; after that the request is refused (403)."""
    creds = stack.invoke_credentials()
    signed_at(-timedelta(seconds=120))
    expired = presign(f"https://{stack.host}/hoge", creds, expires=60)
    still_valid = presign(f"https://{stack.host}/hoge", creds, expires=600)  # 2 minutes old, good for 10
    response = through_gateway(local_aws, stack, expired)
    assert response.status_code == 403
    assert response.headers["x-amzn-ErrorType"] == "InvalidSignatureException"
    assert response.json()["message"].startswith("Signature expired: ")
    assert through_gateway(local_aws, stack, still_valid).status_code == 200


def test_presigned_sts_keeps_to_its_clock_window(
    local_aws: LocalAws, workload: boto3.Session, signed_at: Callable[[timedelta], None]
) -> None:
    """ "Authenticating Requests: Using Query Parameters (AWS Signature Version 4)" on the control plane: a
    presigned GET sts:GetCallerIdentity works; STS ignores X-Amz-Expires and keeps to its 15-minute window
    (aws/aws-sdk-go#2167). boto3's own presigned STS URL signs POST (the operation's method): used with GET,
    AWS refuses it with SignatureDoesNotMatch, the canonical request saying 'GET' (boto/boto3#756); so here."""
    creds = frozen(workload)
    url = f"{local_aws.endpoint_url}/?Action=GetCallerIdentity&Version=2011-06-15"
    response = requests.get(presign(url, creds, expires=60, service="sts"), timeout=30)
    assert response.status_code == 200, response.text
    assert ":assumed-role/Worker/workload</Arn>" in response.text
    as_post = workload.client("sts").generate_presigned_url("get_caller_identity", ExpiresIn=60)
    refused = requests.get(as_post, timeout=30)
    assert (refused.status_code, xml_field(refused.text, "Code")) == (403, "SignatureDoesNotMatch")
    assert "should have been\n'GET\n/\n" in refused.text
    signed_at(-timedelta(minutes=10))
    assert requests.get(presign(url, creds, expires=60, service="sts"), timeout=30).status_code == 200
    signed_at(-timedelta(minutes=16))
    late = requests.get(presign(url, creds, expires=3600, service="sts"), timeout=30)
    assert (late.status_code, xml_field(late.text, "Code")) == (403, "SignatureDoesNotMatch")
    assert xml_field(late.text, "Message").endswith(" - 15 min.)")


def test_s3_presigned_urls_and_s3_error_shape(
    local_aws: LocalAws, workload: boto3.Session, signed_at: Callable[[timedelta], None]
) -> None:
    """ "Authenticating Requests: Using Query Parameters (AWS Signature Version 4)" (Amazon S3 API Reference):
    a presigned GET works until X-Amz-Expires; then S3 answers 403 AccessDenied "Request has expired"
    ("Error responses", Amazon S3 API Reference); header-signed calls use S3's 15-minute window
    (RequestTimeTooSkewed)."""
    s3 = workload.client("s3", config=Config(signature_version="s3v4"))  # botocore presigns SigV2 otherwise
    bucket = f"auth-presigned-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=bucket, Key="a b/c.txt", Body=b"hello")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "a b/c.txt"}, ExpiresIn=60)
    assert requests.get(url, timeout=30).content == b"hello"
    signed_at(-timedelta(seconds=120))
    expired = requests.get(
        s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "a b/c.txt"}, ExpiresIn=60),
        timeout=30,
    )
    assert expired.status_code == 403
    assert (xml_field(expired.text, "Code"), xml_field(expired.text, "Message")) == (
        "AccessDenied",
        "Request has expired",
    )
    signed_at(-timedelta(minutes=16))
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=bucket, Key="a b/c.txt")
    assert caught.value.response["Error"]["Code"] == "RequestTimeTooSkewed"


# -- the rules, without HTTP -------------------------------------------------------------------------------------


def test_presigned_expiry_and_clock_rules() -> None:
    """ "Authenticating Requests: Using Query Parameters (AWS Signature Version 4)": X-Amz-Expires from 1 to
    604800 seconds, counted from X-Amz-Date; "Signing AWS API requests": five minutes either way otherwise."""
    now = datetime(2024, 1, 1, 12, 0, tzinfo=timezone.utc)

    def query_request(amz_date: str, expires: str) -> SignedHttpRequest:
        query = (
            "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20240101%2Fus-east-1%2Fexecute-api"
            f"%2Faws4_request&X-Amz-Date={amz_date}&X-Amz-Expires={expires}&X-Amz-SignedHeaders=host"
            "&X-Amz-Signature=00"
        )
        return SignedHttpRequest("GET", "/", query, {"host": "h"}, b"")

    check_clock(parse(query_request("20240101T113000Z", "3600")), now)  # 30 minutes old, good for an hour
    with pytest.raises(AuthRefusal) as caught:
        check_clock(parse(query_request("20240101T113000Z", "600")), now)
    assert caught.value.kind is Refusal.SIGNATURE_EXPIRED
    with pytest.raises(AuthRefusal) as caught:
        check_clock(parse(query_request("20240101T120600Z", "600")), now)  # signed 6 minutes ahead
    assert caught.value.kind is Refusal.SIGNATURE_NOT_YET_CURRENT
    for bad in ("0", "604801", "soon"):
        with pytest.raises(AuthRefusal) as caught:
            parse(query_request("20240101T120000Z", bad))
        assert caught.value.kind is Refusal.INCOMPLETE_SIGNATURE
