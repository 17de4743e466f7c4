"""The execute-api data plane for HTTP APIs deployed into moto, with IAM authorization enforced.

Requests for ``<api-id>.execute-api.<region>.amazonaws.com`` (by Host header, any port) or for a custom
domain registered in API Gateway are routed as HTTP APIs route them, authorized (SigV4 checked with
botocore, credentials and policies looked up in moto, expiry and clock skew) and forwarded to HTTP_PROXY
integrations with the route's request parameter mapping. Refusals carry AWS's status codes and bodies.
Throttling settings are stored but not enforced locally.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http import HTTPStatus
from typing import Any
from urllib.parse import quote, urlsplit

import urllib3
from moto.apigatewayv2.models import Api, Integration, Route, Stage, apigatewayv2_backends
from moto.logs.exceptions import ResourceAlreadyExistsException
from moto.logs.models import logs_backends
from werkzeug.wrappers import Request, Response

from xacct.iam import Decision, Policies, decide
from xacct.iam import Request as IamRequest
from xacct.local import sigv4
from xacct.local.auth import Authenticator, AuthRefusal, SignedHttpRequest, render_execute_api
from xacct.local.identity import Caller, CallerDirectory, identity_policies, permissions_boundary, requester
from xacct.local.request_context import is_secure, principal_keys, request_keys
from xacct.routing import RouteMatch, encoded_path, request_path, select_route

log = logging.getLogger(__name__)

EXECUTE_API_HOST = re.compile(r"^(?P<api>[a-z0-9]+)\.execute-api\.(?P<region>[a-z0-9-]+)\.amazonaws\.com$")
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)
_EXPRESSION = re.compile(
    r"\$(request\.path(?:\.[A-Za-z0-9_]+)?|request\.header\.[A-Za-z0-9_-]+|request\.querystring\.[A-Za-z0-9_.~-]+"
    r"|context\.[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*|stageVariables\.[A-Za-z0-9_]+)"
)
LOG_STREAM = "local-gateway"
_GATEWAY_OWN = frozenset({"date", "server"})

# "Quotas for configuring and running an HTTP API in API Gateway" (http-api-quotas.html): payload size 10 MB;
# total combined size of request line and header values 10240 bytes. Neither can be increased.
MAX_PAYLOAD = 10 * 1024 * 1024
MAX_REQUEST_LINE_AND_HEADERS = 10240


@dataclass(frozen=True)
class Target:
    """Which API and stage a request addresses, and the path within the stage."""

    api: Api
    account_id: str
    region: str
    stage: Stage
    path: str  # the decoded path within the stage (xacct.routing.request_path), starting with "/"


@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    error_type: str | None = None
    integration_status: str = "-"
    integration_error: str = "-"
    from_integration: bool = False  # the integration's answer (CORS headers are added to these)

    @classmethod
    def message(cls, status: int, message: str, error_type: str | None = None, **detail: str) -> Reply:
        """API Gateway's error body, byte for byte: ``{"message":"Not Found"}`` (compact JSON, no spaces).

        ``detail`` adds the local AWS's own explanation (only for cases AWS has no answer for, or does not
        document), after AWS's message.
        """
        payload = {"message": message, **detail}
        headers = {"Content-Type": "application/json"}
        if error_type:
            headers["x-amzn-ErrorType"] = error_type
        return cls(status, json.dumps(payload, separators=(",", ":")).encode(), headers, error_type)


class Denied(Exception):
    """An authorization refusal, already shaped as API Gateway's reply."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.body.decode(errors="replace"))
        self.reply = reply


def _forbidden(message: str, error_type: str) -> Denied:
    return Denied(Reply.message(403, message, error_type))


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


_URI_PATH_VARIABLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def fill_path_variables(uri: str, path_params: Mapping[str, str]) -> str:
    """The integration URI with the route's path variables filled in, as HTTP APIs do for HTTP proxy integrations.

    "Working with HTTP proxy integrations for HTTP APIs" (AWS API Gateway developer guide): the integration URI may
    refer to the route's path variables, e.g. https://backend.example.com/pets/extendedpath/{petID} for the route
    GET /pets/{petID}, and {proxy} is the whole greedy match of {proxy+}. Only the path is filled in (the host is
    no template); values are the decoded ones the route matched (``xacct.routing.request_path``), percent-encoded
    again; a name the route lacks stays as is.
    """
    scheme, separator, rest = uri.partition("://")
    authority, slash, path = rest.partition("/")
    filled = _URI_PATH_VARIABLE.sub(lambda m: encoded_path(path_params[m[1]]) if m[1] in path_params else m[0], path)
    return f"{scheme}{separator}{authority}{slash}{filled}"


def execute_api_arn(target: Target, method: str) -> str:
    """``arn:aws:execute-api:region:account:api/stage/METHOD/path`` for the decoded path the route was chosen on.

    The path's own leading "/" is the separator after the method, and nothing more is removed: ``//items/1`` (routed
    with an empty first segment) is ``.../GET//items/1``, not ``.../GET/items/1``, which would be another route's.
    """
    return (
        f"arn:aws:execute-api:{target.region}:{target.account_id}:{target.api.api_id}/"
        f"{target.stage.name}/{method}/{target.path[1:]}"
    )


def _drain(request: Request) -> None:
    """Read (and drop) a body the gateway refuses, so that the kept-alive connection stays in step."""
    while request.stream.read(1 << 20):
        pass


# -- CORS ("Configure CORS for HTTP APIs in API Gateway", http-api-cors.html) ----------------------------------


def cors_of(api: Api) -> Mapping[str, Any] | None:
    """The API's CORS configuration (moto keeps the request's corsConfiguration object), if any."""
    cors: object = api.cors_configuration
    return cors if isinstance(cors, dict) and cors else None


def _allowed_origin(cors: Mapping[str, Any], origin: str) -> str | None:
    """The Access-Control-Allow-Origin for ``origin``: allowOrigins entries are origins, "*" (any origin), or
    a scheme followed by "*" ("https://*": any origin starting with https://), as the page lists them."""
    for allowed in cors.get("allowOrigins") or []:
        if allowed == "*":
            return "*"
        if allowed.endswith("*") and origin.startswith(allowed[:-1]):
            return origin
        if allowed.lower() == origin.lower():
            return origin
    return None


def _joined(values: Iterable[str] | None) -> str:
    return ",".join(values or [])


def cors_preflight(cors: Mapping[str, Any] | None, request: Request, match: RouteMatch[Route] | None) -> Reply | None:
    """The gateway's own answer to a CORS preflight request, or None when the request is not one it answers.

    From the page: with CORS configured, API Gateway answers preflight OPTIONS requests itself, "even if there
    isn't an OPTIONS route configured", without authorization; a preflight request carries an Origin and an
    Access-Control-Request-Method header; the $default route "catches requests for all methods and routes that
    you haven't explicitly defined, including OPTIONS requests", so a preflight that only $default matches goes
    to $default (and its authorization) like any other request. The status (204) is not documented.
    """
    if not cors or request.method != "OPTIONS":
        return None
    origin = request.headers.get("Origin")
    if not origin or "Access-Control-Request-Method" not in request.headers:
        return None
    if match is not None and match.route.route_key == "$default":
        return None
    headers: dict[str, str] = {}
    allowed = _allowed_origin(cors, origin)
    if allowed is not None:
        headers["Access-Control-Allow-Origin"] = allowed
        if cors.get("allowCredentials"):
            headers["Access-Control-Allow-Credentials"] = "true"
        if cors.get("allowMethods"):
            headers["Access-Control-Allow-Methods"] = _joined(cors["allowMethods"])
        if cors.get("allowHeaders"):
            headers["Access-Control-Allow-Headers"] = _joined(cors["allowHeaders"])
        if cors.get("exposeHeaders"):
            headers["Access-Control-Expose-Headers"] = _joined(cors["exposeHeaders"])
        if cors.get("maxAge") is not None:
            headers["Access-Control-Max-Age"] = str(cors["maxAge"])
    return Reply(204, b"", headers)


def cors_response_headers(cors: Mapping[str, Any] | None, origin: str | None, headers: dict[str, str]) -> None:
    """The configured CORS headers on an integration's response (in place), the integration's own dropped.

    From the page: "For a CORS request, API Gateway adds the configured CORS headers to the response from an
    integration" and "If you configure CORS for an API, API Gateway ignores CORS headers returned from your
    backend integration"; "To return CORS headers, your request must contain an origin header."
    """
    if not cors:
        return
    for name in [n for n in headers if n.lower().startswith("access-control-")]:
        del headers[name]
    allowed = _allowed_origin(cors, origin) if origin else None
    if allowed is None:
        return
    headers["Access-Control-Allow-Origin"] = allowed
    if cors.get("allowCredentials"):
        headers["Access-Control-Allow-Credentials"] = "true"
    if cors.get("exposeHeaders"):
        headers["Access-Control-Expose-Headers"] = _joined(cors["exposeHeaders"])


class Gateway:
    """A WSGI app serving every HTTP API in moto's apigatewayv2 state."""

    def __init__(self, callers: CallerDirectory, *, clock: Callable[[], datetime] = _utcnow) -> None:
        self.callers = callers
        self.clock = clock
        self.authenticator = Authenticator(callers, clock)
        self._http = urllib3.PoolManager(num_pools=32, maxsize=16, retries=False)
        # Private integrations: listener / Cloud Map service ARN -> the URL that stands in for it (tests register).
        self.private_targets: dict[str, str] = {}
        self._log_lock = threading.Lock()

    # -- which API --------------------------------------------------------------------------------------

    @staticmethod
    def _backends() -> Iterable[tuple[str, str, Any]]:
        for account_id, regions in list(apigatewayv2_backends.items()):
            for region, backend in list(regions.items()):
                yield account_id, region, backend

    def serves(self, hostname: str) -> bool:
        if EXECUTE_API_HOST.match(hostname):
            return True
        return any(hostname in backend.domain_names for _, _, backend in self._backends())

    def resolve(self, hostname: str, raw_path: str) -> Target | None:
        """The API, stage and path within the stage that ``raw_path`` (as sent) addresses on ``hostname``, or None."""
        return self._resolve(hostname, request_path(raw_path))

    def _resolve(self, hostname: str, path: str) -> Target | None:
        match = EXECUTE_API_HOST.match(hostname)
        if match:
            for account_id, region, backend in self._backends():
                api = backend.apis.get(match["api"]) if region == match["region"] else None
                if api is not None:
                    return self._stage_target(api, account_id, region, path)
            return None
        for account_id, region, backend in self._backends():
            if hostname not in backend.domain_names:
                continue
            mappings = [m for m in backend.api_mappings.values() if m.domain_name == hostname]
            # The longest matching base path wins; an empty key is the catch-all.
            for mapping in sorted(mappings, key=lambda m: len(m.api_mapping_key or ""), reverse=True):
                key = (mapping.api_mapping_key or "").strip("/")
                if key and not (path == f"/{key}" or path.startswith(f"/{key}/")):
                    continue
                api = backend.apis.get(mapping.api_id)
                stage = api.stages.get(mapping.stage) if api is not None else None
                if api is None or stage is None:
                    return None
                within = path[len(key) + 1 :] if key else path
                return Target(api, account_id, region, stage, within or "/")
        return None

    @staticmethod
    def _stage_target(api: Api, account_id: str, region: str, path: str) -> Target | None:
        if "$default" in api.stages:
            return Target(api, account_id, region, api.stages["$default"], path)
        first, _, rest = path[1:].partition("/")
        stage = api.stages.get(first)
        if stage is None:
            return None
        return Target(api, account_id, region, stage, "/" + rest)

    # -- authorization -----------------------------------------------------------------------------------

    def authenticate(
        self,
        target: Target,
        method: str,
        raw_path: str,
        raw_query: str,
        headers: Mapping[str, str],
        body: bytes,
    ) -> Caller:
        """The verified caller of a SigV4-signed request (headers keyed lower-case), or Denied with AWS's 403.

        The one authentication path of the local AWS (``xacct.local.auth``), for execute-api in the API's
        region; account-root keys sign no data-plane call. Header and query-string (presigned) signatures.
        """
        request = SignedHttpRequest(method, raw_path, raw_query, headers, body)
        try:
            return self.authenticator.authenticate(
                request, service="execute-api", region=target.region, root_accepted=False
            )
        except AuthRefusal as refusal:
            rendered = render_execute_api(refusal)
            reply = Reply(rendered.status, rendered.body, rendered.headers, rendered.headers["x-amzn-ErrorType"])
            raise Denied(reply) from None

    def authorize(
        self,
        caller: Caller,
        target: Target,
        method: str,
        *,
        source_ip: str | None = None,
        secure_transport: bool = False,
    ) -> None:
        """execute-api:Invoke on the request's ARN, from the caller's policies in the API's own account.

        The request context carries the global condition keys AWS provides (xacct.local.request_context).
        """
        resource = execute_api_arn(target, method)
        context = principal_keys(caller) | request_keys(
            self.clock(),
            source_ip=source_ip,
            region=target.region,
            secure_transport=secure_transport,
            resource_account=target.account_id,
        )
        # The one decision; HTTP APIs have no resource policy, so only principals of the API's own account can be
        # granted access ("Cross-account policy evaluation logic").
        decision = decide(
            IamRequest(requester(caller), "execute-api:Invoke", resource, target.account_id, context),
            Policies(identity_policies(caller), permissions_boundary(caller), caller.session_policy),
        ).decision
        if decision is not Decision.ALLOW:
            raise _forbidden(
                f"User: {caller.arn} is not authorized to perform: execute-api:Invoke on resource: {resource}",
                "AccessDeniedException",
            )

    # -- integration --------------------------------------------------------------------------------------

    def _forward(
        self,
        integration: Integration,
        match: RouteMatch[Route],
        request: Request,
        target: Target,
        raw_query: str,
        context: dict[str, str],
        body: bytes,
    ) -> Reply:
        if integration.connection_type == "VPC_LINK":
            private = self._private_target(integration, target)
            if isinstance(private, Reply):
                return private
            parts = urlsplit(private)
            # "Working with private integrations for HTTP APIs": API Gateway includes the stage portion of the
            # endpoint in the request to a private integration (unless parameter mapping overwrites the path).
            stage = "" if target.stage.name == "$default" else f"/{target.stage.name}"
            path = parts.path.rstrip("/") + stage + encoded_path(target.path)
        else:
            parts = urlsplit(fill_path_variables(integration.integration_uri or "", match.path_params))
            path = parts.path or "/"
        query = [tuple(p.split("=", 1)) if "=" in p else (p, "") for p in raw_query.split("&") if p]
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}

        def expand(template: str) -> str:
            def value(m: re.Match[str]) -> str:
                name = m.group(1)
                if name == "request.path":
                    return encoded_path(target.path)
                if name.startswith("request.path."):
                    return encoded_path(match.path_params.get(name[len("request.path.") :], ""))
                if name.startswith("request.header."):
                    return request.headers.get(name[len("request.header.") :], "")
                if name.startswith("request.querystring."):
                    wanted = name[len("request.querystring.") :]
                    return next((v for k, v in query if k == wanted), "")
                if name.startswith("stageVariables."):
                    return str((target.stage.stage_variables or {}).get(name[len("stageVariables.") :], ""))
                return context.get(name[len("context.") :], "")

            return _EXPRESSION.sub(value, template)

        for key, template in sorted((integration.request_parameters or {}).items()):
            operation, _, where = key.partition(":")
            if where == "path" and operation == "overwrite":
                path = expand(template) or "/"
            elif where.startswith("header."):
                name = where[len("header.") :]
                existing = next((k for k in headers if k.lower() == name.lower()), None)
                if operation == "remove":
                    headers.pop(existing or name, None)
                elif operation == "append" and existing:
                    headers[existing] = f"{headers[existing]},{expand(template)}"
                else:
                    headers.pop(existing or name, None)
                    headers[name] = expand(template)
            elif where.startswith("querystring."):
                name = where[len("querystring.") :]
                if operation in ("overwrite", "remove"):
                    query = [(k, v) for k, v in query if k != name]
                if operation in ("overwrite", "append"):
                    query.append((name, quote(expand(template), safe="-_.~")))
        headers["X-Forwarded-For"] = context["identity.sourceIp"]
        headers["X-Amzn-Trace-Id"] = f"Root=1-{int(time.time()):08x}-{context['requestId'].replace('-', '')[:24]}"
        method = request.method if integration.integration_method in (None, "ANY") else integration.integration_method
        url = f"{parts.scheme}://{parts.netloc}{path}" + ("?" + "&".join(f"{k}={v}" for k, v in query) if query else "")
        timeout = (integration.timeout_in_millis or 30000) / 1000
        started = time.perf_counter()
        try:
            upstream = self._http.request(
                method,
                url,
                body=body or None,
                headers=headers,
                timeout=urllib3.Timeout(connect=min(timeout, 10), read=timeout),
                redirect=False,
                retries=False,
                preload_content=True,
            )
        except urllib3.exceptions.NewConnectionError as error:
            through_link = integration.connection_type == "VPC_LINK"  # see _private_target: AWS answers 500
            reply = Reply.message(
                500 if through_link else 503,
                "Internal Server Error" if through_link else "Service Unavailable",
                detail=f"the integration {parts.scheme}://{parts.netloc} refused the connection (is the API server "
                f"running?): {error.__class__.__name__}",
            )
            reply.integration_error = "connection refused"
            return reply
        except urllib3.exceptions.TimeoutError:
            reply = Reply.message(
                504,
                "Endpoint request timed out",
                detail=f"the integration did not answer within its timeout of {integration.timeout_in_millis} ms",
            )
            reply.integration_error = "timeout"
            return reply
        except urllib3.exceptions.HTTPError as error:
            reply = Reply.message(502, "Internal Server Error", detail=f"integration error: {error}")
            reply.integration_error = str(error)
            return reply
        finally:
            context["integrationLatency"] = str(int((time.perf_counter() - started) * 1000))
        if len(upstream.data) > MAX_PAYLOAD:
            # The quota page ("Quotas for configuring and running an HTTP API in API Gateway": payload size 10 MB,
            # not adjustable) does not say how an HTTP API answers a larger integration response, and no public
            # report of an HTTP API doing so was found. The nearest evidence: wellcomecollection/platform#3937 (API
            # Gateway "will not return results with payloads larger than 10mb"; no status recorded) and
            # DataBiosphere/azul#8258 (a REST API whose integration response was over its limit: the access log's
            # INTEGRATION_FAILURE, "Internal server error", 502). An HTTP API answers its integration failures with
            # 500 {"message":"Internal Server Error"} (the VPC-link case below), so the local AWS does the same
            # here, and docs/local-aws.md says it is a choice.
            reply = Reply.message(
                500,
                "Internal Server Error",
                detail=f"the integration answered {len(upstream.data)} bytes, over HTTP APIs' {MAX_PAYLOAD}-byte "
                "payload quota: send large bodies through the payload hand-off (xacct.payloads)",
            )
            reply.integration_error = "integration response over 10 MB"
            return reply
        # The gateway's own Date (and Server) go out with the response: the integration's would be a second value.
        out_headers = {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_BY_HOP | _GATEWAY_OWN}
        reply = Reply(upstream.status, upstream.data, out_headers)
        reply.integration_status = str(upstream.status)
        return reply

    def _private_target(self, integration: Integration, target: Target) -> str | Reply:
        """The URL registered for a private integration's listener / Cloud Map ARN, or API Gateway's 500.

        A VPC link integration that cannot reach its target answers 500 {"message": "Internal Server Error"} ("Why
        do I get HTTP 500 errors from API Gateway with VPC link integrations?", AWS Knowledge Center; the HTTP API
        documentation does not say more). The detail says what is missing locally; AWS sends none.
        """
        arn = integration.integration_uri or ""
        links = apigatewayv2_backends[target.account_id][target.region].vpc_links
        if integration.connection_id not in links:
            problem = f"VPC link {integration.connection_id!r} does not exist in account {target.account_id}"
        elif arn not in self.private_targets:
            problem = f"no private target is registered for {arn} (LocalAws.register_private_target(arn, url))"
        else:
            return self.private_targets[arn]
        reply = Reply.message(
            500, "Internal Server Error", detail=f"the local AWS cannot reach the integration: {problem}"
        )
        reply.integration_error = problem
        return reply

    # -- the request ------------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        started = time.perf_counter()
        request = Request(environ)
        now = self.clock()
        raw_path, raw_query = sigv4.raw_target(environ)
        hostname = request.host.rsplit(":", 1)[0].lower() if request.host else ""
        request_id = str(uuid.uuid4())
        context: dict[str, str] = {
            "requestId": request_id,
            "extendedRequestId": request_id,
            "domainName": hostname,
            "domainPrefix": hostname.split(".")[0],
            "httpMethod": request.method,
            "path": raw_path,
            "protocol": environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": str(int(now.timestamp() * 1000)),
            "identity.sourceIp": environ.get("REMOTE_ADDR", "127.0.0.1"),
            "identity.userAgent": request.headers.get("User-Agent", ""),
        }
        target = self.resolve(hostname, raw_path)
        reply = self._over_quota(environ, request, raw_path, raw_query) or self._handle(
            request, target, raw_path, raw_query, context
        )
        if target is not None and reply.from_integration:
            cors_response_headers(cors_of(target.api), request.headers.get("Origin"), reply.headers)
        context["status"] = str(reply.status)
        context["responseLength"] = str(len(reply.body))
        context["responseLatency"] = str(int((time.perf_counter() - started) * 1000))
        context["integrationStatus"] = reply.integration_status
        context["integrationErrorMessage"] = reply.integration_error
        if reply.error_type and reply.status >= 400:
            context["error.message"] = json.loads(reply.body).get("message", "")
        if target is not None:
            self._access_log(target, context)
        headers = {**reply.headers, "apigw-requestid": request_id}
        # The reason phrase as HTTP spells it ("404 Not Found"); werkzeug's would be upper case ("404 NOT FOUND").
        response = Response(reply.body, status=f"{reply.status} {_phrase(reply.status)}".rstrip(), headers=headers)
        return response(environ, start_response)

    def _handle(
        self, request: Request, target: Target | None, raw_path: str, raw_query: str, context: dict[str, str]
    ) -> Reply:
        if target is None:
            return Reply.message(404, "Not Found")
        api = target.api
        context.update(apiId=api.api_id, accountId=target.account_id, stage=target.stage.name)
        match = select_route(api.routes.values(), request.method, target.path)
        preflight = cors_preflight(cors_of(api), request, match)
        if preflight is not None:
            return preflight
        if match is None:
            return Reply.message(404, "Not Found")
        route = match.route
        context["routeKey"] = route.route_key
        body = request.get_data(cache=True)
        if route.authorization_type == "AWS_IAM":
            try:
                headers = {name.lower(): value for name, value in request.headers.items()}
                caller = self.authenticate(target, request.method, raw_path, raw_query, headers, body)
                context.update(
                    {
                        "identity.accountId": caller.account_id,
                        "identity.caller": caller.principal_id,
                        "identity.user": caller.principal_id,
                        "identity.userArn": caller.arn,
                        "identity.accessKey": caller.access_key,
                    }
                )
                self.authorize(
                    caller,
                    target,
                    request.method,
                    source_ip=context["identity.sourceIp"],
                    secure_transport=is_secure(request.scheme, request.remote_addr),
                )
            except Denied as denied:
                return denied.reply
        elif route.authorization_type not in (None, "NONE"):
            return Reply.message(
                501,
                "Not Implemented",
                detail=f"authorization type {route.authorization_type} is not emulated by the local AWS",
            )
        integration_id = (route.target or "").partition("/")[2]
        integration = api.integrations.get(integration_id)
        if integration is None:
            return Reply.message(500, "Internal Server Error", detail=f"route {route.route_key} has no integration")
        if integration.integration_type == "AWS_PROXY":
            return Reply.message(
                502,
                "Internal Server Error",
                detail="Lambda (AWS_PROXY) integrations are not executed by the local AWS; "
                f"{integration.integration_uri} was not invoked. Use an HTTP_PROXY integration to run end to end.",
            )
        if integration.integration_type != "HTTP_PROXY":
            return Reply.message(
                502,
                "Internal Server Error",
                detail=f"{integration.integration_type} integrations are not emulated by the local AWS",
            )
        reply = self._forward(integration, match, request, target, raw_query, context, body)
        reply.from_integration = True
        return reply

    @staticmethod
    def _over_quota(environ: Mapping[str, Any], request: Request, raw_path: str, raw_query: str) -> Reply | None:
        """413 for a body over 10 MB, 431 for a request line and header values over 10240 bytes (HTTP API quotas).

        The 413 body is what API Gateway was seen answering (koki-develop/lgtm-generator#10, text, not JSON); the
        status and body for the 10240-byte quota are not documented (README): 431 with the text API Gateway was
        seen answering (ntsblog.homedev.com.au, "HTTP header is larger than 10240 bytes.").
        """
        target = raw_path + (f"?{raw_query}" if raw_query else "")
        request_line = f"{request.method} {target} {environ.get('SERVER_PROTOCOL', 'HTTP/1.1')}"
        size = len(request_line.encode("latin-1", "replace")) + sum(
            len(value.encode("latin-1", "replace")) for _, value in request.headers.items()
        )
        if size > MAX_REQUEST_LINE_AND_HEADERS:
            _drain(request)
            return Reply(
                431,
                f"HTTP header is larger than {MAX_REQUEST_LINE_AND_HEADERS} bytes.".encode(),
                {"Content-Type": "text; charset=utf-8"},
            )
        length = request.content_length
        too_large = length is not None and length > MAX_PAYLOAD
        if not too_large and length is None and request.headers.get("Transfer-Encoding", "").lower() == "chunked":
            too_large = len(request.get_data(cache=True)) > MAX_PAYLOAD
        if too_large:
            _drain(request)
            return Reply(
                413,
                f"HTTP content length exceeded {MAX_PAYLOAD} bytes.".encode(),
                {"Content-Type": "text; charset=utf-8"},
            )
        return None

    # -- access log ---------------------------------------------------------------------------------------

    def _access_log(self, target: Target, context: dict[str, str]) -> None:
        settings = target.stage.access_log_settings or {}
        destination, template = settings.get("destinationArn"), settings.get("format")
        if not destination or not template:
            return
        match = re.match(r"^arn:[^:]+:logs:([^:]+):(\d{12}):log-group:([^:]+)", destination)
        if match is None:
            return

        def value(m: re.Match[str]) -> str:
            name = m.group(1)
            text = context.get(name[len("context.") :], "-") if name.startswith("context.") else "-"
            return json.dumps(text or "-")[1:-1]

        line = _EXPRESSION.sub(value, template)
        region, account_id, group = match.groups()
        backend = logs_backends[account_id][region]
        try:
            with self._log_lock:
                with contextlib.suppress(ResourceAlreadyExistsException):
                    backend.create_log_stream(group, LOG_STREAM)
                backend.put_log_events(group, LOG_STREAM, [{"timestamp": int(time.time() * 1000), "message": line}])
        except Exception as error:  # an access log failure never fails the request, as in AWS
            log.warning("access log to %s failed: %s", destination, error)
