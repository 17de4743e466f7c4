"""Recomputing a SigV4 signature the way AWS does, with botocore's signer: our one adapter around it.

No second SigV4 implementation: the canonical request, string to sign and signature all come from botocore's
``SigV4Auth``; we only tell it which headers the client said it signed, and give it the request as received
(raw path, canonicalised query, body bytes). The checks around the signature (key, scope, clock, expiry) and
the one refusal type live in ``xacct.local.auth``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, unquote_plus

from botocore.auth import UNSIGNED_PAYLOAD, S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials


@dataclass(frozen=True)
class Signature:
    """What a client signed with, from its Authorization header or its X-Amz-* query parameters."""

    access_key: str
    date: str  # YYYYMMDD of the credential scope
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str
    amz_date: str  # X-Amz-Date (ISO 8601 basic format)
    presigned: bool = False  # signed in the query string
    expires: int | None = None  # X-Amz-Expires (seconds), query-string signatures only
    session_token: str | None = None  # X-Amz-Security-Token, from the header or the query


def canonical_query_of(raw_query: str, *, without: str | None = None, plus_is_space: bool = False) -> str:
    """The query as AWS canonicalises it: each key and value decoded, re-encoded (-_.~ safe), sorted.

    ``without`` drops one parameter (X-Amz-Signature, which a query-string signature cannot cover).
    ``plus_is_space``: a raw ``+`` is a space (form encoding), as API Gateway reads an execute-api query. AWS's
    SigV4 pages do not say; the public evidence does: an API Gateway 403 that echoes its canonical request shows
    ``q=a%20b`` for a request sent as ``q=a+b`` (quoted in zirkelc/aws-signature-v4#4), and the libraries that send
    a space as ``+`` (requests' and httpx's ``params=``, botocore's ``AWSRequest(params=)``, ``URLSearchParams``)
    sign it as ``%20``. Other services keep a raw ``+`` a plus here (no evidence either way for them).
    """
    decode = unquote_plus if plus_is_space else unquote
    pairs = []
    for part in raw_query.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        name = decode(key)
        if name == without:
            continue
        pairs.append((quote(name, safe="-_.~"), quote(decode(value), safe="-_.~")))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def _as_signed(base: type[SigV4Auth]) -> type[SigV4Auth]:
    class AsSigned(base):  # type: ignore[valid-type,misc]
        """botocore's signer, signing exactly the headers the client listed in SignedHeaders."""

        def __init__(
            self,
            credentials: Credentials,
            service: str,
            region: str,
            signed: tuple[str, ...],
            unsigned: bool,
            body: bytes,
        ) -> None:
            super().__init__(credentials, service, region)
            self._signed = signed
            self._unsigned = unsigned
            self._body = body

        def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
            header_map = HTTPHeaders()
            for name in self._signed:
                value = request.headers.get(name)
                if value is not None:
                    header_map[name] = value
            return header_map

        def canonical_request(self, request: AWSRequest) -> str:
            canonical = str(super().canonical_request(request))
            if base is SigV4Auth:
                # Every service but S3 signs the hash of the body it received: botocore's signer would take a
                # client's X-Amz-Content-SHA256 header instead, so a body changed after signing would verify. The
                # SigV4 pages ("Create a canonical request for Signature Version 4": HashedPayload is the hash of
                # the request's payload; only S3 documents UNSIGNED-PAYLOAD and the header's value as the line).
                head, _, _ = canonical.rpartition("\n")
                return f"{head}\n{hashlib.sha256(self._body).hexdigest()}"
            return canonical

        def payload(self, request: AWSRequest) -> str:
            # An S3 presigned URL signs no payload (as botocore's S3SigV4QueryAuth).
            if self._unsigned:
                return UNSIGNED_PAYLOAD
            if base is SigV4Auth:
                # SigV4Auth.payload over an https URL with payload signing on (always, here): the body's SHA-256,
                # computed from the bytes we hold instead of through AWSRequest.body (which prepares the request).
                return hashlib.sha256(self._body).hexdigest()
            return str(super().payload(request))

    return AsSigned


# S3 signs the path exactly as sent (S3SigV4Auth); every other service its normalised form (SigV4Auth).
_SIGNERS: dict[bool, Any] = {False: _as_signed(SigV4Auth), True: _as_signed(S3SigV4Auth)}


@dataclass(frozen=True)
class Verification:
    ok: bool
    canonical_request: str
    string_to_sign: str


def verify(
    signed: Signature,
    *,
    secret_key: str,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Mapping[str, str],
    body: bytes,
) -> Verification:
    """Recompute the signature with botocore over the request as received (headers keyed lower-case)."""
    # A header that was signed but not sent cannot match; AWS reports that as a mismatch too.
    missing = [h for h in signed.signed_headers if h not in headers]
    host = headers.get("host", "")
    url = f"https://{host}{raw_path or '/'}"
    query = canonical_query_of(
        raw_query,
        without="X-Amz-Signature" if signed.presigned else None,
        plus_is_space=signed.service == "execute-api",
    )
    if query:
        url += f"?{query}"
    request_headers: dict[str, Any] = {h: headers[h] for h in signed.signed_headers if h in headers}
    request = AWSRequest(method=method.upper(), url=url, data=body, headers=request_headers)
    request.context["timestamp"] = signed.amz_date
    s3 = signed.service == "s3"
    auth: SigV4Auth = _SIGNERS[s3](
        Credentials(signed.access_key, secret_key, signed.session_token),
        signed.service,
        signed.region,
        signed.signed_headers,
        s3 and signed.presigned,
        body,
    )
    canonical = auth.canonical_request(request)
    string_to_sign = auth.string_to_sign(request, canonical)
    expected = auth.signature(string_to_sign, request)
    ok = not missing and hmac.compare_digest(expected, signed.signature)
    return Verification(ok=ok, canonical_request=canonical, string_to_sign=string_to_sign)


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
