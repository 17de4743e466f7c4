"""Bad input fails `terraform plan` with a message that names the bad value - never a half-applied stack."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from xacct.local.terraform import Workspace

from conftest import CONSUMER, PROVIDER

PROVIDER_BASE: dict[str, Any] = {
    "name": "server-stag",
    "integration": {"type": "HTTP_PROXY", "uri": "https://api.internal.stag.foo.example.com"},
    "invoke_roles": {"ApiAllowByIamRoleStag": {"trusted_role_arns": ["arn:aws:iam::222222222222:role/LambdaRoleDeve"]}},
}
CONSUMER_BASE: dict[str, Any] = {
    "role_name": "LambdaRoleDeve",
    "provider_invoke_role_arns": ["arn:aws:iam::111111111111:role/ApiAllowByIamRoleStag"],
}
ROLE = "ApiAllowByIamRoleStag"


def trusted(*arns: str) -> dict[str, Any]:
    return {"invoke_roles": {ROLE: {"trusted_role_arns": list(arns)}}}


def role_with(**settings: Any) -> dict[str, Any]:
    return {
        "invoke_roles": {ROLE: {"trusted_role_arns": ["arn:aws:iam::222222222222:role/LambdaRoleDeve"], **settings}}
    }


@dataclass(frozen=True)
class Case:
    id: str
    overrides: dict[str, Any]
    expected: tuple[str, ...]  # fragments that must all appear: the rule and the offending value
    folder: str = "modules/provider_api"
    replace: dict[str, Any] = field(default_factory=dict)


FIFTY_CONSUMERS = [f"arn:aws:iam::{200000000000 + i}:role/LambdaRoleDeve" for i in range(50)]

CASES = [
    # trusted principals
    Case("wildcard-principal", trusted("*"), ('must not contain "*"', f'"{ROLE}: *"')),
    Case(
        "account-id-principal",
        trusted("222222222222"),
        ("not an account id or an account root", f'"{ROLE}: 222222222222"'),
    ),
    Case(
        "account-root-principal",
        trusted("arn:aws:iam::222222222222:root"),
        ("not an account id or an account root", "arn:aws:iam::222222222222:root"),
    ),
    Case(
        "user-principal",
        trusted("arn:aws:iam::222222222222:user/alice"),
        ("not users, groups or sessions", "arn:aws:iam::222222222222:user/alice"),
    ),
    Case(
        "malformed-arn",
        trusted("arn:aws:iam:222222222222:role/LambdaRoleDeve"),
        ("must look like arn:aws:iam::<12-digit account id>:role/", "arn:aws:iam:222222222222:role/LambdaRoleDeve"),
    ),
    Case(
        "eleven-digit-account",
        trusted("arn:aws:iam::22222222222:role/LambdaRoleDeve"),
        ("12-digit account id", "arn:aws:iam::22222222222:role/LambdaRoleDeve"),
    ),
    Case(
        "thirteen-digit-account",
        trusted("arn:aws:iam::2222222222222:role/LambdaRoleDeve"),
        ("12-digit account id", "arn:aws:iam::2222222222222:role/LambdaRoleDeve"),
    ),
    Case("empty-trusted-role-arns", trusted(), ("must name at least one consumer role ARN", f'["{ROLE}"]')),
    # invoke roles
    Case("no-invoke-roles", {}, ("must define at least one invoke role",), replace={"invoke_roles": {}}),
    Case(
        "role-name-too-long",
        {},
        ("role names must be 1-64 characters", "A" * 65 + " (65 chars)"),
        replace={"invoke_roles": {"A" * 65: {"trusted_role_arns": ["arn:aws:iam::222222222222:role/LambdaRoleDeve"]}}},
    ),
    Case(
        "role-name-illegal-characters",
        {},
        ("role names must be 1-64 characters of letters, digits", "Api Role!"),
        replace={
            "invoke_roles": {"Api Role!": {"trusted_role_arns": ["arn:aws:iam::222222222222:role/LambdaRoleDeve"]}}
        },
    ),
    Case(
        "allowed-route-not-a-route",
        role_with(allowed_routes=["GET /items/{id}"]),
        ("every allowed_routes entry must be one of routes", f"{ROLE}: GET /items/{{id}}"),
    ),
    Case("max-session-too-short", role_with(max_session_duration=3599), ("from 3600 to 43200", f'"{ROLE}":3599')),
    Case("max-session-too-long", role_with(max_session_duration=43201), ("from 3600 to 43200", f'"{ROLE}":43201')),
    Case(
        "external-id-too-short", role_with(external_id="x"), ("external_id must be 2-1224 characters", "(1 chars: x)")
    ),
    Case(
        "external-id-too-long",
        role_with(external_id="e" * 1225),
        ("external_id must be 2-1224 characters", "(1225 chars:"),
    ),
    Case(
        "external-id-illegal-characters",
        role_with(external_id="tenant #42"),
        ("external_id must be 2-1224 characters of letters", "tenant #42"),
    ),
    # routes
    Case(
        "malformed-route-key",
        {"routes": ["GET hoge"]},
        ('each route key must be "METHOD /path"', '["GET hoge"]'),
    ),
    Case(
        "greedy-not-last",
        {"routes": ["ANY /{proxy+}/tail"]},
        ("{proxy+} only as the last segment", '["ANY /{proxy+}/tail"]'),
    ),
    Case("bad-http-method", {"routes": ["FETCH /hoge"]}, ("HTTP method must be one of", '["FETCH /hoge"]')),
    # integration
    Case(
        "integration-type",
        {"integration": {"type": "HTTP", "uri": "https://api.example.com"}},
        ('integration.type must be "HTTP_PROXY"', 'got "HTTP"'),
    ),
    Case(
        "http-proxy-uri-not-url",
        {"integration": {"type": "HTTP_PROXY", "uri": "api.internal.example.com"}},
        ("must be an http(s) URL", 'got "api.internal.example.com"'),
    ),
    Case(
        "lambda-uri-not-function-arn",
        {"integration": {"type": "AWS_PROXY", "uri": "https://api.example.com"}},
        ("must be a Lambda function ARN", 'got "https://api.example.com"'),
    ),
    Case(
        "timeout-too-short",
        {"integration": {"type": "HTTP_PROXY", "uri": "https://api.example.com", "timeout_ms": 49}},
        ("from 50 to 30000", "got 49"),
    ),
    Case(
        "timeout-too-long",
        {"integration": {"type": "HTTP_PROXY", "uri": "https://api.example.com", "timeout_ms": 30001}},
        ("from 50 to 30000", "got 30001"),
    ),
    Case(
        "integration-method",
        {"integration": {"type": "HTTP_PROXY", "uri": "https://api.example.com", "method": "FETCH"}},
        ("integration.method must be one of", 'got "FETCH"'),
    ),
    # throttling
    Case("burst-zero", {"throttling": {"burst_limit": 0}}, ("throttling.burst_limit must be", "burst_limit = 0")),
    Case(
        "rate-negative", {"throttling": {"rate_limit": -1}}, ("throttling.rate_limit a number > 0", "rate_limit = -1")
    ),
    # trust policy size
    Case(
        "trust-policy-over-quota",
        trusted(*FIFTY_CONSUMERS),
        (
            f"The trust policy of invoke role {ROLE} would be",
            "over IAM's default quota of 2048",
            "about 39 of its 50 trusted_role_arns fit in one role",
            "split the consumers into several invoke_roles entries",
        ),
    ),
    # consumer_role
    Case(
        "consumer-no-invoke-roles",
        {"provider_invoke_role_arns": []},
        ("provider_invoke_role_arns must list at least one invoke role ARN",),
        folder="modules/consumer_role",
    ),
    Case(
        "consumer-not-role-arns",
        {"provider_invoke_role_arns": ["arn:aws:iam::111111111111:user/api", "*"]},
        ("provider_invoke_role_arns must be IAM role ARNs", '["arn:aws:iam::111111111111:user/api","*"]'),
        folder="modules/consumer_role",
    ),
    Case(
        "consumer-existing-role-with-services",
        {"create_role": False, "trusted_services": ["ecs-tasks.amazonaws.com"]},
        ('trusted_services ["ecs-tasks.amazonaws.com"] cannot be applied with create_role = false',),
        folder="modules/consumer_role",
    ),
    Case(
        "consumer-existing-role-with-boundary",
        {"create_role": False, "permissions_boundary_arn": "arn:aws:iam::222222222222:policy/Boundary"},
        ("cannot be applied with create_role = false", "arn:aws:iam::222222222222:policy/Boundary"),
        folder="modules/consumer_role",
    ),
    Case(
        "consumer-bad-service",
        {"trusted_services": ["lambda"]},
        ("trusted_services must be AWS service principals", '["lambda"]'),
        folder="modules/consumer_role",
    ),
]


def _values(case: Case) -> dict[str, Any]:
    base = PROVIDER_BASE if case.folder == "modules/provider_api" else CONSUMER_BASE
    values = copy.deepcopy(base)
    values.update(copy.deepcopy(case.overrides))
    values.update(copy.deepcopy(case.replace))
    return values


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_fails_at_plan(case: Case, workspaces: Callable[[str, str], Workspace]) -> None:
    account = PROVIDER if case.folder == "modules/provider_api" else CONSUMER
    errors = workspaces(case.folder, account).plan_failure(_values(case))
    for fragment in case.expected:
        assert fragment in errors, f"{fragment!r} not in: {errors}"


def test_as_many_consumers_as_the_message_promises_do_fit(workspaces: Callable[[str, str], Workspace]) -> None:
    """The quota message says 39 of these ARNs fit: 39 plan, 40 do not."""
    workspace = workspaces("modules/provider_api", PROVIDER)
    workspace.plan({**PROVIDER_BASE, **trusted(*FIFTY_CONSUMERS[:39])})
    errors = workspace.plan_failure({**PROVIDER_BASE, **trusted(*FIFTY_CONSUMERS[:40])})
    assert "about 39 of its 40 trusted_role_arns fit in one role" in errors


def test_the_bases_are_valid(workspaces: Callable[[str, str], Workspace]) -> None:
    """Each bad case differs from a valid configuration only by its bad value."""
    workspaces("modules/provider_api", PROVIDER).plan(PROVIDER_BASE)
    workspaces("modules/consumer_role", CONSUMER).plan(CONSUMER_BASE)
