"""ApiClient: call an IAM-authorized HTTP API of another account through its invoke role.

with ApiClient("https://server.stag.foo.example.com", "arn:aws:iam::111111111111:role/ApiAllowByIamRoleStag",
               region="ap-northeast-1") as api:
    print(api.put("/hoge", json={"foo": "bar"}).json())
"""

from __future__ import annotations

import json as jsonlib
import logging
import os
import random
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

import boto3
import requests
import urllib3
from botocore.exceptions import BotoCoreError, ClientError
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict

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


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _failed_before_sending(exc: requests.RequestException) -> bool:
    """True when the connection was never made, so not a byte of the request reached the server."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, urllib3.exceptions.ConnectTimeoutError | urllib3.exceptions.NewConnectionError)


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
    return chain


def describe_failure(exc: requests.RequestException, netloc: str, timeout: Any) -> tuple[str, str]:
    """(reason, what happened in words) for a request that got no HTTP answer; see ConnectionFailed.REASONS."""
    chain = _underlying(exc)
    if isinstance(exc, requests.exceptions.SSLError) or any(isinstance(e, ssl.SSLError) for e in chain):
        found = next((e for e in chain if isinstance(e, ssl.SSLError)), None)
        detail = getattr(found, "verify_message", None) or getattr(found, "reason", None) or "handshake failed"
        hint = (
            " (a private CA? point REQUESTS_CA_BUNDLE at its certificate)"
            if isinstance(found, ssl.SSLCertVerificationError)
            else ""
        )
        return "tls", f"TLS with {netloc} failed: {detail}{hint}"
    connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "connect_timeout", f"no connection to {netloc} within {connect:g} s"
    if isinstance(exc, requests.Timeout):
        return "read_timeout", f"no answer from {netloc} within {read:g} s"
    if any(isinstance(e, urllib3.exceptions.NameResolutionError | socket.gaierror) for e in chain):
        return "dns", f"cannot resolve the host name {urlsplit('//' + netloc).hostname!r} (DNS)"
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return "refused", f"connection refused by {netloc}"
    if any(isinstance(e, urllib3.exceptions.ProtocolError | ConnectionResetError) for e in chain) or isinstance(
        exc, requests.exceptions.ChunkedEncodingError
    ):
        return "connection_lost", f"connection to {netloc} lost before the answer was complete"
    oserror = next((e for e in chain if isinstance(e, OSError) and e.strerror), None)
    return "connection", f"cannot connect to {netloc}: {oserror.strerror if oserror else type(exc).__name__}"


class WaitTimedOut(XacctError):
    """A 202 Accepted was still 202 when the ``deadline`` of :meth:`ApiClient.wait` passed.

    ``location`` is the last URL polled, ``polls`` how many times it was asked, ``response`` the last 202: the work
    may still finish; poll ``location`` again later.
    """

    def __init__(self, message: str, *, location: str, polls: int, response: requests.Response) -> None:
        super().__init__(message)
        self.location = location
        self.polls = polls
        self.response = response


class WaitRefused(XacctError):
    """A 202 Accepted that cannot be followed: no Location header, or one on another host (a signed request is
    only ever sent to the API's own host)."""


class ApiClient:
    """A thread-safe client for one API, signing every request as ``role_arn``.

    ``base_url`` is the API's URL (https://<api-id>.execute-api.<region>.amazonaws.com or a custom domain,
    with an optional base path). ``region`` defaults to the execute-api host's region, then the source
    session's. ``endpoint_url`` (or $XACCT_ENDPOINT_URL) sends the bytes elsewhere - the local AWS - while
    the signature stays for the real host. A plain ``http://`` ``base_url`` is refused (``InsecureTransport``)
    unless its host is loopback or ``endpoint_url`` says where the bytes go. ``session_name`` defaults to
    ``<source account id>-xacct-<function or host name>`` (the account from one sts:GetCallerIdentity), the
    form invoke roles require of a consumer account's sessions. Proxy and CA settings come from the
    environment when a thread first uses the client (requests re-reads them per request; on a hot path that is a
    third of the cost).
    Errors raise: ``InvokeDenied`` for API Gateway's IAM 403s, ``HttpError`` for other statuses >= 400,
    ``ConnectionFailed`` (``TimedOut`` for timeouts) when no answer came, ``AssumeRoleDenied`` when the role
    cannot be assumed. Their messages show the API's URL as given here, not ``endpoint_url``, and the number
    of attempts. Retries are logged at DEBUG on ``xacct.client`` (attempt, status or failure, sleep).
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
        self._shown_base = f"{parts.scheme}://{self.host}{self._base_path}"  # for messages: no user:password@
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
            self._origin = f"{eparts.scheme}://{eparts.netloc}"
        else:
            self._origin = f"{parts.scheme}://{parts.netloc}"
        check_transport(self._origin, endpoint)
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
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()
        self.sleep: Callable[[float], None] = time.sleep

    # -- plumbing -----------------------------------------------------------------------------------------

    def _session(self) -> tuple[requests.Session, dict[str, Any]]:
        """This thread's session, and its send settings (proxies, CA bundle from the environment, read once)."""
        found: tuple[requests.Session, dict[str, Any]] | None = getattr(self._local, "session", None)
        if found is None:
            session = requests.Session()
            adapter = HTTPAdapter(max_retries=0, pool_maxsize=4)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            settings: dict[str, Any] = dict(
                session.merge_environment_settings(self._origin + "/", {}, None, None, None)
            )
            found = self._local.session = (session, settings)
            with self._lock:
                self._sessions.append(session)
        return found

    def close(self) -> None:
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @staticmethod
    def _body(json: Any, data: Any) -> tuple[bytes | None, str | None]:
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

    def _sign(self, method: str, path: str, query: str, headers: CaseInsensitiveDict[str], body: bytes) -> None:
        try:
            self.auth.sign(method, self.host, path, query, headers, body)
        except (ClientError, BotoCoreError) as exc:
            raise self.role.explain(exc) from exc

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
        if deadline <= 0 or first_delay <= 0 or max_delay < first_delay:
            raise ConfigError(
                f"wait needs deadline > 0 and 0 < first_delay <= max_delay; got deadline={deadline}, "
                f"first_delay={first_delay}, max_delay={max_delay}"
            )
        give_up = time.monotonic() + deadline
        delay, polls, location = first_delay, 0, ""
        while response.status_code == 202:
            location = response.headers.get("Location", "")
            path, params = self._location_path(location)
            asked = _retry_after(response)
            pause = min(max_delay, max(delay, asked or 0.0))
            left = give_up - time.monotonic()
            if left <= 0 or pause > left:
                raise WaitTimedOut(
                    f"GET {self._shown_base}{path}: still 202 Accepted after {deadline:g} s "
                    f"({polls} poll{'s' if polls != 1 else ''}); the work may still finish, poll it again later",
                    location=location,
                    polls=polls,
                    response=response,
                )
            log.debug("202 Accepted: polling %s in %.2f s", location, pause)
            self.sleep(pause)
            delay = min(max_delay, delay * 2)
            polls += 1
            response.close()
            response = self._request("GET", path, params=params)
        return response

    def _location_path(self, location: str) -> tuple[str, list[tuple[str, str]]]:
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
        method = check_method(method)
        wire_path = self._base_path + encode_path(path)
        query = canonical_query(query_pairs(params))
        if self.payloads is not None:
            json, data, headers = self.payloads.outgoing(json, data, headers, encode=self._body)
        body, content_type = self._body(json, data)
        base_headers: CaseInsensitiveDict[str] = CaseInsensitiveDict(dict(headers or {}))
        if content_type and "content-type" not in base_headers:
            base_headers["Content-Type"] = content_type
        base_headers["Host"] = self.host
        url = self._origin + wire_path + (f"?{query}" if query else "")
        # What messages show: the API's URL as the caller named it, whatever endpoint the bytes go to.
        named_query = "&".join(f"{encode(k)}={encode(v)}" for k, v in query_pairs(params))
        shown = self._shown_base + encode_path(path) + (f"?{named_query}" if named_query else "")
        retry_allowed = method in IDEMPOTENT_METHODS or "idempotency-key" in base_headers
        session, settings = self._session()
        policy, clock = self.retry, _Deadline(self.retry.total_timeout)

        attempt = 0
        while True:
            attempt += 1
            clock.begin_attempt()
            prepared = requests.PreparedRequest()
            prepared.prepare(method=method, url=url, headers=dict(base_headers), data=body)
            self._sign(method, wire_path, query, prepared.headers, body or b"")
            timeout = clock.cap(self.timeout)
            try:
                response = session.send(prepared, timeout=timeout, allow_redirects=False, **settings)
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
                reason, what = describe_failure(exc, urlsplit(self._origin).netloc, timeout)
                if reason != "tls" and (retry_allowed or _failed_before_sending(exc)):
                    delay = policy.delay(attempt)
                    if self._retrying(method, shown, attempt, reason, delay, clock):
                        self.sleep(delay)
                        continue
                raise self._failure(method, shown, reason, what, attempt, clock) from exc
            if response.status_code in RETRY_STATUSES and retry_allowed:
                delay = policy.delay(attempt, _retry_after(response))
                if self._retrying(method, shown, attempt, str(response.status_code), delay, clock):
                    response.close()
                    self.sleep(delay)
                    continue
            checked = self._check(method, response, shown, attempt, clock)
            return checked if self.payloads is None else self.payloads.incoming(checked)

    def _retrying(self, method: str, url: str, attempt: int, outcome: str, delay: float, clock: _Deadline) -> bool:
        """Whether to try again after ``outcome`` (a status or a failure reason), logged at DEBUG either way."""
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

    def _failure(
        self, method: str, url: str, reason: str, what: str, attempts: int, clock: _Deadline
    ) -> ConnectionFailed:
        via = f" (endpoint_url {self.endpoint_url})" if self.endpoint_url else ""
        left = clock.remaining()
        stopped = clock.cut_short or (left is not None and left <= 0)
        note = f", stopped by the {clock.total:g} s total_timeout" if stopped else ""
        message = f"{method} {url}: {what}{via}; {attempts_text(attempts)}{note}"
        error_type = TimedOut if reason in ("connect_timeout", "read_timeout") else ConnectionFailed
        return error_type(message, reason=reason, url=url, attempts=attempts)

    def _check(
        self, method: str, response: requests.Response, url: str, attempts: int, clock: _Deadline
    ) -> requests.Response:
        if response.status_code < 400:
            return response
        denial = denial_reason(response)
        if denial is not None:
            raise InvokeDenied(response=response, reason=denial[0], aws_message=denial[1], url=url)
        phrase = response.reason or _phrase(response.status_code)
        head = (
            f"{method} {url} -> {response.status_code} {phrase}"
            + (f" after {attempts_text(attempts)}" if attempts > 1 else "")
            + (
                f" (not retried: another attempt would pass the {clock.total:g} s total_timeout)"
                if clock.cut_short
                else ""
            )
        )
        # The body's start, on the first line as long as that stays short (the whole body is in .response).
        snippet = first_line(redact(response.content[:1000].decode("utf-8", "replace")), max(40, 280 - len(head)))
        raise HttpError(
            head
            + (f": {snippet}" if snippet else "")
            + (f"\n  {TOO_LARGE_ADVICE}" if response.status_code == 413 and self.payloads is None else ""),
            response=response,
            url=url,
            attempts=attempts,
        )

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
