"""The docs are part of the change: their examples run (the tables: test_docs_tables.py)."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest

from xacct.local import LocalAws
from xacct.local.echo_server import EchoServer
from xacct.local.stacks import build_api

from conftest import README_MODULES, Planned
from helpers import ROOT, fenced
from plan_checks import check_inventory, load_scenario, semantic_checks, summarize


@pytest.mark.parametrize("module", README_MODULES)
def test_module_readme_usage_plans(module: str, planned: Planned) -> None:
    """The Usage block plans (as examples/readme_<module>, see conftest.planned), and plans what
    tests/scenarios/readme/<module>.json lists (addresses + key values)."""
    summary = summarize(planned.plans[("readme", module)])
    check_inventory(summary, load_scenario("readme", module))
    semantic_checks(summary)


@pytest.fixture
def seed_deployment(local_aws: LocalAws, echo: EchoServer) -> Iterator[dict[str, str]]:
    """What the README's snippet names: server.stag.foo.example.com in 111111111111, LambdaRoleDeve in 222222222222."""
    stack = build_api(
        local_aws,
        "111111111111",
        "222222222222",
        echo.url,
        invoke_role="ApiAllowByIamRoleStag",
        domain_name="server.stag.foo.example.com",
    )
    credentials = stack.workload().get_credentials()
    assert credentials is not None
    frozen = credentials.get_frozen_credentials()
    yield {
        "AWS_ACCESS_KEY_ID": frozen.access_key,
        "AWS_SECRET_ACCESS_KEY": frozen.secret_key,
        "AWS_SESSION_TOKEN": frozen.token or "",
    }
    stack.destroy()


@pytest.mark.xdist_group("apply")  # it uses the accounts and role names that test_apply uses
def test_the_readme_replaces_the_seed_snippet_with_three_lines(
    local_aws: LocalAws, seed_deployment: dict[str, str]
) -> None:
    snippet = fenced((ROOT / "README.md").read_text(), "python", "three lines:")
    assert len(snippet.strip().splitlines()) == 3
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "XACCT_"))}
    env.update(seed_deployment, AWS_ENDPOINT_URL=local_aws.endpoint_url, XACCT_ENDPOINT_URL=local_aws.endpoint_url)
    result = subprocess.run(
        [sys.executable, "-c", snippet], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    echo = ast.literal_eval(result.stdout)  # the snippet prints the decoded JSON
    assert (echo["method"], echo["path"], echo["body"]) == ("PUT", "/hoge", '{"foo":"bar"}')


BY_HAND_DOCS = sorted(
    {
        ROOT / "README.md",
        ROOT / "CONTRIBUTING.md",
        ROOT / "envs" / "README.md",
        *(ROOT / "examples").glob("*/README.md"),
        *(ROOT / "modules").glob("*/README.md"),
        *(ROOT / "docs").glob("*.md"),
    }
)
TERRAFORM_BY_HAND = re.compile(r"^\s*(?:cd \S+ && )?terraform (?:init|plan|apply|test)\b", re.MULTILINE)


def _first_terraform_command(text: str) -> int | None:
    """Where the first Terraform command to type (in a sh/bash block) starts, or None."""
    commands = (
        block.start(1) + command.start()
        for block in re.finditer(r"```(?:sh|bash|console)\n(.*?)```", text, re.DOTALL)
        for command in TERRAFORM_BY_HAND.finditer(block.group(1))
    )
    return next(commands, None)


def test_terraform_by_hand_starts_with_the_cli_config() -> None:
    """Issue 19: the README's `terraform init && terraform test` failed offline, since Terraform by hand ignores the
    provider mirror `make` set up. Any doc that shows a Terraform command to type says, before it, how to get the
    project's CLI config into the shell (`eval "$(.venv/bin/xacct terraform-setup)"`: export TF_CLI_CONFIG_FILE=...)."""
    with_commands = {doc: _first_terraform_command(doc.read_text()) for doc in BY_HAND_DOCS}
    with_commands = {doc: first for doc, first in with_commands.items() if first is not None}
    assert {ROOT / "README.md", ROOT / "envs" / "README.md"} <= set(with_commands)
    missing = [
        str(doc.relative_to(ROOT))
        for doc, first in with_commands.items()
        if "xacct terraform-setup)" not in doc.read_text()[:first]
    ]
    assert missing == [], 'say `eval "$(.venv/bin/xacct terraform-setup)"` before the first Terraform command'
