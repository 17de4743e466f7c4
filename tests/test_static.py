"""Static checks of the Terraform: fmt, validate of every module and env, checkov (offline)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from xacct.local import terraform as tfrun

from helpers import ROOT

ROOTS = ["modules/provider_api", "modules/consumer_role", "envs/stag", "envs/deve"]


def test_terraform_fmt() -> None:
    result = subprocess.run(
        [tfrun.terraform_binary(), "fmt", "-check", "-recursive", "-diff", "modules", "envs", "examples"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"terraform fmt would change:\n{result.stdout}{result.stderr}"


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tfrun.copy_configuration(tmp_path_factory.mktemp("static"), ROOT)


@pytest.mark.parametrize("folder", ROOTS)
def test_terraform_validate(folder: str, copy: Path) -> None:
    env = {**os.environ, **tfrun.environment()}
    binary = tfrun.terraform_binary()
    subprocess.run(
        [binary, "init", "-backend=false", "-input=false"], cwd=copy / folder, env=env, check=True, capture_output=True
    )
    result = subprocess.run(
        [binary, "validate", "-json"], cwd=copy / folder, env=env, capture_output=True, text=True, check=False
    )
    report = json.loads(result.stdout)
    assert report["valid"], report["diagnostics"]
    assert report["warning_count"] == 0, report["diagnostics"]


def _checkov() -> str:
    binary = os.environ.get("XACCT_CHECKOV") or shutil.which("checkov")
    if not binary:
        pytest.fail("checkov not found: `make test` installs it into .venv-checkov (or set XACCT_CHECKOV)")
    return binary


@pytest.mark.parametrize("directory", ["modules", "envs", "examples"])
def test_checkov_passes_with_every_skip_justified(directory: str, copy: Path) -> None:
    result = subprocess.run(
        [_checkov(), "-d", str(copy / directory), "--framework", "terraform", "--skip-download", "-o", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed = [(c["check_id"], c["resource"]) for r in reports for c in r["results"]["failed_checks"]]
    assert failed == [], f"checkov failed checks: {failed}"
    assert sum(r["summary"]["passed"] for r in reports) > 20, "checkov scanned nothing"
    for report in reports:
        for skipped in report["results"]["skipped_checks"]:
            reason = (skipped.get("check_result") or {}).get("suppress_comment", "")
            assert len(reason) > 20, f"{skipped['check_id']} on {skipped['resource']} is skipped without a reason"
