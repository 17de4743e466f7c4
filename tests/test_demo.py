"""`make demo`'s main job, as a user runs it: xacct demo --keep, then xacct call by hand, then Ctrl-C.

And issue 19's bar: following only what the banner prints, a user adds a second team (its workload role, the
provider's trust through terraform.tfvars), sees its allowlist refuse a route, renews credentials and stops the demo.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

XACCT = str(Path(sys.executable).parent / "xacct")

pytestmark = [pytest.mark.apply, pytest.mark.xdist_group("demo")]


ROOT = Path(__file__).resolve().parents[1]
BASH = shutil.which("bash") or "/bin/bash"


def bash(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A line of the banner, run as a person pastes it (from the repository's folder)."""
    return subprocess.run(
        [BASH, "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_demo_shows_the_seven_outcomes_and_stays_up_for_xacct_call() -> None:
    demo = subprocess.Popen(
        [XACCT, "demo", "--keep"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )
    assert demo.stdout is not None
    output: list[str] = []
    stopped = False
    try:
        for line in demo.stdout:
            output.append(line)
            if "Ctrl-C to destroy and stop" in line:
                break
        text = "".join(output)
        assert text.count("PASS  ") == 7, text
        assert "PASS  6. A second team (account 444444444444) onboarded by adding one file" in text
        # The wrong apply order, refused as AWS refuses it ("IAM JSON policy elements: Principal").
        assert (
            'observed: MalformedPolicyDocument: Invalid principal in policy: "AWS":'
            '"arn:aws:iam::222222222222:role/LambdaRoleDeve"' in text
        )
        assert "FAIL" not in text
        assert re.search(r"PASS  1\. .*\n.*\n      observed: 200; the API server received PUT /hoge", text)
        assert "AssumeRoleDenied: User: arn:aws:sts::222222222222:assumed-role/BatchRoleDeve/" in text
        assert 'observed: 403 {"message":"Forbidden"}' in text  # API Gateway's body, byte for byte
        # Sealed: around the gateway, a forged caller gets the API server's 403.
        assert re.search(r"PASS  4\. Around the gateway.*\n.*\n      observed: 403 .*x-origin-verify", text), text

        # What the demo prints for exploring by hand works as printed.
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        for name, value in re.findall(r"^  export (\w+)=(.*)$", text, re.MULTILINE):
            env[name] = shlex.split(value)[0]
        # ...for the AWS CLI too: botocore (what the CLI runs on) finds the region, the keys and the endpoint.
        aws_cli = subprocess.run(
            [
                sys.executable,
                "-c",
                "import botocore.session; s = botocore.session.get_session(); "
                "print(s.get_config_variable('region'), s.create_client('sts').get_caller_identity()['Arn'])",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert aws_cli.returncode == 0, aws_cli.stderr
        region, arn = aws_cli.stdout.split()
        assert region == "ap-northeast-1"
        assert arn.startswith("arn:aws:sts::222222222222:assumed-role/LambdaRoleDeve/")
        command = re.findall(r"^  \.venv/bin/xacct (call PUT .* -i)$", text, re.MULTILINE)[0]
        call = subprocess.run(
            [XACCT, *shlex.split(command)], env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert call.returncode == 0, call.stderr
        assert call.stdout.startswith("HTTP/1.1 200 OK")
        assert '"body": "{\\"foo\\":\\"bar\\"}"' in call.stdout
        # A route allowlist refusing a call, in the demo itself.
        assert re.search(
            r"PASS  5\. A route allowlist.*\n.*\n      observed: GET /items/1 -> 200; PUT /hoge -> 403", text
        )

        # The second team, by the banner's lines only (a person answers `terraform apply`'s prompt: -auto-approve).
        pasted = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TF_CLI"))}
        pid = re.search(r"as process (\d+)\.", text)
        assert pid is not None
        assert f"  kill {pid.group(1)}" in text
        (team_b_apply,) = re.findall(r"^     (\(source \S+team-b\.env && .*terraform apply\))$", text, re.MULTILINE)
        applied = bash(team_b_apply.replace("terraform apply", "terraform apply -auto-approve"), pasted)
        assert applied.returncode == 0, applied.stdout + applied.stderr
        tfvars = re.search(r"add this line to (\S+/terraform\.tfvars),", text)
        line = re.search(r'^     ("ApiTeamBStag": .*,)$', text, re.MULTILINE)
        assert tfvars is not None
        assert line is not None
        path = Path(tfvars.group(1))
        path.write_text(path.read_text().replace("invoke_roles = {\n", f"invoke_roles = {{\n{line.group(1)}\n", 1))
        (provider_apply,) = re.findall(r"^     (\(source \S+provider\.env && .*terraform apply\))$", text, re.MULTILINE)
        applied = bash(provider_apply.replace("terraform apply", "terraform apply -auto-approve"), pasted)
        assert applied.returncode == 0, applied.stdout + applied.stderr
        assert "Apply complete! Resources: 2 added, 0 changed, 0 destroyed." in applied.stdout
        renew = re.search(r'^     (eval "\$\(\.venv/bin/xacct local credentials \S+333333333333\S+ .*\)")$', text, re.M)
        calls = re.findall(r"^     (\.venv/bin/xacct call \S+ \S+ --role-arn \S+ApiTeamBStag)\s+# (\d+)", text, re.M)
        assert renew is not None
        assert [status for _, status in calls] == ["200", "403"]
        ends = {k: v for k, v in env.items() if k.endswith("ENDPOINT_URL") or k.endswith("REGION")}
        for command, status in calls:
            team_b = bash(f"{renew.group(1)} && {command} -i", {**pasted, **ends})
            assert team_b.stdout.startswith(f"HTTP/1.1 {status} "), team_b.stdout + team_b.stderr

        # Terraform as the provider, by the export lines the banner prints (a shell of its own): the plan after the
        # second team's apply is empty - what the person edited in terraform.tfvars is what Terraform uses (issue
        # 19: a demo-written *.auto.tfvars.json overrode it, and the second team's role never appeared).
        provider = re.findall(r"^    ((?:export|unset) .*|cd \S+ && terraform plan)$", text, re.MULTILINE)
        assert provider[-1].endswith("terraform plan"), provider
        assert any(line.startswith("export TF_CLI_CONFIG_FILE=") for line in provider), provider
        assert any(line == "export AWS_ACCESS_KEY_ID=111111111111" for line in provider), provider
        provider[-1] += " -detailed-exitcode -no-color"
        planned = bash(" && ".join(provider), pasted)
        assert planned.returncode == 0, planned.stdout + planned.stderr
        assert "No changes." in planned.stdout
        assert "Warning" not in planned.stdout + planned.stderr

        # Stopping it as the banner says: `kill <pid>` (Ctrl-C is the other way; the CLI tests send SIGINT).
        (kill,) = re.findall(r"^  (kill \d+)$", text, re.MULTILINE)
        assert bash(kill, pasted).returncode == 0
        stopped = True
    finally:
        if not stopped:
            demo.send_signal(signal.SIGINT)
        rest, _ = demo.communicate(timeout=120)
    assert demo.returncode == 0, rest
    assert "Destroying envs/stag, then envs/deve" in rest
    assert "7/7 outcomes as expected" in rest
