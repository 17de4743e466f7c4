"""Who called: the invoke-role session API Gateway verified, parsed strictly from its ARN.

API Gateway checks the SigV4 signature and the invoke role's policy; it then tells the integration who
the caller was and which route it authorized. For an HTTP_PROXY integration the provider module adds the headers
``x-caller-arn: $context.identity.userArn``, ``x-caller-user-id: $context.identity.user`` and
``x-route-key: $context.routeKey`` (overwritten, so a client cannot send its own); for a Lambda integration
(AWS_PROXY, payload format 2.0) the event carries ``requestContext.authorizer.iam`` and ``routeKey``.
The caller is the assumed-role ARN of a role session::

    arn:aws:sts::<provider account>:assumed-role/<role>/<session name>

Only an *invoke role's* trust policy lets a consumer account in with a session name starting
``<that account's 12-digit id>-`` (``StringLike sts:RoleSessionName = ${aws:PrincipalAccount}-*``). Any other role
of the provider account that may invoke the API (a CI or admin role, or one trusting a consumer account for
something else) can be assumed under any session name, ``<another consumer's account>-x`` included. So the session
name names a consumer account only for the roles the server was told are invoke roles (``InvokeRoles``, from the
provider module's ``invoke_role_arns`` output); for any other role ``consumer_account_id`` is None.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from xacct.backend.errors import BackendConfigError, CallerNotVerified, NoIamAuthorizer, NotAnInvokeRole, RouteMismatch

# arn:<partition>:sts::<12 digits>:assumed-role/<role name>/<session name>. Role names are 1-64 and session
# names 2-64 characters of letters, digits and +=,.@_- (IAM and STS quotas); the role's path is not in the ARN.
_ASSUMED_ROLE_ARN = re.compile(
    r"arn:(?P<partition>aws(?:-[a-z]+)*):sts::(?P<account>\d{12}):assumed-role/"
    r"(?P<role>[\w+=,.@-]{1,64})/(?P<session>[\w+=,.@-]{2,64})",
    re.ASCII,
)
# arn:<partition>:iam::<12 digits>:role/<optional path/><role name>: what the module's invoke_role_arns output holds.
_ROLE_ARN = re.compile(
    r"arn:(?P<partition>aws(?:-[a-z]+)*):iam::(?P<account>\d{12}):role/(?:[\x21-\x7e]*/)?(?P<role>[\w+=,.@-]{1,64})",
    re.ASCII,
)
# aws:userid of a role session: "<role's unique id>:<session name>" (IAM unique ids: upper-case letters and digits).
_USER_ID = re.compile(r"(?P<id>[A-Z0-9]{1,128}):(?P<session>[\w+=,.@-]{2,64})", re.ASCII)
_CONSUMER_PREFIX = re.compile(r"(\d{12})-", re.ASCII)
EXPECTED_FORM = "arn:<partition>:sts::<12-digit account>:assumed-role/<role name>/<session name>"


class InvokeRoles:
    """The invoke roles of the API: the only roles whose session names name a consumer account.

    Built from the provider module's ``invoke_role_arns`` output: the map itself (name => ARN), or its ARNs.
    An empty collection is allowed (every caller is then "another role"), for servers that only serve such callers
    with ``allow_other_roles=True``.
    """

    def __init__(self, arns: Mapping[str, str] | Iterable[str]) -> None:
        if isinstance(arns, str):
            raise BackendConfigError(
                f"invoke_roles {arns[:200]!r} is one string; pass the provider module's invoke_role_arns output (a "
                "map of name => role ARN) or a list of role ARNs"
            )
        values = list(arns.values()) if isinstance(arns, Mapping) else list(arns)
        keys: set[tuple[str, str, str]] = set()
        for value in values:
            match = _ROLE_ARN.fullmatch(value) if isinstance(value, str) else None
            if match is None:
                raise BackendConfigError(
                    f"invoke_roles: {str(value)[:200]!r} is not a role ARN; expected "
                    "arn:<partition>:iam::<12-digit account>:role/<name> (the provider module's invoke_role_arns "
                    "output)"
                )
            keys.add((match.group("partition"), match.group("account"), match.group("role")))
        self._keys = frozenset(keys)

    def __contains__(self, session_arn: object) -> bool:
        """Whether an assumed-role session ARN is a session of one of these roles (same partition and account)."""
        match = _ASSUMED_ROLE_ARN.fullmatch(session_arn) if isinstance(session_arn, str) else None
        return (
            match is not None and (match.group("partition"), match.group("account"), match.group("role")) in self._keys
        )

    def __len__(self) -> int:
        return len(self._keys)

    def names(self) -> list[str]:
        return sorted(name for _, _, name in self._keys)

    @classmethod
    def of(cls, value: InvokeRoles | Mapping[str, str] | Iterable[str] | None) -> InvokeRoles:
        if value is None:
            raise BackendConfigError(
                "invoke_roles is required: pass the provider module's invoke_role_arns output (a map of name => "
                "role ARN; e.g. json.loads(os.environ['INVOKE_ROLE_ARNS'])). Only those roles' trust binds a session "
                "name to a consumer account; [] serves no invoke role"
            )
        return value if isinstance(value, InvokeRoles) else cls(value)


@dataclass(frozen=True)
class Caller:
    """The role session API Gateway verified for this request.

    Attributes:
        arn: the session's ARN, ``arn:aws:sts::<provider>:assumed-role/<role>/<session>``.
        provider_account_id: the account of the role (the API's own account).
        role_name: the role the session is of (an invoke role such as ``ApiAllowByIamRoleStag``, unless
            ``is_invoke_role`` is False).
        session_name: the role session name the caller chose.
        consumer_account_id: the consumer's 12-digit account id, when the role is one of the invoke roles the server
            was given and the session name has the form ``<account id>-...`` that their trust requires; else None:
            any other role may be assumed under any session name, so its session name proves nothing.
        is_invoke_role: whether the role is one of the invoke roles the server was given.
        user_id: ``<role id>:<session name>`` (aws:userid), which names the session's payload prefixes; None when
            the gateway did not forward it.
        route_key: the route API Gateway selected and authorized (``GET /items/{id}``); None when not forwarded.
    """

    arn: str
    provider_account_id: str
    role_name: str
    session_name: str
    consumer_account_id: str | None
    is_invoke_role: bool = False
    user_id: str | None = None
    route_key: str | None = None

    @property
    def invoke_role_name(self) -> str | None:
        """The invoke role's name, or None when the caller's role is not one of the invoke roles."""
        return self.role_name if self.is_invoke_role else None

    @classmethod
    def from_arn(
        cls,
        arn: str,
        *,
        invoke_roles: InvokeRoles | Mapping[str, str] | Iterable[str] = (),
        user_id: str | None = None,
        route_key: str | None = None,
    ) -> Caller:
        """Parse an assumed-role session ARN; raise ``CallerNotVerified`` for anything else.

        The whole value must match: an IAM user's ARN, a role's ARN, two ARNs joined by a comma (a header
        sent twice) or trailing text are refused. ``consumer_account_id`` is set only for a session of one of
        ``invoke_roles``. ``user_id``, when given, must be ``<role id>:<this session's name>``.
        """
        match = _ASSUMED_ROLE_ARN.fullmatch(arn) if isinstance(arn, str) else None
        if match is None:
            shown = repr(arn[:200]) if isinstance(arn, str) else type(arn).__name__
            raise CallerNotVerified(f"{shown} is not an invoke-role session ARN; expected {EXPECTED_FORM}")
        session = match.group("session")
        if user_id is not None:
            found = _USER_ID.fullmatch(user_id) if isinstance(user_id, str) else None
            if found is None or found.group("session") != session:
                shown = repr(user_id[:200]) if isinstance(user_id, str) else type(user_id).__name__
                raise CallerNotVerified(
                    f"the caller's user id {shown} is not '<role id>:{session}' (aws:userid of the session {arn})"
                )
        known = arn in InvokeRoles.of(invoke_roles)
        prefix = _CONSUMER_PREFIX.match(session) if known else None
        return cls(
            arn=arn,
            provider_account_id=match.group("account"),
            role_name=match.group("role"),
            session_name=session,
            consumer_account_id=prefix.group(1) if prefix else None,
            is_invoke_role=known,
            user_id=user_id,
            route_key=route_key,
        )

    @property
    def partition(self) -> str:
        """The ARN's partition: ``aws``, ``aws-cn``, ``aws-us-gov``..."""
        return self.arn.split(":", 2)[1]


def caller_from_lambda_event(
    event: Mapping[str, Any],
    *,
    invoke_roles: InvokeRoles | Mapping[str, str] | Iterable[str] | None = None,
    allow_other_roles: bool = False,
    check_route: bool = True,
) -> Caller:
    """The ``Caller`` of a Lambda proxy integration event (HTTP API, payload format 2.0, AWS_IAM route).

    API Gateway puts the verified identity in ``event["requestContext"]["authorizer"]["iam"]`` (fields
    ``accessKey``, ``accountId``, ``callerId``, ``cognitoIdentity``, ``principalOrgId``, ``userArn``,
    ``userId``) and the route it selected in ``event["routeKey"]``; the ``Caller`` is parsed from ``userArn``
    and ``userId``. See "Create AWS Lambda proxy integrations for HTTP APIs in API Gateway" and "Control access
    to HTTP APIs with IAM authorization in API Gateway".

    Args:
        invoke_roles: the provider module's ``invoke_role_arns`` output (required).
        allow_other_roles: return a ``Caller`` (with ``consumer_account_id`` None) for a role that is not an
            invoke role, instead of raising ``NotAnInvokeRole``.
        check_route: raise ``RouteMismatch`` when the event's path (``rawPath``, the stage removed) is not one the
            authorized route serves, or carries an encoded slash or a dot segment (see ``xacct.backend.route``).

    Raises ``NoIamAuthorizer`` when the event has no IAM authorizer context (not payload format 2.0, or
    the route's authorization type is not AWS_IAM), ``CallerNotVerified`` when ``userArn`` is not a role
    session's ARN (e.g. an IAM user called the route directly), ``NotAnInvokeRole``, ``RouteMismatch``.
    """
    from xacct.backend.route import lambda_route_problem  # here: route imports this module's neighbours

    roles = InvokeRoles.of(invoke_roles)
    if not isinstance(event, Mapping):
        raise NoIamAuthorizer(f"expected the Lambda event (a dict), got {type(event).__name__}")
    version = event.get("version")
    if version != "2.0":
        raise NoIamAuthorizer(
            f"the event's version is {version!r}, expected '2.0': set the integration's payload_format_version "
            "to 2.0 (an HTTP API's Lambda proxy integration)"
        )
    context = event.get("requestContext")
    authorizer = context.get("authorizer") if isinstance(context, Mapping) else None
    iam = authorizer.get("iam") if isinstance(authorizer, Mapping) else None
    if not isinstance(iam, Mapping):
        raise NoIamAuthorizer(
            "the event has no requestContext.authorizer.iam: the route's authorization type must be AWS_IAM "
            "(API Gateway then verifies the caller's signature and passes its identity)"
        )
    user_arn = iam.get("userArn")
    if not isinstance(user_arn, str) or not user_arn:
        raise NoIamAuthorizer("requestContext.authorizer.iam has no userArn")
    user_id = iam.get("userId")
    route_key = event.get("routeKey")
    caller = Caller.from_arn(
        user_arn,
        invoke_roles=roles,
        user_id=user_id if isinstance(user_id, str) and user_id else None,
        route_key=route_key if isinstance(route_key, str) and route_key else None,
    )
    if not caller.is_invoke_role and not allow_other_roles:
        raise NotAnInvokeRole(not_invoke_role_detail(caller, roles))
    if check_route:
        problem = lambda_route_problem(event, caller.route_key)
        if problem is not None:
            raise RouteMismatch(problem)
    return caller


def not_invoke_role_detail(caller: Caller, roles: InvokeRoles) -> str:
    """Why a session of another role is refused, and what to do (names only, never a credential)."""
    known = ", ".join(roles.names()) or "none"
    return (
        f"the caller's role {caller.role_name} is not one of this server's invoke roles ({known}). Only an invoke "
        "role's trust binds its session names to consumer accounts, so this caller's session name "
        f"{caller.session_name!r} names no consumer. Pass the provider module's invoke_role_arns output as "
        "invoke_roles, or allow_other_roles=True to serve such callers (consumer_account_id is then None)"
    )
