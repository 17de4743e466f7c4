"""Consumers as reviewed data (issue 22): one file per consumer team in envs/stag/consumers/, planned with the real
AWS provider against the local AWS. A file is a grant; a wrong file fails the plan naming the file, the field and
what was expected; no file and no invoke_roles plans an API nobody can call, and a check says so."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from xacct.consumers import read_folder
from xacct.local import LocalAws
from xacct.local import terraform as tfrun
from xacct.local.terraform import Workspace

from conftest import CONSUMER, PROVIDER

ROUTES = ["ANY /{proxy+}", "GET /items/{id}"]
VARS = {"api_server_url": "https://api.internal.stag.foo.example.com", "routes": ROUTES}
TEAM_B = f"""# Team B's grant, reviewed in a pull request.
account_id: "{CONSUMER}"
role_arns:
  - arn:aws:iam::{CONSUMER}:role/LambdaRoleDeve
routes:
  - GET /items/{{id}}
expires: 2999-01-01
contact: team-b@example.com
reason: reads items for the nightly report
"""


TEAM_C = {
    "account_id": CONSUMER,
    "role_arns": [f"arn:aws:iam::{CONSUMER}:role/BatchRoleDeve"],
    "routes": ["*"],
    "contact": "team-c@example.com",
    "reason": "batch imports",
}


@pytest.fixture
def stag(fresh_tree: Path, local_aws: LocalAws, provider_hosts: tfrun.ProviderHosts) -> Workspace:
    return Workspace(fresh_tree / "envs" / "stag", local_aws.env(PROVIDER), provider_hosts)


def consumer_file(ws: Workspace, name: str, text: str) -> None:
    folder = ws.folder / "consumers"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text)


def planned(plan: dict[str, Any], address: str) -> dict[str, Any]:
    found: dict[str, Any] = next(c["change"]["after"] for c in plan["resource_changes"] if c["address"] == address)
    return found


def test_a_team_is_a_file(stag: Workspace) -> None:
    consumer_file(stag, "team-b.yaml", TEAM_B)
    plan = stag.plan(VARS)
    trust = json.loads(planned(plan, 'module.api.aws_iam_role.invoke["team-b"]')["assume_role_policy"])
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"AWS": [f"arn:aws:iam::{CONSUMER}:role/LambdaRoleDeve"]}
    # YAML reads an unquoted date as that day's start: the grant ends then, in the trust and in the invoke policy.
    assert statement["Condition"]["DateLessThan"] == {"aws:CurrentTime": "2999-01-01T00:00:00Z"}
    roles = [
        c["address"] for c in plan["resource_changes"] if c["address"].startswith("module.api.aws_iam_role.invoke")
    ]
    assert roles == ['module.api.aws_iam_role.invoke["team-b"]']  # no file, no grant: nothing else


def test_a_wrong_file_fails_at_plan_naming_the_file_the_field_and_what_was_expected(stag: Workspace) -> None:
    consumer_file(stag, "team-b.yaml", TEAM_B)
    consumer_file(stag, "team-b.json", json.dumps({"account_id": CONSUMER}))  # the same team twice
    consumer_file(stag, "typo.yaml", TEAM_B.replace("routes:", "route:"))
    consumer_file(stag, "elsewhere.yaml", TEAM_B.replace("GET /items/{id}", "DELETE /items/{id}"))
    consumer_file(stag, "ended.yaml", TEAM_B.replace("2999-01-01", "2020-01-01"))
    consumer_file(stag, "zero.yaml", TEAM_B.replace(f'"{CONSUMER}"', "012345678901"))
    consumer_file(
        stag, "foreign.yaml", TEAM_B.replace(f"arn:aws:iam::{CONSUMER}:role", "arn:aws:iam::333333333333:role")
    )
    consumer_file(stag, "notarn.yaml", TEAM_B.replace(f"arn:aws:iam::{CONSUMER}:role/LambdaRoleDeve", "LambdaRoleDeve"))
    errors = stag.plan_failure(VARS)
    # xacct consumers validate finds the same, offline, in the same words (the pre-commit hook and CI).
    offline = read_folder(stag.folder / "consumers", routes=ROUTES).problems
    assert len(offline) >= 9, offline
    for problem in offline:
        assert problem in errors, (problem, errors)
    expected = [
        "team-b.json and team-b.yaml are the same team (team-b)",
        'typo.yaml: unknown field "route"',
        'typo.yaml: field "routes" is missing',
        'elsewhere.yaml: route "DELETE /items/{id}" is not a route of this API',
        "ended.yaml: expires 2020-01-01T00:00:00Z has passed",
        "zero.yaml: account_id must be 12 digits, quoted",
        f"foreign.yaml: role_arns entry arn:aws:iam::333333333333:role/LambdaRoleDeve is not in account_id {CONSUMER}",
        "notarn.yaml: role_arns must be a non-empty list of IAM role ARNs",
    ]
    for fragment in expected:
        assert fragment in errors, (fragment, errors)


def test_no_file_and_no_invoke_roles_plans_an_api_nobody_can_call(stag: Workspace) -> None:
    plan = stag.plan(VARS)
    assert not [c for c in plan["resource_changes"] if "aws_iam_role.invoke" in c["address"]]
    checks = {c["address"]["to_display"]: c["status"] for c in plan.get("checks", [])}
    assert checks["module.api.check.someone_can_call"] == "fail"
