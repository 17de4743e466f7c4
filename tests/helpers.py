"""What several tests share: the repository root, waiting, closed ports, signing with botocore directly.

Plan expectations (tests/scenarios) and the one compare that checks them live in plan_checks.py; stacks, policy
documents and the Terraform runner are public in xacct.local (stacks, terraform).
"""

from __future__ import annotations

import datetime
import importlib.util
import json
import os
import re
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any
from unittest import mock

import uvicorn
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from werkzeug.serving import make_server

from xacct.client import ApiClient
from xacct.local import LocalAws
from xacct.local.stacks import REGION, allow
from xacct.local.stacks import trust as stack_trust

ROOT = Path(__file__).resolve().parents[1]


def load_tool(name: str) -> ModuleType:
    """tools/<name>.py as a module (tools/ holds scripts, not a package), loaded once."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up by name
        spec.loader.exec_module(module)
    return sys.modules[name]


def fenced(markdown: str, language: str, after: str) -> str:
    """The first ```<language> block after the text ``after`` in ``markdown``."""
    section = markdown.split(after, 1)[1]
    match = re.search(rf"```{language}\n(.*?)```", section, re.DOTALL)
    assert match is not None, f"no {language} block after {after!r}"
    return match.group(1)


def workload_client(aws: LocalAws, invoke_url: str, invoke_role_arn: str, workload_role_arn: str) -> ApiClient:
    """The consumer's client as a workload running as ``workload_role_arn`` makes it, against the local AWS."""
    return ApiClient(
        invoke_url,
        invoke_role_arn,
        source_session=aws.workload_session(workload_role_arn, region=REGION),
        endpoint_url=aws.endpoint_url,
        region=REGION,
    )


# -- waiting and ports ---------------------------------------------------------------------------------------


def consumer_workload_role(aws: LocalAws, account: str, provider: str, name: str) -> str:
    """A consumer's workload role (Lambda trusts it) allowed sts:AssumeRole on every role of ``provider``; its ARN.

    Made before the provider's apply: an invoke role's trust may only name a role that exists."""
    iam = aws.client("iam", account)
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=stack_trust(service=True))
    iam.put_role_policy(
        RoleName=name, PolicyName="assume", PolicyDocument=allow("sts:AssumeRole", f"arn:aws:iam::{provider}:role/*")
    )
    return f"arn:aws:iam::{account}:role/{name}"


def remove_role(aws: LocalAws, account: str, name: str) -> None:
    """Delete a role made by ``consumer_workload_role`` (its one inline policy first)."""
    iam = aws.client("iam", account)
    iam.delete_role_policy(RoleName=name, PolicyName="assume")
    iam.delete_role(RoleName=name)


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, read, released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- signing ----------------------------------------------------------------------------------------------


def botocore_signed(
    method: str,
    host: str,
    path: str,
    credentials: Mapping[str, str],
    *,
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
    region: str = REGION,
    service: str = "execute-api",
) -> dict[str, str]:
    """Headers for a request signed by botocore's SigV4Auth directly: the independent signer."""
    request = AWSRequest(method=method, url=f"https://{host}{path}", data=body, headers=dict(headers or {}))
    SigV4Auth(
        Credentials(credentials["key"], credentials["secret"], credentials.get("token")), service, region
    ).add_auth(request)
    return {**dict(request.headers.items()), "Host": host}


# -- the README's API server apps (examples/backend), served on 127.0.0.1 ------------------------------------


def load_example(name: str, origin_secret: str, invoke_role_arns: dict[str, str]) -> ModuleType:
    """examples/backend/<name>.py as a fresh module, with XACCT_ORIGIN_SECRET and XACCT_INVOKE_ROLE_ARNS set as its
    deployment would."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", ROOT / "examples" / "backend" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    env = {"XACCT_ORIGIN_SECRET": origin_secret, "XACCT_INVOKE_ROLE_ARNS": json.dumps(invoke_role_arns)}
    with mock.patch.dict(os.environ, env):
        spec.loader.exec_module(module)
    return module


def serve_flask(app: Any) -> tuple[str, Callable[[], None]]:
    """werkzeug's threaded server on 127.0.0.1 (a free port)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()

    return f"http://127.0.0.1:{server.server_port}", stop


def serve_fastapi(app: Any) -> tuple[str, Callable[[], None]]:
    """uvicorn on 127.0.0.1 (a socket bound to a free port), lifespan on."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)

    def stop() -> None:
        server.should_exit = True
        thread.join(10)
        sock.close()

    return f"http://127.0.0.1:{sock.getsockname()[1]}", stop


def private_ca(folder: Path, *, san: bool = True) -> tuple[Path, ssl.SSLContext]:
    """A CA and a certificate for localhost (not 127.0.0.1) it signed: (CA file, the server's TLS context).
    ``san=False``: the certificate names localhost in its common name only (no subjectAltName)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "xacct test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName("localhost")]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName(names if san else [x509.DNSName("san.invalid")]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_file, cert_file, key_file = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return ca_file, context
