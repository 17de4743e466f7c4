"""Client overhead: what signing and credentials cost a consumer, against the same local server, in one run.

Variants (each sends GET /hoge to the same echo server, sequentially, over kept-alive connections where the
variant allows it):
  floor             unsigned `requests` (the floor)
  xacct             ApiClient: refreshing assumed-role credentials + SigV4 (IamAuth)
  aws4auth-static   requests-aws4auth with static keys (credentials assumed once, never refreshed)
  seed              the seed's snippet: sts:AssumeRole + AWS4Auth + requests.put on every call

Reported: seconds per request, throughput ratio to the floor, and STS AssumeRole calls per 1,000 requests
(counted by the local AWS). Target: xacct >= 0.9x the floor and one AssumeRole per credential lifetime.
"""

from __future__ import annotations

import sys
import time

import requests
from requests.structures import CaseInsensitiveDict
from requests_aws4auth import AWS4Auth

from common import REGION, arguments, deploy, save, timed
from xacct.local import LocalAws
from xacct.local.echo_server import EchoServer


def main() -> int:
    args = arguments(__doc__.splitlines()[0], default=2000)
    with LocalAws(region=REGION) as aws, EchoServer() as echo:
        stack = deploy(aws, echo.url)
        url = f"{echo.url}/hoge"
        plain = requests.Session()
        workload = stack.workload()
        client = stack.client(source_session=workload, endpoint_url=echo.url)
        sts = workload.client("sts")
        creds = sts.assume_role(RoleArn=stack.invoke_role_arn, RoleSessionName="static")["Credentials"]
        static = AWS4Auth(
            creds["AccessKeyId"], creds["SecretAccessKey"], REGION, "execute-api", session_token=creds["SessionToken"]
        )
        signed = requests.Session()

        def seed() -> None:
            fresh = sts.assume_role(RoleArn=stack.invoke_role_arn, RoleSessionName="ApiAllowByIamRoleStag")[
                "Credentials"
            ]
            auth = AWS4Auth(
                fresh["AccessKeyId"],
                fresh["SecretAccessKey"],
                REGION,
                "execute-api",
                session_token=fresh["SessionToken"],
            )
            requests.put(
                url, auth=auth, json={"foo": "bar"}, headers={"Host": stack.host}, timeout=10
            ).raise_for_status()

        variants = {
            "floor": lambda: plain.get(url, timeout=10).raise_for_status(),
            "xacct": lambda: client.get("/hoge"),
            "aws4auth-static": lambda: signed.get(
                url, auth=static, headers={"Host": stack.host}, timeout=10
            ).raise_for_status(),
            "seed": seed,
        }
        counts: dict[str, int] = {}
        seconds: dict[str, float] = {}
        for name, call in variants.items():
            # The seed's approach costs an AssumeRole per call: run it for a tenth of the requests.
            n = max(10, args.requests // 10) if name == "seed" else args.requests
            before = len(aws.assume_role_records)
            seconds.update(timed({name: call}, n, args.rounds))
            counts[name] = len(aws.assume_role_records) - before
            counts[f"{name}:requests"] = n + 3
        # And the ratios that matter, measured interleaved in one go.
        ratios_source = timed(
            {k: variants[k] for k in ("floor", "xacct", "aws4auth-static")}, args.requests, args.rounds
        )
        # Signing alone (credentials already in hand), so the ratio above is not mistaken for free signing.
        headers = CaseInsensitiveDict({"Content-Type": "application/json"})
        started = time.perf_counter()
        for _ in range(args.requests):
            client.auth.sign("PUT", stack.host, "/hoge", "a=1", headers, b'{"foo":"bar"}')
        sign_us = (time.perf_counter() - started) / args.requests * 1e6
        client.close()

    floor = ratios_source["floor"]
    print(f"{'variant':<16}{'ms/request':>12}{'x floor':>10}{'AssumeRole per 1k':>20}")
    rows = {}
    for name in variants:
        per_request = ratios_source.get(name, seconds[name])
        ratio = floor / per_request
        sts_per_k = 1000 * counts[name] / counts[f"{name}:requests"]
        rows[name] = {
            "ms_per_request": per_request * 1000,
            "throughput_ratio_to_floor": ratio,
            "assume_role_per_1000": sts_per_k,
        }
        print(f"{name:<16}{per_request * 1000:>12.3f}{ratio:>10.2f}{sts_per_k:>20.1f}")
    print(f"\nSigV4 signing alone (IamAuth.sign): {sign_us:.0f} us per request; the rest of xacct's edge over the")
    print("floor is reading proxy settings once per thread instead of scanning os.environ on every request.")
    verdict = rows["xacct"]["throughput_ratio_to_floor"] >= 0.9 and client.role.credentials.refresh_count == 1
    print(f"\ntarget (xacct >= 0.9x floor, one AssumeRole per credential lifetime): {'met' if verdict else 'NOT met'}")
    summary = {"requests": args.requests, "variants": rows, "sign_us": sign_us, "target_met": verdict}
    print(f"results: {save('client_overhead', summary)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
