"""Plan expectations as data, checked by one generic compare (after cloud-foundation-fabric's `plan_validator`).

An inventory is a JSON file (tests/scenarios/<target>/<name>.json) with up to three sections:

    "values":  {address: {attribute: value}}   every resource the plan creates, by full address
                                               (module.<name>. prefix included); the attributes listed
                                               must equal the planned ones (a subset match: see `compare`)
    "counts":  {resource type: n, "resources": n, "modules": n}
    "outputs": {output name: value}             subset match on what Terraform knows at plan time

and, for a module or env planned with variables, "vars" (its tfvars) and "description". How values match:
objects are subsets (a key not listed is not checked; the value "__missing__" means the key must be absent),
lists match in length and item by item, a JSON string in the plan (an IAM policy, an access-log format) is
parsed when the inventory gives an object or a list there, anything else must be equal.

What no data can say well stays in Python: `semantic_checks` (every route is AWS_IAM, trust policies never
name "*", consumer roles may assume named roles and nothing else).
"""

from __future__ import annotations

import collections
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCENARIOS = Path(__file__).resolve().parent / "scenarios"
MISSING = "__missing__"


@dataclass
class PlanSummary:
    """What a plan says, in the inventory's shape (see the module docstring)."""

    values: dict[str, dict[str, Any]]
    counts: dict[str, int]
    outputs: dict[str, Any]


def summarize(plan: Any) -> PlanSummary:
    """Managed resources of the planned state by full address, their counts by type, and the planned outputs.

    Output values are what Terraform knows at plan time (unknown parts left out), as in `output_changes`.
    """
    values: dict[str, dict[str, Any]] = {}
    counts: dict[str, int] = collections.defaultdict(int)
    counts["modules"] = counts["resources"] = 0
    queue = collections.deque([plan["planned_values"]["root_module"]])
    while queue:
        module = queue.popleft()
        for resource in module.get("resources", []):
            if resource["mode"] == "managed":
                values[resource["address"]] = resource["values"]
                counts[resource["type"]] += 1
                counts["resources"] += 1
        for child in module.get("child_modules", []):
            counts["modules"] += 1
            queue.append(child)
    outputs = {name: change.get("after") for name, change in plan.get("output_changes", {}).items()}
    return PlanSummary(values, dict(counts), outputs)


def compare(expected: Any, actual: Any, where: str = "") -> None:
    """Assert that ``actual`` (from the plan) matches ``expected`` (from an inventory); see the module docstring."""
    if isinstance(expected, (dict, list)) and isinstance(actual, str):
        try:
            actual = json.loads(actual)
        except ValueError:
            raise AssertionError(f"{where}: expected a JSON document, the plan has {actual!r}") from None
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected an object, the plan has {actual!r}"
        for key, value in expected.items():
            if value == MISSING:
                assert key not in actual, f"{where}.{key}: expected absent, the plan has {actual[key]!r}"
                continue
            assert key in actual, f"{where}.{key}: not in the plan (unknown until apply?); it has {sorted(actual)}"
            compare(value, actual[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{where}: expected a list, the plan has {actual!r}"
        assert len(actual) == len(expected), f"{where}: expected {len(expected)} items {expected!r}, got {actual!r}"
        for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
            compare(want, got, f"{where}[{index}]")
    else:
        assert actual == expected, f"{where}: expected {expected!r}, the plan has {actual!r}"


def check_inventory(summary: PlanSummary, inventory: dict[str, Any]) -> None:
    """The one generic compare: the plan ``summary`` against an inventory's values, counts and outputs.

    "values" names every resource the plan creates (no more, no fewer); "counts" gives each listed type
    (0 = none of that type); "outputs" are matched like values.
    """
    if "values" in inventory:
        expected = inventory["values"]
        extra = sorted(set(summary.values) - set(expected))
        absent = sorted(set(expected) - set(summary.values))
        assert not extra, f"resources planned but not in the inventory: {extra}"
        assert not absent, f"resources in the inventory but not planned: {absent}"
        for address, attributes in expected.items():
            compare(attributes, summary.values[address], address)
    for kind, count in inventory.get("counts", {}).items():
        got = summary.counts.get(kind, 0)
        assert got == count, f"counts.{kind}: expected {count}, the plan has {got} (all counts: {summary.counts})"
    for name, value in inventory.get("outputs", {}).items():
        assert name in summary.outputs, f"outputs.{name}: no such output; the plan has {sorted(summary.outputs)}"
        compare(value, summary.outputs[name], f"outputs.{name}")


# -- what stays in Python -------------------------------------------------------------------------------------


def _statements(document: str) -> list[dict[str, Any]]:
    statements = json.loads(document)["Statement"]
    return statements if isinstance(statements, list) else [statements]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def semantic_checks(summary: PlanSummary) -> None:
    """Rules every plan of this project keeps, whatever its inventory says."""
    for address, values in summary.values.items():
        kind, name = address.split("[")[0].rsplit(".", 2)[-2:]  # [module.<m>.]<type>.<name>[<key>]
        if kind == "aws_apigatewayv2_route":
            assert values["authorization_type"] == "AWS_IAM", f"{address}: a route without IAM authorization"
        if kind == "aws_iam_role" and "assume_role_policy" in values:
            for statement in _statements(values["assume_role_policy"]):
                principals = _strings(statement.get("Principal", {}))
                assert principals, f"{address}: a trust statement without a principal"
                assert not any("*" in p for p in principals), f"{address}: a wildcard principal {principals}"
                assert "NotPrincipal" not in statement, f"{address}: NotPrincipal in a trust policy"
                assert (statement["Effect"], statement["Action"]) == ("Allow", "sts:AssumeRole"), address
        if kind == "aws_iam_role_policy" and name == "assume_provider_roles":
            # A consumer role may assume the named invoke roles, and do nothing else through this policy.
            for statement in _statements(values["policy"]):
                assert set(statement) <= {"Sid", "Effect", "Action", "Resource"}, f"{address}: {sorted(statement)}"
                assert (statement["Effect"], statement["Action"]) == ("Allow", "sts:AssumeRole"), address
                assert not any("*" in arn for arn in _strings(statement["Resource"])), f"{address}: a wildcard"


def load_scenario(target: str, name: str) -> dict[str, Any]:
    """tests/scenarios/<target>/<name>.json: an inventory, with the "vars" a module or env is planned with."""
    scenario: dict[str, Any] = json.loads((SCENARIOS / target / f"{name}.json").read_text())
    return scenario


def scenario_names(target: str) -> list[str]:
    return sorted(p.stem for p in (SCENARIOS / target).glob("*.json"))
