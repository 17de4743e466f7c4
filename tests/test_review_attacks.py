"""The security review's attacks on the product (issue 18), each performed against ONE real apply and refused.

Given: modules/provider_api applied into a provider account of the local AWS by Terraform with the real AWS
provider, with two invoke roles - ``ApiSharedRoleStag`` trusted by a role of consumer B and a role of consumer C
(all routes), ``ApiItemsOnlyStag`` trusted by B's role and allowed ``GET /items/{id}`` only - the routes
``ANY /{proxy+}``, ``GET /items/{id}`` and ``GET /items/{id}/secret``, and the payload bucket (large_payloads).
The API server is the README's Flask app (WSGI, werkzeug), the README's FastAPI app (ASGI, uvicorn) and a Lambda
handler that calls ``caller_from_lambda_event``; one HTTP_PROXY integration reaches all three through a small
dispatcher (header ``x-test-backend``), which passes the gateway's request on unchanged to the WSGI app, proxies it
byte for byte to the ASGI server, or builds the payload 2.0 event API Gateway would give a Lambda function from the
same verified values (the local AWS creates Lambda functions but does not invoke them).

The attacks:
1. A provider-account role that may invoke the API (a CI role) assumed with the session name
   ``<consumer B's account>-ci``: the app must not be told the call came from B.
2. Consumer C, sharing an invoke role with B, reads B's response body and writes under B's request prefix in the
   payload bucket: IAM refuses both.
3. ``GET /items/1%2Fsecret`` by a role allowed ``GET /items/{id}`` only: the local gateway used to route and
   authorize it as ``GET /items/{id}``, and the app, which decodes the path, would serve ``/items/<id>/secret``. API
   Gateway decodes the path before routing (issue 20), so it is ``GET /items/{id}/secret`` and refused there; the
   kit's own refusal of an encoded slash stays for servers behind other proxies (tests/test_backend.py).
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import requests
from botocore.exceptions import ClientError
from werkzeug.serving import make_server

from xacct import ApiClient, HttpError
from xacct.backend import CallerNotVerified, NotAnInvokeRole, caller_from_lambda_event
from xacct.local import LocalAws
from xacct.local import terraform as tfrun
from xacct.local.stacks import trust
from xacct.local.terraform import ProviderHosts, Workspace

from helpers import REGION, ROOT, botocore_signed, consumer_workload_role, load_example, remove_role, serve_fastapi

pytestmark = [pytest.mark.apply, pytest.mark.xdist_group("apply")]

SHARED = "ApiSharedRoleStag"
ITEMS_ONLY = "ApiItemsOnlyStag"
BACKENDS = ("wsgi", "asgi", "lambda")


def add_item_routes(framework: str, app: Any, ran: list[str]) -> None:
    """/items/<id> and /items/<id>/secret, as an app that routes on the decoded path has them."""
    if framework == "flask":

        def item(item_id: str) -> str:
            ran.append(f"item {item_id}")
            return "item"

        def secret(item_id: str) -> str:
            ran.append(f"secret {item_id}")
            return "secret"

        app.add_url_rule("/items/<item_id>", "item", item)
        app.add_url_rule("/items/<item_id>/secret", "secret", secret)
    else:

        def item_fastapi(item_id: str) -> str:
            ran.append(f"item {item_id}")
            return "item"

        def secret_fastapi(item_id: str) -> str:
            ran.append(f"secret {item_id}")
            return "secret"

        app.add_api_route("/items/{item_id}", item_fastapi, methods=["GET"])
        app.add_api_route("/items/{item_id}/secret", secret_fastapi, methods=["GET"])


class Dispatcher:
    """The integration's one URL: the WSGI app, the ASGI server (proxied as sent) or a Lambda event, by header."""

    def __init__(self) -> None:
        self.wsgi: Callable[..., Iterable[bytes]] | None = None
        self.asgi_port = 0
        self.invoke_roles: dict[str, str] = {}
        self.events: list[dict[str, Any]] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        backend = environ.get("HTTP_X_TEST_BACKEND", "wsgi")
        if backend == "asgi":
            return self._proxy(environ, start_response)
        if backend == "lambda":
            return self._lambda(environ, start_response)
        assert self.wsgi is not None
        return self.wsgi(environ, start_response)

    def _proxy(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """The request as the gateway sent it (raw path, every header), to uvicorn; its answer back."""
        connection = http.client.HTTPConnection("127.0.0.1", self.asgi_port, timeout=30)
        headers = {
            key[5:].replace("_", "-").lower(): str(value) for key, value in environ.items() if key.startswith("HTTP_")
        }
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else None
        connection.request(environ["REQUEST_METHOD"], environ["RAW_URI"], body=body, headers=headers)
        answer = connection.getresponse()
        data = answer.read()
        connection.close()
        kept = [(k, v) for k, v in answer.getheaders() if k.lower() in ("content-type", "content-length")]
        start_response(f"{answer.status} {answer.reason}", kept)
        return [data]

    def _lambda(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """The payload 2.0 event ("Create AWS Lambda proxy integrations for HTTP APIs") of this request."""
        raw = environ["RAW_URI"].split("?", 1)[0]
        event = {
            "version": "2.0",
            "routeKey": environ.get("HTTP_X_ROUTE_KEY"),
            "rawPath": raw,
            "rawQueryString": environ.get("QUERY_STRING", ""),
            "headers": {},
            "requestContext": {
                "http": {"method": environ["REQUEST_METHOD"], "path": unquote(raw)},
                "stage": "$default",
                "authorizer": {
                    "iam": {"userArn": environ.get("HTTP_X_CALLER_ARN"), "userId": environ.get("HTTP_X_CALLER_USER_ID")}
                },
            },
        }
        self.events.append(event)
        try:
            caller = caller_from_lambda_event(event, invoke_roles=self.invoke_roles)
        except CallerNotVerified as refused:
            start_response("403 Forbidden", [("Content-Type", "application/json")])
            return [json.dumps({"reason": type(refused).__name__, "message": str(refused)}).encode()]
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"arn": caller.arn, "consumer_account_id": caller.consumer_account_id}).encode()]


@dataclass
class Applied:
    aws: LocalAws
    provider: str
    consumer_b: str
    consumer_c: str
    outputs: dict[str, Any]
    dispatcher: Dispatcher
    ran: list[str]

    def role_of(self, consumer: str) -> str:
        return f"arn:aws:iam::{consumer}:role/Workload"

    def client(self, consumer: str, invoke_role: str, **kwargs: Any) -> ApiClient:
        return ApiClient(
            self.outputs["invoke_url"],
            self.outputs["invoke_role_arns"][invoke_role],
            source_session=self.aws.workload_session(self.role_of(consumer), region=REGION),
            endpoint_url=self.aws.endpoint_url,
            session_name=f"{consumer}-xacct-attack",
            **kwargs,
        )


@pytest.fixture(scope="module")
def applied(
    local_aws: LocalAws,
    new_account: Callable[[], str],
    tmp_path_factory: pytest.TempPathFactory,
    provider_hosts: ProviderHosts,
) -> Iterator[Applied]:
    provider, consumer_b, consumer_c = new_account(), new_account(), new_account()
    for consumer in (consumer_b, consumer_c):  # the consumers' workload roles first: the trust names them
        consumer_workload_role(local_aws, consumer, provider, "Workload")
    dispatcher = Dispatcher()
    server = make_server("127.0.0.1", 0, dispatcher, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    tree = tfrun.copy_configuration(tmp_path_factory.mktemp("attacks"), ROOT)
    workspace = Workspace(tree / "modules" / "provider_api", local_aws.env(provider, REGION), provider_hosts)
    outputs = workspace.apply(
        {
            "name": "attacks-stag",
            "integration": {"type": "HTTP_PROXY", "uri": f"http://127.0.0.1:{server.server_port}"},
            "routes": ["ANY /{proxy+}", "GET /items/{id}", "GET /items/{id}/secret"],
            "invoke_roles": {
                SHARED: {
                    "trusted_role_arns": [
                        f"arn:aws:iam::{consumer_b}:role/Workload",
                        f"arn:aws:iam::{consumer_c}:role/Workload",
                    ]
                },
                ITEMS_ONLY: {
                    "trusted_role_arns": [f"arn:aws:iam::{consumer_b}:role/Workload"],
                    "allowed_routes": ["GET /items/{id}"],
                },
            },
            "large_payloads": {"enabled": True},
        }
    )
    ran: list[str] = []
    flask = load_example("flask_app", outputs["origin_secret"], outputs["invoke_role_arns"]).app
    fastapi = load_example("fastapi_app", outputs["origin_secret"], outputs["invoke_role_arns"]).app
    add_item_routes("flask", flask, ran)
    add_item_routes("fastapi", fastapi, ran)
    url, stop_asgi = serve_fastapi(fastapi)
    dispatcher.wsgi = flask
    dispatcher.asgi_port = int(urlsplit(url).port or 0)
    dispatcher.invoke_roles = outputs["invoke_role_arns"]
    try:
        yield Applied(local_aws, provider, consumer_b, consumer_c, outputs, dispatcher, ran)
    finally:
        stop_asgi()
        server.shutdown()
        server.server_close()
        workspace.destroy()
        for consumer in (consumer_b, consumer_c):
            remove_role(local_aws, consumer, "Workload")


def refused(call: Callable[[], Any]) -> tuple[int, dict[str, Any]]:
    """The status and JSON body of a call the client raised HttpError for."""
    with pytest.raises(HttpError) as error:
        call()
    response = error.value.response
    assert response is not None
    return response.status_code, response.json()


# -- the control: consumers get through, and each is told apart ----------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_each_consumer_is_named_through_the_shared_role(applied: Applied, backend: str) -> None:
    for consumer in (applied.consumer_b, applied.consumer_c):
        with applied.client(consumer, SHARED) as api:
            whoami = api.get("/whoami", headers={"x-test-backend": backend}).json()
        assert whoami["consumer_account_id"] == consumer
        assert whoami["arn"].endswith(f":assumed-role/{SHARED}/{consumer}-xacct-attack")


def test_no_consumer_can_take_another_accounts_session_name(applied: Applied) -> None:
    """The trust's one statement binds each session name to the caller's own account (${aws:PrincipalAccount})."""
    source = applied.aws.workload_session(applied.role_of(applied.consumer_c), region=REGION)
    sts = source.client("sts", endpoint_url=applied.aws.endpoint_url)
    with pytest.raises(ClientError) as denied:
        sts.assume_role(RoleArn=applied.outputs["invoke_role_arns"][SHARED], RoleSessionName=f"{applied.consumer_b}-x")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    own = sts.assume_role(
        RoleArn=applied.outputs["invoke_role_arns"][SHARED], RoleSessionName=f"{applied.consumer_c}-x"
    )
    assert own["AssumedRoleUser"]["Arn"].endswith(f"/{applied.consumer_c}-x")


# -- attack 1: a provider-account role assumed under another consumer's session name ------------------------


@pytest.fixture(scope="module")
def ci_role(applied: Applied) -> Iterator[str]:
    """A CI role of the provider account that may invoke the API (its own policy; it is no invoke role)."""
    iam = applied.aws.client("iam", applied.provider)
    iam.create_role(RoleName="CiSmokeTests", AssumeRolePolicyDocument=trust(f"arn:aws:iam::{applied.provider}:root"))
    iam.put_role_policy(
        RoleName="CiSmokeTests",
        PolicyName="invoke",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "execute-api:Invoke",
                        "Resource": f"{applied.outputs['execution_arn']}/*",
                    }
                ],
            }
        ),
    )
    yield f"arn:aws:iam::{applied.provider}:role/CiSmokeTests"
    iam.delete_role_policy(RoleName="CiSmokeTests", PolicyName="invoke")
    iam.delete_role(RoleName="CiSmokeTests")


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_ci_role_posing_as_a_consumer_is_refused(applied: Applied, ci_role: str, backend: str) -> None:
    """Assumed as "<consumer B>-ci" (its trust has no session-name rule), signed and authorized by the gateway."""
    client = ApiClient(
        applied.outputs["invoke_url"],
        ci_role,
        source_session=applied.aws.session(applied.provider, REGION),
        endpoint_url=applied.aws.endpoint_url,
        session_name=f"{applied.consumer_b}-ci",
        retries=0,
    )
    with client as api:
        status, body = refused(lambda: api.get("/whoami", headers={"x-test-backend": backend}))
    assert status == 403
    assert body["reason"] == (NotAnInvokeRole.__name__ if backend == "lambda" else "caller_not_invoke_role")
    assert "CiSmokeTests is not one of this server's invoke roles" in body["message"]
    assert f"session name '{applied.consumer_b}-ci' names no consumer" in body["message"]


# -- attack 2: consumers sharing an invoke role and the payload bucket ---------------------------------------


def test_a_consumer_cannot_read_or_write_another_consumers_bodies(applied: Applied) -> None:
    bucket = applied.outputs["payload_bucket"]
    with applied.client(applied.consumer_b, SHARED, payload_bucket=bucket) as b_api:
        assert b_api.payloads is not None
        b_user = b_api.payloads.caller().user_id
        b_s3 = b_api.payloads.s3()
    with applied.client(applied.consumer_c, SHARED, payload_bucket=bucket) as c_api:
        assert c_api.payloads is not None
        c_user = c_api.payloads.caller().user_id
        c_s3 = c_api.payloads.s3()
    assert b_user is not None
    assert c_user is not None
    assert b_user.split(":")[0] == c_user.split(":")[0]  # one role, two sessions
    # B's response body, as the API server writes it; B reads it, C cannot.
    response_key = f"response/{SHARED}/{b_user}/{'a' * 32}"
    applied.aws.client("s3", applied.provider).put_object(Bucket=bucket, Key=response_key, Body=b"for B only")
    assert b_s3.get_object(Bucket=bucket, Key=response_key)["Body"].read() == b"for B only"
    with pytest.raises(ClientError) as denied:
        c_s3.get_object(Bucket=bucket, Key=response_key)
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    # C cannot write under B's request prefix (nor B under C's); each writes under its own.
    for s3, other in ((c_s3, b_user), (b_s3, c_user)):
        with pytest.raises(ClientError) as denied:
            s3.put_object(Bucket=bucket, Key=f"request/{SHARED}/{other}/{'b' * 32}", Body=b"planted")
        assert denied.value.response["Error"]["Code"] == "AccessDenied"
    c_s3.put_object(Bucket=bucket, Key=f"request/{SHARED}/{c_user}/{'c' * 32}", Body=b"own")


# -- attack 3: an encoded slash moves a call to a route the role was not allowed ------------------------------


def signed_get(applied: Applied, path: str, credentials: Any, backend: str) -> requests.Response:
    """GET ``path`` exactly as written (``%2F`` kept), signed by botocore's SigV4Auth, as other SigV4 clients send
    it (the xacct client would encode the "%" itself)."""
    host = urlsplit(applied.outputs["invoke_url"]).netloc
    frozen = credentials.get_frozen_credentials()
    creds = {"key": frozen.access_key, "secret": frozen.secret_key, "token": frozen.token}
    headers = botocore_signed("GET", host, path, creds, headers={"x-test-backend": backend})
    return requests.get(f"{applied.aws.endpoint_url}{path}", headers=headers, timeout=30)


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_encoded_slash_cannot_reach_another_route(applied: Applied, backend: str) -> None:
    with applied.client(applied.consumer_b, ITEMS_ONLY, retries=0) as api:
        credentials = api.role.credentials
        assert api.get("/items/1", headers={"x-test-backend": backend}).status_code == 200  # the allowed route
    # The gateway itself refuses the route the role is not allowed.
    assert signed_get(applied, "/items/1/secret", credentials, backend).status_code == 403
    before, events = len(applied.ran), len(applied.dispatcher.events)
    # The gateway decodes the path before it routes (xacct.routing.request_path): the route is
    # GET /items/{id}/secret, the ARN .../GET/items/1/secret, and the role is refused there; no app sees the call.
    # (tests/test_local_gateway.py sends lower-case and dot-segment variants byte for byte; requests rewrites them.)
    response = signed_get(applied, "/items/1%2Fsecret", credentials, backend)
    assert response.status_code == 403, response.text
    assert response.json()["message"].endswith("/GET/items/1/secret"), response.text
    assert [r for r in applied.ran[before:] if r.startswith("secret")] == []
    assert applied.dispatcher.events[events:] == []
