"""xacct.iam basics: IAM wildcards, StringEquals, deny wins, boundaries (the AWS-page cases are in test_iam_*.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from xacct.iam import Decision, conditions_hold, evaluate, identity_decision, matches

API = "arn:aws:execute-api:ap-northeast-1:111111111111:abcdefgh"


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def stmt(effect: str = "Allow", action: str | list[str] = "execute-api:Invoke", **rest: Any) -> dict[str, Any]:
    return {"Effect": effect, "Action": action, **rest}


@pytest.mark.parametrize(
    ("pattern", "resource", "decision"),
    [
        (f"{API}/$default/*/*", f"{API}/$default/GET/hoge", Decision.ALLOW),
        (f"{API}/$default/GET/hoge", f"{API}/$default/GET/hoge", Decision.ALLOW),
        (f"{API}/$default/*/*", f"{API}/v1/GET/hoge", Decision.IMPLICIT_DENY),
        (f"{API}/$default/GET/items/*", f"{API}/$default/GET/items/7", Decision.ALLOW),
        (f"{API}/$default/GET/items/*", f"{API}/$default/PUT/items/7", Decision.IMPLICIT_DENY),
        # "." and "+" are literal in ARNs, not regex operators
        ("arn:aws:execute-api:ap-northeast-1:111111111111:a.c/*", f"{API}/$default/GET/x", Decision.IMPLICIT_DENY),
        (f"{API}/$default/GET/a+b", f"{API}/$default/GET/aab", Decision.IMPLICIT_DENY),
        # ? is one character
        (f"{API}/$default/GET/item?", f"{API}/$default/GET/items", Decision.ALLOW),
        (f"{API}/$default/GET/item?", f"{API}/$default/GET/item", Decision.IMPLICIT_DENY),
    ],
)
def test_resource_wildcards_are_iam_wildcards(pattern: str, resource: str, decision: Decision) -> None:
    assert evaluate([doc(stmt(Resource=pattern))], "execute-api:Invoke", resource) is decision


def test_explicit_deny_wins_across_documents() -> None:
    documents = [doc(stmt(Resource="*")), doc(stmt("Deny", Resource=f"{API}/*/DELETE/*"))]
    assert evaluate(documents, "execute-api:Invoke", f"{API}/$default/GET/x") is Decision.ALLOW
    assert evaluate(documents, "execute-api:Invoke", f"{API}/$default/DELETE/x") is Decision.EXPLICIT_DENY


def test_actions_match_case_insensitively_and_by_wildcard() -> None:
    assert evaluate([doc(stmt(action="Execute-API:*", Resource="*"))], "execute-api:Invoke", API) is Decision.ALLOW
    assert evaluate([doc(stmt(action="sts:*", Resource="*"))], "execute-api:Invoke", API) is Decision.IMPLICIT_DENY


def test_not_action_and_not_resource() -> None:
    not_action = doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
    assert evaluate([not_action], "execute-api:Invoke", API) is Decision.ALLOW
    assert evaluate([not_action], "iam:CreateRole", API) is Decision.IMPLICIT_DENY
    not_resource = doc({"Effect": "Allow", "Action": "execute-api:Invoke", "NotResource": f"{API}/*/DELETE/*"})
    assert evaluate([not_resource], "execute-api:Invoke", f"{API}/$default/DELETE/x") is Decision.IMPLICIT_DENY


def test_a_condition_key_missing_from_the_request_fails_string_equals() -> None:
    with_external_id = doc(stmt(action="sts:AssumeRole", Condition={"StringEquals": {"sts:ExternalId": "abc"}}))
    assert evaluate([with_external_id], "sts:AssumeRole", "r", {}) is Decision.IMPLICIT_DENY
    assert evaluate([with_external_id], "sts:AssumeRole", "r", {"sts:ExternalId": "xyz"}) is Decision.IMPLICIT_DENY
    assert evaluate([with_external_id], "sts:AssumeRole", "r", {"sts:externalid": "abc"}) is Decision.ALLOW


def test_string_like_is_evaluated_as_aws_does() -> None:
    """ "IAM JSON policy elements: Condition operators": StringLike, wildcards anywhere (it used to fail closed)."""
    condition = {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/Ops*"}}
    allow = [doc(stmt(Resource="*", Condition=condition))]
    assert (
        evaluate(allow, "execute-api:Invoke", API, {"aws:PrincipalArn": "arn:aws:iam::1:role/Ops1"}) is Decision.ALLOW
    )
    assert evaluate(allow, "execute-api:Invoke", API, {"aws:PrincipalArn": "arn:aws:iam::1:role/Dev"}) is (
        Decision.IMPLICIT_DENY
    )
    documents = [doc(stmt(Resource="*")), doc(stmt("Deny", Resource="*", Condition=condition))]
    assert evaluate(documents, "execute-api:Invoke", API) is Decision.ALLOW  # key absent: the Deny does not apply


def test_an_operator_iam_does_not_define_fails_closed() -> None:
    condition = {"StringSortOf": {"aws:PrincipalArn": "arn:aws:iam::*:role/Ops*"}}
    assert evaluate([doc(stmt(Resource="*", Condition=condition))], "execute-api:Invoke", API) is Decision.IMPLICIT_DENY
    documents = [doc(stmt(Resource="*")), doc(stmt("Deny", Resource="*", Condition=condition))]
    assert evaluate(documents, "execute-api:Invoke", API) is Decision.EXPLICIT_DENY


def test_boundary_and_session_policy_limit_identity_policies() -> None:
    identity = [doc(stmt(Resource="*"))]
    boundary = doc(stmt(Resource=f"{API}/*/GET/*"))
    assert identity_decision(identity, boundary, None, "execute-api:Invoke", f"{API}/$default/GET/x") is Decision.ALLOW
    assert (
        identity_decision(identity, boundary, None, "execute-api:Invoke", f"{API}/$default/PUT/x")
        is Decision.IMPLICIT_DENY
    )
    session = doc(stmt(Resource=f"{API}/*/PUT/*"))
    assert (
        identity_decision(identity, None, session, "execute-api:Invoke", f"{API}/$default/GET/x")
        is Decision.IMPLICIT_DENY
    )


@pytest.mark.parametrize(
    ("expected", "actual", "holds"),
    [
        ("abc", "abc", True),
        ("abc", "ABC", False),  # values are case-sensitive
        (["x", "abc"], "abc", True),
        (["x", "y"], "abc", False),
        (123, "123", True),  # a JSON number in a policy is compared as its text
    ],
)
def test_string_equals(expected: Any, actual: str, holds: bool) -> None:
    statement = {"Condition": {"StringEquals": {"sts:ExternalId": expected}}}
    assert conditions_hold(statement, {"sts:ExternalId": actual}) is holds


def test_every_key_of_every_block_must_hold() -> None:
    statement = {"Condition": {"StringEquals": {"sts:ExternalId": "abc", "aws:SourceAccount": ["1", "2"]}}}
    assert conditions_hold(statement, {"sts:ExternalId": "abc", "aws:SourceAccount": "2"}) is True
    assert conditions_hold(statement, {"sts:ExternalId": "abc", "aws:SourceAccount": "3"}) is False
    assert conditions_hold(statement, {"sts:ExternalId": "abc"}) is False
    assert conditions_hold({"Condition": {}}, {}) is True
    assert conditions_hold({}, {}) is True


def test_an_unknown_operator_anywhere_gives_none() -> None:
    unknown = {"StringSortOf": {"aws:PrincipalArn": "arn:aws:iam::*:role/Ops*"}}
    missing_key = {"StringEquals": {"sts:ExternalId": "abc"}}
    assert conditions_hold({"Condition": unknown}, {"aws:PrincipalArn": "x"}) is None
    assert conditions_hold({"Condition": {**unknown, **missing_key}}, {}) is None
    assert conditions_hold({"Condition": {**missing_key, **unknown}}, {}) is None


@pytest.mark.parametrize(
    ("patterns", "value", "ignore_case", "result"),
    [
        ("a*", "a/b/c", False, True),  # * spans /
        (["x", "a?c"], "abc", False, True),
        ("a?c", "ac", False, False),
        ("ABC", "abc", False, False),
        ("ABC", "abc", True, True),
        ("a.c", "abc", False, False),
        ("a\\d", "a1", False, False),  # regex syntax is literal
    ],
)
def test_matches(patterns: Any, value: str, ignore_case: bool, result: bool) -> None:
    assert matches(patterns, value, ignore_case=ignore_case) is result
