"""xacct access usage (issue 22): who actually calls, per consumer account, invoke role and route, read from the
stage's access log as the local gateway writes it (CloudWatch Logs in the local AWS; FilterLogEvents)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest

from xacct import InvokeDenied
from xacct.access.usage import AccessLogError, log_group_of, read_usage, tally
from xacct.cli import main
from xacct.local import LocalAws
from xacct.local.echo_server import EchoServer
from xacct.local.stacks import build_api

from helpers import REGION


def test_usage_counts_calls_errors_and_times_per_consumer_role_and_route(
    local_aws: LocalAws,
    echo: EchoServer,
    new_account: Callable[[], str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    provider, consumer = new_account(), new_account()
    stack = build_api(
        local_aws,
        provider,
        consumer,
        echo.url,
        routes=("ANY /{proxy+}", "GET /items/{id}"),
        resources=("GET/items/*", "GET/hoge"),
        access_log=True,
    )
    with stack.client(retries=0) as api:
        assert api.get("/items/1").status_code == 200
        assert api.get("/items/2").status_code == 200
        assert api.get("/hoge").status_code == 200
        with pytest.raises(InvokeDenied):
            api.delete("/items/1")  # refused at IAM authorization: a 4xx of this caller
    found = read_usage(
        local_aws.session(provider), stack.api_id, since=timedelta(hours=1), endpoint_url=local_aws.endpoint_url
    )
    by_route = {(r.consumer_account_id, r.invoke_role, r.route_key): r for r in found.rows}
    items = by_route[(consumer, "ApiInvoke", "GET /items/{id}")]
    assert (items.calls, items.client_errors, items.server_errors) == (2, 0, 0)
    proxy = by_route[(consumer, "ApiInvoke", "ANY /{proxy+}")]
    assert (proxy.calls, proxy.client_errors) == (2, 1)  # GET /hoge, and the refused DELETE
    assert items.first_seen is not None
    assert items.last_seen is not None
    assert items.first_seen <= items.last_seen <= datetime.now(timezone.utc) + timedelta(seconds=5)

    for key, value in local_aws.env(provider).items():  # the provider account's credentials, as CI would have them
        monkeypatch.setenv(key, value)
    status = main(
        ["access", "usage", "--api-id", stack.api_id, "--since", "1h", "--region", REGION, "--format", "json",
         "--endpoint-url", local_aws.endpoint_url]
    )  # fmt: skip
    assert status == 0
    document = json.loads(capsys.readouterr().out)
    assert (document["version"], document["api_id"], document["stage"]) == (1, stack.api_id, "$default")
    assert {"consumer_account_id", "invoke_role", "route_key", "calls", "client_errors", "server_errors",
            "first_seen", "last_seen"} == set(document["rows"][0])  # fmt: skip


def test_a_log_in_another_format_is_an_error_that_says_so() -> None:
    stage = {
        "StageName": "$default",
        "AccessLogSettings": {
            "DestinationArn": "arn:aws:logs:ap-northeast-1:111111111111:log-group:/custom",
            "Format": '{"ip": "$context.identity.sourceIp", "status": "$context.status"}',
        },
    }
    with pytest.raises(AccessLogError, match="in another format: usage reads the JSON fields userArn"):
        log_group_of(stage)
    with pytest.raises(AccessLogError, match="writes no access log"):
        log_group_of({"StageName": "prod"})


def test_requests_without_a_verified_caller_are_counted_apart() -> None:
    line = {"userArn": "-", "routeKey": "ANY /{proxy+}", "status": "403"}
    usage = tally([{"timestamp": 0, "message": json.dumps(line)}], "api", "$default", datetime.now(timezone.utc))
    assert (usage.rows, usage.unauthenticated) == ([], 1)
