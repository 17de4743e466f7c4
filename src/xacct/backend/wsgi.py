"""``WsgiMiddleware``: wrap a WSGI app (Flask, Django, any) so that it only ever sees verified callers."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import IO, TYPE_CHECKING, Any

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
    SpoolWriter,
    is_reference,
)

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


def environ_key(header: str) -> str:
    """The WSGI environ key of a header (PEP 3333): ``x-caller-arn`` -> ``HTTP_X_CALLER_ARN``."""
    return "HTTP_" + header.upper().replace("-", "_")


class _Closing:
    """An iterable that, when the server closes it, closes the app's iterable and our temporary files too."""

    def __init__(self, chunks: Iterable[bytes], *files: IO[bytes]) -> None:
        self._chunks = chunks
        self._files = files

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._chunks)

    def close(self) -> None:
        try:
            close = getattr(self._chunks, "close", None)
            if callable(close):
                close()
        finally:
            for file in self._files:
                file.close()


def _file_chunks(file: IO[bytes]) -> Iterator[bytes]:
    return iter(lambda: file.read(CHUNK), b"")


class WsgiMiddleware:
    """Checks each request before ``app`` runs; ``app`` finds the ``Caller`` in ``environ["xacct.caller"]``.

    Example (Flask)::

        app.wsgi_app = WsgiMiddleware(app.wsgi_app, origin_secret=os.environ["ORIGIN_SECRET"])
        caller = request.environ["xacct.caller"]

    Args:
        app: the WSGI application to protect.
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

    A request without the secret, with a wrong one, without a verified ``x-caller-arn``, of a role that is not an
    invoke role, or whose path the authorized route does not serve is answered 403 with a JSON body (``reason``:
    ``origin_missing``, ``origin_mismatch``, ``caller_missing``, ``caller_invalid``, ``caller_not_invoke_role``
    or ``route_mismatch``) and never reaches ``app``. Otherwise the SigV4 headers (``Authorization``,
    ``X-Amz-Security-Token``, ``X-Amz-Date``, ``X-Amz-Content-Sha256``) and the origin header are removed
    from ``environ`` before ``app`` is called.

    With ``payloads``: a request body that is a payload reference is replaced by the object it names
    (``wsgi.input``, ``CONTENT_LENGTH``, ``CONTENT_TYPE``), after checking that it is under the caller's own
    prefix (403) and matches the reference's length and SHA-256 (400); when the request says the client takes
    references, the response body is buffered (spooled) and, past the threshold, written to the bucket and
    answered as a reference.
    """

    def __init__(
        self,
        app: WSGIApplication,
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
        self._removed = [environ_key(name) for name in sorted(self.gate.removed)]

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        def values(name: str) -> list[bytes]:
            value: Any = environ.get(environ_key(name))
            # PEP 3333: header values are "bytes as latin-1 str"; a server joins a repeated header with ",".
            return [] if value is None else [str(value).encode("latin-1", "replace")]

        # PEP 3333: SCRIPT_NAME + PATH_INFO is the decoded path; RAW_URI (gunicorn, werkzeug) or REQUEST_URI (uWSGI,
        # werkzeug, mod_wsgi) is the request target as sent, when the server gives it.
        path = str(environ.get("SCRIPT_NAME", "")) + str(environ.get("PATH_INFO", ""))
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
        raw_path = raw.split("?", 1)[0] if isinstance(raw, str) and raw.startswith("/") else None
        result = self.gate.check(values, str(environ.get("REQUEST_METHOD", "")), path, raw_path)
        if isinstance(result, Refusal):
            return self._refuse(result, environ, start_response)
        for key in self._removed:
            environ.pop(key, None)
        environ[CALLER_KEY] = result
        if self.payloads is None:
            return self.app(environ, start_response)
        files: list[IO[bytes]] = []
        if is_reference(environ.get("CONTENT_TYPE")):
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            raw = environ["wsgi.input"].read(min(length, MAX_REFERENCE_BYTES + 1)) if length > 0 else b""
            try:
                body, reference = self.payloads.fetch(raw, result)
            except PayloadRefused as refused:
                return self._refuse(refused.refusal, environ, start_response)
            files.append(body)
            environ["wsgi.input"] = body
            environ["CONTENT_LENGTH"] = str(reference.length)
            if reference.content_type:
                environ["CONTENT_TYPE"] = reference.content_type
            else:
                environ.pop("CONTENT_TYPE", None)
        if environ.get(environ_key(ACCEPT_HEADER)) != ACCEPT_VALUE:
            return _Closing(self.app(environ, start_response), *files)
        return self._by_reference(environ, start_response, result, files)

    def _refuse(self, refusal: Refusal, environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        log_refusal(
            refusal, environ.get("REQUEST_METHOD", "?"), environ.get("PATH_INFO", ""), environ.get("REMOTE_ADDR")
        )
        start_response(refusal.status_line(), refusal.headers())
        return [refusal.body()]

    def _by_reference(
        self, environ: WSGIEnvironment, start_response: StartResponse, caller: Caller, files: list[IO[bytes]]
    ) -> Iterable[bytes]:
        """Run the app with its body spooled; answer a body over the threshold as a reference."""
        assert self.payloads is not None
        writer = SpoolWriter(self.payloads.max_memory)
        files.append(writer.file)
        started: list[tuple[str, list[tuple[str, str]]]] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None) -> Any:
            del exc_info  # nothing is sent before the app returns, so a second call (an error page) replaces the first
            started[:] = [(status, list(headers))]
            return writer.write

        try:
            chunks = self.app(environ, capture)
            try:
                for chunk in chunks:
                    writer.write(chunk)
            finally:
                close = getattr(chunks, "close", None)
                if callable(close):
                    close()
        except BaseException:
            for file in files:
                file.close()
            raise
        spooled = writer.finish()
        status, headers = started[0]
        names = {name.lower() for name, _ in headers}
        if spooled.length <= self.payloads.threshold or "content-encoding" in names:
            start_response(status, headers)
            return _Closing(_file_chunks(spooled.file), *files)
        content_type = next((value for name, value in headers if name.lower() == "content-type"), None)
        try:
            reference = self.payloads.store(spooled, caller, content_type)
        except (ClientError, BotoCoreError, PayloadError) as error:
            for file in files:
                file.close()
            code = error.response.get("Error", {}).get("Code", "") if isinstance(error, ClientError) else ""
            refusal = Refusal(
                "payload_unavailable", f"the response could not be written to S3 ({code or 'error'})", 502
            )
            return self._refuse(refusal, environ, start_response)
        for file in files:
            file.close()
        body = reference.to_json()
        kept = [(name, value) for name, value in headers if name.lower() not in ("content-length", "content-type")]
        start_response(status, [*kept, ("Content-Type", REFERENCE_CONTENT_TYPE), ("Content-Length", str(len(body)))])
        return [body]
