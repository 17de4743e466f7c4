"""xacct.backend: the API server's side. Who called (``Caller``), and the seal (origin secret + verified caller).

Unit level: real WSGI calls (werkzeug's test client) and real ASGI calls (httpx's ASGI transport, Starlette's
test client for WebSockets, the lifespan protocol by hand). Behind the local gateway: the README's Flask app
served by werkzeug's server and its FastAPI app served by uvicorn, both on 127.0.0.1, as the HTTP_PROXY
integration of an API whose integration sets ``x-caller-arn`` and ``x-origin-verify`` as the provider module
does ("Transform API requests and responses for HTTP APIs in API Gateway": ``overwrite:header.<name>``).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import requests
from werkzeug.test import Client

from xacct.backend import (
    AsgiMiddleware,
    BackendConfigError,
    Caller,
    CallerNotVerified,
    NoIamAuthorizer,
    NotAnInvokeRole,
    RouteMismatch,
    WsgiMiddleware,
    caller_from_lambda_event,
)
from xacct.local import LocalAws
from xacct.local.stacks import ApiStack, build_api

from helpers import ROOT, load_example, serve_fastapi, serve_flask

PROVIDER_ID = "111122223333"
CONSUMER_ID = "444455556666"
SESSION_ARN = f"arn:aws:sts::{PROVIDER_ID}:assumed-role/ApiAllowByIamRoleStag/{CONSUMER_ID}-xacct-orders"
USER_ID = f"AROAEXAMPLEROLEID0001:{CONSUMER_ID}-xacct-orders"
SECRET = "s3cr3t-origin-value"
# The provider module's invoke_role_arns output (name => ARN; the path is not in a session's ARN).
INVOKE_ROLES = {
    "ApiAllowByIamRoleStag": f"arn:aws:iam::{PROVIDER_ID}:role/ApiAllowByIamRoleStag",
    "Invoke": f"arn:aws:iam::{PROVIDER_ID}:role/teams/Invoke",
}
ROUTE = "ANY /orders"


def known(arn: str = SESSION_ARN, **kwargs: Any) -> Caller:
    """The Caller a server given INVOKE_ROLES makes of ``arn``."""
    return Caller.from_arn(arn, invoke_roles=INVOKE_ROLES, **kwargs)


# -- Caller: parsed strictly from the assumed-role ARN ------------------------------------------------------


def test_caller_from_an_invoke_role_session() -> None:
    assert known(user_id=USER_ID, route_key=ROUTE) == Caller(
        arn=SESSION_ARN,
        provider_account_id=PROVIDER_ID,
        role_name="ApiAllowByIamRoleStag",
        session_name=f"{CONSUMER_ID}-xacct-orders",
        consumer_account_id=CONSUMER_ID,
        is_invoke_role=True,
        user_id=USER_ID,
        route_key=ROUTE,
    )
    assert known().invoke_role_name == "ApiAllowByIamRoleStag"


@pytest.mark.parametrize(
    ("arn", "why"),
    [
        (f"arn:aws:sts::{PROVIDER_ID}:assumed-role/CiDeployer/{CONSUMER_ID}-x", "a role that is not an invoke role"),
        (f"arn:aws:sts::999988887777:assumed-role/Invoke/{CONSUMER_ID}-x", "an invoke role's name in another account"),
        (
            f"arn:aws-cn:sts::{PROVIDER_ID}:assumed-role/Invoke/{CONSUMER_ID}-x",
            "an invoke role's name, other partition",
        ),
    ],
)
def test_a_session_name_names_a_consumer_only_for_an_invoke_role(arn: str, why: str) -> None:
    """The security review's first finding: any role that may invoke the API (a CI or admin role) can be assumed
    under the session name "<another consumer's account>-x"; only an invoke role's trust binds that prefix."""
    caller = known(arn)
    assert (caller.consumer_account_id, caller.is_invoke_role, caller.invoke_role_name) == (None, False, None), why
    assert Caller.from_arn(SESSION_ARN).consumer_account_id is None  # no invoke roles given: no consumer named


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, r"invoke_roles is required: pass the provider module's invoke_role_arns output"),
        ("arn:aws:iam::111122223333:role/Invoke", r"is one string; pass the provider module's invoke_role_arns"),
        (["arn:aws:iam::111122223333:user/Admin"], r"'arn:aws:iam::111122223333:user/Admin' is not a role ARN"),
        ({"Invoke": "Invoke"}, r"invoke_roles: 'Invoke' is not a role ARN; expected arn:<partition>:iam::"),
    ],
)
def test_bad_invoke_roles_are_typed_errors(value: Any, message: str) -> None:
    for middleware in (WsgiMiddleware, AsgiMiddleware):
        with pytest.raises(BackendConfigError, match=message):
            middleware(RecordingWsgi(), invoke_roles=value)
    with pytest.raises(BackendConfigError, match=message):
        caller_from_lambda_event(lambda_event({"iam": IAM_CONTEXT}), invoke_roles=value)


@pytest.mark.parametrize(
    "user_id",
    [
        f"AROAEXAMPLEROLEID0001:{CONSUMER_ID}-other",  # another session's
        f"{CONSUMER_ID}-xacct-orders",  # no role id
        f"aroa:{CONSUMER_ID}-xacct-orders",  # not an IAM unique id
        f"AROAEXAMPLEROLEID0001:{CONSUMER_ID}-xacct-orders,AROAX:{CONSUMER_ID}-xacct-orders",
    ],
)
def test_a_user_id_must_be_the_sessions_own(user_id: str) -> None:
    with pytest.raises(CallerNotVerified, match=r"is not '<role id>:444455556666-xacct-orders'"):
        known(user_id=user_id)


@pytest.mark.parametrize(
    ("session", "consumer"),
    [
        (f"{CONSUMER_ID}-x", CONSUMER_ID),
        (f"{CONSUMER_ID}-", CONSUMER_ID),  # StringLike "<account>-*": the * may be empty
        ("botocore-session-1700000000", None),  # a session name that does not name an account
        (f"{CONSUMER_ID}xacct", None),  # no "-" after the 12 digits: not the trust policy's form
        ("12345678901-short", None),  # 11 digits
    ],
)
def test_the_consumer_is_the_session_name_prefix_when_it_has_the_trusted_form(
    session: str, consumer: str | None
) -> None:
    caller = known(f"arn:aws:sts::{PROVIDER_ID}:assumed-role/Invoke/{session}")
    assert caller.session_name == session
    assert caller.consumer_account_id == consumer


def test_other_partitions() -> None:
    caller = Caller.from_arn(
        f"arn:aws-cn:sts::{PROVIDER_ID}:assumed-role/Invoke/{CONSUMER_ID}-s",
        invoke_roles=[f"arn:aws-cn:iam::{PROVIDER_ID}:role/Invoke"],
    )
    assert (caller.partition, caller.provider_account_id, caller.consumer_account_id) == (
        "aws-cn",
        PROVIDER_ID,
        CONSUMER_ID,
    )


@pytest.mark.parametrize(
    "value",
    [
        "",
        f"arn:aws:iam::{PROVIDER_ID}:user/Admin",
        f"arn:aws:iam::{PROVIDER_ID}:role/ApiAllowByIamRoleStag",
        f"arn:aws:sts::{PROVIDER_ID}:federated-user/bob",
        f"arn:aws:sts::{PROVIDER_ID}:assumed-role/Invoke",
        f"arn:aws:sts::{PROVIDER_ID}:assumed-role/Invoke/s/extra",
        f"arn:aws:sts::12345:assumed-role/Invoke/{CONSUMER_ID}-s",
        f"{SESSION_ARN}\n",
        f" {SESSION_ARN}",
        f"{SESSION_ARN},{SESSION_ARN}",  # a header sent twice, joined by the WSGI server
        f"arn:aws:sts::{PROVIDER_ID}:assumed-role/Invoke/{CONSUMER_ID}-é",
        f"arn:aws:sts::{PROVIDER_ID}:assumed-role/Invoke/" + "s" * 65,
    ],
)
def test_anything_else_is_no_verified_identity(value: str) -> None:
    with pytest.raises(CallerNotVerified, match=r"is not an invoke-role session ARN; expected arn:<partition>:sts::"):
        Caller.from_arn(value)


def test_a_caller_is_frozen() -> None:
    caller = Caller.from_arn(SESSION_ARN)
    with pytest.raises(AttributeError):
        caller.arn = "x"  # type: ignore[misc]


# -- Lambda (AWS_PROXY, payload format 2.0) -----------------------------------------------------------------


def lambda_event(authorizer: dict[str, Any] | None, version: str = "2.0") -> dict[str, Any]:
    """An HTTP API event as "Create AWS Lambda proxy integrations for HTTP APIs in API Gateway" shows format 2.0,
    with the ``authorizer.iam`` block an AWS_IAM route adds (fields per that page and "Control access to HTTP APIs
    with IAM authorization in API Gateway")."""
    context: dict[str, Any] = {
        "accountId": PROVIDER_ID,
        "apiId": "api-id",
        "domainName": "id.execute-api.us-east-1.amazonaws.com",
        "domainPrefix": "id",
        "http": {"method": "POST", "path": "/my/path", "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1"},
        "requestId": "id",
        "routeKey": "$default",
        "stage": "$default",
        "time": "12/Mar/2020:19:03:58 +0000",
        "timeEpoch": 1583348638390,
    }
    if authorizer is not None:
        context["authorizer"] = authorizer
    return {
        "version": version,
        "routeKey": "$default",
        "rawPath": "/my/path",
        "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "requestContext": context,
        "body": "{}",
        "isBase64Encoded": False,
    }


IAM_CONTEXT = {
    "accessKey": "ASIAEXAMPLEKEY000001",
    "accountId": PROVIDER_ID,
    "callerId": f"AROAEXAMPLEROLEID0001:{CONSUMER_ID}-xacct-orders",
    "cognitoIdentity": None,
    "principalOrgId": "o-example",
    "userArn": SESSION_ARN,
    "userId": f"AROAEXAMPLEROLEID0001:{CONSUMER_ID}-xacct-orders",
}


def test_caller_from_a_lambda_event() -> None:
    caller = caller_from_lambda_event(lambda_event({"iam": IAM_CONTEXT}), invoke_roles=INVOKE_ROLES)
    assert caller == known(user_id=USER_ID, route_key="$default")
    assert caller.consumer_account_id == CONSUMER_ID


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (lambda_event(None), r"no requestContext\.authorizer\.iam: the route's authorization type must be AWS_IAM"),
        (lambda_event({"jwt": {"claims": {}, "scopes": None}}), r"no requestContext\.authorizer\.iam"),
        (lambda_event({"lambda": {"user": "x"}}), r"no requestContext\.authorizer\.iam"),
        (lambda_event({"iam": {**IAM_CONTEXT, "userArn": None}}), r"requestContext\.authorizer\.iam has no userArn"),
        (lambda_event({"iam": IAM_CONTEXT}, version="1.0"), r"version is '1\.0', expected '2\.0'"),
        ({"Records": []}, r"version is None, expected '2\.0'"),
    ],
)
def test_a_lambda_event_without_iam_context_is_a_typed_error(event: dict[str, Any], message: str) -> None:
    with pytest.raises(NoIamAuthorizer, match=message):
        caller_from_lambda_event(event, invoke_roles=INVOKE_ROLES)


def test_a_lambda_event_from_an_iam_user_is_not_an_invoke_role_session() -> None:
    iam = {**IAM_CONTEXT, "userArn": f"arn:aws:iam::{PROVIDER_ID}:user/Admin"}
    with pytest.raises(CallerNotVerified, match=r"'arn:aws:iam::111122223333:user/Admin' is not an invoke-role"):
        caller_from_lambda_event(lambda_event({"iam": iam}), invoke_roles=INVOKE_ROLES)


# -- WSGI ---------------------------------------------------------------------------------------------------


class RecordingWsgi:
    """A WSGI app that records the environ it was called with."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        self.calls.append(dict(environ))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"app ran"]


SIGNED = {
    "Authorization": "AWS4-HMAC-SHA256 Credential=ASIA.../20260101/ap-northeast-1/execute-api/aws4_request, ...",
    "X-Amz-Security-Token": "session-token-value",
    "X-Amz-Date": "20260101T000000Z",
    "X-Amz-Content-Sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
}


def sent(origin: str | None = None, caller: str | None = SESSION_ARN, **others: str) -> dict[str, str]:
    """Request headers: the origin header (x-origin-verify) and x-caller-arn when given, the route the gateway
    authorized (x-route-key: ANY /orders), plus ``others``."""
    headers = {"x-route-key": ROUTE, **{name.replace("_", "-"): value for name, value in others.items()}}
    if origin is not None:
        headers["x-origin-verify"] = origin
    if caller is not None:
        headers["x-caller-arn"] = caller
    return headers


def wsgi(app: Any, **kwargs: Any) -> WsgiMiddleware:
    return WsgiMiddleware(app, invoke_roles=INVOKE_ROLES, **kwargs)


def asgi(app: Any, **kwargs: Any) -> AsgiMiddleware:
    return AsgiMiddleware(app, invoke_roles=INVOKE_ROLES, **kwargs)


ROTATING = {"origin_secret": [SECRET, "old-secret"]}
SEAL = {"origin_secret": SECRET, "header_name": "X-Seal"}
USER_ARN = "arn:aws:iam::111122223333:user/x"
# (case, middleware arguments, request headers, status, reason or None when the app ran)
GATE_CASES: list[tuple[str, dict[str, Any], dict[str, str], int, str | None]] = [
    ("secret and caller", {"origin_secret": SECRET}, sent(SECRET), 200, None),
    ("no secret header", {"origin_secret": SECRET}, sent(), 403, "origin_missing"),
    ("wrong secret", {"origin_secret": SECRET}, sent("guess"), 403, "origin_mismatch"),
    ("secret prefix", {"origin_secret": SECRET}, sent(SECRET[:-1]), 403, "origin_mismatch"),
    ("empty secret header", {"origin_secret": SECRET}, sent(""), 403, "origin_mismatch"),
    ("secret, no caller", {"origin_secret": SECRET}, sent(SECRET, None), 403, "caller_missing"),
    ("secret, forged user", {"origin_secret": SECRET}, sent(SECRET, USER_ARN), 403, "caller_invalid"),
    ("VPC link: caller only", {}, sent(), 200, None),
    ("VPC link: no caller", {}, sent(caller=None), 403, "caller_missing"),
    ("custom header name", SEAL, sent(x_seal=SECRET), 200, None),
    ("custom name, default sent", SEAL, sent(SECRET), 403, "origin_missing"),
    ("rotation: new", ROTATING, sent(SECRET), 200, None),
    ("rotation: old", {"origin_secret": ("new-secret", "old-secret")}, sent("old-secret"), 200, None),
    ("rotation: neither", ROTATING, sent("older"), 403, "origin_mismatch"),
    (
        "another role",
        {},
        sent(caller=f"arn:aws:sts::{PROVIDER_ID}:assumed-role/Ci/{CONSUMER_ID}-x"),
        403,
        "caller_not_invoke_role",
    ),
    (
        "another role, allowed",
        {"allow_other_roles": True},
        sent(caller=f"arn:aws:sts::{PROVIDER_ID}:assumed-role/Ci/{CONSUMER_ID}-x"),
        200,
        None,
    ),
    ("user id of the session", {}, sent(x_caller_user_id=USER_ID), 200, None),
    ("user id of another session", {}, sent(x_caller_user_id="AROAX:444455556666-other"), 403, "caller_invalid"),
    ("no route key", {}, {k: v for k, v in sent().items() if k != "x-route-key"}, 403, "route_mismatch"),
    ("another route", {}, sent(x_route_key="GET /items/{id}"), 403, "route_mismatch"),
    ("another method", {}, sent(x_route_key="DELETE /orders"), 403, "route_mismatch"),
    ("$default route", {}, sent(x_route_key="$default"), 200, None),
    ("route check off", {"check_route": False}, sent(x_route_key="GET /items/{id}"), 200, None),
]


@pytest.mark.parametrize(
    ("kwargs", "headers", "status", "reason"), [c[1:] for c in GATE_CASES], ids=[c[0] for c in GATE_CASES]
)
def test_wsgi_gate(kwargs: dict[str, Any], headers: dict[str, str], status: int, reason: str | None) -> None:
    app = RecordingWsgi()
    response = Client(wsgi(app, **kwargs)).get("/orders", headers=headers)
    assert response.status_code == status, response.get_data()
    if reason is None:
        assert response.get_data() == b"app ran"
        assert len(app.calls) == 1
        assert app.calls[0]["xacct.caller"] == Caller.from_arn(
            headers["x-caller-arn"],
            invoke_roles=INVOKE_ROLES,
            user_id=headers.get("x-caller-user-id"),
            route_key=headers.get("x-route-key"),
        )
    else:
        assert app.calls == []
        assert response.headers["Content-Type"] == "application/json"
        body = response.get_json()
        assert body["reason"] == reason
        assert body["message"].startswith("Forbidden by xacct.backend: ")
        assert "old-secret" not in response.get_data(as_text=True)
        assert SECRET not in response.get_data(as_text=True)


def test_wsgi_removes_the_signed_headers_and_the_origin_header() -> None:
    app = RecordingWsgi()
    headers = {**SIGNED, **sent(SECRET), "X-Team": "orders"}
    response = Client(wsgi(app, origin_secret=SECRET)).post("/orders", headers=headers, data=b"{}")
    assert response.status_code == 200
    (environ,) = app.calls
    http = {key for key in environ if key.startswith("HTTP_")}
    assert http == {"HTTP_X_CALLER_ARN", "HTTP_X_ROUTE_KEY", "HTTP_X_TEAM", "HTTP_HOST"}
    assert environ["HTTP_X_CALLER_ARN"] == SESSION_ARN
    assert environ["wsgi.input"].read() == b"{}"


def test_wsgi_refuses_a_caller_header_sent_twice() -> None:
    """wsgiref joins a repeated header with "," (PEP 3333 leaves it to the server): the joined value is refused."""
    app = RecordingWsgi()
    statuses: list[str] = []
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/",
        "HTTP_X_CALLER_ARN": f"arn:aws:sts::{PROVIDER_ID}:assumed-role/Invoke/forged,{SESSION_ARN}",
    }

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        statuses.append(status)

    body = wsgi(app)(environ, start_response)
    assert statuses == ["403 Forbidden"]
    assert json.loads(b"".join(body))["reason"] == "caller_invalid"
    assert app.calls == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"origin_secret": ""}, r"origin_secret\[0\] must be a non-empty string"),
        ({"origin_secret": []}, r"origin_secret is an empty sequence"),
        ({"origin_secret": [SECRET, 42]}, r"origin_secret\[1\] must be a non-empty string .*got int"),
        ({"header_name": "x origin"}, r"header_name 'x origin' is not an HTTP header name"),
        ({"header_name": "X-Caller-Arn"}, r"header_name 'X-Caller-Arn' is a header with another job"),
        ({"header_name": "authorization"}, r"header_name 'authorization' is a header with another job"),
        ({"header_name": "x-route-key"}, r"header_name 'x-route-key' is a header with another job"),
        ({"path_prefix": "api"}, r"path_prefix 'api' must be '' or a path such as '/api'"),
        ({"path_prefix": "/api/"}, r"path_prefix '/api/' must be '' or a path such as '/api'"),
    ],
)
def test_bad_middleware_arguments_are_typed_errors(kwargs: dict[str, Any], message: str) -> None:
    for middleware in (wsgi, asgi):
        with pytest.raises(BackendConfigError, match=message):
            middleware(RecordingWsgi(), **kwargs)


# -- ASGI ---------------------------------------------------------------------------------------------------


class RecordingAsgi:
    """An ASGI app that records the scopes it was called with and answers 200 to http."""

    def __init__(self) -> None:
        self.scopes: list[dict[str, Any]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.scopes.append(dict(scope))
        if scope["type"] == "lifespan":
            message = await receive()
            await send({"type": "lifespan.startup.complete" if message["type"] == "lifespan.startup" else "x"})
            return
        if scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.send", "text": scope["xacct.caller"].arn})
            await send({"type": "websocket.close", "code": 1000})
            return
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"app ran"})


def asgi_get(app: Any, headers: dict[str, str] | list[tuple[str, str]]) -> httpx.Response:
    async def call() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://backend") as client:
            return await client.post("/orders", headers=headers, content=b"{}")

    return asyncio.run(call())


@pytest.mark.parametrize(
    ("kwargs", "headers", "status", "reason"), [c[1:] for c in GATE_CASES], ids=[c[0] for c in GATE_CASES]
)
def test_asgi_gate(kwargs: dict[str, Any], headers: dict[str, str], status: int, reason: str | None) -> None:
    app = RecordingAsgi()
    response = asgi_get(asgi(app, **kwargs), headers)
    assert response.status_code == status, response.content
    if reason is None:
        assert response.content == b"app ran"
        (scope,) = app.scopes
        assert scope["xacct.caller"] == Caller.from_arn(
            headers["x-caller-arn"],
            invoke_roles=INVOKE_ROLES,
            user_id=headers.get("x-caller-user-id"),
            route_key=headers.get("x-route-key"),
        )
    else:
        assert app.scopes == []
        assert response.headers["content-type"] == "application/json"
        assert response.json()["reason"] == reason
        assert response.json()["message"].startswith("Forbidden by xacct.backend: ")
        assert SECRET not in response.text
        assert "old-secret" not in response.text


def test_asgi_removes_the_signed_headers_and_the_origin_header() -> None:
    app = RecordingAsgi()
    headers = {**SIGNED, **sent(SECRET), "X-Team": "orders"}
    assert asgi_get(asgi(app, origin_secret=SECRET), headers).status_code == 200
    (scope,) = app.scopes
    names = {name.decode() for name, _ in scope["headers"]}
    assert (
        names & {"authorization", "x-amz-security-token", "x-amz-date", "x-amz-content-sha256", "x-origin-verify"}
        == set()
    )
    assert {"x-caller-arn", "x-team", "content-length"} <= names


@pytest.mark.parametrize("header", ["x-caller-arn", "x-origin-verify"])
def test_asgi_refuses_a_header_sent_twice(header: str) -> None:
    app = RecordingAsgi()
    headers = [
        ("x-origin-verify", SECRET),
        ("x-caller-arn", SESSION_ARN),
        ("x-route-key", ROUTE),
        (header, SECRET if "origin" in header else SESSION_ARN),
    ]
    response = asgi_get(asgi(app, origin_secret=SECRET), headers)
    assert response.status_code == 403
    assert response.json()["reason"] == ("origin_mismatch" if "origin" in header else "caller_invalid")
    assert app.scopes == []


def test_asgi_lifespan_goes_through() -> None:
    app = RecordingAsgi()
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "lifespan.startup"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(asgi(app, origin_secret=SECRET)({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send))
    assert sent == [{"type": "lifespan.startup.complete"}]
    assert [s["type"] for s in app.scopes] == ["lifespan"]


def asgi_websocket(app: Any, headers: dict[str, str], extensions: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """One WebSocket handshake by the ASGI protocol: the messages the app sent."""
    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "path": "/ws",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "extensions": extensions or {},
    }
    messages = [{"type": "websocket.connect"}, {"type": "websocket.disconnect", "code": 1000}]
    out: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        out.append(message)

    asyncio.run(app(scope, receive, send))
    return out


def test_asgi_websockets_are_checked_like_http() -> None:
    app = RecordingAsgi()
    middleware = asgi(app, origin_secret=SECRET)
    accepted = asgi_websocket(middleware, sent(SECRET, x_route_key="GET /ws"))
    assert [m["type"] for m in accepted] == ["websocket.accept", "websocket.send", "websocket.close"]
    assert accepted[1]["text"] == SESSION_ARN
    # Closed before accept: the server answers the handshake 403 (ASGI spec, websocket.close).
    assert asgi_websocket(middleware, sent()) == [{"type": "websocket.close", "code": 1008}]
    # With the denial-response extension, the 403 carries the JSON body.
    denied = asgi_websocket(middleware, sent("guess"), {"websocket.http.response": {}})
    assert denied[0]["type"] == "websocket.http.response.start"
    assert denied[0]["status"] == 403
    assert json.loads(denied[1]["body"])["reason"] == "origin_mismatch"
    assert len(app.scopes) == 1


def test_asgi_unknown_scope_types_are_an_error() -> None:
    async def nothing() -> dict[str, Any]:
        return {}

    async def ignore(message: dict[str, Any]) -> None:
        return None

    with pytest.raises(ValueError, match="unknown ASGI scope type 'webtransport'"):
        asyncio.run(asgi(RecordingAsgi())({"type": "webtransport"}, nothing, ignore))


# -- the README's apps, served for real, behind the local gateway -----------------------------------------


class Served:
    """One of the README's apps, served, behind its own API; ``ran`` records each call of the app's /record route."""

    def __init__(self, framework: str, url: str, stack: ApiStack, ran: list[str]) -> None:
        self.framework = framework
        self.url = url
        self.stack = stack
        self.ran = ran


def add_recording_route(framework: str, app: Any, ran: list[str]) -> None:
    """A route with a side effect, so that a test can prove the app never ran (added before the first request)."""
    if framework == "flask":

        def record() -> str:
            ran.append("flask")
            return "recorded"

        app.add_url_rule("/record", "record", record, methods=["GET", "POST"])
    else:

        def record_fastapi() -> str:
            ran.append("fastapi")
            return "recorded"

        app.add_api_route("/record", record_fastapi, methods=["GET", "POST"])


@pytest.fixture(scope="module", params=["flask", "fastapi"])
def served(request: pytest.FixtureRequest, local_aws: LocalAws, new_account: Callable[[], str]) -> Iterator[Served]:
    framework: str = request.param
    origin_secret = secrets.token_urlsafe(32)
    provider, consumer = new_account(), new_account()
    app = load_example(f"{framework}_app", origin_secret, {"ApiInvoke": f"arn:aws:iam::{provider}:role/ApiInvoke"}).app
    ran: list[str] = []
    add_recording_route(framework, app, ran)
    url, stop = (serve_flask if framework == "flask" else serve_fastapi)(app)
    stack = build_api(
        local_aws,
        provider,
        consumer,
        url,
        request_parameters={
            # What modules/provider_api sets on an INTERNET integration (the shared contract).
            "overwrite:path": "$request.path",
            "overwrite:header.x-caller-arn": "$context.identity.userArn",
            "overwrite:header.x-caller-user-id": "$context.identity.user",
            "overwrite:header.x-route-key": "$context.routeKey",
            "overwrite:header.x-origin-verify": origin_secret,
        },
    )
    try:
        yield Served(framework, url, stack, ran)
    finally:
        stop()


def test_the_app_sees_the_caller_the_gateway_verified(served: Served) -> None:
    stack = served.stack
    session = f"{stack.consumer}-xacct-test"
    with stack.client(session_name=session) as api:
        whoami = api.get("/whoami").json()
    assert whoami["arn"] == f"arn:aws:sts::{stack.provider}:assumed-role/ApiInvoke/{session}"
    assert whoami["consumer_account_id"] == stack.consumer
    assert whoami["invoke_role_name"] == "ApiInvoke"
    assert whoami["route_key"] == "ANY /{proxy+}"
    assert {"x-caller-arn", "x-caller-user-id", "x-route-key"} <= set(whoami["headers"])
    removed = {"authorization", "x-amz-security-token", "x-amz-date", "x-amz-content-sha256", "x-origin-verify"}
    assert removed & set(whoami["headers"]) == set()


def test_a_client_cannot_send_its_own_caller_through_the_gateway(served: Served) -> None:
    """The integration overwrites x-caller-arn: what a consumer sends is replaced by what the gateway verified."""
    stack = served.stack
    forged = f"arn:aws:sts::{stack.provider}:assumed-role/Admin/{stack.provider}-root"
    with stack.client(session_name="not-an-account-prefix") as api:
        whoami = api.post("/whoami", headers={"x-caller-arn": forged}, json={}).json()
    assert whoami["arn"] == f"arn:aws:sts::{stack.provider}:assumed-role/ApiInvoke/not-an-account-prefix"
    assert whoami["consumer_account_id"] is None


@pytest.mark.parametrize(("origin", "reason"), [(None, "origin_missing"), ("guessed", "origin_mismatch")])
def test_a_direct_call_with_a_forged_caller_is_refused_before_the_app(
    served: Served, origin: str | None, reason: str
) -> None:
    headers = {"x-caller-arn": f"arn:aws:sts::{served.stack.provider}:assumed-role/ApiInvoke/{served.stack.consumer}-x"}
    if origin is not None:
        headers["x-origin-verify"] = origin
    before = len(served.ran)
    response = requests.post(f"{served.url}/record", headers=headers, json={}, timeout=10)
    assert response.status_code == 403
    assert response.json()["reason"] == reason
    assert len(served.ran) == before  # the app never ran
    with served.stack.client(
        session_name=f"{served.stack.consumer}-xacct-test"
    ) as api:  # and through the gateway it does
        assert api.post("/record", json={}).status_code == 200
    assert served.ran[before:] == [served.framework]


def test_examples_are_the_readme_sections_code() -> None:
    """The README shows the lines of these files that wrap the app and read the Caller, verbatim."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## For the API server: xacct.backend", 1)[1].split("\n## ", 1)[0]
    for name, wrap, read in [
        ("flask_app", "app.wsgi_app = WsgiMiddleware(", 'caller: Caller = request.environ["xacct.caller"]'),
        ("fastapi_app", "app.add_middleware(AsgiMiddleware,", 'caller: Caller = request.scope["xacct.caller"]'),
    ]:
        source = (ROOT / "examples" / "backend" / f"{name}.py").read_text()
        for marker in ("from xacct.backend import", wrap, read):
            (line,) = [line.strip() for line in source.splitlines() if marker in line]
            assert line in section, (name, line)


# -- the route the gateway authorized, against the path the app will route (xacct.backend.route) ----------------


@pytest.mark.parametrize(
    ("route", "method", "path", "raw", "problem"),
    [
        ("GET /items/{id}", "GET", "/items/1", "/items/1", None),
        ("GET /items/{id}", "GET", "/items/1/secret", "/items/1%2Fsecret", "encoded slash or backslash"),
        ("GET /items/{id}", "GET", "/items/1/secret", "/items/1%2fsecret", "encoded slash or backslash"),
        ("GET /items/{id}", "GET", "/items/1\\secret", "/items/1%5Csecret", "encoded slash or backslash"),
        ("GET /items/{id}", "GET", "/items/1/secret", None, "is not served by the route the gateway authorized"),
        ("ANY /{proxy+}", "GET", "/items/x/../admin", "/items/x/../admin", "dot segment"),
        ("ANY /{proxy+}", "GET", "/items/x/../admin", "/items/x/%2E%2E/admin", "dot segment"),
        ("ANY /{proxy+}", "GET", "/items/./x", None, "dot segment"),
        ("ANY /{proxy+}", "DELETE", "/anything/at/all", "/anything/at/all", None),
        ("GET /items", "POST", "/items", "/items", "is not served by the route the gateway authorized"),
        ("ANY /items", "POST", "/items", "/items", None),
        ("$default", "PATCH", "/whatever", "/whatever", None),
        ("$default", "GET", "/a/%2F", "/a/%2F", "encoded slash"),
        (None, "GET", "/items/1", "/items/1", "no x-route-key"),
        ("nonsense", "GET", "/items/1", "/items/1", "is not a route key"),
    ],
)
def test_route_problems(route: str | None, method: str, path: str, raw: str | None, problem: str | None) -> None:
    from xacct.backend.route import route_problem

    found = route_problem(route, method, path, raw)
    assert (found is None) if problem is None else (found is not None and problem in found), found


@pytest.mark.parametrize(
    ("uri", "route", "status"),
    [
        ("/api/items/1", "GET /items/{id}", 200),
        ("/api/items/1%2Fsecret", "GET /items/{id}", 403),
        ("/items/1", "GET /items/{id}", 403),  # not under path_prefix
        ("/api", "$default", 200),
    ],
)
def test_wsgi_checks_the_route_under_the_path_prefix(uri: str, route: str, status: int) -> None:
    app = RecordingWsgi()
    response = Client(wsgi(app, path_prefix="/api")).get(uri, headers=sent(x_route_key=route))
    assert response.status_code == status, response.get_data()
    assert len(app.calls) == (1 if status == 200 else 0)


def test_asgi_reads_the_raw_path() -> None:
    app = RecordingAsgi()

    async def call() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi(app)), base_url="http://backend") as c:
            return await c.get("/items/1%2Fsecret", headers=sent(x_route_key="GET /items/{id}"))

    response = asyncio.run(call())
    assert response.status_code == 403
    assert response.json()["reason"] == "route_mismatch"
    assert "encoded slash" in response.json()["message"]
    assert app.scopes == []


@pytest.mark.parametrize(
    ("raw_path", "stage", "route", "problem"),
    [
        ("/items/1", "$default", "GET /items/{id}", None),
        ("/prod/items/1", "prod", "GET /items/{id}", None),  # a named stage is in rawPath
        ("/items/1%2Fsecret", "$default", "GET /items/{id}", "encoded slash"),
        ("/items/1/secret", "$default", "GET /items/{id}", "is not served by the route"),
    ],
)
def test_a_lambda_events_path_must_be_its_routes(raw_path: str, stage: str, route: str, problem: str | None) -> None:
    event = lambda_event({"iam": IAM_CONTEXT})
    event.update(rawPath=raw_path, routeKey=route)
    event["requestContext"].update(stage=stage, http={**event["requestContext"]["http"], "method": "GET"})
    if problem is None:
        assert caller_from_lambda_event(event, invoke_roles=INVOKE_ROLES).route_key == route
    else:
        with pytest.raises(RouteMismatch, match=problem):
            caller_from_lambda_event(event, invoke_roles=INVOKE_ROLES)
    assert caller_from_lambda_event(event, invoke_roles=INVOKE_ROLES, check_route=False).route_key == route


def test_a_lambda_event_of_another_role_is_refused_unless_allowed() -> None:
    iam = {**IAM_CONTEXT, "userArn": f"arn:aws:sts::{PROVIDER_ID}:assumed-role/Ci/{CONSUMER_ID}-x", "userId": None}
    with pytest.raises(NotAnInvokeRole, match=r"the caller's role Ci is not one of this server's invoke roles"):
        caller_from_lambda_event(lambda_event({"iam": iam}), invoke_roles=INVOKE_ROLES)
    caller = caller_from_lambda_event(lambda_event({"iam": iam}), invoke_roles=INVOKE_ROLES, allow_other_roles=True)
    assert (caller.role_name, caller.consumer_account_id, caller.is_invoke_role) == ("Ci", None, False)
