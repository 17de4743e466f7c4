"""LocalAws: several simulated AWS accounts behind one loopback port, enforcing what moto does not.

One port serves everything. Requests whose Host is ``<api-id>.execute-api.<region>.amazonaws.com`` (any
port) or a custom domain registered in API Gateway go to the gateway; everything else is an AWS API call for
moto, after our layer has had its say (account-root keys, sts:AssumeRole, apigatewayv2 UpdateStage).
"""

from __future__ import annotations

import io
import json
import logging
import re
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode
from xml.sax.saxutils import escape

import boto3
import botocore.loaders
import botocore.session
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.datastructures import EnvironHeaders
from werkzeug.serving import BaseWSGIServer, make_server

from xacct.local import s3_authz, sigv4
from xacct.local.auth import (
    Authenticator,
    AuthRefusal,
    Refusal,
    Rendered,
    SignedHttpRequest,
    is_signed,
    parse,
    render_for,
    render_query,
)
from xacct.local.gateway import Gateway
from xacct.local.identity import Caller, CallerDirectory, iam, is_root_key, set_user_boundary
from xacct.local.moto_gaps import (
    DELETE_LOG_GROUP,
    DOMAIN_PATH,
    STAGE_PATH,
    complete_domain_names,
    forget_log_group_tags,
    provide_aws_managed_policies,
    update_stage,
)
from xacct.local.request_context import is_secure, request_keys
from xacct.local.sts import AssumeRoleGuard, AssumeRoleRecord, StsRefusal, caller_identity_xml
from xacct.local.sts_validation import validation_error
from xacct.local.trust import TrustPolicyRefusal
from xacct.local.trust import check as check_trust_policy
from xacct.local.trust import record as record_trust_policy
from xacct.local.trust import show as show_trust_policies
from xacct.signing import is_loopback

log = logging.getLogger(__name__)

DEFAULT_REGION = "us-east-1"
ROOT_SECRET = "local-root-secret"  # noqa: S105  (not a secret: any secret is accepted for a root key)
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request")

StartResponse = Callable[..., Any]
# IAM actions that save a role trust policy -> the request member that carries it.
TRUST_ACTIONS = {"CreateRole": "AssumeRolePolicyDocument", "UpdateAssumeRolePolicy": "PolicyDocument"}
# A user's permissions boundary, which moto does not keep (xacct.local.identity.set_user_boundary).
USER_BOUNDARY_ACTIONS = ("CreateUser", "PutUserPermissionsBoundary", "DeleteUserPermissionsBoundary")
_IAM_XMLNS = "https://iam.amazonaws.com/doc/2010-05-08/"


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class _QuietHandler(MotoRequestHandler):
    def setup(self) -> None:
        super().setup()
        # werkzeug writes headers and body separately: without this, Nagle + delayed ACKs add 40 ms per
        # request on a kept-alive connection.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.debug("%s %s %s", self.requestline, code, size)

    def make_environ(self) -> dict[str, Any]:
        environ: dict[str, Any] = super().make_environ()
        # CPython's http.server reduces a leading "//" of the request target to "/" (gh-87389: against open
        # redirects in its file server). The target as the client sent it is what the signature covers and what
        # API Gateway routes: RAW_URI (xacct.local.sigv4.raw_target) keeps it.
        method, _, rest = self.requestline.partition(" ")
        target = rest.rpartition(" ")[0] if rest.endswith(("HTTP/1.1", "HTTP/1.0")) else rest
        if target.startswith("//") and method == self.command:
            environ["RAW_URI"] = environ["REQUEST_URI"] = target.encode().decode("latin-1")  # as werkzeug sets RAW_URI
        return environ


def _render(start_response: StartResponse, rendered: Rendered) -> Iterable[bytes]:
    """A refusal of the one authentication path, in the service's shape (``xacct.local.auth.render_*``)."""
    reasons = {400: "Bad Request", 403: "Forbidden"}
    headers = [*rendered.headers.items(), ("Content-Length", str(len(rendered.body)))]
    start_response(f"{rendered.status} {reasons.get(rendered.status, 'Error')}", headers)
    return [rendered.body]


def _reply(start_response: StartResponse, status: int, body: bytes, content_type: str) -> Iterable[bytes]:
    reason = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 501: "Not Implemented"}.get(
        status, "Error"
    )
    start_response(f"{status} {reason}", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


class ControlPlane:
    """WSGI middleware in front of moto's server app."""

    def __init__(
        self,
        callers: CallerDirectory,
        guard: AssumeRoleGuard,
        clock: Callable[[], datetime],
        session_ttl_seconds: int | None,
    ) -> None:
        self.callers = callers
        self.guard = guard
        self.clock = clock
        self.authenticator = Authenticator(callers, clock)
        self.session_ttl_seconds = session_ttl_seconds
        self.moto = DomainDispatcherApplication(create_backend_app)
        s3_authz.take_over_from_moto()  # S3 calls are decided here (authorize_s3), not by moto's partial check

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        # The account comes from the access key, never from a header the client chose. Telling moto the
        # account also spares it a search that builds an IAM backend in every partition of every account.
        environ.pop("HTTP_X_MOTO_ACCOUNT_ID", None)
        method = environ.get("REQUEST_METHOD", "GET")
        raw_path, raw_query = sigv4.raw_target(environ)
        headers = {name.lower(): value for name, value in EnvironHeaders(environ).items()}
        request = SignedHttpRequest(method, raw_path, raw_query, headers, b"")
        known: Caller | None = None
        service = region = None
        if is_signed(request):
            scope = _SCOPE.search(headers.get("authorization") or unquote(raw_query))
            service = scope["service"] if scope else None
            request = SignedHttpRequest(method, raw_path, raw_query, headers, self._read_body(environ))
            try:
                # Every signed call, whatever the service: the one path the gateway takes too.
                known = self.authenticator.authenticate(request, service=None, region=None, root_accepted=True)
            except AuthRefusal as refusal:
                return _render(start_response, render_for(service or "", refusal))
            region = scope["region"] if scope else None
            environ["HTTP_X_MOTO_ACCOUNT_ID"] = known.account_id
            if "authorization" not in headers and service not in (None, "s3"):
                # A query-string signature, verified above: moto finds the service (and the caller of, say,
                # sts:GetCallerIdentity) from an Authorization header only, so it gets one naming the same scope.
                signed = parse(request)
                scope_text = f"{signed.access_key}/{signed.date}/{signed.region}/{signed.service}/aws4_request"
                environ["HTTP_AUTHORIZATION"] = (
                    f"AWS4-HMAC-SHA256 Credential={scope_text}, SignedHeaders=host, Signature={signed.signature}"
                )

        if known is None and not is_signed(request):
            anonymous = self._anonymous_s3(environ, start_response, method, raw_path, raw_query, headers)
            if anonymous is not None:
                return anonymous
        if service == "s3" and known is not None:
            refused = self._authorize_s3(environ, start_response, known, method, raw_path, raw_query, headers, region)
            if refused is not None:
                return refused

        if service == "sts" and method in ("GET", "POST"):
            body = self._read_body(environ) if method == "POST" else b""
            form = body.decode("utf-8", "replace") if method == "POST" else raw_query
            params = dict(parse_qsl(form, keep_blank_values=True))
            action = params.get("Action")
            # After authentication (an unsigned call reaches no service but S3 locally: docs/local-aws.md).
            invalid = validation_error(params) if known is not None else None
            if invalid is not None:
                return _reply(start_response, 400, StsRefusal(400, "ValidationError", invalid).xml(), "text/xml")
            if action == "AssumeRole":
                return self._assume_role(environ, start_response, known, body, params, region)
            if action == "GetCallerIdentity" and known is not None and known.kind == "root":
                return _reply(start_response, 200, caller_identity_xml(known), "text/xml")

        if service == "iam" and known is not None:
            show_trust_policies(known.account_id)
            if method == "POST":
                body = self._read_body(environ)
                params = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
                provide_aws_managed_policies(known.account_id, params)
                if params.get("Action") in TRUST_ACTIONS:
                    return self._save_trust_policy(environ, start_response, known, params)
                if params.get("Action") in USER_BOUNDARY_ACTIONS:
                    return self._user_boundary(environ, start_response, known, params)

        if service == "apigateway" and region is not None and known is not None:
            path = environ.get("PATH_INFO", "")
            match = STAGE_PATH.match(path)
            if method == "PATCH" and match is not None:
                status, patched, payload = update_stage(
                    known.account_id, region, match["api_id"], match["stage"], self._read_body(environ)
                )
                start_response(f"{status} OK" if status == 200 else f"{status} Error", list(patched.items()))
                return [payload]
            if DOMAIN_PATH.match(path):
                complete_domain_names(known.account_id, region)

        deleting_log_group = environ.get("HTTP_X_AMZ_TARGET") == DELETE_LOG_GROUP
        if service == "logs" and deleting_log_group and region is not None and known is not None:
            forget_log_group_tags(known.account_id, region, self._read_body(environ))
        return self._moto(environ, start_response)

    def _authorize_s3(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        known: Caller,
        method: str,
        raw_path: str,
        raw_query: str,
        headers: dict[str, str],
        region: str | None,
    ) -> Iterable[bytes] | None:
        """S3 calls by anyone but the bucket account's root: decided by ``xacct.local.s3_authz`` (None: allowed)."""
        try:
            call = s3_authz.s3_call(method, raw_path, raw_query, headers)
        except s3_authz.NotAuthorizable as gap:
            call = None
            bucket, _ = s3_authz.bucket_and_key(raw_path, headers.get("host", ""))
            owner = s3_authz.bucket_owner(bucket) if bucket else None
            if owner is not None and not (known.kind == "root" and known.account_id == owner):
                return _reply(start_response, 501, s3_authz.not_implemented_xml(gap.operation), "application/xml")
        if call is None:
            return None
        owner = s3_authz.bucket_owner(call.bucket)
        if owner is None or (known.kind == "root" and known.account_id == owner):
            return None  # no such bucket (S3 says so), or the bucket account's root (the local convention)
        context = s3_authz.request_context(
            known,
            self.clock(),
            bucket_account=owner,
            source_ip=environ.get("REMOTE_ADDR"),
            region=region,
            secure=is_secure(environ.get("wsgi.url_scheme", "http"), environ.get("REMOTE_ADDR")),
        )
        refused = s3_authz.decide(known, owner, s3_authz.bucket_policy(call.bucket, owner), call, context)
        if refused is None:
            return None
        body = s3_authz.access_denied_xml(known, refused, same_account=known.account_id == owner)
        return _reply(start_response, 403, body, "application/xml")

    def _anonymous_s3(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        method: str,
        raw_path: str,
        raw_query: str,
        headers: dict[str, str],
    ) -> Iterable[bytes] | None:
        """An unsigned call (or a SigV2 one, which the local AWS does not verify) on an existing bucket: allowed
        only where the bucket policy allows any principal ("*"); refused as S3 refuses anonymous callers."""
        try:
            call = s3_authz.s3_call(method, raw_path, raw_query, headers)
        except s3_authz.NotAuthorizable:
            call = None
            bucket, _ = s3_authz.bucket_and_key(raw_path, headers.get("host", ""))
            if bucket is None or s3_authz.bucket_owner(bucket) is None:
                return None
        if call is not None:
            owner = s3_authz.bucket_owner(call.bucket)
            if owner is None:
                return None
            # The request's own context keys (no principal keys): a condition on aws:SecureTransport or
            # aws:SourceIp in an anonymous statement is decided as for any other caller.
            context = request_keys(
                self.clock(),
                source_ip=environ.get("REMOTE_ADDR"),
                region=None,
                secure_transport=is_secure(environ.get("wsgi.url_scheme", "http"), environ.get("REMOTE_ADDR")),
                resource_account=owner,
            )
            if s3_authz.anonymous_allowed(s3_authz.bucket_policy(call.bucket, owner), call, context):
                return None
        return _reply(start_response, 403, s3_authz.anonymous_denied_xml(), "application/xml")

    def _save_trust_policy(
        self, environ: dict[str, Any], start_response: StartResponse, known: Caller, params: dict[str, str]
    ) -> Iterable[bytes]:
        """CreateRole / UpdateAssumeRolePolicy: refused as AWS refuses, else saved by moto and recorded as stored."""
        document = params.get(TRUST_ACTIONS[params["Action"]])
        if document is None:
            return self._moto(environ, start_response)
        try:
            stored = check_trust_policy(document)
        except TrustPolicyRefusal as refusal:
            return _reply(start_response, refusal.status, refusal.xml(), "text/xml")
        statuses: list[str] = []

        def capture(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            statuses.append(status)
            return start_response(status, headers, *args)

        result = self._moto(environ, capture)
        if statuses and statuses[0].startswith("200"):
            record_trust_policy(known.account_id, params.get("RoleName", ""), stored)
        return result

    def _user_boundary(
        self, environ: dict[str, Any], start_response: StartResponse, known: Caller, params: dict[str, str]
    ) -> Iterable[bytes]:
        """CreateUser with PermissionsBoundary, Put/DeleteUserPermissionsBoundary ("PutUserPermissionsBoundary",
        IAM API Reference): kept by the local AWS, which decides with it (moto answers the rest of CreateUser)."""
        action, user = params["Action"], params.get("UserName", "")
        if action == "CreateUser":
            exists = user in iam(known.account_id).users
            if params.get("PermissionsBoundary") and not exists:
                set_user_boundary(known.account_id, user, params["PermissionsBoundary"])
            return self._moto(environ, start_response)
        if user not in iam(known.account_id).users:
            error = (
                f'<ErrorResponse xmlns="{_IAM_XMLNS}"><Error><Type>Sender</Type><Code>NoSuchEntity</Code>'
                f"<Message>The user with name {escape(user)} cannot be found.</Message></Error>"
                f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
            )
            return _reply(start_response, 404, error.encode(), "text/xml")
        set_user_boundary(
            known.account_id, user, params.get("PermissionsBoundary") if action.startswith("Put") else None
        )
        body = (
            f'<{action}Response xmlns="{_IAM_XMLNS}"><ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId>'
            f"</ResponseMetadata></{action}Response>"
        )
        return _reply(start_response, 200, body.encode(), "text/xml")

    def _moto(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        result: Iterable[bytes] = self.moto(environ, start_response)
        return result

    @staticmethod
    def _read_body(environ: dict[str, Any]) -> bytes:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body: bytes = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        return body

    def _assume_role(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        known: Caller | None,
        body: bytes,
        params: dict[str, str],
        region: str | None,
    ) -> Iterable[bytes]:
        if known is None:  # unsigned
            refusal = AuthRefusal(Refusal.MISSING_AUTHENTICATION, "Request is missing Authentication Token")
            return _render(start_response, render_query(refusal, "sts"))
        try:
            self.guard.check(known, params, source_ip=environ.get("REMOTE_ADDR"), region=region)
        except StsRefusal as refusal:
            return _reply(start_response, refusal.status, refusal.xml(), "text/xml")
        if self.session_ttl_seconds is not None:
            # Test knob: moto issues the session for exactly this long (it does not validate the value).
            params["DurationSeconds"] = str(self.session_ttl_seconds)
            body = urlencode(params).encode()
            environ["CONTENT_LENGTH"] = str(len(body))
            environ["wsgi.input"] = io.BytesIO(body)
        return self._moto(environ, start_response)


def host_name(host_header: str) -> str:
    """The name in a Host header, lower-cased, without the port or a trailing dot ("[::1]:80" -> "::1")."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host[1:]
    return host.rsplit(":", 1)[0].rstrip(".") if host.count(":") <= 1 else host


_WILDCARD_ADDRESSES = ("", "0.0.0.0", "::")  # noqa: S104  (names, not a bind)
_AWS_DOMAINS = (".amazonaws.com", ".amazonaws.com.cn")


class HostNames:
    """The Host names the local AWS owns; a request for any other is refused (not an open proxy).

    Owned: loopback names and addresses (localhost, *.localhost, 127.0.0.0/8, ::1); AWS host names
    (*.amazonaws.com: execute-api hosts, and service host names a client may send); custom domain names
    registered in API Gateway (asked of the gateway per request); the address it is bound to, and, bound to
    every interface (0.0.0.0 or ::), this machine's host name and its addresses.
    """

    def __init__(self, bind_host: str) -> None:
        own = {host_name(bind_host)} if bind_host not in _WILDCARD_ADDRESSES else set()
        if bind_host in _WILDCARD_ADDRESSES:
            machine = socket.gethostname().lower()
            own.add(machine)
            try:
                name, aliases, addresses = socket.gethostbyname_ex(machine)
                own.update({name.lower(), *(a.lower() for a in aliases), *addresses})
            except OSError:
                pass
        self.own = frozenset(own)

    def owns(self, name: str) -> bool:
        return is_loopback(name) or name in self.own or name.endswith(_AWS_DOMAINS)


def host_refusal(start_response: StartResponse, host: str) -> Iterable[bytes]:
    """403 for a Host the local AWS does not own: API Gateway's error shape, with a message that says why."""
    message = (
        f"Forbidden: the local AWS does not serve the Host {host!r}. It serves 127.0.0.1, localhost and [::1] "
        "(plus the address it is bound to), <api-id>.execute-api.<region>.amazonaws.com, the custom domain "
        "names registered in its API Gateway, and AWS service host names (*.amazonaws.com)"
    )
    body = json.dumps({"message": message}).encode()
    start_response(
        "403 Forbidden",
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("x-amzn-ErrorType", "ForbiddenException"),
        ],
    )
    return [body]


class Dispatcher:
    """The app on the port: the gateway for execute-api hosts and custom domains, the control plane for the
    other names the local AWS owns, and a 403 for any other Host."""

    def __init__(self, gateway: Gateway, control_plane: ControlPlane, host_names: HostNames | None = None) -> None:
        self.gateway = gateway
        self.control_plane = control_plane
        self.host_names = host_names or HostNames("127.0.0.1")

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        host = environ.get("HTTP_HOST", "")
        hostname = host_name(host)
        if hostname and not is_loopback(hostname) and self.gateway.serves(hostname):
            return self.gateway(environ, start_response)
        if not self.host_names.owns(hostname):
            return host_refusal(start_response, host)
        return self.control_plane(environ, start_response)


def bind_warning(host: str) -> str:
    return (
        f"WARNING: the local AWS listens on {host}, not on a loopback address: other machines can reach it, and "
        "it takes any secret for a 12-digit access key id (an account's root). Anyone who can connect acts as "
        "any account. Use 127.0.0.1 (the default) unless you mean it."
    )


@dataclass(frozen=True)
class AccountCredentials:
    """Root credentials of a local account: the access key id is the account id."""

    account_id: str
    access_key_id: str
    secret_access_key: str


_LOADER = botocore.loaders.create_loader()  # service models, parsed once for every session below


class _LocalSession(boto3.Session):
    """A boto3 session whose clients talk to the local AWS unless told otherwise."""

    def __init__(self, endpoint_url: str, **kwargs: Any) -> None:
        core = botocore.session.get_session()
        core.register_component("data_loader", _LOADER)
        super().__init__(botocore_session=core, **kwargs)
        self.endpoint_url = endpoint_url

    def client(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("endpoint_url", self.endpoint_url)
        return super().client(*args, **kwargs)


class LocalAws:
    """The local AWS as a context manager: ``with LocalAws() as aws: aws.client("iam", "111111111111")``.

    ``port=0`` picks a free port. ``session_ttl_seconds`` (tests only) makes STS issue sessions that expire
    after that many seconds whatever DurationSeconds asked for, to exercise credential refresh quickly.
    moto's state is per process: two LocalAws in one process share their accounts.
    """

    def __init__(
        self,
        port: int = 0,
        host: str = "127.0.0.1",
        *,
        region: str = DEFAULT_REGION,
        session_ttl_seconds: int | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.host = host
        self.region = region
        self._requested_port = port
        self.callers = CallerDirectory()
        self.guard = AssumeRoleGuard(clock=clock)
        self.gateway = Gateway(self.callers, clock=clock)
        self.control_plane = ControlPlane(self.callers, self.guard, clock, session_ttl_seconds)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._clients: dict[tuple[str, str, str], Any] = {}
        self._clients_lock = threading.Lock()

    # -- lifecycle ------------------------------------------------------------------------------------------

    def start(self) -> LocalAws:
        if not is_loopback(host_name(self.host)):
            print(bind_warning(self.host), file=sys.stderr, flush=True)
        self._server = make_server(
            self.host,
            self._requested_port,
            Dispatcher(self.gateway, self.control_plane, HostNames(self.host)),
            threaded=True,
            request_handler=_QuietHandler,
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="xacct-local-aws", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None
        self._clients.clear()

    def __enter__(self) -> LocalAws:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- addresses and credentials ----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("LocalAws is not started")
        return int(self._server.server_address[1])

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def credentials_for(self, account_id: str) -> AccountCredentials:
        if not is_root_key(account_id):
            raise ValueError(f"account id {account_id!r} must be 12 digits")
        return AccountCredentials(account_id, account_id, ROOT_SECRET)

    def env(self, account_id: str, region: str | None = None) -> dict[str, str]:
        """Environment for a process (Terraform, the AWS CLI) acting as ``account_id``'s root."""
        creds = self.credentials_for(account_id)
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": creds.access_key_id,
            "AWS_SECRET_ACCESS_KEY": creds.secret_access_key,
            "AWS_REGION": region or self.region,
            "AWS_DEFAULT_REGION": region or self.region,
            "AWS_EC2_METADATA_DISABLED": "true",
            # Emulator gaps answer 5xx; don't let the AWS provider retry them for minutes.
            "AWS_MAX_ATTEMPTS": "2",
        }

    def session(self, account_id: str, region: str | None = None) -> boto3.Session:
        """A boto3 session as ``account_id``'s root whose clients talk to the local AWS."""
        creds = self.credentials_for(account_id)
        return self.session_with_keys(creds.access_key_id, creds.secret_access_key, region=region)

    def session_with_keys(
        self, access_key_id: str, secret_access_key: str, session_token: str | None = None, *, region: str | None = None
    ) -> boto3.Session:
        """A boto3 session with these credentials whose clients talk to the local AWS."""
        return _LocalSession(
            self.endpoint_url,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            aws_session_token=session_token,
            region_name=region or self.region,
        )

    def client(self, service: str, account_id: str, region: str | None = None) -> Any:
        """A boto3 client as ``account_id``'s root (cached: clients are thread-safe, and slow to create)."""
        key = (service, account_id, region or self.region)
        with self._clients_lock:
            if key not in self._clients:
                session: Any = self.session(account_id, region)  # boto3-stubs types client() per literal name
                self._clients[key] = session.client(service)
            return self._clients[key]

    def workload_session(
        self, role_arn: str, *, session_name: str = "workload", region: str | None = None
    ) -> boto3.Session:
        """Credentials of a workload running as ``role_arn`` - a Lambda function's, say.

        The account's root assumes the role, acting as the AWS service the role trusts.
        """
        account_id = role_arn.split(":")[4]
        sts = self.client("sts", account_id, region)
        creds = sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name)["Credentials"]
        return self.session_with_keys(
            creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"], region=region
        )

    def register_private_target(self, arn: str, url: str) -> None:
        """Make ``url`` stand in for a load balancer listener or Cloud Map service ``arn``.

        An HTTP_PROXY integration through a VPC link (connection type VPC_LINK, the ARN as its URI) then forwards
        to ``url``; with nothing registered, it answers as AWS does for an unreachable private integration (500).
        """
        if not re.match(r"^arn:aws[a-z-]*:(elasticloadbalancing|servicediscovery):", arn):
            raise ValueError(f"{arn!r} is not a load balancer listener or Cloud Map service ARN")
        if not re.match(r"^https?://[^/]+", url):
            raise ValueError(f"{url!r} is not an http(s) URL")
        self.gateway.private_targets[arn] = url

    @property
    def assume_role_records(self) -> list[AssumeRoleRecord]:
        return list(self.guard.records)

    @staticmethod
    def wait_until_interrupted() -> None:
        """Block until Ctrl-C or SIGTERM (main thread only).

        The handlers are installed here because a process started in the background by a non-interactive
        shell inherits SIGINT ignored; SIGTERM counts as Ctrl-C so that whoever stops us gets a clean exit.
        """

        def interrupt(_signum: int, _frame: object) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, interrupt)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return
