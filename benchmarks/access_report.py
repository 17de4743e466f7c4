"""Access report at scale: `xacct access report`'s time for 1, 10, 50 and 200 consumers, as growth ratios.

One provider account with an HTTP API (routes ANY /{proxy+}, GET /items/{id}); each consumer is an account with
one workload role and, in the provider account, one invoke role trusting it (the statement the modules write:
the role ARN, StringLike sts:RoleSessionName "<account>-*") allowed one route. Consumers are added with boto3
(no Terraform) between measurements, so the account grows 1 -> 10 -> 50 -> 200; each size is reported the best of
a few runs of the whole report (every read call over HTTP to the local AWS, then the evaluation).

Two ways of reading IAM: in bulk (iam:GetAccountAuthorizationDetails, a few pages for the whole account; what
the report does) and role by role (ListRoles, then 4 calls per role; its fallback when the bulk read is refused),
the latter measured once per size.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from common import REGION, save
from xacct.access import Reader, build_report, may_reach
from xacct.local import LocalAws
from xacct.local.stacks import allow, build_api, trust

PROVIDER = "311111111111"
FIRST_CONSUMER = 400000000000
SIZES = (1, 10, 50, 200)


def add_consumer(aws: LocalAws, number: int, execution_arn: str) -> None:
    account = str(FIRST_CONSUMER + number)
    role = f"arn:aws:iam::{account}:role/LambdaRoleDeve"
    aws.client("iam", account).create_role(RoleName="LambdaRoleDeve", AssumeRolePolicyDocument=trust(service=True))
    document = json.loads(trust(role))
    document["Statement"][0]["Condition"] = {"StringLike": {"sts:RoleSessionName": f"{account}-*"}}
    iam = aws.client("iam", PROVIDER)
    name = f"ApiConsumer{number:04d}"
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(document))
    route = f"{execution_arn}/GET/items/*" if number % 2 else f"{execution_arn}/*/*"
    iam.put_role_policy(RoleName=name, PolicyName="InvokeApi", PolicyDocument=allow("execute-api:Invoke", route))


def timed(session: Any, api_id: str, endpoint_url: str, consumers: int, *, bulk: bool) -> float:
    """Seconds for one whole report; checks that every consumer's invoke role is in it."""
    started = time.perf_counter()
    reader = Reader(session, endpoint_url=endpoint_url)
    api = reader.read_api(api_id)
    read = reader.principals_in_bulk if bulk else reader.principals_one_by_one
    answer = build_report(api, read(may_reach(api)))
    seconds = time.perf_counter() - started
    roles = {c.via for r in answer.routes for c in r.callers}
    assert len(roles) == consumers, (consumers, len(roles))
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="reports per size, the best is kept (default 3)")
    parser.add_argument("--quick", action="store_true", help="sizes 1 and 5, one run: checks the benchmark runs")
    args = parser.parse_args()
    sizes, runs = ((1, 5), 1) if args.quick else (SIZES, args.runs)
    results: dict[str, Any] = {"sizes": list(sizes), "seconds": {}, "role_by_role_seconds": {}}
    with LocalAws(region=REGION) as aws:
        stack = build_api(
            aws,
            PROVIDER,
            str(FIRST_CONSUMER),
            "http://127.0.0.1:9",
            routes=("ANY /{proxy+}", "GET /items/{id}"),
            invoke_role="ApiConsumer0000",
        )
        execution_arn = f"arn:aws:execute-api:{REGION}:{PROVIDER}:{stack.api_id}/{stack.stage}"
        session = aws.session(PROVIDER)
        made = 1  # build_api's invoke role and workload role are consumer 0
        for size in sizes:
            while made < size:
                add_consumer(aws, made, execution_arn)
                made += 1
            best = float("inf")
            for _ in range(runs):
                best = min(best, timed(session, stack.api_id, aws.endpoint_url, size, bulk=True))
            slow = timed(session, stack.api_id, aws.endpoint_url, size, bulk=False)
            results["seconds"][str(size)] = best
            results["role_by_role_seconds"][str(size)] = slow
            print(f"{size:>4} consumers: {best:6.2f} s in bulk, {slow:6.2f} s role by role")
    first = results["seconds"][str(sizes[0])]
    results["ratio_to_first"] = {size: seconds / first for size, seconds in results["seconds"].items()}
    slow_first = results["role_by_role_seconds"][str(sizes[0])]
    results["role_by_role_ratio_to_first"] = {
        size: seconds / slow_first for size, seconds in results["role_by_role_seconds"].items()
    }
    for label, key in (("in bulk", "ratio_to_first"), ("role by role", "role_by_role_ratio_to_first")):
        growth = ", ".join(f"{size}: {ratio:.1f}x" for size, ratio in results[key].items())
        print(f"growth vs {sizes[0]} consumer(s), {label}: {growth}")
    path = save("access_report", results)
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
