"""What ``xacct.backend`` raises: typed, with messages that say what was expected (and never a secret)."""

from __future__ import annotations

from xacct.errors import XacctError


class BackendConfigError(XacctError, ValueError):
    """Bad arguments to a middleware or a ``PayloadBucket`` (e.g. an empty origin secret): fix the server's code."""


class CallerNotVerified(XacctError, ValueError):
    """No identity that API Gateway verified: the value is missing or is not an invoke-role session's ARN."""


class NoIamAuthorizer(CallerNotVerified):
    """A Lambda event without ``requestContext.authorizer.iam``: the route is not AWS_IAM, or not format 2.0."""


class NotAnInvokeRole(CallerNotVerified):
    """The caller's role is not one of the invoke roles the server was given (and ``allow_other_roles`` is False)."""


class RouteMismatch(CallerNotVerified):
    """The request's path is not one the authorized route serves, or it has an encoded slash or a dot segment."""
