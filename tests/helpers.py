"""What several tests share: running Terraform on copies, policy documents, an API built with boto3.

Plan expectations (tests/scenarios) and the one compare that checks them live in plan_checks.py.
"""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import tftest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from xacct import terraform as tfrun
from xacct.client import ApiClient
from xacct.local import LocalAws

ROOT = Path(__file__).resolve().parents[1]
REGION = "ap-northeast-1"


def terraform_errors(text: str) -> str:
    """Terraform's diagnostics as one line: no colour, no box drawing, wrapped lines joined."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)
    lines = (line.strip().strip("│╷╵").strip() for line in text.splitlines())
    return re.sub(r"\s+", " ", " ".join(line for line in lines if line))


class Workspace:
    """One Terraform root (a module or an env) inside a copy of the tree, acting as one local account."""

    def __init__(self, folder: Path, env: Mapping[str, str]) -> None:
        self.folder = folder
        self.tf = tfrun.runner(folder, env)
        self._initialised = False
        self._vars_counter = 0

    def init(self) -> Workspace:
        if not self._initialised:
            self.tf.setup(cleanup_on_exit=False)
            self._initialised = True
        return self

    def var_file(self, values: Mapping[str, Any]) -> str:
        self._vars_counter += 1
        path = self.folder / f"case-{self._vars_counter}.tfvars.json"
        path.write_text(json.dumps(values))
        return str(path)

    def plan(self, values: Mapping[str, Any]) -> Any:
        self.init()
        return self.tf.plan(output=True, tf_var_file=self.var_file(values), lock=False)

    def plan_failure(self, values: Mapping[str, Any]) -> str:
        """The plan must fail: return its diagnostics as one line."""
        self.init()
        var_file = self.var_file(values)
        try:
            result = self.tf.execute_command(
                "plan", "-no-color", "-input=false", "-lock=false", f"-var-file={var_file}"
            )
        except tftest.TerraformTestError as error:
            return terraform_errors(" ".join(str(a) for a in error.args))
        raise AssertionError(f"plan succeeded but should have failed:\n{result.out}")

    def apply(self, values: Mapping[str, Any]) -> dict[str, Any]:
        self.init()
        tfrun.write_tfvars(self.folder, values)
        self.tf.apply()
        return {name: value for name, value in self.tf.output().items()}

    def plan_exit_code(self) -> tuple[int, str]:
        """`terraform plan -detailed-exitcode` with the applied variables: 0 = no changes, 2 = changes."""
        result = self.tf.execute_command("plan", "-detailed-exitcode", "-no-color", "-input=false")
        return result.retcode, result.out

    def destroy(self) -> None:
        self.tf.destroy()


# -- policy documents and waiting ---------------------------------------------------------------------------


def trust(*principals: str, service: bool = False) -> str:
    principal: dict[str, Any] = {"Service": "lambda.amazonaws.com"} if service else {"AWS": list(principals)}
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}],
        }
    )


def allow(action: str, *resources: str, effect: str = "Allow") -> str:
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": effect, "Action": action, "Resource": list(resources)}]}
    )


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


# -- an API built with boto3 (fast; the Terraform-built one is in test_access_matrix) ---------------------------


@dataclass
class ApiStack:
    """An IAM-authorized HTTP API in ``provider``, its invoke role, and a consumer workload role."""

    aws: LocalAws
    provider: str
    consumer: str
    api_id: str
    stage: str
    invoke_role_arn: str
    workload_role_arn: str

    @property
    def host(self) -> str:
        return f"{self.api_id}.execute-api.{REGION}.amazonaws.com"

    @property
    def base_url(self) -> str:
        return f"https://{self.host}" + ("" if self.stage == "$default" else f"/{self.stage}")

    def workload(self) -> boto3.Session:
        return self.aws.workload_session(self.workload_role_arn, region=REGION)

    def client(self, **kwargs: Any) -> ApiClient:
        kwargs.setdefault("source_session", self.workload())
        kwargs.setdefault("endpoint_url", self.aws.endpoint_url)
        return ApiClient(self.base_url, self.invoke_role_arn, **kwargs)

    def invoke_credentials(self, external_id: str | None = None) -> dict[str, str]:
        """The invoke role's session credentials, assumed by the workload (botocore only, no project code)."""
        extra = {"ExternalId": external_id} if external_id else {}
        creds = (
            self.workload()
            .client("sts")
            .assume_role(RoleArn=self.invoke_role_arn, RoleSessionName="test-session", **extra)["Credentials"]
        )
        return {"key": creds["AccessKeyId"], "secret": creds["SecretAccessKey"], "token": creds["SessionToken"]}


def build_api(
    aws: LocalAws,
    provider: str,
    consumer: str,
    upstream: str,
    *,
    routes: tuple[str, ...] = ("ANY /{proxy+}",),
    resources: tuple[str, ...] = ("*/*",),
    stage: str = "$default",
    integration_type: str = "HTTP_PROXY",
    timeout_ms: int = 30000,
    request_parameters: dict[str, str] | None = None,
    access_log: bool = False,
) -> ApiStack:
    """``resources`` are execute-api ARN suffixes after <api>/<stage>/ the invoke role may call."""
    workload_arn = f"arn:aws:iam::{consumer}:role/LambdaRoleDeve"
    invoke_arn = f"arn:aws:iam::{provider}:role/ApiInvoke"
    iam_b, iam_a = aws.client("iam", consumer), aws.client("iam", provider)
    iam_b.create_role(RoleName="LambdaRoleDeve", AssumeRolePolicyDocument=trust(service=True))
    iam_b.put_role_policy(
        RoleName="LambdaRoleDeve", PolicyName="assume", PolicyDocument=allow("sts:AssumeRole", invoke_arn)
    )
    iam_a.create_role(RoleName="ApiInvoke", AssumeRolePolicyDocument=trust(workload_arn))
    gateway = aws.client("apigatewayv2", provider)
    api_id = gateway.create_api(Name=f"api-{provider}", ProtocolType="HTTP")["ApiId"]
    parameters = {
        "overwrite:path": "$request.path",
        "overwrite:header.x-caller-account-id": "$context.identity.accountId",
        "overwrite:header.x-caller-arn": "$context.identity.userArn",
    }
    integration = gateway.create_integration(
        ApiId=api_id,
        IntegrationType=integration_type,
        IntegrationUri=upstream,
        IntegrationMethod="POST" if integration_type == "AWS_PROXY" else "ANY",
        PayloadFormatVersion="2.0" if integration_type == "AWS_PROXY" else "1.0",
        TimeoutInMillis=timeout_ms,
        **(
            {}
            if integration_type == "AWS_PROXY"
            else {"RequestParameters": parameters if request_parameters is None else request_parameters}
        ),
    )
    for route in routes:
        gateway.create_route(
            ApiId=api_id,
            RouteKey=route,
            AuthorizationType="AWS_IAM",
            Target=f"integrations/{integration['IntegrationId']}",
        )
    stage_args: dict[str, Any] = {"ApiId": api_id, "StageName": stage, "AutoDeploy": True}
    if access_log:
        logs = aws.client("logs", provider)
        logs.create_log_group(logGroupName=f"/aws/apigateway/{api_id}")
        stage_args["AccessLogSettings"] = {
            "DestinationArn": f"arn:aws:logs:{REGION}:{provider}:log-group:/aws/apigateway/{api_id}",
            "Format": json.dumps(
                {
                    "requestId": "$context.requestId",
                    "accountId": "$context.identity.accountId",
                    "userArn": "$context.identity.userArn",
                    "caller": "$context.identity.caller",
                    "routeKey": "$context.routeKey",
                    "status": "$context.status",
                    "sourceIp": "$context.identity.sourceIp",
                }
            ),
        }
    gateway.create_stage(**stage_args)
    prefix = f"arn:aws:execute-api:{REGION}:{provider}:{api_id}/{stage}/"
    iam_a.put_role_policy(
        RoleName="ApiInvoke",
        PolicyName="invoke",
        PolicyDocument=allow("execute-api:Invoke", *(prefix + r for r in resources)),
    )
    return ApiStack(aws, provider, consumer, api_id, stage, invoke_arn, workload_arn)


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
