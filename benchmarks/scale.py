"""Onboarding at scale: modules/provider_api's plan and apply time and policy sizes for 1, 10, 50 and 200 consumers.

Each consumer is an account of its own with one workload role (made with boto3 first: IAM, and the local AWS,
refuse a trust policy naming a role that does not exist). For each size N the module is applied, with real
Terraform into a fresh provider account of the local AWS, with one invoke role per consumer (the documented
layout), each allowed two of the API's three routes. Measured: the wall time of `terraform plan` and of
`terraform apply` (default -parallelism), and the largest trust policy and invoke policy of the applied roles
(characters of the documents IAM holds, without white space), all reported as growth ratios against N = 1.

Then the other layout: ONE invoke role trusting the N consumers. It is only planned, against IAM's default "Role
trust policy length" quota (2,048 characters): where it does not fit, the module's precondition fails the plan and
its message (how many consumers fit) is reported. Its trust policy, read from the plan, gives the characters each
added consumer account costs: one statement for all accounts with ``StringLike sts:RoleSessionName =
${aws:PrincipalAccount}-*`` (issue 18), beside the same policy in the earlier form, one statement per account with
that account's prefix, built here from the same ARNs (the "before" of that change).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import save
from xacct.local import LocalAws
from xacct.local.stacks import REGION, trust
from xacct.local.terraform import TerraformError, Workspace, copy_configuration

FIRST_PROVIDER = 511111111100
FIRST_CONSUMER = 600000000000
SIZES = (1, 10, 50, 200)
ROUTES = ["GET /items/{id}", "POST /items", "ANY /{proxy+}"]
ALLOWED = ["GET /items/{id}", "POST /items"]
WORKLOAD_ROLE = "LambdaRoleDeve"


def consumer_arn(number: int) -> str:
    return f"arn:aws:iam::{FIRST_CONSUMER + number}:role/{WORKLOAD_ROLE}"


def values(invoke_roles: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "scale-api",
        "integration": {"type": "HTTP_PROXY", "uri": "http://127.0.0.1:9"},
        "routes": ROUTES,
        "invoke_roles": invoke_roles,
    }


def one_role_each(size: int) -> dict[str, Any]:
    return {
        f"ApiConsumer{number:04d}": {"trusted_role_arns": [consumer_arn(number)], "allowed_routes": ALLOWED}
        for number in range(size)
    }


def compact(document: Any) -> int:
    """A policy's length as IAM counts it against its quotas: without white space."""
    if isinstance(document, str):
        document = json.loads(document)
    return len(json.dumps(document, separators=(",", ":")))


def largest_policies(aws: LocalAws, provider: str, names: list[str]) -> tuple[int, int]:
    """The largest trust policy and the largest inline invoke policy among these roles, read back from IAM."""
    iam = aws.client("iam", provider)
    trust_sizes, invoke_sizes = [], []
    for name in names:
        trust_sizes.append(compact(iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]))
        for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
            document = iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]
            invoke_sizes.append(compact(document))
    return max(trust_sizes), max(invoke_sizes)


def measure(aws: LocalAws, tree: Path, provider: str, size: int) -> dict[str, Any]:
    workspace = Workspace(copy_configuration(tree) / "modules" / "provider_api", aws.env(provider))
    workspace.init()
    roles = one_role_each(size)
    started = time.perf_counter()
    workspace.plan(values(roles))
    plan_seconds = time.perf_counter() - started
    started = time.perf_counter()
    workspace.apply(values(roles))
    apply_seconds = time.perf_counter() - started
    trust_chars, invoke_chars = largest_policies(aws, provider, list(roles))
    # The other layout, planned only: one invoke role trusting every consumer.
    shared = {"ApiShared": {"trusted_role_arns": [consumer_arn(n) for n in range(size)], "allowed_routes": ALLOWED}}
    shared_trust: str | None = None
    try:
        plan = workspace.plan(values(shared))
        shared_result = "fits"
        for change in plan["resource_changes"]:
            if change["address"] == 'aws_iam_role.invoke["ApiShared"]':
                shared_trust = change["change"]["after"]["assume_role_policy"]
    except TerraformError as error:
        message = str(error)
        start = message.find("The trust policy of invoke role")
        end = message.find("trust_policy_length_quota to it.", start)
        shared_result = message[start : end + len("trust_policy_length_quota to it.")] if 0 <= start < end else message
    return {
        "plan_seconds": plan_seconds,
        "apply_seconds": apply_seconds,
        "largest_trust_policy_chars": trust_chars,
        "largest_invoke_policy_chars": invoke_chars,
        "one_shared_role": shared_result,
        "shared_trust_chars": compact(shared_trust) if shared_trust is not None else None,
        "shared_trust_chars_one_statement_per_account": per_account_trust_chars(size),
    }


def per_account_trust_chars(size: int) -> int:
    """The shared role's trust in the earlier form: a statement per consumer account with that account's prefix."""
    statements = [
        {
            "Sid": f"ConsumerAccount{FIRST_CONSUMER + n}",
            "Effect": "Allow",
            "Principal": {"AWS": [consumer_arn(n)]},
            "Action": "sts:AssumeRole",
            "Condition": {"StringLike": {"sts:RoleSessionName": f"{FIRST_CONSUMER + n}-*"}},
        }
        for n in range(size)
    ]
    return compact({"Version": "2012-10-17", "Statement": statements})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sizes 1 and 3: checks the benchmark runs")
    args = parser.parse_args()
    sizes = (1, 3) if args.quick else SIZES
    rows: dict[str, dict[str, Any]] = {}
    started = time.perf_counter()
    with LocalAws(region=REGION) as aws, tempfile.TemporaryDirectory(prefix="xacct-scale-") as temp:
        for number in range(max(sizes)):
            aws.client("iam", str(FIRST_CONSUMER + number)).create_role(
                RoleName=WORKLOAD_ROLE, AssumeRolePolicyDocument=trust(service=True)
            )
        for index, size in enumerate(sizes):
            row = measure(aws, Path(temp) / str(size), str(FIRST_PROVIDER + index), size)
            rows[str(size)] = row
            print(
                f"{size:>4} consumers: plan {row['plan_seconds']:6.1f} s, apply {row['apply_seconds']:6.1f} s, "
                f"largest trust policy {row['largest_trust_policy_chars']} chars, "
                f"invoke policy {row['largest_invoke_policy_chars']} chars",
                flush=True,
            )
    first = rows[str(sizes[0])]
    keys = ("plan_seconds", "apply_seconds", "largest_trust_policy_chars", "largest_invoke_policy_chars")
    ratios = {label: {key: row[key] / first[key] for key in keys} for label, row in rows.items()}
    print()
    growth = f"growth vs {sizes[0]} (plan, apply, trust, invoke)"
    print(f"| consumers | plan s | apply s | largest trust policy | largest invoke policy | {growth} |")
    print("|---:|---:|---:|---:|---:|---|")
    for label, row in rows.items():
        ratio = ratios[label]
        print(
            f"| {label} | {row['plan_seconds']:.1f} | {row['apply_seconds']:.1f} | {row['largest_trust_policy_chars']} "
            f"| {row['largest_invoke_policy_chars']} | {ratio['plan_seconds']:.1f}x, {ratio['apply_seconds']:.1f}x, "
            f"{ratio['largest_trust_policy_chars']:.2f}x, {ratio['largest_invoke_policy_chars']:.2f}x |"
        )
    print()
    for label, row in rows.items():
        print(f"one invoke role trusting {label} consumer(s): {row['one_shared_role']}")
    print()
    print("| consumers of one shared role | trust policy: one statement | a statement per account (before) |")
    print("|---:|---:|---:|")
    for label, row in rows.items():
        shared = row["shared_trust_chars"]
        before = row["shared_trust_chars_one_statement_per_account"]
        print(f"| {label} | {shared if shared is not None else 'over the quota'} | {before} |")
    if len(sizes) > 1:
        low, high = rows[str(sizes[0])], rows[str(sizes[1])]
        added = sizes[1] - sizes[0]
        if low["shared_trust_chars"] is not None and high["shared_trust_chars"] is not None:
            after = (high["shared_trust_chars"] - low["shared_trust_chars"]) / added
            earlier = (
                high["shared_trust_chars_one_statement_per_account"]
                - low["shared_trust_chars_one_statement_per_account"]
            ) / added
            print(f"characters per added consumer account: {after:.0f} (one statement), {earlier:.0f} (before)")
    total = time.perf_counter() - started
    print(f"whole run: {total:.0f} s")
    path = save("scale", {"sizes": list(sizes), "rows": rows, "ratio_to_first": ratios, "total_seconds": total})
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
