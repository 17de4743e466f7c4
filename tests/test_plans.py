"""Plan checks: each module and env over the scenarios in tests/scenarios (tfvars + expected values)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from xacct.local import LocalAws
from xacct.local.stacks import trust
from xacct.local.terraform import Workspace

from conftest import CONSUMER, PROVIDER
from helpers import check_consumer_role, check_provider_api, load_scenario, scenario_names

TARGETS: dict[str, tuple[str, str, Callable[[Any, Any], None]]] = {
    "provider_api": ("modules/provider_api", PROVIDER, check_provider_api),
    "envs_stag": ("envs/stag", PROVIDER, check_provider_api),
    "consumer_role": ("modules/consumer_role", CONSUMER, check_consumer_role),
    "envs_deve": ("envs/deve", CONSUMER, check_consumer_role),
}
CASES = [(target, name) for target in TARGETS for name in scenario_names(target)]


def test_every_target_has_scenarios() -> None:
    assert {target for target, _ in CASES} == set(TARGETS)
    assert len(scenario_names("provider_api")) >= 5


@pytest.mark.parametrize(("target", "name"), CASES, ids=[f"{t}-{n}" for t, n in CASES])
def test_plan_scenario(
    target: str, name: str, workspaces: Callable[[str, str], Workspace], local_aws: LocalAws
) -> None:
    folder, account, check = TARGETS[target]
    scenario = load_scenario(target, name)
    iam = local_aws.client("iam", account)
    for role in scenario.get("existing_roles", []):
        if role not in {r["RoleName"] for r in iam.list_roles()["Roles"]}:
            iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust(service=True))
    plan = workspaces(folder, account).plan(scenario["vars"])
    check(plan, scenario["expect"])
