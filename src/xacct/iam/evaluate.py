"""Statements and decisions: Action/NotAction, Resource/NotResource, Condition, Deny beats Allow, boundaries.

"Policy evaluation logic": an applicable Deny in any policy wins; otherwise an applicable Allow allows;
otherwise the request is implicitly denied. A permissions boundary and a session policy limit the identity
policies: the request must be allowed by each of them ("the effective permissions are the intersection").

Principal and NotPrincipal (resource-based policies such as trust policies) are matched by the caller, which
passes ``only=`` to :func:`evaluate` to keep the statements that name its principal.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from enum import Enum
from functools import lru_cache
from typing import Any

from xacct.iam.conditions import holds
from xacct.iam.variables import VARIABLES_VERSION, Unresolved
from xacct.iam.wildcards import as_list, like, matches

Statement = dict[str, Any]
ContextValues = Mapping[str, str | list[str]]


class Decision(Enum):
    ALLOW = "allow"
    EXPLICIT_DENY = "explicit deny"
    IMPLICIT_DENY = "implicit deny"


def _statements_of(doc: Mapping[str, Any]) -> tuple[bool, list[Statement]]:
    found = doc.get("Statement", [])
    return doc.get("Version") == VARIABLES_VERSION, [found] if isinstance(found, dict) else list(found)


@lru_cache(maxsize=2048)
def _parsed(text: str) -> tuple[bool, list[Statement]]:
    return _statements_of(json.loads(text))


def document_statements(document: str | Mapping[str, Any]) -> tuple[bool, list[Statement]]:
    """(does the document's Version allow policy variables?, its statements). Parsed JSON is cached."""
    return _parsed(document) if isinstance(document, str) else _statements_of(document)


def statements(document: str | Mapping[str, Any]) -> list[Statement]:
    return list(document_statements(document)[1])


def _resource_matches(patterns: Any, resource: str, context: ContextValues | None) -> bool:
    return any(like(str(p), resource, context) for p in as_list(patterns))


def applies_lowered(statement: Statement, action: str, resource: str, lowered: ContextValues, variables: bool) -> bool:
    """``applies`` for a context already keyed lower-case (``lower_keys``): for callers that ask many statements."""
    if "NotAction" in statement:
        if matches(statement["NotAction"], action, ignore_case=True):
            return False
    elif "Action" not in statement or not matches(statement["Action"], action, ignore_case=True):
        return False
    substitute = lowered if variables else None
    try:
        if "NotResource" in statement:
            if _resource_matches(statement["NotResource"], resource, substitute):
                return False
        elif "Resource" in statement and not _resource_matches(statement["Resource"], resource, substitute):
            return False
        conditions = statement.get("Condition")
        if not conditions:
            return True
        result = holds(conditions, lowered, variables=variables)
    except Unresolved:
        # "If AWS cannot resolve a variable, this might cause the entire statement to be invalid."
        return False
    if result is None:  # an operator we do not know: fail closed
        return statement.get("Effect") == "Deny"
    return result


def applies(
    statement: Statement,
    action: str,
    resource: str,
    context: ContextValues,
    *,
    variables: bool = True,
) -> bool:
    """Does this statement speak to (action, resource) under these request conditions?"""
    return applies_lowered(statement, action, resource, lower_keys(context), variables)


def evaluate(
    documents: Iterable[str | Mapping[str, Any]],
    action: str,
    resource: str,
    context: ContextValues | None = None,
    *,
    only: Callable[[Statement], bool] | None = None,
) -> Decision:
    """AWS's rule within a set of policies: an applicable Deny wins, else any applicable Allow allows."""
    return _evaluate(documents, action, resource, lower_keys(context), only)


def lower_keys(context: ContextValues | None) -> ContextValues:
    """The request context keyed lower-case (condition keys are case-insensitive), made once per request."""
    return {k.lower(): v for k, v in context.items()} if context else {}


def _evaluate(
    documents: Iterable[str | Mapping[str, Any]],
    action: str,
    resource: str,
    lowered: ContextValues,
    only: Callable[[Statement], bool] | None = None,
) -> Decision:
    allowed = False
    for document in documents:
        variables, found = document_statements(document)
        for statement in found:
            if only is not None and not only(statement):
                continue
            if applies_lowered(statement, action, resource, lowered, variables):
                if statement.get("Effect") == "Deny":
                    return Decision.EXPLICIT_DENY
                allowed = allowed or statement.get("Effect") == "Allow"
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY


def combine(*decisions: Decision) -> Decision:
    """Policy types that must all allow (identity, boundary, session policy): a Deny in one wins."""
    if Decision.EXPLICIT_DENY in decisions:
        return Decision.EXPLICIT_DENY
    return Decision.ALLOW if all(d is Decision.ALLOW for d in decisions) else Decision.IMPLICIT_DENY


def identity_decision(
    identity: Iterable[str],
    boundary: str | None,
    session_policy: str | None,
    action: str,
    resource: str,
    context: ContextValues | None = None,
) -> Decision:
    """Identity policies, limited by the permissions boundary and the session policy when there are any."""
    lowered = lower_keys(context)
    decisions = [_evaluate(identity, action, resource, lowered)]
    if boundary is not None:
        decisions.append(_evaluate([boundary], action, resource, lowered))
    if session_policy is not None:
        decisions.append(_evaluate([session_policy], action, resource, lowered))
    return combine(*decisions)
