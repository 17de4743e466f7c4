"""Issue 19, a new user's first hour: Terraform typed by hand works offline once the docs' one line is pasted.

`make` writes the project's Terraform CLI config (the provider mirror); Terraform by hand does not know it, so the
docs start every by-hand command with `eval "$(.venv/bin/xacct terraform-setup)"` (tests/test_docs.py checks that
they do). Here that line runs in bash as a person pastes it, in a shell whose environment names a CLI config that
does not exist: `terraform init` then finds the AWS provider, and nothing warns about that file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ROOT

XACCT = Path(sys.executable).parent / "xacct"
BASH = shutil.which("bash") or "/bin/bash"


@pytest.mark.xdist_group("terraform-by-hand")
def test_the_docs_line_makes_terraform_init_work_whatever_cli_config_the_environment_names(tmp_path: Path) -> None:
    module = tmp_path / "consumer_role"
    shutil.copytree(ROOT / "modules" / "consumer_role", module, ignore=shutil.ignore_patterns(".terraform*", "tests"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "AWS_"))}
    env["TF_CLI_CONFIG_FILE"] = "/nonexistent/terraform.rc"  # what a machine's environment may name
    pasted = (
        f'eval "$({XACCT} terraform-setup)"'
        " && terraform init -input=false -backend=false -no-color && terraform validate -no-color"
    )
    result = subprocess.run(
        [BASH, "-c", pasted], cwd=module, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Terraform has been successfully initialized!" in output
    assert "Success! The configuration is valid." in output
    # The one warning left is Terraform's own about a lock file built from a mirror (hashes for this platform only;
    # docs/development.md says why lock files are not committed); none about the CLI configuration.
    assert "CLI configuration" not in output, output
