"""The request context the local AWS gives the policy engine: the global condition keys AWS provides.

"AWS global condition context keys" (IAM User Guide) says which keys are in the context of a request:

- principal keys, in every signed request: ``aws:TokenIssueTime`` (temporary credentials only),
  ``aws:PrincipalArn`` (for an assumed-role session, the ARN of
  the role, not of the session), ``aws:PrincipalAccount``, ``aws:PrincipalType`` (``Account``, ``User``,
  ``AssumedRole``), ``aws:userid`` (account id, user id, or ``role-id:session-name``), ``aws:username``
  (IAM users only), ``aws:PrincipalTag/<key>`` (the user's or role's tags; a session tag overrides the
  role tag of the same key);
- network and request keys: ``aws:SourceIp``, ``aws:CurrentTime`` (ISO 8601), ``aws:EpochTime``,
  ``aws:SecureTransport`` (was the request sent over TLS), ``aws:RequestedRegion``;
- resource keys: ``aws:ResourceAccount``.

``aws:PrincipalOrgID`` and ``aws:PrincipalOrgPaths`` are never present: the local AWS has no AWS
Organizations, and AWS includes them only "if the principal is a member of an organization".
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from datetime import datetime, timezone
from functools import lru_cache

from moto.iam.exceptions import NotFoundException

from xacct.local.identity import Caller, iam

PRINCIPAL_TYPES = {"root": "Account", "user": "User", "session": "AssumedRole"}


def principal_tags(caller: Caller) -> dict[str, str]:
    """The principal's tags now: a user's tags, or a role's tags overridden by the session's tags."""
    tags: dict[str, str] = {}
    backend = iam(caller.account_id)
    try:
        if caller.kind == "session" and caller.role_name:
            tags = {tag["Key"]: tag["Value"] for tag in backend.get_role(caller.role_name).tags}
        elif caller.kind == "user" and caller.user_name:
            tags = {tag["Key"]: tag["Value"] for tag in backend.list_user_tags(caller.user_name)}
    except NotFoundException:  # the role or user was deleted after the credentials were issued
        tags = {}
    # "New session tags override existing assumed role ... tags with the same tag key, regardless of case."
    overridden = {key.lower() for key, _ in caller.session_tags}
    tags = {key: value for key, value in tags.items() if key.lower() not in overridden}
    tags.update(dict(caller.session_tags))
    return tags


def principal_keys(caller: Caller) -> dict[str, str | list[str]]:
    """aws:Principal* keys, aws:userid, aws:username, aws:SourceIdentity; the principal tags as they are now."""
    keys: dict[str, str | list[str]] = dict(_identity_keys(caller))
    for key, value in principal_tags(caller).items():
        keys[f"aws:PrincipalTag/{key}"] = value
    return keys


@lru_cache(maxsize=1024)
def _identity_keys(caller: Caller) -> tuple[tuple[str, str], ...]:
    """The keys that never change for one set of credentials (cached: the gateway asks on every request)."""
    keys = {
        "aws:PrincipalArn": caller.principal_arn,
        "aws:PrincipalAccount": caller.account_id,
        "aws:PrincipalType": PRINCIPAL_TYPES.get(caller.kind, caller.kind),
        "aws:userid": caller.principal_id,
    }
    if caller.kind == "user" and caller.user_name:
        keys["aws:username"] = caller.user_name
    if caller.source_identity:
        keys["aws:SourceIdentity"] = caller.source_identity
    if caller.token_issue_time is not None:
        keys["aws:TokenIssueTime"] = _time_keys(caller.token_issue_time.replace(microsecond=0))[0][1]
    if caller.kind == "session":
        # "AWS global condition context keys", aws:MultiFactorAuthPresent: present and false for temporary
        # credentials issued without MFA (the local AWS issues none with it), absent for long-term access keys.
        keys["aws:MultiFactorAuthPresent"] = "false"
    return tuple(keys.items())


def request_keys(
    now: datetime,
    *,
    source_ip: str | None = None,
    region: str | None = None,
    secure_transport: bool | None = None,
    resource_account: str | None = None,
) -> dict[str, str | list[str]]:
    """aws:CurrentTime, aws:EpochTime and, when known, aws:SourceIp, aws:RequestedRegion, aws:SecureTransport,
    aws:ResourceAccount."""
    keys: dict[str, str | list[str]] = dict(_time_keys(now.replace(microsecond=0)))
    if source_ip is not None:
        keys["aws:SourceIp"] = source_ip
    if region is not None:
        keys["aws:RequestedRegion"] = region
    if secure_transport is not None:
        keys["aws:SecureTransport"] = "true" if secure_transport else "false"
    if resource_account is not None:
        keys["aws:ResourceAccount"] = resource_account
    return keys


@lru_cache(maxsize=4)
def _time_keys(now: datetime) -> tuple[tuple[str, str], ...]:
    """aws:CurrentTime (ISO 8601, UTC) and aws:EpochTime for a whole second (cached: one second, many requests)."""
    moment = (now if now.tzinfo is not None else now.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
    return (
        ("aws:CurrentTime", moment.strftime("%Y-%m-%dT%H:%M:%SZ")),
        ("aws:EpochTime", str(int(moment.timestamp()))),
    )


def session_tags(params: Mapping[str, str]) -> dict[str, str]:
    """The session tags of an sts:AssumeRole query (``Tags.member.N.Key`` / ``Tags.member.N.Value``)."""
    tags: dict[str, str] = {}
    index = 1
    while f"Tags.member.{index}.Key" in params:
        tags[params[f"Tags.member.{index}.Key"]] = params.get(f"Tags.member.{index}.Value", "")
        index += 1
    return tags


def transitive_tag_keys(params: Mapping[str, str]) -> list[str]:
    keys: list[str] = []
    while f"TransitiveTagKeys.member.{len(keys) + 1}" in params:
        keys.append(params[f"TransitiveTagKeys.member.{len(keys) + 1}"])
    return keys


def assume_role_keys(params: Mapping[str, str], caller: Caller | None = None) -> dict[str, str | list[str]]:
    """The keys sts:AssumeRole adds ("IAM and AWS STS condition context keys"), each only when given:
    sts:RoleSessionName, sts:ExternalId, sts:SourceIdentity (given, or persisted from the caller's session),
    and for session tags aws:RequestTag/<key>, aws:TagKeys (multivalued) and sts:TransitiveTagKeys (multivalued).
    """
    keys: dict[str, str | list[str]] = {}
    for parameter, key in (("RoleSessionName", "sts:RoleSessionName"), ("ExternalId", "sts:ExternalId")):
        if parameter in params:
            keys[key] = params[parameter]
    source_identity = params.get("SourceIdentity") or (caller.source_identity if caller is not None else None)
    if source_identity:
        keys["sts:SourceIdentity"] = source_identity
    tags = session_tags(params)
    if tags:
        keys.update({f"aws:RequestTag/{key}": value for key, value in tags.items()})
        keys["aws:TagKeys"] = list(tags)
    transitive = transitive_tag_keys(params)
    if transitive:
        keys["sts:TransitiveTagKeys"] = transitive
    return keys


def is_secure(scheme: str, remote_addr: str | None) -> bool:
    """aws:SecureTransport for the local AWS, one rule for the gateway and S3: https, or plain HTTP over loopback.

    AWS's execute-api and S3 endpoints are reached over TLS; the local AWS's loopback endpoint stands in for them,
    so a TLS-only policy (Deny when aws:SecureTransport is false) decides locally as it does on AWS. Plain HTTP from
    another machine (a non-loopback bind) is not secure.
    """
    if scheme == "https":
        return True
    try:
        return remote_addr is not None and ipaddress.ip_address(remote_addr).is_loopback
    except ValueError:
        return False
