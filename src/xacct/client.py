"""ApiClient: call an IAM-authorized HTTP API of another account through its invoke role.

with ApiClient("https://server.stag.foo.example.com", "arn:aws:iam::111111111111:role/ApiAllowByIamRoleStag",
               region="ap-northeast-1") as api:
    print(api.put("/hoge", json={"foo": "bar"}).json())
"""

from __future__ import annotations

import io
import json as jsonlib
import logging
import os
import random
import re
import socket
import ssl
import threading
import time
import weakref
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from datetime import timedelta
from http import HTTPStatus
from types import TracebackType
from typing import Any, cast
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

import boto3
import requests
import urllib3
from botocore.credentials import ReadOnlyCredentials
from botocore.exceptions import BotoCoreError, ClientError
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers, select_proxy

from xacct.credentials import AssumedRole
from xacct.errors import (
    ConfigError,
    ConnectionFailed,
    HttpError,
    InvokeDenied,
    TimedOut,
    XacctError,
    attempts_text,
    denial_reason,
    first_line,
    redact,
)
from xacct.payloads import DEFAULT_THRESHOLD, PayloadHandoff
from xacct.signing import IamAuth, QueryParams, canonical_query, check_transport, encode, query_pairs
from xacct.transport import Channel, TransportError, check_headers
from xacct.version import USER_AGENT

ENDPOINT_ENV = "XACCT_ENDPOINT_URL"
EXECUTE_API_HOST = re.compile(r"^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")
# The methods an HTTP API route can name (its route keys: these and ANY, which matches any of them).
HTTP_API_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
# AWS region names: area, one or more words (a partition's: gov, iso, isob, ...), number: us-east-1, ap-northeast-1,
# us-gov-west-1, cn-north-1, us-isob-east-1, eu-central-2.
REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d{1,2}")
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded attempts within a total deadline, exponential backoff with full jitter, Retry-After honoured.

    Retried: connection failures other than TLS, 429, 502, 503 and 504, for GET/HEAD/OPTIONS/PUT/DELETE,
    and for POST/PATCH only when the request carries an Idempotency-Key header or failed before anything
    was sent. ``total_timeout`` (seconds, None for no limit) bounds all attempts and sleeps together: each
    attempt's timeouts are cut to what is left, and a retry starts only if its sleep and another attempt as
    long as the last one still fit - a 504 after API Gateway's 30 s integration timeout is not tried again.
    """

    max_attempts: int = 3
    base_delay: float = 0.2
    max_delay: float = 5.0
    total_timeout: float | None = 60.0

    def __post_init__(self) -> None:
        if (
            self.max_attempts < 1
            or self.base_delay < 0
            or self.max_delay < 0
            or (self.total_timeout is not None and self.total_timeout <= 0)
        ):
            raise ConfigError(
                f"invalid retry policy {self!r}: "
                "max_attempts >= 1, delays >= 0 and total_timeout > 0 (or None) expected"
            )

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return min(self.max_delay, max(0.0, retry_after))
        return random.uniform(0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))  # noqa: S311


class _Deadline:
    """The clock of one request: its total_timeout, and how long the last attempt took."""

    def __init__(self, total: float | None) -> None:
        self.total = total
        self.start = time.monotonic()
        self.attempt_start = self.start
        self.cut_short = False  # a retry was due but would have passed the deadline

    def begin_attempt(self) -> None:
        self.attempt_start = time.monotonic()

    def remaining(self) -> float | None:
        return None if self.total is None else self.start + self.total - time.monotonic()

    def cap(self, timeout: float | tuple[float, float]) -> float | tuple[float, float]:
        left = self.remaining()
        if left is None:
            return timeout
        left = max(left, 0.001)
        if isinstance(timeout, tuple):
            return (min(timeout[0], left), min(timeout[1], left))
        return min(timeout, left)

    def fits(self, sleep: float) -> bool:
        """Would a retry after ``sleep``, taking as long as the last attempt, end before the deadline?"""
        left = self.remaining()
        return left is None or sleep + (time.monotonic() - self.attempt_start) < left


def encode_path(path: str) -> str:
    """Plain-text path -> what goes on the wire: every character but unreserved ones and / percent-encoded."""
    if not path.startswith("/"):
        raise ConfigError(f"path {path!r} must start with '/'")
    return quote(path, safe="/-_.~")


def region_of_host(host: str) -> str | None:
    """The region of an execute-api host name (``<id>.execute-api.<region>.amazonaws.com``), else None."""
    match = EXECUTE_API_HOST.match(host)
    return match.group(1) if match else None


def check_region(region: str, host: str | None = None) -> str:
    """``region`` when it is a region name and agrees with an execute-api ``host``; else ConfigError, naming both.

    A region that is not one, or that is not the execute-api host's, is signed for and then refused by API Gateway
    as a signature problem; this says so before anything is sent.
    """
    if not REGION.fullmatch(region):
        raise ConfigError(f"region={region!r} is not an AWS region name; expected e.g. ap-northeast-1")
    in_host = region_of_host(host) if host else None
    if in_host is not None and in_host != region:
        raise ConfigError(
            f"region={region!r} contradicts the URL, whose execute-api host is in {in_host}: the request would be "
            f"signed for {region} and refused; leave region=... out (the URL's region is used) or fix the URL"
        )
    return region


def check_method(method: str) -> str:
    """``method`` in capitals when an HTTP API route can take it; else ConfigError naming it and the allowed ones."""
    upper = method.upper()
    if upper not in HTTP_API_METHODS:
        raise ConfigError(
            f"{method!r} is not an HTTP API method; expected one of {', '.join(HTTP_API_METHODS)} (any case)"
        )
    return upper


TOO_LARGE_ADVICE = (
    "An HTTP API takes at most 10 MB per request and response: send larger bodies through the provider's payload "
    "bucket (ApiClient(..., payload_bucket=...), xacct call --payload-bucket; the provider enables it with "
    "modules/provider_api's large_payloads)."
)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _failed_before_sending(exc: requests.RequestException | TransportError) -> bool:
    """True when the connection was never made, so not a byte of the request reached the server."""
    if isinstance(exc, TransportError):
        return exc.phase == "connect"
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    connecting = urllib3.exceptions.ConnectTimeoutError | urllib3.exceptions.NewConnectionError
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(exc, connecting) or isinstance(reason, connecting)


def _underlying(exc: BaseException) -> list[BaseException]:
    """The chain below a requests exception: urllib3's reason, then the OS or ssl error that caused it."""
    chain: list[BaseException] = []
    todo: list[object] = [exc]
    while todo:
        item = todo.pop(0)
        if not isinstance(item, BaseException) or any(item is seen for seen in chain):
            continue
        chain.append(item)
        todo.extend([*item.args, getattr(item, "reason", None), item.__cause__, item.__context__])
        todo.extend(getattr(item, "exceptions", None) or ())  # an exception group's (anyio: every address tried)
    return chain


def describe_failure(exc: requests.RequestException | TransportError, netloc: str, timeout: Any) -> tuple[str, str]:
    """(reason, what happened in words) for a request that got no HTTP answer; see ConnectionFailed.REASONS.

    ``exc`` is what xacct.transport raised (ApiClient's own connections), or what requests raised (through a proxy).
    """
    if isinstance(exc, TransportError):
        if exc.phase == "decode":
            return "connection", f"the answer from {netloc} has a body that its Content-Encoding does not decode"
        return describe_chain(exc, netloc, timeout, timed_out=exc.timed_out, lost=exc.lost)
    timed_out = (
        "connect_timeout"
        if isinstance(exc, requests.exceptions.ConnectTimeout)
        else "read_timeout"
        if isinstance(exc, requests.Timeout)
        else None
    )
    lost = isinstance(exc, requests.exceptions.ChunkedEncodingError)
    return describe_chain(
        exc, netloc, timeout, timed_out=timed_out, lost=lost, tls=isinstance(exc, requests.exceptions.SSLError)
    )


def describe_chain(
    exc: BaseException,
    netloc: str,
    timeout: Any,
    *,
    timed_out: str | None,
    lost: bool,
    tls: bool = False,
    ca_variable: str = "REQUESTS_CA_BUNDLE",
) -> tuple[str, str]:
    """describe_failure for any HTTP library: ``timed_out`` (connect_timeout, read_timeout or None), ``lost`` (the
    library says the connection broke mid-answer) and ``tls`` come from the library's exception types, the rest
    from the OS and ssl errors in ``exc``'s chain; ``ca_variable`` is where the library reads a CA bundle from."""
    chain = _underlying(exc)
    if tls or any(isinstance(e, ssl.SSLError) for e in chain):
        found = next((e for e in chain if isinstance(e, ssl.SSLError)), None)
        detail = getattr(found, "verify_message", None) or getattr(found, "reason", None) or "handshake failed"
        hint = (
            f" (a private CA? point {ca_variable} at its certificate)"
            if isinstance(found, ssl.SSLCertVerificationError)
            else ""
        )
        return "tls", f"TLS with {netloc} failed: {detail}{hint}"
    connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
    if timed_out == "connect_timeout":
        return "connect_timeout", f"no connection to {netloc} within {connect:g} s"
    if timed_out is not None:
        return "read_timeout", f"no answer from {netloc} within {read:g} s"
    if any(isinstance(e, urllib3.exceptions.NameResolutionError | socket.gaierror) for e in chain):
        return "dns", f"cannot resolve the host name {urlsplit('//' + netloc).hostname!r} (DNS)"
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return "refused", f"connection refused by {netloc}"
    if lost or any(isinstance(e, urllib3.exceptions.ProtocolError | ConnectionResetError) for e in chain):
        return "connection_lost", f"connection to {netloc} lost before the answer was complete"
    oserror = next((e for e in chain if isinstance(e, OSError) and e.strerror), None)
    return "connection", f"cannot connect to {netloc}: {oserror.strerror if oserror else type(exc).__name__}"


class WaitTimedOut(XacctError):
    """A 202 Accepted was still 202 when the ``deadline`` of :meth:`ApiClient.wait` passed.

    ``location`` is the last URL polled, ``polls`` how many times it was asked, ``response`` the last 202: the work
    may still finish; poll ``location`` again later.
    """

    def __init__(self, message: str, *, location: str, polls: int, response: Any) -> None:
        super().__init__(message)
        self.location = location
        self.polls = polls
        self.response = response


class WaitRefused(XacctError):
    """A 202 Accepted that cannot be followed: no Location header, or one on another host (a signed request is
    only ever sent to the API's own host)."""


@dataclass
class Call:
    """One request as both clients send it: checked, encoded, and named for messages as the caller named it."""

    method: str
    wire_path: str  # the path on the wire (base path included), as signed
    query: str  # canonical, as signed and sent
    url: str  # where the bytes go (endpoint_url's origin, or the API's)
    shown: str  # the API's URL as the caller named it, for messages
    body: bytes | None
    headers: CaseInsensitiveDict[str]
    retry_allowed: bool
    clock: _Deadline


class Follow:
    """The polling of a 202 Accepted (see :meth:`ApiClient.wait`): where to poll next and after how long."""

    def __init__(self, client: ClientCore, deadline: float, first_delay: float, max_delay: float) -> None:
        if deadline <= 0 or first_delay <= 0 or max_delay < first_delay:
            raise ConfigError(
                f"wait needs deadline > 0 and 0 < first_delay <= max_delay; got deadline={deadline}, "
                f"first_delay={first_delay}, max_delay={max_delay}"
            )
        self.client = client
        self.deadline = deadline
        self.max_delay = max_delay
        self.give_up = time.monotonic() + deadline
        self.delay = first_delay
        self.polls = 0

    def next(self, response: Any) -> tuple[str, list[tuple[str, str]], float]:
        """(path, query, pause) of the next poll after the 202 ``response``; WaitTimedOut when it would be late."""
        location = response.headers.get("Location", "")
        path, params = self.client.location_path(location)
        asked = retry_after(response.headers)
        pause = min(self.max_delay, max(self.delay, asked or 0.0))
        left = self.give_up - time.monotonic()
        if left <= 0 or pause > left:
            polls = self.polls
            raise WaitTimedOut(
                f"GET {self.client.shown_base}{path}: still 202 Accepted after {self.deadline:g} s "
                f"({polls} poll{'s' if polls != 1 else ''}); the work may still finish, poll it again later",
                location=location,
                polls=polls,
                response=response,
            )
        log.debug("202 Accepted: polling %s in %.2f s", location, pause)
        self.delay = min(self.max_delay, self.delay * 2)
        self.polls += 1
        return path, params, pause


def retry_after(headers: Mapping[str, str]) -> float | None:
    """A Retry-After header's seconds (None when absent or a date)."""
    value = headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class ClientCore:
    """What ApiClient and AsyncApiClient share, whatever sends the bytes: configuration (URL, region, endpoint,
    role, retry policy, payload hand-off), request building, retry decisions, 202 following and error mapping.

    See :class:`ApiClient` for the parameters.
    """

    def __init__(
        self,
        base_url: str,
        role_arn: str,
        *,
        region: str | None = None,
        external_id: str | None = None,
        session_name: str | None = None,
        source_session: boto3.Session | None = None,
        endpoint_url: str | None = None,
        timeout: float | tuple[float, float] = (3.05, 35.0),
        retries: int | RetryPolicy = 2,
        duration_seconds: int | None = None,
        payload_bucket: str | None = None,
        payload_threshold: int = DEFAULT_THRESHOLD,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ConfigError(
                f"base_url {base_url!r} must be http(s)://host[:port][/base path], e.g. the provider's invoke_url"
            )
        self.base_url = base_url
        self.host = parts.netloc.rsplit("@", 1)[-1]
        self._base_path = parts.path.rstrip("/")
        self.shown_base = f"{parts.scheme}://{self.host}{self._base_path}"  # for messages: no user:password@
        if region is not None:
            check_region(region, parts.hostname)
        session = source_session or boto3.Session()
        resolved_region = region or region_of_host(parts.hostname) or session.region_name
        if not resolved_region:
            raise ConfigError(
                f"cannot tell the API's region from {parts.hostname!r}: pass region=... "
                "(consumer_config.region in the provider's outputs)"
            )
        self.region: str = resolved_region
        endpoint = endpoint_url or os.environ.get(ENDPOINT_ENV) or None
        if endpoint is not None:
            eparts = urlsplit(endpoint)
            if eparts.scheme not in ("http", "https") or not eparts.netloc:
                raise ConfigError(f"endpoint_url {endpoint!r} must be http(s)://host:port (e.g. the local AWS)")
            self.origin = f"{eparts.scheme}://{eparts.netloc}"
        else:
            self.origin = f"{parts.scheme}://{parts.netloc}"
        check_transport(self.origin, endpoint)
        self.endpoint_url = endpoint
        self.timeout = timeout
        self.retry = retries if isinstance(retries, RetryPolicy) else RetryPolicy(max_attempts=retries + 1)
        self.role = AssumedRole(
            role_arn,
            region=self.region,
            source_session=session,
            external_id=external_id,
            session_name=session_name,
            duration_seconds=duration_seconds,
        )
        self.auth = IamAuth(self.role.credentials, self.region, endpoint_url=endpoint)
        # Bodies over payload_threshold go through the provider's payload bucket (xacct.payloads).
        self.payloads = (
            PayloadHandoff(
                payload_bucket,
                self.role.credentials,
                region=self.region,
                endpoint_url=endpoint,
                threshold=payload_threshold,
            )
            if payload_bucket
            else None
        )
        self.setup_transport()

    header_charset = "latin-1"  # what the HTTP library sending the bytes encodes header values in

    def setup_transport(self) -> None:
        """What sends the bytes (ApiClient: a connection per thread; AsyncApiClient: an httpx.AsyncClient)."""
        raise NotImplementedError

    @staticmethod
    def encode_body(json: Any, data: Any) -> tuple[bytes | None, str | None]:
        """The bytes and Content-Type of ``json=`` or ``data=`` (bytes, str, a form dict or a file)."""
        if json is not None and data is not None:
            raise ConfigError("pass either json= or data=, not both")
        if json is not None:
            return jsonlib.dumps(json, separators=(",", ":")).encode("utf-8"), "application/json"
        if data is None:
            return None, None
        if isinstance(data, bytes):
            return data, None
        if isinstance(data, str):
            return data.encode("utf-8"), "text/plain; charset=utf-8"
        if isinstance(data, Mapping):
            return urlencode(query_pairs(data)).encode("ascii"), "application/x-www-form-urlencoded"
        read = getattr(data, "read", None)
        if callable(read):
            content = read()
            return (content if isinstance(content, bytes) else str(content).encode("utf-8")), None
        raise ConfigError(f"data of type {type(data).__name__} cannot be sent: bytes, str, dict or a file")

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any,
        data: Any,
        params: QueryParams | None,
        headers: Mapping[str, str] | None,
    ) -> Call:
        """The request to send (ConfigError for a bad method, path or body: nothing is sent). Payloads over the
        threshold must have gone through :meth:`PayloadHandoff.outgoing` already (its S3 upload blocks)."""
        method = check_method(method)
        wire_path = self._base_path + encode_path(path)
        query = canonical_query(query_pairs(params))
        body, content_type = self.encode_body(json, data)
        check_headers(headers or {}, self.header_charset)  # refused before anything is signed or sent
        base_headers: CaseInsensitiveDict[str] = CaseInsensitiveDict(dict(headers or {}))
        if content_type and "content-type" not in base_headers:
            base_headers["Content-Type"] = content_type
        base_headers["Host"] = self.host
        base_headers.setdefault("User-Agent", USER_AGENT)
        # What messages show: the API's URL as the caller named it, whatever endpoint the bytes go to.
        named_query = "&".join(f"{encode(k)}={encode(v)}" for k, v in query_pairs(params))
        return Call(
            method=method,
            wire_path=wire_path,
            query=query,
            url=self.origin + wire_path + (f"?{query}" if query else ""),
            shown=self.shown_base + encode_path(path) + (f"?{named_query}" if named_query else ""),
            body=body,
            headers=base_headers,
            retry_allowed=method in IDEMPOTENT_METHODS or "idempotency-key" in base_headers,
            clock=_Deadline(self.retry.total_timeout),
        )

    def sign(self, call: Call, headers: MutableMapping[str, str], frozen: ReadOnlyCredentials | None = None) -> None:
        """Sign ``call`` into ``headers``; an AssumeRole failure becomes the error that explains it."""
        try:
            self.auth.sign(call.method, self.host, call.wire_path, call.query, headers, call.body or b"", frozen)
        except (ClientError, BotoCoreError) as exc:
            raise self.role.explain(exc) from exc

    def retry_after_failure(self, call: Call, attempt: int, reason: str, failed_before_sending: bool) -> float | None:
        """Seconds to sleep before trying ``call`` again after no answer came (``reason``), or None: give up."""
        if reason == "tls" or not (call.retry_allowed or failed_before_sending):
            return None
        delay = self.retry.delay(attempt)
        return delay if self._retrying(call, attempt, reason, delay) else None

    def retry_after_status(self, call: Call, attempt: int, status: int, headers: Mapping[str, str]) -> float | None:
        """Seconds to sleep before trying ``call`` again after an answer with ``status``, or None: take the answer."""
        if status not in RETRY_STATUSES or not call.retry_allowed:
            return None
        delay = self.retry.delay(attempt, retry_after(headers))
        return delay if self._retrying(call, attempt, str(status), delay) else None

    def _retrying(self, call: Call, attempt: int, outcome: str, delay: float) -> bool:
        """Whether to try again after ``outcome`` (a status or a failure reason), logged at DEBUG either way."""
        method, url, clock = call.method, call.shown, call.clock
        if attempt >= self.retry.max_attempts:
            log.debug("%s %s: attempt %d of %d got %s; no attempts left", method, url, attempt, attempt, outcome)
            return False
        if not clock.fits(delay):
            clock.cut_short = True
            log.debug(
                "%s %s: attempt %d got %s; not retrying, another attempt would pass the %g s total_timeout",
                method,
                url,
                attempt,
                outcome,
                clock.total,
            )
            return False
        log.debug(
            "%s %s: attempt %d of %d got %s; retrying in %.2f s",
            method,
            url,
            attempt,
            self.retry.max_attempts,
            outcome,
            delay,
        )
        return True

    def failure(self, call: Call, reason: str, what: str, attempts: int) -> ConnectionFailed:
        """The error for no answer after ``attempts``: TimedOut for timeouts, else ConnectionFailed."""
        via = f" (endpoint_url {self.endpoint_url})" if self.endpoint_url else ""
        clock = call.clock
        left = clock.remaining()
        stopped = clock.cut_short or (left is not None and left <= 0)
        note = f", stopped by the {clock.total:g} s total_timeout" if stopped else ""
        message = f"{call.method} {call.shown}: {what}{via}; {attempts_text(attempts)}{note}"
        error_type = TimedOut if reason in ("connect_timeout", "read_timeout") else ConnectionFailed
        return error_type(message, reason=reason, url=call.shown, attempts=attempts)

    def error(self, call: Call, response: Any, phrase: str, attempts: int) -> HttpError | None:
        """None for a status < 400; else the error to raise (InvokeDenied for API Gateway's IAM 403s).

        ``response`` is the library's (requests or httpx), with its body read; ``phrase`` its reason phrase.
        """
        if response.status_code < 400:
            return None
        denial = denial_reason(response)
        if denial is not None:
            return InvokeDenied(response=response, reason=denial[0], aws_message=denial[1], url=call.shown)
        clock = call.clock
        head = (
            f"{call.method} {call.shown} -> {response.status_code} {phrase or _phrase(response.status_code)}"
            + (f" after {attempts_text(attempts)}" if attempts > 1 else "")
            + (
                f" (not retried: another attempt would pass the {clock.total:g} s total_timeout)"
                if clock.cut_short
                else ""
            )
        )
        # The body's start, on the first line as long as that stays short (the whole body is in .response).
        snippet = first_line(redact(response.content[:1000].decode("utf-8", "replace")), max(40, 280 - len(head)))
        return HttpError(
            head
            + (f": {snippet}" if snippet else "")
            + (f"\n  {TOO_LARGE_ADVICE}" if response.status_code == 413 and self.payloads is None else ""),
            response=response,
            url=call.shown,
            attempts=attempts,
        )

    def location_path(self, location: str) -> tuple[str, list[tuple[str, str]]]:
        """The API path and query of a 202's Location; WaitRefused when there is none or it is elsewhere."""
        if not location:
            raise WaitRefused("the API answered 202 Accepted without a Location header: there is nothing to follow")
        parts = urlsplit(location)
        if parts.netloc and parts.netloc.rsplit("@", 1)[-1].lower() != self.host.lower():
            raise WaitRefused(
                f"the 202 Accepted's Location {location!r} is on another host than the API ({self.host}): "
                "a signed request is only sent to the API's own host"
            )
        if not parts.path.startswith("/"):
            raise WaitRefused(f"the 202 Accepted's Location {location!r} is not an absolute path or URL")
        path = unquote(parts.path)
        if self._base_path and (path == self._base_path or path.startswith(self._base_path + "/")):
            path = path[len(self._base_path) :] or "/"
        return path, parse_qsl(parts.query, keep_blank_values=True)


class ApiClient(ClientCore):
    """A thread-safe client for one API, signing every request as ``role_arn``.

    ``base_url`` is the API's URL (https://<api-id>.execute-api.<region>.amazonaws.com or a custom domain,
    with an optional base path). ``region`` defaults to the execute-api host's region, then the source
    session's. ``endpoint_url`` (or $XACCT_ENDPOINT_URL) sends the bytes elsewhere - the local AWS - while
    the signature stays for the real host. A plain ``http://`` ``base_url`` is refused (``InsecureTransport``)
    unless its host is loopback or ``endpoint_url`` says where the bytes go. ``session_name`` defaults to
    ``<source account id>-xacct-<function or host name>`` (the account from one sts:GetCallerIdentity), the
    form invoke roles require of a consumer account's sessions. Proxy and CA settings come from the
    environment when a thread first uses the client (requests re-reads them per request; on a hot path that is a
    third of the cost); each thread keeps one connection to the API alive (xacct.transport, on http.client; TLS
    verified against the CA bundle requests would use), or sends through requests' HTTPAdapter when a proxy applies.
    Errors raise: ``InvokeDenied`` for API Gateway's IAM 403s, ``HttpError`` for other statuses >= 400,
    ``ConnectionFailed`` (``TimedOut`` for timeouts) when no answer came, ``AssumeRoleDenied`` when the role
    cannot be assumed. Their messages show the API's URL as given here, not ``endpoint_url``, and the number
    of attempts. Retries are logged at DEBUG on ``xacct.client`` (attempt, status or failure, sleep).
    """

    def setup_transport(self) -> None:
        self._local = threading.local()
        # Weakly: a thread's connection goes with the thread (its thread-local storage), not at close() only.
        self._senders: weakref.WeakSet[Channel | HTTPAdapter] = weakref.WeakSet()
        self._lock = threading.Lock()
        self.sleep: Callable[[float], None] = time.sleep

    # -- plumbing -----------------------------------------------------------------------------------------

    def _transport(self) -> tuple[Channel | HTTPAdapter, dict[str, Any]]:
        """This thread's transport - a kept-alive connection to the API's origin, or requests' HTTPAdapter when a
        proxy applies - and the send settings (proxies, CA bundle and client certificate from the environment, as a
        requests Session reads them, once).

        Requests go over the thread's own http.client connection (xacct.transport), not through a Session, the
        adapter's per-request work (proxy selection, pool lookup, TLS settings, cookies, hooks) nor urllib3's pool:
        for a signed call to one API those were most of the client's own time. TLS is verified against the CA
        bundle requests would use.
        """
        found: tuple[Channel | HTTPAdapter, dict[str, Any]] | None = getattr(self._local, "transport", None)
        if found is not None:
            return found
        with requests.Session() as session:
            merged = session.merge_environment_settings(self.origin + "/", {}, None, None, None)
        settings: dict[str, Any] = {k: merged[k] for k in ("proxies", "verify", "cert")}
        sender: Channel | HTTPAdapter
        if select_proxy(self.origin + "/", settings["proxies"]) or settings["cert"]:
            sender = HTTPAdapter(max_retries=0, pool_maxsize=4)
        else:
            sender = Channel(self.origin, settings["verify"])
        self._local.transport = (sender, settings)
        with self._lock:
            self._senders.add(sender)
        return sender, settings

    @staticmethod
    def _send(
        channel: Channel, prepared: requests.PreparedRequest, target: str, timeout: float | tuple[float, float]
    ) -> requests.Response:
        """``prepared`` over ``channel`` (no retries, no redirects), answered as a requests.Response, body read."""
        answer = channel.send(
            prepared.method or "GET",
            target,
            prepared.headers,
            cast(bytes | None, prepared.body),
            timeout if isinstance(timeout, tuple) else (timeout, timeout),
        )
        response = requests.Response()
        response.status_code = answer.status
        response.headers = CaseInsensitiveDict(answer.headers)
        response.encoding = get_encoding_from_headers(response.headers)
        response.raw = io.BytesIO(answer.body)  # read (and decoded) already: .content reads it from here
        response.reason = answer.reason
        response.url = prepared.url or ""
        response.request = prepared
        return response

    def close(self) -> None:
        """Close every thread's connection (a request in flight is answered first). A later request opens a new
        one, which the next close() closes too."""
        with self._lock:
            senders, self._senders = list(self._senders), weakref.WeakSet()
            self._local = threading.local()  # no thread keeps using a connection closed here, untracked
        for sender in senders:
            sender.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- requests -----------------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: Any = None,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        wait: bool = False,
        wait_deadline: float = 300.0,
    ) -> requests.Response:
        """Send one signed request (retried per the RetryPolicy) and return the 2xx/3xx response.

        ``wait=True``: a ``202 Accepted`` with a ``Location`` is followed with :meth:`wait` until a final answer,
        for at most ``wait_deadline`` seconds.
        """
        response = self._request(method, path, json=json, data=data, params=params, headers=headers)
        if wait and response.status_code == 202:
            return self.wait(response, deadline=wait_deadline)
        return response

    def wait(
        self,
        response: requests.Response,
        *,
        deadline: float = 300.0,
        first_delay: float = 0.5,
        max_delay: float = 10.0,
    ) -> requests.Response:
        """Follow a ``202 Accepted`` to its final answer: GET its ``Location`` (signed, as every request) with
        exponential backoff (``first_delay`` doubling up to ``max_delay``; a ``Retry-After`` on a 202 is honoured
        within that cap) until the answer is not 202, and return it.

        ``Location`` may be absolute (on the API's own host only) or a path. A path is the API server's path: when it
        does not start with the base path of this client's URL (a stage, a base path mapping), it is taken as
        relative to it, as paths given to :meth:`request` are. Raises ``WaitTimedOut`` when still 202 after
        ``deadline`` seconds, ``WaitRefused`` for a 202 that cannot be followed; errors of the polls raise as
        :meth:`request`'s do. A response that is not 202 is returned as is.
        """
        follow = Follow(self, deadline, first_delay, max_delay)
        while response.status_code == 202:
            path, params, pause = follow.next(response)
            self.sleep(pause)
            response.close()
            response = self._request("GET", path, params=params)
        return response

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: Any = None,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        check_method(method)  # before any payload goes to S3
        if self.payloads is not None:
            json, data, headers = self.payloads.outgoing(json, data, headers, encode=self.encode_body)
        call = self.call(method, path, json=json, data=data, params=params, headers=headers)
        sender, settings = self._transport()
        target = call.wire_path + (f"?{call.query}" if call.query else "")
        attempt = 0
        while True:
            attempt += 1
            call.clock.begin_attempt()
            prepared = requests.PreparedRequest()
            prepared.method, prepared.url, prepared.body = call.method, call.url, call.body
            prepared.headers = CaseInsensitiveDict(call.headers)
            if call.body is not None or call.method not in ("GET", "HEAD"):  # as requests' prepare() sets it
                prepared.headers["Content-Length"] = str(len(call.body or b""))
            self.sign(call, prepared.headers)
            timeout = call.clock.cap(self.timeout)
            try:
                if isinstance(sender, Channel):
                    response = self._send(sender, prepared, target, timeout)
                else:
                    response = sender.send(prepared, timeout=timeout, **settings)
                    response.content  # noqa: B018  (read now: a broken answer fails here, inside the retry)
            except (
                requests.ConnectionError,
                requests.Timeout,
                requests.exceptions.ChunkedEncodingError,
                TransportError,
            ) as exc:
                reason, what = describe_failure(exc, urlsplit(self.origin).netloc, timeout)
                delay = self.retry_after_failure(call, attempt, reason, _failed_before_sending(exc))
                if delay is None:
                    raise self.failure(call, reason, what, attempt) from exc
                self.sleep(delay)
                continue
            response.elapsed = timedelta(seconds=time.monotonic() - call.clock.attempt_start)
            delay = self.retry_after_status(call, attempt, response.status_code, response.headers)
            if delay is not None:
                response.close()
                self.sleep(delay)
                continue
            error = self.error(call, response, response.reason, attempt)
            if error is not None:
                raise error
            return response if self.payloads is None else self.payloads.incoming(response)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def head(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("HEAD", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)
