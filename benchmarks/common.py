"""What both benchmarks need: the API stack (xacct.local.stacks, as the tests build it), timing and saving."""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from xacct.local.server import LocalAws
from xacct.local.stacks import INVOKE_ROLE, REGION, ApiStack, build_api

PROVIDER, CONSUMER = "111111111111", "222222222222"
# benchmarks/revisions.py runs a benchmark against other revisions and keeps their results apart.
RESULTS = Path(os.environ.get("XACCT_BENCH_RESULTS") or Path(__file__).resolve().parent / "results")


def deploy(aws: LocalAws, upstream: str) -> ApiStack:
    """LambdaRoleDeve (consumer) -> ApiAllowByIamRoleStag (provider) -> an HTTP API forwarding to ``upstream``."""
    return build_api(aws, PROVIDER, CONSUMER, upstream, invoke_role=INVOKE_ROLE, region=REGION)


def arguments(description: str, default: int) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--requests", type=int, default=default, help=f"requests per variant (default {default})")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds, to spread drift over variants")
    parser.add_argument("--quick", action="store_true", help="a few requests only: checks the benchmark runs")
    args = parser.parse_args()
    if args.quick:
        args.requests, args.rounds = 40, 2
    return args


def timed(variants: dict[str, Callable[[], Any]], requests: int, rounds: int) -> dict[str, float]:
    """Seconds per request of each variant, run in interleaved rounds (A B C, B C A, ...)."""
    totals = dict.fromkeys(variants, 0.0)
    names = list(variants)
    per_round = max(1, requests // rounds)
    for _ in range(3):  # warm up connections, credentials and caches
        for call in variants.values():
            call()
    for round_ in range(rounds):
        order = names[round_ % len(names) :] + names[: round_ % len(names)]
        for name in order:
            call = variants[name]
            started = time.perf_counter()
            for _ in range(per_round):
                call()
            totals[name] += time.perf_counter() - started
    return {name: total / (per_round * rounds) for name, total in totals.items()}


def save(name: str, payload: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {"machine": platform.platform(), "python": platform.python_version(), **payload}
    path.write_text(json.dumps(payload, indent=2))
    return path
