"""``PayloadBucket``: the API server's side of the large-payload hand-off (see ``xacct.payloads`` for the format).

Given to a middleware as ``payloads=PayloadBucket(name, session)``, it makes references invisible to the app:
a request whose body is a reference gets the referenced body (fetched, length and SHA-256 checked); a response
body over the threshold, to a client that takes references, is written to the bucket and answered as one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from xacct.backend.caller import Caller
from xacct.backend.errors import BackendConfigError
from xacct.backend.gate import Refusal
from xacct.payloads import (
    DEFAULT_THRESHOLD,
    MAX_REFERENCE_BYTES,
    PayloadError,
    PayloadIntegrityError,
    PayloadReference,
    PayloadReferenceInvalid,
    Spooled,
    new_key,
    prefix,
    read_verified,
    upload,
)

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_s3 import S3Client

log = logging.getLogger("xacct.backend")


@dataclass
class PayloadRefused(Exception):
    """The referenced body cannot be given to the app; ``refusal`` is the answer (400, 403 or 502)."""

    refusal: Refusal


class PayloadBucket:
    """The provider's payload bucket, read and written with the API server's own role.

    Args:
        name: the bucket (the provider module's payload bucket output).
        session: a boto3 session of the server's role (its policy: the module's server policy output).
        threshold: response bodies larger than this many bytes are written to the bucket (default 5 MiB),
            when the request said the client takes references.
        max_memory: bodies are spooled in memory up to this size, then to a temporary file.
    """

    def __init__(
        self,
        name: str,
        session: boto3.Session,
        *,
        threshold: int = DEFAULT_THRESHOLD,
        max_memory: int = 8 * 1024 * 1024,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise BackendConfigError(f"PayloadBucket name {name!r} must be the payload bucket's name")
        if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold <= 0:
            raise BackendConfigError(f"PayloadBucket threshold {threshold!r} must be a positive number of bytes")
        self.name = name
        self.threshold = threshold
        self.max_memory = max_memory
        self.s3: S3Client = session.client("s3")

    def fetch(self, body: bytes, caller: Caller) -> tuple[IO[bytes], PayloadReference]:
        """The body a reference stands for, checked; ``PayloadRefused`` (400/403/502) otherwise.

        400: not a reference, or the object's length or SHA-256 differs from the reference, or it is gone (expired);
        403: the reference points outside the caller's own prefix (another bucket, another role or account, or
        the response side); 502: S3 refused the server (its role's policy) or could not be reached.
        """
        try:
            reference = PayloadReference.parse(body)
        except PayloadReferenceInvalid as error:
            raise PayloadRefused(Refusal("payload_reference_invalid", str(error), 400)) from None
        try:
            allowed = prefix("request", caller)
        except PayloadError as error:
            raise PayloadRefused(Refusal("payload_unavailable", str(error), 502)) from None
        if reference.bucket != self.name or not reference.key.startswith(allowed):
            raise PayloadRefused(
                Refusal(
                    "payload_outside_prefix",
                    f"the reference must name an object under the caller's own prefix {allowed} of the payload bucket",
                )
            )
        try:
            return read_verified(self.s3, reference, max_memory=self.max_memory), reference
        except PayloadIntegrityError:
            raise PayloadRefused(
                Refusal(
                    "payload_checksum_mismatch", "the object does not match the reference's length and SHA-256", 400
                )
            ) from None
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404"):
                raise PayloadRefused(
                    Refusal("payload_missing", "no object at the reference's key (expired, or never uploaded)", 400)
                ) from None
            log.error("payload s3://%s/%s: S3 refused the server: %s", reference.bucket, reference.key, code)
            raise PayloadRefused(Refusal("payload_unavailable", f"S3 refused the API server ({code})", 502)) from None
        except BotoCoreError as error:
            log.error("payload s3://%s/%s: %s", reference.bucket, reference.key, type(error).__name__)
            raise PayloadRefused(Refusal("payload_unavailable", "S3 could not be reached", 502)) from None

    def store(self, body: Spooled, caller: Caller, content_type: str | None) -> PayloadReference:
        """Write a response body under the caller's ``response/`` prefix; the reference to answer with."""
        key = new_key("response", caller)
        uploaded = upload(self.s3, self.name, key, body.file, sha256=body.sha256)  # hashed while spooled
        if uploaded.length != body.length:  # the spool changed under us: a bug
            raise PayloadIntegrityError(f"s3://{self.name}/{key}: the body changed while it was uploaded")
        log.debug("answered %d bytes as s3://%s/%s", body.length, self.name, key)
        return PayloadReference(self.name, key, body.length, body.sha256, content_type)


__all__ = ["MAX_REFERENCE_BYTES", "PayloadBucket", "PayloadRefused"]
