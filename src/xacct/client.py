"""ApiClient: call an IAM-authorized HTTP API of another account through its invoke role.

with ApiClient("https://server.stag.foo.example.com", "arn:aws:iam::111111111111:role/ApiAllowByIamRoleStag",
               region="ap-northeast-1") as api:
    print(api.put("/hoge", json={"foo": "bar"}).json())
"""

from __future__ import annotations

import json as jsonlib
import os
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import boto3
import requests
import urllib3
from botocore.exceptions import BotoCoreError, ClientError
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict

from xacct.credentials import AssumedRole
from xacct.errors import ConfigError, HttpError, InvokeDenied, denial_reason
from xacct.signing import IamAuth, QueryParams, canonical_query, query_pairs

ENDPOINT_ENV = "XACCT_ENDPOINT_URL"
EXECUTE_API_HOST = re.compile(r"^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")
_METHOD = re.compile(r"^[A-Z]+$")
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded attempts, exponential backoff with full jitter, Retry-After honoured up to max_delay.

    Retried: connection errors, 429, 502, 503 and 504, for GET/HEAD/OPTIONS/PUT/DELETE, and for POST/PATCH
    only when the request carries an Idempotency-Key header or failed before anything was sent.
    """

    max_attempts: int = 3
    base_delay: float = 0.2
    max_delay: float = 5.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.base_delay < 0 or self.max_delay < 0:
            raise ConfigError(f"invalid retry policy {self!r}: max_attempts >= 1 and delays >= 0 expected")

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return min(self.max_delay, max(0.0, retry_after))
        return random.uniform(0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))  # noqa: S311


def encode_path(path: str) -> str:
    """Plain-text path -> what goes on the wire: every character but unreserved ones and / percent-encoded."""
    if not path.startswith("/"):
        raise ConfigError(f"path {path!r} must start with '/'")
    return quote(path, safe="/-_.~")


def _region_from_host(host: str) -> str | None:
    match = EXECUTE_API_HOST.match(host)
    return match.group(1) if match else None


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


class ApiClient:
    """A thread-safe client for one API, signing every request as ``role_arn``.

    ``base_url`` is the API's URL (https://<api-id>.execute-api.<region>.amazonaws.com or a custom domain,
    with an optional base path). ``region`` defaults to the execute-api host's region, then the source
    session's. ``endpoint_url`` (or $XACCT_ENDPOINT_URL) sends the bytes elsewhere - the local AWS - while
    the signature stays for the real host. Proxy and CA settings come from the environment when a thread first
    uses the client (requests re-reads them per request; on a hot path that is a third of the cost).
    Errors raise: ``InvokeDenied`` for API Gateway's IAM 403s,
    ``HttpError`` for other statuses >= 400, ``AssumeRoleDenied`` when the role cannot be assumed.
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
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ConfigError(
                f"base_url {base_url!r} must be http(s)://host[:port][/base path], e.g. the provider's invoke_url"
            )
        self.base_url = base_url
        self.host = parts.netloc.rsplit("@", 1)[-1]
        self._base_path = parts.path.rstrip("/")
        session = source_session or boto3.Session()
        resolved_region = region or _region_from_host(parts.hostname) or session.region_name
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
        self.auth = IamAuth(self.role.credentials, self.region)
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
    ) -> requests.Response:
        """Send one signed request (retried per the RetryPolicy) and return the 2xx/3xx response."""
        method = method.upper()
        if not _METHOD.match(method):
            raise ConfigError(f"HTTP method {method!r} is not a method name such as GET or PUT")
        wire_path = self._base_path + encode_path(path)
        query = canonical_query(query_pairs(params))
        body, content_type = self._body(json, data)
        base_headers: CaseInsensitiveDict[str] = CaseInsensitiveDict(dict(headers or {}))
        if content_type and "content-type" not in base_headers:
            base_headers["Content-Type"] = content_type
        base_headers["Host"] = self.host
        url = self._origin + wire_path + (f"?{query}" if query else "")
        retry_allowed = method in IDEMPOTENT_METHODS or "idempotency-key" in base_headers
        session, settings = self._session()

        attempt = 0
        while True:
            attempt += 1
            prepared = requests.PreparedRequest()
            prepared.prepare(method=method, url=url, headers=dict(base_headers), data=body)
            self._sign(method, wire_path, query, prepared.headers, body or b"")
            try:
                response = session.send(prepared, timeout=self.timeout, allow_redirects=False, **settings)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if attempt < self.retry.max_attempts and (retry_allowed or _failed_before_sending(exc)):
                    self.sleep(self.retry.delay(attempt))
                    continue
                raise
            if response.status_code in RETRY_STATUSES and retry_allowed and attempt < self.retry.max_attempts:
                delay = self.retry.delay(attempt, _retry_after(response))
                response.close()
                self.sleep(delay)
                continue
            return self._check(method, response)

    def _check(self, method: str, response: requests.Response) -> requests.Response:
        if response.status_code < 400:
            return response
        denial = denial_reason(response)
        if denial is not None:
            raise InvokeDenied(response=response, reason=denial[0], aws_message=denial[1])
        snippet = response.text[:300].strip()
        raise HttpError(
            f"{method} {response.url} -> {response.status_code} {response.reason}"
            + (f": {snippet}" if snippet else ""),
            response=response,
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
