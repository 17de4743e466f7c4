"""Plan checks: each module and env over the inventories in tests/scenarios (tfvars + expected plan, as data)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from conftest import PLAN_TARGETS, Planned
from plan_checks import PlanSummary, check_inventory, load_scenario, scenario_names, semantic_checks, summarize

CASES = [(target, name) for target in PLAN_TARGETS for name in scenario_names(target)]


def test_every_target_has_scenarios() -> None:
    assert {target for target, _ in CASES} == set(PLAN_TARGETS)
    assert len(scenario_names("provider_api")) >= 5
    for target, name in CASES:
        assert {"values", "counts"} <= set(load_scenario(target, name)), f"{target}/{name}: no values or counts"


@pytest.mark.parametrize(("target", "name"), CASES, ids=[f"{t}-{n}" for t, n in CASES])
def test_plan_scenario(target: str, name: str, planned: Planned) -> None:
    """The scenario's plan (planned in its account's batch, see conftest.planned) matches its inventory."""
    summary = summarize(planned.plans[(target, name)])
    check_inventory(summary, load_scenario(target, name))
    semantic_checks(summary)


# -- the compare itself can fail -------------------------------------------------------------------------------


def _summary() -> PlanSummary:
    """A plan summary as `summarize` builds it (the seed's invoke role and route, abridged)."""
    trust_policy = (
        '{"Version":"2012-10-17","Statement":[{"Sid":"ConsumerRoles","Effect":"Allow",'
        '"Principal":{"AWS":["arn:aws:iam::222222222222:role/LambdaRoleDeve"]},"Action":"sts:AssumeRole",'
        '"Condition":{"StringLike":{"sts:RoleSessionName":"${aws:PrincipalAccount}-*"}}}]}'
    )
    return PlanSummary(
        values={
            'aws_iam_role.invoke["ApiAllowByIamRoleStag"]': {
                "name": "ApiAllowByIamRoleStag",
                "assume_role_policy": trust_policy,
                "max_session_duration": 3600,
            },
            'aws_apigatewayv2_route.this["ANY /{proxy+}"]': {
                "route_key": "ANY /{proxy+}",
                "authorization_type": "AWS_IAM",
            },
            "aws_apigatewayv2_stage.this": {"default_route_settings": [{"throttling_burst_limit": 100}]},
        },
        counts={"aws_iam_role": 1, "aws_apigatewayv2_route": 1, "aws_apigatewayv2_stage": 1, "resources": 3},
        outputs={"consumer_config": {"region": "ap-northeast-1", "allowed_routes": {"ApiAllowByIamRoleStag": ["*"]}}},
    )


ROLE = 'aws_iam_role.invoke["ApiAllowByIamRoleStag"]'
GOOD: dict[str, Any] = {
    "values": {
        ROLE: {
            "max_session_duration": 3600,
            "assume_role_policy": {
                "Statement": [
                    {
                        "Principal": {"AWS": ["arn:aws:iam::222222222222:role/LambdaRoleDeve"]},
                        "Condition": {"StringLike": {"sts:RoleSessionName": "${aws:PrincipalAccount}-*"}},
                    }
                ]
            },
        },
        'aws_apigatewayv2_route.this["ANY /{proxy+}"]': {},
        "aws_apigatewayv2_stage.this": {"default_route_settings": [{"throttling_burst_limit": 100}]},
    },
    "counts": {"aws_iam_role": 1, "aws_lambda_permission": 0, "resources": 3},
    "outputs": {"consumer_config": {"allowed_routes": {"ApiAllowByIamRoleStag": ["*"]}}},
}


def _wrong(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    inventory = copy.deepcopy(GOOD)
    target = inventory
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return inventory


def test_the_compare_accepts_a_matching_inventory() -> None:
    check_inventory(_summary(), GOOD)


@pytest.mark.parametrize(
    ("inventory", "message"),
    [
        (_wrong(("values", ROLE, "max_session_duration"), 7200), "max_session_duration: expected 7200"),
        (
            _wrong(("values", ROLE, "assume_role_policy", "Statement"), [{"Principal": {"AWS": ["*"]}}]),
            "Statement[0].Principal.AWS[0]: expected '*'",
        ),
        (
            _wrong(("values", ROLE, "assume_role_policy", "Statement"), [{"Principal": "__missing__"}]),
            "Principal: expected absent",
        ),
        (_wrong(("values", ROLE, "assume_role_policy"), {"Statement": []}), "expected 0 items"),
        (_wrong(("values", ROLE, "name"), {"a": 1}), "expected a JSON document"),
        (_wrong(("values", ROLE, "tags"), {}), ".tags: not in the plan"),
        (_wrong(("values", 'aws_iam_role.invoke["Other"]'), {}), "but not planned: ['aws_iam_role.invoke[\"Other\"]']"),
        (
            {"values": {k: v for k, v in GOOD["values"].items() if k != ROLE}},
            f"planned but not in the inventory: [{ROLE!r}]",
        ),
        (_wrong(("counts", "aws_iam_role"), 2), "counts.aws_iam_role: expected 2, the plan has 1"),
        (_wrong(("counts", "aws_lambda_permission"), 1), "counts.aws_lambda_permission: expected 1, the plan has 0"),
        (_wrong(("outputs", "consumer_config", "allowed_routes"), {"ApiAllowByIamRoleStag": ["GET /"]}), "GET /"),
        (_wrong(("outputs", "invoke_url"), "https://x/"), "outputs.invoke_url: unknown until apply, or no such output"),
    ],
)
def test_the_compare_fails_on_a_wrong_expectation(inventory: dict[str, Any], message: str) -> None:
    with pytest.raises(AssertionError) as failure:
        check_inventory(_summary(), inventory)
    assert message in str(failure.value)


@pytest.mark.parametrize(
    ("address", "attribute", "value", "message"),
    [
        ('aws_apigatewayv2_route.this["ANY /{proxy+}"]', "authorization_type", "NONE", "without IAM authorization"),
        (
            ROLE,
            "assume_role_policy",
            '{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}',
            "a wildcard principal",
        ),
        (
            "module.consumer.aws_iam_role_policy.assume_provider_roles",
            "policy",
            '{"Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":["arn:aws:iam::1:role/*"]}]}',
            "a wildcard",
        ),
        (
            "aws_iam_role_policy.assume_provider_roles",
            "policy",
            '{"Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"r","Condition":{}}]}',
            "Condition",
        ),
        (
            ROLE,
            "assume_role_policy",
            '{"Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::2:role/A"],"Service":["x"]},'
            '"Action":"sts:AssumeRole"}]}',
            "principals of several kinds",
        ),
        (
            ROLE,
            "assume_role_policy",
            '{"Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::2:role/A"]},"Action":"sts:AssumeRole",'
            '"Condition":{"StringEquals":{"sts:ExternalId":"x"},"Bool":{"aws:SecureTransport":"true"}}}]}',
            "condition",
        ),
        (
            ROLE,
            "assume_role_policy",
            '{"Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::222222222222:role/A"]},'
            '"Action":"sts:AssumeRole","Condition":{"StringLike":{"sts:RoleSessionName":"333333333333-*"}}}]}',
            "session names not bound to the caller's account",
        ),
        (
            ROLE,
            "assume_role_policy",
            '{"Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::222222222222:role/A"]},'
            '"Action":"sts:AssumeRole"}]}',
            "session names not bound to the caller's account",
        ),
        (
            ROLE,
            "assume_role_policy",
            '{"Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::222222222222:role/A",'
            '"arn:aws:iam::333333333333:role/B"]},"Action":"sts:AssumeRole",'
            '"Condition":{"StringLike":{"sts:RoleSessionName":"222222222222-*"}}}]}',
            "session names not bound to the caller's account",  # B's sessions would be named as A's account
        ),
        (
            ROLE,
            "assume_role_policy",
            '{"Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::222222222222:role/A"]},'
            '"Action":"sts:AssumeRole","Condition":{"StringLike":{"sts:RoleSessionName":"${aws:PrincipalAccount}-*"}}},'
            '{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::333333333333:role/B"]},"Action":"sts:AssumeRole"}]}',
            "2 trust statements, expected one",
        ),
        (
            ROLE,
            "assume_role_policy",
            '{"Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::222222222222:root"]},'
            '"Action":"sts:AssumeRole","Condition":{"StringLike":{"sts:RoleSessionName":"${aws:PrincipalAccount}-*"},'
            '"ArnEquals":{"aws:PrincipalArn":["arn:aws:iam::333333333333:role/B"]}}}]}',
            "roles of other accounts than",
        ),
        (
            ROLE,
            "assume_role_policy",
            '{"Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::222222222222:root"]},'
            '"Action":"sts:AssumeRole","Condition":{"StringLike":{"sts:RoleSessionName":"${aws:PrincipalAccount}-*"},'
            '"ArnEquals":{"aws:PrincipalArn":["arn:aws:iam::222222222222:role/*"]}}}]}',
            "a wildcard aws:PrincipalArn",
        ),
        (
            "aws_apigatewayv2_integration.this",
            "request_parameters",
            {"overwrite:header.x-caller-account-id": "$context.identity.accountId"},
            "overwrite:header.x-caller-account-id",
        ),
        (
            "aws_apigatewayv2_integration.this",
            "request_parameters",
            {"overwrite:header.x-caller-arn": "$request.header.x-caller-arn"},
            "not the verified caller",
        ),
        (
            "aws_apigatewayv2_integration.this",
            "request_parameters",
            {"overwrite:header.x-route-key": "$request.header.x-route-key"},
            "not the verified caller",
        ),
        (
            "aws_apigatewayv2_integration.this",
            "request_parameters",
            {"overwrite:path": "$request.path", "append:header.x-forwarded-for": "$request.header.x-real-ip"},
            "append:header.x-forwarded-for",
        ),
    ],
)
def test_the_semantic_checks_fail_on_a_bad_plan(address: str, attribute: str, value: Any, message: str) -> None:
    summary = _summary()
    semantic_checks(summary)
    summary.values.setdefault(address, {})[attribute] = value
    with pytest.raises(AssertionError) as failure:
        semantic_checks(summary)
    assert message in str(failure.value)


def test_consumer_config_must_speak_of_exactly_the_invoke_roles() -> None:
    summary = _summary()
    summary.outputs["consumer_config"]["external_id_required"] = {"ApiAllowByIamRoleStag": False}
    semantic_checks(summary)
    summary.outputs["consumer_config"]["external_id_required"]["Gone"] = True
    with pytest.raises(AssertionError, match=r"consumer_config\.external_id_required"):
        semantic_checks(summary)
