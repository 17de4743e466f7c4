"""Write each module README's requirements, inputs and outputs tables from the module's .tf files.

    python tools/tfdocs.py [--check] [MODULE_DIR ...]     (default: every modules/*/ with a README.md)

The tables go between ``<!-- BEGIN_TF_DOCS -->`` and ``<!-- END_TF_DOCS -->`` in the module's README.md and
follow terraform-docs' markdown table layout (Name | Description | Type | Default | Required), so a team that
has terraform-docs can switch to it without touching the READMEs. terraform-docs itself is a Go binary that
none of the registries this project installs from (PyPI, Debian, npm) ships, hence this small equivalent.

The .tf files are parsed with python-hcl2; types and defaults are shown exactly as written in the .tf file
(multi-line ones in a ``<pre>`` block), descriptions as their string value. Inputs and outputs keep the order
in which the module declares them. ``--check`` writes nothing and exits 1, with a diff, when a README is out
of date: run ``make docs``.
"""

from __future__ import annotations

import argparse
import difflib
import html
import re
import sys
import textwrap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import hcl2
from hcl2.utils import process_escape_sequences
from lark import Token, Tree

BEGIN = "<!-- BEGIN_TF_DOCS -->"
END = "<!-- END_TF_DOCS -->"
NOTE = "<!-- Generated from the .tf files by tools/tfdocs.py: edit those, then run `make docs`. -->"
ROOT = Path(__file__).resolve().parents[1]


class TfDocsError(Exception):
    """A README or .tf file this tool cannot work with; the message says which and why."""


@dataclass(frozen=True)
class Input:
    name: str
    description: str
    type: str | None  # as written; None when the variable declares no type (Terraform takes any)
    default: str | None  # as written; None when the input is required


@dataclass(frozen=True)
class Output:
    name: str
    description: str
    sensitive: bool


@dataclass(frozen=True)
class Module:
    requirements: list[tuple[str, str]]  # (name, version constraint), Terraform first
    inputs: list[Input]
    outputs: list[Output]


# --- reading HCL ---------------------------------------------------------------------------------------------
# python-hcl2 parses; its lark tree keeps each node's source position, which is how expressions are kept as written
# (its own serializer would re-format them). tests/test_validation.py reads the .tftest.hcl files with it too.

_VALUES = hcl2.SerializationOptions(with_comments=False, explicit_blocks=False, strip_string_quotes=True)
_COMMENT = re.compile(r"(#|//)[^\n]*|/\*.*?\*/", re.DOTALL)


@dataclass(frozen=True)
class Block:
    type: str
    labels: tuple[str, ...]  # as written: a string label keeps its quotes
    body: Body


@dataclass(frozen=True)
class Body:
    """An HCL body: its attributes (name => expression as written), its blocks and its text (between the braces)."""

    attributes: dict[str, str]
    blocks: tuple[Block, ...]
    text: str

    def find(self, kind: str, *labels: str) -> Iterator[Block]:
        """The blocks of this type whose labels begin with these (as written)."""
        return (b for b in self.blocks if b.type == kind and b.labels[: len(labels)] == labels)


def _written(source: str, node: Tree[Token], start: int, end: int, comments: bool) -> str:
    """source[start:end], a span of node, with or without the comments the span holds."""
    if comments:
        return source[start:end]
    text, at = "", start
    for gap in sorted(node.find_data("new_line_or_comment"), key=lambda g: g.meta.start_pos):
        if start <= gap.meta.start_pos < end:
            text += source[at : gap.meta.start_pos] + _COMMENT.sub("", source[gap.meta.start_pos : gap.meta.end_pos])
            at = gap.meta.end_pos
    return text + source[at:end]


def _body(source: str, node: Tree[Token], start: int, end: int, comments: bool) -> Body:
    attributes, blocks = {}, []
    for child in (c for c in node.children if isinstance(c, Tree) and c.data in ("attribute", "block")):
        first, *rest = (c for c in child.children if isinstance(c, Tree))
        if child.data == "attribute":  # its expression, continuation lines dedented to the attribute's column
            expression = rest[-1]
            text = _written(source, expression, expression.meta.start_pos, expression.meta.end_pos, comments)
            line, *more = text.split("\n")
            indent = " " * (child.meta.column - 1)
            attributes[str(first.children[0])] = "\n".join([line, *(m.removeprefix(indent) for m in more)]).rstrip()
        else:  # type, labels, body: the body's text is what lies between the braces
            *labels, inner = rest
            lbrace = source.index("{", (labels or [first])[-1].meta.end_pos)
            body = _body(source, inner, lbrace + 1, child.meta.end_pos - 1, comments)
            written = tuple(source[label.meta.start_pos : label.meta.end_pos] for label in labels)
            blocks.append(Block(str(first.children[0]), written, body))
    return Body(attributes, tuple(blocks), _written(source, node, start, end, comments))


def parse_body(source: str, tree: Tree[Token] | None = None, comments: bool = False) -> Body:
    """The top-level body of HCL source (a .tf or .tftest.hcl file), comments dropped unless comments is true.

    tree: hcl2.parses_to_tree(source), when the caller has it already.
    """
    tree = hcl2.parses_to_tree(source) if tree is None else tree
    return _body(source, next(c for c in tree.children if isinstance(c, Tree)), 0, len(source), comments)


def _string(expression: str | None) -> str:
    """The value of a literal string ("..." or a heredoc); any other expression as written."""
    if expression is None:
        return ""
    heredoc = re.fullmatch(r"<<(-?)([A-Za-z_][A-Za-z0-9_-]*)\n(.*?)\n[ \t]*\2", expression, re.DOTALL)
    if heredoc:
        flush, _, content = heredoc.groups()
        return textwrap.dedent(content) if flush else content
    if len(expression) >= 2 and expression[0] == expression[-1] == '"':
        return process_escape_sequences(expression[1:-1])
    return expression


def _parse(path: Path) -> tuple[str, Tree[Token]]:
    source = path.read_text()
    try:
        return source, hcl2.parses_to_tree(source)
    except Exception as error:  # lark raises several types (UnexpectedInput, ...); all mean "not HCL we read"
        raise TfDocsError(f"{path}: cannot parse: {error}") from error


def _requirements(tree: Tree[Token]) -> list[tuple[str, str]]:
    """(name, version constraint) from the terraform blocks: Terraform, then each required provider."""
    found = []
    for settings in hcl2.serialize(hcl2.transform(tree), serialization_options=_VALUES).get("terraform", []):
        if "required_version" in settings:
            found.append(("terraform", str(settings["required_version"])))
        for providers in settings.get("required_providers", []):
            for name, spec in providers.items():
                spec = spec if isinstance(spec, dict) else {"version": spec}  # the pre-0.13 string form
                label = f"{name} ({spec['source']})" if "source" in spec else name
                found.append((label, str(spec.get("version", "any"))))
    return found


def read_module(folder: Path) -> Module:
    """Requirements, inputs and outputs declared by the .tf files directly in folder (not its subfolders)."""
    module = Module([], [], [])
    files = sorted(folder.glob("*.tf"))
    if not files:
        raise TfDocsError(f"{folder}: no .tf files")
    for path in files:
        source, tree = _parse(path)
        for block in parse_body(source, tree, comments=True).blocks:  # a type's comments are part of the docs
            if block.type not in ("variable", "output") or len(block.labels) != 1:
                continue
            name, attributes = _string(block.labels[0]), block.body.attributes
            if block.type == "variable":
                default = attributes.get("default")  # None: no default, so the input is required
                if default == "null" and attributes.get("nullable") == "false":
                    default = None  # Terraform requires a value for a non-nullable input whose default is null
                module.inputs.append(
                    Input(name, _string(attributes.get("description")), attributes.get("type"), default)
                )
            else:
                sensitive = attributes.get("sensitive") == "true"
                module.outputs.append(Output(name, _string(attributes.get("description")), sensitive))
        module.requirements.extend(_requirements(tree))
    module.requirements.sort(key=lambda r: r[0] != "terraform")
    return module


# --- rendering ---------------------------------------------------------------------------------------------------


def _prose(text: str) -> str:
    """Description text as one table cell: wrapped lines joined, paragraphs kept, markdown and HTML inert."""
    paragraphs = []
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        cell = " ".join(paragraph.split())
        for char in "\\`*|$":  # backslash first; $ because GitHub renders $...$ as math
            cell = cell.replace(char, "\\" + char)
        paragraphs.append(cell.replace("<", "&lt;"))
    return "<br><br>".join(p for p in paragraphs if p)


def _code(text: str) -> str:
    """HCL as written: a code span on one line, a <pre> block (as terraform-docs renders it) otherwise."""
    if "\n" not in text and "`" not in text:
        return "`" + text.replace("|", "\\|") + "`"
    return "<pre>" + html.escape(text, quote=False).replace("|", "&#124;").replace("\n", "<br>") + "</pre>"


def render(module: Module) -> str:
    """The markdown that goes between the markers (markers excluded)."""
    lines = [NOTE, "", "## Requirements", ""]
    if module.requirements:
        lines += ["| Name | Version |", "|------|---------|"]
        lines += [f"| {name} | `{version}` |" for name, version in module.requirements]
    else:
        lines.append("No requirements.")
    lines += ["", "## Inputs", ""]
    if module.inputs:
        lines += [
            "| Name | Description | Type | Default | Required |",
            "|------|-------------|------|---------|:--------:|",
        ]
        for i in module.inputs:
            default = "n/a" if i.default is None else _code(i.default)
            required = "yes" if i.default is None else "no"
            lines.append(
                f"| `{i.name}` | {_prose(i.description)} | {_code(i.type or 'any')} | {default} | {required} |"
            )
    else:
        lines.append("No inputs.")
    lines += ["", "## Outputs", ""]
    if module.outputs:
        lines += ["| Name | Description |", "|------|-------------|"]
        for o in module.outputs:
            sensitive = " (sensitive)" if o.sensitive else ""
            lines.append(f"| `{o.name}` | {_prose(o.description)}{sensitive} |")
    else:
        lines.append("No outputs.")
    return "\n".join(lines)


def update(readme: str, tables: str, where: str = "README.md") -> str:
    """readme with the text between the markers replaced by tables."""
    if readme.count(BEGIN) != 1 or readme.count(END) != 1 or readme.index(BEGIN) > readme.index(END):
        raise TfDocsError(f"{where}: needs one {BEGIN} line and, after it, one {END} line where the tables go")
    head, rest = readme.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    return f"{head}{BEGIN}\n{tables}\n{END}{tail}"


# --- command line ------------------------------------------------------------------------------------------------


def module_dirs() -> list[Path]:
    """Every module of this repository that has a README."""
    return sorted(p.parent for p in (ROOT / "modules").glob("*/README.md"))


def _shown(path: Path) -> Path:
    return path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path


def stale(folder: Path) -> tuple[Path, str, str]:
    """(README path, its text, the text it should have)."""
    readme = _shown(folder.resolve() / "README.md")
    current = readme.read_text()
    return readme, current, update(current, render(read_module(folder)), str(readme))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a README is out of date")
    parser.add_argument("modules", nargs="*", type=Path, help="module folders (default: modules/*/ with a README.md)")
    args = parser.parse_args(argv)
    out_of_date = []
    try:
        for folder in args.modules or module_dirs():
            readme, current, wanted = stale(folder)
            if current == wanted:
                continue
            if args.check:
                out_of_date.append(readme)
                diff = difflib.unified_diff(
                    current.splitlines(keepends=True),
                    wanted.splitlines(keepends=True),
                    str(readme),
                    f"{readme} (generated)",
                )
                sys.stderr.writelines(diff)
            else:
                readme.write_text(wanted)
                print(f"updated {readme}")
    except (OSError, TfDocsError) as error:
        print(f"tfdocs: {error}", file=sys.stderr)
        return 2
    if out_of_date:
        names = ", ".join(str(p) for p in out_of_date)
        print(f"\ntfdocs: {names} out of date with the .tf files: run `make docs`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
