"""`xacct access report` as a CI job runs it: a subprocess whose exit status tells drift from failure (issue 19).

A check that exits 1 both when the API drifted from what Terraform declared and when the report could not be made
(no credentials, no connection) cannot page the right person: drift is 3, failure 1, a bad option 2.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from xacct.local import LocalAws
from xacct.local.echo_server import EchoServer
from xacct.local.stacks import ApiStack, build_api
from xacct.status import ExitStatus

from helpers import REGION, closed_port

XACCT = str(Path(sys.executable).parent / "xacct")


@pytest.fixture(scope="module")
def stack(local_aws: LocalAws, echo: EchoServer, new_account: Callable[[], str]) -> ApiStack:
    """One API (boto3-built, ~1 s), its invoke role ApiInvoke trusting the consumer's workload role."""
    return build_api(local_aws, new_account(), new_account(), echo.url)


def report(
    local_aws: LocalAws, stack: ApiStack, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`xacct access report` as the provider account's root (its keys in the environment), JSON on stdout."""
    if env is None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "XACCT_"))}
        env.update(local_aws.env(stack.provider))
    args = [XACCT, "access", "report", "--api-id", stack.api_id, "--region", REGION, "--format", "json", *extra]
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_as_declared_exits_0_and_drift_exits_3(local_aws: LocalAws, stack: ApiStack, tmp_path: Path) -> None:
    made = report(local_aws, stack)
    assert made.returncode == ExitStatus.OK, made.stderr
    document = json.loads(made.stdout)
    assert document["routes"]
    declared = tmp_path / "declared.json"
    declared.write_text(
        json.dumps(
            {
                "invoke_roles": {
                    "ApiInvoke": {
                        "trusted_principals": ["arn:aws:iam::999999999999:role/SomeoneElse"],
                        "allowed_routes": ["GET /nothing"],
                    }
                }
            }
        )
    )
    drift = report(local_aws, stack, "--expect", str(declared))
    assert drift.returncode == ExitStatus.DRIFT == 3, drift.stderr
    assert json.loads(drift.stdout)["routes"] == document["routes"]  # the report is made all the same
    assert re.search(
        rf"^xacct access report: \d+ difference\(s\) from {re.escape(str(declared))}:$", drift.stderr, re.M
    )
    assert "Traceback" not in drift.stderr


@pytest.mark.parametrize("why", ["no connection", "no credentials"])
def test_a_report_that_cannot_be_made_exits_1(local_aws: LocalAws, stack: ApiStack, tmp_path: Path, why: str) -> None:
    """Not 3, even with --expect: nothing was compared."""
    declared = tmp_path / "declared.json"
    declared.write_text('{"invoke_roles": {}}')
    if why == "no connection":
        endpoint = f"http://127.0.0.1:{closed_port()}"
        failed = report(local_aws, stack, "--expect", str(declared), "--endpoint-url", endpoint)
        assert (
            failed.stderr.splitlines()[-1]
            == f'xacct access report: Could not connect to the endpoint URL: "{endpoint}/"'
        )
    else:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "XACCT_"))}
        (tmp_path / "config").write_text("")
        env.update(
            AWS_CONFIG_FILE=str(tmp_path / "config"),
            AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "config"),
            AWS_EC2_METADATA_DISABLED="true",
            AWS_ENDPOINT_URL=local_aws.endpoint_url,
        )
        failed = report(local_aws, stack, "--expect", str(declared), env=env)
        assert failed.stderr.splitlines()[-1] == (
            "xacct access report: no AWS credentials: pass --profile, or set them in the environment"
        )
    assert failed.returncode == ExitStatus.ERROR == 1
    assert failed.stdout == ""


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--endpoint-url", "localhost:4566"],
            "xacct access report: argument --endpoint-url: 'localhost:4566' must be http(s)://host[:port] (e.g. the "
            "local AWS) (see xacct access report --help)",
        ),
        (
            ["--region", "Tokyo"],
            "xacct access report: argument --region: 'Tokyo' is not an AWS region name; expected e.g. "
            "ap-northeast-1 (see xacct access report --help)",
        ),
    ],
)
def test_a_bad_option_exits_2_before_any_aws_call(
    local_aws: LocalAws, stack: ApiStack, extra: list[str], message: str
) -> None:
    bad = report(local_aws, stack, *extra)
    assert bad.returncode == ExitStatus.USAGE == 2
    assert bad.stderr.splitlines() == [message]


def test_the_help_lists_each_exit_status_the_report_has() -> None:
    """From the one table of exit statuses (xacct.status), each with what it means for this command."""
    text = subprocess.run([XACCT, "access", "report", "--help"], capture_output=True, text=True, check=True).stdout
    section = text.split("\nexit status:\n", 1)[1]
    listed = [int(match) for match in re.findall(r"^\s+(\d+)  \S", section, re.M)]
    assert listed == [ExitStatus.OK, ExitStatus.ERROR, ExitStatus.USAGE, ExitStatus.DRIFT, ExitStatus.INTERRUPTED]
    assert re.search(r"^\s+3  DRIFT: the report was made and differs from --expect", section, re.M)
    assert re.search(r"^\s+1  ERROR: the report could not be made", section, re.M)
