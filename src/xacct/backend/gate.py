"""The one check both middlewares run before the app: origin secret (when set), then the verified caller.

Kept apart from WSGI and ASGI so that the two cannot drift: each middleware only reads headers in its
own shape, asks ``Gate.check``, and renders a ``Refusal`` (403, JSON) or passes the ``Caller`` on.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http import HTTPStatus

from xacct.backend.caller import EXPECTED_FORM, Caller
from xacct.backend.errors import BackendConfigError, CallerNotVerified

log = logging.getLogger("xacct.backend")

CALLER_HEADER = "x-caller-arn"
CALLER_KEY = "xacct.caller"  # where the app finds the Caller: environ[...] (WSGI), scope[...] (ASGI)
DEFAULT_ORIGIN_HEADER = "x-origin-verify"
# The client's SigV4 headers: API Gateway checked them; the app has no use for them, and a session token
# is a credential that should not reach the app's logs.
SIGNED_HEADERS = ("authorization", "x-amz-security-token", "x-amz-date", "x-amz-content-sha256")
_TOKEN = re.compile(r"[a-z0-9!#$%&'*+.^_`|~-]+")  # an HTTP header name (RFC 9110 token), lower case

OriginSecret = str | Sequence[str] | None


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused before the app: ``reason`` is a stable code, ``detail`` a sentence for humans.

    Neither ever contains a header's value (the secret, or what a forger sent).
    """

    reason: str
    detail: str
    status: int = 403

    def body(self) -> bytes:
        """The JSON body (``message`` is never just "Forbidden", which is API Gateway's own refusal)."""
        message = f"{HTTPStatus(self.status).phrase} by xacct.backend: {self.detail}"
        return json.dumps({"message": message, "reason": self.reason}).encode()

    def status_line(self) -> str:
        return f"{self.status} {HTTPStatus(self.status).phrase}"

    def headers(self) -> list[tuple[str, str]]:
        return [("Content-Type", "application/json"), ("Content-Length", str(len(self.body())))]


def _secrets(origin_secret: OriginSecret) -> tuple[bytes, ...]:
    if origin_secret is None:
        return ()
    given = (origin_secret,) if isinstance(origin_secret, str) else tuple(origin_secret)
    if not given:
        raise BackendConfigError(
            "origin_secret is an empty sequence: pass None (no origin check), a string, or the current and the "
            "previous secret while rotating"
        )
    for index, secret in enumerate(given):
        if not isinstance(secret, str) or not secret:
            raise BackendConfigError(
                f"origin_secret[{index}] must be a non-empty string (the provider module's origin_secret output), "
                f"got {type(secret).__name__ if not isinstance(secret, str) else 'an empty string'}"
            )
    return tuple(secret.encode("utf-8") for secret in given)


class Gate:
    """Checks one request's headers: the origin secret in constant time (when given), then ``x-caller-arn``.

    ``origin_secret`` is a string, or several during a rotation (any of them is accepted); ``header_name`` is
    the header the gateway sets to it. ``removed`` are the lower-case header names the app must not see.
    """

    def __init__(self, origin_secret: OriginSecret = None, header_name: str = DEFAULT_ORIGIN_HEADER) -> None:
        if not isinstance(header_name, str) or not _TOKEN.fullmatch(header_name.lower()):
            raise BackendConfigError(f"header_name {header_name!r} is not an HTTP header name (e.g. x-origin-verify)")
        self.header_name = header_name.lower()
        if self.header_name == CALLER_HEADER or self.header_name in SIGNED_HEADERS:
            raise BackendConfigError(
                f"header_name {header_name!r} is a header with another job; use the one the gateway sets to the "
                "origin secret (default x-origin-verify)"
            )
        self._secrets = _secrets(origin_secret)
        self.removed = frozenset((*SIGNED_HEADERS, self.header_name))

    @property
    def checks_origin(self) -> bool:
        return bool(self._secrets)

    def _origin_matches(self, value: bytes) -> bool:
        matched = False
        for secret in self._secrets:  # every secret compared, so the time does not tell which one matched
            matched |= hmac.compare_digest(value, secret)
        return matched

    def check(self, values: Callable[[str], list[bytes]]) -> Caller | Refusal:
        """``values(name)`` gives the raw values of a (lower-case) header: none, one, or several if sent twice."""
        if self._secrets:
            origin = values(self.header_name)
            if not origin:
                return Refusal(
                    "origin_missing",
                    f"no {self.header_name} header: this server answers only requests forwarded by its API Gateway",
                )
            if len(origin) > 1 or not self._origin_matches(origin[0]):
                return Refusal(
                    "origin_mismatch",
                    f"the {self.header_name} header does not match the origin secret: this server answers only "
                    "requests forwarded by its API Gateway",
                )
        arns = values(CALLER_HEADER)
        if not arns:
            return Refusal(
                "caller_missing",
                f"no {CALLER_HEADER} header: the gateway's integration must set it to $context.identity.userArn "
                "(an AWS_IAM route)",
            )
        if len(arns) > 1:
            return Refusal("caller_invalid", f"the {CALLER_HEADER} header was sent more than once")
        try:
            return Caller.from_arn(arns[0].decode("latin-1"))
        except CallerNotVerified:
            return Refusal("caller_invalid", f"the {CALLER_HEADER} header is not {EXPECTED_FORM}")


def log_refusal(refusal: Refusal, method: str, path: str, client: str | None) -> None:
    """One WARNING per refused request (reason and where from; never a header's value)."""
    log.warning("refused %s %r from %s: %s", method, path, client or "?", refusal.reason)
