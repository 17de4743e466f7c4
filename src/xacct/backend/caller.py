"""Who called: the invoke-role session API Gateway verified, parsed strictly from its ARN.

API Gateway checks the SigV4 signature and the invoke role's policy; it then tells the integration who
the caller was. For an HTTP_PROXY integration the provider module adds the header
``x-caller-arn: $context.identity.userArn`` (overwritten, so a client cannot send its own); for a Lambda
integration (AWS_PROXY, payload format 2.0) the event carries ``requestContext.authorizer.iam``.
Either way the value is the assumed-role ARN of the invoke-role session::

    arn:aws:sts::<provider account>:assumed-role/<invoke role>/<session name>

Every invoke role's trust policy lets a consumer account in only with a session name starting
``<that account's 12-digit id>-`` (``StringLike sts:RoleSessionName``), so the prefix names the consumer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from xacct.backend.errors import CallerNotVerified, NoIamAuthorizer

# arn:<partition>:sts::<12 digits>:assumed-role/<role name>/<session name>. Role names are 1-64 and session
# names 2-64 characters of letters, digits and +=,.@_- (IAM and STS quotas); the role's path is not in the ARN.
_ASSUMED_ROLE_ARN = re.compile(
    r"arn:(?P<partition>aws(?:-[a-z]+)*):sts::(?P<account>\d{12}):assumed-role/"
    r"(?P<role>[\w+=,.@-]{1,64})/(?P<session>[\w+=,.@-]{2,64})",
    re.ASCII,
)
_CONSUMER_PREFIX = re.compile(r"(\d{12})-", re.ASCII)
EXPECTED_FORM = "arn:<partition>:sts::<12-digit account>:assumed-role/<role name>/<session name>"


@dataclass(frozen=True)
class Caller:
    """The invoke-role session API Gateway verified for this request.

    Attributes:
        arn: the session's ARN, ``arn:aws:sts::<provider>:assumed-role/<role>/<session>``.
        provider_account_id: the account of the invoke role (the API's own account).
        invoke_role_name: the invoke role the consumer assumed (say, ``ApiAllowByIamRoleStag``).
        session_name: the role session name the consumer chose.
        consumer_account_id: the consumer's 12-digit account id when the session name has the form
            ``<account id>-...`` that every invoke role's trust policy requires of that account; else None.
    """

    arn: str
    provider_account_id: str
    invoke_role_name: str
    session_name: str
    consumer_account_id: str | None

    @classmethod
    def from_arn(cls, arn: str) -> Caller:
        """Parse an assumed-role session ARN; raise ``CallerNotVerified`` for anything else.

        The whole value must match: an IAM user's ARN, a role's ARN, two ARNs joined by a comma (a header
        sent twice) or trailing text are refused.
        """
        match = _ASSUMED_ROLE_ARN.fullmatch(arn) if isinstance(arn, str) else None
        if match is None:
            shown = repr(arn[:200]) if isinstance(arn, str) else type(arn).__name__
            raise CallerNotVerified(f"{shown} is not an invoke-role session ARN; expected {EXPECTED_FORM}")
        session = match.group("session")
        prefix = _CONSUMER_PREFIX.match(session)
        return cls(
            arn=arn,
            provider_account_id=match.group("account"),
            invoke_role_name=match.group("role"),
            session_name=session,
            consumer_account_id=prefix.group(1) if prefix else None,
        )

    @property
    def partition(self) -> str:
        """The ARN's partition: ``aws``, ``aws-cn``, ``aws-us-gov``..."""
        return self.arn.split(":", 2)[1]


def caller_from_lambda_event(event: Mapping[str, Any]) -> Caller:
    """The ``Caller`` of a Lambda proxy integration event (HTTP API, payload format 2.0, AWS_IAM route).

    API Gateway puts the verified identity in ``event["requestContext"]["authorizer"]["iam"]`` (fields
    ``accessKey``, ``accountId``, ``callerId``, ``cognitoIdentity``, ``principalOrgId``, ``userArn``,
    ``userId``); the ``Caller`` is parsed from ``userArn``. See "Create AWS Lambda proxy integrations for
    HTTP APIs in API Gateway" and "Control access to HTTP APIs with IAM authorization in API Gateway".

    Raises ``NoIamAuthorizer`` when the event has no IAM authorizer context (not payload format 2.0, or
    the route's authorization type is not AWS_IAM), ``CallerNotVerified`` when ``userArn`` is not an
    invoke-role session's ARN (e.g. an IAM user called the route directly).
    """
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
    return Caller.from_arn(user_arn)
