"""sts:AssumeRole as AWS decides it, in front of moto (which lets anyone assume anything).

Allowed only when the caller's identity policies allow sts:AssumeRole on the role AND the role's trust
policy names the caller (a role ARN principal matches every session of that role; an account principal
delegates to the account's own policies). Within one account, a trust policy that names the caller
directly is enough. An explicit Deny anywhere wins; ``sts:ExternalId`` conditions are checked; role
chaining is capped at one hour. Root credentials (a 12-digit access key) may assume any role of their own
account: that is how a test plays "the Lambda function", acting as the service the role trusts; a role of
another account answers AWS's "Roles may not be assumed by root accounts." The trust policy evaluated is the
one IAM stored (xacct.local.trust): role and user principals as unique ids.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from xml.sax.saxutils import escape

from moto.iam.exceptions import NotFoundException

from xacct.iam import Decision, Statement, evaluate, identity_decision
from xacct.local.identity import Caller, iam, identity_policies, permissions_boundary
from xacct.local.trust import stored_document

ACTION = "sts:AssumeRole"
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/")
ROLE_CHAINING_LIMIT = 3600
ROLE_CHAINING_MESSAGE = (
    "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
)
# AWS's answer to AssumeRole with root credentials (403 AccessDenied); AWS documents no wording for it, this is
# the message AWS sends (e.g. github.com/cloudposse/terraform-aws-vpc-peering-multi-account/issues/106).
ROOT_REFUSAL = "Roles may not be assumed by root accounts."
MAX_SESSION_MESSAGE = "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."


class StsRefusal(Exception):
    """An STS error response, shaped as AWS sends it so boto3 raises its usual ClientError."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    def xml(self) -> bytes:
        return (
            '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
            f"<Error><Type>Sender</Type><Code>{escape(self.code)}</Code>"
            f"<Message>{escape(self.message)}</Message></Error>"
            f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
        ).encode()


def access_denied(caller: Caller, role_arn: str) -> StsRefusal:
    return StsRefusal(
        403,
        "AccessDenied",
        f"User: {caller.arn} is not authorized to perform: {ACTION} on resource: {role_arn}",
    )


def caller_identity_xml(caller: Caller) -> bytes:
    return (
        '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>'
        f"<Arn>{escape(caller.arn)}</Arn><UserId>{escape(caller.principal_id)}</UserId>"
        f"<Account>{caller.account_id}</Account></GetCallerIdentityResult>"
        f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
    ).encode()


def _as_list(value: object) -> list[object]:
    return value if isinstance(value, list) else [value]


def principal_match(statement: Statement, caller: Caller) -> str | None:
    """How a trust statement's Principal names the caller: 'direct', 'account', 'any', 'service' or None.

    The trust policy is the stored one (xacct.local.trust): a role or user principal is its unique id, which
    names this caller only if the caller's role or user is the very one that was saved, not a re-created one.
    """
    principal = statement.get("Principal")
    if principal == "*":
        return "any"
    if not isinstance(principal, dict):
        return None
    unique_id = caller.principal_id.split(":", 1)[0] if caller.kind in ("session", "user") else None
    for entry in _as_list(principal.get("AWS", [])):
        if entry == "*":
            return "any"
        if entry == unique_id or entry == caller.arn:
            return "direct"
        if entry in (caller.account_id, f"arn:aws:iam::{caller.account_id}:root"):
            return "account"
    if caller.kind == "root" and principal.get("Service"):
        return "service"
    return None


@dataclass(frozen=True)
class AssumeRoleRecord:
    """One sts:AssumeRole decision, kept for tests and benchmarks (calls per 1,000 requests)."""

    at: datetime
    caller_arn: str
    role_arn: str
    allowed: bool
    reason: str


@dataclass
class AssumeRoleGuard:
    clock: Callable[[], datetime]
    records: list[AssumeRoleRecord] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _record(self, caller: Caller, role_arn: str, allowed: bool, reason: str) -> None:
        with self._lock:
            self.records.append(AssumeRoleRecord(self.clock(), caller.arn, role_arn, allowed, reason))

    def check(self, caller: Caller, params: dict[str, str]) -> None:
        """Raise StsRefusal unless ``caller`` may assume params['RoleArn'] with these parameters."""
        role_arn = params.get("RoleArn", "")
        try:
            self._check(caller, role_arn, params)
        except StsRefusal as refusal:
            self._record(caller, role_arn, False, refusal.message)
            raise
        self._record(caller, role_arn, True, "allowed")

    def _check(self, caller: Caller, role_arn: str, params: dict[str, str]) -> None:
        duration_text = params.get("DurationSeconds", "3600")
        if not duration_text.isdigit() or not 900 <= int(duration_text) <= 43200:
            raise StsRefusal(
                400,
                "ValidationError",
                f"1 validation error detected: Value '{duration_text}' at 'durationSeconds' failed to satisfy "
                "constraint: Member must have value between 900 and 43200",
            )
        duration = int(duration_text)
        match = _ROLE_ARN.match(role_arn)
        if match is None:
            raise StsRefusal(400, "ValidationError", f"{role_arn} is invalid")
        role_account = match.group(1)
        try:
            role = iam(role_account).get_role_by_arn(role_arn)
        except NotFoundException:
            raise access_denied(caller, role_arn) from None  # AWS does not say whether the role exists

        context = {
            "aws:PrincipalArn": caller.principal_arn,
            "aws:PrincipalAccount": caller.account_id,
            "sts:RoleSessionName": params.get("RoleSessionName", ""),
        }
        if "ExternalId" in params:
            context["sts:ExternalId"] = params["ExternalId"]
        trust = [stored_document(role_account, role)]
        same_account = caller.account_id == role_account

        if caller.kind == "root":
            # AWS refuses every AssumeRole by root credentials. The local convention: root acts as the service
            # the role trusts, in its own account only; another account's role stays refused, as in AWS.
            if not same_account:
                raise StsRefusal(403, "AccessDenied", ROOT_REFUSAL)
        else:
            trust_any = evaluate(
                trust, ACTION, role_arn, context, only=lambda s: principal_match(s, caller) is not None
            )
            trust_direct = evaluate(
                trust, ACTION, role_arn, context, only=lambda s: principal_match(s, caller) == "direct"
            )
            identity = identity_decision(
                identity_policies(caller),
                permissions_boundary(caller),
                caller.session_policy,
                ACTION,
                role_arn,
                context,
            )
            if Decision.EXPLICIT_DENY in (trust_any, identity):
                raise access_denied(caller, role_arn)
            granted_by_trust_alone = same_account and trust_direct is Decision.ALLOW
            if not granted_by_trust_alone and not (trust_any is Decision.ALLOW and identity is Decision.ALLOW):
                raise access_denied(caller, role_arn)

        if caller.kind == "session" and duration > ROLE_CHAINING_LIMIT:
            raise StsRefusal(400, "ValidationError", ROLE_CHAINING_MESSAGE)
        if duration > int(role.max_session_duration or 3600):
            raise StsRefusal(400, "ValidationError", MAX_SESSION_MESSAGE)
