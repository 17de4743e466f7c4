"""ApiClient's own wire (xacct.transport): what urllib3 did for it, it still does, over real sockets.

A real HTTP(S) server on loopback (http.server, TLS with a private CA made here with `cryptography`) answers; the
local AWS issues the credentials. Each test names the behaviour of urllib3/requests it holds ApiClient to.
"""

from __future__ import annotations

import asyncio
import gc
import gzip
import ssl
import threading
import time
import traceback
import zlib
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from xacct import ApiClient, ConfigError, ConnectionFailed, HttpError, RetryPolicy
from xacct.aio import AsyncApiClient
from xacct.local import LocalAws
from xacct.local.echo_server import EchoServer
from xacct.local.stacks import ApiStack, build_api
from xacct.transport import Channel
from xacct.version import USER_AGENT

from helpers import private_ca, wait_for


@pytest.fixture(scope="module")
def stack(local_aws: LocalAws, echo: EchoServer, new_account: Callable[[], str]) -> ApiStack:
    return build_api(local_aws, new_account(), new_account(), echo.url)


class _Recorder(BaseHTTPRequestHandler):
    """Records (client port, path, headers) of every request; a few paths answer specially."""

    protocol_version = "HTTP/1.1"
    seen: list[tuple[int, str, dict[str, str]]]
    ended: list[int]  # client ports of the connections that ended

    def finish(self) -> None:
        super().finish()
        self.ended.append(self.client_address[1])

    def _answer(self) -> None:
        self.seen.append((self.client_address[1], self.path, {k.lower(): v for k, v in self.headers.items()}))
        if self.path == "/too-large":  # as a gateway refusing a body by its Content-Length, before reading it
            self.send_response(413)
            self.send_header("Content-Length", "0")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            return
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/slow":  # the head and half the body now, the rest later
            self.send_response(200)
            self.send_header("Content-Length", "11")
            self.end_headers()
            self.wfile.write(b'{"ok":')
            self.wfile.flush()
            time.sleep(0.5)
            self.wfile.write(b"true}")
            return
        body = b'{"ok":true}'
        extra: list[tuple[str, str]] = []
        if self.path == "/gzip" and "gzip" in (self.headers.get("Accept-Encoding") or ""):
            body, extra = gzip.compress(body), [("Content-Encoding", "gzip")]
        if self.path == "/gzip-twice":  # two members, then deflate over both: "gzip, deflate" undone last first
            body = zlib.compress(gzip.compress(b'{"ok":') + gzip.compress(b"true}"))
            extra = [("Content-Encoding", "gzip, deflate")]
        if self.path == "/broken-gzip":
            body, extra = b"not gzip at all", [("Content-Encoding", "gzip")]
        if self.path == "/repeated":
            extra = [("X-Multi", "a"), ("x-multi", "b")]
        self.send_response(200)
        for name, value in [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *extra]:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        if self.path == "/then-close":
            self.close_connection = True  # as a server whose keep-alive timeout passed: closes without saying so

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, *args: Any) -> None:  # noqa: ARG002  (quiet)
        return None


def _serve(context: ssl.SSLContext | None = None) -> Iterator[tuple[str, type[_Recorder]]]:
    handler = type("Handler", (_Recorder,), {"seen": [], "ended": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    scheme = "https" if context else "http"
    yield f"{scheme}://localhost:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


@pytest.fixture
def plain() -> Iterator[tuple[str, type[_Recorder]]]:
    yield from _serve()


def _client(stack: ApiStack, endpoint: str, **kwargs: Any) -> ApiClient:
    kwargs.setdefault("retries", RetryPolicy(max_attempts=1))
    return stack.client(endpoint_url=endpoint, **kwargs)


# -- keep-alive ---------------------------------------------------------------------------------------------------


def test_one_connection_per_thread_is_kept_alive(stack: ApiStack, plain: tuple[str, type[_Recorder]]) -> None:
    url, handler = plain
    with _client(stack, url) as api:
        for _ in range(5):
            api.get("/hoge")
        ports = {port for port, _, _ in handler.seen}
        assert len(handler.seen) == 5
        assert len(ports) == 1
        other: list[int] = []
        thread = threading.Thread(target=lambda: other.append(api.get("/hoge").status_code))
        thread.start()
        thread.join()
        assert other == [200]
        assert len({port for port, _, _ in handler.seen}) == 2  # another thread, its own connection


def test_a_thread_s_connection_ends_with_the_thread(stack: ApiStack, plain: tuple[str, type[_Recorder]]) -> None:
    """A client shared by short-lived threads does not keep a socket open per thread that has ended."""
    url, handler = plain
    with _client(stack, url) as api:
        thread = threading.Thread(target=lambda: api.get("/hoge"))
        thread.start()
        thread.join()
        del thread
        gc.collect()
        wait_for(lambda: len(handler.ended) == 1, timeout=5)
        assert handler.ended == [handler.seen[0][0]]
        api.get("/hoge")  # this thread's connection stays while the thread and the client are there
        time.sleep(0.2)
        assert len(handler.ended) == 1


def test_a_connection_the_server_closed_is_not_reused(stack: ApiStack, plain: tuple[str, type[_Recorder]]) -> None:
    """urllib3 checks an idle connection before reusing it (is_connection_dropped): a POST without an
    Idempotency-Key, which is never retried, goes out on a new connection instead of failing as "lost"."""
    url, handler = plain
    with _client(stack, url) as api:
        api.get("/then-close")
        time.sleep(0.3)  # the server's FIN arrives
        assert api.post("/hoge", json={"n": 1}).status_code == 200
    (first, _, _), (second, path, _) = handler.seen
    assert path == "/hoge"
    assert first != second
    assert len(handler.seen) == 2  # sent once


# -- what is sent, what is read -------------------------------------------------------------------------------------


def test_user_agent_and_accept_encoding(stack: ApiStack, plain: tuple[str, type[_Recorder]]) -> None:
    url, handler = plain
    with _client(stack, url) as api:
        api.get("/hoge")
        api.get("/hoge", headers={"User-Agent": "team-b-batch/2"})
    assert handler.seen[0][2]["user-agent"] == USER_AGENT
    assert handler.seen[0][2]["accept-encoding"] == "identity"  # as urllib3 sends without one
    assert handler.seen[1][2]["user-agent"] == "team-b-batch/2"
    assert "user-agent" not in handler.seen[0][2]["authorization"].split("SignedHeaders=")[1]


def test_gzip_is_decoded_when_asked_for(stack: ApiStack, plain: tuple[str, type[_Recorder]]) -> None:
    url, _ = plain
    with _client(stack, url) as api:
        answer = api.get("/gzip", headers={"Accept-Encoding": "gzip"})
        assert answer.headers["Content-Encoding"] == "gzip"
        assert answer.json() == {"ok": True}  # decoded, as requests' .content is
        assert api.get("/gzip-twice").json() == {"ok": True}  # every member, every coding (urllib3 decodes them)
        with pytest.raises(ConnectionFailed) as error:
            api.get("/broken-gzip")
    assert error.value.reason == "connection"
    assert "body that its Content-Encoding does not decode" in str(error.value)


def test_repeated_response_headers_are_joined(stack: ApiStack, plain: tuple[str, type[_Recorder]]) -> None:
    url, _ = plain
    with _client(stack, url) as api:
        assert api.get("/repeated").headers["X-Multi"] == "a, b"  # as urllib3's HTTPHeaderDict joins them


@pytest.mark.parametrize(
    ("name", "value"),
    [("X-Secret", "s3cr3t\r\nX-Injected: 1"), ("X-Secret", "日本-s3cr3t"), ("X:Secret-Name", "s3cr3t")],
)
@pytest.mark.parametrize("client", ["ApiClient", "AsyncApiClient"])
def test_a_header_that_cannot_be_sent_is_named_and_its_value_is_not_shown(
    stack: ApiStack, plain: tuple[str, type[_Recorder]], name: str, value: str, client: str
) -> None:
    url, handler = plain
    with pytest.raises(ConfigError) as error:
        _call(stack, url, client, {name: value})
    assert repr(name) in str(error.value)
    assert "s3cr3t" not in str(error.value)
    assert error.value.__cause__ is None
    assert handler.seen == []  # no injected header, no request


def test_latin_1_header_values_as_each_library_takes_them(stack: ApiStack, plain: tuple[str, type[_Recorder]]) -> None:
    """http.client sends Latin-1 header values (as requests did); httpx only ASCII: refused before signing."""
    url, handler = plain
    assert _call(stack, url, "ApiClient", {"X-Name": "café"}) == 200
    assert handler.seen[0][2]["x-name"] == "café"
    with pytest.raises(ConfigError, match="'X-Name' cannot be sent: header names are ASCII and values ASCII"):
        _call(stack, url, "AsyncApiClient", {"X-Name": "café"})


def _call(stack: ApiStack, url: str, client: str, headers: dict[str, str]) -> int:
    if client == "ApiClient":
        with _client(stack, url) as api:
            return api.get("/hoge", headers=headers).status_code

    async def main() -> int:
        async with AsyncApiClient(
            stack.base_url, stack.invoke_role_arn, source_session=stack.workload(), endpoint_url=url
        ) as api:
            return (await api.get("/hoge", headers=headers)).status_code

    return asyncio.run(main())


def test_an_answer_before_the_body_is_read_is_the_answer(stack: ApiStack, plain: tuple[str, type[_Recorder]]) -> None:
    """A server may refuse a body by its length and close before reading it (API Gateway's 413 over 10 MB): the
    write fails, and the answer is read anyway, as urllib3 does - a 413 with its advice, not a lost connection."""
    url, handler = plain
    with _client(stack, url) as api, pytest.raises(HttpError) as error:
        api.put("/too-large", data=b"x" * 8_000_000)
    assert error.value.response.status_code == 413
    assert "payload bucket" in str(error.value)
    assert [path for _, path, _ in handler.seen] == ["/too-large"]  # not retried


def test_close_lets_a_request_in_flight_finish(stack: ApiStack, plain: tuple[str, type[_Recorder]]) -> None:
    """close() from another thread: the request in flight is answered, its connection closed after; a request
    after close() opens a new connection."""
    url, handler = plain
    with _client(stack, url) as api:
        api.get("/hoge")
        answers: list[int] = []
        thread = threading.Thread(target=lambda: answers.append(api.get("/slow").status_code))
        thread.start()
        time.sleep(0.2)
        api.close()
        thread.join()
        assert answers == [200]
        api.get("/hoge")
    (first, _, _), (_, slow, _), (after, _, _) = handler.seen
    assert slow == "/slow"
    assert after != first


def test_a_refused_signed_header_leaves_no_trace_of_its_value(plain: tuple[str, type[_Recorder]]) -> None:
    """The transport itself (a header ApiClient did not check, e.g. a broken session token): the error names the
    header; neither its message nor anything it carries (cause, context) holds the value."""
    url, handler = plain
    channel = Channel(url)
    token = "tok-" + "s3cr3t" + "\r\nX-Injected: 1"  # built here, so that no source line shown holds it whole
    with pytest.raises(ConfigError) as error:
        channel.send("GET", "/", {"X-Amz-Security-Token": token}, None, (1.0, 1.0))
    channel.close()
    assert handler.seen == []
    assert "X-Amz-Security-Token" in str(error.value)
    chained = [error.value.__cause__, None if error.value.__suppress_context__ else error.value.__context__]
    assert chained == [None, None]
    assert "tok-s3cr3t" not in "".join(traceback.format_exception(error.value))


# -- TLS ----------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cn_only_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    ca_file, context = private_ca(tmp_path_factory.mktemp("cn"), san=False)
    for url, _ in _serve(context):
        yield url, ca_file


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    ca_file, context = private_ca(tmp_path_factory.mktemp("ca"))
    for url, _ in _serve(context):
        yield url, ca_file


def test_tls_is_verified_against_the_bundle_requests_would_use(
    stack: ApiStack, tls_server: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """requests' CA bundle: certifi's by default, REQUESTS_CA_BUNDLE when set (a private CA)."""
    url, ca_file = tls_server
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    with _client(stack, url) as api, pytest.raises(ConnectionFailed) as error:
        api.get("/hoge")
    assert error.value.reason == "tls"
    assert "unable to get local issuer certificate" in str(error.value)
    assert "point REQUESTS_CA_BUNDLE at its certificate" in str(error.value)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_file))
    with _client(stack, url) as api:
        assert api.get("/hoge").json() == {"ok": True}


def test_tls_checks_the_host_name(
    stack: ApiStack, tls_server: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The certificate names localhost; the same server at 127.0.0.1 is not the host it names."""
    url, ca_file = tls_server
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_file))
    with _client(stack, url.replace("localhost", "127.0.0.1")) as api, pytest.raises(ConnectionFailed) as error:
        api.get("/hoge")
    assert error.value.reason == "tls"
    assert "IP address mismatch" in str(error.value)


# -- proxies --------------------------------------------------------------------------------------------------------


def test_a_proxy_from_the_environment_is_used(
    stack: ApiStack, plain: tuple[str, type[_Recorder]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """HTTP_PROXY / HTTPS_PROXY as requests reads them: the request goes to the proxy (requests' adapter sends)."""
    proxy, handler = plain
    for name in ("no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", proxy)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")  # the local AWS (AssumeRole) is reached directly
    with _client(stack, "http://api.xacct-test.invalid:8080") as api:
        assert api.get("/hoge").json() == {"ok": True}
    _, target, headers = handler.seen[0]
    assert target == "http://api.xacct-test.invalid:8080/hoge"  # absolute form: a proxy's request
    assert headers["host"] == stack.host  # the signed Host, as always


def test_a_host_named_only_in_the_common_name_is_not_trusted(
    stack: ApiStack, cn_only_server: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """RFC 6125 (and urllib3): a certificate's subjectAltName names the host; its common name does not count."""
    url, ca_file = cn_only_server
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_file))
    with _client(stack, url) as api, pytest.raises(ConnectionFailed) as error:
        api.get("/hoge")
    assert error.value.reason == "tls"
    assert "Hostname mismatch" in str(error.value)


@pytest.mark.parametrize("bundle", ["missing.pem", "not-a-certificate.pem"])
def test_a_ca_bundle_that_cannot_be_used_is_a_tls_failure_naming_it(
    stack: ApiStack, tls_server: tuple[str, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, bundle: str
) -> None:
    url, _ = tls_server
    path = tmp_path / bundle
    if bundle == "not-a-certificate.pem":
        path.write_text("not a certificate\n")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(path))
    with _client(stack, url) as api, pytest.raises(ConnectionFailed) as error:
        api.get("/hoge")
    assert error.value.reason == "tls"
    assert f"the CA bundle {path} cannot be used" in str(error.value)
