"""Bodies past API Gateway's limits: the claim-check hand-off through the provider's payload bucket.

An HTTP API takes at most 10 MB per request and 30 s per integration call, and neither can be raised. A body
larger than ``threshold`` goes to S3 instead, and the request carries a small JSON *reference*::

    {"xacct_payload_reference": 1, "bucket": "...", "key": "request/<invoke role>/<role id>:<session>/<id>",
     "length": 104857600, "sha256": "<hex>", "content_type": "application/octet-stream"}

with ``Content-Type: application/vnd.xacct.payload-reference+json``. The reference is the request's body, so
the client's SigV4 signature covers it (length and checksum included); the API server's middleware
(``xacct.backend`` with ``payloads=PayloadBucket(...)``) fetches the object, checks length and SHA-256, and
gives the app the original body. A response works the same way backwards, when the request said the client
takes references (``x-xacct-payloads: reference``).

Keys: ``request/<invoke role name>/<aws:userid>/<32 hex>`` for request bodies (written by the invoke-role
session, read by the server), ``response/<invoke role name>/<aws:userid>/<32 hex>`` for response bodies (written
by the server, read by the session); aws:userid of a role session is ``<role id>:<session name>``, and the session
name starts with the consumer's account id. The invoke role's policy gives each session its own two prefixes, so
consumers sharing an invoke role cannot read or write each other's bodies; the server refuses a reference outside
the caller's own prefix.

This module is the client's side (``ApiClient(..., payload_bucket=NAME)``) and the format both sides share.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, Literal

import boto3
import requests
import urllib3
from botocore.credentials import Credentials
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict

from xacct.errors import ConfigError, XacctError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from xacct.backend.caller import Caller

log = logging.getLogger(__name__)

REFERENCE_CONTENT_TYPE = "application/vnd.xacct.payload-reference+json"
# Sent by a client that takes a response body as a reference; the server answers large bodies that way only then.
ACCEPT_HEADER = "x-xacct-payloads"
ACCEPT_VALUE = "reference"
# Under API Gateway's 10 MB request limit and Lambda's 6 MB synchronous payload limit, with room for headers.
DEFAULT_THRESHOLD = 5 * 1024 * 1024
MAX_REFERENCE_BYTES = 4096  # a reference is ~300 bytes; anything longer is not one
CHUNK = 1024 * 1024
# Spooled bodies stay in memory up to 8 MiB, then go to a temporary file.
_SPOOL_MEMORY = 8 * 1024 * 1024
# s3transfer: one streamed PUT up to 128 MiB; beyond, 16 MiB parts, 4 in flight (at most ~64 MiB in memory).
_SINGLE_PUT_MAX = 128 * 1024 * 1024
_PART = 16 * 1024 * 1024
_CONCURRENCY = 4

_KEY = re.compile(r"(request|response)/([\w+=,.@-]{1,64})/([A-Z0-9]{1,128}:[\w+=,.@-]{2,64})/([0-9a-f]{32})", re.ASCII)
_SHA256 = re.compile(r"[0-9a-f]{64}")


class PayloadError(XacctError):
    """The payload hand-off failed: the message says which bucket and key, and what went wrong."""


class PayloadReferenceInvalid(PayloadError, ValueError):
    """A body announced as a payload reference is not one (not JSON, a field missing or of the wrong form)."""


class PayloadIntegrityError(PayloadError):
    """The object in S3 is not what the reference promised: its length or SHA-256 differs."""


@dataclass(frozen=True)
class PayloadReference:
    """Where a body is, and what it must hash to. ``to_json`` / ``parse`` are the wire form."""

    bucket: str
    key: str
    length: int
    sha256: str
    content_type: str | None = None

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "xacct_payload_reference": 1,
                "bucket": self.bucket,
                "key": self.key,
                "length": self.length,
                "sha256": self.sha256,
                "content_type": self.content_type,
            },
            separators=(",", ":"),
        ).encode()

    @classmethod
    def parse(cls, body: bytes) -> PayloadReference:
        """The reference in ``body``; ``PayloadReferenceInvalid`` naming the bad field otherwise."""
        if len(body) > MAX_REFERENCE_BYTES:
            raise PayloadReferenceInvalid(
                f"a payload reference is at most {MAX_REFERENCE_BYTES} bytes, got {len(body)}"
            )
        try:
            data = json.loads(body)
        except ValueError:
            raise PayloadReferenceInvalid("a payload reference must be a JSON object") from None
        if not isinstance(data, dict) or data.get("xacct_payload_reference") != 1:
            raise PayloadReferenceInvalid('a payload reference is a JSON object with "xacct_payload_reference": 1')
        bucket, key, length, sha256 = data.get("bucket"), data.get("key"), data.get("length"), data.get("sha256")
        content_type = data.get("content_type")
        if not isinstance(bucket, str) or not bucket:
            raise PayloadReferenceInvalid("the reference's bucket must be a bucket name")
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            raise PayloadReferenceInvalid(
                "the reference's key must be request|response/<role>/<role id>:<session name>/<32 hex digits>"
            )
        if isinstance(length, bool) or not isinstance(length, int) or length < 0:
            raise PayloadReferenceInvalid("the reference's length must be a non-negative integer")
        if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
            raise PayloadReferenceInvalid("the reference's sha256 must be 64 lower-case hex digits")
        if content_type is not None and not isinstance(content_type, str):
            raise PayloadReferenceInvalid("the reference's content_type must be a string or null")
        return cls(bucket, key, length, sha256, content_type)


def prefix(direction: str, caller: Caller) -> str:
    """``request/<role>/<role id>:<session name>/``: the part of the bucket a session's bodies live under.

    The invoke role's policy (modules/provider_api, payloads.tf) allows each session exactly its own prefixes,
    ``request/<role>/${aws:userid}/*`` and ``response/<role>/${aws:userid}/*``; aws:userid of a role session is
    ``<role id>:<session name>``. Raises ``PayloadError`` when the caller's user id is not known.
    """
    if caller.user_id is None:
        raise PayloadError(
            f"the payload hand-off needs the caller's user id (<role id>:<session name>) for {caller.arn}: the "
            "gateway's integration must set x-caller-user-id to $context.identity.user (modules/provider_api does "
            "when forward_caller_identity is on); re-apply the provider stack"
        )
    return f"{direction}/{caller.role_name}/{caller.user_id}/"


def new_key(direction: str, caller: Caller) -> str:
    """A fresh, unguessable key under the caller's prefix (``direction`` is ``request`` or ``response``)."""
    return prefix(direction, caller) + uuid.uuid4().hex


def is_reference(content_type: str | None) -> bool:
    return (content_type or "").split(";", 1)[0].strip().lower() == REFERENCE_CONTENT_TYPE


class HashingReader:
    """A file-like reader that counts and hashes what passes through it (for streaming uploads)."""

    def __init__(self, source: IO[bytes] | Iterable[bytes]) -> None:
        self._read: Callable[[int], bytes] | None = getattr(source, "read", None)
        self._chunks = None if self._read is not None else iter(source)
        self._pending = b""
        self.digest = hashlib.sha256()
        self.length = 0

    def read(self, size: int = -1) -> bytes:
        if self._read is not None:
            data = self._read(size)
        else:
            assert self._chunks is not None
            while size < 0 or len(self._pending) < size:
                chunk = next(self._chunks, None)
                if chunk is None:
                    break
                self._pending += chunk
            if size < 0:
                data, self._pending = self._pending, b""
            else:
                data, self._pending = self._pending[:size], self._pending[size:]
        self.digest.update(data)
        self.length += len(data)
        return data

    @property
    def sha256(self) -> str:
        return self.digest.hexdigest()


@dataclass
class Spooled:
    """A body read once into memory (up to ``max_memory``) or a temporary file beyond, with its length and hash."""

    file: IO[bytes]
    length: int
    sha256: str


class SpoolWriter:
    """Writes a body into a spooled temporary file (memory up to ``max_memory``, then disk), hashing as it goes."""

    def __init__(self, max_memory: int = _SPOOL_MEMORY) -> None:
        self.file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=max_memory)  # noqa: SIM115 (handed on)
        self._digest = hashlib.sha256()
        self._length = 0

    def write(self, chunk: bytes) -> None:
        if chunk:
            self._digest.update(chunk)
            self._length += len(chunk)
            # In pieces: a spooled file copies what it holds in memory before it rolls over to disk, so one
            # 100 MB write would pass through memory once more; pieces of 1 MiB roll over after 8 MiB.
            view = memoryview(chunk)
            for start in range(0, len(view), CHUNK):
                self.file.write(view[start : start + CHUNK])

    def finish(self) -> Spooled:
        """The body written so far, rewound."""
        self.file.seek(0)
        return Spooled(self.file, self._length, self._digest.hexdigest())


def spool(chunks: Iterable[bytes], *, max_memory: int = _SPOOL_MEMORY) -> Spooled:
    """Read ``chunks`` into a spooled temporary file (rewound), hashing as it goes."""
    writer = SpoolWriter(max_memory)
    for chunk in chunks:
        writer.write(chunk)
    return writer.finish()


def read_verified(s3: S3Client, reference: PayloadReference, *, max_memory: int = _SPOOL_MEMORY) -> IO[bytes]:
    """The referenced object, streamed into a spooled file and checked against the reference's length and SHA-256.

    Raises ``PayloadIntegrityError`` on a mismatch (the object was replaced or truncated), botocore's
    ``ClientError`` when S3 refuses (missing key, no permission).
    """
    answer = s3.get_object(Bucket=reference.bucket, Key=reference.key)
    where = f"s3://{reference.bucket}/{reference.key}"
    if answer.get("ContentLength", reference.length) != reference.length:
        answer["Body"].close()
        raise PayloadIntegrityError(
            f"{where} is {answer.get('ContentLength')} bytes, the reference says {reference.length}"
        )
    spooled = spool(answer["Body"].iter_chunks(CHUNK), max_memory=max_memory)
    if spooled.length != reference.length or spooled.sha256 != reference.sha256:
        spooled.file.close()
        raise PayloadIntegrityError(
            f"{where} does not match its reference: {spooled.length} bytes with SHA-256 {spooled.sha256}, "
            f"expected {reference.length} bytes with SHA-256 {reference.sha256}"
        )
    return spooled.file


@dataclass(frozen=True)
class Uploaded:
    """What ``upload`` wrote: its length and SHA-256."""

    length: int
    sha256: str


def _seekable(source: object) -> bool:
    try:
        return bool(source.seekable()) if callable(getattr(source, "seekable", None)) else False  # type: ignore[attr-defined]
    except (OSError, ValueError):
        return False


def upload(
    s3: S3Client, bucket: str, key: str, source: bytes | IO[bytes] | Iterable[bytes], *, sha256: str | None = None
) -> Uploaded:
    """Stream ``source`` to ``s3://bucket/key`` and say what was written.

    Bytes and seekable files go up in one streamed PUT up to 128 MiB (hashed first: a second read of a file is
    cheaper than multipart, which the local AWS and S3 both make slower below that size), in 16 MiB parts, 4 at
    a time, beyond. Other sources (pipes, iterables) are hashed as they are read, in parts held in memory.
    ``sha256``, when the caller already knows it, spares the hashing pass.
    """
    from boto3.s3.transfer import TransferConfig  # boto3's transfer manager, loaded only for a hand-off

    config = TransferConfig(
        multipart_threshold=_SINGLE_PUT_MAX, multipart_chunksize=_PART, max_concurrency=_CONCURRENCY
    )
    if isinstance(source, bytes):
        digest = sha256 or hashlib.sha256(source).hexdigest()
        s3.upload_fileobj(io.BytesIO(source), bucket, key, Config=config)
        return Uploaded(len(source), digest)
    if _seekable(source):
        file: IO[bytes] = source  # type: ignore[assignment]
        start = file.tell()
        if sha256 is None:
            hasher = hashlib.sha256()
            for chunk in iter(lambda: file.read(CHUNK), b""):
                hasher.update(chunk)
            sha256 = hasher.hexdigest()
        length = file.seek(0, io.SEEK_END) - start
        file.seek(start)
        s3.upload_fileobj(file, bucket, key, Config=config)
        return Uploaded(length, sha256)
    reader = HashingReader(source)
    s3.upload_fileobj(reader, bucket, key, Config=config)  # type: ignore[arg-type]
    return Uploaded(reader.length, reader.sha256)


def _size_of(data: Any) -> int | None:
    """The bytes left in a file-like object, when it can tell without being read (a real or seekable file)."""
    try:
        return int(os.fstat(data.fileno()).st_size - data.tell())
    except (AttributeError, OSError, ValueError):
        pass
    try:
        here = data.tell()
        end = data.seek(0, os.SEEK_END)
        data.seek(here)
        return int(end - here)
    except (AttributeError, OSError, ValueError):
        return None


class PayloadHandoff:
    """The client's side of the hand-off, for one ``ApiClient``: bodies over ``threshold`` go through ``bucket``.

    S3 calls are made with the invoke role's credentials (the ``ApiClient``'s), to ``endpoint_url`` when
    given (the local AWS) or to S3 in ``region``. The invoke-role session's own ARN (sts:GetCallerIdentity,
    once) gives the key prefix the bucket policy allows it.
    """

    def __init__(
        self,
        bucket: str,
        credentials: Credentials,
        *,
        region: str,
        endpoint_url: str | None = None,
        threshold: int = DEFAULT_THRESHOLD,
    ) -> None:
        if not isinstance(bucket, str) or not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", bucket):
            raise ConfigError(f"payload_bucket {bucket!r} is not an S3 bucket name (the provider's payload bucket)")
        if isinstance(threshold, bool) or not isinstance(threshold, int) or not 0 < threshold <= 10 * 1000 * 1000:
            raise ConfigError(
                f"payload_threshold {threshold!r} must be a number of bytes between 1 and API Gateway's 10 MB limit"
            )
        self.bucket = bucket
        self.threshold = threshold
        self.region = region
        self.endpoint_url = endpoint_url
        self._credentials = credentials
        self._lock = threading.Lock()
        self._boto = boto3.Session()
        self._s3: tuple[str | None, S3Client] | None = None
        self._caller: Caller | None = None

    def _client(self, service: Literal["s3", "sts"]) -> Any:
        """A client with the invoke role's current credentials. One boto3 session serves them all, so the
        service models are loaded once (a new session per client costs a second per S3 client)."""
        frozen = self._credentials.get_frozen_credentials()
        return self._boto.client(
            service,
            region_name=self.region,
            endpoint_url=self.endpoint_url,
            aws_access_key_id=frozen.access_key,
            aws_secret_access_key=frozen.secret_key,
            aws_session_token=frozen.token,
        )

    def s3(self) -> S3Client:
        """An S3 client with the invoke role's current credentials (one per session, made again after a refresh)."""
        key = self._credentials.get_frozen_credentials().access_key
        with self._lock:
            if self._s3 is None or self._s3[0] != key:
                self._s3 = (key, self._client("s3"))
            return self._s3[1]

    def caller(self) -> Caller:
        """Who the invoke-role session is (role name, consumer account): it chooses the key prefix."""
        from xacct.backend.caller import Caller  # here: xacct.backend imports this module

        with self._lock:
            if self._caller is None:
                sts = self._client("sts")
                identity = sts.get_caller_identity()
                self._caller = Caller.from_arn(identity["Arn"], user_id=identity["UserId"])
            return self._caller

    def outgoing(
        self,
        json: Any,
        data: Any,
        headers: Mapping[str, str] | None,
        *,
        encode: Callable[[Any, Any], tuple[bytes | None, str | None]],
    ) -> tuple[Any, Any, CaseInsensitiveDict[str]]:
        """(json, data, headers) for ``ApiClient.request``: a reference in place of a body over the threshold.

        ``encode`` is the client's own body encoding (json=, str, dict, bytes, file). A file whose size is known
        is streamed to S3 without being read into memory.
        """
        out: CaseInsensitiveDict[str] = CaseInsensitiveDict(dict(headers or {}))
        out[ACCEPT_HEADER] = ACCEPT_VALUE
        size = _size_of(data) if json is None and data is not None and callable(getattr(data, "read", None)) else None
        if size is not None and size > self.threshold:
            reference = self._put(data, out.get("Content-Type"))
        else:
            body, content_type = encode(json, data)
            if content_type and "content-type" not in out:
                out["Content-Type"] = content_type
            if body is None or len(body) <= self.threshold:
                return None, body, out
            reference = self._put(body, out.get("Content-Type"))
        out["Content-Type"] = REFERENCE_CONTENT_TYPE
        return None, reference.to_json(), out

    def _put(self, body: bytes | IO[bytes], content_type: str | None) -> PayloadReference:
        key = new_key("request", self.caller())
        uploaded = upload(self.s3(), self.bucket, key, body)
        log.debug("sent %d bytes as s3://%s/%s", uploaded.length, self.bucket, key)
        return PayloadReference(self.bucket, key, uploaded.length, uploaded.sha256, content_type)

    def fetch(self, headers: Mapping[str, str], content: bytes) -> tuple[IO[bytes], dict[str, str]] | None:
        """None for an answer that is not a reference; else the referenced body, fetched and verified, and the
        answer's headers with the original Content-Type and the real Content-Length (any HTTP library's answer).

        The body is spooled: memory up to 8 MiB, then a temporary file.
        """
        if not is_reference(headers.get("Content-Type")):
            return None
        reference = PayloadReference.parse(content)
        caller = self.caller()
        expected = prefix("response", caller)
        if reference.bucket != self.bucket or not reference.key.startswith(expected):
            raise PayloadError(
                f"the response refers to s3://{reference.bucket}/{reference.key}, outside this client's "
                f"s3://{self.bucket}/{expected}"
            )
        body = read_verified(self.s3(), reference)
        out = {k: v for k, v in headers.items() if k.lower() not in ("content-length", "content-type")}
        out["Content-Length"] = str(reference.length)
        if reference.content_type:
            out["Content-Type"] = reference.content_type
        log.debug("received %d bytes from s3://%s/%s", reference.length, reference.bucket, reference.key)
        return body, out

    def incoming(self, response: requests.Response) -> requests.Response:
        """``response`` itself, or, when it is a reference, the referenced body fetched and verified (``fetch``),
        read by ``response.content`` or streamed by ``response.iter_content()``; status and headers are the
        server's, with the original Content-Type and the real Content-Length.
        """
        fetched = self.fetch(response.headers, response.content)
        if fetched is None:
            return response
        body, headers = fetched
        raw = urllib3.HTTPResponse(
            body=body,
            headers=headers,
            status=response.status_code,
            reason=response.reason,
            preload_content=False,
            decode_content=False,
        )
        rebuilt = HTTPAdapter().build_response(response.request, raw)
        rebuilt.url = response.url
        rebuilt.history = response.history
        rebuilt.elapsed = response.elapsed
        return rebuilt
