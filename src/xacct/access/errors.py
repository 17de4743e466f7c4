"""What can stop the report, each with what to do about it."""

from __future__ import annotations

from xacct.errors import XacctError


class AccessReportError(XacctError):
    """The report could not be made."""


class MissingPermission(AccessReportError):
    """A read call was refused: the message names the permission the caller lacks."""

    def __init__(self, permission: str, caller: str | None, aws_message: str) -> None:
        self.permission = permission
        who = caller or "the caller"
        super().__init__(
            f"{who} may not {permission}, which the report needs (read-only; e.g. the AWS managed policy "
            f"ReadOnlyAccess, or SecurityAudit plus apigateway:GET). AWS said: {aws_message}"
        )


class ApiNotFound(AccessReportError):
    """No such API in this account and region."""


class StageNotChosen(AccessReportError):
    """The API has several stages (or none): say which one."""


class ExpectFileError(AccessReportError):
    """The --expect file cannot be read or does not have a known shape."""
