"""``AsgiMiddleware``: wrap an ASGI app (FastAPI, Starlette, any) so that it only ever sees verified callers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from typing import IO, Any

from botocore.exceptions import BotoCoreError, ClientError

from xacct.backend.caller import Caller, InvokeRoles
from xacct.backend.gate import CALLER_KEY, DEFAULT_ORIGIN_HEADER, Gate, OriginSecret, Refusal, log_refusal
from xacct.backend.payloads import PayloadBucket, PayloadRefused
from xacct.payloads import (
    ACCEPT_HEADER,
    ACCEPT_VALUE,
    CHUNK,
    MAX_REFERENCE_BYTES,
    REFERENCE_CONTENT_TYPE,
    PayloadError,
    PayloadReference,
    SpoolWriter,
    is_reference,
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class AsgiMiddleware:
    """Checks each HTTP request before ``app`` runs; ``app`` finds the ``Caller`` in ``scope["xacct.caller"]``.

    Example (FastAPI)::

        app.add_middleware(AsgiMiddleware, origin_secret=os.environ["ORIGIN_SECRET"])
        caller = request.scope["xacct.caller"]

    Args:
        app: the ASGI application to protect.
        invoke_roles: the provider module's ``invoke_role_arns`` output (name => role ARN), required: only these
            roles' sessions name a consumer account (``Caller.consumer_account_id``); a session of any other role is
            refused (403, ``caller_not_invoke_role``) unless ``allow_other_roles``.
        origin_secret: the secret the gateway sends in ``header_name`` (the provider module's
            ``origin_secret`` output), or several while rotating (any is accepted); None when the server is
            reachable only from the gateway's VPC link (then no origin check: the network is the seal).
        header_name: the header carrying the origin secret (default ``x-origin-verify``).
        payloads: the payload bucket (``PayloadBucket(name, session)``) for bodies past API Gateway's limits;
            None to leave references to the app.
        allow_other_roles: let sessions of roles that are not invoke roles through, with ``consumer_account_id``
            None (their session names prove nothing).
        check_route: refuse (403, ``route_mismatch``) a request whose path is not one the route the gateway
            authorized (``x-route-key``) serves, or that has an encoded slash or a dot segment
            (``xacct.backend.route``); turn off only for an app that routes on ``Caller.route_key`` itself.
        path_prefix: the integration URI's base path, which the gateway puts before each request's path ('/api'
            for https://backend.example.com/api); '' by default.

    ``http`` scopes: a request without the secret, with a wrong one, without a verified ``x-caller-arn``, of a
    role that is not an invoke role, or whose path the authorized route does not serve is answered 403 with a JSON
    body (``reason``: ``origin_missing``, ``origin_mismatch``, ``caller_missing``, ``caller_invalid``,
    ``caller_not_invoke_role`` or ``route_mismatch``) and never reaches ``app``; otherwise the SigV4 headers and
    the origin header are removed from the scope's headers. ``websocket`` scopes are checked the same way (an HTTP
    API never forwards a WebSocket, so a direct connection is what the check refuses): refused before ``accept``,
    which the server answers 403. ``lifespan`` goes straight to ``app``; any other scope type is an error.

    With ``payloads``: an HTTP request body that is a payload reference is replaced by the object it names
    (the ``http.request`` messages, ``content-type`` and ``content-length``), after checking that it is under the
    caller's own prefix (403) and matches the reference's length and SHA-256 (400); when the request says the
    client takes references, the response body is buffered (spooled) and, past the threshold, written to the
    bucket and answered as a reference. S3 calls run in a worker thread.
    """

    def __init__(
        self,
        app: AsgiApp,
        *,
        invoke_roles: InvokeRoles | Mapping[str, str] | Iterable[str] | None = None,
        origin_secret: OriginSecret = None,
        header_name: str = DEFAULT_ORIGIN_HEADER,
        payloads: PayloadBucket | None = None,
        allow_other_roles: bool = False,
        check_route: bool = True,
        path_prefix: str = "",
    ) -> None:
        self.app = app
        self.gate = Gate(
            origin_secret,
            header_name,
            invoke_roles=invoke_roles,
            allow_other_roles=allow_other_roles,
            check_route=check_route,
            path_prefix=path_prefix,
        )
        self.payloads = payloads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope.get("type")
        if kind == "lifespan":
            await self.app(scope, receive, send)
            return
        if kind not in ("http", "websocket"):
            raise ValueError(f"xacct.backend.AsgiMiddleware: unknown ASGI scope type {kind!r}")
        headers: list[tuple[bytes, bytes]] = list(scope.get("headers") or [])

        def values(name: str) -> list[bytes]:
            wanted = name.encode("latin-1")
            return [value for key, value in headers if key.lower() == wanted]

        # ASGI: "path" is decoded, "raw_path" (optional) the bytes as received (some servers include the query).
        raw = scope.get("raw_path")
        raw_path = (
            bytes(raw).decode("latin-1").split("?", 1)[0] if isinstance(raw, (bytes, bytearray)) and raw else None
        )
        method = scope.get("method", "GET") if kind == "http" else "GET"
        result = self.gate.check(values, method, str(scope.get("path", "")), raw_path)
        if isinstance(result, Refusal):
            client = scope.get("client")
            log_refusal(result, scope.get("method", "WEBSOCKET"), scope.get("path", ""), client[0] if client else None)
            if kind == "http":
                await _refuse_http(result, send)
            else:
                await _refuse_websocket(result, scope, receive, send)
            return
        removed = {name.encode("latin-1") for name in self.gate.removed}
        inner = dict(scope)
        inner["headers"] = [(key, value) for key, value in headers if key.lower() not in removed]
        inner[CALLER_KEY] = result
        if self.payloads is None or kind != "http":
            await self.app(inner, receive, send)
            return
        files: list[IO[bytes]] = []
        try:
            if is_reference(_header(inner["headers"], b"content-type")):
                raw = await _read_body(receive, MAX_REFERENCE_BYTES + 1)
                try:
                    body, reference = await asyncio.to_thread(self.payloads.fetch, raw, result)
                except PayloadRefused as refused:
                    log_refusal(refused.refusal, scope.get("method", "?"), scope.get("path", ""), None)
                    await _refuse_http(refused.refusal, send)
                    return
                files.append(body)
                inner["headers"] = _body_headers(inner["headers"], reference)
                receive = _file_receiver(body, receive)
            if _header(inner["headers"], ACCEPT_HEADER.encode()) == ACCEPT_VALUE:
                responder = _ByReference(self.payloads, result, send)
                files.append(responder.writer.file)
                send = responder.send
            await self.app(inner, receive, send)
        finally:
            for file in files:
                file.close()


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    return next((value.decode("latin-1") for key, value in headers if key.lower() == name), None)


def _body_headers(headers: list[tuple[bytes, bytes]], reference: PayloadReference) -> list[tuple[bytes, bytes]]:
    kept = [(key, value) for key, value in headers if key.lower() not in (b"content-type", b"content-length")]
    kept.append((b"content-length", str(reference.length).encode()))
    if reference.content_type:
        kept.append((b"content-type", reference.content_type.encode("latin-1")))
    return kept


async def _read_body(receive: Receive, limit: int) -> bytes:
    """The request body, up to ``limit`` bytes (a reference is small; more means it is not one)."""
    body: bytes = b""
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return body
        body += bytes(message.get("body", b""))
        if len(body) >= limit or not message.get("more_body"):
            return body[:limit]


def _file_receiver(file: IO[bytes], receive: Receive) -> Receive:
    """``receive`` for the app: the file's bytes as http.request messages, then the server's own messages."""
    done = False

    async def next_message() -> Message:
        nonlocal done
        if done:
            return await receive()
        chunk = file.read(CHUNK)
        more = bool(chunk) and file.tell() < _size(file)
        done = not more
        return {"type": "http.request", "body": chunk, "more_body": more}

    return next_message


def _size(file: IO[bytes]) -> int:
    here = file.tell()
    end = file.seek(0, 2)
    file.seek(here)
    return end


class _ByReference:
    """``send`` for the app: the response body is spooled, then sent as is or, past the threshold, as a reference."""

    def __init__(self, payloads: PayloadBucket, caller: Caller, send: Send) -> None:
        self.payloads = payloads
        self.caller = caller
        self.outer = send
        self.writer = SpoolWriter(payloads.max_memory)
        self.start: Message | None = None

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.start = message
            return
        if message["type"] != "http.response.body" or self.start is None:
            await self.outer(message)
            return
        self.writer.write(message.get("body", b""))
        if not message.get("more_body"):
            await self._flush(self.start)

    async def _flush(self, start: Message) -> None:
        spooled = self.writer.finish()
        headers: list[tuple[bytes, bytes]] = list(start.get("headers") or [])
        names = {key.lower() for key, _ in headers}
        if spooled.length <= self.payloads.threshold or b"content-encoding" in names:
            await self.outer(start)
            while True:
                chunk = spooled.file.read(CHUNK)
                more = bool(chunk) and spooled.file.tell() < spooled.length
                await self.outer({"type": "http.response.body", "body": chunk, "more_body": more})
                if not more:
                    return
        content_type = _header(headers, b"content-type")
        try:
            reference = await asyncio.to_thread(self.payloads.store, spooled, self.caller, content_type)
        except (ClientError, BotoCoreError, PayloadError) as error:
            code = error.response.get("Error", {}).get("Code", "") if isinstance(error, ClientError) else ""
            await _refuse_http(
                Refusal("payload_unavailable", f"the response could not be written to S3 ({code or 'error'})", 502),
                self.outer,
            )
            return
        body = reference.to_json()
        kept = [(key, value) for key, value in headers if key.lower() not in (b"content-type", b"content-length")]
        kept += [(b"content-type", REFERENCE_CONTENT_TYPE.encode()), (b"content-length", str(len(body)).encode())]
        await self.outer({**start, "headers": kept})
        await self.outer({"type": "http.response.body", "body": body})


async def _refuse_http(refusal: Refusal, send: Send) -> None:
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in refusal.headers()]
    await send({"type": "http.response.start", "status": refusal.status, "headers": raw})
    await send({"type": "http.response.body", "body": refusal.body()})


async def _refuse_websocket(refusal: Refusal, scope: Scope, receive: Receive, send: Send) -> None:
    await receive()  # websocket.connect
    if "websocket.http.response" in (scope.get("extensions") or {}):
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in refusal.headers()]
        await send({"type": "websocket.http.response.start", "status": refusal.status, "headers": raw})
        await send({"type": "websocket.http.response.body", "body": refusal.body()})
    else:
        await send({"type": "websocket.close", "code": 1008})  # before accept: the server answers 403
