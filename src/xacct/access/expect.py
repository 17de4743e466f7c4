"""``--expect FILE``: what Terraform declared, and the differences between it and what IAM allows.

JSON only (PyYAML is not a dependency of the client). Accepted shapes:

- ``terraform output -json consumer_config`` of envs/stag (or modules/provider_api): ``invoke_role_arns``,
  ``allowed_routes`` and, when the module lists them, ``trusted_principals`` (or ``trusted_role_arns``), each a
  map keyed by invoke role name;
- ``terraform output -json`` (all outputs): its ``consumer_config`` output is used;
- a small file: ``{"invoke_roles": {"<name or ARN>": {"trusted_principals": [...], "allowed_routes": [...]}},
  "direct_callers": [...]}``, each field optional (an absent field is not compared).

Direct callers are differences unless listed in ``direct_callers``: a role or user allowed to invoke the API
with its own credentials is exactly the principal added outside Terraform that this check is for.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xacct.access.analysis import NOT_DECLARED, Declared
from xacct.access.errors import ExpectFileError
from xacct.access.model import DIRECT, Report

_PRINCIPAL_KEYS = ("trusted_principals", "trusted_role_arns")


@dataclass(frozen=True)
class Expectation:
    invoke_roles: dict[str, Declared]
    direct_callers: frozenset[str]


def load(path: str | Path) -> Expectation:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ExpectFileError(f"--expect {path}: {error.strerror or error}") from None
    try:
        data = json.loads(text)
    except ValueError as error:
        raise ExpectFileError(f"--expect {path} is not JSON ({error}); YAML is not read, convert it to JSON") from None
    return parse(data, str(path))


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ExpectFileError(f"{where} must be a list of strings, got {json.dumps(value)[:80]}")
    return list(value)


def parse(data: Any, source: str = "--expect") -> Expectation:
    if isinstance(data, dict) and isinstance(data.get("consumer_config"), dict) and "value" in data["consumer_config"]:
        data = data["consumer_config"]["value"]  # terraform output -json (all outputs)
    if not isinstance(data, dict):
        raise ExpectFileError(f"{source}: expected a JSON object, got {type(data).__name__}")
    if "invoke_role_arns" in data:
        return _from_consumer_config(data, source)
    if "invoke_roles" in data:
        roles = data["invoke_roles"]
        if not isinstance(roles, dict):
            raise ExpectFileError(f"{source}: invoke_roles must be an object keyed by invoke role name or ARN")
        declared: dict[str, Declared] = {}
        for name, entry in roles.items():
            if not isinstance(entry, dict):
                raise ExpectFileError(f"{source}: invoke_roles.{name} must be an object")
            principals = next((entry[k] for k in _PRINCIPAL_KEYS if k in entry), None)
            routes = entry.get("allowed_routes")
            declared[name] = Declared(
                arn=name if name.startswith("arn:") else None,
                principals=None
                if principals is None
                else frozenset(_strings(principals, f"{source}: invoke_roles.{name}.trusted_principals")),
                routes=None
                if routes is None
                else tuple(_strings(routes, f"{source}: invoke_roles.{name}.allowed_routes")),
            )
        direct = _strings(data.get("direct_callers", []), f"{source}: direct_callers")
        return Expectation(declared, frozenset(direct))
    raise ExpectFileError(
        f'{source}: neither a consumer_config (invoke_role_arns, allowed_routes) nor {{"invoke_roles": ...}}; '
        f"its keys: {', '.join(sorted(data)) or 'none'}"
    )


def _from_consumer_config(data: Mapping[str, Any], source: str) -> Expectation:
    arns = data["invoke_role_arns"]
    routes = data.get("allowed_routes", {})
    ends = data.get("expires")
    if ends is not None and not isinstance(ends, dict):
        raise ExpectFileError(f"{source}: expires must be an object (invoke role => its end, or null)")
    principals: Any = next((data[k] for k in _PRINCIPAL_KEYS if k in data), {})
    if not isinstance(arns, dict) or not isinstance(routes, dict) or not isinstance(principals, dict):
        raise ExpectFileError(f"{source}: invoke_role_arns, allowed_routes and trusted_principals must be objects")
    declared = {
        name: Declared(
            arn=arn,
            principals=frozenset(_strings(principals[name], f"{source}: trusted_principals.{name}"))
            if name in principals
            else None,
            routes=tuple(_strings(routes[name], f"{source}: allowed_routes.{name}")) if name in routes else None,
            expires=ends.get(name, NOT_DECLARED) if ends is not None else NOT_DECLARED,
        )
        for name, arn in arns.items()
    }
    return Expectation(declared, frozenset())


_PRINCIPAL_ARN_OPERATORS = ("ArnEquals", "ArnLike", "StringEquals", "StringLike")


def admitted(principal: str, conditions: Mapping[str, Any]) -> set[str]:
    """The principals a trust entry admits, as Terraform declares them: an account principal limited by
    ``aws:PrincipalArn`` (the opt-in that survives a consumer re-creating its role) admits those ARNs."""
    if principal.endswith(":root"):
        arns: set[str] = set()
        for operator in _PRINCIPAL_ARN_OPERATORS:
            for key, value in conditions.get(operator, {}).items():
                if key.lower() == "aws:principalarn":
                    arns |= set(value if isinstance(value, list) else [value])
        if arns:
            return arns
    return {principal}


def _role_key(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def differences(report: Report, expected: Expectation, all_routes: list[str]) -> list[str]:
    """Every difference between the report and the expectation, one readable line each (empty: as declared)."""
    actual_principals: dict[str, set[str]] = {}
    actual_routes: dict[str, set[str]] = {}
    actual_ends: dict[str, str] = {}
    direct: set[str] = set()
    for route in report.routes:
        for caller in route.callers:
            if caller.via == DIRECT:
                direct.add(caller.principal)
                continue
            actual_principals.setdefault(caller.via, set()).update(admitted(caller.principal, caller.conditions))
            if caller.expires is not None:
                actual_ends[caller.via] = caller.expires
            actual_routes.setdefault(caller.via, set()).add(route.route_key)
    by_key: dict[str, str] = {}
    for arn in actual_principals:
        by_key[arn] = arn
        by_key.setdefault(_role_key(arn), arn)
    lines: list[str] = []
    seen: set[str] = set()
    for name, declared in sorted(expected.invoke_roles.items()):
        found = by_key.get(declared.arn or "") or by_key.get(name) or by_key.get(_role_key(name))
        if found is None:
            lines.append(f"invoke role {declared.arn or name}: declared, but it can invoke no route of the API")
            continue
        arn = found
        seen.add(arn)
        if declared.principals is not None:
            extra = sorted(actual_principals[arn] - declared.principals)
            missing = sorted(declared.principals - actual_principals[arn])
            lines += [f"invoke role {arn}: trusts {p}, which is not declared" for p in extra]
            lines += [f"invoke role {arn}: declared principal {p} is not trusted" for p in missing]
        if declared.routes is not None:
            want = set(all_routes) if "*" in declared.routes else set(declared.routes)
            have = actual_routes[arn]
            lines += [f"invoke role {arn}: reaches {r}, which is not declared" for r in sorted(have - want)]
            lines += [f"invoke role {arn}: cannot invoke declared route {r}" for r in sorted(want - have)]
        if declared.expires != NOT_DECLARED and actual_ends.get(arn) != declared.expires:
            lines.append(
                f"invoke role {arn}: its grant ends {actual_ends.get(arn) or 'never'}, declared "
                f"{declared.expires or 'never'}"
            )
    for arn in sorted(set(actual_principals) - seen):
        lines.append(
            f"invoke role {arn}: not declared, yet it can invoke {', '.join(sorted(actual_routes[arn]))} "
            f"for {', '.join(sorted(actual_principals[arn]))}"
        )
    lines += [
        f"direct caller {p}: may invoke the API with its own credentials, not declared"
        for p in sorted(direct - expected.direct_callers)
    ]
    return lines
