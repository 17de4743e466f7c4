"""Who is calling: access keys resolved against moto's IAM and STS state, plus the account-root convention.

An access key id that is a 12-digit number is that account's root credentials (any secret). Anything else is
looked up in moto: session keys from sts:AssumeRole, then IAM users' keys.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from moto.iam.exceptions import NotFoundException
from moto.iam.models import IAMBackend, ManagedPolicy, Role, iam_backends
from moto.sts.models import AssumedRole, sts_backends

from xacct.iam import Requester

PARTITION = "aws"
_ROOT_KEY = re.compile(r"^\d{12}$")


def is_root_key(access_key: str) -> bool:
    return bool(_ROOT_KEY.match(access_key))


@dataclass(frozen=True)
class Caller:
    """A principal making a request."""

    kind: str  # "root" | "session" | "user"
    account_id: str
    arn: str  # as AWS reports the caller (sts assumed-role ARN, user ARN, account root)
    principal_arn: str  # what policies name: the role ARN (with path), the user ARN, the account root
    principal_id: str  # AROA...:session, AIDA..., or the account id
    access_key: str
    secret_key: str | None = None  # None for root keys: any secret is accepted
    session_token: str | None = None
    expiration: datetime | None = None  # naive UTC, as moto keeps it
    role_name: str | None = None
    user_name: str | None = None
    session_policy: str | None = None
    session_tags: tuple[tuple[str, str], ...] = ()  # (key, value) pairs passed as Tags to sts:AssumeRole
    source_identity: str | None = None  # SourceIdentity passed to sts:AssumeRole
    transitive_tag_keys: tuple[str, ...] = ()  # session tag keys that persist through role chaining
    token_issue_time: datetime | None = None  # when STS issued these temporary credentials


@dataclass(frozen=True)
class SessionAttributes:
    """What sts:AssumeRole was given that moto does not keep: session tags, transitive keys, source identity."""

    tags: tuple[tuple[str, str], ...] = ()
    transitive_keys: tuple[str, ...] = ()
    source_identity: str | None = None
    issued_at: datetime | None = None  # when STS issued the credentials (aws:TokenIssueTime)
    managed_session_policies: tuple[str, ...] = ()  # the documents of AssumeRole's PolicyArns


# (role ARN, session name) -> the attributes of the latest session issued under that name (moto keeps no more).
_session_attributes: dict[tuple[str, str], SessionAttributes] = {}


def remember_session(role_arn: str, session_name: str, attributes: SessionAttributes) -> None:
    """Record what an allowed sts:AssumeRole passed, for the session moto is about to issue."""
    _session_attributes[(role_arn, session_name)] = attributes


def session_attributes(role_arn: str, session_name: str) -> SessionAttributes:
    return _session_attributes.get((role_arn, session_name), SessionAttributes())


_iam: dict[str, IAMBackend] = {}


def iam(account_id: str) -> IAMBackend:
    """The account's IAM backend in moto. Kept once found: moto's lookup checks and builds per call (about 3 us,
    three times per gateway request); the local AWS never resets moto's backends while it runs."""
    found = _iam.get(account_id)
    if found is not None:
        return found
    backend: IAMBackend = iam_backends[account_id][PARTITION]
    _iam[account_id] = backend
    return backend


def root_caller(account_id: str) -> Caller:
    return Caller(
        kind="root",
        account_id=account_id,
        arn=f"arn:aws:iam::{account_id}:root",
        principal_arn=f"arn:aws:iam::{account_id}:root",
        principal_id=account_id,
        access_key=account_id,
    )


class CallerDirectory:
    """Finds callers by access key id. Sessions never change once issued, so found ones are cached."""

    def __init__(self) -> None:
        self._sessions: dict[str, Caller] = {}
        self._lock = threading.Lock()

    def find(self, access_key: str) -> Caller | None:
        if is_root_key(access_key):
            return root_caller(access_key)
        cached = self._sessions.get(access_key)
        if cached is not None:
            return cached
        caller = self._find_session(access_key) or self._find_user(access_key)
        if caller is not None and caller.kind == "session":
            with self._lock:
                self._sessions[access_key] = caller
        return caller

    @staticmethod
    def _find_session(access_key: str) -> Caller | None:
        for account_id, backends in list(sts_backends.items()):
            session: AssumedRole
            for session in list(backends[PARTITION].assumed_roles):
                if session.access_key_id != access_key:
                    continue
                role_name = session.role_arn.split("/")[-1]
                try:
                    role_id = iam(account_id).get_role_by_arn(session.role_arn).id
                except NotFoundException:  # the role was deleted after the session was issued
                    role_id = "AROA" + "0" * 17
                attributes = session_attributes(session.role_arn, session.session_name)
                return Caller(
                    kind="session",
                    account_id=account_id,
                    arn=session.arn,
                    principal_arn=session.role_arn,
                    principal_id=f"{role_id}:{session.session_name}",
                    access_key=access_key,
                    secret_key=session.secret_access_key,
                    session_token=session.session_token,
                    expiration=session.expiration,
                    role_name=role_name,
                    session_policy=session_policy_of(session.policy or None, attributes.managed_session_policies),
                    session_tags=attributes.tags,
                    source_identity=attributes.source_identity,
                    transitive_tag_keys=attributes.transitive_keys,
                    token_issue_time=attributes.issued_at,
                )
        return None

    @staticmethod
    def _find_user(access_key: str) -> Caller | None:
        for account_id in list(iam_backends.keys()):
            backend = iam(account_id)
            user = backend.get_user_from_access_key_id(access_key)
            if user is None:
                continue
            secret = next(k.secret_access_key for k in user.access_keys if k.access_key_id == access_key)
            return Caller(
                kind="user",
                account_id=account_id,
                arn=user.arn,
                principal_arn=user.arn,
                principal_id=user.id,
                access_key=access_key,
                secret_key=secret,
                user_name=user.name,
            )
        return None


def session_policy_of(inline: str | None, managed: tuple[str, ...]) -> str | None:
    """The session's policies as one document: the inline one (Policy) and the managed ones (PolicyArns) together.

    "Session policies" (IAM User Guide, "Policies and permissions"): the session's permissions are the intersection
    of the role's identity-based policies and the session policies, inline and managed, which are evaluated as one
    set (an Allow in any of them, no Deny in any). A set of policies evaluates as one document holding all their
    statements. None when AssumeRole passed neither.
    """
    if not managed:
        return inline
    documents = [json.loads(inline)] if inline else []
    documents += [json.loads(text) for text in managed]
    statements: list[Any] = []
    for document in documents:
        found = document.get("Statement", []) if isinstance(document, dict) else []
        statements += found if isinstance(found, list) else [found]
    versions = {document.get("Version") for document in documents if isinstance(document, dict)}
    version = "2012-10-17" if versions == {"2012-10-17"} else next(iter(versions - {None}), None)
    merged: dict[str, Any] = {"Statement": statements}
    if version is not None:
        merged["Version"] = version
    return json.dumps(merged)


def managed_policy_document(account_id: str, arn: str) -> str | None:
    """The default version of a managed policy (the account's own, or an AWS managed one), or None if unknown."""
    try:
        return _document(iam(account_id).get_policy(arn))
    except NotFoundException:
        return None


def _document(policy: ManagedPolicy) -> str:
    for version in policy.versions:
        if version.is_default:
            return str(version.document)
    return '{"Statement": []}'


def identity_policies(caller: Caller) -> list[str]:
    """Inline and attached policy documents of the caller's role or user (and the user's groups)."""
    backend = iam(caller.account_id)
    if caller.kind == "session" and caller.role_name:
        role: Role = backend.get_role(caller.role_name)
        return [*role.policies.values(), *(_document(p) for p in role.managed_policies.values())]
    if caller.kind == "user" and caller.user_name:
        user = backend.get_user(caller.user_name)
        documents = [*user.policies.values(), *(_document(p) for p in user.managed_policies.values())]
        for group in backend.get_groups_for_user(caller.user_name):
            documents += [*group.policies.values(), *(_document(p) for p in group.managed_policies.values())]
        return documents
    return []


_requesters: dict[tuple[str, str], Requester] = {}


def requester(caller: Caller) -> Requester:
    """The caller as ``xacct.iam.decide`` sees it (kept per access key: the gateway asks on every request)."""
    key = (caller.access_key, caller.arn)
    found = _requesters.get(key)
    if found is not None:
        return found
    if caller.kind == "session":
        made = Requester(
            "session", caller.account_id, caller.arn, caller.principal_arn, caller.principal_id.split(":", 1)[0]
        )
    elif caller.kind == "user":
        made = Requester("user", caller.account_id, caller.arn, unique_id=caller.principal_id)
    else:
        made = Requester("root", caller.account_id, f"arn:aws:iam::{caller.account_id}:root")
    _requesters[key] = made
    return made


# (account, user name) -> the ARN of the user's permissions boundary. moto keeps none for users (its CreateUser
# drops PermissionsBoundary and it has no PutUserPermissionsBoundary): the local AWS keeps them (server.py).
_user_boundaries: dict[tuple[str, str], str] = {}


def set_user_boundary(account_id: str, user_name: str, policy_arn: str | None) -> None:
    if policy_arn:
        _user_boundaries[(account_id, user_name)] = policy_arn
    else:
        _user_boundaries.pop((account_id, user_name), None)


def user_boundary(account_id: str, user_name: str) -> str | None:
    return _user_boundaries.get((account_id, user_name))


def permissions_boundary(caller: Caller) -> str | None:
    """The document of the caller's role's or user's permissions boundary, if it has one."""
    backend = iam(caller.account_id)
    if caller.kind == "session" and caller.role_name:
        arn = backend.get_role(caller.role_name).permissions_boundary_arn
    elif caller.kind == "user" and caller.user_name:
        arn = user_boundary(caller.account_id, caller.user_name)
    else:
        return None
    if not arn:
        return None
    try:
        return _document(backend.get_policy(arn))
    except NotFoundException:  # a boundary that names a missing policy allows nothing
        return '{"Statement": []}'
