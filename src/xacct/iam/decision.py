"""One authorization decision: may this requester make this request, given every policy that speaks to it?

The rules around statements, as AWS's IAM User Guide gives them, in one place for every caller (STS AssumeRole and
S3 in the local AWS, the execute-api gateway, the access report):

- "IAM JSON policy elements: Principal": a Principal names the requester by its session ARN or user ARN ("self"),
  by its role's ARN or unique id ("role"; a role principal names every session of the role), by its account (the
  account id or the root ARN: "account", which delegates to the account's own policies), by ``"*"`` or ``{"AWS":
  "*"}`` (anyone, anonymous included), or as a service principal (``{"Service": ...}``);
- "IAM JSON policy elements: NotPrincipal": a statement with NotPrincipal speaks to every principal it does not
  list; and "Permissions boundaries for IAM entities" / the NotPrincipal page: a Deny with NotPrincipal always
  applies to a principal that has a permissions boundary, whether listed or not;
- "Policy evaluation logic": an explicit Deny in any policy wins (identity policies, the permissions boundary, the
  session policy, the resource-based policy); within one account an Allow in the identity policies (limited by
  the boundary and the session policy) or in the resource-based policy is enough - but a resource-based policy that
  names the role (not the session) is limited by an implicit deny in the boundary or the session policy, and one
  that names the account delegates to the identity policies; a resource-based policy that names the session or
  the user itself is not limited by them;
- "Cross-account policy evaluation logic": across accounts both must allow - the identity side (with its boundary
  and session policy) and the resource-based policy; a resource without a resource-based policy (an HTTP API:
  "API Gateway HTTP APIs do not support resource policies") is reachable from its own account only;
- anonymous requests: only statements naming ``"*"`` can allow them; the account's root user is not limited by
  identity policies in its own account;
- a role's trust policy is the exception to "either is enough": it must allow the principal even within the account
  (``Policies.resource_required``), by naming it (then nothing more is needed), its role (limited by the boundary
  and the session policy) or its account (then the identity policies must allow too).

``decide`` returns the decision, the reason in the words AWS's access-denied messages use ("with an explicit deny
in a resource-based policy", "because no identity-based policy allows the action", ...) and the statements that
decided it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from xacct.iam.evaluate import (
    ContextValues,
    Decision,
    Statement,
    applies_lowered,
    document_statements,
    lower_keys,
)

Document = str | Mapping[str, Any]
_ARN = re.compile(r"^arn:(?P<partition>[^:]+):(?P<service>iam|sts)::(?P<account>\d{12}):(?P<rest>.+)$")
_ACCOUNT = re.compile(r"^\d{12}$")
NAMINGS = ("self", "any", "role", "account", "service")


@dataclass(frozen=True)
class Requester:
    """Who makes the request.

    ``kind``: ``session`` (an assumed-role session), ``user``, ``root`` (an account's root user), ``account`` (any
    principal of an account, as a trust policy's account principal stands for them: the access report's view),
    ``service`` (an AWS service principal) or ``anonymous``.
    """

    kind: str
    account: str | None = None
    arn: str | None = None  # the session ARN (arn:aws:sts::A:assumed-role/R/S), the user ARN, the root ARN
    role_arn: str | None = None  # a session's role (with its path)
    unique_id: str | None = None  # a session's role id (AROA...), a user's id (AIDA...)
    service: str | None = None  # a service principal's name (lambda.amazonaws.com)
    partition: str = "aws"

    @classmethod
    def session(cls, role_arn: str, session_name: str | None = None, *, unique_id: str | None = None) -> Requester:
        """A session of ``role_arn`` (with ``session_name``, or any session of the role when None)."""
        match = _ARN.match(role_arn)
        if match is None or not match["rest"].startswith("role/"):
            raise ValueError(f"not a role ARN: {role_arn!r} (expected arn:aws:iam::<account>:role/<name>)")
        name = match["rest"].rsplit("/", 1)[1]
        arn = (
            f"arn:{match['partition']}:sts::{match['account']}:assumed-role/{name}/{session_name}"
            if session_name
            else None
        )
        return cls("session", match["account"], arn, role_arn, unique_id, partition=match["partition"])

    @classmethod
    def of_principal(cls, entry: str) -> Requester:
        """What a policy's AWS principal entry stands for: a role's sessions, a user, or an account's principals."""
        if entry == "*":
            return cls("anonymous")
        if _ACCOUNT.match(entry):
            return cls("account", entry, f"arn:aws:iam::{entry}:root")
        match = _ARN.match(entry)
        if match is None:
            raise ValueError(f"not a principal: {entry!r} (expected an account id or an IAM/STS ARN)")
        rest, account, partition = match["rest"], match["account"], match["partition"]
        if rest == "root":
            return cls("account", account, entry, partition=partition)
        if rest.startswith("role/") and match["service"] == "iam":
            return cls.session(entry)
        if rest.startswith("user/"):
            return cls("user", account, entry, partition=partition)
        if rest.startswith("assumed-role/"):
            _, role_name, _session = rest.split("/", 2)
            return cls(
                "session", account, entry, f"arn:{partition}:iam::{account}:role/{role_name}", None, None, partition
            )
        raise ValueError(f"not a principal: {entry!r}")

    @property
    def root_arn(self) -> str | None:
        return f"arn:{self.partition}:iam::{self.account}:root" if self.account else None


def _entries(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in (value if isinstance(value, list) else [value])]


def names(element: Any, who: Requester) -> str | None:
    """How a Principal (or NotPrincipal) element names the requester: "self", "any", "role", "account", "service",
    or None. The most specific wins ("self" before "any" before "role" ...)."""
    if element == "*":
        return "any"
    if not isinstance(element, Mapping):
        return None
    found: set[str] = set()
    for entry in _entries(element.get("AWS")):
        if entry == "*":
            found.add("any")
        elif who.kind == "anonymous" or who.account is None:
            continue
        elif entry == who.arn or (who.kind == "user" and who.unique_id is not None and entry == who.unique_id):
            found.add("self")
        elif who.kind == "session" and entry in (who.role_arn, who.unique_id) and entry is not None:
            found.add("role")
        elif entry in (who.account, who.root_arn):
            found.add("self" if who.kind in ("root", "account") else "account")
    if who.kind == "service" and who.service is not None and who.service in _entries(element.get("Service")):
        found.add("service")
    return next((kind for kind in NAMINGS if kind in found), None)


def statement_names(statement: Statement, who: Requester, *, has_boundary: bool = False) -> str | None:
    """How a resource-based policy's statement speaks to the requester (None: it does not).

    A statement with NotPrincipal speaks to everyone it does not list ("any"); a Deny with NotPrincipal also to a
    listed principal that has a permissions boundary.
    """
    if "NotPrincipal" in statement:
        excluded = names(statement["NotPrincipal"], who) is not None
        if statement.get("Effect") == "Deny" and has_boundary:
            excluded = False
        return None if excluded else "any"
    return names(statement.get("Principal"), who)


@dataclass(slots=True)
class Request:
    who: Requester
    action: str
    resource: str
    resource_account: str | None  # the account that owns the resource (None: unknown, taken as another's)
    context: ContextValues = field(default_factory=dict)


@dataclass(slots=True)
class Policies:
    """The policies that speak to a request: the requester's identity policies, its permissions boundary and session
    policy (inline and managed as one document), and the resource's policy (a trust policy, a bucket policy, or
    None: the resource has none)."""

    identity: Sequence[Document] = ()
    boundary: Document | None = None
    session: Document | None = None
    resource: Document | None = None
    # A role's trust policy (and a KMS key policy) must grant access itself, even within the account: the identity
    # policies alone are not enough ("Policy evaluation logic": role trust policies are the exception).
    resource_required: bool = False


@dataclass(slots=True)
class Decided:
    """A statement that decided: which policy it is in, and the statement."""

    policy: str  # "identity", "permissions boundary", "session policy", "resource-based policy"
    statement: Statement


@dataclass(slots=True)
class Result:
    decision: Decision
    reason: str
    statements: tuple[Decided, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.decision is Decision.ALLOW


def _scan(
    documents: Iterable[Document],
    request: Request,
    lowered: ContextValues,
    only: Callable[[Statement], bool] | None = None,
) -> tuple[Decision, list[Statement]]:
    """The decision of one kind of policy, and its deciding statements (the Deny, or the Allows).

    ``lowered``: the request context keyed lower-case, made once per decision (the gateway decides per request).
    """
    allows: list[Statement] = []
    for document in documents:
        variables, found = document_statements(document)
        for statement in found:
            if only is not None and not only(statement):
                continue
            if applies_lowered(statement, request.action, request.resource, lowered, variables):
                if statement.get("Effect") == "Deny":
                    return Decision.EXPLICIT_DENY, [statement]
                if statement.get("Effect") == "Allow":
                    allows.append(statement)
    return (Decision.ALLOW if allows else Decision.IMPLICIT_DENY), allows


def _by(policy: str, found: Iterable[Statement]) -> tuple[Decided, ...]:
    return tuple(Decided(policy, statement) for statement in found)


def _deny(where: str, found: list[Statement]) -> Result:
    article = "an" if where[0] in "aeiou" else "a"
    return Result(Decision.EXPLICIT_DENY, f"with an explicit deny in {article} {where}", _by(where, found))


def _no(where: str) -> Result:
    return Result(Decision.IMPLICIT_DENY, f"because no {where} allows the action", ())


RESOURCE = "resource-based policy"


def decide(request: Request, policies: Policies) -> Result:
    """The decision for ``request`` under ``policies``, as "Policy evaluation logic" and "Cross-account policy
    evaluation logic" make it (see the module's docstring)."""
    who = request.who
    has_boundary = policies.boundary is not None
    lowered = lower_keys(request.context)
    same_account = request.resource_account is not None and request.resource_account == who.account
    kinds: dict[int, str | None] = {}

    def naming(statement: Statement) -> str | None:
        """How the statement names the requester, worked out once per statement of this decision."""
        key = id(statement)
        if key not in kinds:
            kinds[key] = statement_names(statement, who, has_boundary=has_boundary)
        return kinds[key]

    if policies.resource is not None:
        resource, resource_allows = _scan([policies.resource], request, lowered, lambda s: naming(s) is not None)
        if resource is Decision.EXPLICIT_DENY:
            return _deny(RESOURCE, resource_allows)
    else:
        resource, resource_allows = Decision.IMPLICIT_DENY, []

    if who.kind in ("anonymous", "service", "account"):
        # Only a resource-based policy grants them; "account" (the report's view of an account principal) is
        # granted when the resource policy names the account - its own principals' policies then decide.
        if resource is Decision.ALLOW:
            return Result(Decision.ALLOW, "allowed by a resource-based policy", _by(RESOURCE, resource_allows))
        return _no(RESOURCE)
    if who.kind == "root":
        if same_account:
            return Result(Decision.ALLOW, "the account's root user", ())
        if resource is Decision.ALLOW:
            return Result(Decision.ALLOW, "allowed by a resource-based policy", _by(RESOURCE, resource_allows))
        return _no(RESOURCE)

    identity, identity_by = _scan(policies.identity, request, lowered)
    if identity is Decision.EXPLICIT_DENY:
        return _deny("identity-based policy", identity_by)
    limited: str | None = None
    for where, document in (("permissions boundary", policies.boundary), ("session policy", policies.session)):
        if document is not None:
            decision, by = _scan([document], request, lowered)
            if decision is Decision.EXPLICIT_DENY:
                return _deny(where, by)
            if decision is not Decision.ALLOW and limited is None:
                limited = where
    identity_allows = identity is Decision.ALLOW and limited is None

    if not same_account:
        if not identity_allows:
            return _no(limited if identity is Decision.ALLOW and limited else "identity-based policy")
        if resource is not Decision.ALLOW:
            return _no(RESOURCE)
        return Result(
            Decision.ALLOW,
            "allowed by the identity-based and the resource-based policy",
            _by(RESOURCE, resource_allows),
        )

    if identity_allows and not policies.resource_required:
        return Result(Decision.ALLOW, "allowed by an identity-based policy", _by("identity", identity_by))
    if resource is Decision.ALLOW:
        named = [(naming(st), st) for st in resource_allows]
        if identity_allows and any(kind == "account" for kind, _ in named):  # the account delegates to the identity
            return Result(
                Decision.ALLOW,
                "allowed by the identity-based and the resource-based policy",
                _by(RESOURCE, resource_allows),
            )
        itself = [st for kind, st in named if kind in ("self", "any")]
        if itself:
            return Result(
                Decision.ALLOW, "allowed by a resource-based policy naming the principal", _by(RESOURCE, itself)
            )
        if any(kind == "role" for kind, _ in named):
            if limited is None:
                return Result(
                    Decision.ALLOW, "allowed by a resource-based policy naming the role", _by(RESOURCE, resource_allows)
                )
            return _no(limited)
    if policies.resource_required and resource is not Decision.ALLOW:
        return _no(RESOURCE)
    if identity is Decision.ALLOW and limited is not None:
        return _no(limited)
    return _no("identity-based policy")
