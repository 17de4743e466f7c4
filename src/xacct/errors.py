"""Errors a consumer can act on: which role, which ARN, what AWS said, what to change.

Messages name a Python parameter as itself (``role_arn``, ``external_id``, ``endpoint_url``,
``source_session``) or as ``region=...``; the CLI rewrites exactly those spellings into its options.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, Protocol

import requests


class XacctError(Exception):
    """Base class of every error raised by xacct.

    A message's first line says what happened, in under 300 characters; what AWS said and what to do follow on
    lines of their own, indented by two spaces. No message holds a key, a secret or a session token.
    """


def first_line(text: str, limit: int) -> str:
    """The first line of ``text``, cut to at most ``limit`` characters ("..." at the end when cut)."""
    line = text.strip().split("\n", 1)[0].rstrip()
    return line if len(line) <= limit else line[: max(limit - 3, 0)].rstrip() + "..."


class ConfigError(XacctError, ValueError):
    """Bad input to the client (URL, role ARN, region, body): nothing was sent."""


class InsecureTransport(ConfigError):
    """Refused to sign a request that would travel as plain http:// to a host that is not this machine.

    A signed request carries the session token and can be replayed for five minutes; on plain HTTP anyone on the
    path reads both and the answer. Allowed: https://, a loopback host (127.0.0.0/8, ::1, localhost), or an
    explicit ``endpoint_url`` (the local AWS) that the bytes go to.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        super().__init__(
            f"refusing to sign for {url}: plain http:// to a host other than this machine would expose the "
            "signed request and its session token on the network\n"
            "  Use the API's https:// URL (its invoke_url), a loopback host (127.0.0.1, ::1, localhost) for local "
            "testing, or set endpoint_url to send the bytes to an emulator explicitly."
        )


class MissingExtra(XacctError, ImportError):
    """A part of xacct needs a package its base install leaves out; the message says which extra brings it."""


class NoSourceCredentials(XacctError):
    """No credentials to call sts:AssumeRole with."""


class AssumeRoleError(XacctError):
    """sts:AssumeRole failed for a reason other than access (validation, throttling, network)."""

    def __init__(self, message: str, *, role_arn: str, aws_code: str | None = None) -> None:
        super().__init__(message)
        self.role_arn = role_arn
        self.aws_code = aws_code


def role_arn_of_session(caller_arn: str) -> str | None:
    """arn:aws:sts::B:assumed-role/Name/session -> arn:aws:iam::B:role/Name (the path is not in the ARN)."""
    match = re.match(r"^arn:([^:]+):sts::(\d{12}):assumed-role/([^/]+)/", caller_arn)
    if match is None:
        return None
    partition, account, name = match.groups()
    return f"arn:{partition}:iam::{account}:role/{name}"


class AssumeRoleDenied(AssumeRoleError):
    """sts:AssumeRole was refused: one of the two halves of the cross-account grant is missing."""

    def __init__(
        self,
        *,
        caller_arn: str | None,
        role_arn: str,
        aws_message: str,
        external_id_sent: bool,
        session_name: str | None = None,
        account_id: str | None = None,
        allowed_roles: Sequence[str] = (),
    ) -> None:
        self.caller_arn = caller_arn
        self.allowed_roles = tuple(allowed_roles)
        self.aws_message = aws_message
        self.external_id_sent = external_id_sent
        caller = caller_arn or "the source credentials"
        principal = (role_arn_of_session(caller_arn) if caller_arn else None) or caller
        hints = [
            f"the role's ARN: the role may not exist (AWS answers the same AccessDenied for a role that does not "
            f"exist), so check the account and the name in {role_arn} against the provider's invoke_role_arns output"
            + (f" (your own policies allow assuming: {', '.join(allowed_roles)})" if allowed_roles else ""),
            f"your side: {principal} needs an identity policy allowing sts:AssumeRole on {role_arn} "
            "(modules/consumer_role: provider_invoke_role_arns)",
            f"the provider's side: the trust policy of {role_arn} must name {principal} "
            "(modules/provider_api: invoke_roles[...].trusted_role_arns; ask the provider team)",
        ]
        if not external_id_sent:
            hints.append("if the provider set an external id for this role, pass external_id=... (--external-id)")
        else:
            hints.append("the external id must equal the provider's invoke_roles[...].external_id")
        if session_name is not None and account_id is not None and not session_name.startswith(f"{account_id}-"):
            hints.insert(
                0,
                f"the session name: {session_name!r} does not start with '{account_id}-'; invoke roles trust a "
                f"consumer account only for sessions named '<its account id>-*' (sts:RoleSessionName), so use "
                f"'{account_id}-...' or leave session_name unset and xacct chooses '{account_id}-xacct-...'",
            )
        # A short first line (what happened), then what AWS said and what to check, a line each.
        message = "\n".join(
            [f"AssumeRole denied: {caller} may not assume {role_arn}", f"  AWS said: {aws_message}", "  Check:"]
            + [f"  - {hint}" for hint in hints]
        )
        super().__init__(message, role_arn=role_arn, aws_code="AccessDenied")


def attempts_text(attempts: int) -> str:
    return f"{attempts} attempt" + ("" if attempts == 1 else "s")


class Answer(Protocol):
    """What the errors read of a response: a ``requests.Response`` (ApiClient) and an ``httpx.Response``
    (AsyncApiClient) both are one."""

    @property
    def status_code(self) -> int: ...

    @property
    def content(self) -> bytes: ...


class HttpError(XacctError, requests.HTTPError):
    """The API answered with an HTTP error status; .response holds the full (last) response.

    ``response`` is a ``requests.Response`` from ApiClient, an ``httpx.Response`` from AsyncApiClient.

    ``url`` is the API's URL as the caller named it (not an ``endpoint_url`` the bytes went to);
    ``attempts`` counts the requests sent, retries included.
    """

    def __init__(self, message: str, *, response: Any, url: str | None = None, attempts: int = 1) -> None:
        super().__init__(message, response=response)
        self.status_code = response.status_code
        self.url = url or str(response.url)
        self.attempts = attempts


class ConnectionFailed(XacctError, requests.ConnectionError):
    """No HTTP answer: the host name did not resolve, the connection was refused or lost, TLS failed.

    ``reason`` is one of ``dns``, ``refused``, ``tls``, ``connect_timeout``, ``read_timeout``,
    ``connection_lost`` or ``connection``; ``url`` is the API's URL as the caller named it;
    ``attempts`` counts the requests tried, retries included. Also a ``requests.ConnectionError``, so
    code written against plain ``requests`` keeps working.
    """

    REASONS = ("dns", "refused", "tls", "connect_timeout", "read_timeout", "connection_lost", "connection")

    def __init__(self, message: str, *, reason: str, url: str, attempts: int) -> None:
        super().__init__(message)
        self.reason = reason
        self.url = url
        self.attempts = attempts


class TimedOut(ConnectionFailed, requests.Timeout):
    """No connection, or no answer, within the timeout (``reason`` ``connect_timeout`` or ``read_timeout``)."""


# The reasons API Gateway gives in a 403 for an IAM-authorized route.
_DENIAL_REASONS: list[tuple[str, re.Pattern[str]]] = [
    ("missing_signature", re.compile(r"^Forbidden$")),
    ("invalid_token", re.compile(r"^The security token included in the request is invalid")),
    ("expired_token", re.compile(r"^The security token included in the request is expired")),
    ("signature_mismatch", re.compile(r"^The request signature we calculated does not match")),
    ("clock_skew", re.compile(r"^Signature (expired|not yet current)")),
    ("not_authorized", re.compile(r"^User: \S+ is not authorized to perform: execute-api:Invoke")),
    ("incomplete_signature", re.compile(r"^Authorization header requires|^Credential should be scoped")),
]

# What happened, in a few words, for a message's first line (not_authorized names the role and route when it can).
_SUMMARY = {
    "missing_signature": "the request was not signed",
    "invalid_token": "the security token is not valid there",
    "expired_token": "the security token has expired",
    "signature_mismatch": "the signature does not match the request",
    "clock_skew": "the request's time is more than 5 minutes off",
    "not_authorized": "the invoke role may not call this route",
    "incomplete_signature": "the Authorization header is not a complete SigV4 header",
}

_ADVICE = {
    "missing_signature": "the request was not signed; sign it with IamAuth (service execute-api).",
    "invalid_token": "the access key or session token is unknown here; use the assumed role's credentials "
    "(and its session token) for the API's account.",
    "expired_token": "the session credentials expired; ApiClient refreshes them, a hand-made signer must too.",
    "signature_mismatch": "what was sent differs from what was signed (host, path, query, body or "
    "headers changed after signing), or the secret key is wrong.",
    "clock_skew": "this machine's clock is more than 5 minutes off; sync it (NTP).",
    "not_authorized": "the invoke role is not allowed this route (its allowed_routes): call a route it is allowed, "
    "or ask the provider team to add this one to invoke_roles[...].allowed_routes.",
    "incomplete_signature": "the Authorization header is not a SigV4 header for service execute-api in the "
    "API's region.",
}


# API Gateway's signature-mismatch 403 echoes the canonical request, session token included (as a header line
# "x-amz-security-token:<token>", or as a query parameter "X-Amz-Security-Token=<token>" when presigned).
_SESSION_TOKEN = re.compile(r"(x-amz-security-token[:=])[A-Za-z0-9+/=%_-]+", re.IGNORECASE)
_SESSION_TOKEN_BYTES = re.compile(rb"(x-amz-security-token[:=])[A-Za-z0-9+/=%_-]+", re.IGNORECASE)
REDACTED = "<redacted>"


def redact(text: str) -> str:
    """``text`` with any session token it echoes replaced by ``<redacted>``."""
    return _SESSION_TOKEN.sub(rf"\g<1>{REDACTED}", text)


def redact_bytes(body: bytes) -> bytes:
    """``redact`` for a response body as received (e.g. API Gateway's JSON error)."""
    return _SESSION_TOKEN_BYTES.sub(rb"\g<1>" + REDACTED.encode(), body)


def denial_reason(response: Answer) -> tuple[str, str] | None:
    """(reason, AWS message) when a 403 is API Gateway's IAM authorization refusal, else None."""
    if response.status_code != 403:
        return None
    try:
        body = json.loads(response.content or b"")
    except ValueError:
        return None
    if not isinstance(body, dict) or not isinstance(body.get("message"), str):
        return None
    message = redact(body["message"])
    for reason, pattern in _DENIAL_REASONS:
        if pattern.search(message):
            return reason, message
    return None


class InvokeDenied(HttpError):
    """API Gateway refused the request at IAM authorization (403)."""

    def __init__(self, *, response: Any, reason: str, aws_message: str, url: str | None = None) -> None:
        self.reason = reason
        self.aws_message = aws_message = redact(aws_message)
        match = re.search(r"on resource: (\S+)", aws_message)
        self.resource = match.group(1) if match else None
        said = first_line(aws_message, 400)
        super().__init__(
            f"403 from API Gateway ({reason}): {self._summary(reason, aws_message)}\n"
            f"  AWS said: {said}\n"
            f"  What to do: {_ADVICE[reason]}",
            response=response,
            url=url,
        )

    def _summary(self, reason: str, aws_message: str) -> str:
        """What happened: for not_authorized, which invoke role may not call which route (from AWS's message)."""
        role = re.search(r":assumed-role/([^/\s]+)/", aws_message)
        if reason != "not_authorized" or self.resource is None or role is None:
            return _SUMMARY[reason]
        # arn:aws:execute-api:<region>:<account>:<api id>/<stage>/<METHOD>/<path>
        parts = self.resource.split(":", 5)[-1].split("/", 3)
        if len(parts) < 3:
            return _SUMMARY[reason]
        route = f"{parts[2]} /{parts[3] if len(parts) > 3 else ''}"
        return first_line(f"the invoke role {role.group(1)} may not call {route}", 250)
