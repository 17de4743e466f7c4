"""xacct consumers validate | list | request (issue 22): the consumers folder offline, for people, CI and pre-commit.

The rules are envs/stag's (tests/test_consumers_folder.py plans the same files and compares the messages)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jsonschema
import pytest
import yaml

from xacct.consumers import SCHEMA, read_folder

from helpers import ROOT

CONSUMER = "222222222222"


def xacct(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "xacct.cli", *args], capture_output=True, text=True, input=stdin, timeout=60, check=False
    )


def team_file(folder: Path, name: str, *, expires: str | None = None, **changes: object) -> Path:
    document: dict[str, object] = {
        "account_id": CONSUMER,
        "role_arns": [f"arn:aws:iam::{CONSUMER}:role/LambdaRoleDeve"],
        "routes": ["GET /items/{id}"],
        "contact": "team-b@example.com",
        "reason": "nightly report",
        **changes,
    }
    if expires is not None:
        document["expires"] = expires
    path = folder / name
    path.write_text(json.dumps(document) if name.endswith(".json") else yaml.safe_dump(document))
    return path


def test_the_published_schema_is_the_one_the_rules_use(tmp_path: Path) -> None:
    """schemas/consumer.schema.json is SCHEMA; a good file satisfies it, and `validate --schema` prints it."""
    assert json.loads((ROOT / "schemas" / "consumer.schema.json").read_text()) == SCHEMA
    good = yaml.safe_load(team_file(tmp_path, "team-b.yaml", expires="2999-01-01").read_text())
    jsonschema.validate(good, SCHEMA)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**good, "route": []}, SCHEMA)
    assert json.loads(xacct("consumers", "validate", str(tmp_path), "--schema").stdout) == SCHEMA


def test_validate_passes_a_good_folder_and_names_each_problem(tmp_path: Path) -> None:
    team_file(tmp_path, "team-b.yaml", expires="2999-01-01")
    team_file(tmp_path, "team-c.json")
    ok = xacct("consumers", "validate", str(tmp_path), "--routes", "ANY /{proxy+}", "GET /items/{id}")
    assert (ok.returncode, ok.stdout.strip()) == (0, f"2 team file(s) in {tmp_path}: OK")
    team_file(tmp_path, "team-d.yaml", routes=["DELETE /items/{id}"], owner="me")
    bad = xacct("consumers", "validate", str(tmp_path), "--routes", "ANY /{proxy+}", "GET /items/{id}")
    assert bad.returncode == 1
    assert f'{tmp_path}/team-d.yaml: unknown field "owner"' in bad.stderr
    assert 'team-d.yaml: route "DELETE /items/{id}" is not a route of this API' in bad.stderr
    assert "2 problem(s): terraform plan would refuse these files" in bad.stderr


def test_an_unquoted_account_id_is_refused_as_terraform_reads_it(tmp_path: Path) -> None:
    """Terraform's yamldecode reads `account_id: 012345678901` as a number (the zero is lost): quote it."""
    (tmp_path / "zero.yaml").write_text(
        "account_id: 012345678901\nrole_arns: [arn:aws:iam::012345678901:role/R]\nroutes: ['*']\n"
        "contact: a@example.com\nreason: r\n"
    )
    problems = read_folder(tmp_path).problems
    assert problems[0].startswith("zero.yaml: account_id must be 12 digits, quoted")
    assert problems[0].endswith("got 12345678901")
    assert problems[1] == "zero.yaml: role_arns entry arn:aws:iam::012345678901:role/R is not in account_id 12345678901"


def test_list_shows_who_is_granted_and_whose_grant_ends_soon(tmp_path: Path) -> None:
    soon = (datetime.now(timezone.utc) + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    team_file(tmp_path, "team-b.yaml", expires=soon)
    team_file(tmp_path, "team-c.yaml", expires="2999-01-01")
    team_file(tmp_path, "team-d.yaml")
    table = xacct("consumers", "list", str(tmp_path))
    assert table.returncode == 0
    assert [line.split()[0] for line in table.stdout.splitlines()] == ["team", "team-b", "team-c", "team-d"]
    assert "never" in table.stdout.splitlines()[3]
    within = xacct("consumers", "list", str(tmp_path), "--expiring-within", "30d", "--format", "json")
    assert within.returncode == 3  # something ends within the window: a CI reminder
    (only,) = json.loads(within.stdout)["consumers"]
    assert (only["team"], only["expires"]) == ("team-b", soon)
    assert xacct("consumers", "list", str(tmp_path), "--expiring-within", "1d").returncode == 0
    assert xacct("consumers", "list", str(tmp_path), "--expiring-within", "soon").returncode == 2


def test_request_writes_the_file_from_the_consumers_own_output(tmp_path: Path) -> None:
    """No ARN typed by hand: the role ARN comes from envs/deve's `terraform output -json`."""
    output = {
        "role_arn": {"sensitive": False, "type": "string", "value": f"arn:aws:iam::{CONSUMER}:role/LambdaRoleDeve"}
    }
    made = xacct(
        "consumers", "request", "--team", "team-b", "--terraform-output", "-", "--routes", "GET /items/{id}",
        "--contact", "team-b@example.com", "--reason", "nightly report", "--expires", "2999-01-01",
        "--out", str(tmp_path),
        stdin=json.dumps(output),
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    written = yaml.safe_load((tmp_path / "team-b.yaml").read_text())
    assert written["account_id"] == CONSUMER
    assert written["role_arns"] == [f"arn:aws:iam::{CONSUMER}:role/LambdaRoleDeve"]
    assert read_folder(tmp_path, routes=["GET /items/{id}"]).problems == ()
    missing = xacct(
        "consumers", "request", "--team", "t", "--terraform-output", "-", "--routes", "*", "--contact", "c",
        "--reason", "r", stdin=json.dumps({"api_id": {"value": "x"}}),
    )  # fmt: skip
    assert missing.returncode == 2
    assert "has no role_arn" in missing.stderr


def test_the_pre_commit_hook_runs_the_validation() -> None:
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["entry"] == "xacct consumers validate"
    assert hook["args"] == ["envs/stag/consumers"]
    assert xacct("consumers", "validate", str(ROOT / "envs" / "stag" / "consumers")).returncode == 0
