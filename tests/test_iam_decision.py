"""The one authorization decision (xacct.iam.decide), case by case from AWS's pages: one data file per page in
tests/decision/ (its page and URL at the top, each case with the sentence it checks where the page has one).

Requesters are written ``session:<account>:role/<name>:<session>:<role id>``, ``user:<account>:<name>:<user id>``,
``root:<account>``, ``service:<name>`` or ``anonymous``; policies as lists of statements.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from xacct.access import analysis
from xacct.iam import Decision, Policies, Request, Requester, decide
from xacct.local import identity, s3_authz, sts

PAGES = sorted((Path(__file__).parent / "decision").glob("*.json"))
EXPECT = {"allowed": Decision.ALLOW, "implicit": Decision.IMPLICIT_DENY, "explicit": Decision.EXPLICIT_DENY}
ALLOW_ALL = [{"Effect": "Allow", "Action": "*", "Resource": "*"}]


def requester(spec: str) -> Requester:
    kind, _, rest = spec.partition(":")
    if kind == "anonymous":
        return Requester("anonymous")
    if kind == "service":
        return Requester("service", service=rest)
    if kind == "root":
        return Requester("root", rest, f"arn:aws:iam::{rest}:root")
    if kind == "session":
        account, role, session, role_id = rest.split(":")
        return Requester.session(f"arn:aws:iam::{account}:{role}", session, unique_id=role_id)
    if kind == "user":
        account, name, user_id = rest.split(":")
        return Requester("user", account, f"arn:aws:iam::{account}:user/{name}", unique_id=user_id)
    raise ValueError(spec)


def document(found: list[dict[str, Any]] | None) -> str | None:
    return None if found is None else json.dumps({"Version": "2012-10-17", "Statement": found})


def cases() -> list[Any]:
    out = []
    for page in PAGES:
        data = json.loads(page.read_text())
        for case in data["cases"]:
            out.append(pytest.param(data, case, id=f"{page.stem}: {case['name']}"))
    return out


@pytest.mark.parametrize(("page", "case"), cases())
def test_the_decision_follows_the_page(page: dict[str, Any], case: dict[str, Any]) -> None:
    identity_statements = case.get("identity", ALLOW_ALL if page.get("their_side_allows") else None)
    policies = Policies(
        identity=[d for d in [document(identity_statements)] if d is not None],
        boundary=document(case.get("boundary")),
        session=document(case.get("session")),
        resource=document(case.get("resource_policy")),
        resource_required=case.get("resource_required", False),
    )
    request = Request(
        requester(case["who"]),
        case.get("action", page["action"]),
        case.get("resource", page["resource"]),
        case.get("resource_account", page["resource_account"]),
        case.get("context", {}),
    )
    result = decide(request, policies)
    assert result.decision is EXPECT[case["expect"]], (page["page"], case["name"], result)
    if "reason" in case:
        assert result.reason == case["reason"]
    if result.decision is Decision.EXPLICIT_DENY:  # the statement that decided is named
        assert [d.statement.get("Effect") for d in result.statements] == ["Deny"]


def test_every_page_has_its_cases() -> None:
    stems = {p.stem for p in PAGES}
    assert stems == {
        "policy-evaluation-logic",
        "cross-account-policy-evaluation-logic",
        "principal",
        "notprincipal",
        "permissions-boundaries",
        "session-policies",
    }
    for page in PAGES:
        data = json.loads(page.read_text())
        assert data["url"].startswith("https://docs.aws.amazon.com/"), page
        assert len(data["cases"]) >= 5, page


def test_no_principal_or_account_rule_is_decided_outside_xacct_iam() -> None:
    """Issue 21: the three private copies are gone; STS, S3, the gateway and the report call xacct.iam.decide."""
    gone = {
        sts: ("principal_match", "names_caller_itself"),
        s3_authz: ("_entries", "principal_kind", "_names", "_decide_one"),
        analysis: ("trusted",),
    }
    for module, names in gone.items():
        for name in names:
            assert not hasattr(module, name), f"{module.__name__}.{name}"
    sources = {m.__name__: Path(m.__file__ or "").read_text() for m in (sts, s3_authz, analysis, identity)}
    from xacct.local import gateway

    sources[gateway.__name__] = Path(gateway.__file__ or "").read_text()
    for name, text in sources.items():
        assert "decide(" in text or name == identity.__name__, name
        if name != analysis.__name__:  # the report reads statements to list its candidates; the decision decides
            assert '"NotPrincipal"' not in text, f"{name} reads NotPrincipal itself"
            assert '"Principal"' not in text, f"{name} reads Principal itself"
