"""The stacks the tests, the benchmarks and the demo deploy: one place, so that they cannot drift apart.

- ``build_api``: an IAM-authorized HTTP API, its invoke role and a consumer workload role, made with boto3
  calls against the local AWS (fast: no Terraform). Returns an ``ApiStack``.
- ``Envs``: envs/deve and envs/stag applied with Terraform, each in its own copy of the tree, destroyed in
  reverse order; ``Envs.seed`` is the story's deployment (envs/deve in each consumer account first, then
  envs/stag in the provider account, the API server being e.g. the echo server).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from xacct.client import ApiClient
from xacct.local.echo_server import EchoServer
from xacct.local.server import LocalAws
from xacct.local.terraform import ProviderHosts, Workspace, copy_configuration

REGION = "ap-northeast-1"
INVOKE_ROLE = "ApiAllowByIamRoleStag"
WORKLOAD_ROLE = "LambdaRoleDeve"

Printer = Callable[[str], None]


# -- policy documents -----------------------------------------------------------------------------------------


def trust(*principals: str, service: bool = False) -> str:
    """A trust policy: these role ARNs may assume the role (or, with ``service``, Lambda may)."""
    principal: dict[str, Any] = {"Service": "lambda.amazonaws.com"} if service else {"AWS": list(principals)}
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}],
        }
    )


def allow(action: str, *resources: str, effect: str = "Allow") -> str:
    """An identity policy with one statement: ``effect`` for ``action`` on ``resources``."""
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": effect, "Action": action, "Resource": list(resources)}]}
    )


# -- an API built with boto3 ----------------------------------------------------------------------------------


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
    region: str = REGION
    domain_name: str | None = None
    log_group: str | None = None

    @property
    def host(self) -> str:
        return self.domain_name or f"{self.api_id}.execute-api.{self.region}.amazonaws.com"

    @property
    def base_url(self) -> str:
        return f"https://{self.host}" + ("" if self.stage == "$default" else f"/{self.stage}")

    def workload(self) -> boto3.Session:
        """A session as the consumer workload (a Lambda function running as the workload role)."""
        return self.aws.workload_session(self.workload_role_arn, region=self.region)

    def client(self, **kwargs: Any) -> ApiClient:
        kwargs.setdefault("source_session", self.workload())
        kwargs.setdefault("endpoint_url", self.aws.endpoint_url)
        return ApiClient(self.base_url, self.invoke_role_arn, **kwargs)

    def invoke_credentials(self, external_id: str | None = None) -> dict[str, str]:
        """The invoke role's session credentials, assumed by the workload (botocore only, no xacct code)."""
        sts = self.workload().client("sts")
        if external_id:
            answer = sts.assume_role(
                RoleArn=self.invoke_role_arn, RoleSessionName="test-session", ExternalId=external_id
            )
        else:
            answer = sts.assume_role(RoleArn=self.invoke_role_arn, RoleSessionName="test-session")
        creds = answer["Credentials"]
        return {"key": creds["AccessKeyId"], "secret": creds["SecretAccessKey"], "token": creds["SessionToken"]}

    def destroy(self) -> None:
        """Delete what build_api made (for stacks in shared, well-known accounts)."""
        gateway = self.aws.client("apigatewayv2", self.provider)
        if self.domain_name is not None:
            gateway.delete_domain_name(DomainName=self.domain_name)
        gateway.delete_api(ApiId=self.api_id)
        if self.log_group is not None:
            self.aws.client("logs", self.provider).delete_log_group(logGroupName=self.log_group)
        for account, arn, policy in (
            (self.provider, self.invoke_role_arn, "invoke"),
            (self.consumer, self.workload_role_arn, "assume"),
        ):
            iam = self.aws.client("iam", account)
            name = arn.rsplit("/", 1)[1]
            iam.delete_role_policy(RoleName=name, PolicyName=policy)
            iam.delete_role(RoleName=name)


CALLER_HEADERS = {
    "overwrite:path": "$request.path",
    "overwrite:header.x-caller-arn": "$context.identity.userArn",
}
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "accountId": "$context.identity.accountId",
    "userArn": "$context.identity.userArn",
    "caller": "$context.identity.caller",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "sourceIp": "$context.identity.sourceIp",
}


def build_api(
    aws: LocalAws,
    provider: str,
    consumer: str,
    upstream: str,
    *,
    routes: Sequence[str] = ("ANY /{proxy+}",),
    resources: Sequence[str] = ("*/*",),
    stage: str = "$default",
    integration_type: str = "HTTP_PROXY",
    timeout_ms: int = 30000,
    request_parameters: Mapping[str, str] | None = None,
    access_log: bool = False,
    invoke_role: str = "ApiInvoke",
    workload_role: str = WORKLOAD_ROLE,
    domain_name: str | None = None,
    region: str = REGION,
) -> ApiStack:
    """The workload role in ``consumer`` -> the invoke role in ``provider`` -> an HTTP API forwarding to ``upstream``.

    ``resources`` are the execute-api ARN suffixes after ``<api>/<stage>/`` that the invoke role may call;
    ``request_parameters`` default to CALLER_HEADERS (the path as sent, the verified caller as headers);
    ``domain_name`` maps a custom domain onto the stage.
    """
    workload_arn = f"arn:aws:iam::{consumer}:role/{workload_role}"
    invoke_arn = f"arn:aws:iam::{provider}:role/{invoke_role}"
    iam_b, iam_a = aws.client("iam", consumer), aws.client("iam", provider)
    iam_b.create_role(RoleName=workload_role, AssumeRolePolicyDocument=trust(service=True))
    iam_b.put_role_policy(
        RoleName=workload_role, PolicyName="assume", PolicyDocument=allow("sts:AssumeRole", invoke_arn)
    )
    iam_a.create_role(RoleName=invoke_role, AssumeRolePolicyDocument=trust(workload_arn))
    gateway = aws.client("apigatewayv2", provider)
    api_id = gateway.create_api(Name=f"api-{provider}", ProtocolType="HTTP")["ApiId"]
    lambda_proxy = integration_type == "AWS_PROXY"
    integration = gateway.create_integration(
        ApiId=api_id,
        IntegrationType=integration_type,
        IntegrationUri=upstream,
        IntegrationMethod="POST" if lambda_proxy else "ANY",
        PayloadFormatVersion="2.0" if lambda_proxy else "1.0",
        TimeoutInMillis=timeout_ms,
        **(
            {}
            if lambda_proxy
            else {"RequestParameters": dict(CALLER_HEADERS if request_parameters is None else request_parameters)}
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
    log_group = None
    if access_log:
        log_group = f"/aws/apigateway/{api_id}"
        aws.client("logs", provider).create_log_group(logGroupName=log_group)
        stage_args["AccessLogSettings"] = {
            "DestinationArn": f"arn:aws:logs:{region}:{provider}:log-group:{log_group}",
            "Format": json.dumps(ACCESS_LOG_FORMAT),
        }
    gateway.create_stage(**stage_args)
    if domain_name is not None:
        gateway.create_domain_name(
            DomainName=domain_name,
            DomainNameConfigurations=[{"CertificateArn": f"arn:aws:acm:{region}:{provider}:certificate/local"}],
        )
        gateway.create_api_mapping(DomainName=domain_name, ApiId=api_id, Stage=stage)
    prefix = f"arn:aws:execute-api:{region}:{provider}:{api_id}/{stage}/"
    iam_a.put_role_policy(
        RoleName=invoke_role,
        PolicyName="invoke",
        PolicyDocument=allow("execute-api:Invoke", *(prefix + r for r in resources)),
    )
    return ApiStack(
        aws,
        provider,
        consumer,
        api_id,
        stage,
        invoke_arn,
        workload_arn,
        region=region,
        domain_name=domain_name,
        log_group=log_group,
    )


# -- the envs, applied with Terraform -------------------------------------------------------------------------


@dataclass
class Seed:
    """What ``Envs.seed`` deployed: the envs/deve outputs per consumer account and the envs/stag outputs."""

    provider: str
    consumers: dict[str, dict[str, Any]]
    outputs: dict[str, Any]

    @property
    def invoke_url(self) -> str:
        url: str = self.outputs["invoke_url"]
        return url

    @property
    def invoke_role_arns(self) -> dict[str, str]:
        arns: dict[str, str] = self.outputs["invoke_role_arns"]
        return arns

    def workload_role_arn(self, account: str) -> str:
        arn: str = self.consumers[account]["role_arn"]
        return arn

    @property
    def origin_header(self) -> str:
        """The header that carries the origin secret (envs/stag's origin_verify_header output)."""
        header: str = self.outputs["origin_verify_header"]
        return header

    @property
    def origin_secret(self) -> str:
        """The secret the gateway adds to every request it forwards (a sensitive output of envs/stag)."""
        secret: str = self.outputs["origin_secret"]
        return secret

    def seal(self, server: EchoServer) -> None:
        """Make the API server refuse every request that lacks the gateway's origin secret."""
        server.require_origin(self.origin_header, self.origin_secret)


@dataclass
class Envs:
    """envs/* roots applied with Terraform, each in its own copy of the tree under ``workdir``.

    ``env(account)`` is the environment that makes Terraform act in that account: ``LocalAws.env`` locally,
    a profile for real accounts. ``destroy`` undoes every apply, the last first.
    """

    workdir: Path
    env: Callable[[str], Mapping[str, str]]
    region: str = REGION
    out: Printer = field(default=lambda _: None)
    root: Path | None = None
    hosts: ProviderHosts | None = None
    workspaces: list[Workspace] = field(default_factory=list)

    def workspace(self, folder: str, account: str) -> Workspace:
        """A new Workspace for ``folder`` (e.g. "envs/stag") acting in ``account``, in a fresh copy of the tree."""
        copy = self.workdir / f"{len(self.workspaces) + 1}-{Path(folder).name}-{account}"
        workspace = Workspace(copy_configuration(copy, self.root) / folder, self.env(account), self.hosts)
        self.workspaces.append(workspace)
        return workspace

    def apply(self, folder: str, account: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """Apply ``folder`` in ``account`` with ``values`` (plus this region); return its outputs."""
        self.out(f"Deploying {folder} into account {account}")
        return self.workspace(folder, account).apply({"region": self.region, **values})

    def seed(
        self,
        provider: str,
        consumers: Sequence[str],
        api_server_url: str,
        *,
        invoke_roles: Mapping[str, Mapping[str, Any]] | None = None,
        routes: Sequence[str] | None = None,
    ) -> Seed:
        """envs/deve in each consumer account, then envs/stag in ``provider`` with ``api_server_url`` behind it.

        The consumers' workload roles may assume every invoke role; by default there is one invoke role,
        ApiAllowByIamRoleStag, trusting the first consumer's workload role. The consumer goes first: the
        provider's trust policy can only name a role that exists.
        """
        names = sorted(invoke_roles) if invoke_roles is not None else [INVOKE_ROLE]
        invoke_arns = [f"arn:aws:iam::{provider}:role/{name}" for name in names]
        deployed = {
            account: self.apply("envs/deve", account, {"provider_invoke_role_arns": invoke_arns})
            for account in consumers
        }
        workload = deployed[consumers[0]]["role_arn"]
        self.out(f"  workload role: {workload}")
        values: dict[str, Any] = {
            "api_server_url": api_server_url,
            "invoke_roles": invoke_roles or {INVOKE_ROLE: {"trusted_role_arns": [workload]}},
        }
        if routes is not None:
            values["routes"] = list(routes)
        seed = Seed(provider, deployed, self.apply("envs/stag", provider, values))
        self.out(f"  invoke URL:   {seed.invoke_url}")
        for name, arn in seed.invoke_role_arns.items():
            self.out(f"  invoke role:  {arn}" if len(names) == 1 else f"  invoke role {name}: {arn}")
        return seed

    def destroy(self) -> None:
        """Destroy what was applied, the last apply first (the provider before the consumers it trusts)."""
        for workspace in reversed(self.workspaces):
            if workspace.applied:
                workspace.destroy()
