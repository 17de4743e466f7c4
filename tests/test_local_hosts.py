"""The local AWS serves only the Host names it owns, and warns when it listens beyond loopback.

A developer tool, not an open proxy: a request for any other Host (a DNS-rebinding page, a misdirected client)
is answered 403 in API Gateway's error shape with a message naming the Host. AWS has no counterpart (its DNS
never sends it a foreign name), so the shape is ours; see README "Trust policies and host names".
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
import requests

from xacct.local import LocalAws
from xacct.local.echo_server import EchoServer
from xacct.local.server import host_name
from xacct.local.stacks import build_api

from helpers import REGION, botocore_signed

IDENTITY = "Action=GetCallerIdentity&Version=2011-06-15"


def signed_identity_call(aws: LocalAws, host: str, account: str) -> requests.Response:
    """sts:GetCallerIdentity signed with the account's root keys, sent to the local AWS's port with this Host."""
    root = aws.credentials_for(account)
    headers = botocore_signed(
        "POST",
        host,
        "/",
        {"key": root.access_key_id, "secret": root.secret_access_key},
        body=IDENTITY.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        service="sts",
    )
    return requests.post(
        aws.endpoint_url.replace(aws.host, "127.0.0.1") + "/", data=IDENTITY, headers=headers, timeout=10
    )


def sts_call(aws: LocalAws, host: str) -> requests.Response:
    """An unsigned STS call to the local AWS's port with this Host header (moto answers; we only look at who)."""
    return requests.post(
        aws.endpoint_url.replace(aws.host, "127.0.0.1") + "/",
        data=IDENTITY,
        headers={"Host": host, "Content-Type": "application/x-www-form-urlencoded"},
        timeout=10,
    )


@pytest.mark.parametrize("host", ["evil.example.com", "evil.example.com:4566", "10.1.2.3", "127.0.0.1.nip.io"])
def test_a_foreign_host_is_refused_with_a_clear_error(local_aws: LocalAws, host: str) -> None:
    response = sts_call(local_aws, host)
    assert response.status_code == 403
    assert response.headers["x-amzn-ErrorType"] == "ForbiddenException"
    message = response.json()["message"]
    assert message.startswith(f"Forbidden: the local AWS does not serve the Host {host!r}.")
    assert "<api-id>.execute-api.<region>.amazonaws.com" in message


@pytest.mark.parametrize(
    "host", ["127.0.0.1:{port}", "localhost:{port}", "[::1]:{port}", "127.0.0.2", "sts.amazonaws.com"]
)
def test_owned_names_reach_the_control_plane(local_aws: LocalAws, new_account: Callable[[], str], host: str) -> None:
    """A signed sts:GetCallerIdentity (root of a local account) with this Host is answered by STS, not refused."""
    account = new_account()
    response = signed_identity_call(local_aws, host.format(port=local_aws.port), account)
    assert response.status_code == 200, response.text
    assert f"<Account>{account}</Account>" in response.text


def test_execute_api_hosts_and_registered_custom_domains_reach_the_gateway(
    local_aws: LocalAws, echo: EchoServer, new_account: Callable[[], str]
) -> None:
    stack = build_api(local_aws, new_account(), new_account(), echo.url, domain_name="api.hosts-test.example.com")
    for host in (stack.host, f"{stack.api_id}.execute-api.{REGION}.amazonaws.com", "api.hosts-test.example.com"):
        response = requests.get(f"{local_aws.endpoint_url}/hoge", headers={"Host": host}, timeout=10)
        assert (response.status_code, response.json()) == (403, {"message": "Forbidden"})  # unsigned: the gateway
    unregistered = requests.get(
        f"{local_aws.endpoint_url}/hoge", headers={"Host": "api.not-registered.example.com"}, timeout=10
    )
    assert "does not serve the Host 'api.not-registered.example.com'" in unregistered.json()["message"]


def test_host_names_are_parsed_as_http_sends_them() -> None:
    assert host_name("LocalHost:4566") == "localhost"
    assert host_name("[::1]:4566") == "::1"
    assert host_name("example.com.") == "example.com"
    assert host_name("abc.execute-api.us-east-1.amazonaws.com:443") == "abc.execute-api.us-east-1.amazonaws.com"


def test_binding_beyond_loopback_warns(capsys: pytest.CaptureFixture[str]) -> None:
    with LocalAws(host="0.0.0.0", region=REGION) as aws:  # noqa: S104  (the case under test)
        err = capsys.readouterr().err
        assert "WARNING: the local AWS listens on 0.0.0.0, not on a loopback address" in err
        assert "Use 127.0.0.1 (the default)" in err
        # Bound to every interface, this machine's own name is one of the names it owns.
        own = signed_identity_call(aws, f"{socket.gethostname()}:{aws.port}", "123456789012")
        assert own.status_code == 200, own.text
        assert "<Account>123456789012</Account>" in own.text
        assert sts_call(aws, "evil.example.com").status_code == 403
    with LocalAws(region=REGION):
        assert capsys.readouterr().err == ""
