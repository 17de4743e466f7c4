"""The report as a table (terminal), Markdown (a README, a PR comment), Mermaid (a diagram) or JSON."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from xacct.access.model import DIRECT, Report

FORMATS = ("table", "json", "markdown", "mermaid")
HEADERS = ("ROUTE", "CALLER", "VIA", "CONDITIONS")


def conditions_text(conditions: Mapping[str, Any]) -> str:
    """``{"StringLike": {"sts:RoleSessionName": "2222-*"}}`` -> ``sts:RoleSessionName StringLike "2222-*"``."""
    parts = []
    for operator, entries in sorted(conditions.items()):
        for key, value in sorted(entries.items()):
            values = value if isinstance(value, list) else [value]
            shown = ", ".join(json.dumps(v) for v in values)
            note = " (external id required)" if key.lower() == "sts:externalid" else ""
            parts.append(f"{key} {operator} {shown}{note}")
    return "; ".join(parts)


def _rows(report: Report) -> list[tuple[str, str, str, str]]:
    rows = []
    for route in report.routes:
        if not route.callers:
            rows.append((route.route_key, "(nobody)", "", ""))
        for caller in route.callers:
            rows.append((route.route_key, caller.principal, caller.via, conditions_text(caller.conditions)))
    return rows


def _title(report: Report) -> str:
    return f"API {report.api_id}, stage {report.stage}"


def table(report: Report) -> str:
    rows = [HEADERS, *_rows(report)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADERS))]
    lines = [_title(report), ""]
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines += ["", f"{len(report.findings)} finding(s)" + (":" if report.findings else "")]
    lines += [f"  {f.kind}: {f.principal}: {f.detail}" for f in report.findings]
    return "\n".join(lines) + "\n"


def _md(cell: str) -> str:
    return cell.replace("|", "\\|") if cell else ""


def markdown(report: Report) -> str:
    lines = [f"**{_title(report)}**", "", "| Route | Caller | Via | Conditions |", "|---|---|---|---|"]
    for row in _rows(report):
        lines.append("| " + " | ".join(f"`{_md(c)}`" if c and i < 3 else _md(c) for i, c in enumerate(row)) + " |")
    lines += ["", "| Finding | Principal | Detail |", "|---|---|---|"]
    lines += [f"| {f.kind} | `{_md(f.principal)}` | {_md(f.detail)} |" for f in report.findings]
    if not report.findings:
        lines.append("| (none) | | |")
    return "\n".join(lines) + "\n"


def _node_ids(values: Sequence[str], prefix: str) -> dict[str, str]:
    return {value: f"{prefix}{index}" for index, value in enumerate(values)}


def _label(text: str) -> str:
    return '"' + text.replace('"', "#quot;") + '"'


def mermaid(report: Report) -> str:
    """principal --(conditions)--> invoke role --> route; direct callers straight to the route."""
    principals = sorted({c.principal for r in report.routes for c in r.callers})
    roles = sorted({c.via for r in report.routes for c in r.callers if c.via != DIRECT})
    p_ids, v_ids = _node_ids(principals, "p"), _node_ids(roles, "v")
    r_ids = _node_ids([r.route_key for r in report.routes], "r")
    lines = ["flowchart LR"]
    lines += [f"  {p_ids[p]}[{_label(p)}]" for p in principals]
    lines += [f"  {v_ids[v]}([{_label(v)}])" for v in roles]
    lines += [f"  {r_ids[r.route_key]}{{{{{_label(r.route_key)}}}}}" for r in report.routes]
    edges: list[str] = []
    for route in report.routes:
        for caller in route.callers:
            if caller.via == DIRECT:
                edge = f"  {p_ids[caller.principal]} -->|direct| {r_ids[route.route_key]}"
            else:
                condition = conditions_text(caller.conditions)
                arrow = f"-->|{_label(condition)}|" if condition else "-->"
                edge = f"  {p_ids[caller.principal]} {arrow} {v_ids[caller.via]}"
                role_edge = f"  {v_ids[caller.via]} --> {r_ids[route.route_key]}"
                if role_edge not in edges:
                    edges.append(role_edge)
            if edge not in edges:
                edges.append(edge)
    lines += sorted(edges)
    flagged = sorted(
        {f.principal for f in report.findings} & set(p_ids) | {f.principal for f in report.findings} & set(v_ids)
    )
    if flagged:
        lines.append("  classDef finding stroke:#d00,stroke-width:2px")
        lines += [f"  class {p_ids.get(name) or v_ids[name]} finding" for name in flagged]
    return "\n".join(lines) + "\n"


def as_json(report: Report) -> str:
    return json.dumps(report.to_json(), indent=2) + "\n"


RENDERERS: dict[str, Callable[[Report], str]] = {
    "table": table,
    "json": as_json,
    "markdown": markdown,
    "mermaid": mermaid,
}
