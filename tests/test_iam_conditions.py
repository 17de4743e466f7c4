"""xacct.iam condition operators, case by case from AWS's IAM User Guide (each test names its page).

Pages:
- OPERATORS: "IAM JSON policy elements: Condition operators"
- CONDITION: "IAM JSON policy elements: Condition"
- MULTIPLE: "Conditions with multiple context keys or values" (AND across keys and blocks, OR across values,
  NOR across the values of a negated operator)
- MULTIVALUED: "Single-valued vs. multivalued context keys" and "Multivalued context key examples"
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from xacct.iam import Decision, conditions_hold, evaluate, operator

Context = dict[str, Any]


def holds(op: str, key: str, values: Any, context: Context) -> bool | None:
    return conditions_hold({"Condition": {op: {key: values}}}, context)


def decide(effect: str, condition: dict[str, Any], context: Context, action: str = "s3:GetObject") -> Decision:
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": effect, "Action": action, "Resource": "*", "Condition": condition}],
    }
    return evaluate([json.dumps(document)], action, "arn:aws:s3:::bucket/key", context)


# -- OPERATORS, "String condition operators" ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "policy", "request_value", "result"),
    [
        ("StringEquals", "iamuser-admin", "iamuser-admin", True),
        ("StringEquals", "iamuser-admin", "IAMUSER-ADMIN", False),  # "Exact matching, case sensitive"
        ("StringNotEquals", "iamuser-admin", "other", True),
        ("StringNotEquals", "iamuser-admin", "iamuser-admin", False),
        ("StringEqualsIgnoreCase", "iamuser-admin", "IAMUser-Admin", True),  # "Exact matching, ignoring case"
        ("StringNotEqualsIgnoreCase", "iamuser-admin", "IAMUser-Admin", False),
        ("StringNotEqualsIgnoreCase", "iamuser-admin", "other", True),
        ("StringLike", "home/*", "home/david/x", True),  # wildcards "anywhere in the string"
        ("StringLike", "home/?avid", "home/david", True),
        ("StringLike", "home/?avid", "home/ddavid", False),
        ("StringLike", "Home/*", "home/david", False),  # "Case-sensitive matching"
        ("StringLike", "home", "home/david", False),  # "You must specify wildcards to achieve partial matches"
        ("StringNotLike", "home/*", "work/x", True),
        ("StringNotLike", "home/*", "home/x", False),
        ("StringEquals", "a*", "abc", False),  # StringEquals has no wildcards
        ("StringEquals", "a*", "a*", True),
    ],
)
def test_string_operators(op: str, policy: str, request_value: str, result: bool) -> None:
    """OPERATORS: the String table (StringEquals ... StringNotLike)."""
    assert holds(op, "aws:PrincipalTag/job-category", policy, {"aws:PrincipalTag/job-category": request_value}) is (
        result
    )


def test_principal_tag_example_and_missing_key() -> None:
    """OPERATORS: the aws:PrincipalTag/job-category example; "If a user without the tag attempts ... the condition
    returns false and the request is implicitly denied by this statement"."""
    condition = {"StringEquals": {"aws:PrincipalTag/job-category": "iamuser-admin"}}
    assert decide("Allow", condition, {"aws:PrincipalTag/job-category": "iamuser-admin"}) is Decision.ALLOW
    assert decide("Allow", condition, {}) is Decision.IMPLICIT_DENY


@pytest.mark.parametrize("op", ["StringNotEquals", "StringNotLike", "ArnNotLike", "ArnNotEquals", "NotIpAddress"])
def test_negated_operators_are_true_when_the_key_is_missing(op: str) -> None:
    """OPERATORS, "Important": "If the policy condition requires that the key is not matched, such as StringNotLike
    or ArnNotLike, and the right key is not present, the condition is true"."""
    assert holds(op, "aws:SourceArn", "x", {}) is True


@pytest.mark.parametrize(
    "op", ["StringEquals", "StringLike", "NumericLessThan", "DateGreaterThan", "Bool", "IpAddress", "ArnLike"]
)
def test_positive_operators_are_false_when_the_key_is_missing(op: str) -> None:
    """OPERATORS, "Important": "If the key ... is not present in the request context, the values do not match and
    the condition is false"."""
    assert holds(op, "aws:SomeKey", "1", {}) is False


def test_condition_keys_are_case_insensitive_values_are_not() -> None:
    """CONDITION: "Context key names are not case-sensitive ... aws:SourceIP ... is equivalent to ... AWS:SourceIp";
    the StringEquals example: only requests made by john match, "Users named John are denied access"."""
    condition = {"StringEquals": {"aws:username": "john"}}
    assert decide("Allow", condition, {"AWS:USERNAME": "john"}) is Decision.ALLOW
    assert decide("Allow", condition, {"aws:username": "John"}) is Decision.IMPLICIT_DENY
    assert holds("IpAddress", "aws:SourceIP", "203.0.113.0/24", {"AWS:SourceIp": "203.0.113.7"}) is True


# -- MULTIPLE ----------------------------------------------------------------------------------------------------


def test_blocks_and_keys_are_anded_values_are_ored() -> None:
    """MULTIPLE: several operators, and several keys of one operator, are ANDed; several values of one key are
    ORed."""
    condition = {
        "StringEquals": {"aws:PrincipalTag/team": ["a", "b"], "aws:PrincipalTag/env": "prod"},
        "Bool": {"aws:SecureTransport": "true"},
    }
    base = {"aws:PrincipalTag/team": "b", "aws:PrincipalTag/env": "prod", "aws:SecureTransport": "true"}
    assert decide("Allow", condition, base) is Decision.ALLOW
    assert decide("Allow", condition, {**base, "aws:PrincipalTag/team": "c"}) is Decision.IMPLICIT_DENY
    assert decide("Allow", condition, {**base, "aws:PrincipalTag/env": "dev"}) is Decision.IMPLICIT_DENY
    assert decide("Allow", condition, {**base, "aws:SecureTransport": "false"}) is Decision.IMPLICIT_DENY


def test_negated_operator_values_are_nored() -> None:
    """MULTIPLE: "If a single negated matching condition operator includes multiple values for a context key,
    those values are evaluated using a logical NOR"."""
    assert holds("StringNotEquals", "aws:PrincipalTag/team", ["a", "b"], {"aws:PrincipalTag/team": "c"}) is True
    assert holds("StringNotEquals", "aws:PrincipalTag/team", ["a", "b"], {"aws:PrincipalTag/team": "b"}) is False


# -- OPERATORS, "Boolean", "Null", "...IfExists", "ARN" ------------------------------------------------------------


def test_bool_secure_transport_example() -> None:
    """OPERATORS, "Boolean condition operators": the BooleanExample statement denies S3 over plain HTTP."""
    documents = [
        json.dumps({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}),
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "BooleanExample",
                        "Action": "s3:*",
                        "Effect": "Deny",
                        "Resource": ["arn:aws:s3:::DOC-EXAMPLE-BUCKET", "arn:aws:s3:::DOC-EXAMPLE-BUCKET/*"],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                ],
            }
        ),
    ]
    resource = "arn:aws:s3:::DOC-EXAMPLE-BUCKET/a"
    assert evaluate(documents, "s3:GetObject", resource, {"aws:SecureTransport": "false"}) is Decision.EXPLICIT_DENY
    assert evaluate(documents, "s3:GetObject", resource, {"aws:SecureTransport": "true"}) is Decision.ALLOW
    assert holds("Bool", "aws:SecureTransport", True, {"aws:SecureTransport": "true"}) is True  # JSON true


def test_null_token_issue_time_example() -> None:
    """OPERATORS, "Condition operator to check existence of condition keys": {"Null": {"aws:TokenIssueTime":
    "true"}} allows only requests without temporary credentials (the key must not exist)."""
    condition = {"Null": {"aws:TokenIssueTime": "true"}}
    assert decide("Allow", condition, {}, action="ec2:RunInstances") is Decision.ALLOW
    assert decide("Allow", condition, {"aws:TokenIssueTime": "2026-01-01T00:00:00Z"}, "ec2:RunInstances") is (
        Decision.IMPLICIT_DENY
    )
    assert holds("Null", "aws:TokenIssueTime", "false", {"aws:TokenIssueTime": "2026-01-01T00:00:00Z"}) is True
    assert holds("Null", "aws:TokenIssueTime", "false", {}) is False


def test_if_exists_instance_type_example() -> None:
    """OPERATORS, "...IfExists condition operators": StringLikeIfExists ec2:InstanceType t1.*/t2.*/m3.* allows
    resources without the key, and checks it where present; plain StringLike ("THISPOLICYDOESNOTWORK") does not."""
    values = ["t1.*", "t2.*", "m3.*"]
    if_exists = {"StringLikeIfExists": {"ec2:InstanceType": values}}
    assert decide("Allow", if_exists, {}, "ec2:RunInstances") is Decision.ALLOW
    assert decide("Allow", if_exists, {"ec2:InstanceType": "t2.micro"}, "ec2:RunInstances") is Decision.ALLOW
    assert decide("Allow", if_exists, {"ec2:InstanceType": "c5.large"}, "ec2:RunInstances") is Decision.IMPLICIT_DENY
    plain = {"StringLike": {"ec2:InstanceType": values}}
    assert decide("Allow", plain, {}, "ec2:RunInstances") is Decision.IMPLICIT_DENY


def test_if_exists_with_a_negated_operator_in_a_deny() -> None:
    """OPERATORS, "...IfExists": "If you are using an "Effect": "Deny" element with a negated condition operator
    like StringNotEqualsIfExists, the request is still denied even if the tag is missing"."""
    condition = {"StringNotEqualsIfExists": {"aws:PrincipalTag/team": "ops"}}
    assert decide("Deny", condition, {}) is Decision.EXPLICIT_DENY
    assert decide("Deny", condition, {"aws:PrincipalTag/team": "dev"}) is Decision.EXPLICIT_DENY
    assert decide("Deny", condition, {"aws:PrincipalTag/team": "ops"}) is Decision.IMPLICIT_DENY


def test_null_has_no_if_exists_form() -> None:
    """OPERATORS: "You can add IfExists to the end of any condition operator name except the Null condition"."""
    assert operator("NullIfExists") is None
    assert holds("NullIfExists", "aws:TokenIssueTime", "true", {}) is None  # not an operator: fails closed


def test_arn_like_matches_component_by_component() -> None:
    """OPERATORS, "Amazon Resource Name (ARN) condition operators": the pattern arn:aws:someservice:*:111122223333:
    finance/* matches the request value with StringLike, and not with ArnLike (whose * stays within a
    component)."""
    pattern = "arn:aws:someservice:*:111122223333:finance/*"
    value = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"
    assert holds("StringLike", "aws:SourceArn", pattern, {"aws:SourceArn": value}) is True
    assert holds("ArnLike", "aws:SourceArn", pattern, {"aws:SourceArn": value}) is False
    assert holds("ArnEquals", "aws:SourceArn", pattern, {"aws:SourceArn": value}) is False
    assert holds("ArnNotLike", "aws:SourceArn", pattern, {"aws:SourceArn": value}) is True


@pytest.mark.parametrize(
    ("op", "pattern", "value", "result"),
    [
        ("ArnEquals", "arn:aws:sns:REGION:123456789012:TOPIC-ID", "arn:aws:sns:REGION:123456789012:TOPIC-ID", True),
        ("ArnEquals", "arn:aws:sns:*:123456789012:TOPIC-*", "arn:aws:sns:us-east-1:123456789012:TOPIC-7", True),
        ("ArnLike", "arn:aws:iam::*:role/Ops*", "arn:aws:iam::111122223333:role/OpsAdmin", True),
        ("ArnLike", "arn:aws:iam::*:role/Ops*", "arn:aws:iam::111122223333:role/ops", False),  # case-sensitive
        ("ArnLike", "arn:aws:iam::*:role/*", "arn:aws:iam::111122223333:user/x", False),
        ("ArnLike", "arn:aws:iam::*:role/*", "not-an-arn", False),
        ("ArnNotEquals", "arn:aws:iam::*:role/Ops*", "arn:aws:iam::111122223333:role/Dev", True),
    ],
)
def test_arn_operators(op: str, pattern: str, value: str, result: bool) -> None:
    """OPERATORS, ARN table: "ArnEquals and ArnLike ... behave identically", each component may hold * and ?."""
    assert holds(op, "aws:PrincipalArn", pattern, {"aws:PrincipalArn": value}) is result


# -- MULTIVALUED ----------------------------------------------------------------------------------------------


def test_for_all_values_dynamodb_example() -> None:
    """MULTIVALUED (and "Creating a condition that tests multiple key values"): ForAllValues:StringLike allows a
    request for PostDateTime and Message, not one that also asks for ID or UserName."""
    condition = {"ForAllValues:StringLike": {"dynamodb:requestedAttributes": ["PostDateTime", "Message", "Tags"]}}
    ok = {"dynamodb:requestedAttributes": ["PostDateTime", "Message"]}
    assert decide("Allow", condition, ok, "dynamodb:GetItem") is Decision.ALLOW
    bad = {"dynamodb:requestedAttributes": ["PostDateTime", "UserName"]}
    assert decide("Allow", condition, bad, "dynamodb:GetItem") is Decision.IMPLICIT_DENY


def test_for_any_value_dynamodb_example() -> None:
    """MULTIVALUED: Deny with ForAnyValue:StringLike [ID, PostDateTime]: PostDateTime + Message is denied,
    UserName alone is not."""
    condition = {"ForAnyValue:StringLike": {"dynamodb:requestedAttributes": ["ID", "PostDateTime"]}}
    hit = {"dynamodb:requestedAttributes": ["UserName", "Message", "PostDateTime"]}
    assert decide("Deny", condition, hit, "dynamodb:PutItem") is Decision.EXPLICIT_DENY
    miss = {"dynamodb:requestedAttributes": ["UserName"]}
    assert decide("Deny", condition, miss, "dynamodb:PutItem") is Decision.IMPLICIT_DENY


@pytest.mark.parametrize("empty", [None, [], ""])
def test_set_operators_with_a_missing_key_or_an_empty_set(empty: Any) -> None:
    """MULTIVALUED: "If the key values in the request resolve to an empty data set (for example, an empty string),
    a condition operator modified by ForAllValues returns true, and a condition operator modified by ForAnyValue
    returns false"; "The ForAllValues set operator also returns true if there are no context keys in the
    request"."""
    context = {} if empty is None else {"aws:TagKeys": empty}
    assert holds("ForAllValues:StringEquals", "aws:TagKeys", ["a"], context) is True
    assert holds("ForAnyValue:StringEquals", "aws:TagKeys", ["a"], context) is False


@pytest.mark.parametrize(
    ("tag_keys", "decision"),
    [
        (["key1:legal"], Decision.IMPLICIT_DENY),  # "No match"
        (["key1:hr", "key1:personnel"], Decision.IMPLICIT_DENY),
        (["key2:audit"], Decision.EXPLICIT_DENY),  # "Match"
        (None, Decision.EXPLICIT_DENY),  # no aws:TagKeys in the request: ForAllValues is true
    ],
)
def test_deny_for_all_values_string_not_like_example(tag_keys: list[str] | None, decision: Decision) -> None:
    """MULTIVALUED, "Multivalued context key examples": DenyRestrictedTags with {"ForAllValues:StringNotLike":
    {"aws:TagKeys": "key1*"}}: the page's table of request contexts and results."""
    context = {} if tag_keys is None else {"aws:TagKeys": tag_keys}
    assert decide("Deny", {"ForAllValues:StringNotLike": {"aws:TagKeys": "key1*"}}, context, "iam:TagRole") is decision


def test_null_false_guards_for_all_values() -> None:
    """MULTIVALUED: "You can prevent missing context keys ... from evaluating to true by including a Null condition
    operator in your policy with a value of false"."""
    condition = {"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}, "Null": {"aws:TagKeys": "false"}}
    assert decide("Allow", condition, {}) is Decision.IMPLICIT_DENY
    assert decide("Allow", condition, {"aws:TagKeys": ["a"]}) is Decision.ALLOW
    assert decide("Allow", condition, {"aws:TagKeys": ["a", "c"]}) is Decision.IMPLICIT_DENY


def test_for_any_value_with_a_negated_operator() -> None:
    """MULTIVALUED: a set operator applies the operator to each request value; ForAnyValue:StringNotEquals holds
    when at least one request value equals none of the policy values."""
    assert holds("ForAnyValue:StringNotEquals", "aws:TagKeys", ["a", "b"], {"aws:TagKeys": ["a", "c"]}) is True
    assert holds("ForAnyValue:StringNotEquals", "aws:TagKeys", ["a", "b"], {"aws:TagKeys": ["a", "b"]}) is False


def test_if_exists_on_a_set_operator() -> None:
    """OPERATORS: IfExists may end any operator; a missing key then makes the condition true, ForAnyValue too."""
    assert holds("ForAnyValue:StringEqualsIfExists", "aws:TagKeys", ["a"], {}) is True
    assert holds("ForAnyValue:StringEqualsIfExists", "aws:TagKeys", ["a"], {"aws:TagKeys": ["b"]}) is False


@pytest.mark.parametrize("name", ["ForSomeValues:StringEquals", "StringEqualz", "stringequals", "Null:Bool"])
def test_names_iam_does_not_define_fail_closed(name: str) -> None:
    """OPERATORS lists the operator names; anything else is no operator (AWS refuses such a policy; we fail
    closed: an Allow does not apply, a Deny does)."""
    assert operator(name) is None
    assert decide("Allow", {name: {"aws:TagKeys": "a"}}, {"aws:TagKeys": "a"}) is Decision.IMPLICIT_DENY
    assert decide("Deny", {name: {"aws:TagKeys": "a"}}, {}) is Decision.EXPLICIT_DENY


# -- OPERATORS, "Numeric", "Date and time", "Binary", "IP address" -------------------------------------------------


@pytest.mark.parametrize(
    ("op", "policy", "request_value", "result"),
    [
        ("NumericLessThanEquals", "10", "10", True),  # the s3:max-keys example: "up to 10 objects"
        ("NumericLessThanEquals", "10", "11", False),
        ("NumericLessThan", "10", "9.5", True),  # "an integer or decimal value"
        ("NumericLessThan", "10", "10", False),
        ("NumericEquals", "10", "10.0", True),
        ("NumericNotEquals", "10", "10.0", False),
        ("NumericNotEquals", ["10", "20"], "30", True),
        ("NumericGreaterThan", "10", "10", False),
        ("NumericGreaterThanEquals", "10", "10", True),
        ("NumericGreaterThan", 10, "11", True),  # a JSON number in the policy
        ("NumericEquals", "10", "ten", False),  # not a number: no match
    ],
)
def test_numeric_operators(op: str, policy: Any, request_value: str, result: bool) -> None:
    """OPERATORS, Numeric table and the s3:max-keys example."""
    assert holds(op, "s3:max-keys", policy, {"s3:max-keys": request_value}) is result


@pytest.mark.parametrize(
    ("op", "policy", "request_value", "result"),
    [
        ("DateGreaterThan", "2020-01-01T00:00:01Z", "2020-06-30T12:00:00Z", True),  # the aws:TokenIssueTime example
        ("DateGreaterThan", "2020-01-01T00:00:01Z", "2019-12-31T23:59:59Z", False),
        ("DateGreaterThan", "2020-01-01T00:00:01Z", "2020-01-01T00:00:01Z", False),
        ("DateGreaterThanEquals", "2020-01-01T00:00:01Z", "2020-01-01T00:00:01Z", True),
        ("DateLessThan", "2020-01-01", "2019-12-31T23:00:00Z", True),  # W3C "YYYY-MM-DD"
        ("DateLessThan", "2020-01", "2020-01-01T00:00:00Z", False),  # W3C "YYYY-MM"
        ("DateEquals", "2020-01-01T09:00:00+09:00", "2020-01-01T00:00:00Z", True),  # time zone designator
        ("DateEquals", "1577836800", "2020-01-01T00:00:00Z", True),  # epoch (UNIX) time
        ("DateLessThanEquals", "2020-01-01T00:00:00.500Z", "1577836800", True),
        ("DateNotEquals", "2020-01-01T00:00:00Z", "2020-01-02T00:00:00Z", True),
        ("DateLessThan", "2020-*", "2019-01-01T00:00:00Z", False),  # "Wildcards are not permitted"
        ("DateLessThan", "2020-01-01T00:00:00Z", "yesterday", False),
    ],
)
def test_date_operators(op: str, policy: str, request_value: str, result: bool) -> None:
    """OPERATORS, Date table: W3C ISO 8601 date formats or epoch time; no wildcards."""
    assert holds(op, "aws:TokenIssueTime", policy, {"aws:TokenIssueTime": request_value}) is result


def test_binary_equals() -> None:
    """OPERATORS, "Binary condition operators": compared byte for byte with the base-64 value of the policy (the
    request's binary value is given base-64 encoded in the context)."""
    policy = "QmluYXJ5VmFsdWVJbkJhc2U2NA=="
    assert holds("BinaryEquals", "key", policy, {"key": "QmluYXJ5VmFsdWVJbkJhc2U2NA=="}) is True
    assert holds("BinaryEquals", "key", policy, {"key": "QmluYXJ5"}) is False
    assert holds("BinaryEquals", "key", policy, {"key": "not base64!"}) is False


@pytest.mark.parametrize(
    ("op", "policy", "source_ip", "result"),
    [
        ("IpAddress", "203.0.113.0/24", "203.0.113.255", True),  # "the IP range 203.0.113.0 to 203.0.113.255"
        ("IpAddress", "203.0.113.0/24", "203.0.114.0", False),
        ("IpAddress", "203.0.113.7", "203.0.113.7", True),  # "without the associated routing prefix ... /32"
        ("IpAddress", "203.0.113.7", "203.0.113.8", False),
        ("IpAddress", ["203.0.113.0/24", "2001:DB8:1234:5678::/64"], "2001:db8:1234:5678::1", True),  # IPv6 CIDR
        ("IpAddress", ["203.0.113.0/24", "2001:DB8:1234:5678::/64"], "2001:db8:1234:5679::1", False),
        ("NotIpAddress", "203.0.113.0/24", "198.51.100.1", True),
        ("NotIpAddress", "203.0.113.0/24", "203.0.113.1", False),
        ("IpAddress", "203.0.113.0/24", "not-an-ip", False),
    ],
)
def test_ip_address_operators(op: str, policy: Any, source_ip: str, result: bool) -> None:
    """OPERATORS, "IP address condition operators": CIDR, IPv4 and IPv6, a bare address is /32."""
    assert holds(op, "aws:SourceIp", policy, {"aws:SourceIp": source_ip}) is result
