"""Policy evaluation on moto's evaluator, with AWS's semantics where moto's differ.

Matching of actions, resources and conditions is moto's (``moto.iam.access_control.IAMPolicyStatement``).
Four corrections, each a known gap of moto's evaluator that would make the local AWS too permissive:

- wildcards: moto turns a pattern into a regex without escaping it, so ``$default`` or ``.`` in an ARN
  misbehave; here only ``*`` and ``?`` are special;
- a condition key absent from the request (no ``sts:ExternalId`` sent) fails ``StringEquals``, as in AWS;
  moto treats it as satisfied;
- a condition operator moto does not implement fails closed: an Allow with it does not apply, a Deny does;
- ``Deny`` beats ``Allow`` across all statements and documents (explicit deny wins), and actions match
  case-insensitively.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from enum import Enum
from typing import Any

from moto.iam.access_control import IAMPolicyStatement
from moto.iam.policy_conditions import CONDITION_OPERATIONS

Statement = dict[str, Any]


class Decision(Enum):
    ALLOW = "allow"
    EXPLICIT_DENY = "explicit deny"
    IMPLICIT_DENY = "implicit deny"


class _Statement(IAMPolicyStatement):
    @staticmethod
    def _match(pattern: str, string: str) -> re.Match[str] | None:
        regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
        return re.match(f"^{regex}$", string, re.DOTALL)


def statements(document: str | Mapping[str, Any]) -> list[Statement]:
    doc = json.loads(document) if isinstance(document, str) else document
    found = doc.get("Statement", [])
    return [found] if isinstance(found, dict) else list(found)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _conditions_hold(statement: Statement, context: Mapping[str, str]) -> bool | None:
    """True/False per moto's operators; None when an operator is one moto cannot evaluate."""
    conditions = statement.get("Condition")
    if not conditions:
        return True
    lowered = {key.lower(): value for key, value in context.items()}
    normalized: dict[str, dict[str, Any]] = {}
    for operator, entries in conditions.items():
        if operator not in CONDITION_OPERATIONS:
            return None
        normalized[operator] = {key.lower(): value for key, value in entries.items()}
        if any(key not in lowered for key in normalized[operator]):
            return False
    holds: bool = _Statement({"Condition": normalized})._check_conditions(lowered)
    return holds


def applies(statement: Statement, action: str, resource: str, context: Mapping[str, str]) -> bool:
    """Does this statement speak to (action, resource) under these request conditions?"""
    normalized = dict(statement)
    for key in ("Action", "NotAction"):
        if key in normalized:
            normalized[key] = [str(a).lower() for a in _as_list(normalized[key])]
    matcher = _Statement(normalized)
    action = action.lower()
    if "NotAction" in normalized:
        if matcher._check_element_matches("NotAction", action):
            return False
    elif "Action" not in normalized or not matcher._check_element_matches("Action", action):
        return False
    if "NotResource" in normalized:
        if matcher._check_element_matches("NotResource", resource):
            return False
    elif "Resource" in normalized and not matcher._check_element_matches("Resource", resource):
        return False
    holds = _conditions_hold(statement, context)
    if holds is None:  # fail closed
        return statement.get("Effect") == "Deny"
    return holds


def evaluate(
    documents: Iterable[str | Mapping[str, Any]],
    action: str,
    resource: str,
    context: Mapping[str, str] | None = None,
    *,
    only: Callable[[Statement], bool] | None = None,
) -> Decision:
    """AWS's rule within a set of policies: an applicable Deny wins, else any applicable Allow allows."""
    allowed = False
    for document in documents:
        for statement in statements(document):
            if only is not None and not only(statement):
                continue
            if applies(statement, action, resource, context or {}):
                if statement.get("Effect") == "Deny":
                    return Decision.EXPLICIT_DENY
                allowed = allowed or statement.get("Effect") == "Allow"
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY


def identity_decision(
    identity: Iterable[str],
    boundary: str | None,
    session_policy: str | None,
    action: str,
    resource: str,
    context: Mapping[str, str] | None = None,
) -> Decision:
    """Identity policies, limited by the permissions boundary and the session policy when there are any."""
    decisions = [evaluate(identity, action, resource, context)]
    if boundary is not None:
        decisions.append(evaluate([boundary], action, resource, context))
    if session_policy is not None:
        decisions.append(evaluate([session_policy], action, resource, context))
    if Decision.EXPLICIT_DENY in decisions:
        return Decision.EXPLICIT_DENY
    return Decision.ALLOW if all(d is Decision.ALLOW for d in decisions) else Decision.IMPLICIT_DENY
