"""A small API server for the demo and the tests: it answers every request with what it received.

The JSON echo has the method, the path (raw and decoded), the query pairs, the headers, the body, and the
caller the gateway vouched for (``x-caller-arn``, which the gateway overwrites). Credentials are never echoed: a
session token (``X-Amz-Security-Token``) comes back as ``<redacted: N characters>``, and in ``Authorization`` only
the parts that are no secret stay (the algorithm, ``Credential=`` - the access key id and scope - and
``SignedHeaders=``); the signature is redacted too.

Sealed (``require_origin(header, secret)``, as the demo and the seed deployment run it): a request without the
origin secret the gateway adds gets 403 and a JSON message, so a direct call around the gateway - with any
``x-caller-arn`` it likes - is refused. The secret is compared in constant time and never echoed back.
"""

from __future__ import annotations

import hmac
import json
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import unquote

from xacct.signing import parse_query

# Credentials a client sends that the echo must not print back (the demo shows the echo in a terminal, issue 19):
# the session token is a secret (with the key id it is the credential). Of the Authorization header the signature
# goes too (with the token it makes a request anybody could replay within its 5-minute window); the key id (an
# identifier), the scope and the signed header names stay, so a test or a person sees what was signed, by which key.
SECRET_HEADERS = frozenset({"x-amz-security-token"})
_SIGNATURE = re.compile(r"(Signature=)([0-9A-Za-z]*)")


def _redacted(value: str) -> str:
    return f"<redacted: {len(value)} characters>"


def _shown(name: str, value: str) -> str:
    if name.lower() in SECRET_HEADERS:
        return _redacted(value)
    if name.lower() == "authorization":
        if not value.startswith("AWS4-HMAC-SHA256 "):
            return _redacted(value)  # a scheme we do not know the parts of: none of it
        return _SIGNATURE.sub(lambda m: m.group(1) + _redacted(m.group(2)), value)
    return value


class _EchoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "xacct-echo/1"
    wbufsize = -1  # one write per response (flushed by the base class), not one per header line

    def setup(self) -> None:
        super().setup()
        # Headers and body in separate segments + Nagle + delayed ACKs = 40 ms per kept-alive request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: ARG002  (quiet: stdlib's signature)
        return None

    def _reply(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _echo(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        origin: _Origin | None = getattr(self.server, "origin", None)
        if origin is not None:
            sent = self.headers.get(origin.header)
            if sent is None or not hmac.compare_digest(sent.encode(), origin.secret.encode()):
                self._reply(403, {"message": f"Forbidden: the {origin.header} header is missing or wrong"})
                return
        hidden = origin.header if origin is not None else None
        raw_path, _, raw_query = self.path.partition("?")
        payload = {
            "method": self.command,
            "path": unquote(raw_path),
            "raw_path": raw_path,
            "query": parse_query(raw_query, plus_is_space=True),  # form encoding, as web frameworks read it
            "headers": {k.lower(): _shown(k, v) for k, v in self.headers.items() if k.lower() != hidden},
            "origin_verified": origin is not None,
            "body": body.decode("utf-8", "replace"),
            "caller": {"arn": self.headers.get("x-caller-arn")},
        }
        self._reply(200, payload)

    do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _echo


class _Origin:
    def __init__(self, header: str, secret: str) -> None:
        self.header = header.lower()
        self.secret = secret


class EchoServer:
    """``with EchoServer() as server: server.url`` - listens on 127.0.0.1, port 0 = a free one."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        self._httpd = ThreadingHTTPServer((host, port), _EchoHandler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="xacct-echo", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def require_origin(self, header: str, secret: str) -> None:
        """From now on, answer only requests whose ``header`` carries ``secret`` (403 JSON otherwise)."""
        if not secret:
            raise ValueError("the origin secret must not be empty")
        self._httpd.origin = _Origin(header, secret)  # type: ignore[attr-defined]

    def allow_any_origin(self) -> None:
        """Answer every request again (the state after construction)."""
        self._httpd.origin = None  # type: ignore[attr-defined]

    def start(self) -> EchoServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> EchoServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
