"""Exit statuses of the `xacct` command, one table for the code, `--help` and the README.

After httpie's ``ExitStatus``; the numbers a script already knows are curl's (7, 22, 28), as `xacct call` is
used like ``curl --fail-with-body``.
"""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    DRIFT = 3
    CONNECTION_FAILED = 7
    HTTP_ERROR = 22
    TIMEOUT = 28
    INTERRUPTED = 130

    @property
    def meaning(self) -> str:
        return _MEANING[self]


_MEANING = {
    ExitStatus.OK: "success: a 2xx/3xx answer (or the command did its job)",
    ExitStatus.ERROR: "the call could not be made (AssumeRole denied, no credentials, ...), or stdout was closed early",
    ExitStatus.USAGE: "usage error: a bad option or argument (including a --role-arn or --region the client rejects)",
    ExitStatus.DRIFT: "xacct access report --expect: the report was made and differs from what was declared",
    ExitStatus.CONNECTION_FAILED: "no answer: DNS, connection refused or lost, TLS (curl's 7)",
    ExitStatus.HTTP_ERROR: "the API answered >= 400; the body is still printed (curl --fail-with-body's 22)",
    ExitStatus.TIMEOUT: "no connection or no answer within the timeout or the retries' total deadline (curl's 28)",
    ExitStatus.INTERRUPTED: "interrupted (Ctrl-C): 128 + SIGINT",
}
