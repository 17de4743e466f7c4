"""IamAuth's signature is botocore's: for paths, queries, headers, bodies and credentials of every kind, the
Authorization header IamAuth.sign writes equals the one botocore's SigV4Auth computes for the same request at the
same time (botocore is the reference the local AWS verifies with; xacct only skips its per-request objects)."""

from __future__ import annotations

import itertools

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from requests.structures import CaseInsensitiveDict

from xacct.client import encode_path
from xacct.signing import IamAuth, canonical_query

HOSTS = ["abc123.execute-api.ap-northeast-1.amazonaws.com", "server.stag.foo.example.com", "127.0.0.1:4566"]
PATHS = [
    "/",
    "/hoge",
    "/with space/and more",
    "/ünïcödé/日本語",
    "/a/./b/../c",
    "/trailing/",
    "/%2F/x",
    "/reserved!$&'()*,;:@",
]
QUERIES = [[], [("q", "a b")], [("k", "2"), ("k", "1"), ("a", "")], [("ü", "日本"), ("x", "y=z&w"), ("+", "%")]]
HEADERS = [
    {},
    {"Content-Type": "application/json"},
    {"X-Team": "  orders   and  more ", "content-type": "text/plain; charset=utf-8", "Idempotency-Key": "k-1"},
    {"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD", "User-Agent": "not signed", "Accept": "*/*"},
]
BODIES = [b"", b'{"foo":"bar"}', bytes(range(256))]
CREDENTIALS = [
    Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
    Credentials("ASIA1", "s", "token/+="),
]


def botocore_authorization(
    credentials: Credentials,
    host: str,
    method: str,
    path: str,
    query: str,
    headers: CaseInsensitiveDict[str],
    body: bytes,
) -> str:
    """botocore's SigV4Auth on the request IamAuth signed, at the time IamAuth chose (X-Amz-Date)."""
    sent = {k: v for k, v in headers.items() if k.lower() not in ("authorization", "user-agent", "accept")}
    request = AWSRequest(method=method, url=f"https://{host}{path}" + (f"?{query}" if query else ""), data=body)
    for name, value in sent.items():
        request.headers[name] = value
    request.headers["host"] = host
    request.context["timestamp"] = headers["X-Amz-Date"]
    signer = SigV4Auth(credentials, "execute-api", "ap-northeast-1")
    canonical = signer.canonical_request(request)
    signature = signer.signature(signer.string_to_sign(request, canonical), request)
    names = signer.signed_headers(signer.headers_to_sign(request))
    return (
        f"AWS4-HMAC-SHA256 Credential={credentials.access_key}/{signer.credential_scope(request)}, "
        f"SignedHeaders={names}, Signature={signature}"
    )


CASES = list(itertools.product(HOSTS[:1], PATHS, QUERIES[:2], HEADERS[:2], BODIES[:2], CREDENTIALS))
CASES += list(itertools.product(HOSTS, PATHS[:2], QUERIES, HEADERS, BODIES, CREDENTIALS[1:]))


@pytest.mark.parametrize("method", ["GET", "put"])
def test_every_signature_is_botocores(method: str) -> None:
    for host, path, params, given, body, credentials in CASES:
        auth = IamAuth(credentials, "ap-northeast-1")
        headers: CaseInsensitiveDict[str] = CaseInsensitiveDict(given)
        wire_path, query = encode_path(path), canonical_query(params)
        auth.sign(method, host, wire_path, query, headers, body)
        expected = botocore_authorization(credentials, host, method.upper(), wire_path, query, headers, body)
        assert headers["Authorization"] == expected, (host, path, params, given, body)
        assert ("X-Amz-Security-Token" in headers) == bool(credentials.token)
