"""Who can call my API? ``xacct access report``: read the provider account (read-only), evaluate with xacct.iam.

- ``reader``: the API (routes, stage, integrations) and IAM (roles, users, their policies) through boto3;
- ``analysis``: per route, the callers through invoke roles and the direct callers, and the findings;
- ``model``: the report as typed dataclasses, its JSON (version 1) and that JSON's schema;
- ``render``: table, Markdown, Mermaid, JSON; ``expect``: --expect FILE and its differences;
- ``cli``: the ``xacct access`` subcommand.
"""

from __future__ import annotations

from datetime import datetime

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from xacct.access.analysis import UNUSED_AFTER, Declared, build_report, may_reach
from xacct.access.errors import AccessReportError, ApiNotFound, ExpectFileError, MissingPermission, StageNotChosen
from xacct.access.model import FINDING_KINDS, REPORT_SCHEMA, Caller, Finding, Report, RouteAccess
from xacct.access.reader import Progress, Reader
from xacct.access.usage import AccessLogError, read_usage

__all__ = [
    "FINDING_KINDS",
    "REPORT_SCHEMA",
    "AccessReportError",
    "ApiNotFound",
    "Caller",
    "Declared",
    "ExpectFileError",
    "Finding",
    "MissingPermission",
    "Reader",
    "Report",
    "RouteAccess",
    "StageNotChosen",
    "build_report",
    "may_reach",
    "report",
]


def report(
    session: boto3.Session,
    api_id: str,
    *,
    region: str | None = None,
    endpoint_url: str | None = None,
    stage: str | None = None,
    declared: dict[str, Declared] | None = None,
    progress: Progress | None = None,
) -> Report:
    """Read the provider account through ``session`` and report who can call ``api_id``."""
    reader = Reader(session, region=region, endpoint_url=endpoint_url, progress=progress)
    api = reader.read_api(api_id, stage)
    principals = reader.read_principals(may_reach(api))
    return build_report(api, principals, declared, calls=_last_calls(session, api_id, api.stage, region, endpoint_url))


def _last_calls(
    session: boto3.Session, api_id: str, stage: str, region: str | None, endpoint_url: str | None
) -> dict[tuple[str, str], datetime] | None:
    """(invoke role name, route key) -> the last call in the access log within UNUSED_AFTER; None when the log cannot
    be read (no log, another format, no logs:FilterLogEvents): the report then falls back to RoleLastUsed."""
    try:
        usage = read_usage(session, api_id, since=UNUSED_AFTER, stage=stage, endpoint_url=endpoint_url, region=region)
    except (AccessLogError, ClientError, BotoCoreError, StageNotChosen):
        return None
    return {(row.invoke_role, row.route_key): row.last_seen for row in usage.rows if row.last_seen is not None}
