"""Only through the gateway: the seed's API server is sealed by the origin secret, and a private (VPC link)
integration has no address but its listener's ARN. Real applies into the local AWS, real HTTP over loopback.

- envs/deve + envs/stag as a provider team applies them, the echo server sealed with `origin_secret`: the gateway
  call works; a direct call with a forged `x-caller-arn` and no or a wrong secret gets the API server's 403; the
  secret is stable across plans and rotates with origin_secret_version. That is in tests/test_apply.py
  (test_deve_then_stag_apply_read_back_sealed_converge_rotate_and_destroy), on the one deployment of the envs
  that also reads everything back.
- modules/provider_api with integration.vpc_link (the module creates the VPC link) and an ALB listener ARN:
  applies, converges, and forwards to the URL registered for the listener with LocalAws.register_private_target;
  an unregistered listener gets API Gateway's 500 for an unreachable private integration.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from xacct.errors import HttpError
from xacct.local import LocalAws
from xacct.local.echo_server import EchoServer
from xacct.local.stacks import allow, trust
from xacct.local.terraform import ProviderHosts, Workspace

from helpers import REGION, workload_client

pytestmark = [pytest.mark.apply, pytest.mark.xdist_group("apply")]

INVOKE_ROLE = "ApiAllowByIamRoleStag"
LISTENER = "arn:aws:elasticloadbalancing:{region}:{account}:listener/app/server-stag/50dc6c495c0c9188/0467ef3c8400ae65"


@pytest.fixture
def sealed_echo() -> Iterator[EchoServer]:
    """An echo server of this test's own (the session's shared one stays unsealed for the other tests)."""
    with EchoServer() as server:
        yield server


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _roles(aws: LocalAws, provider: str, consumer: str) -> tuple[str, str]:
    """A consumer workload role allowed to assume the provider's invoke role (made with boto3, before the apply)."""
    workload = f"arn:aws:iam::{consumer}:role/LambdaRoleDeve"
    invoke = f"arn:aws:iam::{provider}:role/{INVOKE_ROLE}"
    iam = aws.client("iam", consumer)
    iam.create_role(RoleName="LambdaRoleDeve", AssumeRolePolicyDocument=trust(service=True))
    iam.put_role_policy(RoleName="LambdaRoleDeve", PolicyName="assume", PolicyDocument=allow("sts:AssumeRole", invoke))
    return workload, invoke


def _drop_roles(aws: LocalAws, consumer: str) -> None:
    iam = aws.client("iam", consumer)
    iam.delete_role_policy(RoleName="LambdaRoleDeve", PolicyName="assume")
    iam.delete_role(RoleName="LambdaRoleDeve")


def test_a_private_integration_is_reached_through_its_vpc_link(
    local_aws: LocalAws,
    fresh_tree: Path,
    echo: EchoServer,
    new_account: Callable[[], str],
    provider_hosts: ProviderHosts,
) -> None:
    """The module creates the VPC link; the listener ARN is the integration's only address.

    "Working with private integrations for HTTP APIs": the URI is the listener's ARN and the path is mapped to the
    route path. Locally the listener stands for a URL registered with LocalAws.register_private_target; until then
    the gateway answers 500, as AWS does for a private integration it cannot reach.
    """
    provider, consumer = new_account(), new_account()
    workload, invoke_arn = _roles(local_aws, provider, consumer)
    listener = LISTENER.format(region=REGION, account=provider)
    api = Workspace(fresh_tree / "modules" / "provider_api", local_aws.env(provider), provider_hosts)
    values = {
        "name": "server-private",
        "integration": {
            "type": "HTTP_PROXY",
            "uri": listener,
            "vpc_link": {"subnet_ids": ["subnet-0123456789abcdef0"], "security_group_ids": ["sg-0123456789abcdef0"]},
            "tls_server_name": "api.internal.example.com",
        },
        "invoke_roles": {INVOKE_ROLE: {"trusted_role_arns": [workload]}},
    }
    try:
        outputs = api.apply(values)
        gateway = local_aws.client("apigatewayv2", provider, REGION)
        (link,) = gateway.get_vpc_links()["Items"]
        assert (link["VpcLinkId"], link["VpcLinkStatus"]) == (outputs["vpc_link_id"], "AVAILABLE")
        assert link["SubnetIds"] == ["subnet-0123456789abcdef0"]
        (integration,) = gateway.get_integrations(ApiId=outputs["api_id"])["Items"]
        assert (integration["ConnectionType"], integration["ConnectionId"]) == ("VPC_LINK", link["VpcLinkId"])
        assert integration["IntegrationUri"] == listener
        assert integration["TlsConfig"] == {"ServerNameToVerify": "api.internal.example.com"}
        assert not any("origin" in key for key in integration["RequestParameters"])  # private: no origin secret
        assert outputs.get("origin_verify_header") is None  # a null output is not listed

        with workload_client(local_aws, outputs["invoke_url"], invoke_arn, workload) as client:
            with pytest.raises(HttpError) as unreachable:
                client.get("/items/1")
            assert unreachable.value.response is not None
            assert unreachable.value.response.status_code == 500
            assert unreachable.value.response.json()["message"] == "Internal Server Error"
            local_aws.register_private_target(listener, echo.url)
            reached = client.get("/items/1")
            local_aws.register_private_target(listener, f"http://127.0.0.1:{_closed_port()}")
            with pytest.raises(HttpError) as refused:  # the target is down: 500 too, as for any unreachable target
                client.get("/items/1")
            assert refused.value.response is not None
            assert refused.value.response.status_code == 500
        assert reached.status_code == 200, reached.text
        assert reached.json()["path"] == "/items/1"
        assert reached.json()["caller"]["arn"].startswith(f"arn:aws:sts::{provider}:assumed-role/{INVOKE_ROLE}/")
        code, out = api.plan_exit_code()
        assert code == 0, f"second plan is not empty:\n{out}"
    finally:
        if api.applied:
            api.destroy()
        _drop_roles(local_aws, consumer)
    assert local_aws.client("apigatewayv2", provider, REGION).get_vpc_links()["Items"] == []


def test_register_private_target_refuses_what_is_not_a_private_target(local_aws: LocalAws) -> None:
    with pytest.raises(ValueError, match="not a load balancer listener or Cloud Map service ARN"):
        local_aws.register_private_target("https://api.example.com", "http://127.0.0.1:1")
    with pytest.raises(ValueError, match="is not an http"):
        local_aws.register_private_target(LISTENER.format(region=REGION, account="111111111111"), "127.0.0.1:1")
