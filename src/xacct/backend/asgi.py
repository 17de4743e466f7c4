"""``AsgiMiddleware``: wrap an ASGI app (FastAPI, Starlette, any) so that it only ever sees verified callers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from xacct.backend.gate import CALLER_KEY, DEFAULT_ORIGIN_HEADER, Gate, OriginSecret, Refusal, log_refusal

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
        origin_secret: the secret the gateway sends in ``header_name`` (the provider module's
            ``origin_secret`` output), or several while rotating (any is accepted); None when the server is
            reachable only from the gateway's VPC link (then no origin check: the network is the seal).
        header_name: the header carrying the origin secret (default ``x-origin-verify``).
        payloads: reserved for the large-payload hand-off (must be None for now).

    ``http`` scopes: a request without the secret, with a wrong one, or without a verified ``x-caller-arn``
    is answered 403 with a JSON body (``reason``: ``origin_missing``, ``origin_mismatch``, ``caller_missing``
    or ``caller_invalid``) and never reaches ``app``; otherwise the SigV4 headers and the origin header are
    removed from the scope's headers. ``websocket`` scopes are checked the same way (an HTTP API never
    forwards a WebSocket, so a direct connection is what the check refuses): refused before ``accept``, which
    the server answers 403. ``lifespan`` goes straight to ``app``; any other scope type is an error.
    """

    def __init__(
        self,
        app: AsgiApp,
        *,
        origin_secret: OriginSecret = None,
        header_name: str = DEFAULT_ORIGIN_HEADER,
        payloads: None = None,
    ) -> None:
        self.app = app
        self.gate = Gate(origin_secret, header_name)
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

        result = self.gate.check(values)
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
        await self.app(inner, receive, send)


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
