"""Plan expectations as data, checked by one generic compare (after cloud-foundation-fabric's `plan_validator`).

An inventory is a JSON file (tests/scenarios/<target>/<name>.json) with up to three sections:

    "values":  {address: {attribute: value}}   every managed resource of the planned state (a fresh account:
                                               everything the plan creates), by full address
                                               (module.<name>. prefix included); the attributes listed
                                               must equal the planned ones (a subset match: see `compare`)
    "counts":  {resource type: n, "resources": n, "modules": n}
    "outputs": {output name: value}             subset match on what Terraform knows at plan time

and, for a module or env planned with variables, "vars" (its tfvars) and "description". How values match:
objects are subsets (a key not listed is not checked; the value "__missing__" means the key must be absent),
lists match in length and item by item, a JSON string in the plan (an IAM policy, an access-log format) is
parsed when the inventory gives an object or a list there, anything else must be equal.

What no data can say well stays in Python: `semantic_checks` (every route is AWS_IAM; a trust policy names
principals of one kind, never "*", on no condition but an external id; consumer roles may assume named roles
and nothing else; the gateway sets only the path and the verified caller on a request; consumer_config covers
exactly the invoke roles).
"""

from __future__ import annotations

import collections
import dataclasses
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
    unknown: dict[str, set[str]] = dataclasses.field(default_factory=dict)  # address -> attributes known at apply


def summarize(plan: Any) -> PlanSummary:
    """Managed resources of the planned state by full address, their counts by type, and the planned outputs.

    Outputs are what Terraform knows at plan time, as in `output_changes` (unknown parts left out, and an output
    that is wholly unknown until apply is not there at all).
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
    unknown = {
        change["address"]: {
            name for name, flag in (change["change"].get("after_unknown") or {}).items() if flag is True
        }
        for change in plan.get("resource_changes", [])
        if change.get("mode") == "managed"
    }
    outputs = {
        name: change.get("after")
        for name, change in plan.get("output_changes", {}).items()
        if change.get("after_unknown") is not True
    }
    return PlanSummary(values, dict(counts), outputs, unknown)


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

    "values" names every managed resource of the plan (no more, no fewer); "counts" gives each listed type
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
        assert name in summary.outputs, (
            f"outputs.{name}: unknown until apply, or no such output; known: {sorted(summary.outputs)}"
        )
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


# What the gateway may set on a request to the API server: the path, and the caller as the gateway verified it.
IDENTITY_HEADERS = {
    "overwrite:header.x-caller-arn": "$context.identity.userArn",
    "overwrite:header.x-caller-user-id": "$context.identity.user",
    "overwrite:header.x-route-key": "$context.routeKey",
}


def semantic_checks(summary: PlanSummary) -> None:
    """Rules every plan of this project keeps, whatever its inventory lists (an inventory's objects are subsets:
    these rules say what may not be there besides)."""
    for address, values in summary.values.items():
        kind, name = address.split("[")[0].rsplit(".", 2)[-2:]  # [module.<m>.]<type>.<name>[<key>]
        if kind == "aws_apigatewayv2_route":
            assert values["authorization_type"] == "AWS_IAM", f"{address}: a route without IAM authorization"
        elif kind == "aws_iam_role" and name == "invoke" and "assume_role_policy" in values:
            _check_invoke_trust(address, _statements(values["assume_role_policy"]))
        elif kind == "aws_iam_role" and "assume_role_policy" in values:
            for statement in _statements(values["assume_role_policy"]):
                _check_trust_statement(address, statement)
        elif kind == "aws_iam_role_policy" and name == "assume_provider_roles":
            # A consumer role may assume the named invoke roles, and do nothing else through this policy.
            for statement in _statements(values["policy"]):
                assert set(statement) <= {"Sid", "Effect", "Action", "Resource"}, f"{address}: {sorted(statement)}"
                assert (statement["Effect"], statement["Action"]) == ("Allow", "sts:AssumeRole"), address
                assert not any("*" in arn for arn in _strings(statement["Resource"])), f"{address}: a wildcard"
        elif kind == "aws_apigatewayv2_integration":
            _check_integration(summary, address, values)
    _check_consumer_config(summary)


def _check_integration(summary: PlanSummary, address: str, values: dict[str, Any]) -> None:
    """The gateway sets the path, the verified caller and (over the internet) the origin secret, nothing else."""
    sealed = values.get("integration_type") == "HTTP_PROXY" and values.get("connection_type") == "INTERNET"
    module = address.rsplit("aws_apigatewayv2_integration.", 1)[0]
    parameters = values.get("request_parameters")
    if sealed:
        # The origin secret is generated at apply, so the mapping that carries it is known only then.
        assert f"{module}terraform_data.origin_secret[0]" in summary.values, f"{address}: no origin secret generated"
        assert "request_parameters" in summary.unknown.get(address, set()) or (
            isinstance(parameters, dict) and any(not v.startswith("$") for v in parameters.values())
        ), f"{address}: an internet integration without the origin secret header: {parameters}"
    if not isinstance(parameters, dict):
        return
    for header, value in parameters.items():
        want = IDENTITY_HEADERS.get(header)
        static = sealed and header.startswith("overwrite:header.") and not value.startswith("$")  # the secret
        assert header == "overwrite:path" or want is not None or static, f"{address}: {header}"
        assert want is None or value == want, f"{address}: {header} = {value!r}, not the verified caller"


def _check_trust_statement(address: str, statement: dict[str, Any]) -> None:
    """Allow sts:AssumeRole to principals of one kind, named without "*", on no condition but an external id."""
    assert set(statement) <= {"Sid", "Effect", "Principal", "Action", "Condition"}, f"{address}: {sorted(statement)}"
    assert (statement["Effect"], statement["Action"]) == ("Allow", "sts:AssumeRole"), address
    principal = statement["Principal"]
    assert isinstance(principal, dict), f"{address}: principal {principal!r}"
    assert len(principal) == 1, f"{address}: principals of several kinds {sorted(principal)}"
    names = _strings(principal)
    assert names, f"{address}: a trust statement without a principal"
    assert not any("*" in p for p in names), f"{address}: a wildcard principal {names}"
    condition = statement.get("Condition")
    if "Service" in principal and condition is not None:
        # A workload role's service trust: bound to this account (confused deputy prevention), nothing else.
        assert set(condition) == {"StringEquals"}, f"{address}: condition {condition}"
        assert set(condition["StringEquals"]) == {"aws:SourceAccount"}, f"{address}: condition {condition}"
        return
    if condition is not None:
        assert set(condition) == {"StringEquals"}, f"{address}: condition {condition}"
        assert set(condition["StringEquals"]) == {"sts:ExternalId"}, f"{address}: condition {condition}"
        assert isinstance(condition["StringEquals"]["sts:ExternalId"], str), f"{address}: condition {condition}"


def _check_invoke_trust(address: str, statements: list[dict[str, Any]]) -> None:
    """An invoke role: one statement naming its consumer roles, each session name bound to the caller's own account
    (``StringLike sts:RoleSessionName = ${aws:PrincipalAccount}-*``, which IAM resolves per caller)."""
    assert len(statements) == 1, f"{address}: {len(statements)} trust statements, expected one for every consumer"
    (statement,) = statements
    condition = dict(statement.get("Condition") or {})
    like = condition.pop("StringLike", None)
    by_arn = condition.pop("ArnEquals", None)  # trust_by_principal_arn: the accounts, their roles by aws:PrincipalArn
    _check_trust_statement(address, {**statement, "Condition": condition or None})
    principals = _strings(statement["Principal"])
    if by_arn is not None:
        accounts = {p.split(":")[4] for p in principals}
        assert all(p.endswith(":root") and p.count(":") == 5 for p in principals), f"{address}: {principals}"
        assert set(by_arn) == {"aws:PrincipalArn"}, f"{address}: condition {by_arn}"
        roles = _strings(by_arn)
        assert not any("*" in r for r in roles), f"{address}: a wildcard aws:PrincipalArn {roles}"
        assert {r.split(":")[4] for r in roles} == accounts, f"{address}: roles of other accounts than {accounts}"
    assert like == {"sts:RoleSessionName": "${aws:PrincipalAccount}-*"}, (
        f"{address}: session names not bound to the caller's account: {like}"
    )


def _check_consumer_config(summary: PlanSummary) -> None:
    """consumer_config speaks of exactly the invoke roles the plan creates."""
    config = summary.outputs.get("consumer_config")
    if not isinstance(config, dict):
        return
    roles = {
        address.split('["', 1)[1].rstrip('"]')
        for address in summary.values
        if address.split("[")[0].endswith("aws_iam_role.invoke")
    }
    for key in ("allowed_routes", "external_id_required", "trusted_principals", "role_session_name_prefix"):
        if key in config:
            assert set(config[key]) == roles, f"outputs.consumer_config.{key}: {sorted(config[key])}, roles {roles}"
    _check_consumer_configs(summary)


def _check_consumer_configs(summary: PlanSummary) -> None:
    """consumer_configs: what each consumer team is sent names no other consumer account."""
    configs = summary.outputs.get("consumer_configs")
    if not isinstance(configs, dict):
        return
    for account, entry in configs.items():
        others = [other for other in configs if other != account and other in json.dumps(entry)]
        assert others == [], f"outputs.consumer_configs[{account!r}] names other consumer accounts {others}"


def load_scenario(target: str, name: str) -> dict[str, Any]:
    """tests/scenarios/<target>/<name>.json: an inventory, with the "vars" a module or env is planned with."""
    scenario: dict[str, Any] = json.loads((SCENARIOS / target / f"{name}.json").read_text())
    return scenario


def scenario_names(target: str) -> list[str]:
    return sorted(p.stem for p in (SCENARIOS / target).glob("*.json"))


# -- planning many roots at once ------------------------------------------------------------------------------
#
# Most of a `terraform plan` goes into starting the AWS provider, and `terraform show -json` starts it again. So
# the scenarios of one account are planned together: a generated root (batches/<account>/main.tf.json) calls
# each scenario's folder as a module with the scenario's variables, and `case_plan` cuts the plan back into one
# plan per scenario, shaped as if the folder had been planned alone (addresses without the module.<case>. prefix,
# the folder's outputs as output_changes). Envs and examples keep their own provider blocks as called modules.


@dataclass(frozen=True)
class PlanCase:
    """One scenario in a batch: ``folder`` (relative to the tree) planned with ``values``."""

    target: str  # tests/scenarios/<target>, or "readme"
    name: str
    folder: str
    values: dict[str, Any]
    existing_roles: tuple[str, ...] = ()  # IAM roles the scenario expects in its account before the plan

    @property
    def key(self) -> str:
        return case_key(self.target, self.name)


def case_key(target: str, name: str) -> str:
    """The module call of scenario ``target``/``name`` in its batch (module.<key>)."""
    return f"{target}__{name}"


def _literal(value: Any) -> Any:
    """A value for a .tf.json file, where strings are templates: "${" and "%{" are escaped to stay literal."""
    if isinstance(value, str):
        return value.replace("${", "$${").replace("%{", "%%{")
    if isinstance(value, dict):
        return {key: _literal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_literal(item) for item in value]
    return value


def batch_root(folder: Path, cases: list[PlanCase]) -> Path:
    """``folder``/main.tf.json calling every case's folder (relative to the tree above ``folder``) as a module.

    Each case's outputs come out whole, as one sensitive output named after the case (some are sensitive)."""
    folder.mkdir(parents=True, exist_ok=True)
    tree = folder.parents[1]
    modules = {
        case.key: {"source": f"../../{case.folder}", **_literal(case.values)}
        for case in cases
        if (tree / case.folder).is_dir()
    }
    missing = [case.folder for case in cases if case.key not in modules]
    assert not missing, f"no such folders in {tree}: {missing}"
    config = {
        "terraform": {"required_providers": {"aws": {"source": "hashicorp/aws"}}},
        "provider": {"aws": {}},
        "module": modules,
        "output": {key: {"value": f"${{module.{key}}}", "sensitive": True} for key in modules},
    }
    (folder / "main.tf.json").write_text(json.dumps(config, indent=2))
    return folder


def _rebase(node: Any, prefix: str) -> Any:
    """``node`` (a module of planned_values, or a resource change) with ``prefix`` cut from every address."""
    if isinstance(node, dict):
        out = {key: _rebase(value, prefix) for key, value in node.items()}
        address = node.get("address")
        if isinstance(address, str) and address.startswith(prefix):
            out["address"] = address[len(prefix) :]
        return out
    if isinstance(node, list):
        return [_rebase(item, prefix) for item in node]
    return node


def case_plan(plan: dict[str, Any], key: str) -> dict[str, Any]:
    """The part of a batch's plan that is case ``key``, shaped as the plan of its folder alone (see summarize)."""
    call = f"module.{key}"
    children = plan["planned_values"]["root_module"].get("child_modules", [])
    (module,) = [child for child in children if child.get("address") == call] or [{"address": call}]
    root = _rebase({k: v for k, v in module.items() if k != "address"}, f"{call}.")
    changes = [_rebase(c, f"{call}.") for c in plan.get("resource_changes", []) if c["address"].startswith(f"{call}.")]
    change = plan.get("output_changes", {}).get(key, {})
    after, unknown = change.get("after") or {}, change.get("after_unknown")
    unknown = unknown if isinstance(unknown, dict) else dict.fromkeys(after, bool(unknown))
    outputs = {
        name: {"after": after.get(name), "after_unknown": unknown.get(name, False)} for name in {*after, *unknown}
    }
    return {"planned_values": {"root_module": root}, "resource_changes": changes, "output_changes": outputs}
