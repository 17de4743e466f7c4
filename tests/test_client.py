"""The consumer client against the local AWS's gateway (which checks every signature with botocore)."""

from __future__ import annotations

import io
import json
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
import requests
from botocore.credentials import Credentials

from xacct import (
    ApiClient,
    AssumeRoleDenied,
    ConfigError,
    HttpError,
    IamAuth,
    InsecureTransport,
    InvokeDenied,
    NoSourceCredentials,
    RetryPolicy,
)
from xacct.errors import ConnectionFailed, TimedOut, denial_reason, redact_bytes
from xacct.local import LocalAws
from xacct.local.echo_server import EchoServer
from xacct.local.stacks import ApiStack, allow, build_api, trust

from helpers import REGION, closed_port


@pytest.fixture(scope="module")
def stack(local_aws: LocalAws, echo: EchoServer, new_account: Callable[[], str]) -> ApiStack:
    """One API for the module: no test changes it (each counts only what it caused), and building it costs ~1 s."""
    return build_api(local_aws, new_account(), new_account(), echo.url)


# -- what is signed is what is sent --------------------------------------------------------------------------

PATHS = [
    "/hoge",
    "/with space/and more",
    "/ünïcödé/日本語",
    "/plus+sign",
    "/equals=sign",
    "/percent%20literal",
    "/reserved!$&'()*,;:@",
    "/trailing/",
    "/tilde~dot.dash-under_",
]


@pytest.mark.parametrize("path", PATHS)
def test_paths_arrive_as_given(stack: ApiStack, path: str) -> None:
    with stack.client() as api:
        echo = api.get(path).json()
    assert echo["path"] == path


QUERIES: list[Any] = [
    {"q": "a b"},
    {"q": "a+b"},
    {"q": "x=y&z"},
    {"k": ["2", "1", "2"]},
    {"empty": ""},
    {"ü": "日本", "z": "1", "a": "2"},
    [("dup", "b"), ("dup", "a"), ("other", "%")],
]


@pytest.mark.parametrize("params", QUERIES, ids=[json.dumps(q, ensure_ascii=True) for q in QUERIES])
def test_query_strings_arrive_as_given(stack: ApiStack, params: Any) -> None:
    with stack.client() as api:
        echo = api.get("/search", params=params).json()
    items = params.items() if isinstance(params, dict) else params
    expected = sorted((k, v) for k, vs in items for v in (vs if isinstance(vs, list) else [vs]))
    assert sorted(tuple(pair) for pair in echo["query"]) == expected


@pytest.mark.parametrize(
    ("kwargs", "body", "content_type"),
    [
        ({"json": {"foo": "bar", "n": [1, 2]}}, '{"foo":"bar","n":[1,2]}', "application/json"),
        ({"data": b"\x00raw bytes"}, "\x00raw bytes", None),
        ({"data": "日本語 text"}, "日本語 text", "text/plain; charset=utf-8"),
        ({"data": {"a": "1 2", "b": "+"}}, "a=1+2&b=%2B", "application/x-www-form-urlencoded"),
        ({"data": io.BytesIO(b"from a file")}, "from a file", None),
    ],
)
def test_bodies_arrive_as_given(stack: ApiStack, kwargs: dict[str, Any], body: str, content_type: str | None) -> None:
    with stack.client() as api:
        echo = api.post("/hoge", **kwargs).json()
    assert echo["body"] == body
    assert echo["headers"].get("content-type") == content_type


def test_iam_auth_works_with_plain_requests(local_aws: LocalAws, stack: ApiStack) -> None:
    """IamAuth on its own: any requests call, params encoded by requests itself."""
    creds = stack.invoke_credentials()
    auth = IamAuth(Credentials(creds["key"], creds["secret"], creds["token"]), REGION)
    with requests.Session() as session:
        response = session.put(
            f"{local_aws.endpoint_url}/hoge",
            params={"q": "a b+c", "k": ["1", "2"]},
            json={"foo": "bar"},
            headers={"Host": stack.host, "X-Team": "orders"},
            auth=auth,
            timeout=10,
        )
    assert response.status_code == 200, response.text
    echo = response.json()
    assert sorted(map(tuple, echo["query"])) == [("k", "1"), ("k", "2"), ("q", "a b+c")]
    assert echo["headers"]["x-team"] == "orders"
    assert "x-team" in echo["headers"]["authorization"]  # caller-chosen headers are signed


def test_region_comes_from_the_execute_api_host(stack: ApiStack) -> None:
    client = ApiClient(
        "https://abc123.execute-api.eu-west-3.amazonaws.com/v1", stack.invoke_role_arn, source_session=stack.workload()
    )
    assert client.region == "eu-west-3"


def test_endpoint_from_the_environment(stack: ApiStack, local_aws: LocalAws, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XACCT_ENDPOINT_URL", local_aws.endpoint_url)
    with ApiClient(stack.base_url, stack.invoke_role_arn, source_session=stack.workload()) as api:
        assert api.endpoint_url == local_aws.endpoint_url
        assert api.get("/hoge").status_code == 200


# -- credentials: one AssumeRole per lifetime, refreshed before expiry, under concurrent use --------------------


def test_one_assume_role_serves_many_requests(local_aws: LocalAws, stack: ApiStack) -> None:
    before = len(local_aws.assume_role_records)
    with stack.client() as api:
        for _ in range(25):
            api.get("/hoge")
        assert api.role.credentials.refresh_count == 1
    calls = [r for r in local_aws.assume_role_records[before:] if r.role_arn == stack.invoke_role_arn]
    assert len(calls) == 1


def test_credentials_refresh_before_expiry_under_concurrent_use(local_aws: LocalAws, stack: ApiStack) -> None:
    """6-second sessions, 8 threads for 10 s: every request accepted (none sent expired), one AssumeRole per refresh."""
    ttl, threads, run_for = 6, 8, 10.0
    workload = stack.workload().get_credentials()
    assert workload is not None
    frozen = workload.get_frozen_credentials()
    with LocalAws(region=REGION, session_ttl_seconds=ttl) as short:  # a front door whose STS issues 6 s sessions
        source = short.session_with_keys(frozen.access_key, frozen.secret_key, frozen.token)
        api = ApiClient(stack.base_url, stack.invoke_role_arn, source_session=source, endpoint_url=short.endpoint_url)
        statuses: list[int] = []
        keys: list[str] = []
        errors: list[BaseException] = []
        lock = threading.Lock()
        deadline = time.monotonic() + run_for

        def work() -> None:
            try:
                while time.monotonic() < deadline:
                    response = api.get("/hoge")
                    key = re.search(r"Credential=([^/]+)/", response.json()["headers"]["authorization"])
                    assert key is not None
                    with lock:
                        statuses.append(response.status_code)
                        keys.append(key.group(1))
            except BaseException as error:  # reported below, with the statuses
                errors.append(error)

        workers = [threading.Thread(target=work) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        api.close()
        records = [r for r in short.assume_role_records if r.role_arn == stack.invoke_role_arn and r.allowed]

    assert errors == []
    assert len(statuses) > 100
    assert set(statuses) == {200}
    distinct = list(dict.fromkeys(keys))
    # One AssumeRole per refresh, and every refreshed session was used.
    assert len(records) == api.role.credentials.refresh_count == len(distinct)
    # Refreshed while still valid: with 6 s sessions refreshed at 1.5 s before expiry, about every 4.5 s.
    assert 2 <= len(distinct) <= math.ceil(run_for / (ttl - ttl / 4)) + 1


# -- retries ------------------------------------------------------------------------------------------------


class _Scripted(BaseHTTPRequestHandler):
    """Answers each path with the next status of its script (then 200), recording every attempt."""

    protocol_version = "HTTP/1.1"
    scripts: dict[str, list[int]]
    attempts: list[dict[str, str]]
    retry_after: str | None = None
    delay: float = 0.0

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.attempts.append(
            {"path": self.path, "method": self.command, **{k.lower(): v for k, v in self.headers.items()}}
        )
        time.sleep(self.delay)
        script = self.scripts.get(self.path.split("?")[0], [])
        status = script.pop(0) if script else 200
        body = b'{"error":"scripted"}' if status >= 400 else b'{"ok":true}'
        try:
            self.send_response(status)
            if status in (429, 503) and self.retry_after is not None:
                self.send_header("Retry-After", self.retry_after)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client timed out and went away
            return

    do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = _answer

    def __getattr__(self, name: str) -> Any:
        """Any other method too (``do_PUTT``): what was sent is recorded, whatever it is."""
        if name.startswith("do_"):
            return self._answer
        raise AttributeError(name)

    def log_message(self, *args: Any) -> None:  # noqa: ARG002  (quiet)
        return None


@pytest.fixture
def scripted() -> Iterator[type[_Scripted]]:
    handler = type("Handler", (_Scripted,), {"scripts": {}, "attempts": [], "retry_after": None, "delay": 0.0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    handler.url = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    yield handler
    server.shutdown()


def _client(stack: ApiStack, endpoint: str, **kwargs: Any) -> ApiClient:
    kwargs.setdefault("retries", RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05))
    return stack.client(endpoint_url=endpoint, **kwargs)


@pytest.mark.parametrize(
    ("method", "headers", "script", "attempts", "final"),
    [
        ("GET", {}, [503, 503], 3, 200),
        ("GET", {}, [503, 503, 503], 3, 503),
        ("PUT", {}, [502], 2, 200),
        ("DELETE", {}, [504], 2, 200),
        ("GET", {}, [429], 2, 200),
        ("GET", {}, [500], 1, 500),
        ("GET", {}, [404], 1, 404),
        ("POST", {}, [503], 1, 503),
        ("POST", {"Idempotency-Key": "k-1"}, [503, 429], 3, 200),
        ("PATCH", {}, [502], 1, 502),
        ("PATCH", {"Idempotency-Key": "k-2"}, [502], 2, 200),
    ],
)
def test_retries_by_method_and_status(
    stack: ApiStack,
    scripted: type[_Scripted],
    method: str,
    headers: dict[str, str],
    script: list[int],
    attempts: int,
    final: int,
) -> None:
    scripted.scripts["/r"] = list(script)
    with _client(stack, scripted.url) as api:  # type: ignore[attr-defined]
        if final == 200:
            assert api.request(method, "/r", headers=headers).status_code == 200
        else:
            with pytest.raises(HttpError) as error:
                api.request(method, "/r", headers=headers)
            assert error.value.status_code == final
            assert not isinstance(error.value, InvokeDenied)
    assert len(scripted.attempts) == attempts
    assert all(a["authorization"].startswith("AWS4-HMAC-SHA256 Credential=") for a in scripted.attempts)


def test_every_attempt_is_signed_afresh(stack: ApiStack, scripted: type[_Scripted]) -> None:
    scripted.scripts["/r"] = [503]
    scripted.retry_after = "1.1"  # honoured: the retry goes out in the next second, with a new signature
    with _client(stack, scripted.url, retries=RetryPolicy(max_attempts=2, max_delay=2)) as api:  # type: ignore[attr-defined]
        assert api.get("/r").status_code == 200
    first, second = scripted.attempts
    assert first["x-amz-date"] != second["x-amz-date"]
    assert first["authorization"] != second["authorization"]


def test_a_post_that_never_reached_the_server_is_retried(stack: ApiStack) -> None:
    sleeps: list[float] = []
    with _client(stack, f"http://127.0.0.1:{closed_port()}") as api:
        api.sleep = sleeps.append
        with pytest.raises(requests.ConnectionError):
            api.post("/hoge", json={"foo": "bar"})
    assert len(sleeps) == 2  # three attempts


@pytest.mark.parametrize(("method", "attempts"), [("GET", 3), ("POST", 1)])
def test_read_timeouts_are_retried_for_idempotent_methods_only(
    stack: ApiStack, scripted: type[_Scripted], method: str, attempts: int
) -> None:
    scripted.delay = 0.5
    with _client(stack, scripted.url, timeout=(2.0, 0.1)) as api, pytest.raises(requests.Timeout):  # type: ignore[attr-defined]
        api.request(method, "/slow")
    time.sleep(0.6)  # let the server finish recording the last attempt
    assert len(scripted.attempts) == attempts


# -- no answer: typed errors with the URL as named and the attempts; a total deadline ------------------------


def test_dns_failure_names_the_url_and_the_attempts(stack: ApiStack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XACCT_ENDPOINT_URL", raising=False)
    sleeps: list[float] = []
    with ApiClient(
        "https://api.xacct-test.invalid/v1", stack.invoke_role_arn, region=REGION, source_session=stack.workload()
    ) as api:
        api.sleep = sleeps.append
        with pytest.raises(ConnectionFailed) as error:
            api.get("/hoge", params={"q": "a b"})
    assert error.value.reason == "dns"
    assert error.value.attempts == 3
    assert len(sleeps) == 2
    assert error.value.url == "https://api.xacct-test.invalid/v1/hoge?q=a%20b"
    assert str(error.value) == (
        "GET https://api.xacct-test.invalid/v1/hoge?q=a%20b: cannot resolve the host name "
        "'api.xacct-test.invalid' (DNS); 3 attempts"
    )


def test_connection_refused_shows_the_api_url_not_only_the_endpoint(stack: ApiStack) -> None:
    port = closed_port()
    with _client(stack, f"http://127.0.0.1:{port}") as api:
        api.sleep = lambda _: None
        with pytest.raises(ConnectionFailed) as error:
            api.get("/hoge")
    assert error.value.reason == "refused"
    assert error.value.attempts == 3
    assert isinstance(error.value, requests.ConnectionError)  # code written against requests keeps working
    assert str(error.value).startswith(f"GET https://{stack.host}/hoge: connection refused by 127.0.0.1:{port} ")
    assert str(error.value).endswith(f"(endpoint_url http://127.0.0.1:{port}); 3 attempts")


def test_tls_failure_is_not_retried(stack: ApiStack, scripted: type[_Scripted]) -> None:
    plain_http = scripted.url.replace("http://", "https://")  # type: ignore[attr-defined]
    with _client(stack, plain_http) as api, pytest.raises(ConnectionFailed) as error:
        api.get("/hoge")
    assert error.value.reason == "tls"
    assert error.value.attempts == 1
    assert str(error.value).startswith(f"GET https://{stack.host}/hoge: TLS with 127.0.0.1:")
    assert "WRONG_VERSION_NUMBER" in str(error.value) or "wrong version number" in str(error.value)
    assert str(error.value).endswith("; 1 attempt")


@pytest.mark.parametrize(
    ("answer_after", "total_timeout", "attempts"),
    [
        (1.2, 2.0, 1),  # a slow 504 (API Gateway's integration timeout, scaled down) is not tried again
        (0.0, 5.0, 3),  # quick 504s are retried up to max_attempts
    ],
)
def test_total_timeout_bounds_the_retries(
    stack: ApiStack, scripted: type[_Scripted], answer_after: float, total_timeout: float, attempts: int
) -> None:
    scripted.scripts["/slow"] = [504, 504, 504]
    policy = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05, total_timeout=total_timeout)
    with _client(stack, scripted.url, retries=policy) as api:  # type: ignore[attr-defined]
        # Credentials first (AssumeRole on a busy machine can take a good part of a second), so that the slow
        # case's total_timeout is spent on the 504 alone: 0.8 s to spare, not a second attempt's 1.2 s.
        assert api.get("/warm").status_code == 200
        scripted.attempts.clear()
        scripted.delay = answer_after
        with pytest.raises(HttpError) as error:
            api.get("/slow")
    assert len(scripted.attempts) == error.value.attempts == attempts
    assert error.value.status_code == 504
    message = str(error.value)
    assert message.startswith(f"GET https://{stack.host}/slow -> 504 Gateway Timeout")
    assert ("after 3 attempts" in message) == (attempts == 3)
    assert ("(not retried: another attempt would pass the 2 s total_timeout)" in message) == (attempts == 1)
    assert "127.0.0.1" not in message


def test_total_timeout_cuts_a_slow_attempt_short(stack: ApiStack, scripted: type[_Scripted]) -> None:
    policy = RetryPolicy(max_attempts=3, base_delay=0.01, total_timeout=0.5)
    with _client(stack, scripted.url, retries=policy, timeout=(2.0, 10.0)) as api:  # type: ignore[attr-defined]
        assert api.get("/warm").status_code == 200  # credentials first: the 0.5 s are the slow attempt's alone
        scripted.delay = 3.0
        started = time.monotonic()
        with pytest.raises(TimedOut) as error:
            api.get("/hoge")
    assert time.monotonic() - started < 3.0  # neither the 10 s read timeout nor the server's 3 s
    assert isinstance(error.value, requests.Timeout)
    assert error.value.reason == "read_timeout"
    assert error.value.attempts == 1
    assert str(error.value).endswith("; 1 attempt, stopped by the 0.5 s total_timeout")


def test_bad_retry_policy_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="total_timeout > 0"):
        RetryPolicy(total_timeout=0)


# -- DEBUG logs: retries and credential refreshes, never a secret ---------------------------------------------


def _xacct_log(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("xacct"))


def test_retries_are_logged_at_debug_without_secrets(
    stack: ApiStack, scripted: type[_Scripted], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="xacct")
    scripted.scripts["/r"] = [503, 429]
    with _client(stack, scripted.url) as api:  # type: ignore[attr-defined]
        assert api.get("/r").status_code == 200
        frozen = api.role.credentials.get_frozen_credentials()
    with _client(stack, f"http://127.0.0.1:{closed_port()}") as api, pytest.raises(ConnectionFailed):
        api.get("/hoge")
    text = _xacct_log(caplog)
    url = f"GET https://{stack.host}/r"
    assert re.search(rf"{re.escape(url)}: attempt 1 of 3 got 503; retrying in \d+\.\d\d s", text), text
    assert re.search(rf"{re.escape(url)}: attempt 2 of 3 got 429; retrying in ", text), text
    assert f"GET https://{stack.host}/hoge: attempt 2 of 3 got refused; retrying in " in text
    assert f"GET https://{stack.host}/hoge: attempt 3 of 3 got refused; no attempts left" in text
    assert re.search(rf"assumed {re.escape(stack.invoke_role_arn)}: new session expires \S+ \(in \d+ s\)", text)
    source = stack.workload().get_credentials()
    assert source is not None
    secrets = [frozen.secret_key, frozen.token, frozen.access_key, source.secret_key, source.token]
    signatures = [a["authorization"].rsplit("Signature=", 1)[1] for a in scripted.attempts]
    for value in [*secrets, *signatures]:
        assert value
        assert value not in text


def test_a_retry_the_deadline_forbids_is_logged(
    stack: ApiStack, scripted: type[_Scripted], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="xacct.client")
    scripted.scripts["/slow"] = [504]
    scripted.delay = 0.6
    policy = RetryPolicy(base_delay=0.01, total_timeout=1.0)
    with _client(stack, scripted.url, retries=policy) as api, pytest.raises(HttpError):  # type: ignore[attr-defined]
        api.get("/slow")
    assert (
        f"GET https://{stack.host}/slow: attempt 1 got 504; not retrying, another attempt would pass the 1 s "
        "total_timeout" in _xacct_log(caplog)
    )


def test_credential_refreshes_are_logged_without_secrets(
    local_aws: LocalAws, stack: ApiStack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="xacct")
    workload = stack.workload().get_credentials()
    assert workload is not None
    frozen = workload.get_frozen_credentials()
    with LocalAws(region=REGION, session_ttl_seconds=2) as short:  # STS issues 2 s sessions: refreshed at 0.5 s left
        source = short.session_with_keys(frozen.access_key, frozen.secret_key, frozen.token)
        with ApiClient(
            stack.base_url, stack.invoke_role_arn, source_session=source, endpoint_url=short.endpoint_url
        ) as api:
            api.get("/hoge")
            first = api.role.credentials.get_frozen_credentials()
            time.sleep(1.6)
            api.get("/hoge")
            second = api.role.credentials.get_frozen_credentials()
    assert api.role.credentials.refresh_count == 2
    text = _xacct_log(caplog)
    arn = re.escape(stack.invoke_role_arn)
    assert re.search(
        rf"assumed {arn}: new session expires .+ next refresh 0\.\d s before \(mandatory 0\.\d s\)", text
    ), text
    assert re.search(rf"refreshed {arn}: new session expires ", text), text
    for value in (first.secret_key, first.token, second.secret_key, second.token, frozen.secret_key, frozen.token):
        assert value
        assert value not in text


# -- errors a user can act on ---------------------------------------------------------------------------------


def test_assume_role_denied_names_both_halves(local_aws: LocalAws, stack: ApiStack) -> None:
    iam = local_aws.client("iam", stack.consumer)
    iam.create_role(RoleName="NotTrusted", AssumeRolePolicyDocument=trust(service=True))
    iam.put_role_policy(RoleName="NotTrusted", PolicyName="a", PolicyDocument=allow("sts:AssumeRole", "*"))
    workload = local_aws.workload_session(f"arn:aws:iam::{stack.consumer}:role/NotTrusted")
    with pytest.raises(AssumeRoleDenied) as denied, stack.client(source_session=workload) as api:
        api.get("/hoge")
    message = str(denied.value)
    assert denied.value.caller_arn == f"arn:aws:sts::{stack.consumer}:assumed-role/NotTrusted/workload"
    assert f"may not assume {stack.invoke_role_arn}" in message
    assert (
        f"the trust policy of {stack.invoke_role_arn} must name arn:aws:iam::{stack.consumer}:role/NotTrusted"
        in message
    )
    assert "provider_invoke_role_arns" in message
    assert "trusted_role_arns" in message
    assert "is not authorized to perform: sts:AssumeRole" in denied.value.aws_message


def test_a_mistyped_role_lists_the_roles_the_callers_own_policies_allow(local_aws: LocalAws, stack: ApiStack) -> None:
    """Issue 19: AWS answers AccessDenied for a role that does not exist as for one that does not trust the caller;
    the caller's own policies (inline and attached, read with its own credentials) say which roles it meant. IAM
    matches actions case-insensitively and with wildcards, so "STS:Assume*" counts; a Deny does not."""
    iam = local_aws.client("iam", stack.consumer)
    iam.create_role(RoleName="Wildcard", AssumeRolePolicyDocument=trust(service=True))
    other = f"arn:aws:iam::{stack.provider}:role/OtherInvokeRole"
    iam.put_role_policy(RoleName="Wildcard", PolicyName="a", PolicyDocument=allow("STS:Assume*", stack.invoke_role_arn))
    iam.put_role_policy(RoleName="Wildcard", PolicyName="d", PolicyDocument=allow("sts:*", "*", effect="Deny"))
    attached = iam.create_policy(PolicyName="WildcardAttached", PolicyDocument=allow("sts:AssumeRole", other))
    iam.attach_role_policy(RoleName="Wildcard", PolicyArn=attached["Policy"]["Arn"])
    iam.put_role_policy(
        RoleName="Wildcard",
        PolicyName="read-own",
        PolicyDocument=allow("iam:*", f"arn:aws:iam::{stack.consumer}:role/Wildcard"),
    )
    workload = local_aws.workload_session(f"arn:aws:iam::{stack.consumer}:role/Wildcard")
    typo = stack.invoke_role_arn.replace("ApiInvoke", "ApiInvok")
    with (
        pytest.raises(AssumeRoleDenied) as denied,
        ApiClient(stack.base_url, typo, source_session=workload, endpoint_url=local_aws.endpoint_url) as api,
    ):
        api.get("/hoge")
    assert denied.value.allowed_roles == tuple(sorted([stack.invoke_role_arn, other]))
    first, *rest = str(denied.value).splitlines()
    assert first == f"AssumeRole denied: {denied.value.caller_arn} may not assume {typo}"
    assert any("the role may not exist" in line for line in rest)
    assert any(
        f"your own policies allow assuming: {', '.join(sorted([stack.invoke_role_arn, other]))}" in line
        for line in rest
    )


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("unsigned", "missing_signature"),
        ("unknown-key", "invalid_token"),
        ("wrong-secret", "signature_mismatch"),
        ("other-route", "not_authorized"),
    ],
)
def test_invoke_denied_says_why(
    local_aws: LocalAws, echo: EchoServer, new_account: Callable[[], str], how: str, reason: str
) -> None:
    stack = build_api(local_aws, new_account(), new_account(), echo.url, resources=("GET/allowed",))
    creds = stack.invoke_credentials()
    secret = "wrong" if how == "wrong-secret" else creds["secret"]
    key = "ASIAZZZZZZZZZZZZZZZZ" if how == "unknown-key" else creds["key"]
    auth = IamAuth(Credentials(key, secret, creds["token"]), REGION)
    response = requests.get(
        f"{local_aws.endpoint_url}/denied",
        headers={"Host": stack.host},
        auth=None if how == "unsigned" else auth,
        timeout=10,
    )
    found = denial_reason(response)
    assert found is not None
    assert found[0] == reason
    error = InvokeDenied(response=response, reason=found[0], aws_message=found[1])
    # Issue 19: a short line of what happened, then what AWS said and what to do, each on a line of its own.
    first, said, advice = str(error).splitlines()
    assert first.startswith(f"403 from API Gateway ({reason}): ")
    assert len(first) < 120
    assert said == f"  AWS said: {found[1].splitlines()[0]}"
    assert advice.startswith("  What to do: ")
    if reason == "not_authorized":
        assert error.resource is not None
        assert error.resource.endswith(f":{stack.api_id}/$default/GET/denied")
        assert first == "403 from API Gateway (not_authorized): the invoke role ApiInvoke may not call GET /denied"
        assert "allowed_routes" in advice
    if reason == "signature_mismatch":
        # The 403 echoes the canonical request, x-amz-security-token included: the error keeps none of it.
        assert creds["token"] in response.text
        assert "x-amz-security-token:<redacted>" in error.aws_message
        for text in (str(error), error.aws_message, found[1], repr(error.args)):
            assert creds["token"] not in text
        assert creds["token"].encode() not in redact_bytes(response.content)


def test_other_errors_are_plain_http_errors(stack: ApiStack, scripted: type[_Scripted]) -> None:
    scripted.scripts["/forbidden-by-the-app"] = [403]
    with _client(stack, scripted.url) as api, pytest.raises(HttpError) as error:  # type: ignore[attr-defined]
        api.get("/forbidden-by-the-app")
    assert not isinstance(error.value, InvokeDenied)  # the API server's own 403 is not IAM's
    assert error.value.response.json() == {"error": "scripted"}


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"base_url": "ftp://server.example.com"}, "must be http(s)://host"),
        ({"role_arn": "arn:aws:iam::111111111111:user/api"}, "is not an IAM role ARN"),
        ({"base_url": "https://server.stag.foo.example.com", "source_session": "no-region"}, "pass region="),
        ({"session_name": "x"}, "session_name 'x' must be 2-64 characters"),
        ({"external_id": "e" * 1300}, "external_id of 1300 characters is invalid"),
        ({"endpoint_url": "localhost:4566"}, "endpoint_url 'localhost:4566' must be http(s)://host:port"),
        # Issue 19: a region that is not one, or that contradicts the execute-api host, was signed for and refused
        # by the gateway as a signature problem.
        ({"region": "tokyo"}, "region='tokyo' is not an AWS region name; expected e.g. ap-northeast-1"),
        ({"region": "AP-NORTHEAST-1"}, "region='AP-NORTHEAST-1' is not an AWS region name"),
        (
            {"region": "eu-west-1"},
            f"region='eu-west-1' contradicts the URL, whose execute-api host is in {REGION}: the request would be "
            "signed for eu-west-1 and refused",
        ),
    ],
)
def test_bad_client_input_is_a_config_error(stack: ApiStack, kwargs: dict[str, Any], fragment: str) -> None:
    arguments: dict[str, Any] = {"base_url": stack.base_url, "role_arn": stack.invoke_role_arn}
    arguments["source_session"] = stack.workload()
    arguments.update(kwargs)
    if arguments["source_session"] == "no-region":
        arguments["source_session"] = boto3.Session(aws_access_key_id="x", aws_secret_access_key="y")
    with pytest.raises(ConfigError) as error:
        ApiClient(arguments.pop("base_url"), arguments.pop("role_arn"), **arguments)
    assert fragment in str(error.value)


def test_bad_request_input_is_a_config_error(stack: ApiStack) -> None:
    with stack.client() as api:
        with pytest.raises(ConfigError, match="must start with '/'"):
            api.get("hoge")
        with pytest.raises(ConfigError, match="either json= or data="):
            api.post("/hoge", json={}, data=b"")
        with pytest.raises(ConfigError, match="'GET /x' is not an HTTP API method"):
            api.request("GET /x", "/hoge")


@pytest.mark.parametrize("region", ["us-east-1", "ap-northeast-1", "us-gov-west-1", "cn-north-1", "us-isob-east-1"])
def test_region_names_of_every_partition_are_accepted(stack: ApiStack, region: str) -> None:
    ApiClient("https://api.example.com", stack.invoke_role_arn, region=region, source_session=stack.workload()).close()


def test_a_method_an_http_api_has_no_route_for_is_refused_before_sending(
    stack: ApiStack, scripted: type[_Scripted]
) -> None:
    """Issue 19: `PUTT` was signed and sent. HTTP API routes take DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT
    (and ANY, which is not a method); any case is accepted, sent in capitals."""
    with _client(stack, scripted.url) as api:  # type: ignore[attr-defined]
        with pytest.raises(ConfigError) as error:
            api.request("PUTT", "/hoge")
        assert str(error.value) == (
            "'PUTT' is not an HTTP API method; expected one of DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT (any case)"
        )
        assert scripted.attempts == []
        assert api.request("patch", "/hoge").status_code == 200
    assert [attempt["method"] for attempt in scripted.attempts] == ["PATCH"]


def test_no_source_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(NoSourceCredentials, match="no AWS credentials to assume"):
        ApiClient(
            "https://abc.execute-api.ap-northeast-1.amazonaws.com",
            "arn:aws:iam::111111111111:role/ApiAllowByIamRoleStag",
            source_session=boto3.Session(region_name=REGION),
        )


# -- plain HTTP only where it cannot leak ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "base_url", ["http://api.example.com", "http://10.0.0.8:8080/base", "http://localhost.example.com"]
)
def test_plain_http_to_another_host_is_refused_before_anything_is_signed(stack: ApiStack, base_url: str) -> None:
    calls: list[str] = []
    source = stack.workload()
    source.events.register("before-call.sts.*", lambda model, **_: calls.append(model.name))
    with pytest.raises(InsecureTransport) as error:
        ApiClient(base_url, stack.invoke_role_arn, source_session=source, region=REGION)
    assert isinstance(error.value, ConfigError)
    first, *rest = str(error.value).splitlines()
    assert first.startswith(f"refusing to sign for {base_url.split('/base')[0]}: plain http:// ")
    assert len(first) < 300
    assert all(line.startswith("  ") for line in rest)
    assert "https://" in rest[0]
    assert "set endpoint_url" in rest[0]
    assert calls == []  # not even sts:AssumeRole or GetCallerIdentity


@pytest.mark.parametrize("host", ["127.0.0.1:9", "127.8.9.10:9", "localhost:9", "[::1]:9"])
def test_plain_http_to_a_loopback_host_is_signed(stack: ApiStack, host: str) -> None:
    ApiClient(f"http://{host}", stack.invoke_role_arn, source_session=stack.workload(), region=REGION).close()
    auth = IamAuth(Credentials("AKIDEXAMPLE", "secret"), REGION)
    prepared = requests.Request("GET", f"http://{host}/hoge").prepare()
    assert auth(prepared).headers["Authorization"].startswith("AWS4-HMAC-SHA256 ")


def test_plain_http_through_an_explicit_endpoint_url_is_signed(local_aws: LocalAws, stack: ApiStack) -> None:
    """The bytes go where the caller said (here the local AWS); the signature is for the API's host."""
    plain = stack.base_url.replace("https://", "http://")
    with ApiClient(
        plain, stack.invoke_role_arn, source_session=stack.workload(), endpoint_url=local_aws.endpoint_url
    ) as api:
        assert api.get("/hoge").status_code == 200

    remote = "http://emulator.internal:4566"
    auth = IamAuth(Credentials("AKIDEXAMPLE", "secret"), REGION, endpoint_url=remote)
    assert auth(requests.Request("GET", f"{remote}/hoge").prepare()).headers["Authorization"]
    with pytest.raises(InsecureTransport, match=r"refusing to sign for http://elsewhere\.internal:4566"):
        auth(requests.Request("GET", "http://elsewhere.internal:4566/hoge").prepare())
    unsent = requests.Request("GET", "http://api.example.com/hoge").prepare()
    with pytest.raises(InsecureTransport):
        IamAuth(Credentials("AKIDEXAMPLE", "secret"), REGION)(unsent)
    assert "Authorization" not in unsent.headers


# -- session names: <consumer account id>-xacct-<...> ---------------------------------------------------------


def test_the_client_names_its_session_after_the_consumer_account(stack: ApiStack) -> None:
    """COMMON contract: invoke roles trust a consumer account for sessions named '<its account id>-*'."""
    identity_calls: list[str] = []
    source = stack.workload()
    source.events.register("before-call.sts.GetCallerIdentity", lambda **_: identity_calls.append("x"))
    with stack.client(source_session=source) as api:
        first = api.get("/hoge").json()["caller"]["arn"]
        api.get("/hoge")
        assert api.role.session_name.startswith(f"{stack.consumer}-xacct-")
        assert len(api.role.session_name) <= 64
    assert re.search(rf":assumed-role/ApiInvoke/{stack.consumer}-xacct-[\w+=,.@-]+$", first), first
    assert identity_calls == ["x"]  # sts:GetCallerIdentity once per client


def test_a_session_name_outside_the_rule_is_sent_and_the_denial_explains_it(
    local_aws: LocalAws, stack: ApiStack
) -> None:
    name = "StrictSessionNames"
    role_arn = f"arn:aws:iam::{stack.provider}:role/{name}"
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": stack.workload_role_arn},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:RoleSessionName": f"{stack.consumer}-batch"}},
            }
        ],
    }
    iam = local_aws.client("iam", stack.provider)
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(document))
    iam.put_role_policy(RoleName=name, PolicyName="invoke", PolicyDocument=allow("execute-api:Invoke", "*"))
    local_aws.client("iam", stack.consumer).put_role_policy(
        RoleName=stack.workload_role_arn.rsplit("/", 1)[1],
        PolicyName="strict",
        PolicyDocument=allow("sts:AssumeRole", role_arn),
    )

    def client(session_name: str) -> ApiClient:
        return ApiClient(
            stack.base_url,
            role_arn,
            source_session=stack.workload(),
            endpoint_url=local_aws.endpoint_url,
            session_name=session_name,
        )

    with client("batch") as api, pytest.raises(AssumeRoleDenied) as denied:
        api.get("/hoge")
    message = str(denied.value)
    assert "'batch' does not start with" in message
    assert f"'{stack.consumer}-'" in message
    assert "sts:RoleSessionName" in message
    with client(f"{stack.consumer}-batch") as api:
        assert api.get("/hoge").status_code == 200
    with client(f"{stack.consumer}-other") as api, pytest.raises(AssumeRoleDenied) as denied:
        api.get("/hoge")
    assert "does not start with" not in str(denied.value)  # the name follows the rule: no such hint
