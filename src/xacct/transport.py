"""ApiClient's wire: one kept-alive ``http.client`` connection per thread to the API's origin.

Why not urllib3 (what requests sends through): for a signed call to one origin its pool, timeout and response objects
were most of the client's own time per request (``benchmarks/client_stack.py``: unsigned urllib3 keep-alive took
about twice as long as unsigned http.client). What this keeps of what urllib3 did for ApiClient:

- TLS on urllib3's own context (TLS 1.2 at least, its ciphers, no host name from a certificate's common name),
  verified against the CA bundle requests would use (certifi's, or ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE``),
  SNI, ALPN ``http/1.1``;
- separate connect and read timeouts;
- a kept-alive connection the server has closed is noticed before a request is written to it, not after (so a
  request that was never sent is not reported as lost), with urllib3's own check;
- an answer the server sends before reading the whole body (413) is read, not reported as a lost connection;
- ``gzip`` and ``deflate`` bodies decoded (only sent when the caller asks for them with ``Accept-Encoding``);
- ``close()`` from another thread lets a request in flight finish.

tests/test_transport.py holds each of these to a real server (an independent review compared them with urllib3's).

Proxies are not handled here: when one applies (``HTTPS_PROXY`` etc., as requests reads them), ApiClient sends
through requests' HTTPAdapter instead.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import os
import re
import socket
import ssl
import threading
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from requests.utils import DEFAULT_CA_BUNDLE_PATH
from urllib3.util.ssl_ import create_urllib3_context
from urllib3.util.wait import wait_for_read

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
        broken = ConnectionResetError | BrokenPipeError | http.client.HTTPException  # cut short, or no HTTP at all
        return self.phase == "exchange" and isinstance(self.cause, broken)


@dataclass
class Answer:
    """An HTTP answer, body read (and decoded when it had a Content-Encoding this transport decodes)."""

    status: int
    reason: str
    headers: dict[str, str]  # repeated names joined with ", ", as urllib3 and requests join them
    body: bytes


def tls_context(verify: bool | str) -> ssl.SSLContext:
    """The TLS settings for ``verify`` as requests takes it: True (certifi's CA bundle, as requests uses), a CA
    bundle file or directory, or False (no verification) - on urllib3's context (TLS 1.2 at least, its ciphers, no
    session tickets, no host name from a certificate's common name), ALPN ``http/1.1``. Made once per bundle and
    modification time (loading a bundle takes milliseconds; a bundle replaced in place is read again)."""
    if verify is False:
        return _tls_context(None, 0)
    path = DEFAULT_CA_BUNDLE_PATH if verify is True else verify
    try:
        return _tls_context(path, os.stat(path).st_mtime_ns)
    except OSError as exc:  # a missing or unreadable bundle, or one without a certificate: a TLS failure that says so
        error = ssl.SSLError(f"the CA bundle {path} cannot be used: {exc.strerror or exc}")
        error.reason = f"the CA bundle {path} cannot be used ({exc.strerror or exc})"
        raise error from exc


@functools.lru_cache(maxsize=8)
def _tls_context(path: str | None, mtime: int) -> ssl.SSLContext:  # noqa: ARG001  (mtime: part of the cache key)
    if path is None:
        context = create_urllib3_context(cert_reqs=ssl.CERT_NONE)
    else:
        context = create_urllib3_context()
        if os.path.isdir(path):
            context.load_verify_locations(capath=path)
        else:
            context.load_verify_locations(cafile=path)
    context.set_alpn_protocols(["http/1.1"])
    return context


def _closed_by_server(sock: socket.socket) -> bool:
    """An idle kept-alive connection with something to read has been closed by the server (or holds junk)."""
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    return wait_for_read(sock, timeout=0.0)  # urllib3's is_connection_dropped (poll, or select where there is none)


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
            ) from None


def _gunzip(body: bytes) -> bytes:
    """Every member of a gzip body (a body may hold several, one after another); as urllib3, what follows the last
    member that is not gzip is ignored. A member cut short is an error (urllib3 returns what it got)."""
    out: list[bytes] = []
    while body:
        decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out.append(decompressor.decompress(body) + decompressor.flush())
        except zlib.error:
            if not out:
                raise
            break  # trailing bytes after a complete member
        if not decompressor.eof:
            raise zlib.error("the gzip body ends before its last member does")
        body = decompressor.unused_data
    return b"".join(out)


def _inflate(body: bytes) -> bytes:
    try:
        return zlib.decompress(body)
    except zlib.error:  # raw deflate, as some servers send it
        return zlib.decompress(body, -zlib.MAX_WBITS)


def _as_is(body: bytes) -> bytes:
    return body


_DECODERS = {"gzip": _gunzip, "x-gzip": _gunzip, "deflate": _inflate, "identity": _as_is}


def _decoded(body: bytes, encoding: str | None) -> bytes:
    """``body`` without its Content-Encoding: the codings listed undone last first. One this transport does not
    decode (br, zstd, ...) leaves the bytes as they came (the header says what they are)."""
    codings = [c.strip().lower() for c in (encoding or "").split(",") if c.strip()]
    if not body or not codings or any(c not in _DECODERS for c in codings):
        return body
    for coding in reversed(codings):
        body = _DECODERS[coding](body)
    return body


class Channel:
    """One connection to ``origin`` (``scheme://host[:port]``): opened on first use, kept alive, opened again when
    the server closed it or a request on it failed. One thread sends on it at a time (ApiClient keeps one per
    thread); ``close()`` may come from any thread: a request in flight finishes first."""

    def __init__(self, origin: str, verify: bool | str = True) -> None:
        parts = urlsplit(origin)
        self.https = parts.scheme == "https"
        self.host = parts.hostname or ""
        self.port = parts.port or (443 if self.https else 80)
        self.verify = verify
        self._connection: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()
        self._busy = False
        self._close_when_done = False

    def _connected(self, timeout: float) -> http.client.HTTPConnection:
        connection = self._connection
        if connection is not None and (connection.sock is None or _closed_by_server(connection.sock)):
            self._drop()
            connection = None
        if connection is None:
            try:
                if self.https:
                    context = tls_context(self.verify)  # a missing or broken CA bundle: a TLS failure, as requests says
                    connection = http.client.HTTPSConnection(self.host, self.port, timeout=timeout, context=context)
                else:
                    connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
                connection.connect()  # TCP_NODELAY set by http.client; the TLS handshake within ``timeout`` too
            except OSError as exc:
                if connection is not None:
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
        with self._lock:
            self._busy = True
        try:
            return self._exchange(self._connected(timeout[0]), method, target, headers, body, timeout[1])
        finally:
            with self._lock:
                self._busy = False
                close, self._close_when_done = self._close_when_done, False
            if close:
                self._drop()

    def _exchange(
        self,
        connection: http.client.HTTPConnection,
        method: str,
        target: str,
        headers: Mapping[str, str],
        body: bytes | None,
        read_timeout: float,
    ) -> Answer:
        refused = False
        try:
            assert connection.sock is not None
            connection.sock.settimeout(read_timeout)
            # The server may answer before reading the whole body (413) and close: then read that answer.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                connection.request(method, target, body=body, headers=dict(headers))
            response = connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self._drop()
            raise TransportError("exchange", exc) from exc
        except (ValueError, UnicodeError):
            self._drop()  # refused half-way through the request: the connection's state is unknown
            refused = True
        if refused:  # outside the except block: the refusal's text (which holds the value) is not its context
            check_headers(headers)
            raise ConfigError("a header of this request cannot be sent (http.client refused it)")
        if response.will_close:
            self._drop()
        joined: dict[str, tuple[str, str]] = {}
        for name, value in response.getheaders():
            seen = joined.get(name.lower())
            joined[name.lower()] = (seen[0], f"{seen[1]}, {value}") if seen else (name, value)
        try:
            data = _decoded(data, response.getheader("Content-Encoding"))
        except zlib.error as exc:
            raise TransportError("decode", exc) from exc
        return Answer(response.status, response.reason, dict(joined.values()), data)

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    def __del__(self) -> None:  # the thread that owned it has ended: its socket goes with it, not at interpreter exit
        if getattr(self, "_connection", None) is not None:
            self._drop()

    def close(self) -> None:
        """Close the connection now, or, when a request is in flight on it, as soon as that request is answered."""
        with self._lock:  # held while dropping: the owning thread cannot start a request on it meanwhile
            if self._busy:
                self._close_when_done = True
            else:
                self._drop()
