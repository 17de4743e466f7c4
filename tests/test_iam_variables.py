"""xacct.iam policy variables, case by case from "IAM policy elements: Variables and tags" (VARIABLES).

Also "IAM JSON policy elements: Condition operators" (OPERATORS), which says with which operators a policy variable
may be used, and "Single-valued vs. multivalued context keys" (MULTIVALUED).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from xacct.iam import Decision, evaluate

BUCKET = "arn:aws:s3:::mybucket"


def policy(*statements: dict[str, Any], version: str | None = "2012-10-17") -> str:
    doc: dict[str, Any] = {"Statement": list(statements)}
    if version is not None:
        doc["Version"] = version
    return json.dumps(doc)


HOME = policy(
    {
        "Action": ["s3:ListBucket"],
        "Effect": "Allow",
        "Resource": [BUCKET],
        "Condition": {"StringLike": {"s3:prefix": ["${aws:username}/*"]}},
    },
    {"Action": ["s3:GetObject", "s3:PutObject"], "Effect": "Allow", "Resource": [f"{BUCKET}/${{aws:username}}/*"]},
)


def test_home_directory_example() -> None:
    """VARIABLES, "Introduction": ${aws:username} in Resource and in a StringLike condition gives each user their
    own prefix of mybucket."""
    david = {"aws:username": "David"}
    assert evaluate([HOME], "s3:GetObject", f"{BUCKET}/David/notes.txt", david) is Decision.ALLOW
    assert evaluate([HOME], "s3:GetObject", f"{BUCKET}/Adele/notes.txt", david) is Decision.IMPLICIT_DENY
    assert evaluate([HOME], "s3:ListBucket", BUCKET, {**david, "s3:prefix": "David/2026"}) is Decision.ALLOW
    assert evaluate([HOME], "s3:ListBucket", BUCKET, {**david, "s3:prefix": "Adele/"}) is Decision.IMPLICIT_DENY


@pytest.mark.parametrize("version", [None, "2008-10-17"])
def test_variables_are_literal_without_version_2012_10_17(version: str | None) -> None:
    """VARIABLES, note on Version: "If you don't include the Version element and set it to an appropriate version
    date, variables like ${aws:username} are treated as literal strings in the policy"."""
    old = policy(
        {"Action": "s3:GetObject", "Effect": "Allow", "Resource": f"{BUCKET}/${{aws:username}}/*"}, version=version
    )
    david = {"aws:username": "David"}
    assert evaluate([old], "s3:GetObject", f"{BUCKET}/David/x", david) is Decision.IMPLICIT_DENY
    assert evaluate([old], "s3:GetObject", f"{BUCKET}/${{aws:username}}/x", david) is Decision.ALLOW


def test_key_names_in_variables_are_case_insensitive() -> None:
    """VARIABLES: "Key names are case-insensitive. For example, aws:CurrentTime is equivalent to AWS:currenttime"."""
    doc = policy({"Action": "s3:GetObject", "Effect": "Allow", "Resource": f"{BUCKET}/${{AWS:UserName}}/*"})
    assert evaluate([doc], "s3:GetObject", f"{BUCKET}/David/x", {"aws:username": "David"}) is Decision.ALLOW


def test_principal_tag_in_resource() -> None:
    """VARIABLES, "Tags as policy variables" / "Resource element": arn:aws:s3:::bucket/${aws:PrincipalTag/department}
    refers only to the bucket named as the requesting user's department tag."""
    doc = policy(
        {"Action": "s3:*", "Effect": "Allow", "Resource": ["arn:aws:s3:::bucket/${aws:PrincipalTag/department}"]}
    )
    context = {"aws:PrincipalTag/department": "hr"}
    assert evaluate([doc], "s3:ListBucket", "arn:aws:s3:::bucket/hr", context) is Decision.ALLOW
    assert evaluate([doc], "s3:ListBucket", "arn:aws:s3:::bucket/it", context) is Decision.IMPLICIT_DENY


def test_variables_in_string_and_arn_conditions() -> None:
    """VARIABLES, "Condition element": a policy variable in the values of string and ARN operators (the SNS endpoint
    example: the URL must end with the user's name); ${aws:PrincipalAccount} in an ArnLike."""
    sns = policy(
        {
            "Effect": "Allow",
            "Action": "sns:*",
            "Resource": "*",
            "Condition": {
                "StringLike": {"sns:endpoint": "https://example.com/${aws:username}/"},
                "StringEquals": {"sns:Protocol": "https"},
            },
        }
    )
    context = {"aws:username": "david", "sns:Protocol": "https"}
    assert evaluate([sns], "sns:Subscribe", "t", {**context, "sns:endpoint": "https://example.com/david/"}) is (
        Decision.ALLOW
    )
    assert evaluate([sns], "sns:Subscribe", "t", {**context, "sns:endpoint": "https://example.com/eve/"}) is (
        Decision.IMPLICIT_DENY
    )
    own_account = policy(
        {
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": "*",
            "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:lambda:*:${aws:PrincipalAccount}:function:*"}},
        }
    )
    mine = {"aws:PrincipalAccount": "111122223333", "aws:SourceArn": "arn:aws:lambda:us-east-1:111122223333:function:f"}
    assert evaluate([own_account], "sts:AssumeRole", "r", mine) is Decision.ALLOW
    theirs = {**mine, "aws:PrincipalAccount": "444455556666"}
    assert evaluate([own_account], "sts:AssumeRole", "r", theirs) is Decision.IMPLICIT_DENY


def test_no_variables_in_numeric_date_ip_binary_null() -> None:
    """OPERATORS: "You can not use a policy variable with the Numeric / Date / IpAddress / Binary / Null condition
    operator": the text stays literal there, so it never matches a number, a date or an address."""
    doc = policy(
        {
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": "*",
            "Condition": {"NumericLessThanEquals": {"s3:max-keys": "${aws:PrincipalTag/limit}"}},
        }
    )
    context = {"aws:PrincipalTag/limit": "10", "s3:max-keys": "5"}
    assert evaluate([doc], "s3:ListBucket", BUCKET, context) is Decision.IMPLICIT_DENY


@pytest.mark.parametrize(
    ("pattern", "value", "decision"),
    [
        ("report${*}", "report*", Decision.ALLOW),  # ${*}: a literal asterisk
        ("report${*}", "report1", Decision.IMPLICIT_DENY),
        ("report${?}", "report?", Decision.ALLOW),
        ("report${?}", "reportX", Decision.IMPLICIT_DENY),
        ("cost${$}", "cost$", Decision.ALLOW),
        ("${$}{aws:username}", "${aws:username}", Decision.ALLOW),  # a literal "${" via ${$}
    ],
)
def test_special_characters(pattern: str, value: str, decision: Decision) -> None:
    """VARIABLES, "Special characters": ${*}, ${?} and ${$} stand for the characters themselves, not wildcards."""
    doc = policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{BUCKET}/{pattern}"})
    assert evaluate([doc], "s3:GetObject", f"{BUCKET}/{value}", {"aws:username": "david"}) is decision


def test_default_values() -> None:
    """VARIABLES, "Specifying default values": ${aws:userid, 'anonymous'} is 'anonymous' when the key is absent."""
    doc = policy(
        {
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:Resource": "arn:aws:s3:::/bucket/${aws:userid, 'anonymous'}"}},
        }
    )
    anonymous = {"aws:Resource": "arn:aws:s3:::/bucket/anonymous"}
    assert evaluate([doc], "s3:GetObject", "x", anonymous) is Decision.ALLOW
    assert evaluate([doc], "s3:GetObject", "x", {**anonymous, "aws:userid": "AIDA1"}) is Decision.IMPLICIT_DENY
    named = {"aws:Resource": "arn:aws:s3:::/bucket/AIDA1", "aws:userid": "AIDA1"}
    assert evaluate([doc], "s3:GetObject", "x", named) is Decision.ALLOW


@pytest.mark.parametrize("effect", ["Allow", "Deny"])
def test_a_variable_without_a_value_makes_the_statement_not_match(effect: str) -> None:
    """VARIABLES: "If AWS cannot resolve a variable, this might cause the entire statement to be invalid"
    (aws:TokenIssueTime exists only with temporary credentials). In a Resource or a positive condition, the
    statement then neither allows nor denies."""
    doc = policy(
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
        {"Effect": effect, "Action": "s3:*", "Resource": f"{BUCKET}/${{aws:username}}/*"},
    )
    assert evaluate([doc], "s3:GetObject", f"{BUCKET}/David/x", {}) is Decision.ALLOW
    in_condition = policy(
        {
            "Effect": "Allow",
            "Action": "s3:*",
            "Resource": "*",
            "Condition": {"StringNotEquals": {"s3:prefix": "${aws:username}"}},
        }
    )
    # VARIABLES, "Policy variables with no value": a variable with no value equals and is like nothing, so the
    # negated operators match it (issue 20: the statement used to be dropped, so such a Deny never applied).
    assert evaluate([in_condition], "s3:ListBucket", BUCKET, {"s3:prefix": "x"}) is Decision.ALLOW
    positive = in_condition.replace("StringNotEquals", "StringEquals")
    assert evaluate([positive], "s3:ListBucket", BUCKET, {"s3:prefix": "x"}) is Decision.IMPLICIT_DENY


@pytest.mark.parametrize("operator", ["StringNotEquals", "StringNotLike", "ArnNotEquals", "ArnNotLike"])
def test_a_deny_with_a_negated_operator_applies_to_a_variable_without_a_value(operator: str) -> None:
    """VARIABLES, "Policy variables with no value": "Deny unless the caller's tag equals the resource's" also denies
    a caller without the tag (aws:PrincipalTag/team has no value), as the page's negated operators do."""
    doc = policy(
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
        {
            "Effect": "Deny",
            "Action": "s3:*",
            "Resource": "*",
            "Condition": {operator: {"aws:PrincipalArn": "arn:aws:iam::1:role/${aws:PrincipalTag/team}"}},
        },
    )
    context = {"aws:PrincipalArn": "arn:aws:iam::1:role/blue"}
    assert evaluate([doc], "s3:GetObject", BUCKET, context) is Decision.EXPLICIT_DENY
    tagged = {**context, "aws:PrincipalTag/team": "blue"}
    assert evaluate([doc], "s3:GetObject", BUCKET, tagged) is Decision.ALLOW


def test_a_multivalued_key_is_no_policy_variable() -> None:
    """MULTIVALUED, key points: "you can't use multivalued context keys as policy variables"."""
    doc = policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{BUCKET}/${{aws:TagKeys}}"})
    assert evaluate([doc], "s3:GetObject", f"{BUCKET}/a", {"aws:TagKeys": ["a"]}) is Decision.IMPLICIT_DENY
