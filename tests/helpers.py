"""What several tests share: reading plans, the scenario checks, policy documents, signing with botocore.

Scenarios live in tests/scenarios/<target>/<name>.json as {"vars": ..., "expect": ...}; the check_* functions
below are the only code that interprets "expect", so every scenario is checked the same way.
"""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from xacct.local.stacks import REGION

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = Path(__file__).resolve().parent / "scenarios"


def scenario_names(target: str) -> list[str]:
    return sorted(p.stem for p in (SCENARIOS / target).glob("*.json"))


def load_scenario(target: str, name: str) -> dict[str, Any]:
    scenario: dict[str, Any] = json.loads((SCENARIOS / target / f"{name}.json").read_text())
    return scenario


def planned(plan: Any) -> dict[str, dict[str, Any]]:
    """address (module prefix dropped) -> planned values of every resource the plan creates."""
    resources: dict[str, dict[str, Any]] = {}
    for change in plan["resource_changes"]:
        if change["mode"] != "managed" or "create" not in change["change"]["actions"]:
            continue
        address = re.sub(r"^(module\.[a-z_]+\.)+", "", change["address"])
        resources[address] = change["change"]["after"]
    return resources


def planned_outputs(plan: Any) -> dict[str, Any]:
    return {name: change.get("after") for name, change in plan.get("output_changes", {}).items()}


# -- waiting and ports ---------------------------------------------------------------------------------------


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, read, released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- scenario checks ----------------------------------------------------------------------------------------


def check_provider_api(plan: Any, expect: Mapping[str, Any]) -> None:
    resources = planned(plan)
    assert sorted(resources) == sorted(expect["resources"])

    for name, want in expect["invoke_roles"].items():
        role = resources[f'aws_iam_role.invoke["{name}"]']
        trust = json.loads(role["assume_role_policy"])
        (statement,) = trust["Statement"]
        assert statement["Principal"] == {"AWS": want["principals"]}, name
        assert statement["Action"] == "sts:AssumeRole"
        assert statement["Effect"] == "Allow"
        if want.get("external_id") is None:
            assert "Condition" not in statement
        else:
            assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": want["external_id"]}}
        assert role["max_session_duration"] == want.get("max_session_duration", 3600)

    routes = {k: v for k, v in resources.items() if k.startswith("aws_apigatewayv2_route.")}
    assert sorted(r["route_key"] for r in routes.values()) == sorted(expect["routes"])
    assert {r["authorization_type"] for r in routes.values()} == {"AWS_IAM"}

    integration = resources["aws_apigatewayv2_integration.this"]
    for key, value in expect["integration"].items():
        assert integration[key] == value, key

    stage = resources["aws_apigatewayv2_stage.this"]
    assert stage["name"] == expect["stage"]["name"]
    assert stage["auto_deploy"] is True
    (route_settings,) = stage["default_route_settings"]
    assert route_settings["throttling_burst_limit"] == expect["stage"]["burst_limit"]
    assert route_settings["throttling_rate_limit"] == expect["stage"]["rate_limit"]
    if expect.get("access_log") is None:
        assert stage["access_log_settings"] == []
    else:
        (log_settings,) = stage["access_log_settings"]
        fields = json.loads(log_settings["format"])
        for field, variable in expect["access_log"]["fields"].items():
            assert fields[field] == variable, field
        group = resources["aws_cloudwatch_log_group.access[0]"]
        assert group["name"] == expect["access_log"]["group"]
        assert group["retention_in_days"] == expect["access_log"]["retention_in_days"]

    if "lambda_permission" in expect:
        permission = resources["aws_lambda_permission.api[0]"]
        for key, value in expect["lambda_permission"].items():
            assert permission[key] == value, key

    if "domain" in expect:
        domain = resources["aws_apigatewayv2_domain_name.this[0]"]
        assert domain["domain_name"] == expect["domain"]["name"]
        (config,) = domain["domain_name_configuration"]
        assert config["certificate_arn"] == expect["domain"]["certificate_arn"]
        assert config["security_policy"] == "TLS_1_2"
        record = resources["aws_route53_record.this[0]"]
        assert (record["zone_id"], record["name"], record["type"]) == (
            expect["domain"]["route53_zone_id"],
            expect["domain"]["name"],
            "A",
        )

    outputs = planned_outputs(plan)
    for name, value in expect.get("outputs", {}).items():
        assert outputs[name] == value, name
    config = outputs["consumer_config"]
    for key, value in expect.get("consumer_config", {}).items():
        assert config[key] == value, key


def check_consumer_role(plan: Any, expect: Mapping[str, Any]) -> None:
    resources = planned(plan)
    assert sorted(resources) == sorted(expect["resources"])
    if "trusted_services" in expect:
        trust = json.loads(resources["aws_iam_role.this[0]"]["assume_role_policy"])
        (statement,) = trust["Statement"]
        assert statement["Principal"] == {"Service": expect["trusted_services"]}
        assert statement["Action"] == "sts:AssumeRole"
    if "permissions_boundary" in expect:
        assert resources["aws_iam_role.this[0]"]["permissions_boundary"] == expect["permissions_boundary"]
    policy = resources["aws_iam_role_policy.assume_provider_roles"]
    assert policy["role"] == expect["role_name"]
    document = json.loads(policy["policy"])
    (statement,) = document["Statement"]
    assert statement == {
        "Sid": "AssumeProviderInvokeRolesOnly",
        "Effect": "Allow",
        "Action": "sts:AssumeRole",
        "Resource": expect["assume_role_arns"],
    }
    attached = sorted(v["policy_arn"] for k, v in resources.items() if k.startswith("aws_iam_role_policy_attachment."))
    assert attached == sorted(expect.get("managed_policy_arns", []))


def botocore_signed(
    method: str,
    host: str,
    path: str,
    credentials: Mapping[str, str],
    *,
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
    region: str = REGION,
    service: str = "execute-api",
) -> dict[str, str]:
    """Headers for a request signed by botocore's SigV4Auth directly: the independent signer."""
    request = AWSRequest(method=method, url=f"https://{host}{path}", data=body, headers=dict(headers or {}))
    SigV4Auth(
        Credentials(credentials["key"], credentials["secret"], credentials.get("token")), service, region
    ).add_auth(request)
    return {**dict(request.headers.items()), "Host": host}
