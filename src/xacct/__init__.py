"""xacct: call an IAM-authorized HTTP API in another AWS account, and prove offline who can.

Consumers need three lines::

    from xacct import ApiClient
    api = ApiClient(invoke_url, invoke_role_arn, region="ap-northeast-1")
    print(api.put("/hoge", json={"foo": "bar"}).json())

For asyncio and httpx: ``AsyncApiClient`` (same constructor, methods and errors, coroutines) and ``HttpxIamAuth``
(an ``httpx.Auth``), behind the ``httpx`` extra (``pip install -e '.[httpx]'``), imported on first use.

This package needs boto3, botocore and requests (and shtab, for ``xacct completion`` only). The local AWS,
the demo, the Terraform runner, the stacks the tests deploy and the echo server are in ``xacct.local``,
behind the ``local`` extra (``pip install -e '.[local]'`` in a clone; xacct is not on PyPI).
"""

from typing import TYPE_CHECKING, Any

from xacct.client import ApiClient, RetryPolicy, WaitRefused, WaitTimedOut
from xacct.credentials import AssumedRole, RoleCredentials
from xacct.errors import (
    AssumeRoleDenied,
    AssumeRoleError,
    ConfigError,
    ConnectionFailed,
    HttpError,
    InsecureTransport,
    InvokeDenied,
    NoSourceCredentials,
    TimedOut,
    XacctError,
)
from xacct.signing import IamAuth
from xacct.version import VERSION

if TYPE_CHECKING:
    from xacct.aio import AsyncApiClient as AsyncApiClient
    from xacct.aio import HttpxIamAuth as HttpxIamAuth

__all__ = [
    "ApiClient",
    "AssumeRoleDenied",
    "AssumeRoleError",
    "AssumedRole",
    "ConfigError",
    "ConnectionFailed",
    "HttpError",
    "IamAuth",
    "InsecureTransport",
    "InvokeDenied",
    "NoSourceCredentials",
    "RetryPolicy",
    "RoleCredentials",
    "TimedOut",
    "WaitRefused",
    "WaitTimedOut",
    "XacctError",
]


def __getattr__(name: str) -> Any:
    """AsyncApiClient and HttpxIamAuth load httpx: only when asked for (MissingExtra without the httpx extra).

    Not in ``__all__``, so that ``from xacct import *`` works without the extra."""
    if name in ("AsyncApiClient", "HttpxIamAuth"):
        from xacct import aio

        return getattr(aio, name)
    raise AttributeError(f"module 'xacct' has no attribute {name!r}")


__version__ = VERSION
