"""From what was read to the report: who can invoke each route, and what looks wrong.

How a route is tested. The gateway authorizes a request against the ARN of the request as sent,
``arn:aws:execute-api:<region>:<account>:<api-id>/<stage>/<METHOD>/<path>``; a route key is a template. So each
route gets concrete probe requests: its own path with every ``{param}`` / ``{proxy+}`` filled in ("example"),
one level deeper too, and the other routes' probe paths (route selection as HTTP APIs do it decides which route
serves each probe). ``ANY`` is probed with every method. A principal can invoke a route when its policies allow
at least one of that route's probes: e.g. the ``GET/items/*`` an allowlist of ``GET /items/{id}`` becomes also
allows ``GET /items/example/example``, which an ``ANY /{proxy+}`` route serves.

Policies are evaluated with ``xacct.iam`` with the request context a principal always has (``aws:PrincipalArn``,
``aws:PrincipalAccount``): an Allow that needs another condition key (``aws:SourceIp``, ``aws:PrincipalTag/...``)
does not count, so such a grant is not shown.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from xacct.access.model import DIRECT, Caller, Finding, Report, RouteAccess
from xacct.access.reader import Api, Document, Principal, Route
from xacct.iam import (
    Decision,
    Policies,
    Request,
    Requester,
    applies,
    decide,
    evaluate,
    statement_names,
    statements,
)
from xacct.iam.variables import VARIABLES_VERSION, Unresolved, parse, render
from xacct.routing import select_route

ACTION = "execute-api:Invoke"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
UNUSED_AFTER = timedelta(days=90)
EXPIRING_WITHIN = timedelta(days=30)
_BEFORE = ("DateLessThan", "DateLessThanEquals")
SAMPLE = "example"
_PARAM = re.compile(r"\{[^}/]+\}")
UNIQUE_ID = re.compile(r"^(AROA|AIDA)[A-Z0-9]{10,}$")
_ACCOUNT_ARN = re.compile(r"^arn:[^:]+:(?:iam|sts)::(\d{12}):")


@dataclass(frozen=True)
class Probe:
    method: str
    path: str
    arn: str


NOT_DECLARED = "not declared"


@dataclass(frozen=True)
class Declared:
    """What Terraform declared for one invoke role (from --expect): its trusted principals and routes."""

    arn: str | None = None
    principals: frozenset[str] | None = None
    routes: tuple[str, ...] | None = None  # ("*",) = every route
    expires: str | None = "not declared"  # when the grant ends (None: never); NOT_DECLARED: not compared


def probes(api: Api) -> dict[str, list[Probe]]:
    """Route key -> the concrete requests that route serves (its own representative path first)."""
    paths: list[str] = []
    for route in api.routes:
        if route.route_key == "$default":
            continue
        path = _PARAM.sub(SAMPLE, route.route_key.partition(" ")[2])
        for candidate in (path, path.rstrip("/") + f"/{SAMPLE}"):
            if candidate not in paths:
                paths.append(candidate)
    if f"/{SAMPLE}" not in paths:
        paths.append(f"/{SAMPLE}")  # what only $default would serve
    found: dict[str, list[Probe]] = {r.route_key: [] for r in api.routes}
    for route in api.routes:  # each route's own probes first
        method, _, template = route.route_key.partition(" ")
        own = _PARAM.sub(SAMPLE, template)
        for m in METHODS if method == "ANY" else (method,):
            if method and _selected(api.routes, m, own) == route.route_key:
                found[route.route_key].append(Probe(m, own, api.execute_arn(m, own)))
    for method in METHODS:
        for path in paths:
            key = _selected(api.routes, method, path)
            probe = Probe(method, path, api.execute_arn(method, path))
            if key is not None and probe not in found[key]:
                found[key].append(probe)
    return found


def _selected(routes: Sequence[Route], method: str, path: str) -> str | None:
    match = select_route(routes, method, path)
    return match.route.route_key if match else None


def may_reach(api: Api) -> Callable[[list[Document]], bool]:
    """A cheap first test for the reader: do these identity policies allow execute-api:Invoke on any probe?"""
    arns = [p.arn for ps in probes(api).values() for p in ps]

    def test(identity: list[Document]) -> bool:
        return any(evaluate(identity, ACTION, arn) is Decision.ALLOW for arn in arns)

    return test


@dataclass
class _Reach:
    principal: Principal
    routes: dict[str, list[Probe]] = field(default_factory=dict)  # route key -> allowed probes


def _reach(principal: Principal, route_probes: Mapping[str, list[Probe]], account: str) -> _Reach:
    """The routes a provider-account principal's own policies reach: the one decision (``xacct.iam.decide``), as
    for a session of the role (or the user) calling the API of its own account, which has no resource policy."""
    reach = _Reach(principal)
    policies = Policies(
        identity=[json.dumps(d) for d in principal.identity],
        boundary=json.dumps(principal.boundary) if principal.boundary is not None else None,
    )
    who = Requester.of_principal(principal.arn)
    # What a request of this principal carries whatever it sends (AWS global condition context keys).
    context = {"aws:PrincipalArn": principal.arn, "aws:PrincipalAccount": principal.arn.split(":")[4]}
    for key, candidates in route_probes.items():
        allowed = [p for p in candidates if decide(Request(who, ACTION, p.arn, account, context), policies).allowed]
        if allowed:
            reach.routes[key] = allowed
    return reach


@dataclass(frozen=True)
class TrustEntry:
    principal: str
    conditions: dict[str, Any]


@dataclass(frozen=True)
class TrustReading:
    """Who a trust policy lets call sts:AssumeRole, and what in it the report could not decide."""

    entries: list[TrustEntry]
    unread: list[str]  # statements the report cannot fully decide, each said in a sentence


ASSUME = "sts:AssumeRole"
# The consumer's own identity policies live in its account, which the report does not read: they are taken to
# allow, and the report answers whether the trust policy admits each principal.
_THEIR_SIDE = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def _principal_entries(statement: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(kind, entry) of a statement's Principal: ("AWS", arn), ("Service", name), ("Federated", ...), "*"."""
    principal = statement.get("Principal", {})
    if principal == "*":
        return [("AWS", "*")]
    found: list[tuple[str, str]] = []
    if isinstance(principal, Mapping):
        for kind in ("AWS", "Federated", "Service", "CanonicalUser"):
            values = principal.get(kind, [])
            found += [(kind, str(v)) for v in ([values] if isinstance(values, str) else values)]
    return found


def _requester(kind: str, entry: str) -> Requester | None:
    if kind == "Service":
        return Requester("service", service=entry)
    if kind != "AWS":
        return None
    try:
        return Requester.of_principal(entry)
    except ValueError:  # a unique id (a deleted principal: the stale_trust finding says so)
        return None


def _sid(statement: Mapping[str, Any]) -> str:
    sid = statement.get("Sid")
    effect = statement.get("Effect", "?")
    return f"statement {sid!r}" if sid else f"the {effect} statement {json.dumps(statement)[:160]}"


def _speaks_to_assume(statement: Mapping[str, Any], role_arn: str) -> bool:
    """Action/NotAction (and Resource) of the statement cover sts:AssumeRole on the role, conditions set aside."""
    return applies({k: v for k, v in statement.items() if k != "Condition"}, ASSUME, role_arn, {})


def read_trust(trust: Document | None, role_arn: str = "arn:aws:iam::000000000000:role/unknown") -> TrustReading:
    """Who may sts:AssumeRole the role, asked of the one decision (``xacct.iam.decide``) principal by principal.

    Each Allow statement's principals are candidates; for each, the decision is asked with that statement alone
    (its conditions set aside: the report shows them instead) and every Deny of the trust policy, as its principal
    would be, with the context keys a request of that principal always carries. A Deny (or NotPrincipal, NotAction)
    removes a candidate as IAM would; what the report cannot decide - a Deny whose conditions need other keys, an
    Allow with NotPrincipal, a principal it cannot name - is said in ``unread`` instead of dropped.
    """
    found = statements(trust or {})
    version = statement_version(trust)
    denies = [st for st in found if st.get("Effect") == "Deny"]
    entries: list[TrustEntry] = []
    unread: list[str] = []
    for statement in found:
        if statement.get("Effect") != "Allow":
            continue
        if "NotPrincipal" in statement:
            unread.append(f"{_sid(statement)} allows every principal but those it lists: the report cannot list them")
            continue
        alone = {k: v for k, v in statement.items() if k != "Condition"}
        for kind, entry in _principal_entries(statement):
            principal_arn = _normalise(entry)
            conditions = _resolved(dict(statement.get("Condition", {})), principal_arn, version)
            who = _requester(kind, principal_arn)
            if who is None:
                # Federated, CanonicalUser, a unique id: not a principal the decision can name; shown as written.
                if _speaks_to_assume(statement, role_arn):
                    entries.append(TrustEntry(principal_arn, conditions))
                continue
            context: dict[str, str | list[str]] = {}
            if who.account:
                context["aws:PrincipalAccount"] = who.account
                if who.kind in ("session", "user"):
                    context["aws:PrincipalArn"] = who.role_arn or who.arn or ""
            document = {"Version": version or "2012-10-17", "Statement": [alone, *denies]}
            request = Request(who, ASSUME, role_arn, account_of(role_arn), context)
            result = decide(request, Policies(identity=[_THEIR_SIDE], resource=document))
            if result.allowed:
                entries.append(TrustEntry(principal_arn, conditions))
                for deny in denies:
                    names_it = statement_names(deny, who) is not None
                    if names_it and deny.get("Condition") and _speaks_to_assume(deny, role_arn):
                        unread.append(
                            f"{_sid(deny)} denies {principal_arn} under conditions the report cannot decide "
                            "(keys a request carries only when it is made): the principal is listed"
                        )
    return TrustReading(entries, list(dict.fromkeys(unread)))


def statement_version(document: Document | None) -> str | None:
    version = (document or {}).get("Version")
    return version if isinstance(version, str) else None


def _resolved(conditions: dict[str, Any], principal: str, version: str | None) -> dict[str, Any]:
    """The conditions as they read for this principal: ``${aws:PrincipalAccount}`` (and ``${aws:PrincipalArn}`` of a
    role or user) replaced by its value, as IAM resolves them for a request of that principal ("IAM policy elements:
    Variables and tags"; only in a 2012-10-17 document). A variable the principal does not fix stays as written."""
    account = account_of(principal)
    if version != VARIABLES_VERSION or account is None:
        return conditions
    context: dict[str, str | list[str]] = {"aws:principalaccount": account}
    if re.match(r"^arn:[^:]+:iam::\d{12}:(role|user)/", principal):
        context["aws:principalarn"] = principal

    def one(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return render(parse(value), context)
        except Unresolved:
            return value

    return {
        operator: {
            key: [one(v) for v in values] if isinstance(values, list) else one(values)
            for key, values in (pairs.items() if isinstance(pairs, dict) else [])
        }
        if isinstance(pairs, dict)
        else pairs
        for operator, pairs in conditions.items()
    }


def _normalise(principal: str) -> str:
    """IAM shows an account principal "123456789012" as its root ARN."""
    return f"arn:aws:iam::{principal}:root" if re.fullmatch(r"\d{12}", principal) else principal


def account_of(principal: str) -> str | None:
    match = _ACCOUNT_ARN.match(principal)
    return match.group(1) if match else None


def is_invoke_role(principal: Principal, api: Api, declared: Mapping[str, Declared]) -> bool:
    """An invoke role: declared as one, or trusting an AWS principal outside the provider account."""
    if principal.kind != "role":
        return False
    if principal.name in declared or principal.arn in declared:
        return True
    for entry in read_trust(principal.trust, principal.arn).entries:
        if entry.principal == "*" or UNIQUE_ID.match(entry.principal):
            return True
        account = account_of(entry.principal)
        if account is not None and account != api.account:
            return True
    return False


def declared_for(principal: Principal, declared: Mapping[str, Declared]) -> Declared | None:
    return declared.get(principal.arn) or declared.get(principal.name)


def build_report(
    api: Api,
    principals: Iterable[Principal],
    declared: Mapping[str, Declared] | None = None,
    *,
    now: datetime | None = None,
    calls: Mapping[tuple[str, str], datetime] | None = None,
) -> Report:
    """``calls``: (invoke role name, route key) -> the last call the access log shows within 90 days, when it could be
    read; then ``unused`` is decided per invoke role and route from it, and from IAM's RoleLastUsed otherwise."""
    declared = declared or {}
    now = now or datetime.now(timezone.utc)
    route_probes = probes(api)
    callers: dict[str, dict[tuple[str, str, str], Caller]] = {r.route_key: {} for r in api.routes}

    def add(key: str, caller: Caller) -> None:
        callers[key][(caller.via, caller.principal, json.dumps(caller.conditions, sort_keys=True))] = caller

    findings: set[Finding] = set()
    for route in api.routes:
        if route.authorization_type == "NONE":
            add(route.route_key, Caller(DIRECT, "*", {}))
    for principal in principals:
        reach = _reach(principal, route_probes, api.account)
        if not reach.routes:
            continue
        reached = sorted(reach.routes)
        reading = read_trust(principal.trust, principal.arn) if principal.kind == "role" else TrustReading([], [])
        findings |= {Finding("trust_not_decided", principal.arn, note) for note in reading.unread}
        if is_invoke_role(principal, api, declared):
            entries = reading.entries
            for key in reached:
                for entry in entries:
                    add(key, Caller(principal.arn, entry.principal, entry.conditions, grant_end(entry.conditions)))
            findings |= _expiry_findings(principal, entries, now)
            findings |= _trust_findings(principal, entries)
            findings |= _breadth_findings(principal, reach, declared_for(principal, declared))
        else:
            for key in reached:
                add(key, Caller(DIRECT, principal.arn, {}))
            everything = len(reached) == len(api.routes)
            what = "every route" if everything else f"{len(reached)} route(s): {', '.join(reached)}"
            admitted = ", ".join(sorted({e.principal for e in reading.entries})) or "nobody else"
            findings.add(
                Finding(
                    "direct_caller",
                    principal.arn,
                    f"its own policies allow {ACTION} on {what} of the API, without an invoke role"
                    + (f"; its trust admits {admitted}" if principal.kind == "role" else ""),
                )
            )
        if principal.kind == "role":
            invoke = is_invoke_role(principal, api, declared)
            unused = (
                _uncalled(principal, reached, calls, now) if invoke and calls is not None else _unused(principal, now)
            )
            if unused:
                findings.add(Finding("unused", principal.arn, unused))
    routes = tuple(
        RouteAccess(r.route_key, tuple(callers[r.route_key][k] for k in sorted(callers[r.route_key])))
        for r in api.routes
    )
    return Report(api.api_id, api.stage, routes, tuple(sorted(findings)))


def grant_end(conditions: Mapping[str, Any]) -> str | None:
    """When a trust entry's grant ends: its ``aws:CurrentTime`` DateLessThan (modules/provider_api's ``expires``)."""
    for operator in _BEFORE:
        for key, value in (conditions.get(operator) or {}).items():
            if key.lower() == "aws:currenttime":
                return str(value[0] if isinstance(value, list) else value)
    return None


def _instant(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _expiry_findings(role: Principal, entries: list[TrustEntry], now: datetime) -> set[Finding]:
    found: set[Finding] = set()
    for end in sorted({e for e in (grant_end(entry.conditions) for entry in entries) if e}):
        moment = _instant(end)
        if moment is None:
            continue
        if moment <= now:
            found.add(
                Finding(
                    "expired",
                    role.arn,
                    f"its grant ended at {end}: IAM refuses it, and it is still in the policies; remove the team's "
                    "file (envs/stag/consumers) or its invoke_roles entry, or extend expires after a review",
                )
            )
        elif moment - now <= EXPIRING_WITHIN:
            found.add(
                Finding(
                    "expiring",
                    role.arn,
                    f"its grant ends at {end}, in {(moment - now).days} day(s): extend expires after a review, or let "
                    "it end",
                )
            )
    return found


def _trust_findings(role: Principal, entries: list[TrustEntry]) -> set[Finding]:
    found: set[Finding] = set()
    for entry in entries:
        if UNIQUE_ID.match(entry.principal):
            found.add(
                Finding(
                    "stale_trust",
                    entry.principal,
                    f"the trust policy of {role.arn} names {entry.principal}, the unique id of a principal that was "
                    "deleted: nobody can assume the role through it (a role re-created under the same name has a new "
                    "id). Re-apply the provider stack (terraform apply of the stack that owns the invoke role) so "
                    "that the trust names the current role ARN again",
                )
            )
    accounts = {a for a in (account_of(e.principal) for e in entries) if a}
    if len(accounts) > 1:
        found.add(
            Finding(
                "shared_role",
                role.arn,
                f"trusts principals of {len(accounts)} accounts ({', '.join(sorted(accounts))}): the API server "
                "tells them apart only by the session name prefix; one invoke role per consumer team keeps "
                "their routes and their removal separate",
            )
        )
    return found


def _breadth_findings(role: Principal, reach: _Reach, declared: Declared | None) -> set[Finding]:
    if declared is None or declared.routes is None or "*" in declared.routes:
        return set()
    beyond = sorted(set(reach.routes) - set(declared.routes))
    if not beyond:
        return set()
    examples = "; ".join(f"{key} (e.g. {reach.routes[key][0].method} {reach.routes[key][0].path})" for key in beyond)
    return {
        Finding(
            "broader_than_declared",
            role.arn,
            f"declared routes {', '.join(declared.routes)}, but its policies also reach {examples}",
        )
    }


def _uncalled(
    role: Principal, routes: list[str], calls: Mapping[tuple[str, str], datetime], now: datetime
) -> str | None:
    """Allowed but not called within 90 days, per route, from the access log (a role younger than that: no finding)."""
    created = role.created.replace(tzinfo=timezone.utc) if role.created and not role.created.tzinfo else role.created
    if created is not None and now - created <= UNUSED_AFTER:
        return None
    idle = [r for r in routes if (role.name, r) not in calls]
    if not idle:
        return None
    if len(idle) == len(routes):
        return f"never called in the last 90 days (access log), though allowed {', '.join(idle)}"
    return f"allowed but never called in the last 90 days (access log): {', '.join(idle)}"


def _unused(role: Principal, now: datetime) -> str | None:
    """Unused: no use within the last 90 days. A role younger than that has not had its 90 days yet: no finding."""
    created = role.created.replace(tzinfo=timezone.utc) if role.created and not role.created.tzinfo else role.created
    if created is not None and now - created <= UNUSED_AFTER:
        return None
    if role.last_used is None:
        return "never used (IAM shows no RoleLastUsed date; IAM tracks the last 400 days)"
    last = role.last_used if role.last_used.tzinfo else role.last_used.replace(tzinfo=timezone.utc)
    if now - last > UNUSED_AFTER:
        return f"last used {last:%Y-%m-%d}, {(now - last).days} days ago (more than 90)"
    return None
