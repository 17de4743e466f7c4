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
from dataclasses import dataclass, field, replace
from datetime import datetime
from xml.sax.saxutils import escape

from moto.core.utils import utcnow
from moto.iam.exceptions import NotFoundException

from xacct.iam import Policies, Request, decide
from xacct.local.identity import (
    Caller,
    SessionAttributes,
    iam,
    identity_policies,
    managed_policy_document,
    permissions_boundary,
    remember_session,
    requester,
)
from xacct.local.moto_gaps import provide_aws_managed_policies
from xacct.local.request_context import (
    assume_role_keys,
    principal_keys,
    request_keys,
    session_tags,
    transitive_tag_keys,
)
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


def access_denied(caller: Caller, role_arn: str, action: str = ACTION) -> StsRefusal:
    return StsRefusal(
        403,
        "AccessDenied",
        f"User: {caller.arn} is not authorized to perform: {action} on resource: {role_arn}",
    )


def caller_identity_xml(caller: Caller) -> bytes:
    return (
        '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>'
        f"<Arn>{escape(caller.arn)}</Arn><UserId>{escape(caller.principal_id)}</UserId>"
        f"<Account>{caller.account_id}</Account></GetCallerIdentityResult>"
        f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
    ).encode()


def new_session_attributes(caller: Caller, params: dict[str, str]) -> SessionAttributes:
    """The new session's tags, transitive keys and source identity: the caller's transitive tags and source
    identity persist through role chaining ("Chaining roles with session tags"), then what this call passes."""
    inherited = dict(caller.session_tags)
    tags = {key: inherited[key] for key in caller.transitive_tag_keys if key in inherited}
    tags.update(session_tags(params))
    transitive = dict.fromkeys([*caller.transitive_tag_keys, *transitive_tag_keys(params)])
    return SessionAttributes(
        tags=tuple(tags.items()),
        transitive_keys=tuple(transitive),
        source_identity=params.get("SourceIdentity") or caller.source_identity,
        managed_session_policies=managed_session_policies(params),
    )


def chaining_problem(caller: Caller, params: dict[str, str]) -> str | None:
    """What a chained AssumeRole may not ask of the session it is called from, or None.

    "Monitor and control actions taken with assumed roles" (IAM User Guide): "After the source identity is set, the
    value cannot be changed"; "Chaining roles with session tags" ("Pass session tags in AWS STS"): a session tag may
    not carry the key of a transitive tag the calling session passes on (tag keys are case-insensitive there). The
    pages give no error code or wording for either: ValidationError (400, as for the other parameter conflicts of a
    chained call, e.g. the one-hour limit) with a message of the local AWS's (docs/local-aws.md says so).
    """
    asked = params.get("SourceIdentity")
    if caller.source_identity and asked is not None and asked != caller.source_identity:
        return (
            f"The source identity of a role session cannot be changed: this session carries "
            f"'{caller.source_identity}', and the request asks for '{asked}'."
        )
    inherited = {key.lower(): key for key in caller.transitive_tag_keys if key in dict(caller.session_tags)}
    for key in session_tags(params):
        if key.lower() in inherited:
            return (
                f"The session tag key '{key}' is the key of a transitive tag this session passes on "
                f"('{inherited[key.lower()]}'): an inherited transitive tag cannot be set again."
            )
    return None


def managed_session_policies(params: dict[str, str]) -> tuple[str, ...]:
    """The documents of AssumeRole's PolicyArns (``PolicyArns.member.N.arn``): managed session policies, which limit
    the session like an inline one ("AssumeRole", STS API Reference: "The resulting session's permissions are the
    intersection of the role's identity-based policy and the session policies"). A policy that does not exist grants
    nothing (the session cannot gain from a name the caller got wrong)."""
    arns = [value for key, value in sorted(params.items(), key=_member_order) if _POLICY_ARN.fullmatch(key)]
    role_account = (params.get("RoleArn") or "::::").split(":")[4]
    documents = []
    for arn in arns:
        provide_aws_managed_policies(role_account, {"PolicyArn": arn})  # an AWS managed one, in the role's account
        found = managed_policy_document(role_account, arn)
        documents.append(found if found is not None else '{"Version": "2012-10-17", "Statement": []}')
    return tuple(documents)


_POLICY_ARN = re.compile(r"PolicyArns\.member\.(\d+)\.arn")


def _member_order(item: tuple[str, str]) -> tuple[int, str]:
    match = _POLICY_ARN.fullmatch(item[0])
    return (int(match.group(1)) if match else 0, item[0])


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

    def check(
        self,
        caller: Caller,
        params: dict[str, str],
        *,
        source_ip: str | None = None,
        region: str | None = None,
    ) -> None:
        """Raise StsRefusal unless ``caller`` may assume params['RoleArn'] with these parameters.

        ``source_ip`` and ``region`` (of the request's signature) go into the request context when known.
        """
        role_arn = params.get("RoleArn", "")
        try:
            self._check(caller, role_arn, params, source_ip=source_ip, region=region)
        except StsRefusal as refusal:
            self._record(caller, role_arn, False, refusal.message)
            raise
        self._record(caller, role_arn, True, "allowed")
        attributes = replace(new_session_attributes(caller, params), issued_at=self.clock())
        remember_session(role_arn, params.get("RoleSessionName", ""), attributes)
        mark_role_used(role_arn, region)

    @staticmethod
    def _allowed(
        caller: Caller, trust: list[str], role_arn: str, context: dict[str, str | list[str]], action: str = ACTION
    ) -> bool:
        """The one decision (``xacct.iam.decide``): the role's trust policy is its resource-based policy."""
        request = Request(requester(caller), action, role_arn, role_arn.split(":")[4], context)
        policies = Policies(
            identity_policies(caller),
            permissions_boundary(caller),
            caller.session_policy,
            trust[0] if trust else None,
            resource_required=True,
        )
        return decide(request, policies).allowed

    def _check(
        self, caller: Caller, role_arn: str, params: dict[str, str], *, source_ip: str | None, region: str | None
    ) -> None:
        # The parameters already satisfy STS's model (xacct.local.sts_validation, before this guard).
        duration = int(params.get("DurationSeconds", "3600"))
        chained = chaining_problem(caller, params)
        if chained is not None:
            raise StsRefusal(400, "ValidationError", chained)
        match = _ROLE_ARN.match(role_arn)
        if match is None:
            raise StsRefusal(400, "ValidationError", f"{role_arn} is invalid")
        role_account = match.group(1)
        try:
            role = iam(role_account).get_role_by_arn(role_arn)
        except NotFoundException:
            raise access_denied(caller, role_arn) from None  # AWS does not say whether the role exists

        context = {
            **principal_keys(caller),
            **request_keys(self.clock(), source_ip=source_ip, region=region, resource_account=role_account),
            **assume_role_keys(params, caller),
        }
        trust = [stored_document(role_account, role)]
        same_account = caller.account_id == role_account

        if caller.kind == "root":
            # AWS refuses every AssumeRole by root credentials. The local convention: root acts as the service
            # the role trusts, in its own account only; another account's role stays refused, as in AWS.
            if not same_account:
                raise StsRefusal(403, "AccessDenied", ROOT_REFUSAL)
        else:
            # "Pass session tags in AWS STS": passing Tags (or TransitiveTagKeys) also needs sts:TagSession;
            # "Monitor and control actions taken with assumed roles": SourceIdentity needs sts:SetSourceIdentity.
            actions = [ACTION]
            if session_tags(params) or transitive_tag_keys(params):
                actions.append("sts:TagSession")
            # A source identity persists through role chaining, and every role in the chain must then allow
            # sts:SetSourceIdentity in its trust, whether or not this call passes it again (same page, "Role chaining
            # with source identity").
            if params.get("SourceIdentity") or caller.source_identity:
                actions.append("sts:SetSourceIdentity")
            for action in actions:
                if not self._allowed(caller, trust, role_arn, context, action):
                    raise access_denied(caller, role_arn, action)

        if caller.kind == "session" and duration > ROLE_CHAINING_LIMIT:
            raise StsRefusal(400, "ValidationError", ROLE_CHAINING_MESSAGE)
        if duration > int(role.max_session_duration or 3600):
            raise StsRefusal(400, "ValidationError", MAX_SESSION_MESSAGE)


def mark_role_used(role_arn: str, region: str | None) -> None:
    """IAM's RoleLastUsed: when and where the role was last used. AWS's pages (API Reference "RoleLastUsed", the
    IAM User Guide's "last accessed information") say "used" without listing what counts; an assumption is the use
    every user sees counted (a role assumed a moment ago is not "never used"), so a successful AssumeRole marks it, in
    the region STS was called in, as calls with the role's session credentials already do (moto)."""
    try:
        role = iam(role_arn.split(":")[4]).get_role_by_arn(role_arn)
    except NotFoundException:  # deleted meanwhile: nothing to mark
        return
    role.last_used = utcnow()
    # moto declares last_used_region as None-typed; it is the region's name (moto's own role_last_used reads it).
    role.last_used_region = region or "us-east-1"  # type: ignore[assignment]
