"""The benchmarks keep working (run with a few requests). Their figures are reported, never asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ROOT


@pytest.mark.parametrize(
    ("script", "keys"),
    [
        ("client_overhead.py", {"variants", "sign_us", "target_met"}),
        ("gateway_cost.py", {"gateway_to_direct_ratio", "authorization_decisions_per_second"}),
        ("payloads.py", {"rows", "floor"}),
        ("client_stack.py", {"rows", "soak", "goals"}),
    ],
)
def test_benchmark_runs(script: str, keys: set[str]) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    saved = result.stdout.strip().splitlines()[-1].removeprefix("results: ")
    with open(saved) as handle:
        assert keys <= set(json.load(handle))


def test_before_and_after_in_one_run(tmp_path: Path) -> None:
    """benchmarks/revisions.py checks a revision out beside the working tree and runs a benchmark on both."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "revisions.py"), "HEAD", "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "XACCT_BENCH_RESULTS": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    saved = json.loads((tmp_path / "revisions_gateway_cost.json").read_text())
    assert {"before", "after", "after_to_before"} <= set(saved["authorization_decisions_per_second"])
