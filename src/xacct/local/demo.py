"""`make demo` / `xacct demo`: the whole story on a local AWS, with real Terraform and real HTTP.

0. the wrong order first: the provider's invoke role, trusting the consumer's workload role before that role
   exists, is refused at CreateRole with AWS's MalformedPolicyDocument "Invalid principal in policy";
1. apply envs/deve into the consumer account and envs/stag into the provider account (temporary copies);
2. as the consumer workload (LambdaRoleDeve): assume ApiAllowByIamRoleStag, PUT /hoge {"foo": "bar"} -> 200;
3. another role of the consumer account, not trusted -> AccessDenied at AssumeRole;
4. an unsigned request -> 403;
then destroy everything (or, with --keep, leave it running for exploring by hand).
"""

from __future__ import annotations

import json
import shlex
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore.exceptions
import requests

from xacct.client import ApiClient
from xacct.errors import AssumeRoleDenied, XacctError
from xacct.local import stacks
from xacct.local.echo_server import EchoServer
from xacct.local.server import LocalAws

PROVIDER_ACCOUNT = "111111111111"
CONSUMER_ACCOUNT = "222222222222"
INVOKE_ROLE = stacks.INVOKE_ROLE
WORKLOAD_ROLE = stacks.WORKLOAD_ROLE
UNTRUSTED_ROLE = "BatchRoleDeve"
STEPS = 4  # step_apply_order, step_allowed, step_untrusted, step_unsigned

Printer = stacks.Printer


@dataclass
class Step:
    title: str
    expected: str
    observed: str = ""
    ok: bool = False


class Demo:
    def __init__(self, aws: LocalAws, server: EchoServer, workdir: Path, out: Printer) -> None:
        self.aws = aws
        self.server = server
        self.out = out
        self.envs = stacks.Envs(workdir, aws.env, region=aws.region, out=out)
        self.outputs: dict[str, Any] = {}
        self.steps: list[Step] = []

    def step_apply_order(self) -> Step:
        """envs/stag before envs/deve, reduced to the call that fails: CreateRole of the invoke role (as in AWS).

        A full Terraform apply fails the same way (tests/test_trust_storage.py), after the AWS provider has
        retried CreateRole for two minutes; the demo shows the refusal itself.
        """
        workload = f"arn:aws:iam::{CONSUMER_ACCOUNT}:role/{WORKLOAD_ROLE}"
        step = Step(
            f"0. envs/stag before envs/deve: {INVOKE_ROLE} trusting {WORKLOAD_ROLE}, which does not exist yet",
            "MalformedPolicyDocument: Invalid principal in policy at CreateRole (so: envs/deve first)",
        )
        iam = self.aws.client("iam", PROVIDER_ACCOUNT)
        try:
            iam.create_role(RoleName=INVOKE_ROLE, AssumeRolePolicyDocument=stacks.trust(workload))
        except botocore.exceptions.ClientError as error:
            code, message = error.response["Error"]["Code"], error.response["Error"]["Message"]
            step.observed = f"{code}: {message}"
            step.ok = (
                code == "MalformedPolicyDocument" and message == f'Invalid principal in policy: "AWS":"{workload}"'
            )
        else:
            iam.delete_role(RoleName=INVOKE_ROLE)
            step.observed = "CreateRole succeeded (should have been refused)"
        return step

    def deploy(self) -> None:
        self.out("envs/deve first: the provider's trust policy can only name a role that exists")
        seed = self.envs.seed(PROVIDER_ACCOUNT, [CONSUMER_ACCOUNT], self.server.url)
        self.outputs = seed.outputs

    def _client(self, source_role: str) -> ApiClient:
        workload = self.aws.workload_session(
            f"arn:aws:iam::{CONSUMER_ACCOUNT}:role/{source_role}", session_name="demo-lambda"
        )
        return ApiClient(
            self.outputs["invoke_url"],
            self.outputs["invoke_role_arns"][INVOKE_ROLE],
            source_session=workload,
            endpoint_url=self.aws.endpoint_url,
        )

    def step_allowed(self) -> Step:
        step = Step(f"1. {WORKLOAD_ROLE} assumes {INVOKE_ROLE} and calls PUT /hoge", "200 with the caller's identity")
        with self._client(WORKLOAD_ROLE) as api:
            response = api.put("/hoge", json={"foo": "bar"})
        echo = response.json()
        caller = echo["caller"]
        step.observed = (
            f"{response.status_code}; the API server received {echo['method']} {echo['path']} {echo['body']} "
            f"from account {caller['account_id']} as {caller['arn']}"
        )
        step.ok = (
            response.status_code == 200
            and json.loads(echo["body"]) == {"foo": "bar"}
            and caller["account_id"] == PROVIDER_ACCOUNT
            and f":assumed-role/{INVOKE_ROLE}/" in (caller["arn"] or "")
        )
        return step

    def step_untrusted(self) -> Step:
        step = Step(
            f"2. {UNTRUSTED_ROLE} (same account, allowed by its own policy, not in the trust policy)",
            "AccessDenied at AssumeRole",
        )
        iam = self.aws.client("iam", CONSUMER_ACCOUNT)
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "batch.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        iam.create_role(RoleName=UNTRUSTED_ROLE, AssumeRolePolicyDocument=json.dumps(trust))
        iam.put_role_policy(
            RoleName=UNTRUSTED_ROLE,
            PolicyName="AssumeApiRole",
            PolicyDocument=stacks.allow("sts:AssumeRole", self.outputs["invoke_role_arns"][INVOKE_ROLE]),
        )
        try:
            with self._client(UNTRUSTED_ROLE) as api:
                response = api.put("/hoge", json={"foo": "bar"})
            step.observed = f"{response.status_code} (should have been refused)"
        except AssumeRoleDenied as denied:
            step.observed = f"AssumeRoleDenied: {denied.aws_message}"
            step.ok = True
        finally:
            iam.delete_role_policy(RoleName=UNTRUSTED_ROLE, PolicyName="AssumeApiRole")
            iam.delete_role(RoleName=UNTRUSTED_ROLE)
        return step

    def step_unsigned(self) -> Step:
        step = Step("3. An unsigned PUT /hoge", "403 Forbidden")
        host = self.outputs["invoke_url"].split("/")[2]
        response = requests.put(
            f"{self.aws.endpoint_url}/hoge", json={"foo": "bar"}, headers={"Host": host}, timeout=10
        )
        step.observed = f"{response.status_code} {response.text}"
        step.ok = response.status_code == 403 and response.json() == {"message": "Forbidden"}
        return step

    def destroy(self) -> None:
        self.out("Destroying envs/stag, then envs/deve")
        self.envs.destroy()

    def explore(self) -> None:
        workload = self.aws.workload_session(
            f"arn:aws:iam::{CONSUMER_ACCOUNT}:role/{WORKLOAD_ROLE}", session_name="by-hand"
        )
        credentials = workload.get_credentials()
        assert credentials is not None
        creds = credentials.get_frozen_credentials()
        url = self.outputs["invoke_url"].rstrip("/") + "/hoge"
        exports = {
            "AWS_ENDPOINT_URL": self.aws.endpoint_url,
            "XACCT_ENDPOINT_URL": self.aws.endpoint_url,
            "AWS_ACCESS_KEY_ID": creds.access_key or "",
            "AWS_SECRET_ACCESS_KEY": creds.secret_key or "",
            "AWS_SESSION_TOKEN": creds.token or "",
            "AWS_REGION": self.aws.region,
            "AWS_DEFAULT_REGION": self.aws.region,
        }
        self.out("\nStill running (--keep). In another shell, as the consumer workload (valid for one hour):\n")
        for name, value in exports.items():
            self.out(f"  export {name}={shlex.quote(value)}")
        role = self.outputs["invoke_role_arns"][INVOKE_ROLE]
        self.out(f'\n  .venv/bin/xacct call PUT {url} -d \'{{"foo":"bar"}}\' --role-arn {role} -i\n')
        copies = ", ".join(str(workspace.folder) for workspace in self.envs.workspaces)
        self.out(f"Terraform working copies: {copies}. Ctrl-C to destroy and stop.")


def run_demo(*, keep: bool = False, region: str = "ap-northeast-1", port: int = 0, out: Printer = print) -> int:
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="xacct-demo-") as tmp,
        LocalAws(port, region=region) as aws,
        EchoServer() as server,
    ):
        out(f"Local AWS on {aws.endpoint_url} (accounts {CONSUMER_ACCOUNT} consumer, {PROVIDER_ACCOUNT} provider)")
        out(f"API server (echo) on {server.url}\n")
        demo = Demo(aws, server, Path(tmp), out)

        def report(step: Step) -> None:
            demo.steps.append(step)
            verdict = "PASS" if step.ok else "FAIL"
            out(f"{verdict}  {step.title}\n      expected: {step.expected}\n      observed: {step.observed}\n")

        try:
            report(demo.step_apply_order())
            demo.deploy()
            out("")
            for run in (demo.step_allowed, demo.step_untrusted, demo.step_unsigned):
                try:
                    step = run()
                except (XacctError, requests.RequestException) as error:
                    step = Step(run.__name__, "see above", f"{type(error).__name__}: {error}")
                report(step)
            if keep:
                demo.explore()
                aws.wait_until_interrupted()
                out("")
        finally:
            demo.destroy()
        passed = sum(step.ok for step in demo.steps)
        out(f"{passed}/{STEPS} outcomes as expected, in {time.monotonic() - started:.0f} s.")
        return 0 if passed == STEPS else 1
