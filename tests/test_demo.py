"""`make demo`'s main job, as a user runs it: xacct demo --keep, then xacct call by hand, then Ctrl-C."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest

XACCT = str(Path(sys.executable).parent / "xacct")

pytestmark = [pytest.mark.apply, pytest.mark.xdist_group("demo")]


def test_demo_shows_the_five_outcomes_and_stays_up_for_xacct_call() -> None:
    demo = subprocess.Popen(
        [XACCT, "demo", "--keep"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )
    assert demo.stdout is not None
    output: list[str] = []
    try:
        for line in demo.stdout:
            output.append(line)
            if "Ctrl-C to destroy and stop" in line:
                break
        text = "".join(output)
        assert text.count("PASS  ") == 5, text
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
        (command,) = re.findall(r"^  \.venv/bin/xacct (call .*)$", text, re.MULTILINE)
        call = subprocess.run(
            [XACCT, *shlex.split(command)], env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert call.returncode == 0, call.stderr
        assert call.stdout.startswith("HTTP/1.1 200 OK")
        assert '"body": "{\\"foo\\":\\"bar\\"}"' in call.stdout
    finally:
        demo.send_signal(signal.SIGINT)
        rest, _ = demo.communicate(timeout=120)
    assert demo.returncode == 0, rest
    assert "Destroying envs/stag, then envs/deve" in rest
    assert "5/5 outcomes as expected" in rest
