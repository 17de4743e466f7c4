"""``xacct access usage``: who actually calls - per consumer account, invoke role and route, from the access log.

The stage's access log (CloudWatch Logs, read-only: ``apigatewayv2:GetStages``, ``logs:FilterLogEvents``) holds one
JSON object per request in the format modules/provider_api writes (logging.tf): ``userArn`` is the invoke role
session (``arn:aws:sts::<provider>:assumed-role/<invoke role>/<consumer account>-...``: the trust binds the session
name to the consumer's account), ``routeKey`` the route, ``status`` the answer. A stage whose log format lacks those
fields is an error that says so, not an empty table. Requests without a verified caller (refused before
authentication, ``userArn`` "-") are counted apart (``unauthenticated``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from xacct.access.errors import AccessReportError, StageNotChosen

VERSION = 1
# The fields usage needs, and the $context variable each must hold.
NEEDED = {"userArn": "$context.identity.userArn", "routeKey": "$context.routeKey", "status": "$context.status"}
_SESSION = re.compile(r"^arn:[^:]+:sts::(\d{12}):assumed-role/([^/]+)/(.+)$")
_CONSUMER = re.compile(r"^(\d{12})-")


class AccessLogError(AccessReportError):
    """The stage writes no access log, or not in a format usage can read."""


@dataclass
class Row:
    consumer_account_id: str | None
    invoke_role: str
    route_key: str
    calls: int = 0
    client_errors: int = 0
    server_errors: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "consumer_account_id": self.consumer_account_id,
            "invoke_role": self.invoke_role,
            "route_key": self.route_key,
            "calls": self.calls,
            "client_errors": self.client_errors,
            "server_errors": self.server_errors,
            "first_seen": _iso(self.first_seen),
            "last_seen": _iso(self.last_seen),
        }


def _iso(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


@dataclass
class Usage:
    api_id: str
    stage: str
    since: datetime
    rows: list[Row] = field(default_factory=list)
    unauthenticated: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "version": VERSION,
            "api_id": self.api_id,
            "stage": self.stage,
            "since": _iso(self.since),
            "rows": [r.to_json() for r in self.rows],
            "unauthenticated": self.unauthenticated,
        }


def log_group_of(stage: Mapping[str, Any]) -> str:
    """The log group a stage's access log goes to, after checking that its format holds what usage reads."""
    settings = stage.get("AccessLogSettings") or {}
    destination, template = settings.get("DestinationArn"), settings.get("Format")
    name = stage.get("StageName", "?")
    if not destination or not template:
        raise AccessLogError(
            f"stage {name} writes no access log: enable modules/provider_api's access_log (the default) and apply"
        )
    try:
        fields = json.loads(template)
    except ValueError:
        fields = None
    missing = [k for k, v in NEEDED.items() if not isinstance(fields, dict) or fields.get(k) != v]
    if missing:
        raise AccessLogError(
            f"the access log of stage {name} is in another format: usage reads the JSON fields "
            + ", ".join(f"{k} = {NEEDED[k]}" for k in missing)
            + " (modules/provider_api's format has them)"
        )
    match = re.match(r"^arn:[^:]+:logs:[^:]+:\d{12}:log-group:([^:]+)", destination)
    if match is None:
        raise AccessLogError(f"stage {name}: {destination} is not a CloudWatch Logs log group ARN")
    return match.group(1)


def tally(events: Iterable[Mapping[str, Any]], api_id: str, stage: str, since: datetime) -> Usage:
    """Usage from access log events ({"timestamp": ms, "message": json line})."""
    usage = Usage(api_id, stage, since)
    rows: dict[tuple[str | None, str, str], Row] = {}
    for event in events:
        try:
            entry = json.loads(event["message"])
        except (ValueError, KeyError, TypeError):
            continue
        if not isinstance(entry, dict):
            continue
        session = _SESSION.match(str(entry.get("userArn", "")))
        if session is None:
            usage.unauthenticated += 1
            continue
        consumer = _CONSUMER.match(session.group(3))
        key = (consumer.group(1) if consumer else None, session.group(2), str(entry.get("routeKey", "-")))
        row = rows.setdefault(key, Row(*key))
        row.calls += 1
        status = str(entry.get("status", ""))
        row.client_errors += status.startswith("4")
        row.server_errors += status.startswith("5")
        moment = datetime.fromtimestamp(int(event.get("timestamp", 0)) / 1000, timezone.utc)
        row.first_seen = min(row.first_seen or moment, moment)
        row.last_seen = max(row.last_seen or moment, moment)
    usage.rows = [rows[k] for k in sorted(rows, key=lambda k: (k[0] or "", k[1], k[2]))]
    return usage


def read_usage(
    session: Any,
    api_id: str,
    *,
    since: timedelta,
    stage: str | None = None,
    endpoint_url: str | None = None,
    region: str | None = None,
    now: datetime | None = None,
) -> Usage:
    """Read the stage's access log for the last ``since`` and tally it (read-only calls)."""
    now = now or datetime.now(timezone.utc)
    gateway = session.client("apigatewayv2", endpoint_url=endpoint_url, region_name=region)
    stages = gateway.get_stages(ApiId=api_id).get("Items", [])
    names = sorted(s["StageName"] for s in stages)
    if stage is None:
        if len(stages) != 1:
            raise StageNotChosen(f"API {api_id} has stages {', '.join(names) or 'none'}: pass --stage")
        chosen = stages[0]
    else:
        chosen = next((s for s in stages if s["StageName"] == stage), None)
        if chosen is None:
            raise StageNotChosen(f"API {api_id} has no stage {stage!r} (its stages: {', '.join(names) or 'none'})")
    group = log_group_of(chosen)
    logs = session.client("logs", endpoint_url=endpoint_url, region_name=region)
    start = now - since
    events: list[Mapping[str, Any]] = []
    for page in logs.get_paginator("filter_log_events").paginate(
        logGroupName=group, startTime=int(start.timestamp() * 1000), endTime=int(now.timestamp() * 1000)
    ):
        events += page.get("events", [])
    return tally(events, api_id, chosen["StageName"], start)


def render(usage: Usage, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(usage.to_json(), indent=2)
    header = ("consumer account", "invoke role", "route", "calls", "4xx", "5xx", "first seen", "last seen")
    rows = [
        (
            r.consumer_account_id or "?",
            r.invoke_role,
            r.route_key,
            str(r.calls),
            str(r.client_errors),
            str(r.server_errors),
            _iso(r.first_seen) or "-",
            _iso(r.last_seen) or "-",
        )
        for r in usage.rows
    ]
    if fmt == "markdown":
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(f"`{c}`" if i < 3 else c for i, c in enumerate(row)) + " |" for row in rows]
    else:
        widths = [max(len(x[i]) for x in [header, *rows]) for i in range(len(header))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in [header, *rows]]
    lines.append(f"since {_iso(usage.since)}; {usage.unauthenticated} request(s) without a verified caller")
    return "\n".join(lines)
