"""A grant ends by itself (issue 22): after a real apply of envs/stag with a consumer team's file whose `expires` is
a minute away, the team calls the API; once the local AWS's clock (real time) passes `expires`, IAM refuses its
AssumeRole with AWS's AccessDenied, and a session issued before the end can make no call after it. No apply in
between: the trust and the invoke policy hold `aws:CurrentTime` before the end ("AWS global condition context
keys"; modules/provider_api, "Grants that end by themselves")."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from xacct import ApiClient, AssumeRoleDenied, InvokeDenied
from xacct.local import LocalAws
from xacct.local.echo_server import EchoServer
from xacct.local.stacks import allow, trust
from xacct.local.terraform import ProviderHosts, Workspace

from helpers import REGION

pytestmark = [pytest.mark.apply]


def test_a_grant_ends_at_expires_without_an_apply(
    local_aws: LocalAws,
    fresh_tree: Path,
    echo: EchoServer,
    provider_hosts: ProviderHosts,
    new_account: Callable[[], str],
) -> None:
    provider, consumer = new_account(), new_account()
    role_arn = f"arn:aws:iam::{consumer}:role/LambdaRoleDeve"
    iam = local_aws.client("iam", consumer)
    iam.create_role(RoleName="LambdaRoleDeve", AssumeRolePolicyDocument=trust(service=True))
    invoke_arn = f"arn:aws:iam::{provider}:role/team-b"
    iam.put_role_policy(
        RoleName="LambdaRoleDeve", PolicyName="assume", PolicyDocument=allow("sts:AssumeRole", invoke_arn)
    )
    ends = (datetime.now(timezone.utc) + timedelta(seconds=100)).replace(microsecond=0)
    stag = Workspace(fresh_tree / "envs" / "stag", local_aws.env(provider), provider_hosts)
    (stag.folder / "consumers" / "team-b.yaml").write_text(
        f'account_id: "{consumer}"\nrole_arns: [{role_arn}]\nroutes: ["*"]\n'
        f"expires: {ends:%Y-%m-%dT%H:%M:%SZ}\ncontact: team-b@example.com\nreason: the expiry test\n"
    )
    outputs = stag.apply({"api_server_url": echo.url, "region": REGION})
    invoke_role = outputs["invoke_role_arns"]["team-b"]

    def client() -> ApiClient:
        return ApiClient(
            outputs["invoke_url"],
            invoke_role,
            source_session=local_aws.workload_session(role_arn, region=REGION),
            endpoint_url=local_aws.endpoint_url,
            retries=0,
        )

    early = client()
    assert early.get("/hoge").status_code == 200  # before the end: granted
    wait = (ends - datetime.now(timezone.utc)).total_seconds() + 2
    assert wait > 0, "the apply took longer than the grant lasted: raise the 100 s above"
    time.sleep(wait)
    with pytest.raises(InvokeDenied) as refused:  # the session issued before the end: no call after it
        early.get("/hoge")
    assert refused.value.status_code == 403
    early.close()
    with pytest.raises(AssumeRoleDenied) as denied, client() as late:  # no new session either
        late.get("/hoge")
    assert "is not authorized to perform: sts:AssumeRole" in denied.value.aws_message
    stag.destroy()
