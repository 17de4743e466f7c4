"""`xacct access report` against a real deployment: envs/deve, then envs/stag, applied with Terraform into the
local AWS once for the module; each scenario then changes IAM with boto3 (as a person would, outside Terraform)
and undoes its change.

Deployed (provider P, consumer C, third account T): the seed (ApiAllowByIamRoleStag trusting C's LambdaRoleDeve,
route ANY /{proxy+}), called once by the workload so that the invoke role counts as used.

AWS pages the scenarios follow:
- the execute-api ARN of a request: "Control access to an HTTP API with IAM authorization"
  (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-access-control-iam.html);
- a deleted and re-created role in a trust policy: "AWS JSON policy elements: Principal", section "IAM roles"
  ("If you delete the role, then you break the relationship. ... the principal ... is the unique ID");
- RoleLastUsed: IAM API reference, "RoleLastUsed" (absent when the role was not used in the tracking period).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import boto3
import jsonschema
import pytest
from botocore.stub import Stubber

from xacct.access import (
    REPORT_SCHEMA,
    Caller,
    Declared,
    MissingPermission,
    Reader,
    Report,
    RouteAccess,
    build_report,
    expect,
    may_reach,
    render,
)
from xacct.access import report as access_report
from xacct.cli import main
from xacct.local import LocalAws
from xacct.local.echo_server import EchoServer
from xacct.local.identity import iam
from xacct.local.stacks import INVOKE_ROLE, ApiStack, Envs, allow, build_api, trust
from xacct.local.terraform import ProviderHosts
from xacct.status import ExitStatus

from helpers import REGION, ROOT, workload_client

pytestmark = [pytest.mark.apply, pytest.mark.xdist_group("access_report")]

README = ROOT / "README.md"
# The README shows the demo's accounts (xacct demo: provider 111111111111, consumer 222222222222).
README_PROVIDER, README_CONSUMER, README_API_ID = "111111111111", "222222222222", "a1b2c3d4e5"


@dataclass
class Deployed:
    aws: LocalAws
    provider: str
    consumer: str
    third: str
    outputs: dict[str, Any]
    workload: str
    created: list[tuple[str, str]] = field(default_factory=list)  # (account, role name) made by a scenario

    @property
    def api_id(self) -> str:
        value: str = self.outputs["api_id"]
        return value

    @property
    def invoke_role(self) -> str:
        value: str = self.outputs["invoke_role_arns"][INVOKE_ROLE]
        return value

    def iam(self, account: str) -> Any:
        return self.aws.client("iam", account)

    def role(self, account: str, name: str, trust_policy: str, *, invoke: bool = False) -> dict[str, Any]:
        """A role made by hand; with ``invoke``, allowed execute-api:Invoke on every route of the API."""
        role: dict[str, Any] = self.iam(account).create_role(RoleName=name, AssumeRolePolicyDocument=trust_policy)[
            "Role"
        ]
        self.created.append((account, name))
        if invoke:
            self.iam(account).put_role_policy(
                RoleName=name,
                PolicyName="Invoke",
                PolicyDocument=allow("execute-api:Invoke", f"{self.outputs['execution_arn']}/*/*"),
            )
        return role

    def remove_role(self, account: str, name: str) -> None:
        iam = self.iam(account)
        for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
            iam.delete_role_policy(RoleName=name, PolicyName=policy)
        for attached in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
            iam.detach_role_policy(RoleName=name, PolicyArn=attached["PolicyArn"])
        iam.delete_role(RoleName=name)

    def trust_conditions(self) -> dict[str, Any]:
        """The conditions of the seed invoke role's trust statement naming the workload role, as IAM shows them,
        with ``${aws:PrincipalAccount}`` read for the workload role (the report shows what each principal must meet)."""
        document = self.iam(self.provider).get_role(RoleName=INVOKE_ROLE)["Role"]["AssumeRolePolicyDocument"]
        for statement in document["Statement"]:
            aws = statement["Principal"]["AWS"]
            if self.workload in ([aws] if isinstance(aws, str) else aws):
                written = json.dumps(statement.get("Condition", {}))
                assert "${aws:PrincipalAccount}-*" in written, written
                conditions: dict[str, Any] = json.loads(
                    written.replace("${aws:PrincipalAccount}", self.workload.split(":")[4])
                )
                return conditions
        raise AssertionError(f"no trust statement names {self.workload}: {document}")


@pytest.fixture(scope="module")
def deployed(
    local_aws: LocalAws,
    echo: EchoServer,
    new_account: Callable[[], str],
    tmp_path_factory: pytest.TempPathFactory,
    provider_hosts: ProviderHosts,
) -> Deployed:
    provider, consumer, third = new_account(), new_account(), new_account()
    envs = Envs(tmp_path_factory.mktemp("access"), local_aws.env, region=REGION, hosts=provider_hosts)
    # No destroy afterwards: the accounts are this fixture's own and the local AWS goes away with the test process
    # (test_apply.py and the demo test destroy itself).
    seed = envs.seed(provider, [consumer], echo.url)
    workload = seed.workload_role_arn(consumer)
    with workload_client(local_aws, seed.invoke_url, seed.invoke_role_arns[INVOKE_ROLE], workload) as api:
        assert api.get("/hoge").status_code == 200
    # The local AWS marks a role used (RoleLastUsed) when its session makes a control-plane request (moto's
    # bookkeeping), not at AssumeRole nor at an execute-api call through the gateway; AWS's page (IAM API
    # reference, "RoleLastUsed") does not say which use counts. One request with the invoke role's session:
    invoke = local_aws.workload_session(workload, region=REGION).client("sts")
    creds = invoke.assume_role(RoleArn=seed.invoke_role_arns[INVOKE_ROLE], RoleSessionName=f"{consumer}-report")
    keys = creds["Credentials"]
    local_aws.session_with_keys(
        keys["AccessKeyId"], keys["SecretAccessKey"], keys["SessionToken"], region=REGION
    ).client("sts").get_caller_identity()
    return Deployed(local_aws, provider, consumer, third, seed.outputs, workload)


@pytest.fixture
def world(deployed: Deployed) -> Iterator[Deployed]:
    """The deployment; whatever a scenario made by hand is removed after it."""
    yield deployed
    while deployed.created:
        account, name = deployed.created.pop()
        deployed.remove_role(account, name)


@dataclass
class Run:
    status: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def report(world: Deployed, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Run]:
    """Run `xacct access report` in this process as the provider account's root (its credentials in the env)."""
    for name, value in world.aws.env(world.provider).items():
        monkeypatch.setenv(name, value)

    def run(*extra: str, fmt: str = "json") -> Run:
        capsys.readouterr()
        options = ["--api-id", world.api_id, "--region", REGION, "--endpoint-url", world.aws.endpoint_url]
        status = main(["access", "report", *options, "--format", fmt, *extra])
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err
        return Run(status, captured.out, captured.err)

    return run


def _callers(document: dict[str, Any], route_key: str = "ANY /{proxy+}") -> list[dict[str, Any]]:
    (route,) = [r for r in document["routes"] if r["route_key"] == route_key]
    callers: list[dict[str, Any]] = route["callers"]
    return callers


def _kinds(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(f["kind"], f["principal"]) for f in document["findings"]}


# -- the demo deployment -------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "table", "markdown", "mermaid"])
def test_the_demo_deployment_in_every_format(world: Deployed, report: Callable[..., Run], fmt: str) -> None:
    run = report(fmt=fmt)
    assert run.status == 0, run.err
    assert re.fullmatch(
        r"xacct access report: read \d+ roles, \d+ users, \d+ groups\n", run.err
    )  # progress on stderr, never on stdout
    conditions = world.trust_conditions()
    if fmt == "json":
        jsonschema.validate(run.json, REPORT_SCHEMA)
        assert run.json == {
            "version": 1,
            "api_id": world.api_id,
            "stage": "$default",
            "routes": [
                {
                    "route_key": "ANY /{proxy+}",
                    "callers": [{"principal": world.workload, "via": world.invoke_role, "conditions": conditions}],
                }
            ],
            "findings": [],
        }
    elif fmt == "table":
        lines = run.out.splitlines()
        assert lines[0] == f"API {world.api_id}, stage $default"
        assert lines[2].split() == ["ROUTE", "CALLER", "VIA", "CONDITIONS"]
        assert lines[3].split()[:4] == ["ANY", "/{proxy+}", world.workload, world.invoke_role]
        assert "0 finding(s)" in lines
    elif fmt == "markdown":
        assert "| Route | Caller | Via | Conditions |" in run.out
        assert f"| `ANY /{{proxy+}}` | `{world.workload}` | `{world.invoke_role}` |" in run.out
        assert "| (none) | | |" in run.out
    else:
        assert run.out.startswith("flowchart LR\n")
        assert f'p0["{world.workload}"]' in run.out
        assert f'v0(["{world.invoke_role}"])' in run.out
        assert "  v0 --> r0" in run.out
        assert ("  p0 --> v0" in run.out) is not bool(conditions)  # a condition labels the edge


def _shared_invoke_role(world: Deployed) -> tuple[dict[str, Any], dict[str, Any]]:
    """(a workload role in the third account, ApiSharedRoleStag): an invoke role that the consumer's workload and
    that role may assume, one statement per account, each with its session name prefix (the shared-role contract)."""
    other = world.role(world.third, "LambdaRoleOther", trust(service=True))
    statements = [
        {
            "Effect": "Allow",
            "Principal": {"AWS": [arn]},
            "Action": "sts:AssumeRole",
            "Condition": {"StringLike": {"sts:RoleSessionName": f"{account}-*"}},
        }
        for account, arn in ((world.consumer, world.workload), (world.third, other["Arn"]))
    ]
    document = json.dumps({"Version": "2012-10-17", "Statement": statements})
    return other, world.role(world.provider, "ApiSharedRoleStag", document, invoke=True)


def _check_readme_block(name: str, table: str) -> None:
    """The README block between <!-- BEGIN_<name> --> and <!-- END_<name> --> is ``table``
    (XACCT_UPDATE_README=1 writes it)."""
    begin, end = f"<!-- BEGIN_{name} -->\n", f"<!-- END_{name} -->"
    text = README.read_text(encoding="utf-8")
    before, found, rest = text.partition(begin)
    assert found, f"README.md has no {begin.strip()} marker"
    shown, _, after = rest.partition(end)
    if os.environ.get("XACCT_UPDATE_README") == "1":
        README.write_text(before + begin + table + end + after, encoding="utf-8")
        shown = table
    assert shown == table, f"README's {name} table drifted: XACCT_UPDATE_README=1 pytest -k readme"


def _as_in_readme(world: Deployed, text: str, **more: str) -> str:
    """The report with the demo's account ids (xacct demo: provider 111111111111, consumer 222222222222)."""
    replaced = {world.provider: README_PROVIDER, world.consumer: README_CONSUMER, world.api_id: README_API_ID, **more}
    for old, new in replaced.items():
        text = text.replace(old, new)
    return text


def test_the_readme_shows_the_report_of_the_demo_deployment(world: Deployed, report: Callable[..., Run]) -> None:
    _check_readme_block("ACCESS_REPORT", _as_in_readme(world, report(fmt="markdown").out))


def test_the_readme_shows_the_findings_of_changes_made_by_hand(world: Deployed, report: Callable[..., Run]) -> None:
    """The demo deployment after a consumer re-created its role, an admin added a role by hand, and a role was
    shared by two consumer accounts (the three scenarios below, at once)."""
    batch = world.role(world.consumer, "BatchRoleDeve", trust(service=True))
    world.role(world.provider, "ApiBatchRoleStag", trust(batch["Arn"]), invoke=True)
    world.remove_role(world.consumer, "BatchRoleDeve")
    world.created.remove((world.consumer, "BatchRoleDeve"))
    world.role(world.consumer, "BatchRoleDeve", trust(service=True))
    world.role(world.provider, "AdminByHand", trust(f"arn:aws:iam::{world.provider}:root"))
    world.iam(world.provider).put_role_policy(RoleName="AdminByHand", PolicyName="All", PolicyDocument=allow("*", "*"))
    backdate(world.provider, "AdminByHand", days=120)  # created by hand long ago, never used since
    _shared_invoke_role(world)
    run = report(fmt="markdown")
    assert run.status == 0, run.err
    table = _as_in_readme(world, run.out, **{world.third: "333333333333", batch["RoleId"]: "AROAEXAMPLEDELETEDROLE"})
    for kind in ("stale_trust", "direct_caller", "shared_role", "unused"):
        assert f"| {kind} |" in table
    _check_readme_block("ACCESS_REPORT_FINDINGS", table)


# -- what changes outside Terraform show -----------------------------------------------------------------------


def backdate(account: str, role: str, *, days: int) -> None:
    """Make a role of the local AWS look created ``days`` ago (its CreateDate, in moto's IAM backend)."""
    iam(account).get_role(role).create_date = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(days=days)


def test_unused_means_no_use_in_90_days_of_a_role_older_than_that(world: Deployed, report: Callable[..., Run]) -> None:
    """Issue 19: roles were "never used" right after they were used. IAM's RoleLastUsed ("RoleLastUsed", IAM API
    Reference: when and in which region the role was last used) is set by an AssumeRole here, and a role younger than
    the 90-day window is not called unused."""
    root = f"arn:aws:iam::{world.provider}:root"
    old = world.role(world.provider, "OldUnusedInvoke", trust(root), invoke=True)
    used = world.role(world.provider, "OldUsedInvoke", trust(root), invoke=True)
    for name in ("OldUnusedInvoke", "OldUsedInvoke"):
        backdate(world.provider, name, days=120)
    world.aws.client("sts", world.provider, REGION).assume_role(RoleArn=used["Arn"], RoleSessionName="ci")
    last_used = world.iam(world.provider).get_role(RoleName="OldUsedInvoke")["Role"]["RoleLastUsed"]
    assert last_used["Region"] == REGION
    assert datetime.now(timezone.utc) - last_used["LastUsedDate"] < timedelta(minutes=5)
    kinds = _kinds(report().json)
    assert ("unused", old["Arn"]) in kinds
    assert ("unused", used["Arn"]) not in kinds


def test_a_consumer_role_deleted_and_recreated_is_stale_trust(world: Deployed, report: Callable[..., Run]) -> None:
    """IAM keeps a trust principal as the role's unique id; once the role is deleted, the policy shows that id."""
    consumer_role = world.role(world.consumer, "BatchRoleDeve", trust(service=True))
    invoke = world.role(world.provider, "ApiBatchRoleStag", trust(consumer_role["Arn"]), invoke=True)
    world.remove_role(world.consumer, "BatchRoleDeve")
    world.created.remove((world.consumer, "BatchRoleDeve"))
    world.role(world.consumer, "BatchRoleDeve", trust(service=True))  # same name, a new unique id

    run = report()
    assert run.status == 0, run.err
    old_id = consumer_role["RoleId"]
    assert {"principal": old_id, "via": invoke["Arn"], "conditions": {}} in _callers(run.json)
    (stale,) = [f for f in run.json["findings"] if f["kind"] == "stale_trust"]
    assert stale["principal"] == old_id
    assert invoke["Arn"] in stale["detail"]
    assert "Re-apply the provider stack" in stale["detail"]
    table = report(fmt="table")
    assert f"stale_trust: {old_id}: " in table.out


def test_a_hand_added_admin_role_is_a_direct_caller(world: Deployed, report: Callable[..., Run]) -> None:
    """An administrator's role (a customer managed policy allowing "*" on "*") can invoke every route itself."""
    admin = world.role(world.provider, "AdminByHand", trust(f"arn:aws:iam::{world.provider}:root"))
    iam = world.iam(world.provider)
    policy = iam.create_policy(PolicyName="EverythingByHand", PolicyDocument=allow("*", "*"))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="AdminByHand", PolicyArn=policy)
    try:
        run = report()
        assert run.status == 0, run.err
        assert {"principal": admin["Arn"], "via": "direct", "conditions": {}} in _callers(run.json)
        assert ("direct_caller", admin["Arn"]) in _kinds(run.json)
        assert ("unused", admin["Arn"]) not in _kinds(run.json)  # created a moment ago: its 90 days have not passed
        (finding,) = [f for f in run.json["findings"] if f["kind"] == "direct_caller"]
        assert finding["detail"].startswith("its own policies allow execute-api:Invoke on every route")
        assert f"admits arn:aws:iam::{world.provider}:root" in finding["detail"]
        for fmt in ("table", "markdown", "mermaid"):
            assert admin["Arn"] in report(fmt=fmt).out
    finally:
        iam.detach_role_policy(RoleName="AdminByHand", PolicyArn=policy)
        iam.delete_policy(PolicyArn=policy)


def test_an_invoke_role_trusting_two_accounts_is_a_shared_role(world: Deployed, report: Callable[..., Run]) -> None:
    """One statement per consumer account, each with its session name prefix (the shared-role contract)."""
    other, shared = _shared_invoke_role(world)
    run = report()
    assert run.status == 0, run.err
    callers = _callers(run.json)
    for account, arn in ((world.consumer, world.workload), (world.third, other["Arn"])):
        expected = {"StringLike": {"sts:RoleSessionName": f"{account}-*"}}
        assert {"principal": arn, "via": shared["Arn"], "conditions": expected} in callers
    (finding,) = [f for f in run.json["findings"] if f["kind"] == "shared_role"]
    assert finding["principal"] == shared["Arn"]
    assert f"2 accounts ({', '.join(sorted([world.consumer, world.third]))})" in finding["detail"]
    assert f'sts:RoleSessionName StringLike "{world.third}-*"' in report(fmt="table").out


# -- --expect ------------------------------------------------------------------------------------------------


def test_expect_passes_when_iam_is_as_terraform_declared(
    world: Deployed, report: Callable[..., Run], tmp_path: Path
) -> None:
    declared = tmp_path / "consumer_config.json"  # terraform output -json consumer_config
    declared.write_text(json.dumps(world.outputs["consumer_config"]))
    run = report("--expect", str(declared), fmt="table")
    assert (run.status, run.err.splitlines()[-1]) == (0, f"xacct access report: as declared in {declared}")
    every_output = tmp_path / "outputs.json"  # terraform output -json
    every_output.write_text(
        json.dumps({k: {"sensitive": False, "type": "string", "value": v} for k, v in world.outputs.items()})
    )
    assert report("--expect", str(every_output)).status == 0


def test_expect_catches_a_principal_added_outside_terraform(
    world: Deployed, report: Callable[..., Run], tmp_path: Path
) -> None:
    declared = tmp_path / "declared.json"  # what the seed gave Terraform (invoke_roles in envs/stag)
    declared.write_text(json.dumps({"invoke_roles": {INVOKE_ROLE: {"trusted_principals": [world.workload]}}}))
    intruder = world.role(world.consumer, "OtherRoleDeve", trust(service=True))
    iam = world.iam(world.provider)
    document = iam.get_role(RoleName=INVOKE_ROLE)["Role"]["AssumeRolePolicyDocument"]
    changed = json.loads(json.dumps(document))
    changed["Statement"].append({"Effect": "Allow", "Principal": {"AWS": intruder["Arn"]}, "Action": "sts:AssumeRole"})
    iam.update_assume_role_policy(RoleName=INVOKE_ROLE, PolicyDocument=json.dumps(changed))
    try:
        run = report("--expect", str(declared))
        assert run.status == ExitStatus.DRIFT == 3
        assert {"principal": intruder["Arn"], "via": world.invoke_role, "conditions": {}} in _callers(run.json)
        assert run.err.splitlines()[-2:] == [
            f"xacct access report: 1 difference(s) from {declared}:",
            f"  invoke role {world.invoke_role}: trusts {intruder['Arn']}, which is not declared",
        ]
    finally:
        iam.update_assume_role_policy(RoleName=INVOKE_ROLE, PolicyDocument=json.dumps(document))


def test_expect_small_file_declares_principals_and_routes(
    world: Deployed, report: Callable[..., Run], tmp_path: Path
) -> None:
    """{"invoke_roles": {name: {trusted_principals, allowed_routes}}}: a drift in either is a difference."""
    declared = tmp_path / "declared.json"
    declared.write_text(
        json.dumps({"invoke_roles": {INVOKE_ROLE: {"trusted_principals": [world.workload], "allowed_routes": ["*"]}}})
    )
    assert report("--expect", str(declared)).status == 0
    narrower = {
        "trusted_principals": [f"arn:aws:iam::{world.consumer}:role/Gone"],
        "allowed_routes": ["GET /items/{id}"],
    }
    declared.write_text(json.dumps({"invoke_roles": {INVOKE_ROLE: narrower}}))
    run = report("--expect", str(declared))
    assert run.status == ExitStatus.DRIFT == 3
    assert run.err.splitlines()[-5:] == [
        f"xacct access report: 4 difference(s) from {declared}:",
        f"  invoke role {world.invoke_role}: trusts {world.workload}, which is not declared",
        f"  invoke role {world.invoke_role}: declared principal arn:aws:iam::{world.consumer}:role/Gone is not trusted",
        f"  invoke role {world.invoke_role}: reaches ANY /{{proxy+}}, which is not declared",
        f"  invoke role {world.invoke_role}: cannot invoke declared route GET /items/{{id}}",
    ]
    (broader,) = [f for f in run.json["findings"] if f["kind"] == "broader_than_declared"]
    assert broader["principal"] == world.invoke_role
    assert "also reach ANY /{proxy+} (e.g. GET /example)" in broader["detail"]


def test_a_hand_added_admin_role_fails_expect(world: Deployed, report: Callable[..., Run], tmp_path: Path) -> None:
    declared = tmp_path / "consumer_config.json"
    declared.write_text(json.dumps(world.outputs["consumer_config"]))
    admin = world.role(world.provider, "AdminByHand", trust(f"arn:aws:iam::{world.provider}:root"))
    world.iam(world.provider).put_role_policy(RoleName="AdminByHand", PolicyName="All", PolicyDocument=allow("*", "*"))
    run = report("--expect", str(declared))
    assert run.status == ExitStatus.DRIFT == 3
    assert f"  direct caller {admin['Arn']}: may invoke the API with its own credentials, not declared" in run.err


# -- errors --------------------------------------------------------------------------------------------------


def test_bad_input_is_a_one_line_error(world: Deployed, report: Callable[..., Run], tmp_path: Path) -> None:
    missing = report("--api-id", "nosuchapi")  # the last --api-id wins
    assert missing.status == 2
    assert missing.err.splitlines()[-1] == (
        f"xacct access report: no HTTP API 'nosuchapi' in account {world.provider} region {REGION} "
        "(check --api-id, --region and --profile)"
    )
    bad = tmp_path / "declared.yaml"
    bad.write_text("invoke_roles:\n  ApiAllowByIamRoleStag: {}\n")
    run = report("--expect", str(bad))
    assert run.status == 2
    assert run.err.startswith(f"xacct access report: --expect {bad} is not JSON (")
    assert "YAML is not read, convert it to JSON" in run.err


def test_a_refused_read_names_the_missing_permission(world: Deployed) -> None:
    """The local AWS does not enforce IAM on its own control plane, so IAM's refusal is stubbed here: botocore's
    Stubber answers ListRoles with the AccessDenied error IAM returns (IAM API reference, "Common errors")."""
    session = world.aws.session(world.provider, REGION)
    reader = Reader(session, endpoint_url=world.aws.endpoint_url)
    api = reader.read_api(world.api_id)
    message = f"User: arn:aws:iam::{world.provider}:user/auditor is not authorized to perform: iam:ListRoles"
    bulk = message.replace("iam:ListRoles", "iam:GetAccountAuthorizationDetails")
    with Stubber(reader.iam) as stub:
        stub.add_client_error("get_account_authorization_details", "AccessDenied", bulk, 403)  # -> role by role
        stub.add_client_error("list_roles", "AccessDenied", message, 403)
        with pytest.raises(MissingPermission) as refused:
            reader.read_principals(lambda _: True)
    assert refused.value.permission == "iam:ListRoles"
    assert str(refused.value).startswith(f"arn:aws:iam::{world.provider}:root may not iam:ListRoles, which the report")
    assert api.routes[0].route_key == "ANY /{proxy+}"
    assert isinstance(session, boto3.Session)


# -- how policies are read: a boto3-built API (no Terraform) ---------------------------------------------------


@pytest.fixture(scope="module")
def items_api(local_aws: LocalAws, new_account: Callable[[], str]) -> Iterator[ApiStack]:
    """Routes ANY /{proxy+} and GET /items/{id}; invoke role ItemsReader allowed GET/items/* (what the module
    makes of an allowlist of GET /items/{id})."""
    stack = build_api(
        local_aws,
        new_account(),
        new_account(),
        "http://127.0.0.1:9",
        routes=("ANY /{proxy+}", "GET /items/{id}"),
        resources=("GET/items/*",),
        invoke_role="ItemsReader",
    )
    yield stack
    stack.destroy()


def _report(stack: ApiStack, declared: dict[str, Declared] | None = None) -> dict[str, Any]:
    made = access_report(
        stack.aws.session(stack.provider), stack.api_id, endpoint_url=stack.aws.endpoint_url, declared=declared
    )
    document: dict[str, Any] = made.to_json()
    jsonschema.validate(document, REPORT_SCHEMA)
    return document


def _via(document: dict[str, Any], route_key: str) -> set[tuple[str, str]]:
    return {(c["principal"], c["via"]) for c in _callers(document, route_key)}


def test_a_route_allowlist_reaches_the_greedy_route_through_deeper_paths(items_api: ApiStack) -> None:
    """IAM's * spans "/": GET/items/* allows GET /items/a/b, which the ANY /{proxy+} route serves (AWS: "Working
    with routes for HTTP APIs", route selection; "Control access to an HTTP API with IAM authorization")."""
    reader = (items_api.workload_role_arn, items_api.invoke_role_arn)
    plain = _report(items_api)
    assert reader in _via(plain, "GET /items/{id}")
    assert reader in _via(plain, "ANY /{proxy+}")
    assert not [f for f in plain["findings"] if f["kind"] == "broader_than_declared"]  # nothing declared
    declared = _report(items_api, {"ItemsReader": Declared(routes=("GET /items/{id}",))})
    (finding,) = [f for f in declared["findings"] if f["kind"] == "broader_than_declared"]
    assert finding == {
        "kind": "broader_than_declared",
        "principal": items_api.invoke_role_arn,
        "detail": "declared routes GET /items/{id}, but its policies also reach ANY /{proxy+} "
        "(e.g. GET /items/example/example)",
    }


def test_a_permissions_boundary_limits_the_routes_and_an_explicit_deny_wins(items_api: ApiStack) -> None:
    iam = items_api.aws.client("iam", items_api.provider)
    prefix = f"arn:aws:execute-api:{REGION}:{items_api.provider}:{items_api.api_id}/$default"
    boundary = iam.create_policy(PolicyName="OnlyPost", PolicyDocument=allow("execute-api:Invoke", f"{prefix}/POST/*"))
    iam.create_role(
        RoleName="Bounded",
        AssumeRolePolicyDocument=trust(items_api.workload_role_arn),
        PermissionsBoundary=boundary["Policy"]["Arn"],
    )
    iam.put_role_policy(RoleName="Bounded", PolicyName="All", PolicyDocument=allow("execute-api:Invoke", f"{prefix}/*"))
    iam.create_role(RoleName="Denied", AssumeRolePolicyDocument=trust(items_api.workload_role_arn))
    iam.put_role_policy(RoleName="Denied", PolicyName="All", PolicyDocument=allow("execute-api:Invoke", f"{prefix}/*"))
    deny = allow("execute-api:Invoke", f"{prefix}/GET/items/*", effect="Deny")
    iam.put_role_policy(RoleName="Denied", PolicyName="NoItems", PolicyDocument=deny)
    try:
        document = _report(items_api)
        bounded = (items_api.workload_role_arn, f"arn:aws:iam::{items_api.provider}:role/Bounded")
        denied = (items_api.workload_role_arn, f"arn:aws:iam::{items_api.provider}:role/Denied")
        assert bounded in _via(document, "ANY /{proxy+}")  # POST /example
        assert bounded not in _via(document, "GET /items/{id}")
        assert denied in _via(document, "ANY /{proxy+}")
        assert denied not in _via(document, "GET /items/{id}")
    finally:
        iam.delete_role_policy(RoleName="Denied", PolicyName="All")
        iam.delete_role_policy(RoleName="Denied", PolicyName="NoItems")
        iam.delete_role(RoleName="Denied")
        iam.delete_role_policy(RoleName="Bounded", PolicyName="All")
        iam.delete_role(RoleName="Bounded")
        iam.delete_policy(PolicyArn=boundary["Policy"]["Arn"])


def test_a_user_allowed_through_its_group_is_a_direct_caller(items_api: ApiStack) -> None:
    iam = items_api.aws.client("iam", items_api.provider)
    iam.create_user(UserName="ci-bot")
    iam.create_group(GroupName="callers")
    iam.add_user_to_group(GroupName="callers", UserName="ci-bot")
    iam.put_group_policy(GroupName="callers", PolicyName="Invoke", PolicyDocument=allow("execute-api:Invoke", "*"))
    try:
        document = _report(items_api)
        user = f"arn:aws:iam::{items_api.provider}:user/ci-bot"
        for route_key in ("ANY /{proxy+}", "GET /items/{id}"):
            assert (user, "direct") in _via(document, route_key)
        assert ("direct_caller", user) in _kinds(document)
        assert ("unused", user) not in _kinds(document)  # RoleLastUsed is a role's
    finally:
        iam.delete_group_policy(GroupName="callers", PolicyName="Invoke")
        iam.remove_user_from_group(GroupName="callers", UserName="ci-bot")
        iam.delete_group(GroupName="callers")
        iam.delete_user(UserName="ci-bot")


def test_an_external_id_is_shown_as_a_condition_not_a_finding(items_api: ApiStack) -> None:
    iam = items_api.aws.client("iam", items_api.provider)
    document = json.loads(trust(items_api.workload_role_arn))
    document["Statement"][0]["Condition"] = {"StringEquals": {"sts:ExternalId": "partner-7f3a"}}
    iam.create_role(RoleName="Partner", AssumeRolePolicyDocument=json.dumps(document))
    iam.put_role_policy(RoleName="Partner", PolicyName="Invoke", PolicyDocument=allow("execute-api:Invoke", "*"))
    try:
        made = access_report(
            items_api.aws.session(items_api.provider), items_api.api_id, endpoint_url=items_api.aws.endpoint_url
        )
        partner = f"arn:aws:iam::{items_api.provider}:role/Partner"
        caller = {
            "principal": items_api.workload_role_arn,
            "via": partner,
            "conditions": {"StringEquals": {"sts:ExternalId": "partner-7f3a"}},
        }
        assert caller in _callers(made.to_json())
        assert {f.kind for f in made.findings if f.principal == partner} == set()  # a new role is not "unused"
        assert 'sts:ExternalId StringEquals "partner-7f3a" (external id required)' in render.table(made)
    finally:
        iam.delete_role_policy(RoleName="Partner", PolicyName="Invoke")
        iam.delete_role(RoleName="Partner")


def test_a_route_without_iam_authorization_is_open_to_anyone(items_api: ApiStack) -> None:
    gateway = items_api.aws.client("apigatewayv2", items_api.provider)
    route = gateway.create_route(ApiId=items_api.api_id, RouteKey="GET /health", AuthorizationType="NONE")
    try:
        document = _report(items_api)
        assert _callers(document, "GET /health")[0] == {"principal": "*", "via": "direct", "conditions": {}}
    finally:
        gateway.delete_route(ApiId=items_api.api_id, RouteId=route["RouteId"])


def test_role_by_role_reads_what_the_bulk_read_gives(items_api: ApiStack) -> None:
    """Without iam:GetAccountAuthorizationDetails the report reads role by role: the same principals and policies."""
    iam = items_api.aws.client("iam", items_api.provider)
    managed = iam.create_policy(PolicyName="InvokeAll", PolicyDocument=allow("execute-api:Invoke", "*"))
    iam.create_role(RoleName="Attached", AssumeRolePolicyDocument=trust(items_api.workload_role_arn))
    iam.attach_role_policy(RoleName="Attached", PolicyArn=managed["Policy"]["Arn"])
    try:
        reader = Reader(items_api.aws.session(items_api.provider), endpoint_url=items_api.aws.endpoint_url)
        api = reader.read_api(items_api.api_id)
        bulk = reader.principals_in_bulk(may_reach(api))
        one_by_one = reader.principals_one_by_one(may_reach(api))
        assert sorted(p.arn for p in bulk) == sorted(
            [items_api.invoke_role_arn, f"arn:aws:iam::{items_api.provider}:role/Attached"]
        )
        for left, right in zip(sorted(bulk, key=lambda p: p.arn), sorted(one_by_one, key=lambda p: p.arn), strict=True):
            assert (left.arn, left.identity, left.trust, left.boundary, left.last_used) == (
                right.arn,
                right.identity,
                right.trust,
                right.boundary,
                right.last_used,
            )
    finally:
        iam.detach_role_policy(RoleName="Attached", PolicyArn=managed["Policy"]["Arn"])
        iam.delete_role(RoleName="Attached")
        iam.delete_policy(PolicyArn=managed["Policy"]["Arn"])


def test_the_scale_benchmark_runs() -> None:
    """benchmarks/access_report.py --quick: its figures are reported (docs/development.md), never asserted."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "access_report.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    saved = Path(result.stdout.strip().splitlines()[-1].removeprefix("results: "))
    figures = json.loads(saved.read_text())
    assert set(figures["seconds"]) == set(figures["role_by_role_seconds"]) == {"1", "5"}


def test_expect_reads_an_account_principal_limited_by_principal_arn_as_those_roles() -> None:
    """The trust that survives a consumer re-creating its role: the account as principal, the roles in
    ArnEquals aws:PrincipalArn. --expect compares the roles (no AWS needed: the comparison is pure)."""
    role = "arn:aws:iam::111111111111:role/ApiAllowByIamRoleStag"
    workload = "arn:aws:iam::222222222222:role/LambdaRoleDeve"
    conditions = {
        "ArnEquals": {"aws:PrincipalArn": [workload]},
        "StringLike": {"sts:RoleSessionName": "222222222222-*"},
    }
    made = Report(
        "a1b2c3d4e5",
        "$default",
        (RouteAccess("ANY /{proxy+}", (Caller(role, "arn:aws:iam::222222222222:root", conditions),)),),
        (),
    )
    declared = expect.parse({"invoke_roles": {"ApiAllowByIamRoleStag": {"trusted_principals": [workload]}}})
    assert expect.differences(made, declared, ["ANY /{proxy+}"]) == []
    other = expect.parse({"invoke_roles": {"ApiAllowByIamRoleStag": {"trusted_principals": [workload + "2"]}}})
    assert expect.differences(made, other, ["ANY /{proxy+}"]) == [
        f"invoke role {role}: trusts {workload}, which is not declared",
        f"invoke role {role}: declared principal {workload}2 is not trusted",
    ]


def test_the_trust_is_read_by_the_one_decision(items_api: ApiStack) -> None:
    """Issue 21: "Policy evaluation logic" through xacct.iam.decide. An Allow with NotAction sts:TagSession lets the
    consumer role assume the role (it used to be dropped, and the role called a direct caller trusting nobody else);
    a Deny naming the principal subtracts it; a Deny under a condition only a request carries is a finding."""
    iam = items_api.aws.client("iam", items_api.provider)
    consumer = items_api.workload_role_arn

    def trust_of(*statements: dict[str, Any]) -> str:
        return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})

    allow_not_tag = {"Effect": "Allow", "Principal": {"AWS": consumer}, "NotAction": "sts:TagSession"}
    deny = {"Sid": "NoConsumer", "Effect": "Deny", "Principal": {"AWS": consumer}, "Action": "sts:AssumeRole"}
    conditional = {**deny, "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}}
    roles = {
        "NotActionTrust": [allow_not_tag],
        "DeniedTrust": [allow_not_tag, deny],
        "IfTrust": [allow_not_tag, conditional],
    }
    for name, statements in roles.items():
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust_of(*statements))
        iam.put_role_policy(RoleName=name, PolicyName="Invoke", PolicyDocument=allow("execute-api:Invoke", "*"))
    try:
        document = _report(items_api)
        arn = {name: f"arn:aws:iam::{items_api.provider}:role/{name}" for name in roles}
        assert (consumer, arn["NotActionTrust"]) in _via(document, "ANY /{proxy+}")
        assert ("direct_caller", arn["NotActionTrust"]) not in _kinds(document)
        assert (consumer, arn["DeniedTrust"]) not in _via(document, "ANY /{proxy+}")
        assert (consumer, arn["IfTrust"]) in _via(document, "ANY /{proxy+}")
        notes = [f for f in document["findings"] if f["kind"] == "trust_not_decided"]
        assert [f["principal"] for f in notes] == [arn["IfTrust"]]
        assert "statement 'NoConsumer' denies" in notes[0]["detail"]
    finally:
        for name in roles:
            iam.delete_role_policy(RoleName=name, PolicyName="Invoke")
            iam.delete_role(RoleName=name)


def test_the_report_shows_each_callers_expiry_and_finds_ended_and_ending_grants(items_api: ApiStack) -> None:
    """Issue 22: a trust with aws:CurrentTime before an end (modules/provider_api's expires) - the caller carries its
    expiry, a grant that has ended is `expired`, one ending within 30 days `expiring`; --expect compares the end."""
    iam = items_api.aws.client("iam", items_api.provider)
    consumer = items_api.workload_role_arn
    soon = (datetime.now(timezone.utc) + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    ends = {"Ended": "2020-01-01T00:00:00Z", "Ending": soon, "Later": "2999-01-01T00:00:00Z"}
    for name, end in ends.items():
        statement = {
            "Effect": "Allow",
            "Principal": {"AWS": consumer},
            "Action": "sts:AssumeRole",
            "Condition": {"DateLessThan": {"aws:CurrentTime": end}},
        }
        iam.create_role(
            RoleName=name, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]})
        )
        iam.put_role_policy(RoleName=name, PolicyName="Invoke", PolicyDocument=allow("execute-api:Invoke", "*"))
    try:
        document = _report(items_api)
        arn = {name: f"arn:aws:iam::{items_api.provider}:role/{name}" for name in ends}
        by_via = {c["via"]: c for c in _callers(document) if c["via"] in arn.values()}
        assert {name: by_via[arn[name]]["expires"] for name in ends} == ends
        assert ("expired", arn["Ended"]) in _kinds(document)
        assert ("expiring", arn["Ending"]) in _kinds(document)
        assert not {k for k in _kinds(document) if k[1] == arn["Later"] and k[0] in ("expired", "expiring")}
        made = access_report(
            items_api.aws.session(items_api.provider), items_api.api_id, endpoint_url=items_api.aws.endpoint_url
        )
        declared = expect.parse(
            {
                "invoke_role_arns": {"Later": arn["Later"]},
                "allowed_routes": {"Later": ["*"]},
                "expires": {"Later": "2998-01-01T00:00:00Z"},
            }
        )
        lines = expect.differences(made, declared, [r.route_key for r in made.routes])
        assert (
            f"invoke role {arn['Later']}: its grant ends 2999-01-01T00:00:00Z, declared 2998-01-01T00:00:00Z" in lines
        )
    finally:
        for name in ends:
            iam.delete_role_policy(RoleName=name, PolicyName="Invoke")
            iam.delete_role(RoleName=name)


def test_unused_per_route_comes_from_the_access_log_when_it_can_be_read(items_api: ApiStack) -> None:
    """Issue 22: with the access log readable, `unused` says which allowed routes an invoke role's team has not
    called in 90 days (per team and route), instead of IAM's RoleLastUsed (an AssumeRole is not a call)."""
    reader = Reader(items_api.aws.session(items_api.provider), endpoint_url=items_api.aws.endpoint_url)
    api = reader.read_api(items_api.api_id, None)
    principals = reader.read_principals(may_reach(api))
    later = datetime.now(timezone.utc) + timedelta(days=200)  # every role is older than the 90 days by then
    role = items_api.invoke_role_arn

    def unused(calls: dict[tuple[str, str], datetime]) -> list[str]:
        made = build_report(api, principals, now=later, calls=calls)
        return [f.detail for f in made.findings if f.kind == "unused" and f.principal == role]

    assert unused({}) == [
        "never called in the last 90 days (access log), though allowed ANY /{proxy+}, GET /items/{id}"
    ]
    assert unused({("ItemsReader", "GET /items/{id}"): later}) == [
        "allowed but never called in the last 90 days (access log): ANY /{proxy+}"
    ]
    both = {("ItemsReader", "GET /items/{id}"): later, ("ItemsReader", "ANY /{proxy+}"): later}
    assert unused(both) == []
