"""The payload hand-off end to end, through ONE real apply of modules/provider_api with large_payloads enabled.

Given: a consumer role in one account, the provider module applied into another account of the local AWS (the
real AWS provider, as envs/stag does it, plus large_payloads = { enabled = true }), the API server a WSGI app behind
``WsgiMiddleware(payloads=PayloadBucket(bucket, server_session))`` where ``server_session`` is a role holding the
module's ``payload_server_policy_json``, and ``ApiClient(payload_bucket=consumer_config.payload_bucket)``.
Expect: 25 MB round trip byte-identical; 11 MB without the hand-off answered 413 as API Gateway answers
("Amazon API Gateway quotas", HTTP APIs: "Maximum payload size 10 MB", not raisable); a reference to another
invoke role's prefix 403 (by the server's middleware, and by S3 itself for the role's own credentials); a 202
Accepted followed to its answer (``wait``) and the CLI's ``--payload-bucket``, ``-d @file`` and ``--wait``.
Ends as every apply test ends: the second plan is empty, destroy leaves no bucket behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from werkzeug.serving import make_server

from xacct import ApiClient, HttpError, WaitRefused, WaitTimedOut
from xacct.backend import PayloadBucket, WsgiMiddleware
from xacct.local import LocalAws
from xacct.local import terraform as tfrun
from xacct.local.stacks import trust
from xacct.local.terraform import ProviderHosts, Workspace
from xacct.payloads import REFERENCE_CONTENT_TYPE, PayloadReference

from helpers import REGION, ROOT, consumer_workload_role, remove_role

pytestmark = [pytest.mark.apply, pytest.mark.xdist_group("apply")]

ROLE = "ApiAllowByIamRoleStag"
OTHER_ROLE = "ApiAllowOtherTeam"
MB = 1024 * 1024
XACCT = str(Path(sys.executable).parent / "xacct")


def pattern(length: int) -> bytes:
    """``length`` deterministic bytes that do not repeat in short cycles (a hash chain)."""
    out, block = bytearray(), hashlib.sha256(b"e2e").digest()
    while len(out) < length:
        block = hashlib.sha256(block).digest()
        out += block * 64
    return bytes(out[:length])


class LateApp:
    """The WSGI app on the port before the apply; the middleware (which needs the origin secret) after it."""

    def __init__(self) -> None:
        self.app: Callable[..., Iterable[bytes]] | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        assert self.app is not None
        return self.app(environ, start_response)


def server_app() -> Callable[..., Iterable[bytes]]:
    """PUT /echo returns the body; POST /jobs answers 202 + Location until the third poll; other 202 shapes."""
    polls: dict[str, int] = {}
    lock = threading.Lock()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path, method = environ["PATH_INFO"], environ["REQUEST_METHOD"]
        if path == "/echo":
            body = environ["wsgi.input"].read()
            start_response("200 OK", [("Content-Type", environ.get("CONTENT_TYPE") or "application/octet-stream")])
            return [body]
        if path == "/jobs" and method == "POST":
            with lock:
                job = str(len(polls) + 1)
                polls[job] = 0
            start_response("202 Accepted", [("Location", f"/jobs/{job}?view=full"), ("Retry-After", "0")])
            return [b'{"accepted": true}']
        if path.startswith("/jobs/"):
            job = path.rsplit("/", 1)[1]
            with lock:
                polls[job] += 1
                done = polls[job] >= 3
            if done:
                start_response("200 OK", [("Content-Type", "application/json")])
                return [json.dumps({"job": job, "polls": polls[job], "query": environ["QUERY_STRING"]}).encode()]
            start_response("202 Accepted", [("Location", f"/jobs/{job}?view=full")])
            return [b""]
        if path == "/forever":
            start_response("202 Accepted", [("Location", "/forever")])
            return [b""]
        if path == "/nowhere":
            start_response("202 Accepted", [])
            return [b""]
        if path == "/elsewhere":
            start_response("202 Accepted", [("Location", "https://elsewhere.example.com/jobs/1")])
            return [b""]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]

    return app


@dataclass
class Applied:
    aws: LocalAws
    provider: str
    consumer: str
    outputs: dict[str, Any]
    workspace: Workspace
    consumer_role_arn: str

    @property
    def bucket(self) -> str:
        return str(self.outputs["consumer_config"]["payload_bucket"])

    def role_arn(self, name: str = ROLE) -> str:
        return str(self.outputs["invoke_role_arns"][name])

    def client(self, **kwargs: Any) -> ApiClient:
        kwargs.setdefault("payload_bucket", self.bucket)
        return ApiClient(
            self.outputs["invoke_url"],
            self.role_arn(),
            source_session=self.aws.workload_session(self.consumer_role_arn, region=REGION),
            endpoint_url=self.aws.endpoint_url,
            session_name=f"{self.consumer}-xacct-e2e",
            **kwargs,
        )


@pytest.fixture(scope="module")
def applied(
    local_aws: LocalAws,
    new_account: Callable[[], str],
    tmp_path_factory: pytest.TempPathFactory,
    provider_hosts: ProviderHosts,
) -> Iterator[Applied]:
    provider, consumer = new_account(), new_account()
    # The consumer's workload role first: the invoke roles' trust policies name it (IAM refuses a missing role).
    consumer_role_arn = consumer_workload_role(local_aws, consumer, provider, "LambdaRoleDeve")
    late = LateApp()
    server = make_server("127.0.0.1", 0, late, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    tree = tfrun.copy_configuration(tmp_path_factory.mktemp("e2e"), ROOT)
    workspace = Workspace(tree / "modules" / "provider_api", local_aws.env(provider, REGION), provider_hosts)
    variables = {
        "name": "server-stag",
        "integration": {"type": "HTTP_PROXY", "uri": f"http://127.0.0.1:{server.server_port}"},
        "invoke_roles": {
            ROLE: {"trusted_role_arns": [consumer_role_arn]},
            OTHER_ROLE: {"trusted_role_arns": [consumer_role_arn]},
        },
        "large_payloads": {"enabled": True},
    }
    outputs = workspace.apply(variables)
    bucket = outputs["payload_bucket"]

    # The API server's role: the module's payload_server_policy_json, nothing else.
    iam_a = local_aws.client("iam", provider)
    iam_a.create_role(RoleName="ApiServer", AssumeRolePolicyDocument=trust(service=True))
    iam_a.put_role_policy(
        RoleName="ApiServer", PolicyName="payloads", PolicyDocument=outputs["payload_server_policy_json"]
    )
    server_session = local_aws.workload_session(f"arn:aws:iam::{provider}:role/ApiServer", region=REGION)
    late.app = WsgiMiddleware(
        server_app(),
        invoke_roles=outputs["invoke_role_arns"],
        origin_secret=outputs["origin_secret"],
        payloads=PayloadBucket(bucket, server_session),
    )
    try:
        yield Applied(local_aws, provider, consumer, outputs, workspace, consumer_role_arn)
    finally:
        server.shutdown()
        server.server_close()
        workspace.destroy()
        remaining = local_aws.client("s3", provider).list_buckets()["Buckets"]
        assert [b["Name"] for b in remaining if b["Name"] == bucket] == [], "destroy left the payload bucket"
        iam_a.delete_role_policy(RoleName="ApiServer", PolicyName="payloads")
        iam_a.delete_role(RoleName="ApiServer")
        remove_role(local_aws, consumer, "LambdaRoleDeve")


def test_the_bucket_is_applied_private_tls_only_and_expiring(applied: Applied) -> None:
    s3 = applied.aws.client("s3", applied.provider)
    bucket = applied.bucket
    assert bucket.startswith("server-stag-payloads-")
    assert applied.outputs["payload_bucket"] == bucket
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values()), block
    controls = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
    assert controls == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    (rule,) = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    assert policy["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert sorted((r["Filter"]["Prefix"], r["Expiration"]["Days"]) for r in rules) == [
        ("request/", 1),
        ("response/", 1),
    ]
    iam = applied.aws.client("iam", applied.provider)
    assert sorted(iam.list_role_policies(RoleName=ROLE)["PolicyNames"]) == ["InvokeApi", "PayloadHandoff"]


def test_25_mb_round_trip_is_byte_identical(applied: Applied) -> None:
    body = pattern(25 * MB)
    with applied.client() as api:
        response = api.put("/echo", data=body, headers={"Content-Type": "application/x-pattern"})
    assert response.status_code == 200
    assert len(response.content) == len(body)
    assert hashlib.sha256(response.content).digest() == hashlib.sha256(body).digest()
    assert response.headers["Content-Type"] == "application/x-pattern"


def test_11_mb_without_the_hand_off_is_413_as_api_gateway_answers(applied: Applied) -> None:
    with applied.client(payload_bucket=None) as api, pytest.raises(HttpError) as refused:
        api.put("/echo", data=pattern(11 * MB))
    assert refused.value.response is not None
    assert refused.value.response.status_code == 413
    assert refused.value.response.text == "HTTP content length exceeded 10485760 bytes."


def test_a_reference_to_another_roles_prefix_is_403(applied: Applied) -> None:
    with applied.client() as api:
        assert api.payloads is not None
        user_id = api.payloads.caller().user_id  # this session's "<role id>:<session name>"
    other_key = f"request/{OTHER_ROLE}/{user_id}/{'0' * 32}"
    body = b"belongs to the other role"
    applied.aws.client("s3", applied.provider).put_object(Bucket=applied.bucket, Key=other_key, Body=body)
    reference = PayloadReference(applied.bucket, other_key, len(body), hashlib.sha256(body).hexdigest())
    with applied.client(payload_bucket=None) as api, pytest.raises(HttpError) as refused:
        api.put("/echo", data=reference.to_json(), headers={"Content-Type": REFERENCE_CONTENT_TYPE})
    assert refused.value.response is not None
    assert refused.value.response.status_code == 403
    # And S3 itself: the invoke role's own credentials cannot read or write the other role's prefix.
    with applied.client() as api:
        s3 = api.payloads.s3() if api.payloads is not None else None
        assert s3 is not None
        with pytest.raises(ClientError) as denied:
            s3.get_object(Bucket=applied.bucket, Key=other_key)
        assert denied.value.response["Error"]["Code"] == "AccessDenied"
        with pytest.raises(ClientError) as denied:
            s3.put_object(Bucket=applied.bucket, Key=other_key, Body=b"x")
        assert denied.value.response["Error"]["Code"] == "AccessDenied"


def test_a_202_is_followed_to_its_answer(applied: Applied) -> None:
    with applied.client() as api:
        naps: list[float] = []
        api.sleep = naps.append
        response = api.post("/jobs", wait=True, wait_deadline=30)
        assert response.status_code == 200
        assert response.json()["polls"] == 3
        assert response.json()["query"] == "view=full"
        assert naps == [0.5, 1.0, 2.0]  # backoff: Retry-After 0 does not shorten it

        accepted = api.post("/jobs")
        assert accepted.status_code == 202  # without wait, the 202 itself
        assert api.wait(accepted, deadline=30, first_delay=0.01).json()["polls"] == 3


def test_waiting_past_the_deadline_is_a_typed_error(applied: Applied) -> None:
    with applied.client() as api:
        with pytest.raises(WaitTimedOut) as timed_out:
            api.post("/forever", wait=True, wait_deadline=0.3)
        assert timed_out.value.location == "/forever"
        assert "still 202 Accepted after 0.3 s" in str(timed_out.value)
        with pytest.raises(WaitRefused, match="without a Location header"):
            api.post("/nowhere", wait=True)
        with pytest.raises(WaitRefused, match="on another host than the API"):
            api.post("/elsewhere", wait=True)


def cli_environment(applied: Applied) -> dict[str, str]:
    credentials = applied.aws.workload_session(applied.consumer_role_arn, region=REGION).get_credentials()
    assert credentials is not None
    frozen = credentials.get_frozen_credentials()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "XACCT_"))}
    env.update(
        AWS_ENDPOINT_URL=applied.aws.endpoint_url,
        AWS_ACCESS_KEY_ID=frozen.access_key,
        AWS_SECRET_ACCESS_KEY=frozen.secret_key,
        AWS_SESSION_TOKEN=frozen.token or "",
        AWS_REGION=REGION,
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env


def test_the_cli_streams_a_file_through_the_bucket_and_waits(applied: Applied, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    body = pattern(12 * MB)
    big.write_bytes(body)
    common = ["--role-arn", applied.role_arn(), "--endpoint-url", applied.aws.endpoint_url]
    url = applied.outputs["invoke_url"].rstrip("/")
    result = subprocess.run(
        [XACCT, "call", "PUT", f"{url}/echo", "-d", f"@{big}", "--payload-bucket", applied.bucket, *common],
        env=cli_environment(applied),
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-500:]
    assert hashlib.sha256(result.stdout).digest() == hashlib.sha256(body).digest()  # byte for byte

    waited = subprocess.run(
        [XACCT, "call", "POST", f"{url}/jobs", "--wait", "30", *common],
        env=cli_environment(applied),
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert waited.returncode == 0, waited.stderr
    assert json.loads(waited.stdout)["polls"] == 3


def test_the_second_plan_is_empty(applied: Applied) -> None:
    code, out = applied.workspace.plan_exit_code()
    assert code == 0, f"the second plan is not empty:\n{out}"
