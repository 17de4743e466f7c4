"""The IAM policy engine (pure Python, no moto): one evaluator for the local AWS and the access report.

It replaces moto's ``IAMPolicyStatement`` (whose matching is private API and too permissive):

- wildcards: only ``*`` (any run of characters, ``/`` included) and ``?`` (one character) are special, so
  ``$default`` or ``.`` in an ARN are literal; actions match case-insensitively, resources case-sensitively;
- conditions: ``StringEquals`` is evaluated (the one operator moto implements, so the one the local AWS has
  always evaluated); a condition key absent from the request fails it, as in AWS;
- any other condition operator fails closed: an Allow with it does not apply, a Deny does;
- ``Deny`` beats ``Allow`` across all statements and documents (explicit deny wins).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from enum import Enum
from functools import lru_cache
from typing import Any

Statement = dict[str, Any]


class Decision(Enum):
    ALLOW = "allow"
    EXPLICIT_DENY = "explicit deny"
    IMPLICIT_DENY = "implicit deny"


@lru_cache(maxsize=1024)
def _wildcard(pattern: str, *, ignore_case: bool) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{regex}$", re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def matches(patterns: Any, value: str, *, ignore_case: bool = False) -> bool:
    """Does ``value`` match one of ``patterns`` (a string or a list), IAM wildcards ``*`` and ``?``?"""
    return any(_wildcard(str(p), ignore_case=ignore_case).match(value) for p in _as_list(patterns))


def statements(document: str | Mapping[str, Any]) -> list[Statement]:
    doc = json.loads(document) if isinstance(document, str) else document
    found = doc.get("Statement", [])
    return [found] if isinstance(found, dict) else list(found)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def string_equals(expected: Any, actual: str) -> bool:
    """``StringEquals``: the request's value is the condition's value, or one of its values (case-sensitive)."""
    if isinstance(expected, str):
        return actual == expected
    if isinstance(expected, list):
        return actual in expected
    return False


OPERATORS: dict[str, Callable[[Any, str], bool]] = {"StringEquals": string_equals}


def conditions_hold(statement: Statement, context: Mapping[str, str]) -> bool | None:
    """True/False when the operators are ones we evaluate; None at the first one we do not (fail closed).

    Blocks are read in order: an operator we do not evaluate gives None, a block naming a key the request
    lacks gives False (whichever comes first); then every key of every block must satisfy its operator.
    Condition keys are case-insensitive.
    """
    conditions = statement.get("Condition")
    if not conditions:
        return True
    lowered = {key.lower(): value for key, value in context.items()}
    for operator, entries in conditions.items():
        if operator not in OPERATORS:
            return None
        if any(key.lower() not in lowered for key in entries):
            return False
    return all(
        OPERATORS[operator](expected, lowered[key.lower()])
        for operator, entries in conditions.items()
        for key, expected in entries.items()
    )


def applies(statement: Statement, action: str, resource: str, context: Mapping[str, str]) -> bool:
    """Does this statement speak to (action, resource) under these request conditions?"""
    if "NotAction" in statement:
        if matches(statement["NotAction"], action, ignore_case=True):
            return False
    elif "Action" not in statement or not matches(statement["Action"], action, ignore_case=True):
        return False
    if "NotResource" in statement:
        if matches(statement["NotResource"], resource):
            return False
    elif "Resource" in statement and not matches(statement["Resource"], resource):
        return False
    holds = conditions_hold(statement, context)
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
