"""Gateway cost: signed requests through the local gateway vs the same requests straight to the API server.

Also: authorization decisions per second (SigV4 verification with botocore + policy evaluation by
xacct.iam), measured in-process without HTTP, and the whole STS AssumeRole decision per second.
"""

from __future__ import annotations

import sys
import time

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from common import CONSUMER, REGION, arguments, deploy, save, timed
from xacct.local import LocalAws
from xacct.local.echo_server import EchoServer


def main() -> int:
    args = arguments(__doc__.splitlines()[0], default=2000)
    with LocalAws(region=REGION) as aws, EchoServer() as echo:
        stack = deploy(aws, echo.url)
        direct = requests.Session()
        url = f"{echo.url}/hoge"
        through = stack.client()
        seconds = timed(
            {
                "direct": lambda: direct.get(url, timeout=10).raise_for_status(),
                "gateway": lambda: through.get("/hoge"),
            },
            args.requests,
            args.rounds,
        )

        # Authorization decisions, in-process: one pre-signed request checked over and over.
        creds = through.role.credentials.get_frozen_credentials()
        request = AWSRequest(method="GET", url=f"https://{stack.host}/hoge", data=b"")
        SigV4Auth(Credentials(creds.access_key, creds.secret_key, creds.token), "execute-api", REGION).add_auth(request)
        headers = {k.lower(): v for k, v in request.headers.items()} | {"host": stack.host}
        target = aws.gateway.resolve(stack.host, "/hoge")
        assert target is not None
        n = args.requests * 2
        started = time.perf_counter()
        for _ in range(n):
            caller = aws.gateway.authenticate(target, "GET", "/hoge", "", headers, b"")
            aws.gateway.authorize(caller, target, "GET")
        decisions_per_second = n / (time.perf_counter() - started)

        workload_credentials = stack.workload().get_credentials()
        assert workload_credentials is not None
        workload = aws.callers.find(workload_credentials.get_frozen_credentials().access_key)
        assert workload is not None
        assert workload.account_id == CONSUMER
        started = time.perf_counter()
        for _ in range(n):
            aws.guard.check(workload, {"RoleArn": stack.invoke_role_arn, "RoleSessionName": "bench"})
        assume_decisions_per_second = n / (time.perf_counter() - started)
        through.close()

    ratio = seconds["gateway"] / seconds["direct"]
    print(f"direct to the API server:     {seconds['direct'] * 1000:.3f} ms/request")
    print(f"signed, through the gateway:  {seconds['gateway'] * 1000:.3f} ms/request  ({ratio:.2f}x direct)")
    print(f"gateway authorization (SigV4 check + execute-api:Invoke policy): {decisions_per_second:,.0f} decisions/s")
    print(f"sts:AssumeRole decision (identity + trust policies): {assume_decisions_per_second:,.0f} decisions/s")
    path = save(
        "gateway_cost",
        {
            "requests": args.requests,
            "direct_ms": seconds["direct"] * 1000,
            "gateway_ms": seconds["gateway"] * 1000,
            "gateway_to_direct_ratio": ratio,
            "authorization_decisions_per_second": decisions_per_second,
            "assume_role_decisions_per_second": assume_decisions_per_second,
        },
    )
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
