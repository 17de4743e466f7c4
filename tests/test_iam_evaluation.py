"""xacct.iam statement matching and decisions, case by case from AWS's IAM User Guide (each test names its page).

Pages:
- NOTACTION: "IAM JSON policy elements: NotAction"
- NOTRESOURCE: "IAM JSON policy elements: NotResource"
- ACTION: "IAM JSON policy elements: Action" (action names are case-insensitive)
- EVALUATION: "Policy evaluation logic" and "How AWS enforcement code logic evaluates requests to allow or deny
  access" (explicit deny wins; identity-based policies within a permissions boundary and a session policy)
- BOUNDARIES: "Permissions boundaries for IAM entities" (effective permissions are the intersection)
"""

from __future__ import annotations

import json
from typing import Any

from xacct.iam import Decision, combine, evaluate, identity_decision


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def test_not_action_allow_everything_but_iam() -> None:
    """NOTACTION: {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"} allows every action of every service
    except IAM's."""
    doc = policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
    assert evaluate([doc], "s3:GetObject", "arn:aws:s3:::b/k") is Decision.ALLOW
    assert evaluate([doc], "iam:CreateUser", "arn:aws:iam::111122223333:user/x") is Decision.IMPLICIT_DENY


def test_not_action_deny_without_mfa() -> None:
    """NOTACTION: Deny NotAction iam:* with BoolIfExists aws:MultiFactorAuthPresent false denies everything but IAM
    without MFA (and when the key is absent, because of IfExists)."""
    documents = [
        policy({"Effect": "Allow", "Action": "*", "Resource": "*"}),
        policy(
            {
                "Sid": "DenyAllUsersNotUsingMFA",
                "Effect": "Deny",
                "NotAction": "iam:*",
                "Resource": "*",
                "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
            }
        ),
    ]
    assert evaluate(documents, "s3:GetObject", "x", {}) is Decision.EXPLICIT_DENY
    assert evaluate(documents, "s3:GetObject", "x", {"aws:MultiFactorAuthPresent": "false"}) is Decision.EXPLICIT_DENY
    assert evaluate(documents, "s3:GetObject", "x", {"aws:MultiFactorAuthPresent": "true"}) is Decision.ALLOW
    assert evaluate(documents, "iam:ListUsers", "x", {}) is Decision.ALLOW


def test_not_resource_hr_payroll_example() -> None:
    """NOTRESOURCE: the HRPayroll Deny with NotResource [HRBucket/Payroll, HRBucket/Payroll/*] denies every other S3
    resource, and allows nothing by itself."""
    deny = policy(
        {
            "Effect": "Deny",
            "Action": "s3:*",
            "NotResource": ["arn:aws:s3:::HRBucket/Payroll", "arn:aws:s3:::HRBucket/Payroll/*"],
        }
    )
    allow_all = policy({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    assert evaluate([deny], "s3:GetObject", "arn:aws:s3:::HRBucket/Payroll/a") is Decision.IMPLICIT_DENY
    assert evaluate([allow_all, deny], "s3:GetObject", "arn:aws:s3:::HRBucket/Payroll/a") is Decision.ALLOW
    assert evaluate([allow_all, deny], "s3:GetObject", "arn:aws:s3:::HRBucket/Other") is Decision.EXPLICIT_DENY
    assert evaluate([allow_all, deny], "ec2:RunInstances", "arn:aws:s3:::HRBucket/Other") is Decision.ALLOW


def test_action_names_are_case_insensitive() -> None:
    """ACTION: "action names are not case-sensitive" ("s3:GetObject" and "S3:getobject" are the same)."""
    doc = policy({"Effect": "Allow", "Action": "S3:getobject", "Resource": "*"})
    assert evaluate([doc], "s3:GetObject", "x") is Decision.ALLOW


def test_explicit_deny_beats_allow_implicit_deny_by_default() -> None:
    """EVALUATION: "By default, all requests are implicitly denied"; "An explicit deny overrides an explicit
    allow"."""
    allow = policy({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    deny = policy({"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"})
    assert evaluate([], "s3:GetObject", "x") is Decision.IMPLICIT_DENY
    assert evaluate([allow, deny], "s3:GetObject", "x") is Decision.ALLOW
    assert evaluate([allow, deny], "s3:DeleteObject", "x") is Decision.EXPLICIT_DENY
    assert evaluate([deny, allow], "s3:DeleteObject", "x") is Decision.EXPLICIT_DENY


def test_boundary_is_an_intersection() -> None:
    """BOUNDARIES: "An entity's permissions boundary allows it to perform only the actions that are allowed by both
    its identity-based policies and its permissions boundaries" (the ShirleyRodriguez example: the identity policy
    allows iam:* and the boundary s3/cloudwatch/ec2, so IAM is not allowed)."""
    identity = [policy({"Effect": "Allow", "Action": "iam:*", "Resource": "*"})]
    boundary = policy(
        {"Effect": "Allow", "Action": ["s3:*", "cloudwatch:*", "ec2:*"], "Resource": "*"},
    )
    assert identity_decision(identity, boundary, None, "iam:CreateUser", "x") is Decision.IMPLICIT_DENY
    assert identity_decision(identity, boundary, None, "s3:GetObject", "x") is Decision.IMPLICIT_DENY
    wide = [policy({"Effect": "Allow", "Action": ["iam:*", "s3:*"], "Resource": "*"})]
    assert identity_decision(wide, boundary, None, "s3:GetObject", "x") is Decision.ALLOW


def test_session_policy_is_an_intersection_and_a_deny_anywhere_wins() -> None:
    """EVALUATION ("Session policies"): the session's permissions are the intersection of the identity-based
    policies and the session policy; an explicit deny in any of them (or in the boundary) is final."""
    identity = [policy({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})]
    session = policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})
    boundary_deny = policy(
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::secret/*"},
    )
    assert identity_decision(identity, None, session, "s3:GetObject", "arn:aws:s3:::b/k") is Decision.ALLOW
    assert identity_decision(identity, None, session, "s3:PutObject", "arn:aws:s3:::b/k") is Decision.IMPLICIT_DENY
    secret = "arn:aws:s3:::secret/k"
    assert identity_decision(identity, boundary_deny, session, "s3:GetObject", secret) is Decision.EXPLICIT_DENY
    assert combine(Decision.ALLOW, Decision.IMPLICIT_DENY, Decision.EXPLICIT_DENY) is Decision.EXPLICIT_DENY
    assert combine(Decision.ALLOW, Decision.ALLOW) is Decision.ALLOW


def test_multivalued_context_values_and_a_single_statement_object() -> None:
    """ "IAM JSON policy elements: Statement": Statement may be one object instead of a list; context values may be
    lists ("Single-valued vs. multivalued context keys")."""
    doc = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": {
                "Effect": "Allow",
                "Action": "iam:TagRole",
                "Resource": "*",
                "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["team", "env"]}},
            },
        }
    )
    assert evaluate([doc], "iam:TagRole", "r", {"aws:TagKeys": ["team"]}) is Decision.ALLOW
    assert evaluate([doc], "iam:TagRole", "r", {"aws:TagKeys": ["team", "owner"]}) is Decision.IMPLICIT_DENY
