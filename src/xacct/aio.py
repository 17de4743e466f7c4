"""xacct on httpx: ``HttpxIamAuth`` (any ``httpx.Client`` or ``httpx.AsyncClient``) and ``AsyncApiClient``.

Behind the ``httpx`` extra (``pip install 'xacct[httpx]'``). Both sign with the code ``IamAuth`` and ``ApiClient``
sign with (xacct.signing), and ``AsyncApiClient`` shares ``ApiClient``'s request building, retry policy, 202
following, errors and payload hand-off (xacct.client.ClientCore); only the sending is httpx's.

    async with AsyncApiClient(invoke_url, invoke_role_arn, region="ap-northeast-1") as api:
        print((await api.put("/hoge", json={"foo": "bar"})).json())
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
from collections.abc import AsyncGenerator, AsyncIterable, Awaitable, Callable, Generator, Iterable, Mapping
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from xacct.client import ClientCore, Follow, check_method, describe_chain
from xacct.credentials import AsyncCredentials
from xacct.errors import ConfigError, MissingExtra
from xacct.signing import SERVICE, CredentialSource, IamAuth, QueryParams, signable_url

try:
    import httpx
except ImportError as exc:  # the base install is requests-only
    raise MissingExtra(
        "xacct.AsyncApiClient and xacct.HttpxIamAuth need httpx, which the base install leaves out: "
        "pip install 'xacct[httpx]' (in a clone: pip install -e '.[httpx]')"
    ) from exc

# HTTP/2 where the server offers it (ALPN), with the h2 package the extra brings (as httpx[http2]); HTTP/1.1
# keep-alive else, and when h2 is missing (an install that left it out).
HTTP2 = importlib.util.find_spec("h2") is not None


def _unhashable(request: httpx.Request, client: str, stream: str) -> ConfigError:
    return ConfigError(
        f"cannot sign {request.method} {request.url.copy_with(query=None)}: its body is {stream}, which "
        f"{client} cannot read before sending, and SigV4 for execute-api signs the body's hash up front; pass "
        "content=bytes (or an iterator of bytes matching the client: sync for httpx.Client, async for AsyncClient)"
    )


class HttpxIamAuth(httpx.Auth):
    """SigV4 for API Gateway IAM authorization as an ``httpx.Auth``, for ``httpx.Client`` and ``httpx.AsyncClient``.

    >>> httpx.get(url, auth=HttpxIamAuth(credentials, "ap-northeast-1"))

    What is sent is what was signed: the query goes out in the canonical form that is signed, a streamed or
    multipart body is read once and sent with the Content-Length of the bytes signed (not chunked). A body the
    client cannot read up front (an async iterator given to the sync client, or the other way) is a ``ConfigError``
    before anything is sent. ``credentials`` is anything with ``get_frozen_credentials()``; in the async flow a
    refresh runs in a worker thread, one at a time, never on the event loop (``AsyncCredentials``). Plain
    ``http://`` is signed only for a loopback host or ``endpoint_url`` (``InsecureTransport``), as with IamAuth.
    """

    def __init__(
        self,
        credentials: CredentialSource,
        region: str,
        *,
        service: str = SERVICE,
        endpoint_url: str | None = None,
    ) -> None:
        self.signer = IamAuth(credentials, region, service=service, endpoint_url=endpoint_url)
        self.credentials = AsyncCredentials(credentials)

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if not isinstance(request.stream, Iterable):
            raise _unhashable(request, "httpx.Client", "an async stream")
        request.read()
        yield self._signed(request, None)

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if not isinstance(request.stream, AsyncIterable):
            raise _unhashable(request, "httpx.AsyncClient", "a sync stream")
        await request.aread()
        yield self._signed(request, await self.credentials.frozen())

    def _signed(self, request: httpx.Request, frozen: Any) -> httpx.Request:
        url, default_host, path, query = signable_url(str(request.url), self.signer.endpoint_url)
        request.url = httpx.URL(url)
        body = request.content
        if "transfer-encoding" in request.headers:  # a stream, now read: send the bytes signed, with their length
            del request.headers["Transfer-Encoding"]
            request.headers["Content-Length"] = str(len(body))
        host = request.headers.get("Host") or default_host
        self.signer.sign(request.method, host, path, query, request.headers, body, frozen)
        return request


@functools.lru_cache(maxsize=64)
def _timeout(value: float | tuple[float, float]) -> httpx.Timeout:
    connect, read = value if isinstance(value, tuple) else (value, value)
    return httpx.Timeout(connect=connect, read=read, write=read, pool=read)


class AsyncApiClient(ClientCore):
    """``ApiClient`` for asyncio: the same constructor, methods, errors, retry policy with total deadline, 202
    following and payload hand-off, on one ``httpx.AsyncClient`` (keep-alive; HTTP/2 where the server offers
    it). Methods are coroutines and return ``httpx.Response`` (body read).

    Any number of tasks may share one client: the credentials are one refreshing source (``AsyncCredentials``),
    so however many tasks find them expiring, one sts:AssumeRole runs, in a worker thread; S3 calls of the
    payload hand-off run in worker threads too. ``async with`` (or ``await aclose()``) closes the connections.
    Errors are ``ApiClient``'s: ``InvokeDenied``, ``HttpError`` (``.response`` an ``httpx.Response``),
    ``ConnectionFailed``/``TimedOut``, ``AssumeRoleDenied``, ``WaitTimedOut``/``WaitRefused``, ``ConfigError``.
    """

    header_charset = "ascii"  # httpx encodes header values as ASCII

    def setup_transport(self) -> None:
        self.credentials = AsyncCredentials(self.role.credentials)
        self.http = httpx.AsyncClient(
            http2=HTTP2,
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=100),
            follow_redirects=False,
        )
        self._netloc = urlsplit(self.origin).netloc
        self.sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> AsyncApiClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def request(
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
    ) -> httpx.Response:
        """Send one signed request (retried per the RetryPolicy) and return the 2xx/3xx response; see
        ``ApiClient.request``."""
        response = await self._request(method, path, json=json, data=data, params=params, headers=headers)
        if wait and response.status_code == 202:
            return await self.wait(response, deadline=wait_deadline)
        return response

    async def wait(
        self,
        response: httpx.Response,
        *,
        deadline: float = 300.0,
        first_delay: float = 0.5,
        max_delay: float = 10.0,
    ) -> httpx.Response:
        """Follow a ``202 Accepted`` to its final answer; see ``ApiClient.wait``."""
        follow = Follow(self, deadline, first_delay, max_delay)
        while response.status_code == 202:
            path, params, pause = follow.next(response)
            await self.sleep(pause)
            await response.aclose()
            response = await self._request("GET", path, params=params)
        return response

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: Any = None,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        check_method(method)  # before any payload goes to S3
        if self.payloads is not None:
            json, data, headers = await asyncio.to_thread(
                self.payloads.outgoing, json, data, headers, encode=self.encode_body
            )
        call = self.call(method, path, json=json, data=data, params=params, headers=headers)
        attempt = 0
        while True:
            attempt += 1
            call.clock.begin_attempt()
            try:
                frozen = await self.credentials.frozen()
            except (ClientError, BotoCoreError) as exc:
                raise self.role.explain(exc) from exc
            signed = dict(call.headers)  # call.headers has no X-Amz-* of its own: IamAuth.sign sets them
            self.sign(call, signed, frozen)
            timeout = call.clock.cap(self.timeout)
            request = self.http.build_request(
                call.method, call.url, content=call.body, headers=signed, timeout=_timeout(timeout)
            )
            try:
                response = await self.http.send(request)
            except httpx.TransportError as exc:
                timed_out = (
                    "connect_timeout"
                    if isinstance(exc, httpx.ConnectTimeout)
                    else "read_timeout"
                    if isinstance(exc, httpx.TimeoutException)
                    else None
                )
                lost = isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError)
                reason, what = describe_chain(
                    exc, self._netloc, timeout, timed_out=timed_out, lost=lost, ca_variable="SSL_CERT_FILE"
                )
                before = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
                delay = self.retry_after_failure(call, attempt, reason, before)
                if delay is None:
                    raise self.failure(call, reason, what, attempt) from exc
                await self.sleep(delay)
                continue
            delay = self.retry_after_status(call, attempt, response.status_code, response.headers)
            if delay is not None:
                await response.aclose()
                await self.sleep(delay)
                continue
            error = self.error(call, response, response.reason_phrase, attempt)
            if error is not None:
                raise error
            return response if self.payloads is None else await self._incoming(response)

    async def _incoming(self, response: httpx.Response) -> httpx.Response:
        """The response, or the body its reference names, fetched and verified in a worker thread."""
        assert self.payloads is not None
        fetched = await asyncio.to_thread(self.payloads.fetch, response.headers, response.content)
        if fetched is None:
            return response
        body, headers = fetched
        try:
            content = await asyncio.to_thread(body.read)
        finally:
            body.close()
        return httpx.Response(response.status_code, headers=headers, content=content, request=response.request)

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", path, **kwargs)

    async def head(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("HEAD", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PUT", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", path, **kwargs)

    async def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PATCH", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("DELETE", path, **kwargs)
