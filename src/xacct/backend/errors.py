"""What ``xacct.backend`` raises: typed, with messages that say what was expected (and never a secret)."""

from __future__ import annotations

from xacct.errors import XacctError


class BackendConfigError(XacctError, ValueError):
    """Bad arguments to a middleware or a ``PayloadBucket`` (e.g. an empty origin secret): fix the server's code."""


class CallerNotVerified(XacctError, ValueError):
    """No identity that API Gateway verified: the value is missing or is not an invoke-role session's ARN."""


class NoIamAuthorizer(CallerNotVerified):
    """A Lambda event without ``requestContext.authorizer.iam``: the route is not AWS_IAM, or not format 2.0."""
