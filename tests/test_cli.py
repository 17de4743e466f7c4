"""`xacct` as a user runs it: a subprocess, credentials from the environment, exit codes like curl's."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import re
import shlex
import shutil
import signal
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.credentials import Credentials

from xacct import IamAuth
from xacct import __version__ as xacct_version
from xacct.cli import build_parser, in_cli_words, print_response
from xacct.client import TOO_LARGE_ADVICE
from xacct.local import LocalAws
from xacct.local.echo_server import EchoServer
from xacct.local.stacks import ApiStack, allow, build_api, trust
from xacct.status import ExitStatus

from helpers import REGION, ROOT, closed_port

XACCT = str(Path(sys.executable).parent / "xacct")


@pytest.fixture(scope="module")
def stack(local_aws: LocalAws, echo: EchoServer, new_account: Callable[[], str]) -> ApiStack:
    """One API for the module: no test changes it, and building it costs ~1 s."""
    return build_api(
        local_aws,
        new_account(),
        new_account(),
        echo.url,
        routes=("ANY /{proxy+}",),
        resources=("*/hoge", "GET/items/*"),
    )


def environment(local_aws: LocalAws, workload: boto3.Session) -> dict[str, str]:
    """The workload's credentials in the environment, as inside a Lambda function; STS is the local AWS."""
    credentials = workload.get_credentials()
    assert credentials is not None
    frozen = credentials.get_frozen_credentials()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "XACCT_"))}
    env.update(
        AWS_ACCESS_KEY_ID=frozen.access_key,
        AWS_SECRET_ACCESS_KEY=frozen.secret_key,
        AWS_SESSION_TOKEN=frozen.token or "",
        AWS_ENDPOINT_URL=local_aws.endpoint_url,
        AWS_REGION=REGION,
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env


@contextlib.contextmanager
def started(args: list[str], *, ignore_sigint: bool = False, **popen: Any) -> Iterator[subprocess.Popen[bytes]]:
    """``xacct args`` as a child process with SIGINT at its default (or ignored, as a background job of a
    non-interactive shell has it), whatever this test process inherited; killed at the end if still running, so that
    no test leaves a server behind however it is launched (issue 19: run with SIGINT ignored, tests failed and left an
    `xacct local up --host 0.0.0.0` listening)."""
    disposition = signal.SIG_IGN if ignore_sigint else signal.SIG_DFL
    process = subprocess.Popen(
        [XACCT, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, disposition),
        **popen,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()  # SIGTERM: it stops as on Ctrl-C; SIGKILL if it has not within 10 s
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        process.communicate(timeout=20)


def xacct(
    args: list[str], env: dict[str, str] | None = None, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([XACCT, *args], env=env, input=stdin, capture_output=True, timeout=60, check=False)


def call(local_aws: LocalAws, stack: ApiStack, method: str, path: str, *extra: str) -> list[str]:
    return [
        "call",
        method,
        f"https://{stack.host}{path}",
        "--role-arn",
        stack.invoke_role_arn,
        "--endpoint-url",
        local_aws.endpoint_url,
        *extra,
    ]


def test_the_seeds_call(local_aws: LocalAws, stack: ApiStack) -> None:
    result = xacct(
        call(local_aws, stack, "PUT", "/hoge", "-d", '{"foo":"bar"}'), environment(local_aws, stack.workload())
    )
    assert result.returncode == 0, result.stderr
    echo = json.loads(result.stdout)
    assert (echo["method"], echo["path"], echo["body"]) == ("PUT", "/hoge", '{"foo":"bar"}')
    assert echo["headers"]["content-type"] == "application/json"
    assert echo["caller"]["arn"].startswith(f"arn:aws:sts::{stack.provider}:assumed-role/ApiInvoke/")
    assert result.stderr == b""


def test_the_body_is_written_byte_for_byte(local_aws: LocalAws, stack: ApiStack, tmp_path: Path) -> None:
    """Into a file or a pipe, the body exactly as received: `> file.bin` is the download (no newline added)."""
    env = environment(local_aws, stack.workload())
    result = xacct(call(local_aws, stack, "GET", "/hoge", "-i"), env)
    assert result.returncode == 0, result.stderr
    head, _, body = result.stdout.partition(b"\r\n\r\n")
    length = next(line for line in head.decode().splitlines() if line.lower().startswith("content-length:"))
    assert len(body) == int(length.split(":", 1)[1])
    assert not body.endswith(b"\n")


def test_version() -> None:
    result = xacct(["--version"])
    assert (result.returncode, result.stdout.decode().strip()) == (0, f"xacct {xacct_version}")


def test_terraform_setup_prints_the_export_line(tmp_path: Path) -> None:
    """stdout is the one line that makes Terraform by hand use the project's CLI config (eval "$(...)")."""
    result = xacct(["terraform-setup"])
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.decode().splitlines()
    assert line.startswith("export TF_CLI_CONFIG_FILE=")
    assert Path(shlex.split(line.partition("=")[2])[0]).is_file()


def test_include_headers_body_from_file_stdin_and_extra_headers(
    local_aws: LocalAws, stack: ApiStack, tmp_path: Path
) -> None:
    env = environment(local_aws, stack.workload())
    (tmp_path / "body.json").write_text('{"from":"file"}')
    result = xacct(
        call(local_aws, stack, "PUT", "/hoge", "-d", f"@{tmp_path / 'body.json'}", "-i", "-H", "X-Team: orders"), env
    )
    assert result.returncode == 0, result.stderr
    head, _, body = result.stdout.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"apigw-requestid: " in head.lower()
    echo = json.loads(body)
    assert (echo["body"], echo["headers"]["x-team"]) == ('{"from":"file"}', "orders")

    piped = xacct(
        call(local_aws, stack, "POST", "/hoge", "-d", "@-", "-H", "Idempotency-Key: k1"), env, stdin=b"plain text"
    )
    assert piped.returncode == 0, piped.stderr
    assert json.loads(piped.stdout)["body"] == "plain text"


def test_query_and_path_from_the_url(local_aws: LocalAws, stack: ApiStack) -> None:
    result = xacct(
        call(local_aws, stack, "GET", "/items/a%20b?k=2&k=1&q=x%2By&s=c+d"), environment(local_aws, stack.workload())
    )
    assert result.returncode == 0, result.stderr
    echo = json.loads(result.stdout)
    assert echo["path"] == "/items/a b"
    # A typed "+" is a space, as API Gateway reads the query; "%2B" is the plus.
    assert sorted(map(tuple, echo["query"])) == [("k", "1"), ("k", "2"), ("q", "x+y"), ("s", "c d")]


def test_http_errors_exit_22_with_the_body(local_aws: LocalAws, stack: ApiStack) -> None:
    result = xacct(call(local_aws, stack, "DELETE", "/items/7"), environment(local_aws, stack.workload()))
    assert result.returncode == 22
    assert json.loads(result.stdout)["message"].startswith("User: arn:aws:sts::")
    # What happened, then what AWS said and what to do, a line each (issue 19: one ~500-character line).
    first, said, advice = result.stderr.decode().splitlines()
    assert (
        first
        == "xacct call: 403 from API Gateway (not_authorized): the invoke role ApiInvoke may not call DELETE /items/7"
    )
    assert said.startswith("  AWS said: User: arn:aws:sts::")
    assert advice.startswith("  What to do: ")


def test_assume_role_denied_exits_1_saying_what_to_check(local_aws: LocalAws, stack: ApiStack) -> None:
    """Issue 19: a short first line, then what AWS said and what to check, each on a line of its own; a mistyped
    role looks like a refusal (AWS answers AccessDenied for both), so the roles its own policy allows are listed."""
    iam = local_aws.client("iam", stack.consumer)
    iam.create_role(RoleName="Stranger", AssumeRolePolicyDocument=trust(service=True))
    typo = stack.invoke_role_arn + "Typo"
    iam.put_role_policy(
        RoleName="Stranger", PolicyName="a", PolicyDocument=allow("sts:AssumeRole", stack.invoke_role_arn)
    )
    iam.put_role_policy(
        RoleName="Stranger",
        PolicyName="read-own",
        PolicyDocument=allow("iam:*", f"arn:aws:iam::{stack.consumer}:role/Stranger"),
    )
    stranger = local_aws.workload_session(f"arn:aws:iam::{stack.consumer}:role/Stranger")
    args = call(local_aws, stack, "GET", "/hoge")
    args[args.index(stack.invoke_role_arn)] = typo
    result = xacct(args, environment(local_aws, stranger))
    assert result.returncode == 1
    first, *rest = result.stderr.decode().splitlines()
    assert first.startswith(f"xacct call: AssumeRole denied: arn:aws:sts::{stack.consumer}:assumed-role/Stranger/")
    assert len(first) < 300
    assert all(len(line) < 400 for line in rest)
    assert rest[0].startswith("  AWS said: ")
    assert any("AWS answers the same AccessDenied for a role that does not exist" in line for line in rest)
    assert any(f"your own policies allow assuming: {stack.invoke_role_arn})" in line for line in rest)
    assert result.stdout == b""


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["call", "GET", "https://x.example.com/"], "the following arguments are required: --role-arn"),
        (["call", "GET", "x.example.com/hoge", "--role-arn", "arn:aws:iam::1:role/x"], "must be http(s)://host/path"),
        (
            ["call", "GET", "https://x.example.com/", "--role-arn", "r", "-H", "NoColon"],
            "-H 'NoColon' is not 'Name: value'",
        ),
        (
            ["call", "GET", "https://x.example.com/", "--role-arn", "r", "-d", "@/nonexistent/file"],
            "-d @/nonexistent/file",
        ),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (
            ["call", "PUTT", "https://x.example.com/", "--role-arn", "r"],
            "'PUTT' is not an HTTP API method; expected one of DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT",
        ),
        (
            ["call", "GET", "https://x.example.com/", "--role-arn", "r", "--region", "tokyo"],
            "'tokyo' is not an AWS region name; expected e.g. ap-northeast-1",
        ),
        (
            [
                "call",
                "GET",
                "https://a1.execute-api.us-east-1.amazonaws.com/",
                "--role-arn",
                "r",
                "--region",
                "eu-west-1",
            ],
            "--region 'eu-west-1' contradicts the URL, whose execute-api host is in us-east-1",
        ),
        # Every --region is checked before anything is sent (issue 19).
        (
            ["access", "report", "--api-id", "abc", "--region", "tokyo"],
            "argument --region: 'tokyo' is not an AWS region name; expected e.g. ap-northeast-1",
        ),
        (["local", "up", "--port", "0", "--region", "Tokyo"], "argument --region: 'Tokyo' is not an AWS region name"),
        (["demo", "--region", "ap_northeast_1"], "argument --region: 'ap_northeast_1' is not an AWS region name"),
        (
            ["local", "credentials", "arn:aws:iam::222222222222:role/W", "--region", "x"],
            "argument --region: 'x' is not an AWS region name",
        ),
    ],
)
def test_usage_errors_exit_2_with_one_line(args: list[str], fragment: str) -> None:
    result = xacct(args)
    assert result.returncode == 2
    (line,) = result.stderr.decode().splitlines()
    assert fragment in line


def test_help_shows_the_seeds_call() -> None:
    result = xacct(["call", "--help"])
    assert result.returncode == 0
    text = result.stdout.decode()
    assert 'xacct call PUT https://server.stag.foo.example.com/hoge -d \'{"foo":"bar"}\'' in text
    assert (
        "\nexit status (the reason goes to stderr: one line, then what to check where there is more to say):\n"
        "    0  success" in text
    )


def test_every_example_in_the_help_runs_as_pasted(tmp_path: Path) -> None:
    """Issue 19: the help said `make demo --keep` (make reads --keep as its own --keep-going and runs the demo that
    destroys everything), hard-coded the local AWS's port, and an example had lost its line continuation. Every
    example is pasted into bash as it is (set -euo pipefail: no syntax error, no unset variable), with `xacct` a
    function that records its arguments, which the parser then accepts as a full call."""
    text = xacct(["call", "--help"]).stdout.decode()
    examples = text.split("\nexamples:\n", 1)[1].split("\nexit status", 1)[0]
    assert "make demo ARGS=--keep" in examples
    assert "demo --keep" not in examples.replace("make demo ARGS=--keep", "")
    assert "4566" not in examples
    record = 'xacct() { printf \'%s\\0\' "$@" > "$(mktemp call.XXXXXX)"; }'
    assert BASH is not None
    result = subprocess.run(
        [BASH, "--norc", "--noprofile", "-c", f"set -euo pipefail\n{record}\n{examples}"],
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, "")
    typed = [line for line in examples.splitlines() if re.match(r"^\s*(?:[^#].*\| )?xacct call ", line)]
    calls = [path.read_text().split("\0")[:-1] for path in sorted(tmp_path.glob("call.*"))]
    assert len(calls) == len(typed) > 5
    parser = build_parser()
    for args in calls:
        parsed = parser.parse_args(args)
        assert parsed.command == "call"
        assert re.fullmatch(r"https://[a-z0-9.-]+\.[a-z]+/\S*", parsed.url), args
        assert re.fullmatch(r"arn:aws:iam::\d{12}:role/\w+", parsed.role_arn), args
        assert not any("..." in arg or "<" in arg for arg in args), args


# -- completions: generated from the parser ---------------------------------------------------------------------

BASH = shutil.which("bash")


def complete_in_bash(*lines: str, path: str = "/usr/bin:/bin") -> list[str]:
    """What bash offers for each command line (cursor at the end), in a shell with no rc files: no bash-completion."""
    driver = [
        'eval "$(' + XACCT + ' completion bash)"',
        "complete -p xacct",
        "type _init_completion >/dev/null 2>&1 && echo HAS-BASH-COMPLETION",
    ]
    for line in lines:
        driver += [
            f"read -ra COMP_WORDS <<< {line!r}",
            "[[ " + repr(line) + " == *' ' ]] && COMP_WORDS+=('')",
            "COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=()",
            '_shtab_xacct; echo "${COMPREPLY[*]}"',
        ]
    assert BASH is not None
    result = subprocess.run(
        [BASH, "--norc", "--noprofile", "-c", "\n".join(driver)],
        env={"PATH": path, "HOME": "/nonexistent"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout.splitlines()


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
def test_bash_completion_works_without_the_bash_completion_package() -> None:
    registered, *offered = complete_in_bash(
        "xacct ",
        "xacct ca",
        "xacct call ",
        "xacct call PUT https://x/hoge --r",
        "xacct call PUT https://x/hoge --role-arn arn -",
        "xacct completion ",
        "xacct local ",
        "xacct demo --",
    )
    assert registered == "complete -o bashdefault -F _shtab_xacct xacct"  # and no HAS-BASH-COMPLETION line
    assert offered[0].split() == ["call", "access", "consumers", "local", "demo", "terraform-setup", "completion"]
    assert offered[1] == "call"
    assert offered[2] == "DELETE GET HEAD OPTIONS PATCH POST PUT"
    assert offered[3] == "--role-arn --region"
    assert {"--data", "--header", "--external-id", "--profile", "--endpoint-url", "--max-time", "--debug"} <= set(
        offered[4].split()
    )
    assert offered[5:] == ["bash zsh fish", "up credentials", "--help --keep --port --region"]


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
def test_bash_offers_the_profiles_the_aws_cli_lists(tmp_path: Path) -> None:
    # The AWS CLI is not installed here: a stand-in prints what `aws configure list-profiles` prints.
    aws = tmp_path / "aws"
    aws.write_text('#!/bin/sh\n[ "$*" = "configure list-profiles" ] && printf "default\\nstag\\ndeve\\n"\n')
    aws.chmod(0o755)
    _, offered = complete_in_bash("xacct call GET https://x/ --profile ", path=f"{tmp_path}:/usr/bin:/bin")
    assert offered == "default stag deve"


def _options(parser: Any) -> dict[str, set[str]]:
    """Every subcommand path ('call', 'local up', ...) with its long options, read from the parser itself."""
    found: dict[str, set[str]] = {}

    def walk(current: Any, path: str) -> None:
        found[path] = {o for a in current._actions for o in a.option_strings if o.startswith("--")}
        for action in current._actions:
            for name, child in (action.choices or {}).items() if isinstance(action.choices, dict) else []:
                walk(child, f"{path} {name}".strip())

    walk(parser, "")
    return found


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_every_subcommand_and_option_is_in_each_script(shell: str) -> None:
    """Without zsh or fish installed here, this is what is checked for them: the script covers the whole parser."""
    result = xacct(["completion", shell])
    assert result.returncode == 0
    script = result.stdout.decode()
    for path, options in _options(build_parser()).items():
        for word in [*path.split(), *options]:
            if shell == "fish" and word.startswith("--"):
                word = f"-l {word[2:]}"
            assert word in script, (path, word)
    first = {"bash": "# AUTOMATICALLY GENERATED by https://github.com/tqdm/shtab", "zsh": "#compdef xacct"}
    assert script.splitlines()[0] == first.get(shell, first["bash"])
    assert "DELETE GET HEAD OPTIONS PATCH POST PUT" in script


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed on this machine")
def test_zsh_completion_loads() -> None:
    zsh = shutil.which("zsh")
    assert zsh is not None
    script = xacct(["completion", "zsh"]).stdout.decode()
    assert subprocess.run([zsh, "-n"], input=script, text=True, capture_output=True, check=False).returncode == 0
    loaded = subprocess.run(
        [
            zsh,
            "-f",
            "-c",
            f'autoload -U compinit && compinit -u && eval "$({XACCT} completion zsh)" && print $_comps[xacct]',
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert loaded.stdout.strip() == "_shtab_xacct", loaded.stderr


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed on this machine")
def test_fish_completion_completes() -> None:
    fish = shutil.which("fish")
    assert fish is not None
    result = subprocess.run(
        [
            fish,
            "--no-config",
            "-c",
            f'{XACCT} completion fish | source; complete -C "xacct ca"; complete -C "xacct call "',
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    offered = [line.split("\t")[0] for line in result.stdout.splitlines()]
    assert "call" in offered
    assert {"GET", "PUT", "DELETE"} <= set(offered)


# -- exit statuses, messages in the CLI's words, the URL as typed ----------------------------------------------


def test_the_help_and_the_readme_list_every_exit_status_and_subcommand() -> None:
    help_text = xacct(["call", "--help"]).stdout.decode()
    readme = (ROOT / "README.md").read_text()
    for status in ExitStatus:
        assert re.search(rf"^\s+{status.value}  {re.escape(status.meaning)}$", help_text, re.M), status
        assert re.search(rf"^\| `{status.value}` \| `{status.name}` \|", readme, re.M), status
    for path in _options(build_parser()):
        if path:
            assert f"| `xacct {path}" in readme, path


BINARY = bytes(range(256)) * 4096  # 1 MiB, every byte value, ending without a newline


class _Upstream(BaseHTTPRequestHandler):
    """Answers with the next status of ``statuses`` (then 200), after ``delay`` seconds; counts the requests."""

    protocol_version = "HTTP/1.1"
    statuses: list[int]
    delay: float
    requests: list[str]

    def do_GET(self) -> None:
        self.requests.append(self.path)
        time.sleep(self.delay)
        status = self.statuses.pop(0) if self.statuses else 200
        body = json.dumps({"status": status}).encode() * (40_000 if "big" in self.path else 1)
        if self.path.startswith("/files/"):
            body = BINARY if self.path.endswith(".bin") else b"text without a final newline"
        if self.path == "/echo":  # a server that echoes what it was sent, as API Gateway's signature mismatch does
            body = f"bad request: x-amz-security-token:{self.headers['x-amz-security-token']}".encode()
        try:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout, Ctrl-C, a closed pipe)
            return

    def log_message(self, *args: Any) -> None:  # noqa: ARG002  (quiet)
        return None


@pytest.fixture
def upstream() -> Iterator[tuple[str, type[_Upstream]]]:
    """A loopback server standing in for the gateway (given as --endpoint-url); it checks no signature."""
    handler = type("Handler", (_Upstream,), {"statuses": [], "delay": 0.0, "requests": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()


def one_line(result: subprocess.CompletedProcess[bytes]) -> str:
    (line,) = result.stderr.decode().splitlines()
    return line


def test_http_errors_after_retries_say_how_many_attempts_and_the_typed_url(
    local_aws: LocalAws, stack: ApiStack, upstream: tuple[str, type[_Upstream]]
) -> None:
    url, handler = upstream
    handler.statuses = [503, 503, 503]
    typed = f"https://{stack.host}/r?b=2&a=1"
    env = environment(local_aws, stack.workload())
    result = xacct(["call", "GET", typed, "--role-arn", stack.invoke_role_arn, "--endpoint-url", url], env)
    assert result.returncode == ExitStatus.HTTP_ERROR == 22
    assert json.loads(result.stdout) == {"status": 503}
    line = one_line(result)
    assert line.startswith(f"xacct call: GET {typed} -> 503 Service Unavailable after 3 attempts")
    assert "127.0.0.1" not in line
    assert len(handler.requests) == 3


def test_debug_logs_retries_and_the_assume_role_without_secrets(
    local_aws: LocalAws, stack: ApiStack, upstream: tuple[str, type[_Upstream]]
) -> None:
    url, handler = upstream
    handler.statuses = [502]
    env = environment(local_aws, stack.workload())
    result = xacct(
        [
            "call",
            "GET",
            f"https://{stack.host}/r",
            "--role-arn",
            stack.invoke_role_arn,
            "--endpoint-url",
            url,
            "--debug",
        ],
        env,
    )
    assert result.returncode == 0, result.stderr
    log = result.stderr.decode()
    assert f"xacct: assumed {stack.invoke_role_arn}: new session expires " in log
    assert f"xacct: GET https://{stack.host}/r: attempt 1 of 3 got 502; retrying in " in log
    for name in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        assert env[name] not in log
    assert "Signature=" not in log
    assert "botocore" not in log  # only xacct's loggers are turned up


def test_max_time_bounds_the_call_and_exits_28(
    local_aws: LocalAws, stack: ApiStack, upstream: tuple[str, type[_Upstream]]
) -> None:
    url, handler = upstream
    handler.delay = 5.0
    started = time.monotonic()
    result = xacct(
        [
            "call",
            "GET",
            f"https://{stack.host}/slow",
            "--role-arn",
            stack.invoke_role_arn,
            "--endpoint-url",
            url,
            "--max-time",
            "0.5",
        ],
        environment(local_aws, stack.workload()),
    )
    assert time.monotonic() - started < 5.0
    assert result.returncode == ExitStatus.TIMEOUT == 28
    line = one_line(result)
    assert line.startswith(f"xacct call: GET https://{stack.host}/slow: no answer from 127.0.0.1:")
    assert line.endswith(f"(--endpoint-url {url}); 1 attempt, stopped by the 0.5 s total_timeout")


def test_unresolvable_host_exits_7_with_the_typed_url(local_aws: LocalAws, stack: ApiStack) -> None:
    typed = "https://api.xacct-test.invalid/v1/hoge?x=1"
    result = xacct(
        ["call", "GET", typed, "--role-arn", stack.invoke_role_arn, "--region", REGION],
        environment(local_aws, stack.workload()),
    )
    assert result.returncode == ExitStatus.CONNECTION_FAILED == 7
    assert one_line(result) == (
        f"xacct call: GET {typed}: cannot resolve the host name 'api.xacct-test.invalid' (DNS); 3 attempts"
    )
    assert b"Traceback" not in result.stderr


def test_refused_connection_exits_7_naming_the_url_and_the_endpoint(local_aws: LocalAws, stack: ApiStack) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    result = xacct(
        ["call", "GET", f"https://{stack.host}/hoge", "--role-arn", stack.invoke_role_arn, "--endpoint-url", endpoint],
        environment(local_aws, stack.workload()),
    )
    assert result.returncode == 7
    line = one_line(result)
    assert line.startswith(f"xacct call: GET https://{stack.host}/hoge: connection refused by ")
    assert line.endswith(f"(--endpoint-url {endpoint}); 3 attempts")


def _bare_environment(tmp_path: Path) -> dict[str, str]:
    """No AWS settings at all: no region, no credentials, empty config files."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "XACCT_"))}
    (tmp_path / "config").write_text("")
    env.update(
        AWS_CONFIG_FILE=str(tmp_path / "config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "config"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env


@pytest.mark.parametrize(
    ("extra", "status", "message"),
    [
        (
            ["https://server.stag.foo.example.com/hoge"],
            ExitStatus.USAGE,
            "cannot tell the API's region from 'server.stag.foo.example.com': pass --region "
            "(consumer_config.region in the provider's outputs)",
        ),
        (
            ["https://abc.execute-api.ap-northeast-1.amazonaws.com/hoge", "--profile", "nope"],
            ExitStatus.USAGE,
            "--profile 'nope' is not in the AWS config files (aws configure list-profiles)",
        ),
        (
            ["https://abc.execute-api.ap-northeast-1.amazonaws.com/hoge", "--endpoint-url", "localhost:4566"],
            ExitStatus.USAGE,
            "--endpoint-url 'localhost:4566' must be http(s)://host:port (e.g. the local AWS)",
        ),
        (
            ["http://api.example.com/hoge", "--region", "ap-northeast-1"],
            ExitStatus.USAGE,
            "refusing to sign for http://api.example.com: plain http:// to a host other than this machine would "
            "expose the signed request and its session token on the network\n"
            "  Use the API's https:// URL (its invoke_url), a loopback host (127.0.0.1, ::1, localhost) for local "
            "testing, or set --endpoint-url to send the bytes to an emulator explicitly.",
        ),
        (
            ["https://abc.execute-api.ap-northeast-1.amazonaws.com/hoge"],
            ExitStatus.ERROR,
            "no AWS credentials to assume arn:aws:iam::111111111111:role/Api with: run inside the workload's role "
            "(Lambda/ECS), or set AWS_PROFILE / AWS_ACCESS_KEY_ID, or pass --profile",
        ),
    ],
)
def test_client_errors_in_the_clis_words(tmp_path: Path, extra: list[str], status: ExitStatus, message: str) -> None:
    result = xacct(
        ["call", "GET", *extra, "--role-arn", "arn:aws:iam::111111111111:role/Api"], _bare_environment(tmp_path)
    )
    assert result.returncode == status
    assert result.stderr.decode() == f"xacct call: {message}\n"


def test_a_bad_role_arn_is_named_as_the_option(tmp_path: Path) -> None:
    result = xacct(
        ["call", "GET", "https://abc.execute-api.ap-northeast-1.amazonaws.com/", "--role-arn", "arn:aws:iam::1:role/x"],
        _bare_environment(tmp_path),
    )
    assert result.returncode == 2
    assert one_line(result).startswith("xacct call: --role-arn 'arn:aws:iam::1:role/x' is not an IAM role ARN")


def test_parameter_names_are_rewritten_only_where_they_name_a_parameter() -> None:
    assert in_cli_words("if the provider set an external id for this role, pass external_id=...") == (
        "if the provider set an external id for this role, pass --external-id"
    )
    assert in_cli_words("region='tokyo' is not an AWS region name; leave region=... out") == (
        "--region 'tokyo' is not an AWS region name; leave --region out"
    )
    unchanged = (
        "the external id must equal the provider's invoke_roles[...].external_id; the region of invoke_role_arns"
    )
    assert in_cli_words(unchanged) == unchanged


def test_a_binary_download_is_the_file_byte_for_byte(
    local_aws: LocalAws, stack: ApiStack, upstream: tuple[str, type[_Upstream]], tmp_path: Path
) -> None:
    """Issue 19: `xacct call ... > file.bin` wrote 1,048,577 bytes for 1 MiB (a newline after every body)."""
    url, _ = upstream
    env = environment(local_aws, stack.workload())
    target = tmp_path / "download.bin"
    args = ["call", "GET", f"https://{stack.host}/files/x.bin", "--role-arn", stack.invoke_role_arn]
    with target.open("wb") as out:
        result = subprocess.run(
            [XACCT, *args, "--endpoint-url", url], env=env, stdout=out, stderr=subprocess.PIPE, timeout=60, check=False
        )
    assert (result.returncode, result.stderr) == (0, b"")
    assert target.read_bytes() == BINARY


def test_on_a_terminal_a_text_body_ends_its_line(
    local_aws: LocalAws, stack: ApiStack, upstream: tuple[str, type[_Upstream]]
) -> None:
    """On a terminal only, a body without a final newline gets one, so that the prompt starts on its own line."""
    url, _ = upstream
    env = environment(local_aws, stack.workload())
    args = ["call", "GET", f"https://{stack.host}/files/x.txt", "--role-arn", stack.invoke_role_arn]
    leader, follower = pty.openpty()
    termios.tcsetattr(follower, termios.TCSANOW, _raw(termios.tcgetattr(follower)))
    try:
        result = subprocess.run(
            [XACCT, *args, "--endpoint-url", url],
            env=env,
            stdout=follower,
            stderr=subprocess.PIPE,
            timeout=60,
            check=False,
        )
        os.close(follower)
        received = b""
        with contextlib.suppress(OSError):  # EIO once the terminal has no writer left
            while chunk := os.read(leader, 4096):
                received += chunk
    finally:
        os.close(leader)
    assert (result.returncode, result.stderr) == (0, b"")
    assert received == b"text without a final newline\n"


def _raw(attributes: list[Any]) -> list[Any]:
    """Terminal attributes without output processing (no \\n -> \\r\\n): the bytes as written."""
    attributes[1] &= ~termios.OPOST
    return attributes


def test_a_closed_pipe_ends_quietly(
    local_aws: LocalAws, stack: ApiStack, upstream: tuple[str, type[_Upstream]], tmp_path: Path
) -> None:
    url, _ = upstream
    env = environment(local_aws, stack.workload())
    command = " ".join(
        [XACCT, "call", "GET", f"https://{stack.host}/big", "--role-arn", stack.invoke_role_arn, "--endpoint-url", url]
    )
    assert BASH is not None
    result = subprocess.run(
        [BASH, "-c", f'set -o pipefail; {command} 2>{tmp_path / "stderr"} | head -c1; echo " ${{PIPESTATUS[0]}}"'],
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    # One byte of the 600 kB body, then xacct's exit status: 1 when a write met the closed pipe, 0 when the pipe had
    # taken every byte before the reader left (this machine's pipes hold more than 600 kB); never a traceback.
    assert result.stdout in (b"{ 1\n", b"{ 0\n")
    assert (tmp_path / "stderr").read_text() == ""


def test_ctrl_c_exits_130_without_a_traceback(
    local_aws: LocalAws, stack: ApiStack, upstream: tuple[str, type[_Upstream]]
) -> None:
    url, handler = upstream
    handler.delay = 10.0
    args = ["call", "GET", f"https://{stack.host}/slow", "--role-arn", stack.invoke_role_arn, "--endpoint-url", url]
    with started(args, env=environment(local_aws, stack.workload())) as process:
        deadline = time.monotonic() + 30
        while not handler.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    assert process.returncode == ExitStatus.INTERRUPTED == 130
    assert (out, err) == (b"", b"")


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_local_up_serves_and_prints_how_to_use_it(stop: signal.Signals) -> None:
    # Started as a background job of a non-interactive shell would be: with SIGINT ignored.
    with started(["local", "up", "--port", "0"], ignore_sigint=True) as process:
        assert process.stdout is not None
        lines = []
        try:
            for raw in process.stdout:
                lines.append(raw.decode().rstrip())
                if lines[-1].startswith("export XACCT_ENDPOINT_URL="):
                    break
            endpoint = lines[-1].split("=", 1)[1]
            assert f"export AWS_ENDPOINT_URL={endpoint}" in lines
            assert "export AWS_ACCESS_KEY_ID=111111111111" in lines
            assert any(line.startswith("export TF_CLI_CONFIG_FILE=") for line in lines)
            sts = boto3.client(
                "sts",
                endpoint_url=endpoint,
                region_name=REGION,
                aws_access_key_id="333333333333",
                aws_secret_access_key="x",
            )
            assert sts.get_caller_identity()["Arn"] == "arn:aws:iam::333333333333:root"
        finally:
            process.send_signal(stop)
            out, _ = process.communicate(timeout=20)
    assert process.returncode == 0
    assert b"stopped" in out


@pytest.mark.parametrize("ignore_sigint", [False, True])
def test_local_up_beyond_loopback_warns_and_stops_on_ctrl_c(ignore_sigint: bool) -> None:
    """Ctrl-C stops it at once, even sent before it waits and with SIGINT inherited ignored (the CLI installs its own
    handler first thing)."""
    args = ["local", "up", "--port", "0", "--host", "0.0.0.0"]  # noqa: S104  (the case under test)
    with started(args, ignore_sigint=ignore_sigint) as process:
        assert process.stderr is not None
        warning = process.stderr.readline().decode()
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=20)
    assert warning.startswith("WARNING: the local AWS listens on 0.0.0.0, not on a loopback address")
    assert process.returncode in (0, ExitStatus.INTERRUPTED)


def test_an_error_body_is_printed_without_the_session_token(
    local_aws: LocalAws, stack: ApiStack, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """A signature-mismatch 403 from the gateway echoes the canonical request; what `xacct call` prints does not."""
    creds = stack.invoke_credentials()
    response = requests.get(
        f"{local_aws.endpoint_url}/hoge",
        headers={"Host": stack.host},
        auth=IamAuth(Credentials(creds["key"], "not-the-secret", creds["token"]), REGION),
        timeout=10,
    )
    assert response.status_code == 403
    assert creds["token"] in response.text
    print_response(response, include=True, redacted=True)
    out = capsysbinary.readouterr().out
    assert b"x-amz-security-token:<redacted>" in out
    assert creds["token"].encode() not in out


def test_refused_source_credentials_say_to_refresh_them(local_aws: LocalAws, stack: ApiStack) -> None:
    """Issue 19: STS's InvalidClientTokenId / ExpiredToken for the credentials that call AssumeRole said nothing of
    what to do."""
    env = environment(local_aws, stack.workload())
    env["AWS_ACCESS_KEY_ID"] = "ASIAUNKNOWNKEY000000"
    result = xacct(call(local_aws, stack, "GET", "/hoge"), env)
    assert result.returncode == 1
    text = result.stderr.decode()
    first, said, what = text.splitlines()
    assert first == (
        f"xacct call: AssumeRole of {stack.invoke_role_arn} failed: the source credentials (the ones that call "
        "AssumeRole) were refused (InvalidClientTokenId)"
    )
    assert said.startswith("  AWS said: ")
    assert what.startswith("  Refresh them: `aws sso login`")
    assert env["AWS_SECRET_ACCESS_KEY"] not in text
    assert env["AWS_SESSION_TOKEN"] not in text


def test_a_long_error_body_is_cut_on_the_first_line(
    local_aws: LocalAws, stack: ApiStack, upstream: tuple[str, type[_Upstream]]
) -> None:
    """Issue 19: the first line quoted 300 characters of the body after the method and URL; stdout has it whole."""
    url, handler = upstream
    handler.statuses = [500]
    args = ["call", "GET", f"https://{stack.host}/big", "--role-arn", stack.invoke_role_arn, "--endpoint-url", url]
    result = xacct(args, environment(local_aws, stack.workload()))
    assert result.returncode == ExitStatus.HTTP_ERROR
    assert result.stdout == json.dumps({"status": 500}).encode() * 40_000
    line = one_line(result)
    assert line.startswith(f'xacct call: GET https://{stack.host}/big -> 500 Internal Server Error: {{"status": 500}}')
    assert line.endswith("...")
    assert len(line) < 300


def test_an_error_that_echoes_the_session_token_shows_none_of_it(
    local_aws: LocalAws, stack: ApiStack, upstream: tuple[str, type[_Upstream]]
) -> None:
    url, handler = upstream
    handler.statuses = [400]
    env = environment(local_aws, stack.workload())
    args = ["call", "GET", f"https://{stack.host}/echo", "--role-arn", stack.invoke_role_arn, "--endpoint-url", url]
    result = xacct(args, env)
    assert result.returncode == ExitStatus.HTTP_ERROR
    assert result.stdout == b"bad request: x-amz-security-token:<redacted>"
    assert one_line(result).endswith("-> 400 Bad Request: bad request: x-amz-security-token:<redacted>")


def test_a_413_points_at_the_payload_hand_off(local_aws: LocalAws, stack: ApiStack, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * (10 * 1024 * 1024 + 1))
    result = xacct(call(local_aws, stack, "PUT", "/hoge", "-d", f"@{big}"), environment(local_aws, stack.workload()))
    assert result.returncode == ExitStatus.HTTP_ERROR
    first, *rest = result.stderr.decode().splitlines()
    assert "-> 413 " in first
    assert rest == ["  " + TOO_LARGE_ADVICE]
