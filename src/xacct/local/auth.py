"""One authentication path for the whole local AWS: the gateway (execute-api) and the control plane (moto).

``Authenticator.authenticate`` checks a SigV4-signed request the way AWS does, in AWS's order: the signature's
form (Authorization header or X-Amz-* query parameters), the credential scope (date, region, service,
aws4_request), the access key and session token (looked up in ``CallerDirectory``), the session's expiry,
the clock (the request's X-Amz-Date against ours) and, for query-string signatures, X-Amz-Expires, then the
signature itself, recomputed by botocore (``xacct.local.sigv4``). Any failure is one ``AuthRefusal``: a
``Refusal`` kind and AWS's message. Each edge renders it in its service's own shape (``render_*`` below).

AWS documentation behind the checks:
- "Signing AWS API requests" (IAM User Guide, reference_aws-signing.html): "In most cases, a request must
  reach AWS within five minutes of the time stamp in the request. Otherwise, AWS denies the request." STS and
  S3 allow 15 minutes: STS says so in its own refusal ("... (20220127T015928Z - 15 min.)", aws/aws-cli#6676),
  S3 in "Authenticating Requests (AWS Signature Version 4)" (sig-v4-authenticating-requests.html).
- "Authenticating Requests: Using Query Parameters (AWS Signature Version 4)" (sigv4-query-string-auth.html):
  X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date, X-Amz-Expires (1 to 604800 seconds), X-Amz-SignedHeaders,
  X-Amz-Security-Token, X-Amz-Signature; the request is refused once X-Amz-Date + X-Amz-Expires has passed.
  STS ignores X-Amz-Expires (aws/aws-sdk-go#2167: a presigned STS request lives for its 15-minute window).
- "Elements of an AWS API request signature" (reference_sigv-signing-elements.html): the credential scope
  is date/region/service/aws4_request, the date matching X-Amz-Date's.

A signature mismatch echoes the canonical request as AWS does, the session token included (boto/boto3#756):
the xacct client redacts it from what it keeps and prints (``xacct.errors.redact``), and its tests need the
local AWS to send what AWS sends.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from enum import Enum
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from xacct.local import sigv4
from xacct.local.identity import Caller, CallerDirectory

_AMZ_DATE = "%Y%m%dT%H%M%SZ"
_CREDENTIAL = re.compile(r"^(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/(?P<end>[^/]+)$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
ALGORITHM = "AWS4-HMAC-SHA256"

DEFAULT_CLOCK_SKEW = timedelta(minutes=5)
CLOCK_SKEW = {"sts": timedelta(minutes=15), "s3": timedelta(minutes=15)}
MAX_EXPIRES = 604800
# Services that ignore X-Amz-Expires and keep to their clock window (aws/aws-sdk-go#2167).
_IGNORES_EXPIRES = frozenset({"sts"})

MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
    "Access Key and signing method. Consult the service documentation for details."
)


class Refusal(Enum):
    """Why a request is not authenticated. The edge picks the service's code and status for each."""

    # (The values name kinds of refusal; none is a secret.)

    MISSING_AUTHENTICATION = "missing authentication"
    INCOMPLETE_SIGNATURE = "incomplete signature"
    INVALID_TOKEN = "invalid token"  # noqa: S105  unknown access key, or a session token that does not go with it
    EXPIRED_TOKEN = "expired token"  # noqa: S105  the session's credentials have expired
    WRONG_SCOPE = "wrong scope"  # region or service of the credential scope
    SIGNATURE_EXPIRED = "signature expired"  # X-Amz-Date too far in the past, or past X-Amz-Expires
    SIGNATURE_NOT_YET_CURRENT = "signature not yet current"  # X-Amz-Date too far in the future
    SIGNATURE_MISMATCH = "signature mismatch"
    CONTENT_SHA256_MISMATCH = "content sha256 mismatch"  # S3: X-Amz-Content-SHA256 is not the body's hash


class AuthRefusal(Exception):
    """A request the local AWS does not authenticate: ``kind`` and AWS's message (never a secret)."""

    def __init__(self, kind: Refusal, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(frozen=True)
class SignedHttpRequest:
    """A request as received: raw path and query (what the signature covers), lower-case headers, body."""

    method: str
    raw_path: str
    raw_query: str
    headers: Mapping[str, str]
    body: bytes


def is_signed(request: SignedHttpRequest) -> bool:
    """Whether the request carries any SigV4 authentication (header or query string)."""
    return "authorization" in request.headers or "X-Amz-Algorithm=" in request.raw_query


def _query_params(raw_query: str) -> dict[str, str]:
    return dict(parse_qsl(raw_query, keep_blank_values=True))


def parse(request: SignedHttpRequest) -> sigv4.Signature:
    """The signature of a request, from its Authorization header or its query string, as AWS words a bad one."""
    authorization = request.headers.get("authorization")
    if authorization is None and "X-Amz-Algorithm=" in request.raw_query:
        return _parse_query(request)
    if not authorization:
        raise AuthRefusal(Refusal.MISSING_AUTHENTICATION, "Missing Authentication Token")
    if not authorization.startswith(f"{ALGORITHM} "):
        raise AuthRefusal(
            Refusal.INCOMPLETE_SIGNATURE,
            "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' "
            "parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header requires "
            f"existence of either a 'X-Amz-Date' or a 'Date' header. Authorization={authorization}",
        )
    fields: dict[str, str] = {}
    for part in authorization[len(ALGORITHM) + 1 :].split(","):
        name, _, value = part.strip().partition("=")
        fields[name] = value
    missing = [name for name in ("Credential", "SignedHeaders", "Signature") if not fields.get(name)]
    amz_date = request.headers.get("x-amz-date") or _from_http_date(request.headers.get("date"))
    problems = [f"Authorization header requires '{name}' parameter." for name in missing]
    if not amz_date:
        problems.append("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
    if problems:
        raise AuthRefusal(Refusal.INCOMPLETE_SIGNATURE, " ".join([*problems, f"Authorization={authorization}"]))
    assert amz_date is not None
    return _signature(
        fields["Credential"],
        fields["SignedHeaders"],
        fields["Signature"],
        amz_date,
        token=request.headers.get("x-amz-security-token"),
    )


def _from_http_date(value: str | None) -> str | None:
    """The request time from a ``Date`` header (RFC 9110's IMF-fixdate), in X-Amz-Date's basic format.

    "Elements of an AWS API request signature" (SigV4): the date of the request is X-Amz-Date or, when absent, the
    Date header; the string to sign carries it in ISO 8601 basic format. None when absent or unreadable.
    """
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _parse_query(request: SignedHttpRequest) -> sigv4.Signature:
    params = _query_params(request.raw_query)
    if params.get("X-Amz-Algorithm") != ALGORITHM:
        raise AuthRefusal(
            Refusal.INCOMPLETE_SIGNATURE,
            f"X-Amz-Algorithm only supports '{ALGORITHM}', not '{params.get('X-Amz-Algorithm')}'.",
        )
    wanted = ("X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date")
    missing = [name for name in wanted if not params.get(name)]
    if missing:
        raise AuthRefusal(
            Refusal.INCOMPLETE_SIGNATURE,
            " ".join(f"AWS query-string parameters must include '{name}'." for name in missing)
            + " Re-examine the query-string parameters.",
        )
    expires = params.get("X-Amz-Expires")
    seconds: int | None = None
    if expires is not None:
        if not expires.isdigit() or not 1 <= int(expires) <= MAX_EXPIRES:
            raise AuthRefusal(
                Refusal.INCOMPLETE_SIGNATURE,
                f"X-Amz-Expires must be an integer from 1 to {MAX_EXPIRES} (seconds), not '{expires}'.",
            )
        seconds = int(expires)
    return _signature(
        params["X-Amz-Credential"],
        params["X-Amz-SignedHeaders"],
        params["X-Amz-Signature"],
        params["X-Amz-Date"],
        token=params.get("X-Amz-Security-Token"),
        presigned=True,
        expires=seconds,
    )


def _signature(
    credential: str,
    signed_headers: str,
    signature: str,
    amz_date: str,
    *,
    token: str | None,
    presigned: bool = False,
    expires: int | None = None,
) -> sigv4.Signature:
    scope = _CREDENTIAL.match(credential)
    if scope is None:
        raise AuthRefusal(
            Refusal.INCOMPLETE_SIGNATURE,
            f"Credential should be scoped to a valid region, not '{credential}'. ",
        )
    if scope["end"] != "aws4_request":
        raise AuthRefusal(
            Refusal.INCOMPLETE_SIGNATURE,
            f"Credential should be scoped with a valid terminator: 'aws4_request', not '{scope['end']}'. ",
        )
    return sigv4.Signature(
        access_key=scope["key"],
        date=scope["date"],
        region=scope["region"],
        service=scope["service"],
        signed_headers=tuple(h.strip().lower() for h in signed_headers.split(";") if h.strip()),
        signature=signature,
        amz_date=amz_date,
        presigned=presigned,
        expires=expires,
        session_token=token,
    )


def check_scope(signed: sigv4.Signature, *, service: str | None, region: str | None) -> None:
    """The credential scope names this service and region (None: any the local AWS serves)."""
    if service is not None and signed.service != service:
        raise AuthRefusal(Refusal.WRONG_SCOPE, f"Credential should be scoped to correct service: '{service}'. ")
    if (region is not None and signed.region != region) or not _REGION.match(signed.region):
        message = f"Credential should be scoped to a valid region, not '{signed.region}'. "
        raise AuthRefusal(Refusal.WRONG_SCOPE, message)


_AMZ_DATE_FORM = re.compile(r"^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$")


def parse_amz_date(value: str) -> datetime:
    """X-Amz-Date (ISO 8601 basic format, UTC) as an aware datetime; ValueError when it is not one.

    The same as ``datetime.strptime(value, "%Y%m%dT%H%M%SZ")`` without strptime's cost on every request.
    """
    match = _AMZ_DATE_FORM.match(value)
    if match is None:
        raise ValueError(value)
    year, month, day, hour, minute, second = (int(part) for part in match.groups())
    return datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)


def check_clock(signed: sigv4.Signature, now: datetime) -> None:
    """X-Amz-Date within the service's clock window of ``now``; a presigned request before X-Amz-Expires."""
    try:
        when = parse_amz_date(signed.amz_date)
    except ValueError:
        raise AuthRefusal(
            Refusal.INCOMPLETE_SIGNATURE, f"Date must be in ISO-8601 'basic format'. Got '{signed.amz_date}'."
        ) from None
    skew = CLOCK_SKEW.get(signed.service, DEFAULT_CLOCK_SKEW)
    minutes = int(skew.total_seconds() // 60)
    stamp = now.strftime(_AMZ_DATE)
    if when > now + skew:
        raise AuthRefusal(
            Refusal.SIGNATURE_NOT_YET_CURRENT,
            f"Signature not yet current: {signed.amz_date} is still later than {(now + skew).strftime(_AMZ_DATE)} "
            f"({stamp} + {minutes} min.)",
        )
    if signed.presigned and signed.expires is not None and signed.service not in _IGNORES_EXPIRES:
        if when + timedelta(seconds=signed.expires) < now:
            raise AuthRefusal(
                Refusal.SIGNATURE_EXPIRED,
                f"Signature expired: {signed.amz_date} is now earlier than "
                f"{(now - timedelta(seconds=signed.expires)).strftime(_AMZ_DATE)} ({stamp} - {signed.expires} sec.)",
            )
    elif when < now - skew:
        raise AuthRefusal(
            Refusal.SIGNATURE_EXPIRED,
            f"Signature expired: {signed.amz_date} is now earlier than {(now - skew).strftime(_AMZ_DATE)} "
            f"({stamp} - {minutes} min.)",
        )
    if signed.date != signed.amz_date[:8]:
        raise AuthRefusal(
            Refusal.SIGNATURE_MISMATCH,
            f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{signed.date}' != '{signed.amz_date[:8]}', from '{signed.amz_date}'.",
        )


_HEX_SHA256 = re.compile(r"[0-9a-f]{64}")


def check_content_sha256(signed: sigv4.Signature, request: SignedHttpRequest) -> None:
    """S3 compares an X-Amz-Content-SHA256 that is a hash with the body it received: 400 XAmzContentSHA256Mismatch
    ("Error responses" of the S3 API Reference; the signature covers the header's value, so S3 must check the body
    itself). UNSIGNED-PAYLOAD and the STREAMING-* values are not hashes of the whole body and are not compared."""
    if signed.service != "s3":
        return
    claimed = request.headers.get("x-amz-content-sha256", "")
    if _HEX_SHA256.fullmatch(claimed) and claimed != hashlib.sha256(request.body).hexdigest():
        raise AuthRefusal(
            Refusal.CONTENT_SHA256_MISMATCH,
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        )


def mismatch_message(verification: sigv4.Verification) -> str:
    """AWS's signature mismatch message: what the canonical request and string to sign should have been."""
    return (
        f"{MISMATCH}\n\n"
        "The Canonical String for this request should have been\n"
        f"'{verification.canonical_request}'\n\n"
        "The String-to-Sign should have been\n"
        f"'{verification.string_to_sign}'\n"
    )


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Authenticator:
    """The one SigV4 check of the local AWS, shared by the gateway and the control plane."""

    def __init__(self, callers: CallerDirectory, clock: Callable[[], datetime] = _utcnow) -> None:
        self.callers = callers
        self.clock = clock

    def authenticate(
        self,
        request: SignedHttpRequest,
        *,
        service: str | None,
        region: str | None,
        root_accepted: bool,
    ) -> Caller:
        """The verified caller, or AuthRefusal.

        ``service``/``region``: what the credential scope must name (None: whatever the request names, for the
        control plane, which serves every service and region on one port). ``root_accepted``: an account's
        root key (the local convention, any secret) is accepted without a signature check; the data plane
        refuses it as an unknown key.
        """
        signed = parse(request)
        check_scope(signed, service=service, region=region)
        caller = self.callers.find(signed.access_key)
        if caller is None or (caller.kind == "root" and not root_accepted):
            raise AuthRefusal(Refusal.INVALID_TOKEN, "The security token included in the request is invalid.")
        now = self.clock()
        if caller.kind == "root":
            check_clock(signed, now)
            return caller
        if signed.session_token != caller.session_token:
            raise AuthRefusal(Refusal.INVALID_TOKEN, "The security token included in the request is invalid.")
        if caller.expiration is not None and caller.expiration <= now.astimezone(timezone.utc).replace(tzinfo=None):
            raise AuthRefusal(Refusal.EXPIRED_TOKEN, "The security token included in the request is expired")
        check_clock(signed, now)
        assert caller.secret_key is not None
        verification = sigv4.verify(
            signed,
            secret_key=caller.secret_key,
            method=request.method,
            raw_path=request.raw_path,
            raw_query=request.raw_query,
            headers=request.headers,
            body=request.body,
        )
        if not verification.ok:
            raise AuthRefusal(Refusal.SIGNATURE_MISMATCH, mismatch_message(verification))
        check_content_sha256(signed, request)
        return caller


# -- rendering a refusal at the edge, in each service's own shape -----------------------------------------------


@dataclass(frozen=True)
class Rendered:
    status: int
    headers: dict[str, str]
    body: bytes


def _compact_json(payload: Mapping[str, str]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


# API Gateway (execute-api): "Amazon API Gateway important notes" / the IAM authorization failures an HTTP API
# answers with, 403 and {"message":"..."} with x-amzn-ErrorType (aws/aws-sdk-js#254 for the type names).
_EXECUTE_API_TYPE = {
    Refusal.MISSING_AUTHENTICATION: "MissingAuthenticationTokenException",
    Refusal.INCOMPLETE_SIGNATURE: "IncompleteSignatureException",
    Refusal.INVALID_TOKEN: "UnrecognizedClientException",
    Refusal.EXPIRED_TOKEN: "ExpiredTokenException",
    Refusal.WRONG_SCOPE: "InvalidSignatureException",
    Refusal.SIGNATURE_EXPIRED: "InvalidSignatureException",
    Refusal.SIGNATURE_NOT_YET_CURRENT: "InvalidSignatureException",
    Refusal.SIGNATURE_MISMATCH: "InvalidSignatureException",
}


def render_execute_api(refusal: AuthRefusal) -> Rendered:
    """An HTTP API's 403: ``{"message":"..."}`` (compact, as API Gateway sends it) and x-amzn-ErrorType."""
    message = "Forbidden" if refusal.kind is Refusal.MISSING_AUTHENTICATION else refusal.message
    return Rendered(
        403,
        {"Content-Type": "application/json", "x-amzn-ErrorType": _EXECUTE_API_TYPE[refusal.kind]},
        _compact_json({"message": message}),
    )


# Query-protocol services (STS, IAM): "Common Errors" of the STS and IAM API references.
_QUERY_CODE = {
    Refusal.MISSING_AUTHENTICATION: (403, "MissingAuthenticationToken"),
    Refusal.INCOMPLETE_SIGNATURE: (400, "IncompleteSignature"),
    Refusal.INVALID_TOKEN: (403, "InvalidClientTokenId"),
    Refusal.EXPIRED_TOKEN: (400, "ExpiredToken"),
    Refusal.WRONG_SCOPE: (403, "SignatureDoesNotMatch"),
    Refusal.SIGNATURE_EXPIRED: (403, "SignatureDoesNotMatch"),
    Refusal.SIGNATURE_NOT_YET_CURRENT: (403, "SignatureDoesNotMatch"),
    Refusal.SIGNATURE_MISMATCH: (403, "SignatureDoesNotMatch"),
}
_QUERY_NAMESPACE = {
    "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
    "iam": "https://iam.amazonaws.com/doc/2010-05-08/",
}


def render_query(refusal: AuthRefusal, service: str) -> Rendered:
    """STS / IAM: ``<ErrorResponse><Error><Type>Sender</Type><Code/><Message/></Error><RequestId/>``."""
    status, code = _QUERY_CODE[refusal.kind]
    message = "Request is missing Authentication Token" if refusal.kind is Refusal.MISSING_AUTHENTICATION else None
    namespace = _QUERY_NAMESPACE.get(service)
    opening = f'<ErrorResponse xmlns="{namespace}">' if namespace else "<ErrorResponse>"
    body = (
        f"{opening}<Error><Type>Sender</Type><Code>{code}</Code>"
        f"<Message>{escape(message or refusal.message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    )
    return Rendered(status, {"Content-Type": "text/xml"}, body.encode())


# JSON services (CloudWatch Logs, API Gateway's control plane): "Common Errors" of their API references.
_JSON_CODE = {
    Refusal.MISSING_AUTHENTICATION: (403, "MissingAuthenticationTokenException"),
    Refusal.INCOMPLETE_SIGNATURE: (400, "IncompleteSignatureException"),
    Refusal.INVALID_TOKEN: (403, "UnrecognizedClientException"),
    Refusal.EXPIRED_TOKEN: (403, "ExpiredTokenException"),
    Refusal.WRONG_SCOPE: (403, "InvalidSignatureException"),
    Refusal.SIGNATURE_EXPIRED: (403, "InvalidSignatureException"),
    Refusal.SIGNATURE_NOT_YET_CURRENT: (403, "InvalidSignatureException"),
    Refusal.SIGNATURE_MISMATCH: (403, "InvalidSignatureException"),
}


def render_json(refusal: AuthRefusal) -> Rendered:
    """awsJson / restJson services: ``{"__type":"...","message":"..."}`` and x-amzn-ErrorType."""
    status, code = _JSON_CODE[refusal.kind]
    message = "Missing Authentication Token" if refusal.kind is Refusal.MISSING_AUTHENTICATION else refusal.message
    return Rendered(
        status,
        {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": code},
        _compact_json({"__type": code, "message": message}),
    )


# S3: "Error responses - List of error codes" (Amazon S3 API Reference, ErrorResponses.html).
_S3_CODE = {
    Refusal.MISSING_AUTHENTICATION: (403, "AccessDenied", "Access Denied"),
    Refusal.INCOMPLETE_SIGNATURE: (400, "AuthorizationHeaderMalformed", None),
    Refusal.INVALID_TOKEN: (
        403,
        "InvalidAccessKeyId",
        "The AWS Access Key Id you provided does not exist in our records.",
    ),
    Refusal.EXPIRED_TOKEN: (400, "ExpiredToken", "The provided token has expired."),
    Refusal.WRONG_SCOPE: (400, "AuthorizationHeaderMalformed", None),
    Refusal.SIGNATURE_EXPIRED: (403, "AccessDenied", "Request has expired"),
    Refusal.SIGNATURE_NOT_YET_CURRENT: (
        403,
        "RequestTimeTooSkewed",
        "The difference between the request time and the current time is too large.",
    ),
    Refusal.SIGNATURE_MISMATCH: (403, "SignatureDoesNotMatch", MISMATCH),
    Refusal.CONTENT_SHA256_MISMATCH: (400, "XAmzContentSHA256Mismatch", ""),
}


def render_s3(refusal: AuthRefusal) -> Rendered:
    """S3: ``<Error><Code/><Message/><RequestId/></Error>``."""
    status, code, message = _S3_CODE[refusal.kind]
    if refusal.kind is Refusal.SIGNATURE_EXPIRED and refusal.message.endswith("min.)"):
        status, code, message = _S3_CODE[Refusal.SIGNATURE_NOT_YET_CURRENT]  # skew, not X-Amz-Expires
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{escape(message or refusal.message)}</Message>"
        f"<RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId></Error>"
    )
    return Rendered(status, {"Content-Type": "application/xml"}, body.encode())


_QUERY_SERVICES = frozenset({"sts", "iam", "ec2", "sns", "sqs", "rds", "elasticloadbalancing", "cloudformation"})


def render_for(service: str, refusal: AuthRefusal) -> Rendered:
    """The refusal in the shape of the control-plane service the request was signed for."""
    if service == "s3":
        return render_s3(refusal)
    if service in _QUERY_SERVICES:
        return render_query(refusal, service)
    return render_json(refusal)
