"""The local execute-api data plane: routing, IAM authorization failures, integrations, access log, UpdateStage."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import botocore.auth
import pytest
import requests

from xacct.local import LocalAws, sigv4
from xacct.local.echo_server import EchoServer
from xacct.local.gateway import fill_path_variables
from xacct.local.stacks import ApiStack, build_api
from xacct.routing import encoded_path, request_path, select_route

from helpers import REGION, botocore_signed, closed_port

# -- route selection (pure) ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class R:
    route_key: str


ROUTES = [
    R("GET /pets"),
    R("ANY /pets"),
    R("GET /pets/{id}"),
    R("GET /pets/dog"),
    R("GET /pets/{id}/toys/{toy}"),
    R("GET /pets/{id}/toys/ball"),
    R("ANY /{proxy+}"),
    R("ANY /pets/{proxy+}"),
    R("$default"),
]


@pytest.mark.parametrize(
    ("method", "path", "route", "params"),
    [
        ("GET", "/pets", "GET /pets", {}),  # exact, method-specific beats ANY
        ("POST", "/pets", "ANY /pets", {}),
        ("GET", "/pets/dog", "GET /pets/dog", {}),  # exact beats {param}
        ("GET", "/pets/7", "GET /pets/{id}", {"id": "7"}),
        ("GET", "/pets/7/toys/ball", "GET /pets/{id}/toys/ball", {"id": "7"}),  # literal beats {param}
        ("GET", "/pets/7/toys/bone", "GET /pets/{id}/toys/{toy}", {"id": "7", "toy": "bone"}),
        ("PUT", "/pets/7", "ANY /pets/{proxy+}", {"proxy": "7"}),  # the longest greedy prefix
        ("GET", "/pets/7/a/b", "ANY /pets/{proxy+}", {"proxy": "7/a/b"}),
        ("GET", "/hoge/fuga", "ANY /{proxy+}", {"proxy": "hoge/fuga"}),
        ("GET", "/", "$default", {}),  # {proxy+} needs at least one segment
    ],
)
def test_route_selection(method: str, path: str, route: str, params: dict[str, str]) -> None:
    match = select_route(ROUTES, method, path)
    assert match is not None
    assert (match.route.route_key, match.path_params) == (route, params)


def test_no_route_and_no_default_is_none() -> None:
    assert select_route([R("GET /pets")], "DELETE", "/pets") is None
    assert select_route([R("GET /pets/{id}")], "GET", "/pets/") is None


# -- the path as HTTP APIs read it ---------------------------------------------------------------------------
# "Create routes for HTTP APIs in API Gateway" (http-api-develop-routes.html): "API Gateway decodes URL-encoded
# request parameters before passing them to your backend integration"; Stack Overflow "How to encode parameters for
# AWS API Gateway (HTTP API)?": /a%2Fb/thing is 404 for the route /{example}/thing (%2F is a separator once decoded)
# and /a%252Fb/thing matches it. Dot segments: AWS's pages are silent; removed as RFC 3986 5.2.4 does (its examples).


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        ("/items/1", "/items/1"),
        ("/items/1%2Fsecret", "/items/1/secret"),
        ("/items/1%2fsecret", "/items/1/secret"),
        ("/a%252Fb/thing", "/a%2Fb/thing"),  # decoded once only
        ("/caf%C3%A9/%7E", "/café/~"),
        ("/items/x/%2E%2E/1", "/items/1"),
        ("/items/x/..%2F1", "/items/1"),
        ("/a/b/c/./../../g", "/a/g"),  # RFC 3986 5.2.4's own example
        ("/a/./b/", "/a/b/"),
        ("/a/b/..", "/a/"),
        ("/../../x", "/x"),
        ("//items/1", "//items/1"),  # an empty segment is not removed
        ("/.well-known/x", "/.well-known/x"),
    ],
)
def test_the_path_is_routed_decoded_and_without_dot_segments(raw: str, decoded: str) -> None:
    assert request_path(raw) == decoded


def test_a_decoded_path_is_encoded_again_byte_for_byte() -> None:
    assert (
        encoded_path(request_path("/a%20b/%252F/caf%C3%A9/%FF/:@!$&'()*+,;="))
        == "/a%20b/%252F/caf%C3%A9/%FF/:@!$&'()*+,;="
    )


def _exact(aws: LocalAws, stack: ApiStack, path: str) -> requests.Response:
    """GET ``path`` byte for byte as written (http.client: no client normalizes it), signed by botocore's SigV4Auth."""
    headers = botocore_signed("GET", stack.host, path, stack.invoke_credentials())
    connection = http.client.HTTPConnection("127.0.0.1", aws.port, timeout=30)
    try:
        connection.request("GET", path, headers=headers)
        raw = connection.getresponse()
        response = requests.Response()
        response.status_code, response._content = raw.status, raw.read()
        return response
    finally:
        connection.close()


def test_an_encoded_slash_or_dot_segment_cannot_move_a_call_to_another_route(
    local_aws: LocalAws, echo: EchoServer, new_account: Callable[[], str]
) -> None:
    """A role allowed GET /items/1 only: ``/items/1%2Fsecret`` is the route GET /items/{id}/secret and the ARN
    .../GET/items/1/secret (refused), not GET /items/{id}; dot segments are removed before routing, and the API
    server is given the path that was routed and authorized."""
    stack = build_api(
        local_aws,
        new_account(),
        new_account(),
        echo.url,
        routes=("GET /items/{id}", "GET /items/{id}/secret", "ANY /{proxy+}"),
        resources=("GET/items/1",),
        access_log=True,
    )
    arn = f"arn:aws:execute-api:{REGION}:{stack.provider}:{stack.api_id}/$default/GET"
    user = f"arn:aws:sts::{stack.provider}:assumed-role/ApiInvoke/test-session"
    for path in ("/items/1", "/items/%31", "/items/x/%2E%2E/1", "/items/1/secret/%2e%2e/../1"):
        allowed = _exact(local_aws, stack, path)
        assert allowed.status_code == 200, (path, allowed.text)
        assert allowed.json()["path"] == "/items/1", path
    for path, resource, route in (
        ("/items/1%2Fsecret", "/items/1/secret", "GET /items/{id}/secret"),
        ("/items/1%2fsecret", "/items/1/secret", "GET /items/{id}/secret"),
        ("/items/2/..%2F1%2Fsecret", "/items/1/secret", "GET /items/{id}/secret"),
        ("//items/1", "//items/1", "ANY /{proxy+}"),  # not GET/items/1: the route is another
        ("/items/1/secret/%2e%2e", "/items/1/", "ANY /{proxy+}"),  # RFC 3986 keeps the last "/"
    ):
        refused = _exact(local_aws, stack, path)
        assert refused.status_code == 403, (path, refused.text)
        assert (
            message(refused)
            == f"User: {user} is not authorized to perform: execute-api:Invoke on resource: {arn}{resource}"
        )
        logs = local_aws.client("logs", stack.provider)
        events = logs.get_log_events(logGroupName=f"/aws/apigateway/{stack.api_id}", logStreamName="local-gateway")
        assert json.loads(events["events"][-1]["message"])["routeKey"] == route, path


@pytest.mark.parametrize(
    ("environ", "target"),
    [
        ({"RAW_URI": "/a%2Fb/c?x=1&y=%20"}, ("/a%2Fb/c", "x=1&y=%20")),  # as sent: no decoding
        ({"REQUEST_URI": "/hoge"}, ("/hoge", "")),
        ({"RAW_URI": "http://h.example.com:8080/p?q"}, ("/p", "q")),  # absolute-form request target
        ({"RAW_URI": "?q=1"}, ("/", "q=1")),
        ({"PATH_INFO": "/a b/ü", "QUERY_STRING": "k=v"}, ("/a%20b/%C3%BC", "k=v")),  # no raw target: re-quoted
    ],
)
def test_the_raw_request_target_is_what_the_signature_covers(environ: dict[str, str], target: tuple[str, str]) -> None:
    assert sigv4.raw_target(environ) == target


# -- a deployed API ------------------------------------------------------------------------------------------


@pytest.fixture
def stack(local_aws: LocalAws, echo: EchoServer, new_account: Callable[[], str]) -> ApiStack:
    return build_api(local_aws, new_account(), new_account(), echo.url, access_log=True)


def send(
    aws: LocalAws, host: str, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> requests.Response:
    return requests.request(
        method, f"{aws.endpoint_url}{path}", headers={"Host": host, **(headers or {})}, data=body, timeout=30
    )


def message(response: requests.Response) -> str:
    text: str = response.json()["message"]
    return text


def test_signed_request_reaches_the_server_with_the_verified_caller(local_aws: LocalAws, stack: ApiStack) -> None:
    creds = stack.invoke_credentials()
    spoof = {"x-caller-arn": "arn:aws:sts::999999999999:assumed-role/Admin/me", "x-caller-account-id": "999999999999"}
    headers = botocore_signed("PUT", stack.host, "/hoge", creds, body=b'{"foo":"bar"}', headers=spoof)
    response = send(local_aws, stack.host, "PUT", "/hoge", headers, b'{"foo":"bar"}')
    assert response.status_code == 200, response.text
    echo = response.json()
    assert (echo["method"], echo["path"], echo["body"]) == ("PUT", "/hoge", '{"foo":"bar"}')
    # The identity mapping overwrites whatever the client claimed.
    assert echo["caller"] == {"arn": f"arn:aws:sts::{stack.provider}:assumed-role/ApiInvoke/test-session"}
    assert response.headers["apigw-requestid"]


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        ("no-auth", "Forbidden"),
        ("bearer", "Authorization header requires 'Credential' parameter."),
        ("service", "Credential should be scoped to correct service: 'execute-api'. "),
        ("region", "Credential should be scoped to a valid region, not 'us-west-2'. "),
        ("unknown-key", "The security token included in the request is invalid."),
        ("root-key", "The security token included in the request is invalid."),
        ("no-token", "The security token included in the request is invalid."),
        ("query", "The request signature we calculated does not match the signature you provided."),
        ("header", "The request signature we calculated does not match the signature you provided."),
        ("wrong-secret", "The request signature we calculated does not match the signature you provided."),
    ],
)
def test_authentication_failures_answer_as_api_gateway(
    local_aws: LocalAws, stack: ApiStack, tamper: str, expected: str
) -> None:
    creds = stack.invoke_credentials()
    sign: dict[str, Any] = {"headers": {"x-team": "orders"}}
    path = "/hoge?a=1"
    if tamper == "service":
        sign["service"] = "lambda"
    if tamper == "region":
        sign["region"] = "us-west-2"
    if tamper == "unknown-key":
        creds = {**creds, "key": "ASIAXXXXXXXXXXXXXXXX"}
    if tamper == "root-key":
        creds = {"key": stack.provider, "secret": "anything", "token": None}
    if tamper == "wrong-secret":
        creds = {**creds, "secret": "not-the-secret"}
    headers = botocore_signed("GET", stack.host, path, creds, **sign)
    if tamper == "no-auth":
        headers = {}
    if tamper == "bearer":
        headers["Authorization"] = "Bearer abc"
    if tamper == "no-token":
        headers.pop("X-Amz-Security-Token")
    if tamper == "query":
        path = "/hoge?a=2"
    if tamper == "header":
        headers["x-team"] = "payments"
    response = send(local_aws, stack.host, "GET", path, headers)
    assert response.status_code == 403
    assert message(response).startswith(expected), message(response)
    if tamper in ("query", "header", "wrong-secret"):
        assert "The Canonical String for this request should have been" in message(response)


def test_clock_skew_over_five_minutes_is_refused(
    local_aws: LocalAws, stack: ApiStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    creds = stack.invoke_credentials()
    real_now = botocore.auth.get_current_datetime
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: real_now() - timedelta(minutes=6))
    headers = botocore_signed("GET", stack.host, "/hoge", creds)
    monkeypatch.undo()
    response = send(local_aws, stack.host, "GET", "/hoge", headers)
    assert response.status_code == 403
    assert message(response).startswith("Signature expired: ")
    assert "- 5 min.)" in message(response)


def test_unknown_api_and_unknown_route_are_404(local_aws: LocalAws, stack: ApiStack) -> None:
    unknown = send(local_aws, f"zzzzzzzz.execute-api.{REGION}.amazonaws.com", "GET", "/hoge")
    assert (unknown.status_code, unknown.json()) == (404, {"message": "Not Found"})
    response = send(local_aws, stack.host, "GET", "/")  # {proxy+} needs a segment and there is no $default
    assert (response.status_code, response.json()) == (404, {"message": "Not Found"})


def test_not_authorized_on_the_route(local_aws: LocalAws, echo: EchoServer, new_account: Callable[[], str]) -> None:
    stack = build_api(
        local_aws, new_account(), new_account(), echo.url, routes=("ANY /{proxy+}",), resources=("GET/items/*",)
    )
    creds = stack.invoke_credentials()
    allowed = send(local_aws, stack.host, "GET", "/items/7", botocore_signed("GET", stack.host, "/items/7", creds))
    assert allowed.status_code == 200
    refused = send(
        local_aws, stack.host, "DELETE", "/items/7", botocore_signed("DELETE", stack.host, "/items/7", creds)
    )
    assert refused.status_code == 403
    resource = f"arn:aws:execute-api:{REGION}:{stack.provider}:{stack.api_id}/$default/DELETE/items/7"
    assert message(refused) == (
        f"User: arn:aws:sts::{stack.provider}:assumed-role/ApiInvoke/test-session is not authorized to perform: "
        f"execute-api:Invoke on resource: {resource}"
    )


def test_access_log_records_who_called(local_aws: LocalAws, stack: ApiStack) -> None:
    creds = stack.invoke_credentials()
    send(local_aws, stack.host, "GET", "/hoge", botocore_signed("GET", stack.host, "/hoge", creds))
    send(local_aws, stack.host, "GET", "/hoge")  # unsigned: logged too, without an identity
    logs = local_aws.client("logs", stack.provider)
    events = logs.get_log_events(logGroupName=f"/aws/apigateway/{stack.api_id}", logStreamName="local-gateway")[
        "events"
    ]
    signed, unsigned = (json.loads(e["message"]) for e in events[-2:])
    assert signed["accountId"] == stack.provider
    assert signed["userArn"] == f"arn:aws:sts::{stack.provider}:assumed-role/ApiInvoke/test-session"
    assert signed["caller"].endswith(":test-session")
    assert (signed["routeKey"], signed["status"], signed["sourceIp"]) == ("ANY /{proxy+}", "200", "127.0.0.1")
    assert (unsigned["status"], unsigned["userArn"]) == ("403", "-")


# -- integrations --------------------------------------------------------------------------------------------


class _Slow(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        time.sleep(1.0)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:  # noqa: ARG002  (quiet)
        return None


@pytest.fixture
def slow_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _signed_get(aws: LocalAws, stack: ApiStack, path: str = "/hoge") -> requests.Response:
    return send(aws, stack.host, "GET", path, botocore_signed("GET", stack.host, path, stack.invoke_credentials()))


def test_server_down_is_a_clear_503(local_aws: LocalAws, new_account: Callable[[], str]) -> None:
    stack = build_api(local_aws, new_account(), new_account(), f"http://127.0.0.1:{closed_port()}")
    response = _signed_get(local_aws, stack)
    assert response.status_code == 503
    assert response.json()["message"] == "Service Unavailable"
    assert "refused the connection" in response.json()["detail"]


def test_integration_timeout_is_504(local_aws: LocalAws, slow_server: str, new_account: Callable[[], str]) -> None:
    stack = build_api(local_aws, new_account(), new_account(), slow_server, timeout_ms=200)
    response = _signed_get(local_aws, stack)
    assert response.status_code == 504
    assert response.json()["message"] == "Endpoint request timed out"
    assert "200 ms" in response.json()["detail"]


def test_lambda_integrations_are_a_clear_502(local_aws: LocalAws, new_account: Callable[[], str]) -> None:
    provider = new_account()
    function = f"arn:aws:lambda:{REGION}:{provider}:function:hoge"
    stack = build_api(local_aws, provider, new_account(), function, integration_type="AWS_PROXY")
    response = _signed_get(local_aws, stack)
    assert response.status_code == 502
    assert "not executed by the local AWS" in response.json()["detail"]
    assert function in response.json()["detail"]


def test_path_templates_and_base_paths(local_aws: LocalAws, echo: EchoServer, new_account: Callable[[], str]) -> None:
    proxied = build_api(local_aws, new_account(), new_account(), f"{echo.url}/base/{{proxy}}", request_parameters={})
    assert _signed_get(local_aws, proxied, "/a/b").json()["path"] == "/base/a/b"
    based = build_api(
        local_aws,
        new_account(),
        new_account(),
        f"{echo.url}/v1",
        request_parameters={"overwrite:path": "/v1$request.path"},
    )
    assert _signed_get(local_aws, based, "/a/b").json()["path"] == "/v1/a/b"


# AWS API Gateway developer guide, "Working with HTTP proxy integrations for HTTP APIs": the integration URI may
# name the route's path variables; {proxy} is the whole match of a greedy {proxy+}. Its own examples:
@pytest.mark.parametrize(
    ("uri", "params", "url"),
    [
        (
            "https://petstore-demo-endpoint.execute-api.com/petstore/{proxy}",
            {"proxy": "dogs/7/toys"},
            "https://petstore-demo-endpoint.execute-api.com/petstore/dogs/7/toys",
        ),
        (
            "https://backend.example.com/pets/extendedpath/{petID}",
            {"petID": "6"},
            "https://backend.example.com/pets/extendedpath/6",
        ),
        (
            "https://backend.example.com/{a}/x/{b}",
            {"a": "1", "b": "café"},  # values are the decoded ones the route matched, encoded again
            "https://backend.example.com/1/x/caf%C3%A9",
        ),
        ("https://backend.example.com/{a}", {"a": "1%2Fx"}, "https://backend.example.com/1%252Fx"),  # sent %252F
        ("https://{proxy}.example.com/{proxy}", {"proxy": "evil"}, "https://{proxy}.example.com/evil"),  # path only
        ("https://backend.example.com/v1", {"proxy": "a/b"}, "https://backend.example.com/v1"),
        ("https://backend.example.com/{other}", {"proxy": "a"}, "https://backend.example.com/{other}"),
    ],
)
def test_fill_path_variables(uri: str, params: dict[str, str], url: str) -> None:
    assert fill_path_variables(uri, params) == url


def test_integration_uri_with_path_variables_as_aws_documents(
    local_aws: LocalAws, echo: EchoServer, new_account: Callable[[], str]
) -> None:
    """What the module plans for such a URI (no overwrite:path) reaches the API server as AWS's page describes."""
    pets = build_api(
        local_aws,
        new_account(),
        new_account(),
        f"{echo.url}/pets/extendedpath/{{petID}}",
        routes=("GET /pets/{petID}",),
        request_parameters={},
    )
    echoed = _signed_get(local_aws, pets, "/pets/6?tail=wag").json()
    assert (echoed["path"], echoed["query"]) == ("/pets/extendedpath/6", [["tail", "wag"]])
    greedy = build_api(
        local_aws,
        new_account(),
        new_account(),
        f"{echo.url}/petstore/{{proxy}}",
        routes=("ANY /parent/{proxy+}",),
        request_parameters={},
    )
    assert _signed_get(local_aws, greedy, "/parent/dogs/7/toys").json()["path"] == "/petstore/dogs/7/toys"
    assert _signed_get(local_aws, greedy, "/parent").status_code == 404  # {proxy+} needs at least one segment


def test_named_stage_and_custom_domain(local_aws: LocalAws, echo: EchoServer, new_account: Callable[[], str]) -> None:
    stack = build_api(local_aws, new_account(), new_account(), echo.url, stage="v1")
    response = _signed_get(local_aws, stack, "/v1/hoge")
    assert (response.status_code, response.json()["path"]) == (200, "/hoge")
    assert _signed_get(local_aws, stack, "/hoge").status_code == 404  # no such stage

    gateway = local_aws.client("apigatewayv2", stack.provider)
    domain = f"server-{stack.provider}.stag.foo.example.com"
    gateway.create_domain_name(
        DomainName=domain,
        DomainNameConfigurations=[{"CertificateArn": f"arn:aws:acm:{REGION}:{stack.provider}:certificate/x"}],
    )
    gateway.create_api_mapping(DomainName=domain, ApiId=stack.api_id, Stage="v1", ApiMappingKey="orders")
    creds = stack.invoke_credentials()
    response = send(local_aws, domain, "GET", "/orders/hoge", botocore_signed("GET", domain, "/orders/hoge", creds))
    assert (response.status_code, response.json()["path"]) == (200, "/hoge")
    assert send(local_aws, domain, "GET", "/other/hoge").status_code == 404


def test_update_stage_fills_motos_gap(local_aws: LocalAws, stack: ApiStack) -> None:
    gateway = local_aws.client("apigatewayv2", stack.provider)
    updated = gateway.update_stage(
        ApiId=stack.api_id,
        StageName="$default",
        DefaultRouteSettings={"ThrottlingBurstLimit": 7, "ThrottlingRateLimit": 3.0},
        Description="tightened",
    )
    assert updated["DefaultRouteSettings"]["ThrottlingBurstLimit"] == 7
    stage = gateway.get_stage(ApiId=stack.api_id, StageName="$default")
    assert (stage["DefaultRouteSettings"]["ThrottlingRateLimit"], stage["Description"]) == (3.0, "tightened")
    with pytest.raises(gateway.exceptions.NotFoundException):
        gateway.update_stage(ApiId=stack.api_id, StageName="nope", Description="x")


def test_routes_without_iam_authorization(local_aws: LocalAws, stack: ApiStack) -> None:
    """The modules never make a public route, but the gateway serves HTTP APIs as AWS does."""
    gateway = local_aws.client("apigatewayv2", stack.provider)
    (integration,) = gateway.get_integrations(ApiId=stack.api_id)["Items"]
    target = f"integrations/{integration['IntegrationId']}"
    gateway.create_route(ApiId=stack.api_id, RouteKey="GET /public", AuthorizationType="NONE", Target=target)
    authorizer = gateway.create_authorizer(
        ApiId=stack.api_id,
        AuthorizerType="JWT",
        Name="jwt",
        IdentitySource=["$request.header.Authorization"],
        JwtConfiguration={"Audience": ["a"], "Issuer": "https://issuer.example.com"},
    )
    gateway.create_route(
        ApiId=stack.api_id,
        RouteKey="GET /jwt",
        AuthorizationType="JWT",
        AuthorizerId=authorizer["AuthorizerId"],
        Target=target,
    )
    assert send(local_aws, stack.host, "GET", "/public").status_code == 200
    not_emulated = send(local_aws, stack.host, "GET", "/jwt")
    assert not_emulated.status_code == 501
    assert "authorization type JWT is not emulated" in not_emulated.json()["detail"]


def test_request_parameter_mapping_of_context_values(
    local_aws: LocalAws, echo: EchoServer, new_account: Callable[[], str]
) -> None:
    mapping = {
        "overwrite:path": "/v2$request.path",
        "overwrite:header.x-caller-account-id": "$context.identity.accountId",
        "overwrite:header.x-caller-arn": "$context.identity.userArn",
        "overwrite:header.x-caller-id": "$context.identity.caller",
        "overwrite:header.x-request-id": "$context.requestId",
        "append:querystring.via": "$context.stage",
        "remove:header.x-internal": "''",
    }
    stack = build_api(local_aws, new_account(), new_account(), echo.url, request_parameters=mapping)
    creds = stack.invoke_credentials()
    headers = botocore_signed("GET", stack.host, "/hoge?q=1", creds, headers={"x-internal": "secret"})
    response = send(local_aws, stack.host, "GET", "/hoge?q=1", headers)
    assert response.status_code == 200, response.text
    echo_ = response.json()
    role = local_aws.client("iam", stack.provider).get_role(RoleName="ApiInvoke")["Role"]
    assert echo_["path"] == "/v2/hoge"
    assert echo_["headers"]["x-caller-id"] == f"{role['RoleId']}:test-session"
    assert echo_["headers"]["x-request-id"] == response.headers["apigw-requestid"]
    assert echo_["caller"]["arn"] == f"arn:aws:sts::{stack.provider}:assumed-role/ApiInvoke/test-session"
    assert sorted(map(tuple, echo_["query"])) == [("q", "1"), ("via", "$default")]
    assert "x-internal" not in echo_["headers"]


# -- HTTP API quotas, CORS, error bodies (xacct.local.gateway, xacct.local.auth) --------------------------------


def test_error_bodies_are_byte_identical_to_api_gateways(local_aws: LocalAws, stack: ApiStack) -> None:
    """API Gateway answers compact JSON: `{"message":"Forbidden"}` for an unsigned request to an AWS_IAM route
    (as curl shows it in aws-samples/aws-microservices-deploy-options#26, svdgraaf/serverless-screenshot#6),
    `{"message":"Not Found"}` for no route; the error type in x-amzn-ErrorType."""
    unsigned = send(local_aws, stack.host, "GET", "/hoge")
    assert (unsigned.status_code, unsigned.content) == (403, b'{"message":"Forbidden"}')
    assert unsigned.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    no_route = send(local_aws, stack.host, "GET", "/")
    assert (no_route.status_code, no_route.content) == (404, b'{"message":"Not Found"}')


def test_a_body_over_10_mb_is_413(local_aws: LocalAws, stack: ApiStack) -> None:
    """ "Quotas for configuring and running an HTTP API in API Gateway": payload size 10 MB, not adjustable.
    The body is what API Gateway was seen answering (koki-develop/lgtm-generator#10); the page has none."""
    limit = 10 * 1024 * 1024
    over = send(local_aws, stack.host, "POST", "/hoge", body=b"x" * (limit + 1))
    assert over.status_code == 413
    assert over.content == b"HTTP content length exceeded 10485760 bytes."
    at_limit = send(local_aws, stack.host, "POST", "/hoge", body=b"x" * limit)
    assert at_limit.status_code == 403  # within the quota: on to authorization (unsigned)


def _raw_get(aws: LocalAws, host: str, pad: str) -> tuple[int, bytes]:
    """GET /hoge with exactly two headers (Host, x-pad): the request line and header values are known bytes."""
    connection = http.client.HTTPConnection("127.0.0.1", aws.port, timeout=30)
    try:
        connection.putrequest("GET", "/hoge", skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", host)
        connection.putheader("x-pad", pad)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_request_line_and_header_values_over_10240_bytes(local_aws: LocalAws, stack: ApiStack) -> None:
    """ "Quotas for configuring and running an HTTP API in API Gateway": total combined size of request line and
    header values 10240 bytes, not adjustable. The page gives no status or body: 431 with the text API Gateway
    was seen answering ("HTTP header is larger than 10240 bytes.", README)."""
    fixed = len("GET /hoge HTTP/1.1") + len(stack.host)
    assert _raw_get(local_aws, stack.host, "p" * (10240 - fixed))[0] == 403  # at the quota: on to authorization
    status, body = _raw_get(local_aws, stack.host, "p" * (10241 - fixed))
    assert (status, body) == (431, b"HTTP header is larger than 10240 bytes.")


class _CorsBackend(BaseHTTPRequestHandler):
    """An API server that sends its own CORS headers (which API Gateway ignores when CORS is configured)."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Access-Control-Allow-Origin", "https://evil.example")
        self.send_header("Access-Control-Allow-Methods", "*")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:  # noqa: ARG002  (quiet)
        return None


@pytest.fixture
def cors_backend() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _CorsBackend)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


CORS = {
    "AllowOrigins": ["https://app.example.com", "http://*"],
    "AllowCredentials": True,
    "AllowMethods": ["GET", "POST"],
    "AllowHeaders": ["authorization", "x-amz-date", "x-amz-security-token"],
    "ExposeHeaders": ["x-request-id"],
    "MaxAge": 300,
}


def _with_cors(aws: LocalAws, stack: ApiStack) -> ApiStack:
    aws.client("apigatewayv2", stack.provider).update_api(ApiId=stack.api_id, CorsConfiguration=CORS)
    return stack


def test_cors_preflight_is_answered_by_the_gateway_without_authorization(
    local_aws: LocalAws, echo: EchoServer, new_account: Callable[[], str]
) -> None:
    """ "Configure CORS for HTTP APIs in API Gateway": with CORS configured, API Gateway answers preflight
    OPTIONS requests itself, even without an OPTIONS route (here every route is AWS_IAM), and a preflight request
    carries Origin and Access-Control-Request-Method. allowOrigins may be an origin or "http://*"."""
    stack = _with_cors(local_aws, build_api(local_aws, new_account(), new_account(), echo.url))
    preflight = {"Origin": "https://app.example.com", "Access-Control-Request-Method": "GET"}
    response = send(local_aws, stack.host, "OPTIONS", "/hoge", preflight)
    assert response.status_code == 204, response.text
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert response.headers["Access-Control-Allow-Methods"] == "GET,POST"
    assert response.headers["Access-Control-Allow-Headers"] == "authorization,x-amz-date,x-amz-security-token"
    assert response.headers["Access-Control-Max-Age"] == "300"
    wildcard = send(local_aws, stack.host, "OPTIONS", "/hoge", {**preflight, "Origin": "http://localhost:3000"})
    assert wildcard.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    foreign = send(local_aws, stack.host, "OPTIONS", "/hoge", {**preflight, "Origin": "https://evil.example"})
    assert foreign.status_code == 204
    assert "Access-Control-Allow-Origin" not in foreign.headers
    # Not a preflight (no Access-Control-Request-Method): an OPTIONS request like any other, authorized.
    plain = send(local_aws, stack.host, "OPTIONS", "/hoge", {"Origin": "https://app.example.com"})
    assert (plain.status_code, plain.content) == (403, b'{"message":"Forbidden"}')


def test_cors_headers_on_integration_responses(
    local_aws: LocalAws, cors_backend: str, new_account: Callable[[], str]
) -> None:
    """ "Configure CORS for HTTP APIs in API Gateway": API Gateway adds the configured CORS headers to the
    integration's response when the request has an Origin header, and ignores the backend's own CORS headers."""
    stack = _with_cors(local_aws, build_api(local_aws, new_account(), new_account(), cors_backend))
    creds = stack.invoke_credentials()
    origin = {"Origin": "https://app.example.com"}
    response = send(
        local_aws, stack.host, "GET", "/hoge", botocore_signed("GET", stack.host, "/hoge", creds, headers=origin)
    )
    assert (response.status_code, response.content) == (200, b"ok")
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert response.headers["Access-Control-Expose-Headers"] == "x-request-id"
    assert "Access-Control-Allow-Methods" not in response.headers  # the backend's, dropped
    no_origin = send(local_aws, stack.host, "GET", "/hoge", botocore_signed("GET", stack.host, "/hoge", creds))
    assert not [h for h in no_origin.headers if h.lower().startswith("access-control-")]


def test_cors_preflight_caught_by_the_default_route_is_authorized(
    local_aws: LocalAws, echo: EchoServer, new_account: Callable[[], str]
) -> None:
    """ "Configure CORS for HTTP APIs in API Gateway": "The $default route catches requests for all methods and
    routes that you haven't explicitly defined, including OPTIONS requests" - so with an AWS_IAM $default route,
    an unsigned preflight request is refused (the page suggests an OPTIONS /{proxy+} route without authorization)."""
    stack = _with_cors(local_aws, build_api(local_aws, new_account(), new_account(), echo.url, routes=("$default",)))
    preflight = {"Origin": "https://app.example.com", "Access-Control-Request-Method": "GET"}
    response = send(local_aws, stack.host, "OPTIONS", "/hoge", preflight)
    assert (response.status_code, response.content) == (403, b'{"message":"Forbidden"}')


def test_the_echo_server_never_prints_the_session_token_or_the_signature(
    local_aws: LocalAws, stack: ApiStack, echo: EchoServer
) -> None:
    """Issue 19: the demo shows the echo in a terminal, and it printed the caller's session token and Authorization
    back. The key id, the scope and the signed header names stay (what was signed, by which key); the rest goes."""
    creds = stack.invoke_credentials()
    headers = botocore_signed("GET", stack.host, "/hoge", creds)
    signature = headers["Authorization"].rsplit("Signature=", 1)[1]
    response = send(local_aws, stack.host, "GET", "/hoge", headers)
    assert response.status_code == 200, response.text
    assert creds["token"] not in response.text
    assert signature not in response.text
    echoed = response.json()["headers"]
    assert echoed["x-amz-security-token"] == f"<redacted: {len(creds['token'])} characters>"
    kept = headers["Authorization"].rsplit("Signature=", 1)[0]
    assert echoed["authorization"] == f"{kept}Signature=<redacted: 64 characters>"
    # Another scheme's Authorization (a bearer token, say) is not echoed at all, straight to the API server.
    direct = requests.get(f"{echo.url}/x", headers={"Authorization": "Bearer s3cr3t"}, timeout=10)
    assert direct.json()["headers"]["authorization"] == "<redacted: 13 characters>"


class _Sized(BaseHTTPRequestHandler):
    """An API server answering GET /bytes/<n> with n bytes (its own Date and Server headers, as any server sends)."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        length = int(self.path.rsplit("/", 1)[1])
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.write(b"x" * length)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: ARG002
        return None


@pytest.fixture(scope="module")
def sized_api(local_aws: LocalAws, new_account: Callable[[], str]) -> Iterator[ApiStack]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sized)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield build_api(local_aws, new_account(), new_account(), f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        server.server_close()


def test_one_date_header_and_reason_phrases_as_http_spells_them(local_aws: LocalAws, sized_api: ApiStack) -> None:
    """Issue 19: the gateway's Date and the integration's were both sent, and reason phrases were upper-cased."""
    creds = sized_api.invoke_credentials()
    response = send(
        local_aws, sized_api.host, "GET", "/bytes/10", botocore_signed("GET", sized_api.host, "/bytes/10", creds)
    )
    assert response.status_code == 200
    assert response.raw.headers.getlist("Date") != []
    assert len(response.raw.headers.getlist("Date")) == 1
    assert len(response.raw.headers.getlist("Server")) <= 1
    assert response.reason == "OK"
    missing = send(local_aws, sized_api.host, "GET", "/bytes/1")  # unsigned: API Gateway's 403
    assert (missing.status_code, missing.reason) == (403, "Forbidden")
    unknown = send(local_aws, "nosuchapi.execute-api.ap-northeast-1.amazonaws.com", "GET", "/x")
    assert (unknown.status_code, unknown.reason) == (404, "Not Found")


def test_an_integration_response_over_10_mb_is_not_passed_on(local_aws: LocalAws, sized_api: ApiStack) -> None:
    """ "Quotas for configuring and running an HTTP API in API Gateway": payload size 10 MB. The page does not say how
    an oversized integration response is answered; the local AWS answers 500 as for its other integration failures
    (docs/local-aws.md says so)."""
    creds = sized_api.invoke_credentials()
    limit = 10 * 1024 * 1024
    at_limit = f"/bytes/{limit}"
    assert (
        len(
            send(
                local_aws, sized_api.host, "GET", at_limit, botocore_signed("GET", sized_api.host, at_limit, creds)
            ).content
        )
        == limit
    )
    over = f"/bytes/{limit + 1}"
    response = send(local_aws, sized_api.host, "GET", over, botocore_signed("GET", sized_api.host, over, creds))
    assert response.status_code == 500
    assert response.json()["message"] == "Internal Server Error"
    assert "payload hand-off" in response.json()["detail"]
