"""The large-payload hand-off: ApiClient(payload_bucket=...) and xacct.backend's PayloadBucket, through the local
gateway, with a Flask app (werkzeug's server) and a FastAPI app (uvicorn) that never see a reference.

The bucket lives in the provider account of the local AWS; the server uses the provider account's credentials
for its role. The invoke role gets the policy modules/provider_api gives it (its own request/ and response/
prefixes), since the local AWS authorizes S3 calls by role sessions (tests/test_s3_authz.py,
tests/test_payloads_e2e.py). Here: what the client and the middleware do, including the server's own refusals
(400 on a checksum mismatch, 403 on a key outside the caller's prefix).
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import urllib3
from fastapi import FastAPI, Request, Response
from flask import Flask
from flask import Response as FlaskResponse
from flask import request as flask_request
from requests.adapters import HTTPAdapter
from werkzeug.test import Client

from test_backend import serve_fastapi, serve_flask
from xacct import ApiClient, ConfigError, HttpError
from xacct.backend import AsgiMiddleware, Caller, PayloadBucket, WsgiMiddleware
from xacct.local import LocalAws
from xacct.local.stacks import REGION, ApiStack, build_api
from xacct.payloads import (
    ACCEPT_HEADER,
    REFERENCE_CONTENT_TYPE,
    PayloadError,
    PayloadReference,
    PayloadReferenceInvalid,
)

THRESHOLD = 64 * 1024  # small, so that the tests move little data; the default is 5 MiB
SECRET = "payload-test-origin-secret"


def pattern(length: int) -> bytes:
    """``length`` deterministic, non-repeating-looking bytes (a hash chain)."""
    out, block = bytearray(), hashlib.sha256(b"xacct").digest()
    while len(out) < length:
        block = hashlib.sha256(block).digest()
        out += block * 32
    return bytes(out[:length])


# -- the reference format -----------------------------------------------------------------------------------


def test_a_reference_round_trips() -> None:
    reference = PayloadReference(
        "bucket", "request/Role/AROAEXAMPLE:123456789012-s/" + "a" * 32, 10, "0" * 64, "text/csv"
    )
    assert PayloadReference.parse(reference.to_json()) == reference


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "must be a JSON object"),
        (b"[]", '"xacct_payload_reference": 1'),
        (b'{"bucket": "b"}', '"xacct_payload_reference": 1'),
        (b'{"xacct_payload_reference": 1, "bucket": "", "key": "k", "length": 1, "sha256": ""}', "bucket must be"),
        (b'{"xacct_payload_reference": 1, "bucket": "b", "key": "../x", "length": 1, "sha256": ""}', "key must be"),
        (b'{"xacct_payload_reference": 1, "bucket": "b", "key": "request/R/1234/' + b"a" * 32 + b'"}', "key must be"),
        (
            b'{"xacct_payload_reference": 1, "bucket": "b", "key": "request/R/AROAX:1234-s/'
            + b"a" * 32
            + b'", "length": -1}',
            "length must be",
        ),
        (
            b'{"xacct_payload_reference": 1, "bucket": "b", "key": "request/R/AROAX:1234-s/'
            + b"a" * 32
            + b'", "length": true}',
            "length must be",
        ),
        (
            b'{"xacct_payload_reference": 1, "bucket": "b", "key": "request/R/AROAX:1234-s/'
            + b"a" * 32
            + b'", "length": 1, "sha256": "ABC"}',
            "sha256 must be 64 lower-case hex",
        ),
        (b"{" + b" " * 5000 + b"}", "at most 4096 bytes"),
    ],
)
def test_a_bad_reference_is_a_typed_error(body: bytes, message: str) -> None:
    with pytest.raises(PayloadReferenceInvalid, match=message):
        PayloadReference.parse(body)


# -- through the gateway ------------------------------------------------------------------------------------


def flask_app(payloads: PayloadBucket, ran: list[str], invoke_roles: dict[str, str]) -> Any:
    app = Flask("payloads")

    @app.route("/digest", methods=["PUT", "POST"])
    def digest() -> Any:
        ran.append("digest")
        body = flask_request.get_data()
        return {
            "length": len(body),
            "sha256": hashlib.sha256(body).hexdigest(),
            "content_type": flask_request.content_type,
            "consumer": flask_request.environ["xacct.caller"].consumer_account_id,
        }

    @app.put("/echo")
    def echo() -> Any:
        ran.append("echo")
        return FlaskResponse(flask_request.get_data(), mimetype=flask_request.content_type)

    @app.get("/bytes/<int:length>")
    def data(length: int) -> Any:
        ran.append("bytes")
        return FlaskResponse(pattern(length), mimetype="application/x-pattern")

    return WsgiMiddleware(app.wsgi_app, invoke_roles=invoke_roles, origin_secret=SECRET, payloads=payloads)


def fastapi_app(payloads: PayloadBucket, ran: list[str], invoke_roles: dict[str, str]) -> Any:
    app = FastAPI()

    @app.api_route("/digest", methods=["PUT", "POST"])
    async def digest(request: Request) -> dict[str, Any]:
        ran.append("digest")
        body = await request.body()
        caller: Caller = request.scope["xacct.caller"]
        return {
            "length": len(body),
            "sha256": hashlib.sha256(body).hexdigest(),
            "content_type": request.headers.get("content-type"),
            "consumer": caller.consumer_account_id,
        }

    @app.put("/echo")
    async def echo(request: Request) -> Response:
        ran.append("echo")
        return Response(await request.body(), media_type=request.headers.get("content-type"))

    @app.get("/bytes/{length}")
    def data(length: int) -> Response:
        ran.append("bytes")
        return Response(pattern(length), media_type="application/x-pattern")

    return AsgiMiddleware(app, invoke_roles=invoke_roles, origin_secret=SECRET, payloads=payloads)


class Handoff:
    """A served app with a payload bucket, behind its own API; ``ran`` records the app's handlers."""

    def __init__(self, stack: ApiStack, bucket: str, ran: list[str], s3: Any) -> None:
        self.stack = stack
        self.bucket = bucket
        self.ran = ran
        self.s3 = s3  # the provider account's S3, to look at the bucket

    @property
    def session_name(self) -> str:
        return f"{self.stack.consumer}-xacct-payloads"

    @property
    def user_id(self) -> str:
        """aws:userid of the client's session: "<role id>:<session name>"."""
        iam = self.stack.aws.client("iam", self.stack.provider)
        return f"{iam.get_role(RoleName='ApiInvoke')['Role']['RoleId']}:{self.session_name}"

    def prefix(self, direction: str, role: str = "ApiInvoke", user_id: str | None = None) -> str:
        return f"{direction}/{role}/{user_id or self.user_id}/"

    def client(self, **kwargs: Any) -> ApiClient:
        kwargs.setdefault("session_name", self.session_name)
        return self.stack.client(payload_bucket=self.bucket, payload_threshold=THRESHOLD, **kwargs)

    def keys(self, direction: str) -> list[str]:
        listed = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=f"{direction}/")
        return [item["Key"] for item in listed.get("Contents", [])]


@pytest.fixture(scope="module", params=["flask", "fastapi"])
def handoff(request: pytest.FixtureRequest, local_aws: LocalAws, new_account: Callable[[], str]) -> Iterator[Handoff]:
    provider, consumer = new_account(), new_account()
    bucket = f"xacct-payloads-{provider}"
    s3 = local_aws.client("s3", provider)
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    payloads = PayloadBucket(bucket, local_aws.session(provider), threshold=THRESHOLD)
    ran: list[str] = []
    invoke_roles = {"ApiInvoke": f"arn:aws:iam::{provider}:role/ApiInvoke"}
    app = (flask_app if request.param == "flask" else fastapi_app)(payloads, ran, invoke_roles)
    url, stop = (serve_flask if request.param == "flask" else serve_fastapi)(app)
    stack = build_api(
        local_aws,
        provider,
        consumer,
        url,
        request_parameters={
            "overwrite:path": "$request.path",
            "overwrite:header.x-caller-arn": "$context.identity.userArn",
            "overwrite:header.x-caller-user-id": "$context.identity.user",
            "overwrite:header.x-route-key": "$context.routeKey",
            "overwrite:header.x-origin-verify": SECRET,
        },
    )
    # What modules/provider_api's large_payloads gives each invoke role (payloads.tf).
    role = stack.invoke_role_arn.rsplit("/", 1)[1]
    local_aws.client("iam", provider).put_role_policy(
        RoleName=role,
        PolicyName="PayloadHandoff",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["s3:PutObject", "s3:AbortMultipartUpload"],
                        "Resource": f"arn:aws:s3:::{bucket}/request/{role}/${{aws:userid}}/*",
                    },
                    {
                        "Effect": "Allow",
                        "Action": "s3:GetObject",
                        "Resource": f"arn:aws:s3:::{bucket}/response/{role}/${{aws:userid}}/*",
                    },
                ],
            }
        ),
    )
    try:
        yield Handoff(stack, bucket, ran, s3)
    finally:
        stop()


def test_a_large_request_body_arrives_as_sent(handoff: Handoff) -> None:
    body = pattern(3 * 1024 * 1024 + 7)
    before = set(handoff.keys("request"))
    with handoff.client() as api:
        seen = api.put("/digest", data=body, headers={"Content-Type": "application/x-pattern"}).json()
    assert seen == {
        "length": len(body),
        "sha256": hashlib.sha256(body).hexdigest(),
        "content_type": "application/x-pattern",
        "consumer": handoff.stack.consumer,
    }
    (key,) = set(handoff.keys("request")) - before
    assert key.startswith(handoff.prefix("request"))


def test_a_large_json_body_keeps_its_content_type(handoff: Handoff) -> None:
    document = {"rows": [{"id": i, "name": f"row {i}"} for i in range(20000)]}
    with handoff.client() as api:
        seen = api.post("/digest", json=document).json()
    encoded = json.dumps(document, separators=(",", ":")).encode()
    assert len(encoded) > THRESHOLD
    assert (seen["length"], seen["sha256"]) == (len(encoded), hashlib.sha256(encoded).hexdigest())
    assert seen["content_type"] == "application/json"


def test_a_file_is_streamed(handoff: Handoff, tmp_path: Path) -> None:
    body = pattern(2 * 1024 * 1024)
    path = tmp_path / "big.bin"
    path.write_bytes(body)
    with handoff.client() as api, path.open("rb") as file:
        seen = api.put("/digest", data=file).json()
    assert (seen["length"], seen["sha256"]) == (len(body), hashlib.sha256(body).hexdigest())


def test_a_small_body_is_sent_as_is(handoff: Handoff) -> None:
    before = set(handoff.keys("request"))
    with handoff.client() as api:
        seen = api.put("/digest", data=b"small").json()
    assert seen["length"] == 5
    assert set(handoff.keys("request")) == before


def test_a_large_response_comes_back_as_sent(handoff: Handoff) -> None:
    length = 3 * 1024 * 1024 + 11
    before = set(handoff.keys("response"))
    with handoff.client() as api:
        response = api.get(f"/bytes/{length}")
        assert response.content == pattern(length)
    assert response.headers["Content-Type"] == "application/x-pattern"
    assert response.headers["Content-Length"] == str(length)
    (key,) = set(handoff.keys("response")) - before
    assert key.startswith(handoff.prefix("response"))


def test_100_mb_round_trip_byte_identical(handoff: Handoff) -> None:
    """The issue's bar: 100 MB up and the same 100 MB back through API Gateway's 10 MB limit, byte for byte."""
    body = pattern(100 * 1024 * 1024)
    expected = hashlib.sha256(body).hexdigest()
    requests_before, responses_before = set(handoff.keys("request")), set(handoff.keys("response"))
    with handoff.client() as api:
        response = api.put("/echo", data=body, headers={"Content-Type": "application/octet-stream"})
        del body
        assert response.headers["Content-Length"] == str(100 * 1024 * 1024)
        assert hashlib.sha256(response.content).hexdigest() == expected
    handed = (set(handoff.keys("request")) - requests_before) | (set(handoff.keys("response")) - responses_before)
    assert len(handed) == 2
    for key in handed:  # the local AWS keeps objects in memory: free them for the rest of the session
        handoff.s3.delete_object(Bucket=handoff.bucket, Key=key)


def test_a_small_response_is_not_handed_off(handoff: Handoff) -> None:
    before = set(handoff.keys("response"))
    with handoff.client() as api:
        assert api.get("/bytes/100").content == pattern(100)
    assert set(handoff.keys("response")) == before


def test_a_client_without_the_hand_off_gets_the_body_itself(handoff: Handoff) -> None:
    """Only a client that says it takes references (x-xacct-payloads) gets one."""
    with handoff.stack.client(session_name=handoff.session_name) as api:
        response = api.get(f"/bytes/{THRESHOLD * 2}")
    assert response.headers["Content-Type"] == "application/x-pattern"
    assert response.content == pattern(THRESHOLD * 2)


def put_object(handoff: Handoff, key: str, body: bytes) -> None:
    handoff.s3.put_object(Bucket=handoff.bucket, Key=key, Body=body)


def send_reference(handoff: Handoff, reference: PayloadReference) -> requests.Response:
    """A hand-made reference, signed and sent by a client without the hand-off (so nothing rewrites it)."""
    with handoff.stack.client(session_name=handoff.session_name) as api:
        try:
            return api.put("/digest", data=reference.to_json(), headers={"Content-Type": REFERENCE_CONTENT_TYPE})
        except HttpError as error:
            return error.response


def test_a_body_whose_sha256_differs_is_refused_400(handoff: Handoff) -> None:
    key = handoff.prefix("request") + "b" * 32
    put_object(handoff, key, b"what was uploaded")
    before = len(handoff.ran)
    claimed = hashlib.sha256(b"what was signed!!").hexdigest()
    response = send_reference(handoff, PayloadReference(handoff.bucket, key, 17, claimed))
    assert response.status_code == 400
    assert response.json()["reason"] == "payload_checksum_mismatch"
    assert len(handoff.ran) == before
    truncated = send_reference(
        handoff, PayloadReference(handoff.bucket, key, 18, hashlib.sha256(b"what was uploaded").hexdigest())
    )
    assert (truncated.status_code, truncated.json()["reason"]) == (400, "payload_checksum_mismatch")


@pytest.mark.parametrize(
    "where",
    ["another role", "another consumer", "another session", "the response side", "another bucket"],
)
def test_a_reference_outside_the_callers_prefix_is_refused_403(handoff: Handoff, where: str) -> None:
    consumer, bucket, role_id = handoff.stack.consumer, handoff.bucket, handoff.user_id.split(":")[0]
    key = {
        "another role": handoff.prefix("request", "OtherInvoke"),
        "another consumer": handoff.prefix("request", user_id=f"{role_id}:999999999999-xacct-payloads"),
        "another session": handoff.prefix("request", user_id=f"{role_id}:{consumer}-other"),
        "the response side": handoff.prefix("response"),
        "another bucket": handoff.prefix("request"),
    }[where] + "c" * 32
    body = b"someone else's body"
    put_object(handoff, key, body)
    if where == "another bucket":
        bucket = "someone-elses-bucket"
    before = len(handoff.ran)
    response = send_reference(handoff, PayloadReference(bucket, key, len(body), hashlib.sha256(body).hexdigest()))
    assert response.status_code == 403
    assert response.json()["reason"] == "payload_outside_prefix"
    assert len(handoff.ran) == before


def test_a_reference_to_a_missing_object_is_refused_400(handoff: Handoff) -> None:
    key = handoff.prefix("request") + "d" * 32
    response = send_reference(handoff, PayloadReference(handoff.bucket, key, 1, "0" * 64))
    assert (response.status_code, response.json()["reason"]) == (400, "payload_missing")


def test_a_malformed_reference_is_refused_400(handoff: Handoff) -> None:
    with handoff.stack.client(session_name=handoff.session_name) as api, pytest.raises(HttpError) as refused:
        api.put("/digest", data=b'{"bucket": 1}', headers={"Content-Type": REFERENCE_CONTENT_TYPE})
    assert refused.value.response.json()["reason"] == "payload_reference_invalid"


def test_the_client_refuses_a_response_reference_outside_its_prefix(handoff: Handoff) -> None:
    """A server that answers with someone else's key does not make the client read it."""
    client = handoff.client()
    outside = PayloadReference(handoff.bucket, handoff.prefix("response", "OtherInvoke") + "e" * 32, 1, "0" * 64)
    assert client.payloads is not None
    raw = urllib3.HTTPResponse(
        body=io.BytesIO(outside.to_json()),
        headers={"Content-Type": REFERENCE_CONTENT_TYPE},
        status=200,
        preload_content=False,
    )
    fake = HTTPAdapter().build_response(requests.Request("GET", "http://x/").prepare(), raw)
    with pytest.raises(PayloadError, match=r"outside this client's s3://"):
        client.payloads.incoming(fake)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"payload_bucket": "Not_A_Bucket"}, r"payload_bucket 'Not_A_Bucket' is not an S3 bucket name"),
        ({"payload_bucket": "ok-bucket", "payload_threshold": 0}, r"payload_threshold 0 must be"),
        ({"payload_bucket": "ok-bucket", "payload_threshold": 11_000_000}, r"payload_threshold 11000000 must be"),
    ],
)
def test_bad_hand_off_arguments(handoff: Handoff, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        handoff.stack.client(**kwargs)


def test_the_client_says_it_takes_references(handoff: Handoff) -> None:
    with handoff.client() as api:
        assert api.payloads is not None
        json_, data, headers = api.payloads.outgoing(None, b"x", None, encode=lambda _json, data: (data, None))
    assert (json_, data, headers[ACCEPT_HEADER]) == (None, b"x", "reference")


def test_s3_refusing_the_server_is_a_502_not_a_traceback(local_aws: LocalAws, new_account: Callable[[], str]) -> None:
    """A PayloadBucket whose bucket does not exist (a misconfigured server): 502 with a reason, the app never runs."""
    provider, ran = new_account(), []
    payloads = PayloadBucket("xacct-no-such-bucket", local_aws.session(provider), threshold=THRESHOLD)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        ran.append(environ)
        start_response("200 OK", [])
        return [b""]

    caller = f"arn:aws:sts::{provider}:assumed-role/ApiInvoke/{provider}-x"
    user_id = f"AROAEXAMPLE:{provider}-x"
    key = f"request/ApiInvoke/{user_id}/" + "f" * 32
    reference = PayloadReference("xacct-no-such-bucket", key, 1, "0" * 64)
    invoke_roles = [f"arn:aws:iam::{provider}:role/ApiInvoke"]
    headers = {
        "x-caller-arn": caller,
        "x-caller-user-id": user_id,
        "x-route-key": "PUT /",
        "Content-Type": REFERENCE_CONTENT_TYPE,
    }
    response = Client(WsgiMiddleware(app, invoke_roles=invoke_roles, payloads=payloads)).put(
        "/", data=reference.to_json(), headers=headers
    )
    assert response.status_code == 502
    assert response.get_json()["reason"] == "payload_unavailable"
    assert "NoSuchBucket" in response.get_json()["message"]
    assert ran == []
