"""`xacct` as a user runs it: a subprocess, credentials from the environment, exit codes like curl's."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest

from xacct.local import LocalAws
from xacct.local.echo_server import EchoServer
from xacct.local.stacks import ApiStack, allow, build_api, trust

from helpers import REGION

XACCT = str(Path(sys.executable).parent / "xacct")


@pytest.fixture
def stack(local_aws: LocalAws, echo: EchoServer, new_account: Callable[[], str]) -> ApiStack:
    return build_api(
        local_aws,
        new_account(),
        new_account(),
        echo.url,
        routes=("ANY /{proxy+}",),
        resources=("*/hoge", "GET/items/*"),
    )


def environment(local_aws: LocalAws, workload: boto3.Session) -> dict[str, str]:
    """The workload's credentials in the environment, as inside a Lambda function; STS is the local AWS."""
    credentials = workload.get_credentials()
    assert credentials is not None
    frozen = credentials.get_frozen_credentials()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "XACCT_"))}
    env.update(
        AWS_ACCESS_KEY_ID=frozen.access_key,
        AWS_SECRET_ACCESS_KEY=frozen.secret_key,
        AWS_SESSION_TOKEN=frozen.token or "",
        AWS_ENDPOINT_URL=local_aws.endpoint_url,
        AWS_REGION=REGION,
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env


def xacct(
    args: list[str], env: dict[str, str] | None = None, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([XACCT, *args], env=env, input=stdin, capture_output=True, timeout=60, check=False)


def call(local_aws: LocalAws, stack: ApiStack, method: str, path: str, *extra: str) -> list[str]:
    return [
        "call",
        method,
        f"https://{stack.host}{path}",
        "--role-arn",
        stack.invoke_role_arn,
        "--endpoint-url",
        local_aws.endpoint_url,
        *extra,
    ]


def test_the_seeds_call(local_aws: LocalAws, stack: ApiStack) -> None:
    result = xacct(
        call(local_aws, stack, "PUT", "/hoge", "-d", '{"foo":"bar"}'), environment(local_aws, stack.workload())
    )
    assert result.returncode == 0, result.stderr
    echo = json.loads(result.stdout)
    assert (echo["method"], echo["path"], echo["body"]) == ("PUT", "/hoge", '{"foo":"bar"}')
    assert echo["headers"]["content-type"] == "application/json"
    assert echo["caller"]["arn"].startswith(f"arn:aws:sts::{stack.provider}:assumed-role/ApiInvoke/")
    assert result.stderr == b""


def test_include_headers_body_from_file_stdin_and_extra_headers(
    local_aws: LocalAws, stack: ApiStack, tmp_path: Path
) -> None:
    env = environment(local_aws, stack.workload())
    (tmp_path / "body.json").write_text('{"from":"file"}')
    result = xacct(
        call(local_aws, stack, "PUT", "/hoge", "-d", f"@{tmp_path / 'body.json'}", "-i", "-H", "X-Team: orders"), env
    )
    assert result.returncode == 0, result.stderr
    head, _, body = result.stdout.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"apigw-requestid: " in head.lower()
    echo = json.loads(body)
    assert (echo["body"], echo["headers"]["x-team"]) == ('{"from":"file"}', "orders")

    piped = xacct(
        call(local_aws, stack, "POST", "/hoge", "-d", "@-", "-H", "Idempotency-Key: k1"), env, stdin=b"plain text"
    )
    assert piped.returncode == 0, piped.stderr
    assert json.loads(piped.stdout)["body"] == "plain text"


def test_query_and_path_from_the_url(local_aws: LocalAws, stack: ApiStack) -> None:
    result = xacct(
        call(local_aws, stack, "GET", "/items/a%20b?k=2&k=1&q=x%2By"), environment(local_aws, stack.workload())
    )
    assert result.returncode == 0, result.stderr
    echo = json.loads(result.stdout)
    assert echo["path"] == "/items/a b"
    assert sorted(map(tuple, echo["query"])) == [("k", "1"), ("k", "2"), ("q", "x+y")]


def test_http_errors_exit_22_with_the_body(local_aws: LocalAws, stack: ApiStack) -> None:
    result = xacct(call(local_aws, stack, "DELETE", "/items/7"), environment(local_aws, stack.workload()))
    assert result.returncode == 22
    assert json.loads(result.stdout)["message"].startswith("User: arn:aws:sts::")
    (line,) = result.stderr.decode().splitlines()
    assert line.startswith("xacct call: 403 from API Gateway (not_authorized)")


def test_assume_role_denied_exits_1_with_one_line(local_aws: LocalAws, stack: ApiStack) -> None:
    iam = local_aws.client("iam", stack.consumer)
    iam.create_role(RoleName="Stranger", AssumeRolePolicyDocument=trust(service=True))
    iam.put_role_policy(RoleName="Stranger", PolicyName="a", PolicyDocument=allow("sts:AssumeRole", "*"))
    stranger = local_aws.workload_session(f"arn:aws:iam::{stack.consumer}:role/Stranger")
    result = xacct(call(local_aws, stack, "GET", "/hoge"), environment(local_aws, stranger))
    assert result.returncode == 1
    (line,) = result.stderr.decode().splitlines()
    assert line.startswith(f"xacct call: AssumeRole denied: arn:aws:sts::{stack.consumer}:assumed-role/Stranger/")
    assert result.stdout == b""


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["call", "GET", "https://x.example.com/"], "the following arguments are required: --role-arn"),
        (["call", "GET", "x.example.com/hoge", "--role-arn", "arn:aws:iam::1:role/x"], "must be http(s)://host/path"),
        (
            ["call", "GET", "https://x.example.com/", "--role-arn", "r", "-H", "NoColon"],
            "-H 'NoColon' is not 'Name: value'",
        ),
        (
            ["call", "GET", "https://x.example.com/", "--role-arn", "r", "-d", "@/nonexistent/file"],
            "-d @/nonexistent/file",
        ),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_usage_errors_exit_2_with_one_line(args: list[str], fragment: str) -> None:
    result = xacct(args)
    assert result.returncode == 2
    (line,) = result.stderr.decode().splitlines()
    assert fragment in line


def test_help_shows_the_seeds_call() -> None:
    result = xacct(["call", "--help"])
    assert result.returncode == 0
    text = result.stdout.decode()
    assert 'xacct call PUT https://server.stag.foo.example.com/hoge -d \'{"foo":"bar"}\'' in text
    assert "exit status: 0" in text


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completion_is_valid_bash() -> None:
    script = xacct(["completion", "bash"]).stdout
    assert b"complete -F _xacct xacct" in script
    bash = shutil.which("bash")
    assert bash is not None
    check = subprocess.run([bash, "-n"], input=script, capture_output=True, check=False)
    assert check.returncode == 0, check.stderr
    assert b"compdef _xacct xacct" in xacct(["completion", "zsh"]).stdout


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_local_up_serves_and_prints_how_to_use_it(stop: signal.Signals) -> None:
    # Started as a background job of a non-interactive shell would be: with SIGINT ignored.
    process = subprocess.Popen(
        [XACCT, "local", "up", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    assert process.stdout is not None
    lines = []
    try:
        for raw in process.stdout:
            lines.append(raw.decode().rstrip())
            if lines[-1].startswith("export XACCT_ENDPOINT_URL="):
                break
        endpoint = lines[-1].split("=", 1)[1]
        assert f"export AWS_ENDPOINT_URL={endpoint}" in lines
        assert "export AWS_ACCESS_KEY_ID=111111111111" in lines
        assert any(line.startswith("export TF_CLI_CONFIG_FILE=") for line in lines)
        sts = boto3.client(
            "sts",
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id="333333333333",
            aws_secret_access_key="x",
        )
        assert sts.get_caller_identity()["Arn"] == "arn:aws:iam::333333333333:root"
    finally:
        process.send_signal(stop)
        out, _ = process.communicate(timeout=20)
    assert process.returncode == 0
    assert b"stopped" in out
