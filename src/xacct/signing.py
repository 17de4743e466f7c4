"""SigV4 signing for API Gateway's execute-api: `requests` (IamAuth) and httpx (xacct.aio.HttpxIamAuth).

The canonical request is botocore's (its path normalization, its rules; tests/test_signing_equivalence.py compares
every signature with botocore's SigV4Auth), built without botocore's per-request objects, which cost most of the
time a signature took; the local AWS verifies with botocore's signer.

What is sent is exactly what was signed: the query string is rebuilt in canonical form (every key and value
percent-encoded with only ``-_.~`` left as is, pairs sorted), str bodies are encoded to UTF-8 once, and
only headers that no proxy rewrites are signed.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress
import time
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from datetime import datetime, timezone
from typing import Any, Protocol
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

import requests
from botocore.auth import EMPTY_SHA256_HASH as EMPTY
from botocore.auth import SIGV4_TIMESTAMP
from botocore.credentials import ReadOnlyCredentials
from botocore.utils import normalize_url_path

from xacct.errors import ConfigError, InsecureTransport

SERVICE = "execute-api"

# Headers set by HTTP clients and proxies that must not be part of the signature.
_UNSIGNED_HEADERS = frozenset(
    {
        "authorization",
        "date",  # X-Amz-Date is the request's time (a Date header is neither signed nor needed)
        "user-agent",
        "accept",
        "accept-encoding",
        "connection",
        "content-length",
        "expect",
        "keep-alive",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "via",
        "x-amzn-trace-id",
        "x-forwarded-for",
        "x-forwarded-port",
        "x-forwarded-proto",
    }
)

QueryParams = Mapping[str, Any] | Sequence[tuple[str, Any]]


class CredentialSource(Protocol):
    """botocore Credentials, RefreshableCredentials or anything else with get_frozen_credentials()."""

    def get_frozen_credentials(self) -> ReadOnlyCredentials: ...


def encode(text: str) -> str:
    """Percent-encode everything except unreserved characters (RFC 3986), as SigV4 wants."""
    return quote(text, safe="-_.~")


def canonical_query(params: Iterable[tuple[str, str]]) -> str:
    """k=v pairs, keys and values encoded, sorted by encoded key then value (repeated keys kept)."""
    return "&".join(f"{k}={v}" for k, v in sorted((encode(k), encode(v)) for k, v in params))


def query_pairs(params: QueryParams | None) -> list[tuple[str, str]]:
    """Flatten {"k": "v", "r": ["a", "b"]} or [("k", "v")] into (key, value) text pairs."""
    if params is None:
        return []
    items = params.items() if isinstance(params, Mapping) else params
    pairs: list[tuple[str, str]] = []
    for key, value in items:
        values = value if isinstance(value, list | tuple) else [value]
        for item in values:
            if item is None:
                continue
            pairs.append((str(key), item if isinstance(item, str) else str(item)))
    return pairs


def parse_query(query: str, *, plus_is_space: bool) -> list[tuple[str, str]]:
    """Decode a raw query string into pairs, keeping blank values and repeated keys.

    ``plus_is_space`` is form encoding (what `requests` writes, and how API Gateway reads an execute-api query: a
    raw ``+`` is a space); off, a ``+`` stays a plus.
    """
    if not plus_is_space:
        query = query.replace("+", "%2B")
    return parse_qsl(query, keep_blank_values=True)


@functools.lru_cache(maxsize=32)
def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """The SigV4 signing key: it changes only with the secret, the date, the region and the service."""
    k_date = hmac.new(f"AWS4{secret}".encode(), date.encode(), hashlib.sha256).digest()
    k_region = hmac.new(k_date, region.encode(), hashlib.sha256).digest()
    k_service = hmac.new(k_region, service.encode(), hashlib.sha256).digest()
    return hmac.new(k_service, b"aws4_request", hashlib.sha256).digest()


def canonical_request(
    method: str, path: str, query: str, signed: Mapping[str, str], payload_hash: str
) -> tuple[str, str]:
    """(canonical request, signed header names) exactly as botocore's ``SigV4Auth.canonical_request`` builds them
    for a non-S3 service: the path normalized (botocore.utils.normalize_url_path) and percent-encoded once more, the
    query as given (xacct sends it canonical already), header names lower-cased and sorted with their values'
    whitespace collapsed. ``signed`` maps lower-case names to values. tests/test_signing_equivalence.py holds it
    to botocore's output.

    Why not botocore's own: its AWSRequest keeps headers in an ``email.message.Message``, and building and reading
    that took 70 of the 85 us a signature cost - the largest share of the client's own time per request.
    """
    names = sorted(signed)
    headers = "".join(f"{name}:{' '.join(signed[name].split())}\n" for name in names)
    signed_names = ";".join(names)
    return "\n".join((method.upper(), _canonical_path(path), query, headers, signed_names, payload_hash)), signed_names


@functools.lru_cache(maxsize=1024)
def _canonical_path(path: str) -> str:
    """A path as botocore puts it in a canonical request (a client calls few paths: cached)."""
    return quote(normalize_url_path(path), safe="/~")


_stamp: tuple[int, str] = (0, "")


def amz_date() -> str:
    """Now as X-Amz-Date (``YYYYMMDDTHHMMSSZ``, UTC), formatted once per second."""
    global _stamp
    second = int(time.time())
    cached = _stamp
    if cached[0] != second:
        cached = _stamp = (second, datetime.fromtimestamp(second, timezone.utc).strftime(SIGV4_TIMESTAMP))
    return cached[1]


def _body_bytes(request: requests.PreparedRequest) -> bytes:
    body = request.body
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    read = getattr(body, "read", None)
    if callable(read):
        data = read()
        return data if isinstance(data, bytes) else str(data).encode("utf-8")
    raise ConfigError(
        f"cannot sign a streamed request body ({type(body).__name__}): SigV4 for execute-api signs the "
        "payload hash, so pass bytes, str, a dict (form) or json= instead of an iterator"
    )


def is_loopback(hostname: str | None) -> bool:
    """localhost, 127.0.0.0/8 or ::1: a host whose traffic never leaves this machine."""
    if not hostname:
        return False
    name = hostname.strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def origin_of(url: str) -> str:
    """scheme://host[:port] of ``url``, lower-cased, without user:password@."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.rsplit('@', 1)[-1].lower()}"


def check_transport(url: str, endpoint_url: str | None = None) -> None:
    """Raise InsecureTransport unless ``url`` is https://, on a loopback host, or at the explicit ``endpoint_url``."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "http" or is_loopback(parts.hostname):
        return
    if endpoint_url is not None and origin_of(url) == origin_of(endpoint_url):
        return
    raise InsecureTransport(f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}")


def signable_url(url: str, endpoint_url: str | None = None) -> tuple[str, str, str, str]:
    """(URL to send, default Host, path, canonical query) of ``url``, after check_transport.

    The URL to send carries the query in the canonical form that is signed (a ``+`` read as a space, as API Gateway
    reads it), so that what is sent is what was signed; the default Host is what an HTTP client sends without one.
    """
    check_transport(url, endpoint_url)
    parts = urlsplit(url)
    path = parts.path or "/"
    query = canonical_query(parse_query(parts.query, plus_is_space=True))
    return urlunsplit((parts.scheme, parts.netloc, path, query, "")), _host_of(parts.scheme, parts.netloc), path, query


class IamAuth(requests.auth.AuthBase):
    """SigV4 for API Gateway IAM authorization, usable with any `requests` call or session.

    >>> requests.get(url, auth=IamAuth(credentials, "ap-northeast-1"))

    ``credentials`` is anything with ``get_frozen_credentials()`` (botocore credentials; refreshable ones
    are read on every request). Each call signs afresh: a retried request gets a new date and signature.
    A ``+`` in a query string that `requests` built is a space (form encoding); it is sent as ``%20``.
    A plain ``http://`` URL is signed only for a loopback host or for ``endpoint_url`` (an emulator the caller
    names explicitly); anything else raises ``InsecureTransport`` before a signature exists.
    """

    def __init__(
        self,
        credentials: CredentialSource,
        region: str,
        *,
        service: str = SERVICE,
        endpoint_url: str | None = None,
    ) -> None:
        if not region:
            raise ConfigError("IamAuth needs the API's region, e.g. 'ap-northeast-1'")
        self._credentials = credentials
        self.region = region
        self.service = service
        self.endpoint_url = endpoint_url

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if request.url is None or request.method is None:
            raise ConfigError("IamAuth needs a prepared request with a method and a URL")
        request.url, default_host, path, query = signable_url(request.url, self.endpoint_url)
        body = _body_bytes(request)
        if request.body is not None:
            request.body = body
            request.headers["Content-Length"] = str(len(body))
        self.sign(request.method, request.headers.get("Host") or default_host, path, query, request.headers, body)
        return request

    @property
    def credentials(self) -> CredentialSource:
        """What signs: read on every request (``get_frozen_credentials()``)."""
        return self._credentials

    def sign(
        self,
        method: str,
        host: str,
        path: str,
        query: str,
        headers: MutableMapping[str, str],
        body: bytes,
        frozen: ReadOnlyCredentials | None = None,
    ) -> None:
        """Add X-Amz-Date, X-Amz-Security-Token and Authorization to ``headers`` (in place).

        ``frozen``: the credentials to sign with, when the caller has them already (an event loop that must not
        block on a refresh); by default ``get_frozen_credentials()`` of the credentials given.
        """
        if frozen is None:
            frozen = self._credentials.get_frozen_credentials()
        date = amz_date()
        signed = {"host": host, "x-amz-date": date}
        if frozen.token:
            signed["x-amz-security-token"] = frozen.token
        for name, value in headers.items():
            lname = name.lower()
            if lname not in _UNSIGNED_HEADERS and lname not in ("host", "x-amz-date", "x-amz-security-token"):
                signed[lname] = value
        # As botocore: a caller's X-Amz-Content-SHA256 is the payload line, else the body's hash.
        payload_hash = signed.get("x-amz-content-sha256") or (hashlib.sha256(body).hexdigest() if body else EMPTY)
        canonical, signed_names = canonical_request(method, path, query, signed, payload_hash)
        scope = f"{date[:8]}/{self.region}/{self.service}/aws4_request"
        string_to_sign = f"AWS4-HMAC-SHA256\n{date}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        key = signing_key(frozen.secret_key or "", date[:8], self.region, self.service)
        signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
        headers["X-Amz-Date"] = date
        headers["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={frozen.access_key}/{scope}, SignedHeaders={signed_names}, "
            f"Signature={signature}"
        )
        if frozen.token:
            headers["X-Amz-Security-Token"] = frozen.token
        else:
            headers.pop("X-Amz-Security-Token", None)


def _host_of(scheme: str, netloc: str) -> str:
    """The Host header value `requests` sends: the port only when it is not the scheme's default."""
    host = netloc.rsplit("@", 1)[-1]
    default = ":443" if scheme == "https" else ":80"
    return host[: -len(default)] if host.endswith(default) else host
