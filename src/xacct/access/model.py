"""The report's shape: typed dataclasses, the JSON they become, and that JSON's schema (version 1).

The JSON is a contract for scripts and CI checks: fields are only ever added under a new ``version``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

VERSION = 1

# What each finding kind means. An external id is NOT a finding: it is a trust condition, shown on the callers
# it applies to (``conditions``) and marked in the table; requiring one is a choice, not a fault.
FINDING_KINDS = {
    "stale_trust": "a trust policy names a unique id (AROA.../AIDA...): the principal it named was deleted",
    "broader_than_declared": "a role reaches routes beyond the allowlist Terraform declared",
    "shared_role": "an invoke role trusts principals of more than one account",
    "direct_caller": "a role or user of the provider account may invoke the API with its own credentials",
    "expired": "an invoke role whose grant has ended (its trust's aws:CurrentTime end has passed) is still there",
    "expiring": "an invoke role whose grant ends within the window (30 days)",
    "trust_not_decided": "a trust policy statement the report cannot decide (a Deny under conditions only a request "
    "carries, an Allow with NotPrincipal): listed, never dropped",
    "unused": "a role older than 90 days that can invoke the API and was not used within them (IAM's RoleLastUsed)",
}

DIRECT = "direct"


@dataclass(frozen=True, order=True)
class Caller:
    """Who can invoke a route: ``principal`` through ``via`` (an invoke role ARN, or "direct").

    ``conditions`` are the IAM condition blocks the principal must meet (from the trust statement that
    admits it), as IAM shows them, e.g. ``{"StringLike": {"sts:RoleSessionName": "222222222222-*"}}``.
    """

    via: str
    principal: str
    conditions: dict[str, Any] = field(default_factory=dict, compare=False)
    expires: str | None = field(default=None, compare=False)  # when the grant ends (its trust's aws:CurrentTime)

    def to_json(self) -> dict[str, Any]:
        found = {"principal": self.principal, "via": self.via, "conditions": self.conditions}
        return found if self.expires is None else {**found, "expires": self.expires}


@dataclass(frozen=True)
class RouteAccess:
    route_key: str
    callers: tuple[Caller, ...]

    def to_json(self) -> dict[str, Any]:
        return {"route_key": self.route_key, "callers": [c.to_json() for c in self.callers]}


@dataclass(frozen=True, order=True)
class Finding:
    kind: str
    principal: str
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "principal": self.principal, "detail": self.detail}


@dataclass(frozen=True)
class Report:
    api_id: str
    stage: str
    routes: tuple[RouteAccess, ...]
    findings: tuple[Finding, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "version": VERSION,
            "api_id": self.api_id,
            "stage": self.stage,
            "routes": [r.to_json() for r in self.routes],
            "findings": [f.to_json() for f in self.findings],
        }


_STRING = {"type": "string"}
REPORT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "xacct access report",
    "type": "object",
    "required": ["version", "api_id", "stage", "routes", "findings"],
    "additionalProperties": False,
    "properties": {
        "version": {"const": VERSION},
        "api_id": _STRING,
        "stage": _STRING,
        "routes": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["route_key", "callers"],
                "additionalProperties": False,
                "properties": {
                    "route_key": _STRING,
                    "callers": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["principal", "via", "conditions"],
                            "additionalProperties": False,
                            "properties": {
                                "principal": _STRING,
                                "via": _STRING,
                                "conditions": {
                                    "type": "object",
                                    "additionalProperties": {"type": "object"},
                                },
                                "expires": _STRING,
                            },
                        },
                    },
                },
            },
        },
        "findings": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["kind", "principal", "detail"],
                "additionalProperties": False,
                "properties": {"kind": {"enum": sorted(FINDING_KINDS)}, "principal": _STRING, "detail": _STRING},
            },
        },
    },
}
