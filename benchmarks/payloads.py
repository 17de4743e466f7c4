"""Payload hand-off: 1 MB, 25 MB and 100 MB round trips through the local gateway + S3 vs. the S3 floor.

A round trip sends N bytes and gets the same N bytes back (PUT /echo). Above the client's threshold (5 MiB by
default) it is four S3 transfers and two small signed requests: the client PUTs the request body, the API
server GETs it, PUTs the response body, and the client GETs it. 1 MB stays under the threshold and goes inline
through the gateway (no S3 at all): that row shows what the hand-off costs nothing for small bodies.

The floor: the same bytes PUT and then GET straight to the local S3, twice (once per direction), by one boto3
client with the same transfer settings (``xacct.payloads.upload`` / ``read_verified``: streamed, checksummed).
That is the least work any claim-check round trip of N bytes must do through this S3, so
``floor_seconds / handoff_seconds`` is the share of S3's own throughput the hand-off keeps (target >= 0.7).
The two are measured in one run, interleaved, on one machine: the ratio, not the seconds, is the figure.

Peak memory: the client and the API server each run in a separate process with ``tracemalloc`` (Python
allocations, reset before each round trip; the payload the client sends exists before the reset and is not
counted, the body it receives is). Target: each peak <= 1.5x the payload. The timed runs use a server process
without tracemalloc, so that tracing does not slow them.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from common import REGION, save
from xacct.local import LocalAws
from xacct.local.stacks import build_api

MB = 1024 * 1024
SECRET = "benchmark-origin-secret"  # noqa: S105  (a test value between two local processes)
HERE = Path(__file__).resolve().parent


# -- the API server (a separate process) ----------------------------------------------------------------------


def echo_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """PUT /echo streams the body back in 1 MiB pieces; GET /_peak reports (and resets) the traced peak."""
    if environ["PATH_INFO"] == "/_peak":
        peak = tracemalloc.get_traced_memory()[1] if tracemalloc.is_tracing() else 0
        if tracemalloc.is_tracing():
            tracemalloc.reset_peak()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"peak": peak}).encode()]
    source, left = environ["wsgi.input"], int(environ.get("CONTENT_LENGTH") or 0)

    def chunks() -> Iterator[bytes]:
        nonlocal left
        while left > 0 and (chunk := source.read(min(MB, left))):
            left -= len(chunk)
            yield chunk

    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return chunks()


def serve(bucket: str, trace: bool) -> None:
    """Run the server (credentials and endpoint from the environment) and print its port."""
    import boto3
    from werkzeug.serving import make_server

    from xacct.backend import PayloadBucket, WsgiMiddleware

    if trace:
        tracemalloc.start()
    invoke_roles = json.loads(os.environ["XACCT_BENCH_INVOKE_ROLES"])  # the two APIs' invoke roles (main() sets it)
    app = WsgiMiddleware(
        echo_app, invoke_roles=invoke_roles, origin_secret=SECRET, payloads=PayloadBucket(bucket, boto3.Session())
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    print(server.server_port, flush=True)
    server.serve_forever()


# -- the client (a separate process, for its memory) -------------------------------------------------------------


def client_memory(base_url: str, role_arn: str, session_name: str, bucket: str, sizes: list[int]) -> None:
    """One round trip per size with tracemalloc; prints {size: [client peak, server peak]} as JSON."""
    from xacct import ApiClient

    endpoint = os.environ["AWS_ENDPOINT_URL"]
    peaks: dict[int, list[int]] = {}
    with ApiClient(base_url, role_arn, endpoint_url=endpoint, session_name=session_name, payload_bucket=bucket) as api:
        api.put("/echo", data=os.urandom(6 * MB))  # warm up: credentials, connections, S3 clients on both sides
        api.get("/_peak")  # resets the server's peak
        tracemalloc.start()
        for size in sizes:
            body = os.urandom(size)
            tracemalloc.reset_peak()
            response = api.put("/echo", data=body)
            client_peak = tracemalloc.get_traced_memory()[1]
            assert len(response.content) == size
            del response, body
            server_peak = int(api.get("/_peak").json()["peak"])
            peaks[size] = [client_peak, server_peak]
    print(json.dumps(peaks), flush=True)


# -- the run ----------------------------------------------------------------------------------------------------


def start_server(env: dict[str, str], bucket: str, *, trace: bool) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, str(Path(__file__).resolve()), "--serve", bucket] + (["--trace"] if trace else [])
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    port = process.stdout.readline().strip()
    if not port.isdigit():
        process.kill()
        raise RuntimeError("the benchmark's API server did not start")
    return process, f"http://127.0.0.1:{port}"


def handoff_policy(bucket: str, role: str) -> str:
    """What modules/provider_api (payloads.tf) gives an invoke role."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["s3:PutObject", "s3:AbortMultipartUpload"],
                    "Resource": f"arn:aws:s3:::{bucket}/request/{role}/${{aws:userid}}/*",
                },
                {
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{bucket}/response/{role}/${{aws:userid}}/*",
                },
            ],
        }
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 MB and 6 MB once each: checks the benchmark runs")
    parser.add_argument("--serve", metavar="BUCKET", help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--client-memory", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.trace)
        return 0
    if args.client_memory:
        base_url, role_arn, session_name, bucket, sizes = args.client_memory
        client_memory(base_url, role_arn, session_name, bucket, [int(s) for s in sizes.split(",")])
        return 0

    sizes = [1 * MB, 6 * MB] if args.quick else [1 * MB, 25 * MB, 100 * MB]
    from xacct.payloads import PayloadReference, read_verified, upload

    started_run = time.perf_counter()
    with LocalAws(region=REGION) as aws:
        provider, consumer = "111111111111", "222222222222"
        bucket = f"xacct-bench-payloads-{provider}"
        root_s3 = aws.client("s3", provider)
        root_s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        server_env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
            **aws.env(provider, REGION),
            "XACCT_BENCH_INVOKE_ROLES": json.dumps(
                [f"arn:aws:iam::{account}:role/ApiInvoke" for account in (provider, "333333333333")]
            ),
        }
        processes = []
        try:
            timed_server, timed_url = start_server(server_env, bucket, trace=False)
            traced_server, traced_url = start_server(server_env, bucket, trace=True)
            processes = [timed_server, traced_server]
            parameters = {
                "overwrite:path": "$request.path",
                "overwrite:header.x-caller-arn": "$context.identity.userArn",
                "overwrite:header.x-caller-user-id": "$context.identity.user",
                "overwrite:header.x-route-key": "$context.routeKey",
                "overwrite:header.x-origin-verify": SECRET,
            }
            stacks = {}
            for name, url, (p, c) in (
                ("timed", timed_url, (provider, consumer)),
                ("traced", traced_url, ("333333333333", "444444444444")),
            ):
                stacks[name] = build_api(aws, p, c, url, request_parameters=parameters, region=REGION)
                if p != provider:  # the traced API's account writes into the same bucket: allow it there
                    root_s3.put_bucket_policy(
                        Bucket=bucket,
                        Policy=json.dumps(
                            {
                                "Version": "2012-10-17",
                                "Statement": [
                                    {
                                        "Effect": "Allow",
                                        "Principal": {"AWS": f"arn:aws:iam::{p}:root"},
                                        "Action": ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"],
                                        "Resource": f"arn:aws:s3:::{bucket}/*",
                                    }
                                ],
                            }
                        ),
                    )
                role = stacks[name].invoke_role_arn.rsplit("/", 1)[1]
                aws.client("iam", p).put_role_policy(
                    RoleName=role, PolicyName="PayloadHandoff", PolicyDocument=handoff_policy(bucket, role)
                )
            timed = stacks["timed"]
            session_name = f"{consumer}-xacct-bench"
            api = timed.client(session_name=session_name, payload_bucket=bucket)
            floor_s3 = aws.session(provider, REGION).client("s3")

            def handoff(body: bytes) -> None:
                response = api.put("/echo", data=body)
                assert len(response.content) == len(body)

            def floor(body: bytes) -> None:
                for direction in ("request", "response"):
                    key = f"floor/{direction}/{os.urandom(16).hex()}"
                    written = upload(floor_s3, bucket, key, body)  # hashes, as the hand-off's client does
                    reference = PayloadReference(bucket, key, written.length, written.sha256)
                    with read_verified(floor_s3, reference) as fetched:
                        while fetched.read(MB):
                            pass
                    floor_s3.delete_object(Bucket=bucket, Key=key)

            rows = []
            handoff(os.urandom(MB))  # warm up: credentials, connections
            floor(os.urandom(MB))
            for size in sizes:
                body = os.urandom(size)
                seconds = {"floor": 0.0, "handoff": 0.0}
                repeats = 1 if args.quick else 3 if size <= 25 * MB else 1
                for i in range(repeats):
                    order = ("floor", "handoff") if i % 2 == 0 else ("handoff", "floor")
                    for name in order:
                        started = time.perf_counter()
                        (floor if name == "floor" else handoff)(body)
                        seconds[name] += time.perf_counter() - started
                rows.append(
                    {
                        "size_mb": size // MB,
                        "floor_s": seconds["floor"] / repeats,
                        "handoff_s": seconds["handoff"] / repeats,
                        "throughput_ratio": seconds["floor"] / seconds["handoff"],
                    }
                )
                for listed in root_s3.list_objects_v2(Bucket=bucket).get("Contents", []):
                    root_s3.delete_object(Bucket=bucket, Key=listed["Key"])  # the local S3 keeps objects in memory
            api.close()

            traced = stacks["traced"]
            workload = traced.workload().get_credentials()
            assert workload is not None
            frozen = workload.get_frozen_credentials()
            client_env = {
                **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
                "AWS_ACCESS_KEY_ID": frozen.access_key,
                "AWS_SECRET_ACCESS_KEY": frozen.secret_key,
                "AWS_SESSION_TOKEN": frozen.token or "",
                "AWS_ENDPOINT_URL": aws.endpoint_url,
                "AWS_REGION": REGION,
                "AWS_EC2_METADATA_DISABLED": "true",
            }
            measured = subprocess.run(
                [
                    sys.executable,
                    str(Path(__file__).resolve()),
                    "--client-memory",
                    traced.base_url,
                    traced.invoke_role_arn,
                    f"{traced.consumer}-xacct-bench",
                    bucket,
                    ",".join(str(s) for s in sizes),
                ],
                env=client_env,
                capture_output=True,
                text=True,
                timeout=300,
                check=True,
            )
            peaks = {int(k): v for k, v in json.loads(measured.stdout.strip().splitlines()[-1]).items()}
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=10)

    for row in rows:
        size = row["size_mb"] * MB
        row["client_peak_mb"] = peaks[size][0] / MB
        row["server_peak_mb"] = peaks[size][1] / MB
        row["client_peak_ratio"] = peaks[size][0] / size
        row["server_peak_ratio"] = peaks[size][1] / size
    print(f"{'size':>7} {'floor s':>8} {'hand-off s':>10} {'ratio':>6} {'client peak':>12} {'server peak':>12}")
    for row in rows:
        print(
            f"{row['size_mb']:>4} MB {row['floor_s']:>8.3f} {row['handoff_s']:>10.3f} {row['throughput_ratio']:>5.2f}x "
            f"{row['client_peak_mb']:>7.1f} MB ({row['client_peak_ratio']:.2f}x) "
            f"{row['server_peak_mb']:>7.1f} MB ({row['server_peak_ratio']:.2f}x)"
        )
    print("ratio = floor seconds / hand-off seconds (target >= 0.7); peaks are Python allocations (target <= 1.5x)")
    path = save(
        "payloads",
        {
            "rows": rows,
            "run_seconds": time.perf_counter() - started_run,
            "floor": "PUT + GET of the same bytes straight to the local S3, once per direction",
        },
    )
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
