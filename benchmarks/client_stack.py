"""Client stack: xacct's clients against the floors of their own HTTP stacks, at 1, 10 and 100 requests in flight.

Every variant sends GET /hoge to the same echo server, directly (no gateway: ``endpoint_url`` is the echo server),
which runs in a process of its own so that it does not share the clients' interpreter lock. Requests in flight are
threads for the sync variants (each with its own connection) and tasks for the async ones.

  sync      xacct ApiClient (refreshing assumed-role credentials + SigV4) against unsigned `requests` (a Session per
            thread), urllib3 (one PoolManager, keep-alive) and http.client (a kept-alive connection per thread)
  async     xacct AsyncApiClient against an unsigned httpx.AsyncClient with the same connection limits
  same bytes  urllib3 / httpx replaying the headers xacct sends (signed once): the echo server parses and echoes
            every header, so a signed request costs the server more than an unsigned one; the ratio to these is the
            client's own cost alone

Reported: seconds per request and throughput ratios measured interleaved in one run (the sync client to urllib3,
the async client to httpx), and STS AssumeRole calls per 1,000 requests (counted by the local AWS). Goals: the sync
client >= 0.8x urllib3, the async client >= 0.9x httpx at 100 in flight, one AssumeRole per credential lifetime.
``--soak N``: N calls from 100 tasks on one AsyncApiClient through short sessions (several refreshes): errors and
AssumeRole calls per refresh.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import re
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import requests
import urllib3
from requests.structures import CaseInsensitiveDict

from common import REGION, deploy, save
from xacct import ApiClient, AsyncApiClient
from xacct.local import LocalAws
from xacct.local.stacks import ApiStack

IN_FLIGHT = (1, 10, 100)
KEEPALIVE_EXPIRY = httpx.Limits().keepalive_expiry or 5.0  # httpx's default, which both clients keep
SERVE = (
    "from xacct.local.echo_server import EchoServer\n"
    "import time\n"
    "server = EchoServer().start()\n"
    "server._httpd.socket.listen(256)\n"  # room for 100 connections opened at once (the default backlog is 5)
    "print(server.url, flush=True)\n"
    "time.sleep(10**6)\n"
)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="requests per variant and round set (default 3000)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds, to spread drift over variants")
    parser.add_argument("--soak", type=int, default=10_000, help="calls in the soak (0: no soak; default 10,000)")
    parser.add_argument(
        "--quick", action="store_true", help="a few requests, pools not left to expire: checks the benchmark runs"
    )
    args = parser.parse_args()
    if args.quick:
        args.requests, args.rounds, args.soak = 200, 1, 300
    return args


def run_threads(call: Callable[[], Any], threads: int, total: int) -> None:
    per = max(1, total // threads)

    def work() -> None:
        for _ in range(per):
            call()

    if threads == 1:
        work()
        return
    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(work) for _ in range(threads)]:
            future.result()


async def run_tasks(call: Callable[[], Awaitable[Any]], tasks: int, total: int) -> None:
    per = max(1, total // tasks)

    async def work() -> None:
        for _ in range(per):
            await call()

    await asyncio.gather(*(work() for _ in range(tasks)))


def interleaved(
    variants: dict[str, Callable[[], None]], total: int, rounds: int, before: Callable[[], None] | None = None
) -> dict[str, float]:
    """Seconds per request of each variant (``variants[name]()`` sends ``total`` requests), rounds interleaved;
    ``before()`` runs, untimed, before each."""
    seconds = dict.fromkeys(variants, 0.0)
    names = list(variants)
    for round_ in range(rounds):
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            if before is not None:
                before()
            started = time.perf_counter()
            variants[name]()
            seconds[name] += time.perf_counter() - started
    return {name: total_seconds / (total * rounds) for name, total_seconds in seconds.items()}


def same_bytes(client: ApiClient | AsyncApiClient, stack: ApiStack) -> dict[str, str]:
    """The headers xacct sends for GET /hoge, signed once: replayed by a floor, the server gets the same bytes (the
    echo server parses and echoes every header), so the ratio to it is the client's own cost alone."""
    headers: CaseInsensitiveDict[str] = CaseInsensitiveDict({"Host": stack.host})
    client.auth.sign("GET", stack.host, "/hoge", "", headers, b"", client.role.credentials.get_frozen_credentials())
    return dict(headers)


def cold_pools() -> None:
    """Every async variant starts from the same pool: one whose kept-alive connections have all expired.

    httpcore's pool looks at every connection (and polls each idle one) whenever it assigns a request, so its cost
    per request grows with the connections it holds, and how many it holds depends on the run before: a pool used
    less than keepalive_expiry ago starts with what that run left, an older one opens a connection per task in the
    first burst. Measured without this, a floor reused warm while xacct started cold took half the time per request
    (4 s against 9 s for 2,000 requests at 100 in flight), whichever client it was. Upstream: encode/httpcore#1035.
    """
    time.sleep(KEEPALIVE_EXPIRY + 0.5)


def sync_variants(stack: ApiStack, echo_url: str, in_flight: int, total: int) -> dict[str, Callable[[], None]]:
    url = f"{echo_url}/hoge"
    host, port = echo_url.removeprefix("http://").split(":")
    client = stack.client(source_session=stack.workload(), endpoint_url=echo_url)
    local = threading.local()
    pool = urllib3.PoolManager(maxsize=in_flight, retries=False)

    def session() -> requests.Session:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        return local.session  # type: ignore[no-any-return]

    def connection() -> http.client.HTTPConnection:
        if not hasattr(local, "connection"):
            local.connection = http.client.HTTPConnection(host, int(port), timeout=10)
        return local.connection  # type: ignore[no-any-return]

    def with_http_client() -> None:
        conn = connection()
        conn.request("GET", "/hoge")
        answer = conn.getresponse()
        answer.read()
        assert answer.status == 200

    def with_urllib3() -> None:
        assert pool.request("GET", url, timeout=10).status == 200

    replay = same_bytes(client, stack)

    def with_urllib3_same_bytes() -> None:
        assert pool.request("GET", url, headers=replay, timeout=10).status == 200

    def with_requests() -> None:
        session().get(url, timeout=10).raise_for_status()

    def with_xacct() -> None:
        client.get("/hoge")

    calls = {
        "http.client": with_http_client,
        "urllib3": with_urllib3,
        "urllib3 same bytes": with_urllib3_same_bytes,
        "requests": with_requests,
        "xacct": with_xacct,
    }
    for call in calls.values():  # warm up: connections, credentials
        run_threads(call, in_flight, in_flight * 2)
    return {name: (lambda call=call: run_threads(call, in_flight, total)) for name, call in calls.items()}


def async_variants(
    stack: ApiStack, echo_url: str, in_flight: int, total: int, loop: asyncio.AbstractEventLoop
) -> tuple[dict[str, Callable[[], None]], AsyncApiClient, list[httpx.AsyncClient]]:
    url = f"{echo_url}/hoge"
    client = AsyncApiClient(
        stack.base_url, stack.invoke_role_arn, source_session=stack.workload(), endpoint_url=echo_url
    )
    # One pool per variant (two floors sharing one would keep it warm for each other).
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    plain, same = httpx.AsyncClient(limits=limits), httpx.AsyncClient(limits=limits)

    async def with_httpx() -> None:
        (await plain.get(url, timeout=10)).raise_for_status()

    replay = same_bytes(client, stack)

    async def with_httpx_same_bytes() -> None:
        (await same.get(url, headers=replay, timeout=10)).raise_for_status()

    async def with_xacct() -> None:
        await client.get("/hoge")

    calls = {"httpx": with_httpx, "httpx same bytes": with_httpx_same_bytes, "xacct": with_xacct}
    for call in calls.values():
        loop.run_until_complete(run_tasks(call, in_flight, in_flight * 2))
    variants = {
        name: (lambda call=call: loop.run_until_complete(run_tasks(call, in_flight, total)))
        for name, call in calls.items()
    }
    return variants, client, [plain, same]


def soak(stack: ApiStack, echo_url: str, calls: int, ttl: int = 3) -> dict[str, Any]:
    """``calls`` GETs from 100 tasks on one AsyncApiClient whose sessions last ``ttl`` seconds."""
    frozen = stack.workload().get_credentials().get_frozen_credentials()  # type: ignore[union-attr]
    with LocalAws(region=REGION, session_ttl_seconds=ttl) as short:
        source = short.session_with_keys(frozen.access_key, frozen.secret_key, frozen.token)
        errors: list[str] = []
        keys: set[str] = set()

        async def main() -> int:
            async with AsyncApiClient(
                stack.base_url,
                stack.invoke_role_arn,
                source_session=source,
                endpoint_url=echo_url,  # the API's bytes; STS (the short sessions) is the source session's
            ) as api:

                async def one() -> None:
                    try:
                        answer = await api.get("/hoge")
                        found = re.search(r"Credential=([^/]+)/", answer.json()["headers"]["authorization"])
                        keys.add(found.group(1) if found else "?")
                    except Exception as error:
                        errors.append(f"{type(error).__name__}: {error}")

                await run_tasks(one, 100, calls)
                return api.role.credentials.refresh_count

        started = time.perf_counter()
        refreshes = asyncio.run(main())
        seconds = time.perf_counter() - started
        assume_roles = len([r for r in short.assume_role_records if r.role_arn == stack.invoke_role_arn and r.allowed])
    return {
        "calls": 100 * max(1, calls // 100),
        "seconds": seconds,
        "errors": len(errors),
        "first_errors": errors[:3],
        "session_seconds": ttl,
        "refreshes": refreshes,
        "assume_role_calls": assume_roles,
        "sessions_used": len(keys),
    }


def main() -> int:
    args = arguments()
    server = subprocess.Popen([sys.executable, "-c", SERVE], stdout=subprocess.PIPE, text=True)
    rows: dict[str, dict[str, Any]] = {}
    try:
        echo_url = (server.stdout.readline() if server.stdout else "").strip()
        with LocalAws(region=REGION) as aws:
            stack = deploy(aws, echo_url)
            for in_flight in IN_FLIGHT:
                before = len(aws.assume_role_records)
                sync = interleaved(sync_variants(stack, echo_url, in_flight, args.requests), args.requests, args.rounds)
                sync_assumes = len(aws.assume_role_records) - before
                loop = asyncio.new_event_loop()
                try:
                    before = len(aws.assume_role_records)
                    variants, client, floors = async_variants(stack, echo_url, in_flight, args.requests, loop)
                    before_each = None if args.quick else cold_pools
                    asynchronous = interleaved(variants, args.requests, args.rounds, before=before_each)
                    async_assumes = len(aws.assume_role_records) - before
                    loop.run_until_complete(client.aclose())
                    for floor in floors:
                        loop.run_until_complete(floor.aclose())
                finally:
                    loop.close()
                sent = args.requests * args.rounds + 2 * in_flight
                rows[str(in_flight)] = {
                    "sync_ms": {k: v * 1000 for k, v in sync.items()},
                    "async_ms": {k: v * 1000 for k, v in asynchronous.items()},
                    "sync_to_urllib3": sync["urllib3"] / sync["xacct"],
                    "sync_to_urllib3_same_bytes": sync["urllib3 same bytes"] / sync["xacct"],
                    "sync_to_requests": sync["requests"] / sync["xacct"],
                    "sync_to_http_client": sync["http.client"] / sync["xacct"],
                    "async_to_httpx": asynchronous["httpx"] / asynchronous["xacct"],
                    "async_to_httpx_same_bytes": asynchronous["httpx same bytes"] / asynchronous["xacct"],
                    "assume_role_per_1000": {
                        "sync": 1000 * sync_assumes / sent,
                        "async": 1000 * async_assumes / sent,
                    },
                }
            soaked = soak(stack, echo_url, args.soak) if args.soak else None
    finally:
        server.kill()
        server.wait()

    print("ms per request; ratios are throughput, xacct to the unsigned floor (higher is better)")
    print("(same bytes: the floor replays xacct's signed headers, so the server does the same work)")
    print(
        "| in flight | http.client | urllib3 | urllib3 same bytes | requests | xacct sync | sync / urllib3 "
        "| sync / urllib3 same bytes | sync / requests | httpx | httpx same bytes | xacct async | async / httpx "
        "| async / httpx same bytes | AssumeRole per 1k (sync / async) |"
    )
    print("|---:" * 15 + "|")
    for in_flight, row in rows.items():
        s, a, k = row["sync_ms"], row["async_ms"], row["assume_role_per_1000"]
        print(
            f"| {in_flight} | {s['http.client']:.3f} | {s['urllib3']:.3f} | {s['urllib3 same bytes']:.3f} "
            f"| {s['requests']:.3f} | {s['xacct']:.3f} | {row['sync_to_urllib3']:.2f}x "
            f"| {row['sync_to_urllib3_same_bytes']:.2f}x | {row['sync_to_requests']:.2f}x | {a['httpx']:.3f} "
            f"| {a['httpx same bytes']:.3f} | {a['xacct']:.3f} | {row['async_to_httpx']:.2f}x "
            f"| {row['async_to_httpx_same_bytes']:.2f}x | {k['sync']:.2f} / {k['async']:.2f} |"
        )
    if soaked is not None:
        print(
            f"\nsoak: {soaked['calls']} calls from 100 tasks in {soaked['seconds']:.1f} s, {soaked['errors']} errors, "
            f"{soaked['refreshes']} sessions ({soaked['session_seconds']} s each) from {soaked['assume_role_calls']} "
            f"AssumeRole calls, {soaked['sessions_used']} sessions seen by the server"
        )
        for line in soaked["first_errors"]:
            print(f"  {line}")
    met = {
        "sync_at_least_0.8x_urllib3": all(row["sync_to_urllib3"] >= 0.8 for row in rows.values()),
        "async_at_least_0.9x_httpx_at_100": rows["100"]["async_to_httpx"] >= 0.9,
        "one_assume_role_per_lifetime": soaked is None
        or (soaked["errors"] == 0 and soaked["assume_role_calls"] == soaked["refreshes"]),
    }
    print("\n" + ", ".join(f"{goal}: {'met' if ok else 'NOT met'}" for goal, ok in met.items()))
    summary = {"requests": args.requests, "rounds": args.rounds, "rows": rows, "soak": soaked, "goals": met}
    print(f"results: {save('client_stack', summary)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
