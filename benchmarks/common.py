"""What both benchmarks need: a local AWS with a consumer workload role, an invoke role, and one HTTP API."""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from xacct.local import LocalAws

REGION = "ap-northeast-1"
PROVIDER, CONSUMER = "111111111111", "222222222222"
RESULTS = Path(__file__).resolve().parent / "results"


def _document(statement: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


@dataclass
class Setup:
    aws: LocalAws
    api_id: str
    invoke_role_arn: str
    workload: boto3.Session

    @property
    def host(self) -> str:
        return f"{self.api_id}.execute-api.{REGION}.amazonaws.com"


def deploy(aws: LocalAws, upstream: str) -> Setup:
    """LambdaRoleDeve (consumer) -> ApiAllowByIamRoleStag (provider) -> an HTTP API forwarding to ``upstream``."""
    invoke_arn = f"arn:aws:iam::{PROVIDER}:role/ApiAllowByIamRoleStag"
    workload_arn = f"arn:aws:iam::{CONSUMER}:role/LambdaRoleDeve"
    iam_b, iam_a = aws.client("iam", CONSUMER), aws.client("iam", PROVIDER)
    lambda_trust = {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    iam_b.create_role(RoleName="LambdaRoleDeve", AssumeRolePolicyDocument=_document(lambda_trust))
    iam_b.put_role_policy(
        RoleName="LambdaRoleDeve",
        PolicyName="assume",
        PolicyDocument=_document({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": invoke_arn}),
    )
    consumer_trust = {"Effect": "Allow", "Principal": {"AWS": [workload_arn]}, "Action": "sts:AssumeRole"}
    iam_a.create_role(RoleName="ApiAllowByIamRoleStag", AssumeRolePolicyDocument=_document(consumer_trust))
    gateway = aws.client("apigatewayv2", PROVIDER)
    api_id = gateway.create_api(Name="bench", ProtocolType="HTTP")["ApiId"]
    integration = gateway.create_integration(
        ApiId=api_id,
        IntegrationType="HTTP_PROXY",
        IntegrationUri=upstream,
        IntegrationMethod="ANY",
        PayloadFormatVersion="1.0",
        RequestParameters={
            "overwrite:path": "$request.path",
            "overwrite:header.x-caller-arn": "$context.identity.userArn",
        },
    )
    gateway.create_route(
        ApiId=api_id,
        RouteKey="ANY /{proxy+}",
        AuthorizationType="AWS_IAM",
        Target=f"integrations/{integration['IntegrationId']}",
    )
    gateway.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
    resource = f"arn:aws:execute-api:{REGION}:{PROVIDER}:{api_id}/$default/*/*"
    iam_a.put_role_policy(
        RoleName="ApiAllowByIamRoleStag",
        PolicyName="invoke",
        PolicyDocument=_document({"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": resource}),
    )
    return Setup(aws, api_id, invoke_arn, aws.workload_session(workload_arn, region=REGION))


def arguments(description: str, default: int) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--requests", type=int, default=default, help=f"requests per variant (default {default})")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds, to spread drift over variants")
    parser.add_argument("--quick", action="store_true", help="a few requests only: checks the benchmark runs")
    args = parser.parse_args()
    if args.quick:
        args.requests, args.rounds = 40, 2
    return args


def timed(variants: dict[str, Callable[[], Any]], requests: int, rounds: int) -> dict[str, float]:
    """Seconds per request of each variant, run in interleaved rounds (A B C, B C A, ...)."""
    totals = dict.fromkeys(variants, 0.0)
    names = list(variants)
    per_round = max(1, requests // rounds)
    for _ in range(3):  # warm up connections, credentials and caches
        for call in variants.values():
            call()
    for round_ in range(rounds):
        order = names[round_ % len(names) :] + names[: round_ % len(names)]
        for name in order:
            call = variants[name]
            started = time.perf_counter()
            for _ in range(per_round):
                call()
            totals[name] += time.perf_counter() - started
    return {name: total / (per_round * rounds) for name, total in totals.items()}


def save(name: str, payload: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {"machine": platform.platform(), "python": platform.python_version(), **payload}
    path.write_text(json.dumps(payload, indent=2))
    return path
