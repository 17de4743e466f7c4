"""AsyncApiClient speaks HTTP/2 where the server offers it (ALPN over TLS), and what it sends there is what it signed.

The server is hypercorn (a real HTTP/2 server: TLS, ALPN ``h2``) running a small ASGI app that records each request
as it arrived; the signature is checked with the local AWS's verifier (botocore's signer over the request received).
In HTTP/2 the Host header travels as the ``:authority`` pseudo-header: the signed ``host`` must survive that.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypercorn.asyncio import serve
from hypercorn.config import Config

from xacct.aio import HTTP2, AsyncApiClient
from xacct.local import LocalAws
from xacct.local.auth import SignedHttpRequest, parse
from xacct.local.echo_server import EchoServer
from xacct.local.sigv4 import verify
from xacct.local.stacks import ApiStack, build_api

from helpers import closed_port, private_ca, wait_for

Received = dict[str, Any]


@pytest.fixture(scope="module")
def stack(local_aws: LocalAws, echo: EchoServer, new_account: Callable[[], str]) -> ApiStack:
    return build_api(local_aws, new_account(), new_account(), echo.url)


def _recorder(received: list[Received]) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        received.append(
            {
                "http_version": scope["http_version"],
                "method": scope["method"],
                "raw_path": scope["raw_path"].decode("ascii"),
                "raw_query": scope["query_string"].decode("ascii"),
                "headers": {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]},
                "body": body,
            }
        )
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b'{"ok":true}'})

    return app


@pytest.fixture(scope="module")
def h2_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, list[Received]]]:
    folder = tmp_path_factory.mktemp("h2")
    ca_file, _ = private_ca(folder)
    port = closed_port()  # hypercorn binds what it is given
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.certfile, config.keyfile = str(folder / "server.pem"), str(folder / "server.key")
    config.alpn_protocols = ["h2", "http/1.1"]
    config.accesslog = config.errorlog = None
    received: list[Received] = []
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(serve(_recorder(received), config, shutdown_trigger=stop.wait))  # type: ignore[arg-type]

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    url = f"https://localhost:{port}"
    wait_for(lambda: _listening(port))
    yield url, ca_file, received
    loop.call_soon_threadsafe(stop.set)
    thread.join(10)


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
    except OSError:
        return False
    return True


def test_the_httpx_extra_brings_http2() -> None:
    assert HTTP2  # h2 comes with xacct[httpx]


def test_http2_where_the_server_offers_it_and_what_is_sent_is_what_was_signed(
    stack: ApiStack, h2_server: tuple[str, Path, list[Received]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, ca_file, received = h2_server
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))  # httpx's CA bundle variable

    async def main() -> tuple[str, str]:
        async with AsyncApiClient(
            stack.base_url, stack.invoke_role_arn, source_session=stack.workload(), endpoint_url=url
        ) as api:
            answer = await api.put("/items/a b", json={"n": 1}, params={"q": "x+y"})
            frozen = api.role.credentials.get_frozen_credentials()
            return answer.http_version, frozen.secret_key

    version, secret = asyncio.run(main())
    assert version == "HTTP/2"
    (request,) = received
    assert request["http_version"] == "2"
    headers = request["headers"]
    assert headers["host"] == stack.host  # from :authority
    signed = SignedHttpRequest(
        method=request["method"],
        raw_path=request["raw_path"],
        raw_query=request["raw_query"],
        headers=headers,
        body=request["body"],
    )
    signature = parse(signed)
    assert "host" in signature.signed_headers
    assert verify(
        signature,
        secret_key=secret,
        method=signed.method,
        raw_path=signed.raw_path,
        raw_query=signed.raw_query,
        headers=headers,
        body=signed.body,
    ).ok
