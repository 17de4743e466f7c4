"""`make demo` / `xacct demo`: the whole story on a local AWS, with real Terraform and real HTTP.

0. the wrong order first: the provider's invoke role, trusting the consumer's workload role before that role
   exists, is refused at CreateRole with AWS's MalformedPolicyDocument "Invalid principal in policy";
1. apply envs/deve into the consumer account and envs/stag into the provider account (temporary copies);
2. as the consumer workload (LambdaRoleDeve): assume ApiAllowByIamRoleStag, PUT /hoge {"foo": "bar"} -> 200;
3. another role of the consumer account, not trusted -> AccessDenied at AssumeRole;
4. an unsigned request -> 403;
5. around the gateway: a direct request to the API server with a forged x-caller-arn -> 403 (origin secret);
6. a route allowlist: LambdaRoleDeve assumes ApiItemsReadStag, allowed GET /items/{id} only: GET /items/1 -> 200,
   PUT /hoge -> 403;
7. a second team onboarded by adding one file: envs/deve applied in account 444444444444, its file written from
   its own outputs (xacct consumers request) into envs/stag/consumers/team-c.yaml, envs/stag applied again: the
   team calls GET /items/1 -> 200, PUT /hoge -> 403;
then destroy everything (or, with --keep, leave it running for exploring by hand: the banner says how to call, how
to run Terraform as the provider, how to add a second team with an allowlist, how to renew credentials and how to
stop).
"""

from __future__ import annotations

import json
import os
import shlex
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore.exceptions
import requests

from xacct.client import ApiClient
from xacct.consumers import request_text, role_arns_from_output
from xacct.errors import AssumeRoleDenied, InvokeDenied, XacctError
from xacct.local import stacks
from xacct.local.echo_server import EchoServer
from xacct.local.server import LocalAws
from xacct.local.terraform import write_cli_config, write_terraform_tfvars

PROVIDER_ACCOUNT = "111111111111"
CONSUMER_ACCOUNT = "222222222222"
INVOKE_ROLE = stacks.INVOKE_ROLE
WORKLOAD_ROLE = stacks.WORKLOAD_ROLE
UNTRUSTED_ROLE = "BatchRoleDeve"
ITEMS_ROLE = "ApiItemsReadStag"  # an invoke role with a route allowlist
ROUTES = ("ANY /{proxy+}", "GET /items/{id}")
TEAM_B_ACCOUNT = "333333333333"  # the second team the banner shows how to add
TEAM_B_ROLE = "ApiTeamBStag"
TEAM_C_ACCOUNT = "444444444444"  # the team the demo onboards by adding one file (envs/stag/consumers/team-c.yaml)
TEAM_C = "team-c"
# step_apply_order, step_allowed, step_untrusted, step_unsigned, step_around_the_gateway, step_allowlist,
# step_second_team
STEPS = 7

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
        self.stag_values: dict[str, Any] = {}
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
        workload = f"arn:aws:iam::{CONSUMER_ACCOUNT}:role/{WORKLOAD_ROLE}"
        seed = self.envs.seed(
            PROVIDER_ACCOUNT,
            [CONSUMER_ACCOUNT],
            self.server.url,
            invoke_roles={
                INVOKE_ROLE: {"trusted_role_arns": [workload]},
                ITEMS_ROLE: {"trusted_role_arns": [workload], "allowed_routes": ["GET /items/{id}"]},
            },
            routes=ROUTES,
        )
        self.outputs = seed.outputs
        self.stag_values = {
            "region": self.aws.region,
            "api_server_url": self.server.url,
            "invoke_roles": {
                INVOKE_ROLE: {"trusted_role_arns": [workload]},
                ITEMS_ROLE: {"trusted_role_arns": [workload], "allowed_routes": ["GET /items/{id}"]},
            },
            "routes": list(ROUTES),
        }
        # Sealed: the API server accepts only what carries the origin secret the gateway adds.
        seed.seal(self.server)
        self.out(f"  API server:   accepts only requests with the gateway's {seed.origin_header} secret")

    def _client(self, source_role: str, invoke_role: str = INVOKE_ROLE) -> ApiClient:
        workload = self.aws.workload_session(
            f"arn:aws:iam::{CONSUMER_ACCOUNT}:role/{source_role}", session_name="demo-lambda"
        )
        return ApiClient(
            self.outputs["invoke_url"],
            self.outputs["invoke_role_arns"][invoke_role],
            source_session=workload,
            endpoint_url=self.aws.endpoint_url,
            retries=0,
        )

    def step_allowed(self) -> Step:
        step = Step(f"1. {WORKLOAD_ROLE} assumes {INVOKE_ROLE} and calls PUT /hoge", "200 with the caller's identity")
        with self._client(WORKLOAD_ROLE) as api:
            response = api.put("/hoge", json={"foo": "bar"})
        echo = response.json()
        caller_arn = echo["caller"]["arn"] or ""
        # The session name starts with the consumer's account id: the invoke role's trust policy binds it.
        consumer = caller_arn.rsplit("/", 1)[-1].split("-", 1)[0]
        step.observed = (
            f"{response.status_code}; the API server received {echo['method']} {echo['path']} {echo['body']} "
            f"from consumer account {consumer} as {caller_arn}"
        )
        step.ok = (
            response.status_code == 200
            and json.loads(echo["body"]) == {"foo": "bar"}
            and consumer == CONSUMER_ACCOUNT
            and caller_arn.startswith(f"arn:aws:sts::{PROVIDER_ACCOUNT}:assumed-role/{INVOKE_ROLE}/")
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

    def step_around_the_gateway(self) -> Step:
        step = Step(
            "4. Around the gateway: PUT /hoge straight to the API server, with a forged x-caller-arn",
            "403 from the API server (no origin secret)",
        )
        forged = f"arn:aws:sts::{PROVIDER_ACCOUNT}:assumed-role/{INVOKE_ROLE}/{CONSUMER_ACCOUNT}-forged"
        response = requests.put(
            f"{self.server.url}/hoge", json={"foo": "bar"}, headers={"x-caller-arn": forged}, timeout=10
        )
        step.observed = f"{response.status_code} {response.text}"
        step.ok = response.status_code == 403 and "Forbidden" in response.json().get("message", "")
        return step

    def step_allowlist(self) -> Step:
        step = Step(
            f"5. A route allowlist: {WORKLOAD_ROLE} assumes {ITEMS_ROLE}, allowed GET /items/{{id}} only",
            "GET /items/1 -> 200; PUT /hoge -> 403 (not its route)",
        )
        with self._client(WORKLOAD_ROLE, ITEMS_ROLE) as api:
            step.observed, step.ok = _items_only(api)
        return step

    def step_second_team(self) -> Step:
        """Consumers as reviewed data: the provider's whole change is one file in envs/stag/consumers."""
        step = Step(
            f"6. A second team (account {TEAM_C_ACCOUNT}) onboarded by adding one file, "
            f"envs/stag/consumers/{TEAM_C}.yaml",
            "its workload: GET /items/1 -> 200; PUT /hoge -> 403 (not a route in its file)",
        )
        invoke_arn = f"arn:aws:iam::{PROVIDER_ACCOUNT}:role/{TEAM_C}"
        team = self.envs.apply("envs/deve", TEAM_C_ACCOUNT, {"provider_invoke_role_arns": [invoke_arn]})
        stag = next(w for w in self.envs.workspaces if w.folder.name == "stag")
        text = request_text(
            account_id=TEAM_C_ACCOUNT,
            role_arns=role_arns_from_output({"role_arn": {"value": team["role_arn"]}}),
            routes=["GET /items/{id}"],
            contact="team-c@example.com",
            reason="the demo's second team",
        )
        (stag.folder / "consumers" / f"{TEAM_C}.yaml").write_text(text)
        self.out(f"  wrote {stag.folder}/consumers/{TEAM_C}.yaml (xacct consumers request); applying envs/stag")
        self.outputs = stag.apply(self.stag_values)
        workload = self.aws.workload_session(team["role_arn"], session_name="demo-team-c")
        with ApiClient(
            self.outputs["invoke_url"],
            self.outputs["invoke_role_arns"][TEAM_C],
            source_session=workload,
            endpoint_url=self.aws.endpoint_url,
            retries=0,
        ) as api:
            step.observed, step.ok = _items_only(api)
        return step

    def destroy(self) -> None:
        self.out("Destroying envs/stag, then envs/deve")
        self.envs.destroy()

    def explore(self) -> None:
        """The banner of --keep: everything a person needs to go on by hand, as copy-pasteable lines."""
        workload = self.aws.workload_session(
            f"arn:aws:iam::{CONSUMER_ACCOUNT}:role/{WORKLOAD_ROLE}", session_name="by-hand"
        )
        credentials = workload.get_credentials()
        assert credentials is not None
        creds = credentials.get_frozen_credentials()
        base = self.outputs["invoke_url"].rstrip("/")
        endpoint = self.aws.endpoint_url
        exports = {
            "AWS_ENDPOINT_URL": endpoint,
            "XACCT_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": creds.access_key or "",
            "AWS_SECRET_ACCESS_KEY": creds.secret_key or "",
            "AWS_SESSION_TOKEN": creds.token or "",
            "AWS_REGION": self.aws.region,
            "AWS_DEFAULT_REGION": self.aws.region,
        }
        roles = self.outputs["invoke_role_arns"]
        stag = next(w.folder for w in self.envs.workspaces if w.folder.name == "stag")
        team_b = self.envs.workspace("envs/deve", TEAM_B_ACCOUNT)  # a fresh copy, for the second team
        write_terraform_tfvars(
            team_b.folder,
            {
                "region": self.aws.region,
                "provider_invoke_role_arns": [f"arn:aws:iam::{PROVIDER_ACCOUNT}:role/{TEAM_B_ROLE}"],
            },
        )
        provider_env = self._env_file("provider.env", PROVIDER_ACCOUNT)
        team_b_env = self._env_file("team-b.env", TEAM_B_ACCOUNT)
        xacct = ".venv/bin/xacct"
        pid = os.getpid()
        workload_arn = f"arn:aws:iam::{CONSUMER_ACCOUNT}:role/{WORKLOAD_ROLE}"
        team_b_workload = f"arn:aws:iam::{TEAM_B_ACCOUNT}:role/{WORKLOAD_ROLE}"
        team_b_invoke = f"arn:aws:iam::{PROVIDER_ACCOUNT}:role/{TEAM_B_ROLE}"
        team_line = json.dumps({"trusted_role_arns": [team_b_workload], "allowed_routes": ["GET /items/{id}"]})
        lines = [
            f"\nStill running (--keep), as process {pid}. Stop it (everything is destroyed): Ctrl-C here, or",
            f"  kill {pid}",
            "\nIn another shell, from this folder, as the consumer workload (valid for one hour):\n",
            *(f"  export {name}={shlex.quote(value)}" for name, value in exports.items()),
            f'\n  {xacct} call PUT {base}/hoge -d \'{{"foo":"bar"}}\' --role-arn {roles[INVOKE_ROLE]} -i\n',
            f"An allowlisted invoke role ({ITEMS_ROLE}: GET /items/{{id}} only):\n",
            f"  {xacct} call GET {base}/items/1 --role-arn {roles[ITEMS_ROLE]}        # 200",
            f"  {xacct} call PUT {base}/hoge --role-arn {roles[ITEMS_ROLE]}           # 403: not its route\n",
            "Fresh credentials after the hour (the same exports, renewed):\n",
            f'  eval "$({xacct} local credentials {workload_arn} --endpoint-url {endpoint})"\n',
            f"As the provider, Terraform on the deployed envs/stag, in a shell of its own (account {PROVIDER_ACCOUNT}",
            "as root in this local AWS, whose keys are no secret; Terraform's CLI config with the provider mirror):\n",
            *(f"    {line}" for line in self._env_lines(PROVIDER_ACCOUNT)),
            f"    cd {stag} && terraform plan\n",
            f"  The same lines are in {provider_env}, for a subshell of any shell:",
            f"  (source {provider_env} && cd {stag} && terraform plan)",
            f"  What the demo applied is in {stag}/terraform.tfvars: the file to edit (nothing overrides it).\n",
            f"Add a second team, account {TEAM_B_ACCOUNT}, allowed GET /items/{{id}} only",
            '(the README\'s "Add a consumer team"):',
            "  1. its workload role (a fresh copy of envs/deve, its terraform.tfvars filled in):\n",
            f"     (source {team_b_env} && cd {team_b.folder} && terraform init -input=false && terraform apply)\n",
            f"  2. the provider trusts it: add this line to {stag}/terraform.tfvars,",
            "     right after `invoke_roles = {`:\n",
            f'     "{TEAM_B_ROLE}": {team_line},\n',
            f"     (source {provider_env} && cd {stag} && terraform apply)\n",
            "  3. as team B:\n",
            f'     eval "$({xacct} local credentials {team_b_workload} --endpoint-url {endpoint})"',
            f"     {xacct} call GET {base}/items/1 --role-arn {team_b_invoke}   # 200",
            f"     {xacct} call PUT {base}/hoge --role-arn {team_b_invoke}      # 403: not its route\n",
            f"Ctrl-C to destroy and stop (or kill {pid}).",
        ]
        for line in lines:
            self.out(line)

    def _env_lines(self, account: str) -> list[str]:
        """Shell lines that make Terraform (and the AWS CLI) act as ``account``'s root in this local AWS."""
        lines = [f"export {key}={shlex.quote(value)}" for key, value in self.aws.env(account).items()]
        return [*lines, f"export TF_CLI_CONFIG_FILE={shlex.quote(str(write_cli_config()))}", "unset AWS_SESSION_TOKEN"]

    def _env_file(self, name: str, account: str) -> Path:
        """A file of ``_env_lines``, to ``source`` in a subshell."""
        path = self.envs.workdir / name
        path.write_text("\n".join(self._env_lines(account)) + "\n")
        return path


def _items_only(api: ApiClient) -> tuple[str, bool]:
    """A caller allowed GET /items/{id} only: GET /items/1 must answer 200, PUT /hoge 403 (what was seen, and ok)."""
    allowed = api.get("/items/1")
    try:
        refused = api.put("/hoge", json={"foo": "bar"})
        second, denied = f"{refused.status_code} (should have been refused)", False
    except InvokeDenied as error:
        second, denied = f"{error.status_code} ({error.reason})", error.status_code == 403
    return f"GET /items/1 -> {allowed.status_code}; PUT /hoge -> {second}", allowed.status_code == 200 and denied


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
            for run in (
                demo.step_allowed,
                demo.step_untrusted,
                demo.step_unsigned,
                demo.step_around_the_gateway,
                demo.step_allowlist,
                demo.step_second_team,
            ):
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
