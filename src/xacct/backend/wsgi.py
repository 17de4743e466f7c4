"""``WsgiMiddleware``: wrap a WSGI app (Flask, Django, any) so that it only ever sees verified callers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from xacct.backend.gate import CALLER_KEY, DEFAULT_ORIGIN_HEADER, Gate, OriginSecret, Refusal, log_refusal

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


def environ_key(header: str) -> str:
    """The WSGI environ key of a header (PEP 3333): ``x-caller-arn`` -> ``HTTP_X_CALLER_ARN``."""
    return "HTTP_" + header.upper().replace("-", "_")


class WsgiMiddleware:
    """Checks each request before ``app`` runs; ``app`` finds the ``Caller`` in ``environ["xacct.caller"]``.

    Example (Flask)::

        app.wsgi_app = WsgiMiddleware(app.wsgi_app, origin_secret=os.environ["ORIGIN_SECRET"])
        caller = request.environ["xacct.caller"]

    Args:
        app: the WSGI application to protect.
        origin_secret: the secret the gateway sends in ``header_name`` (the provider module's
            ``origin_secret`` output), or several while rotating (any is accepted); None when the server is
            reachable only from the gateway's VPC link (then no origin check: the network is the seal).
        header_name: the header carrying the origin secret (default ``x-origin-verify``).
        payloads: reserved for the large-payload hand-off (must be None for now).

    A request without the secret, with a wrong one, or without a verified ``x-caller-arn`` is answered
    403 with a JSON body (``reason``: ``origin_missing``, ``origin_mismatch``, ``caller_missing`` or
    ``caller_invalid``) and never reaches ``app``. Otherwise the SigV4 headers (``Authorization``,
    ``X-Amz-Security-Token``, ``X-Amz-Date``, ``X-Amz-Content-Sha256``) and the origin header are removed
    from ``environ`` before ``app`` is called.
    """

    def __init__(
        self,
        app: WSGIApplication,
        *,
        origin_secret: OriginSecret = None,
        header_name: str = DEFAULT_ORIGIN_HEADER,
        payloads: None = None,
    ) -> None:
        self.app = app
        self.gate = Gate(origin_secret, header_name)
        self.payloads = payloads
        self._removed = [environ_key(name) for name in sorted(self.gate.removed)]

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        def values(name: str) -> list[bytes]:
            value: Any = environ.get(environ_key(name))
            # PEP 3333: header values are "bytes as latin-1 str"; a server joins a repeated header with ",".
            return [] if value is None else [str(value).encode("latin-1", "replace")]

        result = self.gate.check(values)
        if isinstance(result, Refusal):
            method, path = environ.get("REQUEST_METHOD", "?"), environ.get("PATH_INFO", "")
            log_refusal(result, method, path, environ.get("REMOTE_ADDR"))
            start_response("403 Forbidden", result.headers())
            return [result.body()]
        for key in self._removed:
            environ.pop(key, None)
        environ[CALLER_KEY] = result
        return self.app(environ, start_response)
