"""The access matrix: only the named roles of the named accounts can call the API.

Everything here goes through real Terraform applies of envs/deve and envs/stag and real HTTP. The same tests run
against real AWS accounts when XACCT_LIVE_PROVIDER_PROFILE and XACCT_LIVE_CONSUMER_PROFILE name AWS CLI profiles
(optional: XACCT_LIVE_THIRD_PROFILE, XACCT_LIVE_REGION, XACCT_LIVE_API_SERVER_URL); otherwise "live" is skipped.

Deployed (provider account P, consumer account C, third account T):
- envs/deve in C and in T: LambdaRoleDeve, allowed to assume P's three invoke roles;
- envs/stag in P, routes ANY /{proxy+}, GET /items/{id} and GET /items/{id}/secret, invoke roles
  ApiAllowByIamRoleStag (trusts C's LambdaRoleDeve, every route), ApiReadItemsRoleStag (GET /items/{id} only),
  ApiPartnerRoleStag (external id), ApiSharedRoleStag (trusts the LambdaRoleDeve of C and of T: one role, two
  consumer accounts, each bound to session names that start with its account id), ApiByArnRoleStag
  (trust_by_principal_arn: C as principal, C's LateRoleDeve by aws:PrincipalArn - a role created only later);
- a second envs/stag in P: another API whose own invoke role is OtherApiRoleStag;
- outside Terraform: C's OtherRoleDeve and P's ProviderAppRole, each allowed by its own policy to assume
  ApiAllowByIamRoleStag, but not named in its trust policy.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from xacct import ApiClient, AssumeRoleDenied, IamAuth, InvokeDenied
from xacct.local import LocalAws
from xacct.local.echo_server import EchoServer
from xacct.local.stacks import Envs, allow, trust
from xacct.local.terraform import ProviderHosts
from xacct.signing import parse_query

from helpers import REGION, botocore_signed

pytestmark = [pytest.mark.apply, pytest.mark.xdist_group("matrix")]

ALL = "ApiAllowByIamRoleStag"
READ_ITEMS = "ApiReadItemsRoleStag"
PARTNER = "ApiPartnerRoleStag"
SHARED = "ApiSharedRoleStag"
BY_ARN = "ApiByArnRoleStag"
LATE_ROLE = "LateRoleDeve"
OTHER_API = "OtherApiRoleStag"
EXTERNAL_ID = "xacct-partner-7f3a9c"
_ids = itertools.count(1)

LIVE_PROVIDER = os.environ.get("XACCT_LIVE_PROVIDER_PROFILE")
LIVE_CONSUMER = os.environ.get("XACCT_LIVE_CONSUMER_PROFILE")


# -- worlds: where the accounts are --------------------------------------------------------------------------


class World:
    """Accounts to deploy into and ways to act in them."""

    name: str
    provider: str
    consumer: str
    third: str | None
    endpoint_url: str | None
    api_server_url: str
    can_issue_short_sessions: bool

    def env(self, account: str) -> dict[str, str]:
        raise NotImplementedError

    def iam(self, account: str) -> Any:
        raise NotImplementedError

    def make_actable(self, role_arn: str) -> None:
        """Let the test act as ``role_arn`` (a workload role): nothing to do locally."""

    def act_as(self, role_arn: str) -> boto3.Session:
        raise NotImplementedError


class LocalWorld(World):
    def __init__(self, aws: LocalAws, echo: EchoServer) -> None:
        self.aws = aws
        self.name = "local"
        base = 880000000000 + (os.getpid() % 1000) * 1000 + next(_ids) * 10
        self.provider, self.consumer, self.third = (str(base + i) for i in (1, 2, 3))
        self.endpoint_url = aws.endpoint_url
        self.api_server_url = echo.url
        self.can_issue_short_sessions = True

    def env(self, account: str) -> dict[str, str]:
        return self.aws.env(account)

    def iam(self, account: str) -> Any:
        return self.aws.client("iam", account)

    def act_as(self, role_arn: str) -> boto3.Session:
        # The account's root assumes the role as the service it trusts: "the Lambda function".
        return self.aws.workload_session(role_arn, session_name="matrix")


class LiveWorld(World):  # pragma: no cover - needs real accounts
    def __init__(self) -> None:
        assert LIVE_PROVIDER
        assert LIVE_CONSUMER
        self.name = "live"
        region = os.environ.get("XACCT_LIVE_REGION", REGION)
        self.profiles = {"provider": LIVE_PROVIDER, "consumer": LIVE_CONSUMER}
        third = os.environ.get("XACCT_LIVE_THIRD_PROFILE")
        if third:
            self.profiles["third"] = third
        self.sessions = {k: boto3.Session(profile_name=p, region_name=region) for k, p in self.profiles.items()}
        ids = {k: s.client("sts").get_caller_identity() for k, s in self.sessions.items()}
        self.by_account = {ids[k]["Account"]: k for k in ids}
        self.provider, self.consumer = ids["provider"]["Account"], ids["consumer"]["Account"]
        self.third = ids["third"]["Account"] if "third" in ids else None
        self.me = {k: v["Arn"] for k, v in ids.items()}
        self.endpoint_url = None
        self.api_server_url = os.environ.get("XACCT_LIVE_API_SERVER_URL", "https://httpbin.org/anything")
        self.can_issue_short_sessions = False

    def env(self, account: str) -> dict[str, str]:
        return {"AWS_PROFILE": self.profiles[self.by_account[account]], "AWS_REGION": REGION}

    def iam(self, account: str) -> Any:
        return self.sessions[self.by_account[account]].client("iam")

    def make_actable(self, role_arn: str) -> None:
        account = role_arn.split(":")[4]
        me = self.me[self.by_account[account]]
        if ":assumed-role/" in me:  # a role session: trust the role itself
            me = me.replace(":sts::", ":iam::").replace(":assumed-role/", ":role/").rsplit("/", 1)[0]
        iam = self.iam(account)
        name = role_arn.rsplit("/", 1)[1]
        document = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
        document["Statement"].append({"Effect": "Allow", "Principal": {"AWS": me}, "Action": "sts:AssumeRole"})
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(document))

    def act_as(self, role_arn: str) -> boto3.Session:
        sts = self.sessions[self.by_account[role_arn.split(":")[4]]].client("sts")
        for attempt in range(30):  # IAM changes take a few seconds to reach STS
            try:
                creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="matrix")["Credentials"]
                break
            except ClientError:
                if attempt == 29:
                    raise
                time.sleep(2)
        return boto3.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=REGION,
        )


# -- the deployment ------------------------------------------------------------------------------------------


@dataclass
class Deployment:
    world: World
    api_url: str
    other_api_url: str
    invoke: dict[str, str]  # invoke role name -> ARN
    roles: dict[str, str] = field(default_factory=dict)  # actor name -> role ARN

    @property
    def host(self) -> str:
        return self.api_url.split("/")[2]

    def act_as(self, actor: str) -> boto3.Session:
        return self.world.act_as(self.roles[actor])

    def client(self, actor: str, invoke_role: str = ALL, **kwargs: Any) -> ApiClient:
        # The trust policy binds the session name to the consumer's account: "<account id>-..." (see iam.tf).
        kwargs.setdefault("session_name", f"{self.roles[actor].split(':')[4]}-matrix")
        return ApiClient(
            kwargs.pop("url", self.api_url),
            self.invoke[invoke_role],
            source_session=self.act_as(actor),
            endpoint_url=self.world.endpoint_url,
            region=REGION,
            **kwargs,
        )

    def invoke_credentials(self, actor: str = "workload", invoke_role: str = ALL, **extra: str) -> dict[str, str]:
        """Invoke role credentials via botocore's STS client only (the independent path)."""
        account = self.roles[actor].split(":")[4]
        return self.assume(actor, invoke_role, f"{account}-matrix-indep", **extra)

    def assume(self, actor: str, invoke_role: str, session_name: str, **extra: str) -> dict[str, str]:
        """``actor`` assumes ``invoke_role`` with boto3 under exactly ``session_name``."""
        sts = self.act_as(actor).client("sts")
        creds = sts.assume_role(RoleArn=self.invoke[invoke_role], RoleSessionName=session_name, **extra)["Credentials"]
        return {"key": creds["AccessKeyId"], "secret": creds["SecretAccessKey"], "token": creds["SessionToken"]}

    def raw(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b"", url: str | None = None
    ) -> requests.Response:
        """Send exactly these bytes (already signed, or not) to the API."""
        base = url or self.api_url
        host = base.split("/")[2]
        target = (self.world.endpoint_url or f"https://{host}") + path
        return requests.request(method, target, headers={**headers, "Host": host}, data=body, timeout=30)


LIVE_REASON = (
    "live mode: set XACCT_LIVE_PROVIDER_PROFILE and XACCT_LIVE_CONSUMER_PROFILE to AWS CLI profiles of a provider "
    "and a consumer account to run this matrix against real accounts"
)
# Only a configured live world is a parameter: a skipped one would interleave with the local world and make
# pytest tear the local deployment down and build it again.
WORLDS: list[Any] = ["local"] + (
    [pytest.param("live", marks=pytest.mark.live)] if LIVE_PROVIDER and LIVE_CONSUMER else []
)


def test_live_mode() -> None:
    """Reports whether the matrix also ran against real accounts."""
    if len(WORLDS) == 1:
        pytest.skip(LIVE_REASON)


@pytest.fixture(scope="module", params=WORLDS)
def deployment(
    request: pytest.FixtureRequest,
    local_aws: LocalAws,
    tmp_path_factory: pytest.TempPathFactory,
    provider_hosts: ProviderHosts,
) -> Iterator[Deployment]:
    # Locally the API server is an echo server of this deployment's own, sealed with the seed's origin secret.
    api_server = EchoServer().start() if request.param == "local" else None
    world: World = LocalWorld(local_aws, api_server) if api_server is not None else LiveWorld()
    invoke = {name: f"arn:aws:iam::{world.provider}:role/{name}" for name in (ALL, READ_ITEMS, PARTNER, SHARED, BY_ARN)}
    workload = f"arn:aws:iam::{world.consumer}:role/LambdaRoleDeve"
    third_workload = [f"arn:aws:iam::{world.third}:role/LambdaRoleDeve"] if world.third else []
    envs = Envs(tmp_path_factory.mktemp("matrix"), world.env, region=REGION, hosts=provider_hosts)
    extra_roles: list[tuple[str, str]] = []
    try:
        seed = envs.seed(
            world.provider,
            [world.consumer] + ([world.third] if world.third else []),
            world.api_server_url,
            routes=["ANY /{proxy+}", "GET /items/{id}", "GET /items/{id}/secret"],
            invoke_roles={
                ALL: {"trusted_role_arns": [workload]},
                READ_ITEMS: {"trusted_role_arns": [workload], "allowed_routes": ["GET /items/{id}"]},
                PARTNER: {"trusted_role_arns": [workload], "external_id": EXTERNAL_ID},
                SHARED: {"trusted_role_arns": [workload, *third_workload]},
                BY_ARN: {
                    "trusted_role_arns": [f"arn:aws:iam::{world.consumer}:role/{LATE_ROLE}"],
                    "trust_by_principal_arn": True,
                },
            },
        )
        assert seed.invoke_role_arns == invoke
        if api_server is not None:
            seed.seal(api_server)
        assert seed.workload_role_arn(world.consumer) == workload
        other = envs.apply(
            "envs/stag",
            world.provider,
            {
                "name": "other-stag",
                "api_server_url": world.api_server_url,
                "invoke_roles": {OTHER_API: {"trusted_role_arns": [workload]}},
            },
        )

        deployment = Deployment(world, seed.invoke_url, other["invoke_url"], invoke)
        deployment.roles["workload"] = workload
        if world.third:
            deployment.roles["third"] = seed.workload_role_arn(world.third)
        for actor, account, name in (
            ("untrusted", world.consumer, "OtherRoleDeve"),
            ("provider-app", world.provider, "ProviderAppRole"),
        ):
            iam = world.iam(account)
            arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust(service=True))["Role"]["Arn"]
            iam.put_role_policy(
                RoleName=name, PolicyName="AssumeInvokeRole", PolicyDocument=allow("sts:AssumeRole", invoke[ALL])
            )
            extra_roles.append((account, name))
            deployment.roles[actor] = arn
        for arn in deployment.roles.values():
            world.make_actable(arn)
        yield deployment
    finally:
        for account, name in extra_roles:
            iam = world.iam(account)
            iam.delete_role_policy(RoleName=name, PolicyName="AssumeInvokeRole")
            iam.delete_role(RoleName=name)
        # Real accounts are cleaned up. The local AWS goes away with the test process (each deployment has accounts
        # of its own), so destroying there would only cost time; test_apply.py and the demo test destroy itself.
        if api_server is None:
            envs.destroy()
        if api_server is not None:
            api_server.stop()


def _caller(response: requests.Response) -> str:
    """The verified caller (x-caller-arn) as the API server saw it (our echo server, or httpbin in live mode)."""
    headers = {k.lower(): v for k, v in response.json()["headers"].items()}
    # x-caller-account-id is gone: it was $context.identity.accountId, the provider's own account.
    assert "x-caller-account-id" not in headers
    return headers["x-caller-arn"]


def _message(response: requests.Response) -> str:
    text: str = response.json()["message"]
    return text


# -- allowed -------------------------------------------------------------------------------------------------


def test_the_trusted_role_is_allowed(deployment: Deployment) -> None:
    session_name = f"{deployment.world.consumer}-lambda-hoge"
    with deployment.client("workload", session_name=session_name) as api:
        response = api.put("/hoge", json={"foo": "bar"})
    assert response.status_code == 200
    assert _caller(response) == f"arn:aws:sts::{deployment.world.provider}:assumed-role/{ALL}/{session_name}"


# -- refused at AssumeRole -----------------------------------------------------------------------------------


@pytest.mark.parametrize("actor", ["untrusted", "third", "provider-app"])
def test_roles_not_named_in_the_trust_policy_are_refused_at_assume_role(deployment: Deployment, actor: str) -> None:
    if actor not in deployment.roles:
        pytest.skip("live mode without XACCT_LIVE_THIRD_PROFILE has no third account")
    with pytest.raises(AssumeRoleDenied) as denied, deployment.client(actor) as api:
        api.get("/hoge")
    role_name = deployment.roles[actor].rsplit("/", 1)[1]
    assert f":assumed-role/{role_name}/matrix is not authorized to perform: sts:AssumeRole" in denied.value.aws_message
    assert deployment.invoke[ALL] in str(denied.value)


def test_the_external_id_role_needs_the_external_id(deployment: Deployment) -> None:
    with pytest.raises(AssumeRoleDenied), deployment.client("workload", PARTNER) as api:
        api.get("/hoge")
    with pytest.raises(AssumeRoleDenied), deployment.client("workload", PARTNER, external_id="xacct-wrong-id") as api:
        api.get("/hoge")
    with deployment.client("workload", PARTNER, external_id=EXTERNAL_ID) as api:
        assert api.get("/hoge").status_code == 200


# -- refused at the gateway ----------------------------------------------------------------------------------


def test_the_consumer_role_calling_with_its_own_credentials_is_refused(deployment: Deployment) -> None:
    """Skipping AssumeRole: the consumer's own role has no say over another account's HTTP API."""
    workload = deployment.act_as("workload").get_credentials()
    assert workload is not None
    session = requests.Session()
    response = session.get(
        (deployment.world.endpoint_url or f"https://{deployment.host}") + "/hoge",
        headers={"Host": deployment.host},
        auth=IamAuth(workload, REGION),
        timeout=30,
    )
    assert response.status_code == 403
    assert _message(response).startswith(f"User: arn:aws:sts::{deployment.world.consumer}:assumed-role/LambdaRoleDeve/")
    assert "is not authorized to perform: execute-api:Invoke on resource: " in _message(response)


@pytest.mark.parametrize("tamper", ["body", "path"])
def test_requests_changed_after_signing_are_refused(deployment: Deployment, tamper: str) -> None:
    creds = deployment.invoke_credentials()
    headers = botocore_signed("PUT", deployment.host, "/hoge", creds, body=b'{"foo":"bar"}')
    body = b'{"foo":"baz"}' if tamper == "body" else b'{"foo":"bar"}'
    path = "/fuga" if tamper == "path" else "/hoge"
    response = deployment.raw("PUT", path, headers, body)
    assert response.status_code == 403
    assert _message(response).startswith("The request signature we calculated does not match")


def test_calls_around_the_gateway_are_refused_by_the_api_server(deployment: Deployment) -> None:
    """Sealed: straight to the API server with a forged x-caller-arn and no, a wrong or a truncated origin secret."""
    if deployment.world.name != "local":
        pytest.skip("live mode: the API server (XACCT_LIVE_API_SERVER_URL) is the operator's to seal")
    forged = {
        "x-caller-arn": f"arn:aws:sts::{deployment.world.provider}:assumed-role/{ALL}/{deployment.world.consumer}-x"
    }
    for secret in ({}, {"x-origin-verify": "not-the-secret"}, {"x-origin-verify": "0" * 64}):
        direct = requests.put(
            f"{deployment.world.api_server_url}/hoge", headers={**forged, **secret}, data=b"{}", timeout=10
        )
        assert direct.status_code == 403, direct.text
        assert "caller" not in direct.json()  # the echo never ran
    with deployment.client("workload") as api:  # the same request through the gateway is served
        response = api.put("/hoge", json={})
    assert response.status_code == 200
    assert _caller(response).startswith(f"arn:aws:sts::{deployment.world.provider}:assumed-role/{ALL}/")


def test_unsigned_requests_are_refused(deployment: Deployment) -> None:
    response = deployment.raw("PUT", "/hoge", {"Content-Type": "application/json"}, b'{"foo":"bar"}')
    assert (response.status_code, response.json()) == (403, {"message": "Forbidden"})


def test_unknown_access_keys_are_refused(deployment: Deployment) -> None:
    fake = {"key": "ASIAQQQQQQQQQQQQQQQQ", "secret": "not-a-real-secret", "token": "not-a-real-token"}
    response = deployment.raw("GET", "/hoge", botocore_signed("GET", deployment.host, "/hoge", fake))
    assert (response.status_code, _message(response)) == (403, "The security token included in the request is invalid.")


def test_expired_credentials_are_refused(deployment: Deployment) -> None:
    if not deployment.world.can_issue_short_sessions:
        pytest.skip("live mode: AWS sessions last at least 15 minutes")
    with LocalAws(region=REGION, session_ttl_seconds=2) as short:  # another front door onto the same accounts
        workload = short.workload_session(deployment.roles["workload"], region=REGION)
        creds = workload.client("sts").assume_role(
            RoleArn=deployment.invoke[ALL], RoleSessionName=f"{deployment.world.consumer}-short"
        )["Credentials"]
    time.sleep(2.5)
    expired = {"key": creds["AccessKeyId"], "secret": creds["SecretAccessKey"], "token": creds["SessionToken"]}
    response = deployment.raw("GET", "/hoge", botocore_signed("GET", deployment.host, "/hoge", expired))
    assert (response.status_code, _message(response)) == (403, "The security token included in the request is expired")


def test_a_route_limited_role_gets_its_route_only(deployment: Deployment) -> None:
    with deployment.client("workload", READ_ITEMS) as api:
        assert api.get("/items/42").status_code == 200
        for method, path in (("PUT", "/hoge"), ("GET", "/hoge"), ("DELETE", "/items/42")):
            with pytest.raises(InvokeDenied) as denied:
                api.request(method, path)
            assert denied.value.reason == "not_authorized"
            assert denied.value.resource is not None
            assert denied.value.resource.endswith(f"/$default/{method}{path}")


def test_deeper_paths_and_other_routes_are_refused_to_a_route_limited_role(deployment: Deployment) -> None:
    """GET /items/{id} allowed: GET /items/1/secret (another route) and what only ANY /{proxy+} serves are 403.

    IAM matches the request's ARN <execution_arn>/<stage>/GET/items/1/secret ("Control access to an HTTP API with
    IAM authorization"), where the allowed pattern GET/items/* alone would match too ("*" spans "/"); API Gateway
    sends the request to the most specific route ("Working with routes for HTTP APIs"). The policy's Deny of
    GET/items/*/* keeps the deeper paths out.
    """
    with deployment.client("workload", READ_ITEMS) as api:
        assert api.get("/items/1").status_code == 200
        for path in ("/items/1/secret", "/items/1/secret/more", "/items", "/hoge/items/1"):
            with pytest.raises(InvokeDenied) as denied:
                api.get(path)
            assert denied.value.response.status_code == 403
            assert denied.value.reason == "not_authorized"
            assert (denied.value.resource or "").endswith(f"/$default/GET{path}")
    with deployment.client("workload", ALL) as api:  # the routes are there: the role allowed every route gets them
        assert api.get("/items/1/secret").status_code == 200
        assert api.get("/hoge/items/1").status_code == 200


def _consumer_call(deployment: Deployment, actor: str, session_name: str) -> requests.Response:
    creds = deployment.assume(actor, SHARED, session_name)
    return deployment.raw("GET", "/whoami", botocore_signed("GET", deployment.host, "/whoami", creds))


def test_consumers_sharing_an_invoke_role_are_told_apart(deployment: Deployment) -> None:
    """Each consumer account's sessions of the shared role carry its own account id: the API server tells them apart.

    The trust policy has one statement with StringLike sts:RoleSessionName "${aws:PrincipalAccount}-*", which IAM
    resolves to each caller's own account ("IAM policy elements: Variables and tags"); API Gateway passes the
    session's ARN (assumed-role/<role>/<session name>) as x-caller-arn. AWS STS API reference, AssumeRole: the
    role session name is part of the assumed-role ARN, and a role may require it with the sts:RoleSessionName
    condition key.
    """
    if "third" not in deployment.roles:
        pytest.skip("live mode without XACCT_LIVE_THIRD_PROFILE has no third account")
    world = deployment.world
    seen = {}
    for actor, account in (("workload", world.consumer), ("third", world.third)):
        response = _consumer_call(deployment, actor, f"{account}-matrix-shared")
        assert response.status_code == 200, response.text
        seen[account] = _caller(response)
    assert seen == {
        account: f"arn:aws:sts::{world.provider}:assumed-role/{SHARED}/{account}-matrix-shared"
        for account in (world.consumer, world.third)
    }


@pytest.mark.parametrize(
    ("actor", "session_name"),
    [
        ("workload", "{third}-matrix-shared"),  # the consumer poses as the third account
        ("third", "{consumer}-matrix-shared"),  # and the other way round
        ("workload", "matrix-shared"),  # no account prefix at all
        ("workload", "{consumer}matrix"),  # the account id without the "-"
    ],
)
def test_a_consumer_cannot_assume_a_shared_role_under_another_prefix(
    deployment: Deployment, actor: str, session_name: str
) -> None:
    """AssumeRole itself refuses a session name that does not start with the caller's own account id and "-"."""
    if "third" not in deployment.roles:
        pytest.skip("live mode without XACCT_LIVE_THIRD_PROFILE has no third account")
    name = session_name.format(consumer=deployment.world.consumer, third=deployment.world.third)
    with pytest.raises(ClientError) as refused:
        deployment.assume(actor, SHARED, name)
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert f"is not authorized to perform: sts:AssumeRole on resource: {deployment.invoke[SHARED]}" in str(
        refused.value
    )


def test_trust_by_principal_arn_needs_no_apply_order_and_survives_a_recreated_role(deployment: Deployment) -> None:
    """trust_by_principal_arn: the consumer's role is created only after the provider applied, then deleted and
    created again (a new unique id under the same ARN); its sessions get through both times.

    The trust statement names the account as principal and the role in ArnEquals aws:PrincipalArn, which IAM keeps
    as written ("AWS global condition context keys": aws:PrincipalArn is the role's ARN for a role session).
    """
    world = deployment.world
    stored = world.iam(world.provider).get_role(RoleName=BY_ARN)["Role"]["AssumeRolePolicyDocument"]
    (statement,) = stored["Statement"]
    assert statement["Principal"] in (
        {"AWS": f"arn:aws:iam::{world.consumer}:root"},
        {"AWS": [f"arn:aws:iam::{world.consumer}:root"]},
    )
    assert statement["Condition"]["ArnEquals"] == {
        "aws:PrincipalArn": [f"arn:aws:iam::{world.consumer}:role/{LATE_ROLE}"]
    }
    iam = world.iam(world.consumer)

    def create() -> str:
        arn: str = iam.create_role(RoleName=LATE_ROLE, AssumeRolePolicyDocument=trust(service=True))["Role"]["Arn"]
        iam.put_role_policy(
            RoleName=LATE_ROLE,
            PolicyName="AssumeInvokeRole",
            PolicyDocument=allow("sts:AssumeRole", deployment.invoke[BY_ARN]),
        )
        world.make_actable(arn)
        return arn

    def delete() -> None:
        iam.delete_role_policy(RoleName=LATE_ROLE, PolicyName="AssumeInvokeRole")
        iam.delete_role(RoleName=LATE_ROLE)

    deployment.roles["late"] = create()
    try:
        unique_ids = []
        for attempt in ("first", "recreated"):
            unique_ids.append(iam.get_role(RoleName=LATE_ROLE)["Role"]["RoleId"])
            session_name = f"{world.consumer}-late-{attempt}"
            creds = deployment.assume("late", BY_ARN, session_name)
            response = deployment.raw("GET", "/late", botocore_signed("GET", deployment.host, "/late", creds))
            assert response.status_code == 200, response.text
            assert _caller(response) == f"arn:aws:sts::{world.provider}:assumed-role/{BY_ARN}/{session_name}"
            if attempt == "first":
                delete()
                create()
        assert unique_ids[0] != unique_ids[1]
        with pytest.raises(ClientError) as refused:  # the session name is still bound to the account
            deployment.assume("late", BY_ARN, "late")
        assert refused.value.response["Error"]["Code"] == "AccessDenied"
        # Another role of the account, allowed by its own policy to assume every invoke role, is not named.
        with pytest.raises(ClientError) as refused:
            deployment.assume("workload", BY_ARN, f"{world.consumer}-workload")
        assert refused.value.response["Error"]["Code"] == "AccessDenied"
    finally:
        delete()


def test_the_invoke_role_cannot_invoke_another_api_of_the_account(deployment: Deployment) -> None:
    with deployment.client("workload", url=deployment.other_api_url) as api, pytest.raises(InvokeDenied) as denied:
        api.get("/hoge")
    assert denied.value.reason == "not_authorized"
    other_api_id = deployment.other_api_url.split("/")[2].split(".")[0]
    assert f":{other_api_id}/$default/GET/hoge" in (denied.value.resource or "")


# -- an independent signer gets the same answers -------------------------------------------------------------

Outcome = tuple[int, str]


def _via_client(deployment: Deployment, method: str, path: str, invoke_role: str, url: str | None) -> Outcome:
    path, _, query = path.partition("?")
    try:
        with deployment.client("workload", invoke_role, **({"url": url} if url else {})) as api:
            response = api.request(
                method,
                path,
                params=parse_query(query, plus_is_space=False),
                data=b'{"k":"v"}' if method == "PUT" else None,
            )
    except InvokeDenied as denied:
        response = denied.response
    body = response.json()
    return response.status_code, body.get("message", body.get("method", ""))


def _via_botocore(deployment: Deployment, method: str, path: str, invoke_role: str, url: str | None) -> Outcome:
    base = url or deployment.api_url
    host = base.split("/")[2]
    creds = deployment.invoke_credentials(invoke_role=invoke_role)
    body = b'{"k":"v"}' if method == "PUT" else b""
    response = deployment.raw(method, path, botocore_signed(method, host, path, creds, body=body), body, url=base)
    payload = response.json()
    return response.status_code, payload.get("message", payload.get("method", ""))


@pytest.mark.parametrize(
    ("method", "path", "invoke_role", "other_api", "status"),
    [
        ("PUT", "/hoge", ALL, False, 200),
        ("GET", "/items/7?view=full&lang=ja", READ_ITEMS, False, 200),
        ("PUT", "/hoge", READ_ITEMS, False, 403),
        ("GET", "/hoge", ALL, True, 403),
    ],
)
def test_an_independent_signer_gets_the_same_answers(
    deployment: Deployment, method: str, path: str, invoke_role: str, other_api: bool, status: int
) -> None:
    url = deployment.other_api_url if other_api else None
    ours = _via_client(deployment, method, path, invoke_role, url)
    theirs = _via_botocore(deployment, method, path, invoke_role, url)
    assert ours[0] == theirs[0] == status
    # Same verdict, down to the resource ARN (the session names differ, so compare from "perform:" on).
    assert ours[1].partition("perform:")[2] == theirs[1].partition("perform:")[2]


def test_decisions_at_assume_role_are_recorded_locally(deployment: Deployment, local_aws: LocalAws) -> None:
    if deployment.world.name != "local":
        pytest.skip("the local AWS's own records")
    refusals = [r for r in local_aws.assume_role_records if r.role_arn == deployment.invoke[ALL] and not r.allowed]
    assert refusals, "the refused AssumeRole calls above were recorded"
