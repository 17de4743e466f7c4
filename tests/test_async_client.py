"""AsyncApiClient behaves as ApiClient does: each scenario runs through both, against the local AWS's gateway (or
a scripted server at endpoint_url), and the outcomes - what arrived, statuses, attempts, error types and messages
- are compared. Plus what only the async client has: many tasks on one client, one AssumeRole per refresh."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from test_client import PATHS, QUERIES, _Scripted, scripted
from xacct import ApiClient, AsyncApiClient, ConnectionFailed, HttpError, RetryPolicy, XacctError
from xacct.local import LocalAws
from xacct.local.echo_server import EchoServer
from xacct.local.stacks import ApiStack, allow, build_api, trust
from xacct.payloads import REFERENCE_CONTENT_TYPE, PayloadReference, prefix

from helpers import REGION, closed_port

FIXTURES = (scripted,)  # test_client's scripted server (answers each path with its script of statuses), used here


@pytest.fixture(scope="module")
def stack(local_aws: LocalAws, echo: EchoServer, new_account: Callable[[], str]) -> ApiStack:
    return build_api(local_aws, new_account(), new_account(), echo.url)


Scenario = Callable[[Any], Any]  # given a client (ApiClient, or AsyncApiClient with awaiting done for it), a result


class Sync:
    """Calls an ApiClient."""

    def __init__(self, client: ApiClient) -> None:
        self.client = client

    def __call__(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.client.request(method, path, **kwargs)


def outcome(response_or_error: Any) -> dict[str, Any]:
    """What a caller sees: the status and body, or the error's type, message and fields."""
    if isinstance(response_or_error, BaseException):
        error = response_or_error
        return {
            "error": type(error).__name__,
            "message": str(error),
            **{k: getattr(error, k) for k in ("reason", "attempts", "status_code", "url") if hasattr(error, k)},
        }
    return {"status": response_or_error.status_code, "body": response_or_error.content}


def run_both(
    make: Callable[..., Any],
    calls: list[tuple[str, str, dict[str, Any]]],
    *,
    between: Callable[[], None] = lambda: None,
    **kwargs: Any,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Each (method, path, kwargs) through ApiClient then AsyncApiClient (``make(cls, **kwargs)`` builds them);
    ``between`` runs before each of the two (e.g. to reset a scripted server)."""
    sync_results = []
    between()
    with make(ApiClient, **kwargs) as api:
        api.sleep = lambda _: None
        for method, path, extra in calls:
            try:
                sync_results.append(outcome(api.request(method, path, **extra)))
            except XacctError as error:
                sync_results.append(outcome(error))

    async def main() -> list[dict[str, Any]]:
        results = []
        async with make(AsyncApiClient, **kwargs) as api:

            async def no_sleep(_: float) -> None:
                return None

            api.sleep = no_sleep
            for method, path, extra in calls:
                try:
                    results.append(outcome(await api.request(method, path, **extra)))
                except XacctError as error:
                    results.append(outcome(error))
        return results

    between()
    return sync_results, asyncio.run(main())


def through_gateway(stack: ApiStack) -> Callable[..., Any]:
    def make(cls: type[Any], **kwargs: Any) -> Any:
        kwargs.setdefault("source_session", stack.workload())
        kwargs.setdefault("endpoint_url", stack.aws.endpoint_url)
        return cls(stack.base_url, stack.invoke_role_arn, **kwargs)

    return make


def echoed(result: dict[str, Any]) -> dict[str, Any]:
    """The echo minus what differs between any two requests (date, signature) and between the HTTP libraries."""
    echo = json.loads(result["body"])
    varying = {
        "authorization",
        "x-amz-date",
        "x-amzn-trace-id",
        "user-agent",
        "accept",
        "accept-encoding",
        "connection",
    }
    echo["headers"] = {k: v for k, v in echo["headers"].items() if k not in varying}
    return echo


def test_what_arrives_is_what_the_sync_client_sends(stack: ApiStack) -> None:
    calls: list[tuple[str, str, dict[str, Any]]] = [("GET", path, {}) for path in PATHS]
    calls += [("GET", "/search", {"params": params}) for params in QUERIES]
    calls += [
        ("POST", "/hoge", {"json": {"foo": "bar", "n": [1, 2]}}),
        ("PUT", "/hoge", {"data": b"\x00raw bytes", "headers": {"X-Team": "orders"}}),
        ("PATCH", "/hoge", {"data": "日本語 text"}),
        ("POST", "/hoge", {"data": {"a": "1 2", "b": "+"}}),
        ("DELETE", "/hoge", {}),
        ("OPTIONS", "/hoge", {}),
        ("head", "/hoge", {}),
    ]
    sync_results, async_results = run_both(through_gateway(stack), calls)
    for (method, path, _), mine, theirs in zip(calls, async_results, sync_results, strict=True):
        assert mine["status"] == theirs["status"] == 200, (method, path, mine)
        if method != "head":
            assert echoed(mine) == echoed(theirs), (method, path)
    # A file is read as ApiClient reads it (files are single-use, hence a call each).
    make = through_gateway(stack)
    with make(ApiClient) as api:
        assert api.post("/hoge", data=io.BytesIO(b"from a file")).json()["body"] == "from a file"

    async def post() -> str:
        async with make(AsyncApiClient) as api:
            return str((await api.post("/hoge", data=io.BytesIO(b"from a file"))).json()["body"])

    assert asyncio.run(post()) == "from a file"


RETRIES = [
    ("GET", {}, [503, 503], 3),
    ("GET", {}, [503, 503, 503], 3),
    ("PUT", {}, [502], 2),
    ("DELETE", {}, [504], 2),
    ("GET", {}, [429], 2),
    ("GET", {}, [500], 1),
    ("GET", {}, [404], 1),
    ("POST", {}, [503], 1),
    ("POST", {"Idempotency-Key": "k-1"}, [503, 429], 3),
    ("PATCH", {}, [502], 1),
    ("PATCH", {"Idempotency-Key": "k-2"}, [502], 2),
]


def at(endpoint: str, stack: ApiStack) -> Callable[..., Any]:
    def make(cls: type[Any], **kwargs: Any) -> Any:
        kwargs.setdefault("retries", RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05))
        kwargs.setdefault("source_session", stack.workload())
        return cls(stack.base_url, stack.invoke_role_arn, endpoint_url=endpoint, **kwargs)

    return make


def test_retries_by_method_and_status_match(stack: ApiStack, scripted: type[_Scripted]) -> None:
    for method, headers, script, attempts in RETRIES:
        counts: list[int] = []

        def reset(script: list[int] = script, counts: list[int] = counts) -> None:
            counts.append(len(scripted.attempts))
            scripted.attempts.clear()
            scripted.scripts["/r"] = list(script)

        sync_results, async_results = run_both(
            at(scripted.url, stack),  # type: ignore[attr-defined]
            [(method, "/r", {"headers": headers})],
            between=reset,
        )
        reset()
        assert counts[1:] == [attempts, attempts], (method, headers, script)
        assert async_results == sync_results, (method, headers, script)


def test_no_answer_is_the_same_typed_error(stack: ApiStack, scripted: type[_Scripted]) -> None:
    """Refused (retried, then ConnectionFailed), TLS against a plain HTTP port (not retried), a POST that never
    reached the server (retried), a read timeout (TimedOut; retried for GET only), and DNS."""
    refused = f"http://127.0.0.1:{closed_port()}"
    sync_results, async_results = run_both(at(refused, stack), [("GET", "/hoge", {}), ("POST", "/hoge", {"json": {}})])
    assert async_results == sync_results
    assert [r["reason"] for r in async_results] == ["refused", "refused"]
    assert [r["attempts"] for r in async_results] == [3, 3]
    assert async_results[0]["message"].endswith(f"(endpoint_url {refused}); 3 attempts")

    tls = scripted.url.replace("http://", "https://")  # type: ignore[attr-defined]
    sync_results, async_results = run_both(at(tls, stack), [("GET", "/hoge", {})])
    assert async_results[0]["reason"] == sync_results[0]["reason"] == "tls"
    assert async_results[0]["attempts"] == 1
    assert async_results[0]["message"].startswith(f"GET https://{stack.host}/hoge: TLS with 127.0.0.1:")
    assert re.search("wrong.version.number", async_results[0]["message"], re.IGNORECASE)

    scripted.delay = 0.5
    sync_results, async_results = run_both(
        at(scripted.url, stack),  # type: ignore[attr-defined]
        [("GET", "/slow", {}), ("POST", "/slow", {})],
        timeout=(2.0, 0.1),
    )
    assert async_results == sync_results
    assert [(r["error"], r["reason"], r["attempts"]) for r in async_results] == [
        ("TimedOut", "read_timeout", 3),
        ("TimedOut", "read_timeout", 1),
    ]

    def dns(cls: type[Any], **kwargs: Any) -> Any:
        return cls(
            "https://api.xacct-test.invalid/v1", stack.invoke_role_arn, region=REGION, source_session=stack.workload()
        )

    sync_results, async_results = run_both(dns, [("GET", "/hoge", {"params": {"q": "a b"}})])
    assert async_results == sync_results
    assert async_results[0]["message"] == (
        "GET https://api.xacct-test.invalid/v1/hoge?q=a%20b: cannot resolve the host name "
        "'api.xacct-test.invalid' (DNS); 3 attempts"
    )


@pytest.mark.parametrize(
    ("answer_after", "total_timeout", "attempts"),
    [
        (1.2, 2.0, 1),  # a slow 504 is not tried again: another attempt would pass the deadline
        (0.0, 5.0, 3),
    ],
)
def test_total_timeout_bounds_the_retries(
    stack: ApiStack, scripted: type[_Scripted], answer_after: float, total_timeout: float, attempts: int
) -> None:
    policy = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05, total_timeout=total_timeout)

    async def main() -> HttpError:
        async with at(scripted.url, stack)(AsyncApiClient, retries=policy) as api:  # type: ignore[attr-defined]
            assert (await api.get("/warm")).status_code == 200  # credentials first, as in test_client
            scripted.attempts.clear()
            scripted.scripts["/slow"] = [504, 504, 504]
            scripted.delay = answer_after
            with pytest.raises(HttpError) as error:
                await api.get("/slow")
            return error.value

    error = asyncio.run(main())
    assert len(scripted.attempts) == error.attempts == attempts
    assert isinstance(error.response, httpx.Response)
    message = str(error)
    assert message.startswith(f"GET https://{stack.host}/slow -> 504 Gateway Timeout")
    assert ("after 3 attempts" in message) == (attempts == 3)
    assert ("(not retried: another attempt would pass the 2 s total_timeout)" in message) == (attempts == 1)


def test_total_timeout_cuts_a_slow_attempt_short(stack: ApiStack, scripted: type[_Scripted]) -> None:
    policy = RetryPolicy(max_attempts=3, base_delay=0.01, total_timeout=0.5)

    async def main() -> ConnectionFailed:
        async with at(scripted.url, stack)(AsyncApiClient, retries=policy, timeout=(2.0, 10.0)) as api:  # type: ignore[attr-defined]
            assert (await api.get("/warm")).status_code == 200
            scripted.delay = 3.0
            with pytest.raises(ConnectionFailed) as error:
                await api.get("/hoge")
            return error.value

    error = asyncio.run(main())
    assert type(error).__name__ == "TimedOut"
    assert error.reason == "read_timeout"
    assert str(error).endswith("; 1 attempt, stopped by the 0.5 s total_timeout")


def test_denials_and_errors_are_the_same_types_and_messages(
    local_aws: LocalAws, echo: EchoServer, new_account: Callable[[], str], scripted: type[_Scripted]
) -> None:
    narrow = build_api(local_aws, new_account(), new_account(), echo.url, resources=("GET/allowed",))
    sync_results, async_results = run_both(through_gateway(narrow), [("GET", "/denied", {}), ("GET", "/allowed", {})])
    assert async_results[0] == sync_results[0]
    assert async_results[0]["error"] == "InvokeDenied"
    assert async_results[0]["message"].startswith(
        "403 from API Gateway (not_authorized): the invoke role ApiInvoke may not call GET /denied"
    )
    assert async_results[1]["status"] == 200

    sync_results, _ = run_both(
        at(scripted.url, narrow),  # type: ignore[attr-defined]
        [("GET", "/app-403", {})],
        between=lambda: scripted.scripts.update({"/app-403": [403]}),
    )
    scripted.scripts["/app-403"] = [403]

    async def app_403() -> HttpError:
        async with at(scripted.url, narrow)(AsyncApiClient) as api:  # type: ignore[attr-defined]
            with pytest.raises(HttpError) as error:
                await api.get("/app-403")
            return error.value

    error = asyncio.run(app_403())
    assert error.response.json() == {"error": "scripted"}
    assert outcome(error) == sync_results[0]
    assert sync_results[0]["error"] == "HttpError"

    # AssumeRole refused: the same AssumeRoleDenied, naming both halves.
    iam = local_aws.client("iam", narrow.consumer)
    iam.create_role(RoleName="NotTrusted", AssumeRolePolicyDocument=trust(service=True))
    iam.put_role_policy(RoleName="NotTrusted", PolicyName="a", PolicyDocument=allow("sts:AssumeRole", "*"))
    untrusted = local_aws.workload_session(f"arn:aws:iam::{narrow.consumer}:role/NotTrusted")
    sync_results, async_results = run_both(through_gateway(narrow), [("GET", "/allowed", {})], source_session=untrusted)
    assert async_results == sync_results
    assert async_results[0]["error"] == "AssumeRoleDenied"
    assert f"may not assume {narrow.invoke_role_arn}" in async_results[0]["message"]


class _Jobs(BaseHTTPRequestHandler):
    """POST /jobs: 202 + Location /jobs/1?view=full, answered 200 at the third poll; other 202 shapes."""

    protocol_version = "HTTP/1.1"
    polls: dict[str, int]

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = self.path.split("?")[0]
        status, headers, body = 404, {}, b"not found"
        if path == "/jobs":
            self.polls["1"] = 0
            status, headers, body = 202, {"Location": "/jobs/1?view=full", "Retry-After": "0"}, b'{"accepted":true}'
        elif path == "/jobs/1":
            self.polls["1"] += 1
            if self.polls["1"] >= 3:
                status, body = 200, json.dumps({"polls": self.polls["1"], "query": self.path.split("?")[1]}).encode()
            else:
                status, headers, body = 202, {"Location": "/jobs/1?view=full"}, b""
        elif path == "/forever":
            status, headers, body = 202, {"Location": "/forever"}, b""
        elif path == "/nowhere":
            status, body = 202, b""
        elif path == "/elsewhere":
            status, headers, body = 202, {"Location": "https://elsewhere.example.com/jobs/1"}, b""
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: Any) -> None:  # noqa: ARG002  (quiet)
        return None


@pytest.fixture
def jobs() -> Iterator[str]:
    handler = type("Jobs", (_Jobs,), {"polls": {}})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_202_is_followed_as_the_sync_client_follows_it(stack: ApiStack, jobs: str) -> None:
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", "/jobs", {"wait": True, "wait_deadline": 30}),
        ("POST", "/forever", {"wait": True, "wait_deadline": 0.3}),
        ("POST", "/nowhere", {"wait": True}),
        ("POST", "/elsewhere", {"wait": True}),
        ("POST", "/jobs", {}),
    ]
    sync_results, async_results = run_both(at(jobs, stack), calls)
    assert async_results == sync_results
    assert json.loads(async_results[0]["body"]) == {"polls": 3, "query": "view=full"}
    assert async_results[1]["error"] == "WaitTimedOut"
    assert async_results[2]["error"] == async_results[3]["error"] == "WaitRefused"
    assert async_results[4]["status"] == 202  # without wait=True, the 202 itself


# -- the payload hand-off ------------------------------------------------------------------------------------


class _References(BaseHTTPRequestHandler):
    """Records the request's body and content type; answers GET /big with the reference it was given."""

    protocol_version = "HTTP/1.1"
    received: list[tuple[str | None, bytes]]
    answer: list[bytes]

    def _answer(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.received.append((self.headers.get("Content-Type"), body))
        content_type, out = "text/plain", b"ok"
        if self.path.startswith("/big") and self.answer:
            content_type, out = REFERENCE_CONTENT_TYPE, self.answer[0]
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_PUT = do_POST = _answer

    def log_message(self, *args: Any) -> None:  # noqa: ARG002  (quiet)
        return None


def test_the_payload_hand_off_is_the_sync_clients(local_aws: LocalAws, new_account: Callable[[], str]) -> None:
    """A body over the threshold goes to the payload bucket, the request carries the reference; a reference in an
    answer is fetched and verified - in worker threads for the async client."""
    handler = type("References", (_References,), {"received": [], "answer": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        stack = build_api(local_aws, new_account(), new_account(), f"http://127.0.0.1:{server.server_address[1]}")
        bucket = f"payloads-{stack.provider}"
        s3 = local_aws.client("s3", stack.provider)
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        local_aws.client("iam", stack.provider).put_role_policy(
            RoleName="ApiInvoke",
            PolicyName="payloads",
            PolicyDocument=allow("s3:*", f"arn:aws:s3:::{bucket}/*"),
        )
        big = bytes(range(256)) * 300  # 76,800 bytes, over the 10,000-byte threshold below
        with through_gateway(stack)(ApiClient, payload_bucket=bucket, payload_threshold=10_000) as api:
            caller = api.payloads.caller()  # type: ignore[union-attr]
        key = prefix("response", caller) + uuid.uuid4().hex
        s3.put_object(Bucket=bucket, Key=key, Body=big)
        digest = hashlib.sha256(big).hexdigest()
        handler.answer.append(PayloadReference(bucket, key, len(big), digest, "application/octet-stream").to_json())

        calls: list[tuple[str, str, dict[str, Any]]] = [
            ("PUT", "/upload", {"data": big}),
            ("PUT", "/small", {"data": b"small"}),
            ("GET", "/big", {}),
        ]
        sync_results, async_results = run_both(
            through_gateway(stack), calls, payload_bucket=bucket, payload_threshold=10_000
        )
    finally:
        server.shutdown()
    assert async_results == sync_results
    assert async_results[2]["body"] == big
    sent = [(kind, body) for kind, body in handler.received if kind == REFERENCE_CONTENT_TYPE]
    assert len(sent) == 2  # one reference from each client
    for _, body in sent:
        reference = PayloadReference.parse(body)
        assert (reference.length, reference.sha256) == (len(big), digest)
        assert s3.get_object(Bucket=bucket, Key=reference.key)["Body"].read() == big
    assert [body for kind, body in handler.received if body == b"small"] == [b"small", b"small"]


# -- many tasks, one client ----------------------------------------------------------------------------------


def test_many_tasks_across_refreshes_one_assume_role_each(stack: ApiStack) -> None:
    """The soak, small: 50 tasks on one client through 4-second sessions until three refreshes have happened -
    every call answered 200 and signed with a valid session, one AssumeRole per refresh."""
    workload = stack.workload().get_credentials()
    assert workload is not None
    frozen = workload.get_frozen_credentials()
    with LocalAws(region=REGION, session_ttl_seconds=4) as short:
        source = short.session_with_keys(frozen.access_key, frozen.secret_key, frozen.token)

        async def main() -> tuple[list[int], set[str], int]:
            statuses: list[int] = []
            keys: set[str] = set()
            async with AsyncApiClient(
                stack.base_url, stack.invoke_role_arn, source_session=source, endpoint_url=short.endpoint_url
            ) as api:

                async def work() -> None:
                    while api.role.credentials.refresh_count < 4 and len(statuses) < 20_000:
                        response = await api.get("/hoge")
                        statuses.append(response.status_code)
                        found = re.search(r"Credential=([^/]+)/", response.json()["headers"]["authorization"])
                        assert found is not None
                        keys.add(found.group(1))

                await asyncio.gather(*(work() for _ in range(50)))
                return statuses, keys, api.role.credentials.refresh_count

        statuses, keys, refreshes = asyncio.run(main())
        records = [r for r in short.assume_role_records if r.role_arn == stack.invoke_role_arn and r.allowed]
    assert set(statuses) == {200}
    assert refreshes >= 4
    assert len(records) == refreshes == len(keys)
