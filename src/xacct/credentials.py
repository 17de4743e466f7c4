"""Assumed-role credentials that refresh themselves, on botocore's own machinery.

One sts:AssumeRole serves every request until the refresh window; a long-running worker never sees an
expired session, not even under role chaining's one-hour cap. Refreshing is thread-safe: in the advisory
window one thread refreshes while the others keep signing with the still-valid credentials.
"""

from __future__ import annotations

import asyncio
import fnmatch
import functools
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import boto3
from botocore.credentials import AssumeRoleCredentialFetcher, DeferredRefreshableCredentials, ReadOnlyCredentials
from botocore.exceptions import BotoCoreError, ClientError
from botocore.utils import parse_timestamp

from xacct.errors import (
    AssumeRoleDenied,
    AssumeRoleError,
    ConfigError,
    NoSourceCredentials,
    XacctError,
    first_line,
    role_arn_of_session,
)
from xacct.signing import CredentialSource

ROLE_ARN = re.compile(r"^arn:aws(-cn|-us-gov)?:iam::\d{12}:role/([\w+=,.@-]+/)*[\w+=,.@-]{1,64}$")
_SESSION_NAME = re.compile(r"^[\w+=,.@-]{2,64}$")
_EXTERNAL_ID = re.compile(r"^[\w+=,.@:/-]{2,1224}$")

log = logging.getLogger(__name__)


# STS's answers when the credentials that call it are expired or unknown ("Common Errors" of the STS API Reference).
SOURCE_CREDENTIALS_REFUSED = frozenset({"ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId"})


def check_role_arn(role_arn: str) -> str:
    if not ROLE_ARN.match(role_arn or ""):
        raise ConfigError(
            f"role_arn {role_arn!r} is not an IAM role ARN; expected arn:aws:iam::<12-digit account id>:role/<name>, "
            "e.g. the provider's invoke_role_arns output"
        )
    return role_arn


def default_session_name(account_id: str | None = None) -> str:
    """``<account id>-xacct-<Lambda function name or host name>``, at most 64 characters.

    The contract with the provider (modules/provider_api): an invoke role trusts each consumer account in its own
    statement, on condition that ``sts:RoleSessionName`` is ``<that account id>-*``, so the API server can tell
    the consumer from the session name (``xacct.backend.Caller.consumer_account_id``) and no consumer can pose as
    another. The name also shows up in the provider's access log (userArn). Without ``account_id``: xacct-<...>.
    """
    base = os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or socket.gethostname() or "client"
    prefix = f"{account_id}-xacct-" if account_id else "xacct-"
    return re.sub(r"[^\w+=,.@-]", "-", prefix + base)[:64]


class RoleCredentials(DeferredRefreshableCredentials):
    """botocore's refreshable credentials, with refresh windows that scale down for short sessions.

    botocore's refresher is used as is (locking, advisory vs mandatory refresh, one refresh at a time);
    only its windows differ. botocore's are fixed: 15 minutes (advisory) and 10 minutes (mandatory) before
    expiry, so a 15-minute session (AssumeRole's minimum, and what many providers set) would be in the
    window from the start and cost one sts:AssumeRole per request. Here the windows are
    min(15 min, lifetime / 4) and min(10 min, lifetime / 6) of the session actually received, set after
    each fetch (RefreshableCredentials(advisory_timeout=..., mandatory_timeout=...) sets the same two
    attributes, but only once, at construction); one-hour sessions behave exactly as in botocore.

    Each fetch is logged at DEBUG on ``xacct.credentials``: the role ARN, the new expiry and the windows,
    never a key, secret or token.
    """

    _advisory_refresh_timeout: float
    _mandatory_refresh_timeout: float

    def __init__(self, fetch: Callable[[], dict[str, Any]], *, role_arn: str = "") -> None:
        self.refresh_count = 0
        self.role_arn = role_arn
        self._fetch = fetch
        # The session fetched last: its access key and the monotonic time its refresh window opens.
        self._fetched: tuple[str, float] = ("", 0.0)
        self._fresh: tuple[ReadOnlyCredentials, float] | None = None
        super().__init__(refresh_using=self._fetch_and_scale, method="assume-role")

    def fresh_frozen(self) -> ReadOnlyCredentials | None:
        """The current credentials while their refresh window is still ahead (no refresh due), else None.

        A monotonic clock read: botocore's own check (``refresh_needed``, a time-zone aware ``now``) costs more than
        the rest of a signature, and ran twice per request.
        """
        fresh = self._fresh
        return fresh[0] if fresh is not None and time.monotonic() < fresh[1] else None

    def get_frozen_credentials(self) -> ReadOnlyCredentials:
        fresh = self.fresh_frozen()
        if fresh is not None:
            return fresh
        frozen: ReadOnlyCredentials = super().get_frozen_credentials()
        key, window = self._fetched
        # Kept for the fast path only if they are the session fetched last (another thread may be refreshing).
        self._fresh = (frozen, window) if frozen.access_key == key and time.monotonic() < window else None
        return frozen

    def _fetch_and_scale(self) -> dict[str, Any]:
        data = self._fetch()
        expiry = parse_timestamp(data["expiry_time"])
        lifetime = (expiry - datetime.now(timezone.utc)).total_seconds()
        self._advisory_refresh_timeout = min(15 * 60, max(lifetime, 1) / 4)
        self._mandatory_refresh_timeout = min(10 * 60, max(lifetime, 1) / 6)
        self._fresh = None
        self._fetched = (data["access_key"], time.monotonic() + lifetime - self._advisory_refresh_timeout - 1)
        self.refresh_count += 1
        log.debug(
            "%s %s: new session expires %s (in %.0f s); next refresh %.1f s before (mandatory %.1f s)",
            "assumed" if self.refresh_count == 1 else "refreshed",
            self.role_arn or "the role",
            expiry.isoformat(),
            lifetime,
            self._advisory_refresh_timeout,
            self._mandatory_refresh_timeout,
        )
        return data


class AsyncCredentials:
    """``credentials`` for coroutines: the event loop never waits on botocore's (synchronous) refresh.

    While the credentials need no refresh, ``frozen()`` returns them at once. When they do (the first use, the
    refresh window), the first task to notice runs ``get_frozen_credentials()`` in a worker thread
    (``asyncio.to_thread``) and every other task awaits that same run: one sts:AssumeRole in flight however many
    tasks find the credentials expiring (botocore's own lock keeps threads using the same credentials to one
    refresh too). Static credentials (no ``refresh_needed``) are returned as they are.
    """

    def __init__(self, credentials: CredentialSource) -> None:
        self.credentials = credentials
        self._refresh_needed: Callable[[], bool] | None = getattr(credentials, "refresh_needed", None)
        self._fresh_frozen: Callable[[], ReadOnlyCredentials | None] | None = getattr(credentials, "fresh_frozen", None)
        self._inflight: asyncio.Future[ReadOnlyCredentials] | None = None

    async def frozen(self) -> ReadOnlyCredentials:
        fresh = self._fresh_frozen() if self._fresh_frozen is not None else None
        if fresh is not None:
            return fresh
        if self._refresh_needed is None or not self._refresh_needed():
            return self.credentials.get_frozen_credentials()
        loop = asyncio.get_running_loop()
        inflight = self._inflight
        if inflight is None or inflight.done() or inflight.get_loop() is not loop:
            refresh = asyncio.to_thread(self.credentials.get_frozen_credentials)
            inflight = self._inflight = asyncio.ensure_future(refresh)
        # Shielded: a task cancelled while waiting does not cancel the refresh the others wait for.
        return await asyncio.shield(inflight)


class AssumedRole:
    """Credentials for ``role_arn``, assumed from ``source_session`` (default: the ambient boto3 session)."""

    def __init__(
        self,
        role_arn: str,
        *,
        region: str,
        source_session: boto3.Session | None = None,
        external_id: str | None = None,
        session_name: str | None = None,
        duration_seconds: int | None = None,
    ) -> None:
        self.role_arn = check_role_arn(role_arn)
        self.region = region
        self.external_id = external_id
        self.session = source_session or boto3.Session()
        if session_name is not None and not _SESSION_NAME.match(session_name):
            raise ConfigError(f"session_name {session_name!r} must be 2-64 characters of letters, digits and +=,.@_-")
        self.given_session_name = session_name
        self._identity: dict[str, str] | None = None
        self._identity_lock = threading.Lock()
        if external_id is not None and not _EXTERNAL_ID.match(external_id):
            raise ConfigError(
                f"external_id of {len(external_id)} characters is invalid: 2-1224 characters of letters, "
                "digits and +=,.@:/_- expected"
            )
        source = self.session.get_credentials()
        if source is None:
            raise NoSourceCredentials(
                "no AWS credentials to assume "
                f"{role_arn} with: run inside the workload's role (Lambda/ECS), or set AWS_PROFILE / "
                "AWS_ACCESS_KEY_ID, or pass source_session"
            )
        self._source = source
        self._duration_seconds = duration_seconds
        self._fetcher: AssumeRoleCredentialFetcher | None = None
        self.credentials = RoleCredentials(self._fetch, role_arn=role_arn)

    def caller_identity(self) -> dict[str, str]:
        """sts:GetCallerIdentity of the source credentials, asked once per AssumedRole (Account, Arn, UserId)."""
        with self._identity_lock:
            if self._identity is None:
                sts = self.session.client("sts", region_name=self.region)
                found = sts.get_caller_identity()
                self._identity = {key: str(found[key]) for key in ("Account", "Arn", "UserId")}
            return self._identity

    @property
    def session_name(self) -> str:
        """The session name sent: the one given, else ``<source account id>-xacct-<...>`` (default_session_name)."""
        if self.given_session_name is not None:
            return self.given_session_name
        return default_session_name(self.caller_identity()["Account"])

    def _fetch(self) -> dict[str, Any]:
        if self._fetcher is None:
            extra: dict[str, Any] = {"RoleSessionName": self.session_name}
            if self.external_id is not None:
                extra["ExternalId"] = self.external_id
            if self._duration_seconds is not None:
                extra["DurationSeconds"] = self._duration_seconds
            # The fetcher's in-memory cache treats credentials as expired 15 minutes before expiry, never later
            # than RoleCredentials' windows, so a refresh always reaches STS.
            self._fetcher = AssumeRoleCredentialFetcher(
                functools.partial(self.session.client, region_name=self.region),
                self._source,
                self.role_arn,
                extra_args=extra,
            )
        return self._fetcher.fetch_credentials()

    def explain(self, exc: Exception) -> XacctError:
        """Turn what botocore raised while assuming the role into an error the user can act on."""
        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            code, message = error.get("Code", ""), error.get("Message", str(exc))
            if code == "AccessDenied":
                identity = self._caller()
                return AssumeRoleDenied(
                    caller_arn=identity["Arn"] if identity else None,
                    role_arn=self.role_arn,
                    aws_message=message,
                    external_id_sent=self.external_id is not None,
                    session_name=self.given_session_name,
                    account_id=identity["Account"] if identity else None,
                    allowed_roles=self._assumable(identity["Arn"]) if identity else (),
                )
            if code in SOURCE_CREDENTIALS_REFUSED:
                return AssumeRoleError(
                    f"AssumeRole of {self.role_arn} failed: the source credentials (the ones that call AssumeRole) "
                    f"were refused ({code})\n"
                    f"  AWS said: {first_line(message, 400)}\n"
                    "  Refresh them: `aws sso login` or new keys for a profile, the workload's own role in Lambda/ECS, "
                    "or against the local AWS the `xacct local credentials ROLE_ARN` line the demo printed; then call "
                    "again.",
                    role_arn=self.role_arn,
                    aws_code=code,
                )
            return AssumeRoleError(
                f"AssumeRole of {self.role_arn} failed ({code})\n  AWS said: {first_line(message, 400)}",
                role_arn=self.role_arn,
                aws_code=code,
            )
        return AssumeRoleError(
            f"AssumeRole of {self.role_arn} failed: {first_line(str(exc), 200)}", role_arn=self.role_arn
        )

    def _assumable(self, caller_arn: str) -> list[str]:
        """The role ARNs the caller's own role policies allow sts:AssumeRole on, when it may read them; else []."""
        role = role_arn_of_session(caller_arn)
        if role is None:
            return []
        name = role.rsplit("/", 1)[1]
        found: list[str] = []
        try:
            iam = self.session.client("iam", region_name=self.region)
            documents = [
                iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]
                for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]
            ]
            for attached in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
                version = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]["DefaultVersionId"]
                documents.append(
                    iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=version)["PolicyVersion"][
                        "Document"
                    ]
                )
        except (ClientError, BotoCoreError):
            return []  # not allowed to read its own policies: nothing to list
        for document in documents:
            statements = document.get("Statement", []) if isinstance(document, dict) else []
            for statement in statements if isinstance(statements, list) else [statements]:
                actions = statement.get("Action", [])
                actions = [actions] if isinstance(actions, str) else actions
                # As IAM matches actions: case-insensitively, * and ? as wildcards (sts:Assume*, STS:AssumeRole).
                if statement.get("Effect") != "Allow" or not any(
                    isinstance(a, str) and fnmatch.fnmatchcase("sts:assumerole", a.lower()) for a in actions
                ):
                    continue
                resources = statement.get("Resource", [])
                found += [resources] if isinstance(resources, str) else list(resources)
        return sorted(set(found))

    def _caller(self) -> dict[str, str] | None:
        try:
            return self.caller_identity()
        except (ClientError, BotoCoreError):
            return None
