"""ApiClient's wire: one kept-alive ``http.client`` connection per thread to the API's origin.

Why not urllib3 (what requests sends through): for a signed call to one origin its pool, timeout and response objects
were most of the client's own time per request (``benchmarks/client_stack.py``: unsigned urllib3 keep-alive took
about twice as long as unsigned http.client). What this keeps of what urllib3 did for ApiClient:

- TLS verified against the CA bundle requests would use (certifi's, or ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE``),
  host name checked, SNI, TLS 1.2 at least, ALPN ``http/1.1``;
- separate connect and read timeouts;
- a kept-alive connection the server has closed is noticed before a request is written to it, not after (so a
  request that was never sent is not reported as lost);
- ``gzip`` and ``deflate`` bodies decoded (only sent when the caller asks for them with ``Accept-Encoding``).

Proxies are not handled here: when one applies (``HTTPS_PROXY`` etc., as requests reads them), ApiClient sends
through requests' HTTPAdapter instead.
"""

from __future__ import annotations

import functools
import http.client
import os
import re
import select
import socket
import ssl
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from requests.utils import DEFAULT_CA_BUNDLE_PATH

from xacct.errors import ConfigError


class TransportError(Exception):
    """No HTTP answer. ``phase``: ``connect`` (nothing was sent), ``exchange`` (the request may have reached the
    server) or ``decode`` (an answer came whose body could not be decoded); the OS, ssl or http.client error that
    caused it is ``__cause__``."""

    def __init__(self, phase: str, cause: BaseException) -> None:
        super().__init__(f"{phase}: {type(cause).__name__}: {cause}")
        self.phase = phase
        self.cause = cause

    @property
    def timed_out(self) -> str | None:
        """``connect_timeout`` or ``read_timeout`` when the cause is a timeout, else None."""
        if not isinstance(self.cause, TimeoutError):
            return None
        return "connect_timeout" if self.phase == "connect" else "read_timeout"

    @property
    def lost(self) -> bool:
        """The connection broke (or the server answered no HTTP) after the request was written."""
        broken = ConnectionResetError | BrokenPipeError | http.client.IncompleteRead | http.client.BadStatusLine
        return self.phase == "exchange" and isinstance(self.cause, broken)


@dataclass
class Answer:
    """An HTTP answer, body read (and decoded when it had a Content-Encoding this transport decodes)."""

    status: int
    reason: str
    headers: dict[str, str]  # repeated names joined with ", ", as urllib3 and requests join them
    body: bytes


@functools.lru_cache(maxsize=8)
def tls_context(verify: bool | str) -> ssl.SSLContext:
    """The TLS settings for ``verify`` as requests takes it: True (certifi's CA bundle, as requests uses), a CA
    bundle file or directory, or False (no verification). Made once per value: loading a bundle takes milliseconds.
    """
    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        path = DEFAULT_CA_BUNDLE_PATH if verify is True else verify
        if os.path.isdir(path):
            context = ssl.create_default_context(capath=path)
        else:
            context = ssl.create_default_context(cafile=path)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    return context


def _closed_by_server(sock: socket.socket) -> bool:
    """An idle kept-alive connection with something to read has been closed by the server (or holds junk)."""
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


# What http.client accepts in a header (its _is_legal_header_name and _is_illegal_header_value, said again here).
_LEGAL_NAME = re.compile(r"[^:\s][^:\r\n]*")
_ILLEGAL_VALUE = re.compile(r"\n(?![ \t])|\r(?![ \t\n])")
_CHARSETS = {"latin-1": "Latin-1", "ascii": "ASCII"}


def check_headers(headers: Mapping[str, str], charset: str = "latin-1") -> None:
    """ConfigError naming the first header that cannot be sent - a name with ':' or a line break, a value with a line
    break, a character outside ASCII in a name or outside ``charset`` in a value (http.client takes Latin-1, httpx
    ASCII) - and never its value, which may be a secret."""
    for name, value in headers.items():
        try:
            name.encode("ascii")
            value.encode(charset)
        except UnicodeError:
            allowed = _CHARSETS.get(charset, charset)
            message = f"header {name!r} cannot be sent: header names are ASCII and values {allowed} here"
            raise ConfigError(message) from None
        if not _LEGAL_NAME.fullmatch(name) or _ILLEGAL_VALUE.search(value):
            raise ConfigError(
                f"header {name!r} cannot be sent: no ':' or line break in a header name, no line break in a value"
            )


def _decoded(body: bytes, encoding: str | None) -> bytes:
    if not body or not encoding:
        return body
    encoding = encoding.strip().lower()
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompress(body, 16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        try:
            return zlib.decompress(body)
        except zlib.error:  # raw deflate, as some servers send it
            return zlib.decompress(body, -zlib.MAX_WBITS)
    return body  # another encoding (br, zstd, ...): the bytes as they came, the header says what they are


class Channel:
    """One connection to ``origin`` (``scheme://host[:port]``): opened on first use, kept alive, opened again when
    the server closed it or a request on it failed. Not thread-safe: ApiClient keeps one per thread."""

    def __init__(self, origin: str, verify: bool | str = True) -> None:
        parts = urlsplit(origin)
        self.https = parts.scheme == "https"
        self.host = parts.hostname or ""
        self.port = parts.port or (443 if self.https else 80)
        self.context = tls_context(verify) if self.https else None
        self._connection: http.client.HTTPConnection | None = None

    def _connected(self, timeout: float) -> http.client.HTTPConnection:
        connection = self._connection
        if connection is not None and (connection.sock is None or _closed_by_server(connection.sock)):
            self.close()
            connection = None
        if connection is None:
            if self.https:
                connection = http.client.HTTPSConnection(self.host, self.port, timeout=timeout, context=self.context)
            else:
                connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
            try:
                connection.connect()  # TCP_NODELAY set by http.client; the TLS handshake within ``timeout`` too
            except OSError as exc:
                connection.close()
                raise TransportError("connect", exc) from exc
            self._connection = connection
        return connection

    def send(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes | None, timeout: tuple[float, float]
    ) -> Answer:
        """``method target`` with exactly ``headers`` and ``body`` (and Accept-Encoding: identity unless given),
        the answer's body read. TransportError when no answer came; ConfigError naming a header http.client refuses
        (a line break, or a character outside Latin-1 in a value)."""
        connection = self._connected(timeout[0])
        try:
            assert connection.sock is not None
            connection.sock.settimeout(timeout[1])
            connection.request(method, target, body=body, headers=dict(headers))
            response = connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise TransportError("exchange", exc) from exc
        except (ValueError, UnicodeError):
            self.close()  # refused half-way through the request: the connection's state is unknown
            check_headers(headers)  # names the header (not from exc: its text holds the value)
            raise ConfigError("a header of this request cannot be sent (http.client refused it)") from None
        if response.will_close:
            self.close()
        joined: dict[str, tuple[str, str]] = {}
        for name, value in response.getheaders():
            seen = joined.get(name.lower())
            joined[name.lower()] = (seen[0], f"{seen[1]}, {value}") if seen else (name, value)
        headers_in = dict(joined.values())
        try:
            data = _decoded(data, response.getheader("Content-Encoding"))
        except zlib.error as exc:
            raise TransportError("decode", exc) from exc
        return Answer(response.status, response.reason, headers_in, data)

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()
