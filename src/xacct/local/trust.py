"""Role trust policies as IAM stores them, in front of moto (which stores whatever it is given).

AWS ("IAM JSON policy elements: Principal", https://docs.aws.amazon.com/IAM/latest/UserGuide/
reference_policies_elements_principal.html, section "IAM role principals" / "IAM user principals"): a role or
user ARN in a trust policy's Principal is transformed into the principal's unique id (AROA... / AIDA...) when
the policy is saved, and transformed back to the ARN when the policy is shown. If the role or user is deleted,
the policy shows the unique id, and a new role or user of the same name is not trusted: its id differs.
Saving a policy that names a role or user that does not exist fails with ``MalformedPolicyDocument: Invalid
principal in policy: "AWS":"<arn>"`` (HTTP 400). ``NotPrincipal`` cannot be used in a role trust policy
("IAM JSON policy elements: NotPrincipal").

Here: CreateRole and UpdateAssumeRolePolicy are checked before moto sees them (``check``); once moto has saved
the role, ``record`` keeps the stored form (unique ids) next to the document as submitted, keyed by the role's
own unique id. ``stored_document`` is what sts:AssumeRole evaluates; ``show`` rewrites moto's copy before every
IAM call so that GetRole/ListRoles show the ARN while the principal exists and the unique id once it is gone.
The state is per process, like moto's.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from moto.iam.exceptions import NotFoundException
from moto.iam.models import Role

from xacct.local.identity import iam

_IAM_PRINCIPAL = re.compile(r"^arn:aws[a-z-]*:iam::(?P<account>\d{12}):(?P<kind>role|user)/(?:[^/]+/)*(?P<name>[^/]+)$")


class TrustPolicyRefusal(Exception):
    """An IAM error response (400 MalformedPolicyDocument), shaped as AWS sends it."""

    status = 400

    def __init__(self, message: str, code: str = "MalformedPolicyDocument") -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    def xml(self) -> bytes:
        return (
            '<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
            f"<Error><Type>Sender</Type><Code>{escape(self.code)}</Code>"
            f"<Message>{escape(self.message)}</Message></Error>"
            f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
        ).encode()


def invalid_principal(entry: str) -> TrustPolicyRefusal:
    return TrustPolicyRefusal(f'Invalid principal in policy: "AWS":"{entry}"')


def unique_id_of(arn: str) -> str | None:
    """The unique id of the role or user ``arn`` names, or None when there is none (or it is not such an ARN)."""
    match = _IAM_PRINCIPAL.match(arn)
    if match is None:
        return None
    backend = iam(match["account"])
    if match["kind"] == "role":
        try:
            return str(backend.get_role_by_arn(arn).id)
        except NotFoundException:
            return None
    user = backend.users.get(match["name"])
    return str(user.id) if user is not None and user.arn == arn else None


def arn_of_unique_id(unique_id: str, account_hint: str) -> str | None:
    """The ARN of the role or user whose unique id this is (searched in ``account_hint``), None once deleted."""
    backend = iam(account_hint)
    for role in list(backend.roles.values()):
        if role.id == unique_id:
            return str(role.arn)
    for user in list(backend.users.values()):
        if user.id == unique_id:
            return str(user.arn)
    return None


def _entries(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in _entries(document.get("Statement", [])) if isinstance(s, dict)]


@dataclass(frozen=True)
class StoredTrust:
    """A trust policy as saved: the document submitted, and the unique id each role/user ARN in it became."""

    submitted: str
    bindings: tuple[tuple[str, str, str], ...]  # (arn, unique id, account of the principal)

    def stored(self) -> str:
        """The document with every role/user ARN replaced by its unique id: what sts:AssumeRole evaluates."""
        return self._replace({arn: unique_id for arn, unique_id, _ in self.bindings})

    def shown(self) -> str:
        """What GetRole shows: the submitted document, with the unique id of each principal that no longer exists."""
        gone = {
            arn: unique_id for arn, unique_id, account in self.bindings if arn_of_unique_id(unique_id, account) != arn
        }
        return self._replace(gone) if gone else self.submitted

    def _replace(self, mapping: dict[str, str]) -> str:
        if not mapping:
            return self.submitted
        document = json.loads(self.submitted)
        for statement in _statements(document):
            principal = statement.get("Principal")
            if isinstance(principal, dict) and "AWS" in principal:
                aws = principal["AWS"]
                if isinstance(aws, list):
                    principal["AWS"] = [mapping.get(entry, entry) for entry in aws]
                else:
                    principal["AWS"] = mapping.get(aws, aws)
        return json.dumps(document)


def check(document_text: str) -> StoredTrust:
    """Refuse a trust policy AWS would refuse (NotPrincipal, unknown role/user principals); else its stored form.

    A document that is not JSON is left to moto, which answers as AWS does ("Syntax errors in policy.").
    """
    try:
        document = json.loads(document_text)
    except ValueError:
        return StoredTrust(document_text, ())
    if not isinstance(document, dict):
        return StoredTrust(document_text, ())
    bindings: list[tuple[str, str, str]] = []
    for statement in _statements(document):
        if "NotPrincipal" in statement:
            # The docs say NotPrincipal cannot be used in a role trust policy; the wording of the error is not
            # documented (docs/local-aws.md, "Trust policies and host names"): the shape of IAM's grammar errors.
            raise TrustPolicyRefusal("Has prohibited field NotPrincipal.")
        principal = statement.get("Principal")
        if not isinstance(principal, dict):
            continue
        for entry in _entries(principal.get("AWS", [])):
            if not isinstance(entry, str) or not _IAM_PRINCIPAL.match(entry):
                continue
            unique_id = unique_id_of(entry)
            if unique_id is None:
                raise invalid_principal(entry)
            bindings.append((entry, unique_id, entry.split(":")[4]))
    return StoredTrust(document_text, tuple(bindings))


_STORE: dict[tuple[str, str], StoredTrust] = {}  # (account, role unique id) -> trust policy as saved
_LOCK = threading.Lock()


def record(account_id: str, role_name: str, trust: StoredTrust) -> None:
    """Remember how ``role_name``'s trust policy was saved (after moto accepted CreateRole/UpdateAssumeRolePolicy)."""
    try:
        role = iam(account_id).get_role(role_name)
    except NotFoundException:
        return
    with _LOCK:
        _STORE[(account_id, role.id)] = trust


def stored_document(account_id: str, role: Role) -> str:
    """The trust policy of ``role`` as IAM stores it (role and user principals as unique ids)."""
    trust = _STORE.get((account_id, role.id))
    return trust.stored() if trust is not None else str(role.assume_role_policy_document)


def show(account_id: str) -> None:
    """Before an IAM call in ``account_id``: let moto's copy of each trust policy read as AWS would show it."""
    for role in list(iam(account_id).roles.values()):
        trust = _STORE.get((account_id, role.id))
        if trust is not None:
            role.assume_role_policy_document = trust.shown()
