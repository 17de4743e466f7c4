"""The one check both middlewares run before the app: origin secret (when set), then the verified caller.

Kept apart from WSGI and ASGI so that the two cannot drift: each middleware only reads headers in its
own shape, asks ``Gate.check``, and renders a ``Refusal`` (403, JSON) or passes the ``Caller`` on.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus

from xacct.backend.caller import EXPECTED_FORM, Caller, InvokeRoles, not_invoke_role_detail
from xacct.backend.errors import BackendConfigError, CallerNotVerified
from xacct.backend.route import ROUTE_HEADER, route_problem

log = logging.getLogger("xacct.backend")

CALLER_HEADER = "x-caller-arn"
USER_ID_HEADER = "x-caller-user-id"
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
    """Checks one request before the app: the origin secret in constant time (when given), the verified caller
    (``x-caller-arn``, ``x-caller-user-id``), that it is a session of an invoke role, and that the path is one the
    route the gateway authorized (``x-route-key``) serves.

    ``origin_secret`` is a string, or several during a rotation (any of them is accepted); ``header_name`` is
    the header the gateway sets to it. ``invoke_roles`` is the provider module's ``invoke_role_arns`` output.
    ``removed`` are the lower-case header names the app must not see.
    """

    def __init__(
        self,
        origin_secret: OriginSecret = None,
        header_name: str = DEFAULT_ORIGIN_HEADER,
        *,
        invoke_roles: InvokeRoles | Mapping[str, str] | Iterable[str] | None = None,
        allow_other_roles: bool = False,
        check_route: bool = True,
        path_prefix: str = "",
    ) -> None:
        if not isinstance(header_name, str) or not _TOKEN.fullmatch(header_name.lower()):
            raise BackendConfigError(f"header_name {header_name!r} is not an HTTP header name (e.g. x-origin-verify)")
        self.header_name = header_name.lower()
        if self.header_name in (CALLER_HEADER, USER_ID_HEADER, ROUTE_HEADER) or self.header_name in SIGNED_HEADERS:
            raise BackendConfigError(
                f"header_name {header_name!r} is a header with another job; use the one the gateway sets to the "
                "origin secret (default x-origin-verify)"
            )
        if not isinstance(path_prefix, str) or (
            path_prefix and (not path_prefix.startswith("/") or path_prefix.endswith("/"))
        ):
            raise BackendConfigError(
                f"path_prefix {path_prefix!r} must be '' or a path such as '/api' (the integration URI's base path, "
                "which the gateway puts before the request's path): starting with '/', not ending with one"
            )
        self._secrets = _secrets(origin_secret)
        self.invoke_roles = InvokeRoles.of(invoke_roles)
        self.allow_other_roles = allow_other_roles
        self.check_route = check_route
        self.path_prefix = path_prefix
        self.removed = frozenset((*SIGNED_HEADERS, self.header_name))

    @property
    def checks_origin(self) -> bool:
        return bool(self._secrets)

    def _origin_matches(self, value: bytes) -> bool:
        matched = False
        for secret in self._secrets:  # every secret compared, so the time does not tell which one matched
            matched |= hmac.compare_digest(value, secret)
        return matched

    def check(
        self, values: Callable[[str], list[bytes]], method: str = "", path: str = "", raw_path: str | None = None
    ) -> Caller | Refusal:
        """``values(name)`` gives the raw values of a (lower-case) header: none, one, or several if sent twice.

        ``method`` and ``path`` are what the app will route on (``path`` decoded, as PATH_INFO or ASGI's ``path``),
        ``raw_path`` the path as sent when the server tells it (still percent-encoded).
        """
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
        single: dict[str, str | None] = {}
        for name in (CALLER_HEADER, USER_ID_HEADER, ROUTE_HEADER):
            found = arns if name == CALLER_HEADER else values(name)
            if len(found) > 1:
                return Refusal("caller_invalid", f"the {name} header was sent more than once")
            single[name] = found[0].decode("latin-1") if found else None
        arn = single[CALLER_HEADER]
        assert arn is not None
        try:
            caller = Caller.from_arn(
                arn, invoke_roles=self.invoke_roles, user_id=single[USER_ID_HEADER], route_key=single[ROUTE_HEADER]
            )
        except CallerNotVerified:
            return Refusal(
                "caller_invalid",
                f"the {CALLER_HEADER} header is not {EXPECTED_FORM}, or {USER_ID_HEADER} is not "
                "'<role id>:<session name>' of that session",
            )
        if not caller.is_invoke_role and not self.allow_other_roles:
            return Refusal("caller_not_invoke_role", not_invoke_role_detail(caller, self.invoke_roles))
        if self.check_route:
            routed = path
            if self.path_prefix:
                if routed != self.path_prefix and not routed.startswith(self.path_prefix + "/"):
                    return Refusal(
                        "route_mismatch",
                        f"the path {path[:200]!r} does not start with path_prefix {self.path_prefix!r}, the base path "
                        "the gateway puts before every request's path",
                    )
                routed = routed[len(self.path_prefix) :] or "/"
                if raw_path is not None and raw_path.startswith(self.path_prefix):
                    raw_path = raw_path[len(self.path_prefix) :] or "/"
            problem = route_problem(caller.route_key, method, routed, raw_path)
            if problem is not None:
                return Refusal(
                    "route_mismatch",
                    problem + " (check_route=False turns this check off for an app that routes on x-route-key itself)",
                )
        return caller


def log_refusal(refusal: Refusal, method: str, path: str, client: str | None) -> None:
    """One WARNING per refused request (reason and where from; never a header's value)."""
    log.warning("refused %s %r from %s: %s", method, path, client or "?", refusal.reason)
