"""Apply checks: envs/deve into 222222222222, then envs/stag into 111111111111, read back with boto3.

Ends as every apply test here ends: the second plan is empty, and destroy leaves nothing behind.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from xacct.errors import HttpError
from xacct.local import LocalAws
from xacct.local.echo_server import EchoServer
from xacct.local.stacks import trust
from xacct.local.terraform import ProviderHosts, Workspace

from conftest import CONSUMER, PROVIDER
from helpers import REGION, workload_client
from plan_checks import load_scenario

INVOKE_ROLE = "ApiAllowByIamRoleStag"
INVOKE_ROLE_ARN = f"arn:aws:iam::{PROVIDER}:role/{INVOKE_ROLE}"
CONSUMER_ROLE_ARN = f"arn:aws:iam::{CONSUMER}:role/LambdaRoleDeve"

pytestmark = [pytest.mark.apply, pytest.mark.xdist_group("apply")]


def snapshot(aws: LocalAws) -> dict[str, Any]:
    """Everything the envs could leave behind, in both accounts."""
    state: dict[str, Any] = {}
    for account in (PROVIDER, CONSUMER):
        iam = aws.client("iam", account)
        state[f"{account}/roles"] = sorted(r["RoleName"] for r in iam.list_roles()["Roles"])
        state[f"{account}/apis"] = sorted(a["ApiId"] for a in aws.client("apigatewayv2", account).get_apis()["Items"])
        groups = aws.client("logs", account).describe_log_groups()["logGroups"]
        state[f"{account}/log groups"] = sorted(g["logGroupName"] for g in groups)
    return state


@pytest.fixture
def sealed_echo() -> Iterator[EchoServer]:
    """An echo server of this test's own (the session's shared one stays unsealed for the other tests)."""
    with EchoServer() as server:
        yield server


def test_deve_then_stag_apply_read_back_sealed_converge_rotate_and_destroy(
    local_aws: LocalAws, fresh_tree: Path, sealed_echo: EchoServer, provider_hosts: ProviderHosts
) -> None:
    """The seed as a team applies it: envs/deve, then envs/stag; read back with boto3; the API server sealed with
    `origin_secret` (only through the gateway, see tests/test_sealed_backend.py); converges; a settings change
    and a secret rotation (README, "Rotating the origin secret") apply and converge; destroy leaves nothing.

    One deployment for all of it, and Terraform attached to a provider host per account (see ProviderHosts): each
    apply of the two envs still costs Terraform a few seconds of CPU."""
    deve = Workspace(fresh_tree / "envs" / "deve", local_aws.env(CONSUMER), provider_hosts)
    stag = Workspace(fresh_tree / "envs" / "stag", local_aws.env(PROVIDER), provider_hosts)
    iam_b, iam_a = local_aws.client("iam", CONSUMER), local_aws.client("iam", PROVIDER)
    gateway = local_aws.client("apigatewayv2", PROVIDER)
    before, leases = snapshot(local_aws), provider_hosts.attached

    # 1. The consumer first: its role must exist before the provider's trust policy can name it.
    deve_vars = {"region": REGION, "provider_invoke_role_arns": [INVOKE_ROLE_ARN]}
    assert deve.apply(deve_vars)["role_arn"] == CONSUMER_ROLE_ARN
    assert provider_hosts.attached == leases + 2  # the apply and its output, attached to a host of the account
    logged = "".join(log.read_text(errors="replace") for log in provider_hosts.workdir.rglob("provider.log"))
    assert '"@module":"aws' not in logged  # the hosts' own logs are off: they would hold every HTTP body
    consumer_trust = iam_b.get_role(RoleName="LambdaRoleDeve")["Role"]["AssumeRolePolicyDocument"]
    assert consumer_trust["Statement"] == [
        {
            "Sid": "WorkloadServices",
            "Effect": "Allow",
            "Principal": {"Service": ["lambda.amazonaws.com"]},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": CONSUMER}},  # confused deputy prevention
        }
    ]
    assume = iam_b.get_role_policy(RoleName="LambdaRoleDeve", PolicyName="AssumeProviderInvokeRoles")
    assert assume["PolicyDocument"]["Statement"] == [
        {
            "Sid": "AssumeProviderInvokeRolesOnly",
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": [INVOKE_ROLE_ARN],
        }
    ]
    attached = iam_b.list_attached_role_policies(RoleName="LambdaRoleDeve")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]

    # 2. The provider.
    stag_vars = {
        "region": REGION,
        "api_server_url": sealed_echo.url,
        "invoke_roles": {INVOKE_ROLE: {"trusted_role_arns": [CONSUMER_ROLE_ARN]}},
    }
    outputs = stag.apply(stag_vars)
    api_id = outputs["api_id"]
    invoke_trust = iam_a.get_role(RoleName=INVOKE_ROLE)["Role"]["AssumeRolePolicyDocument"]
    assert invoke_trust == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ConsumerRoles",
                "Effect": "Allow",
                "Principal": {"AWS": [CONSUMER_ROLE_ARN]},
                "Action": "sts:AssumeRole",
                # One statement for every consumer account: IAM resolves the variable to the caller's account.
                "Condition": {"StringLike": {"sts:RoleSessionName": "${aws:PrincipalAccount}-*"}},
            }
        ],
    }
    invoke_policy = iam_a.get_role_policy(RoleName=INVOKE_ROLE, PolicyName="InvokeApi")["PolicyDocument"]
    assert invoke_policy["Statement"] == [
        {
            "Sid": "InvokeAllowedRoutes",
            "Effect": "Allow",
            "Action": "execute-api:Invoke",
            "Resource": [f"arn:aws:execute-api:{REGION}:{PROVIDER}:{api_id}/$default/*/*"],
        }
    ]
    assert iam_a.list_role_policies(RoleName=INVOKE_ROLE)["PolicyNames"] == ["InvokeApi"]
    assert iam_a.list_attached_role_policies(RoleName=INVOKE_ROLE)["AttachedPolicies"] == []

    routes = gateway.get_routes(ApiId=api_id)["Items"]
    assert [(r["RouteKey"], r["AuthorizationType"]) for r in routes] == [("ANY /{proxy+}", "AWS_IAM")]
    (integration,) = gateway.get_integrations(ApiId=api_id)["Items"]
    assert integration["IntegrationUri"] == sealed_echo.url
    assert integration["RequestParameters"]["overwrite:header.x-caller-arn"] == "$context.identity.userArn"
    assert "overwrite:header.x-caller-account-id" not in integration["RequestParameters"]
    # Sealed: the gateway sends the generated origin secret, which only the sensitive output holds.
    assert integration["RequestParameters"]["overwrite:header.x-origin-verify"] == outputs["origin_secret"]
    assert outputs["origin_secret"] not in json.dumps(outputs["consumer_config"])
    stage = gateway.get_stage(ApiId=api_id, StageName="$default")
    assert stage["DefaultRouteSettings"]["ThrottlingBurstLimit"] == 100
    assert stage["DefaultRouteSettings"]["ThrottlingRateLimit"] == 50
    log_format = json.loads(stage["AccessLogSettings"]["Format"])
    assert "userAgent" not in log_format  # caller-controlled: see modules/provider_api/README.md, "Access log"
    assert list(log_format)[:2] == ["path", "errorMessage"]  # the gateway's own fields come last
    assert log_format["userArn"] == "$context.identity.userArn"
    assert log_format["accountId"] == "$context.identity.accountId"
    (group,) = local_aws.client("logs", PROVIDER).describe_log_groups(logGroupNamePrefix="/aws/apigateway/")[
        "logGroups"
    ]
    assert (group["logGroupName"], group["retentionInDays"]) == ("/aws/apigateway/server-stag/access", 30)
    assert outputs["invoke_url"] == f"https://{api_id}.execute-api.{REGION}.amazonaws.com/"
    assert outputs["invoke_role_arns"] == {INVOKE_ROLE: INVOKE_ROLE_ARN}
    assert outputs["consumer_config"]["invoke_role_arns"] == {INVOKE_ROLE: INVOKE_ROLE_ARN}
    assert outputs["consumer_config"]["trusted_principals"] == {INVOKE_ROLE: [CONSUMER_ROLE_ARN]}
    assert outputs["consumer_config"]["role_session_name_prefix"] == {INVOKE_ROLE: {CONSUMER: f"{CONSUMER}-"}}

    # 3. Sealed: through the gateway the origin secret is added (and never echoed); around it, refused.
    secret, header = outputs["origin_secret"], outputs["origin_verify_header"]
    assert header == "x-origin-verify"
    assert len(secret) == 64  # sha256, in hex
    assert int(secret, 16) >= 0
    sealed_echo.require_origin(header, secret)
    with workload_client(local_aws, outputs["invoke_url"], INVOKE_ROLE_ARN, CONSUMER_ROLE_ARN) as api:
        through = api.get("/hoge", headers={"x-origin-verify": "client-chosen", "x-caller-arn": "forged"})
    assert through.status_code == 200, through.text
    assert through.json()["origin_verified"] is True
    assert through.json()["caller"]["arn"].startswith(f"arn:aws:sts::{PROVIDER}:assumed-role/{INVOKE_ROLE}/")
    assert secret not in through.text
    assert "x-origin-verify" not in through.json()["headers"]
    forged = {"x-caller-arn": f"arn:aws:sts::{PROVIDER}:assumed-role/{INVOKE_ROLE}/{CONSUMER}-forged"}
    for extra in ({}, {header: "0" * 64}, {header: secret[:-1]}, {header.upper(): secret + "0"}):
        direct = requests.get(f"{sealed_echo.url}/hoge", headers={**forged, **extra}, timeout=10)
        assert direct.status_code == 403, (extra, direct.text)
        assert direct.json() == {"message": "Forbidden: the x-origin-verify header is missing or wrong"}
        assert secret not in direct.text

    # 4. Nothing left to do: the second plan of each env is empty (the secret, from uuid(), is kept).
    for name, workspace in (("deve", deve), ("stag", stag)):
        code, out = workspace.plan_exit_code()
        assert code == 0, f"envs/{name} second plan is not empty:\n{out}"
        assert secret not in out

    # 5. A stage setting changes (UpdateStage, which moto lacks, is filled by the local AWS) and the secret rotates
    #    (a new origin_secret_version), in one apply; it converges.
    rotated = stag.apply({**stag_vars, "throttling": {"burst_limit": 10, "rate_limit": 5}, "origin_secret_version": 2})
    stage = gateway.get_stage(ApiId=api_id, StageName="$default")
    assert (
        stage["DefaultRouteSettings"]["ThrottlingBurstLimit"],
        stage["DefaultRouteSettings"]["ThrottlingRateLimit"],
    ) == (10, 5)
    assert rotated["origin_secret"] != secret
    assert len(rotated["origin_secret"]) == 64
    with workload_client(local_aws, outputs["invoke_url"], INVOKE_ROLE_ARN, CONSUMER_ROLE_ARN) as api:
        with pytest.raises(HttpError) as refused:  # the API server still wants the old one
            api.get("/hoge")
        assert refused.value.response is not None
        assert refused.value.response.status_code == 403
        sealed_echo.require_origin(header, rotated["origin_secret"])
        assert api.get("/hoge").status_code == 200
    code, out = stag.plan_exit_code()
    assert code == 0, f"envs/stag does not converge after a stage change and a rotation:\n{out}"

    # 6. Destroy, provider first; nothing is left in either account.
    stag.destroy()
    deve.destroy()
    assert snapshot(local_aws) == before


def _lambda_function(aws: LocalAws) -> Callable[[], None]:
    """hoge-api with a `live` alias, as the lambda scenario expects; returns its clean-up."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("index.py", "def handler(event, context):\n    return {}\n")
    iam, functions = aws.client("iam", PROVIDER), aws.client("lambda", PROVIDER)
    role = iam.create_role(RoleName="hoge-api-function", AssumeRolePolicyDocument=trust(service=True))["Role"]["Arn"]
    functions.create_function(
        FunctionName="hoge-api",
        Runtime="python3.12",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": archive.getvalue()},
    )
    version = functions.publish_version(FunctionName="hoge-api")["Version"]
    functions.create_alias(FunctionName="hoge-api", Name="live", FunctionVersion=version)

    def clean_up() -> None:
        functions.delete_function(FunctionName="hoge-api")
        iam.delete_role(RoleName="hoge-api-function")

    return clean_up


def _consumer_role(aws: LocalAws) -> Callable[[], None]:
    """The consumer role the scenarios' invoke role trusts: it must exist first, as in AWS (a trust policy naming
    a missing role is refused: "IAM JSON policy elements: Principal"). Returns its clean-up."""
    iam = aws.client("iam", CONSUMER)
    iam.create_role(RoleName=CONSUMER_ROLE_ARN.rsplit("/", 1)[1], AssumeRolePolicyDocument=trust(service=True))
    return lambda: iam.delete_role(RoleName=CONSUMER_ROLE_ARN.rsplit("/", 1)[1])


@pytest.mark.parametrize("scenario", ["lambda", "custom_domain"])
def test_module_variants_apply_converge_and_destroy(
    local_aws: LocalAws, fresh_tree: Path, scenario: str, provider_hosts: ProviderHosts
) -> None:
    """The Lambda and custom-domain variants hit control-plane gaps of moto that the local AWS fills."""
    values = load_scenario("provider_api", scenario)["vars"]
    workspace = Workspace(fresh_tree / "modules" / "provider_api", local_aws.env(PROVIDER), provider_hosts)
    before = snapshot(local_aws)
    remove_consumer_role = _consumer_role(local_aws)
    clean_up: Callable[[], None] = lambda: None  # noqa: E731
    if scenario == "lambda":
        clean_up = _lambda_function(local_aws)
    else:
        route53 = local_aws.client("route53", PROVIDER)
        zone = route53.create_hosted_zone(Name="stag.foo.example.com", CallerReference=str(fresh_tree))["HostedZone"]
        values["domain"]["route53_zone_id"] = zone["Id"].split("/")[-1]
        clean_up = lambda: route53.delete_hosted_zone(Id=zone["Id"])  # noqa: E731
    try:
        outputs = workspace.apply(values)
        gateway = local_aws.client("apigatewayv2", PROVIDER)
        if scenario == "lambda":
            functions = local_aws.client("lambda", PROVIDER)
            policy = json.loads(functions.get_policy(FunctionName="hoge-api", Qualifier="live")["Policy"])
            (statement,) = policy["Statement"]
            assert statement["Principal"] == {"Service": "apigateway.amazonaws.com"}
            # Scoped to the stage: <execution_arn>/<stage>/<method>/<path>.
            assert statement["Condition"]["ArnLike"]["AWS:SourceArn"] == f"{outputs['execution_arn']}/$default/*"
        else:
            domain = gateway.get_domain_name(DomainName="server.stag.foo.example.com")
            (configuration,) = domain["DomainNameConfigurations"]
            assert configuration["DomainNameStatus"] == "AVAILABLE"
            zone_id = values["domain"]["route53_zone_id"]
            records = local_aws.client("route53", PROVIDER).list_resource_record_sets(HostedZoneId=zone_id)
            (alias,) = [r for r in records["ResourceRecordSets"] if r["Type"] == "A"]
            assert alias["AliasTarget"]["DNSName"].rstrip(".") == configuration["ApiGatewayDomainName"]
            mapping = gateway.get_api_mappings(DomainName="server.stag.foo.example.com")["Items"]
            assert [(m["ApiId"], m["Stage"]) for m in mapping] == [(outputs["api_id"], "$default")]
        code, out = workspace.plan_exit_code()
        assert code == 0, f"{scenario}: second plan is not empty:\n{out}"
    finally:
        if (workspace.folder / "terraform.tfstate").exists():
            workspace.destroy()
        clean_up()
        remove_consumer_role()
    assert snapshot(local_aws) == before
