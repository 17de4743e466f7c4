"""The module READMEs' requirements/inputs/outputs tables are generated from the .tf files (tools/tfdocs.py)."""

from __future__ import annotations

import difflib
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ROOT, load_tool

TOOL = ROOT / "tools" / "tfdocs.py"
tfdocs = load_tool("tfdocs")
MODULES = [p.parent.name for p in sorted((ROOT / "modules").glob("*/README.md"))]


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(TOOL), *map(str, args)], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize("module", MODULES)
def test_module_readme_tables_are_generated_from_its_tf_files(module: str) -> None:
    _, current, wanted = tfdocs.stale(ROOT / "modules" / module)
    diff = "".join(difflib.unified_diff(current.splitlines(True), wanted.splitlines(True), "README.md", "generated"))
    assert current == wanted, f"modules/{module}/README.md is out of date with the .tf files: run `make docs`\n{diff}"


@pytest.mark.parametrize("module", MODULES)
def test_every_input_and_output_says_what_it_is(module: str) -> None:
    parsed = tfdocs.read_module(ROOT / "modules" / module)
    assert parsed.inputs
    assert parsed.outputs
    assert [i.name for i in parsed.inputs if not i.description.strip() or i.type is None] == []
    assert [o.name for o in parsed.outputs if not o.description.strip()] == []


FIXTURE_VARIABLES = """\
variable "routes" {
  description = <<-EOT
    Route keys, e.g. "GET /items/{id}".

    A second paragraph with a | pipe, <placeholder>, *stars* and $context.identity.
  EOT
  type = map(object({
    allowed_routes = optional(list(string), ["*"]) # every route
    limits = optional(object({
      burst = number
    }), { burst = 10 })
  }))
  default = {
    ops = {}
  }
}

variable "name" {
  description = "Name, \\"quoted\\"."
  type        = string
}

variable "boundary" {
  type    = string
  default = null
}

variable "must" {
  description = "Non-nullable with a null default: required."
  type        = string
  default     = null
  nullable    = false
}
"""

FIXTURE_REST = """\
terraform {
  required_version = ">= 1.9"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
}

output "token" {
  description = "A secret."
  value       = var.name
  sensitive   = true
}
"""


@pytest.fixture
def fixture_module(tmp_path: Path) -> Path:
    (tmp_path / "variables.tf").write_text(FIXTURE_VARIABLES)
    (tmp_path / "main.tf").write_text(FIXTURE_REST)
    readme = "# m\n\nprose\n\n<!-- BEGIN_TF_DOCS -->\nstale\n<!-- END_TF_DOCS -->\n\nafter\n"
    (tmp_path / "README.md").write_text(readme)
    return tmp_path


def test_types_and_defaults_are_shown_as_written_descriptions_as_values(fixture_module: Path) -> None:
    parsed = tfdocs.read_module(fixture_module)
    assert parsed.requirements == [("terraform", ">= 1.9"), ("aws (hashicorp/aws)", ">= 5.0")]
    routes, name, boundary, must = parsed.inputs
    assert routes.type == (
        "map(object({\n"
        '  allowed_routes = optional(list(string), ["*"]) # every route\n'
        "  limits = optional(object({\n"
        "    burst = number\n"
        "  }), { burst = 10 })\n"
        "}))"
    )
    assert routes.default == "{\n  ops = {}\n}"
    assert routes.description.startswith('Route keys, e.g. "GET /items/{id}".\n\nA second paragraph')
    assert (name.description, name.type, name.default) == ('Name, "quoted".', "string", None)
    assert (boundary.description, boundary.type, boundary.default) == ("", "string", "null")
    assert must.default is None
    assert parsed.outputs == [tfdocs.Output("token", "A secret.", sensitive=True)]

    rows = tfdocs.render(parsed).splitlines()
    assert (
        '| `routes` | Route keys, e.g. "GET /items/{id}".<br><br>A second paragraph with a \\| pipe, &lt;placeholder>, '
        "\\*stars\\* and \\$context.identity. | <pre>map(object({<br>  allowed_routes = optional(list(string), "
        '["*"]) # every route<br>  limits = optional(object({<br>    burst = number<br>  }), { burst = 10 })<br>}))'
        "</pre> | <pre>{<br>  ops = {}<br>}</pre> | no |"
    ) in rows
    assert '| `name` | Name, "quoted". | `string` | n/a | yes |' in rows
    assert "| `boundary` |  | `string` | `null` | no |" in rows
    assert "| `token` | A secret. (sensitive) |" in rows


def test_check_fails_on_drift_and_says_to_run_make_docs(fixture_module: Path) -> None:
    drift = _run("--check", fixture_module)
    assert drift.returncode == 1
    assert "-stale" in drift.stderr
    assert "run `make docs`" in drift.stderr
    assert "stale" in (fixture_module / "README.md").read_text()  # --check writes nothing

    assert _run(fixture_module).returncode == 0
    readme = (fixture_module / "README.md").read_text()
    assert readme.startswith("# m\n\nprose\n\n<!-- BEGIN_TF_DOCS -->\n<!-- Generated")
    assert readme.endswith("| `token` | A secret. (sensitive) |\n<!-- END_TF_DOCS -->\n\nafter\n")
    assert _run("--check", fixture_module).returncode == 0


def test_a_readme_without_markers_is_an_error_that_says_where_they_go(fixture_module: Path) -> None:
    (fixture_module / "README.md").write_text("# m\n")
    result = _run("--check", fixture_module)
    assert result.returncode == 2
    assert "<!-- BEGIN_TF_DOCS -->" in result.stderr
    assert "README.md" in result.stderr
