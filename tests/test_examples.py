"""examples/: each example is a root module a team can copy; each plans, against the local AWS, what its inventory
in tests/scenarios/examples/<name>.json lists."""

from __future__ import annotations

import re

import pytest

from conftest import Planned
from helpers import ROOT
from plan_checks import check_inventory, load_scenario, scenario_names, semantic_checks, summarize

# The Terraform examples; examples/backend holds the API server's Python (tests/test_backend.py serves it).
EXAMPLES = sorted(p.name for p in (ROOT / "examples").iterdir() if p.is_dir() and any(p.glob("*.tf")))


def test_every_example_has_an_inventory_and_a_readme() -> None:
    assert len(EXAMPLES) >= 4
    assert scenario_names("examples") == EXAMPLES
    for name in EXAMPLES:
        folder = ROOT / "examples" / name
        assert {"main.tf", "versions.tf", "README.md"} <= {p.name for p in folder.iterdir()}, name
        assert re.search(r'source\s*=\s*"\.\./\.\./modules/', (folder / "main.tf").read_text()), name


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_plans_its_inventory(name: str, planned: Planned) -> None:
    """Planned as it is (no variables), in the provider account's batch (see conftest.planned)."""
    summary = summarize(planned.plans[("examples", name)])
    check_inventory(summary, load_scenario("examples", name))
    semantic_checks(summary)
