"""Checking a SigV4 signature the way AWS does, by recomputing it with botocore's signer.

No second SigV4 implementation: the canonical request, string to sign and signature all come from
botocore's ``SigV4Auth``; we only tell it which headers the client said it signed, and give it the request
as received (raw path, canonicalised query, body bytes).
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote, unquote

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

MAX_CLOCK_SKEW = timedelta(minutes=5)
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
_CREDENTIAL = re.compile(r"^(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request$")


class SignatureProblem(Exception):
    """Why a request's signature cannot be accepted; ``kind`` picks AWS's error type."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(frozen=True)
class SignedRequest:
    """The parts of a SigV4 Authorization header, plus X-Amz-Date."""

    access_key: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str
    amz_date: str


def access_key_of(authorization: str) -> str | None:
    """The access key id of a SigV4 Authorization header (None for anything else)."""
    match = re.search(r"Credential=([^/,\s]+)/", authorization)
    return match.group(1) if match else None


def parse(authorization: str, headers: Mapping[str, str]) -> SignedRequest:
    """Split the Authorization header; raise SignatureProblem the way AWS words a malformed one.

    ``headers`` are keyed by lower-case names.
    """
    if not authorization.startswith("AWS4-HMAC-SHA256 "):
        raise SignatureProblem(
            "IncompleteSignatureException",
            "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' "
            "parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header requires "
            f"existence of either a 'X-Amz-Date' or a 'Date' header. Authorization={authorization}",
        )
    fields: dict[str, str] = {}
    for part in authorization[len("AWS4-HMAC-SHA256 ") :].split(","):
        name, _, value = part.strip().partition("=")
        fields[name] = value
    missing = [name for name in ("Credential", "SignedHeaders", "Signature") if not fields.get(name)]
    amz_date = headers.get("x-amz-date")
    problems = [f"Authorization header requires '{name}' parameter." for name in missing]
    if not amz_date:
        problems.append("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
    if problems:
        raise SignatureProblem("IncompleteSignatureException", " ".join([*problems, f"Authorization={authorization}"]))
    assert amz_date is not None
    credential = _CREDENTIAL.match(fields["Credential"])
    if credential is None:
        raise SignatureProblem(
            "IncompleteSignatureException",
            f"Credential should be scoped to a valid region, not '{fields['Credential']}'. ",
        )
    return SignedRequest(
        access_key=credential["key"],
        date=credential["date"],
        region=credential["region"],
        service=credential["service"],
        signed_headers=tuple(h.strip().lower() for h in fields["SignedHeaders"].split(";") if h.strip()),
        signature=fields["Signature"],
        amz_date=amz_date,
    )


def check_scope(signed: SignedRequest, *, service: str, region: str) -> None:
    if signed.service != service:
        raise SignatureProblem(
            "InvalidSignatureException", f"Credential should be scoped to correct service: '{service}'. "
        )
    if signed.region != region:
        raise SignatureProblem(
            "InvalidSignatureException",
            f"Credential should be scoped to a valid region, not '{signed.region}'. ",
        )


def check_clock(signed: SignedRequest, now: datetime) -> None:
    """AWS refuses a request signed more than 5 minutes before or after its own clock."""
    try:
        when = datetime.strptime(signed.amz_date, _AMZ_DATE).replace(tzinfo=timezone.utc)
    except ValueError:
        raise SignatureProblem(
            "IncompleteSignatureException",
            f"Date must be in ISO-8601 'basic format'. Got '{signed.amz_date}'.",
        ) from None
    earliest, latest = (now - MAX_CLOCK_SKEW).strftime(_AMZ_DATE), (now + MAX_CLOCK_SKEW).strftime(_AMZ_DATE)
    if when < now - MAX_CLOCK_SKEW:
        raise SignatureProblem(
            "InvalidSignatureException",
            f"Signature expired: {signed.amz_date} is now earlier than {earliest} ({now.strftime(_AMZ_DATE)} - 5 min.)",
        )
    if when > now + MAX_CLOCK_SKEW:
        raise SignatureProblem(
            "InvalidSignatureException",
            f"Signature not yet current: {signed.amz_date} is still later than {latest} "
            f"({now.strftime(_AMZ_DATE)} + 5 min.)",
        )
    if signed.date != signed.amz_date[:8]:
        raise SignatureProblem(
            "InvalidSignatureException",
            f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{signed.date}' != '{signed.amz_date[:8]}', from '{signed.amz_date}'.",
        )


def canonical_query_of(raw_query: str) -> str:
    """The query as AWS canonicalises it: each key and value decoded, re-encoded (-_.~ safe), sorted."""
    pairs = []
    for part in raw_query.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        pairs.append((quote(unquote(key), safe="-_.~"), quote(unquote(value), safe="-_.~")))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


class _AsSigned(SigV4Auth):
    """SigV4Auth that signs exactly the headers the client listed in SignedHeaders."""

    def __init__(self, credentials: Credentials, service: str, region: str, signed: tuple[str, ...]) -> None:
        super().__init__(credentials, service, region)
        self._signed = signed

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        header_map = HTTPHeaders()
        for name in self._signed:
            value = request.headers.get(name)
            if value is not None:
                header_map[name] = value
        return header_map


@dataclass(frozen=True)
class Verification:
    ok: bool
    canonical_request: str
    string_to_sign: str


def verify(
    signed: SignedRequest,
    *,
    secret_key: str,
    session_token: str | None,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Mapping[str, str],
    body: bytes,
) -> Verification:
    """Recompute the signature with botocore over the request as received (headers keyed lower-case)."""
    lower = headers
    # A header that was signed but not sent cannot match; AWS reports that as a mismatch too.
    missing = [h for h in signed.signed_headers if h not in lower]
    host = lower.get("host", "")
    url = f"https://{host}{raw_path or '/'}"
    query = canonical_query_of(raw_query)
    if query:
        url += f"?{query}"
    request_headers: dict[str, Any] = {h: lower[h] for h in signed.signed_headers if h in lower}
    request = AWSRequest(method=method.upper(), url=url, data=body, headers=request_headers)
    request.context["timestamp"] = signed.amz_date
    auth = _AsSigned(
        Credentials(signed.access_key, secret_key, session_token),
        signed.service,
        signed.region,
        signed.signed_headers,
    )
    canonical = auth.canonical_request(request)
    string_to_sign = auth.string_to_sign(request, canonical)
    expected = auth.signature(string_to_sign, request)
    ok = not missing and hmac.compare_digest(expected, signed.signature)
    return Verification(ok=ok, canonical_request=canonical, string_to_sign=string_to_sign)


def mismatch_message(verification: Verification) -> str:
    return (
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
        "Access Key and signing method. Consult the service documentation for details.\n\n"
        "The Canonical String for this request should have been\n"
        f"'{verification.canonical_request}'\n\n"
        "The String-to-Sign should have been\n"
        f"'{verification.string_to_sign}'\n"
    )


def raw_target(environ: Mapping[str, Any]) -> tuple[str, str]:
    """(raw path, raw query) of a WSGI request exactly as the client sent them: what the signature covers."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if not raw:
        path = quote(environ.get("PATH_INFO", "/"), safe="/-_.~!$&'()*+,;=:@%")
        return path, environ.get("QUERY_STRING", "")
    if "://" in raw:  # absolute-form request target
        raw = "/" + raw.split("://", 1)[1].partition("/")[2]
    path, _, query = raw.partition("?")
    return path or "/", query
