"""Static checks of the Terraform: fmt, validate of the envs, checkov on the modules' HCL and every plan."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from xacct.local import terraform as tfrun

from conftest import Planned
from helpers import ROOT
from plan_checks import case_key

# The modules are validated by their `terraform test` (test_validation.py), which validates first and must be free
# of warnings too: one Terraform process less per module.
ROOTS = ["envs/stag", "envs/deve"]


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
    """Validated with the provider's schema from a host (validate never configures it; see ProviderHost)."""
    env = {**os.environ, **tfrun.environment()}
    binary = tfrun.terraform_binary()
    subprocess.run(
        [binary, "init", "-backend=false", "-input=false"], cwd=copy / folder, env=env, check=True, capture_output=True
    )
    provider = tfrun.installed_provider(copy / folder)
    with tfrun.ProviderHost(provider, env, copy / f"{Path(folder).name}-provider.log") as host:
        result = subprocess.run(
            [binary, "validate", "-json"],
            cwd=copy / folder,
            env={**env, tfrun.REATTACH: host.reattach},
            capture_output=True,
            text=True,
            check=False,
        )
    report = json.loads(result.stdout)
    assert report["valid"], report["diagnostics"]
    assert report["warning_count"] == 0, report["diagnostics"]


def _checkov() -> str:
    binary = os.environ.get("XACCT_CHECKOV") or shutil.which("checkov")
    if not binary:
        pytest.fail("checkov not found: `make test` installs it into .venv-checkov (or set XACCT_CHECKOV)")
    return binary


def checkov_reports(*arguments: str) -> list[dict[str, Any]]:
    """checkov's JSON reports (one per framework run) for these arguments; offline, no external checks."""
    result = subprocess.run(
        [_checkov(), *arguments, "--skip-download", "-o", "json"], capture_output=True, text=True, check=False
    )
    try:
        reports = json.loads(result.stdout)
    except ValueError:
        output = f"{result.stdout[-2000:]}{result.stderr[-2000:]}"
        raise AssertionError(f"checkov printed no JSON report:\n{output}") from None
    return reports if isinstance(reports, list) else [reports]


def test_checkov_passes_with_every_skip_justified(copy: Path) -> None:
    """checkov on the HCL of modules/, where every resource is declared.

    envs/ and examples/ only call the modules (asserted here): scanning their HCL would scan the modules again
    through each call. test_checkov_passes_on_the_plan_of_every_scenario scans them with every value resolved.
    One exception: envs/stag's terraform_data "consumers", which creates nothing in AWS (it carries the consumers
    folder's checks as a precondition), so checkov has nothing of it to check."""
    for folder in ("envs", "examples"):
        declared = [
            f"{path.relative_to(copy)}: {line.strip()}"
            for path in sorted((copy / folder).rglob("*.tf"))
            for line in path.read_text().splitlines()
            if re.match(r'\s*(resource|data)\s+"', line) and not re.match(r'\s*resource\s+"terraform_data"', line)
        ]
        assert declared == [], f"{folder}/ declares resources of its own: scan its HCL too ({declared})"
    reports = checkov_reports("-d", str(copy / "modules"), "--framework", "terraform")
    failed = [(c["check_id"], c["resource"]) for r in reports for c in r["results"]["failed_checks"]]
    assert failed == [], f"checkov failed checks: {failed}"
    unparsed = [path for r in reports for path in r["results"].get("parsing_errors", [])]
    assert unparsed == [], f"checkov could not parse (and so did not check) {unparsed}"
    scanned = {c["file_path"].split("/")[1] for r in reports for c in r["results"]["passed_checks"]}
    assert scanned == {"provider_api", "consumer_role"}, f"checkov passed checks only in {scanned}"
    assert sum(r["summary"]["passed"] for r in reports) > 30, "checkov scanned nothing"
    for report in reports:
        for skipped in report["results"]["skipped_checks"]:
            reason = (skipped.get("check_result") or {}).get("suppress_comment", "")
            assert len(reason) > 20, f"{skipped['check_id']} on {skipped['resource']} is skipped without a reason"


# Checks that cannot pass on a plan (of the envs or any scenario), each with its reason (the HCL carries the same
# skips inline, but checkov's terraform_plan framework does not read HCL comments).
PLAN_SKIPS: dict[str, str] = {
    "CKV_AWS_76": "the stage has an access log, but its destination (the log group's ARN) is known only at apply, "
    "so a plan shows access_log_settings without destination_arn; the HCL scan checks it",
    "CKV_AWS_158": "the access log group's KMS key is the team's choice (access_log_kms_key_arn, optional): "
    "CloudWatch Logs encrypts every log group at rest without one",
    "CKV_AWS_338": "log retention is the team's choice (access_log_retention_in_days, 30 days by default as the "
    "product specifies); set 365 or more where audit rules require a year",
}


def test_checkov_passes_on_the_plan_of_every_scenario(planned: Planned) -> None:
    """checkov on `terraform show -json` of the plans of every scenario (the envs with the seed's variables, each
    module scenario, the examples, the READMEs' Usage blocks; against the local AWS, see conftest.planned): what
    the resources will be, after variables and modules are resolved - not only what the HCL says."""
    assert len(planned.files) == 2, planned.files  # one batch per account
    reports = checkov_reports(
        "-f",
        *map(str, planned.files),
        "--framework",
        "terraform_plan",
        *(["--skip-check", ",".join(PLAN_SKIPS)] if PLAN_SKIPS else []),
    )
    failed = [(c["check_id"], c["file_path"], c["resource"]) for r in reports for c in r["results"]["failed_checks"]]
    assert failed == [], f"checkov failed checks on the plans: {failed}"
    passed = [c["resource"] for r in reports for c in r["results"]["passed_checks"]]
    for key in (case_key(target, name) for target, name in planned.plans):
        assert any(r.startswith(f"module.{key}.") for r in passed), f"checkov passed no check in the plan of {key}"
    for check, reason in PLAN_SKIPS.items():
        assert len(reason) > 40, check


def test_make_lint_runs_terraform_with_the_projects_cli_config(tmp_path: Path) -> None:
    """Issue 19: with a TF_CLI_CONFIG_FILE naming a file that does not exist (as on some machines), `make test`'s
    `terraform fmt` printed "Warning: Unable to open CLI configuration file": the project's own config is used now."""
    make = shutil.which("make")
    assert make is not None
    env = {**os.environ, "TF_CLI_CONFIG_FILE": str(tmp_path / "missing.rc"), "MAKEFLAGS": ""}
    result = subprocess.run(
        [make, "--no-print-directory", "lint"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr
