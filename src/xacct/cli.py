"""The `xacct` command: call an IAM-authorized API, run the local AWS, run the demo, print shell completions."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import re
import shlex
import signal
import sys
import threading
from collections.abc import Sequence
from http import HTTPStatus
from typing import BinaryIO, NoReturn
from urllib.parse import unquote, urlsplit

import boto3
import requests
from botocore.exceptions import BotoCoreError, ProfileNotFound

from xacct import __version__
from xacct.access import cli as access_cli
from xacct.client import (
    HTTP_API_METHODS,
    REGION,
    ApiClient,
    RetryPolicy,
    WaitTimedOut,
    check_method,
    check_region,
)
from xacct.consumers import cli as consumers_cli
from xacct.errors import ConfigError, ConnectionFailed, HttpError, TimedOut, XacctError, redact_bytes
from xacct.local import require_extra
from xacct.signing import parse_query
from xacct.status import ExitStatus

# What the local/demo/terraform-setup handlers return; their work is in xacct.local (the `local` extra).
EXIT_OK = ExitStatus.OK

METHODS = HTTP_API_METHODS
SHELLS = ("bash", "zsh", "fish")

CALL_EXAMPLES = (
    """\
examples:
  # the seed's call: as the workload (e.g. LambdaRoleDeve's credentials in the environment)
  xacct call PUT https://server.stag.foo.example.com/hoge -d '{"foo":"bar"}' \\
      --role-arn arn:aws:iam::111111111111:role/ApiAllowByIamRoleStag --region ap-northeast-1

  # the examples below, with your API's values in variables (from the provider's outputs; consumer_config has all)
  API=https://abc123defg.execute-api.ap-northeast-1.amazonaws.com  # invoke_url
  ROLE=arn:aws:iam::111111111111:role/ApiAllowByIamRoleStag         # one of invoke_role_arns
  BUCKET=stag-payloads-20260101000000000000000001                   # payload_bucket (for large bodies)

  # the body from a file or from stdin, an extra header, response headers too
  xacct call POST "$API/items" -d @item.json -H 'Idempotency-Key: 6f1c' --role-arn "$ROLE" -i
  echo '{"foo":"bar"}' | xacct call PUT "$API/hoge" -d @- --role-arn "$ROLE"

  # a large body streamed from a file through the provider's payload bucket; follow a 202 Accepted for 10 min
  xacct call POST "$API/reports" -d @big.bin --payload-bucket "$BUCKET" \\
      --wait 600 --role-arn "$ROLE"

  # a binary download, byte for byte (nothing is added to the body)
  xacct call GET "$API/files/report.pdf" --role-arn "$ROLE" > report.pdf

  # against the local AWS of `make demo ARGS=--keep` or `xacct local up`: paste the export lines they print first;
  # XACCT_ENDPOINT_URL, the URL they listen on, sends the bytes there (as --endpoint-url URL would)
  xacct call GET "$API/hoge" --role-arn "$ROLE"

  # retries and credential refreshes, as they happen
  xacct call GET "$API/hoge" --role-arn "$ROLE" --debug

exit status (the reason goes to stderr: one line, then what to check where there is more to say):
"""
    + "\n".join(f"  {status.value:>3}  {status.meaning}" for status in ExitStatus)
    + "\n"
)

# How the client's messages name its parameters (see xacct.errors), and the options the CLI has for them.
_OPTION_OF = {
    "role_arn": "--role-arn",
    "external_id": "--external-id",
    "endpoint_url": "--endpoint-url",
    "source_session": "--profile",
    "base_url": "the URL",
    "region=...": "--region",
    "region=": "--region ",
    "external_id=...": "--external-id",
}
_PARAMETER = re.compile(
    r"(?<![\w.\]])(?:(?:role_arn|external_id|endpoint_url|source_session|base_url)\b(?!=)"
    r"|(?:region|external_id)=\.\.\."
    r"|region=(?='))"  # region='tokyo' -> --region 'tokyo'
)


def in_cli_words(message: str) -> str:
    """A client message with its Python parameter names (``role_arn``, ``region=...``) as the CLI's options."""
    return _PARAMETER.sub(lambda match: _OPTION_OF[match.group(0)], message)


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(ExitStatus.USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _read_data(value: str | None) -> bytes | None:
    if value is None:
        return None
    if value == "@-":
        return sys.stdin.buffer.read()
    if value.startswith("@"):
        with open(value[1:], "rb") as handle:
            return handle.read()
    return value.encode("utf-8")


# Files up to this size are read to tell JSON from other bytes; larger ones are streamed as they are.
_SNIFF_LIMIT = 1024 * 1024


def _open_data(value: str | None) -> bytes | BinaryIO | None:
    """-d: text, @- (stdin, read), or @file (opened: the client streams it, through the payload bucket when it is
    over the threshold, so a 100 MB file is never held in memory whole)."""
    if value is None or value == "@-" or not value.startswith("@"):
        return _read_data(value)
    return open(value[1:], "rb")


def _content_type(data: bytes | BinaryIO) -> str:
    if isinstance(data, bytes):
        sample: bytes | None = data
    else:
        size = os.fstat(data.fileno()).st_size
        sample = data.read() if size <= _SNIFF_LIMIT else None
        data.seek(0)
    if sample is not None:
        try:
            json.loads(sample)
            return "application/json"
        except ValueError:
            pass
    return "application/octet-stream"


def _headers(values: Sequence[str], parser: argparse.ArgumentParser) -> dict[str, str]:
    headers: dict[str, str] = {}
    for value in values:
        name, sep, content = value.partition(":")
        if not sep or not name.strip() or " " in name.strip():
            parser.error(f"-H {value!r} is not 'Name: value'")
        headers[name.strip()] = content.strip()
    return headers


def _method(value: str) -> str:
    try:
        return check_method(value)
    except ConfigError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _region(value: str) -> str:
    """Every --region: a region name (the client's REGION), checked before anything is sent."""
    if not REGION.fullmatch(value):
        raise argparse.ArgumentTypeError(f"{value!r} is not an AWS region name; expected e.g. ap-northeast-1")
    return value


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds > 0")
    return seconds


def _fail(status: ExitStatus, message: str) -> ExitStatus:
    """The reason on stderr: its first line says what happened; an error's indented lines after it (what AWS said,
    what to check) follow; any other line (a library's multi-line message) is left out."""
    first, *rest = in_cli_words(message).splitlines() or [""]
    print(f"xacct call: {first}", file=sys.stderr)
    for line in rest:
        if line.startswith("  "):
            print(line, file=sys.stderr)
    return status


def _call(args: argparse.Namespace, parser: argparse.ArgumentParser) -> ExitStatus:
    parts = urlsplit(args.url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        parser.error(f"URL {args.url!r} must be http(s)://host/path")
    if args.region:
        try:
            check_region(args.region, parts.hostname)
        except ConfigError as error:
            parser.error(in_cli_words(str(error)))
    data: bytes | BinaryIO | None
    try:
        data = _open_data(args.data)
    except OSError as error:
        parser.error(f"-d {args.data}: {error.strerror or error}")
    headers = _headers(args.header, parser)
    if data is not None and not any(h.lower() == "content-type" for h in headers):
        headers["Content-Type"] = _content_type(data)
    if args.debug:
        logging.basicConfig(format="xacct: %(message)s", level=logging.WARNING)
        logging.getLogger("xacct").setLevel(logging.DEBUG)
    try:
        session = boto3.Session(profile_name=args.profile, region_name=args.region)
        client = ApiClient(
            f"{parts.scheme}://{parts.netloc}",
            args.role_arn,
            region=args.region,
            external_id=args.external_id,
            source_session=session,
            endpoint_url=args.endpoint_url,
            retries=RetryPolicy(total_timeout=args.max_time),
            payload_bucket=args.payload_bucket,
        )
        with client, data if isinstance(data, io.IOBase) else contextlib.nullcontext():
            response = client.request(
                args.method,
                unquote(parts.path or "/"),
                data=data,
                # A "+" typed in the URL is a space, as API Gateway reads the query (and curl would send it raw).
                params=parse_query(parts.query, plus_is_space=True),
                headers=headers,
                wait=args.wait is not None,
                wait_deadline=args.wait or 300.0,
            )
            print_response(response, args.include)
            return ExitStatus.OK
    except ProfileNotFound:
        return _fail(
            ExitStatus.USAGE, f"--profile {args.profile!r} is not in the AWS config files (aws configure list-profiles)"
        )
    except ConfigError as error:
        return _fail(ExitStatus.USAGE, str(error))
    except HttpError as error:
        print_response(error.response, args.include, redacted=True)
        return _fail(ExitStatus.HTTP_ERROR, str(error))
    except (TimedOut, WaitTimedOut) as error:
        return _fail(ExitStatus.TIMEOUT, str(error))
    except ConnectionFailed as error:
        return _fail(ExitStatus.CONNECTION_FAILED, str(error))
    except (XacctError, BotoCoreError, requests.RequestException) as error:
        return _fail(ExitStatus.ERROR, str(error))


def print_response(response: requests.Response | None, include: bool, *, redacted: bool = False) -> None:
    """The response as curl -i would show it; an error's body without any session token it echoes."""
    if response is None:
        return
    content = redact_bytes(response.content) if redacted else response.content
    out = sys.stdout.buffer
    if include:
        reason = response.reason or _phrase(response.status_code)
        out.write(f"HTTP/1.1 {response.status_code} {reason}\r\n".encode())
        for name, value in response.headers.items():
            out.write(f"{name}: {value}\r\n".encode())
        out.write(b"\r\n")
    out.write(content)
    # The body as received, byte for byte, into a file or a pipe (`> file.bin`); on a terminal only, a final newline
    # so that the prompt starts on a line of its own (as curl does not, but a terminal is for people).
    if content and not content.endswith(b"\n") and out.isatty():
        out.write(b"\n")
    out.flush()


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _local_up(args: argparse.Namespace) -> int:
    try:
        from xacct.local.server import LocalAws
    except ImportError as error:
        require_extra(error)

    with LocalAws(args.port, args.host, region=args.region) as aws:
        url = aws.endpoint_url
        print(f"Local AWS listening on {url} (Ctrl-C to stop). Accounts are 12-digit access key ids; any secret.")
        print("\n# Terraform, the AWS CLI and boto3, as the root of account 111111111111:")
        for name, value in aws.env("111111111111").items():
            print(f"export {name}={shlex.quote(value)}")
        print(f"export TF_CLI_CONFIG_FILE={shlex.quote(_cli_config())}")
        print("\n# xacct call / ApiClient: send execute-api requests here, signed for the real host:")
        print(f"export XACCT_ENDPOINT_URL={shlex.quote(url)}")
        print(
            "\n# Acting as a workload (a Lambda function running as LambdaRoleDeve): an account's root may assume\n"
            "# any role of its own account, as the AWS service the role trusts:\n"
            "#   AWS_ACCESS_KEY_ID=222222222222 aws sts assume-role \\\n"
            "#       --role-arn arn:aws:iam::222222222222:role/LambdaRoleDeve --role-session-name lambda"
        )
        sys.stdout.flush()
        aws.wait_until_interrupted()
        print("\nstopped")
    return EXIT_OK


def _local_credentials(args: argparse.Namespace) -> ExitStatus:
    """Fresh credentials of a workload role of the local AWS, as export lines (its account's root assumes the role,
    acting as the AWS service the role trusts: the local convention). For the demo's hour-long sessions."""
    if not ROLE_ARN.fullmatch(args.role_arn):
        return _fail_local(
            f"{args.role_arn!r} is not a role ARN; expected arn:aws:iam::<12-digit account>:role/<name>",
            ExitStatus.USAGE,
        )
    account = args.role_arn.split(":")[4]
    sts = boto3.client(
        "sts",
        endpoint_url=args.endpoint_url,
        region_name=args.region,
        aws_access_key_id=account,
        aws_secret_access_key="local",  # noqa: S106  (the local AWS's convention: a root key takes any secret)
    )
    try:
        answer = sts.assume_role(RoleArn=args.role_arn, RoleSessionName=args.session_name)
    except BotoCoreError as error:
        return _fail_local(f"the local AWS at {args.endpoint_url} did not answer: {error}")
    except sts.exceptions.ClientError as error:
        return _fail_local(f"{args.role_arn} could not be assumed: {error.response['Error'].get('Message', '')}")
    creds = answer["Credentials"]
    print(f"# {args.role_arn}, session {args.session_name}, until {creds['Expiration']:%H:%M:%S %Z}")
    print(f"export AWS_ACCESS_KEY_ID={shlex.quote(creds['AccessKeyId'])}")
    print(f"export AWS_SECRET_ACCESS_KEY={shlex.quote(creds['SecretAccessKey'])}")
    print(f"export AWS_SESSION_TOKEN={shlex.quote(creds['SessionToken'])}")
    return ExitStatus.OK


def _fail_local(message: str, status: ExitStatus = ExitStatus.ERROR) -> ExitStatus:
    print(f"xacct local credentials: {message}", file=sys.stderr)
    return status


ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}")


def _cli_config() -> str:
    try:
        from xacct.local.terraform import write_cli_config
    except ImportError as error:
        require_extra(error)

    return str(write_cli_config())


def _terraform_setup(_: argparse.Namespace) -> int:
    try:
        from xacct.local.terraform import find_mirror, terraform_binary, write_cli_config
    except ImportError as error:
        require_extra(error)

    binary = terraform_binary()
    path = write_cli_config()
    mirror = find_mirror()
    source = f"the filesystem mirror {mirror}" if mirror else "the Terraform registry (no local mirror found)"
    # stdout: the line that makes Terraform by hand use this config (eval "$(xacct terraform-setup)"); the rest
    # is for people, on stderr.
    print(f"Terraform: {binary}; hashicorp/aws from {source}.", file=sys.stderr)
    print("# Terraform by hand (terraform init, terraform test) uses this CLI config once you run:", file=sys.stderr)
    print(f"export TF_CLI_CONFIG_FILE={shlex.quote(str(path))}")
    return EXIT_OK


def _demo(args: argparse.Namespace) -> int:
    try:
        from xacct.local.demo import run_demo
    except ImportError as error:
        require_extra(error)

    return run_demo(keep=args.keep, region=args.region, port=args.port)


def _completion(args: argparse.Namespace) -> ExitStatus:
    import shtab  # only this command needs it

    print(shtab.complete(build_parser(), args.shell), end="")
    return ExitStatus.OK


# Completion of the HTTP method (the methods an HTTP API takes) and of AWS profiles, per shell.
_METHOD_COMPLETION = {
    "bash": "_xacct_methods",
    "zsh": f"({' '.join(METHODS)})",
    "fish": " ".join(METHODS),
    "preamble": {"bash": f"_xacct_methods() {{\n  compgen -W '{' '.join(METHODS)}' -- \"$1\"\n}}\n"},
}
_PROFILES = "aws configure list-profiles 2>/dev/null"
_PROFILE_COMPLETION = {  # what shtab.cmd(_PROFILES) gives, without importing shtab for every call
    "bash": "_xacct_profiles",
    "zsh": f"($({_PROFILES}))",
    "fish": f"({_PROFILES})",
    "preamble": {"bash": f'_xacct_profiles() {{\n  compgen -W "$({_PROFILES})" -- "$1"\n}}\n'},
}


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="xacct", description="Call an IAM-authorized HTTP API in another AWS account.")
    parser.add_argument("--version", action="version", version=f"xacct {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    call = sub.add_parser(
        "call",
        help="send one signed request through the invoke role",
        description="Assume the invoke role from the ambient credentials, sign the request with SigV4 for "
        "execute-api and print the response body.",
        epilog=CALL_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    call.add_argument("method", type=_method, help="HTTP method, e.g. PUT").complete = _METHOD_COMPLETION  # type: ignore[attr-defined]
    call.add_argument("url", help="full URL: the API's invoke URL plus path and query")
    call.add_argument("-d", "--data", help="request body: text, @file, or @- for stdin")
    call.add_argument("-H", "--header", action="append", default=[], help="extra header 'Name: value' (repeatable)")
    call.add_argument("--role-arn", required=True, help="the provider's invoke role ARN")
    call.add_argument("--external-id", help="external id, when the provider requires one")
    call.add_argument(
        "--region", type=_region, help="the API's region (default: from an execute-api URL, then the profile)"
    )
    call.add_argument("--profile", help="AWS profile for the source credentials").complete = _PROFILE_COMPLETION  # type: ignore[attr-defined]
    call.add_argument("--endpoint-url", help="send the bytes here instead (the local AWS); also $XACCT_ENDPOINT_URL")
    call.add_argument("-i", "--include", action="store_true", help="print the status line and response headers")
    call.add_argument(
        "--max-time",
        type=_seconds,
        default=RetryPolicy.total_timeout,
        metavar="SECONDS",
        help=f"time for the whole call, retries included (default {RetryPolicy.total_timeout:g})",
    )
    call.add_argument(
        "--payload-bucket",
        metavar="NAME",
        help="the provider's payload bucket (consumer_config.payload_bucket): bodies over 5 MiB go through it",
    )
    call.add_argument(
        "--wait",
        nargs="?",
        type=_seconds,
        const=300.0,
        metavar="SECONDS",
        help="follow a 202 Accepted's Location until the final answer, for at most SECONDS (default 300)",
    )
    call.add_argument("--debug", action="store_true", help="log retries and credential refreshes to stderr")
    call.set_defaults(subparser=call)

    access_cli.add_parser(sub, region_type=_region)
    consumers_cli.add_parser(sub)

    local = sub.add_parser("local", help="run the local AWS")
    local_sub = local.add_subparsers(dest="local_command", required=True, parser_class=_Parser)
    up = local_sub.add_parser("up", help="run the local AWS in the foreground until Ctrl-C")
    up.add_argument("--port", type=int, default=4566, help="port (default 4566; 0 = any free port)")
    up.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; any other address prints a warning)",
    )
    up.add_argument("--region", type=_region, default="us-east-1", help="default region for the printed environment")
    credentials = local_sub.add_parser(
        "credentials",
        help="print fresh credentials of a workload role of the local AWS (export lines)",
        description="Fresh session credentials of a role of the local AWS, as a workload running as it would have "
        '(its account\'s root assumes it, acting as the service it trusts): eval "$(xacct local credentials ...)".',
    )
    credentials.add_argument("role_arn", metavar="ROLE_ARN", help="e.g. arn:aws:iam::222222222222:role/LambdaRoleDeve")
    credentials.add_argument(
        "--endpoint-url",
        default=os.environ.get("AWS_ENDPOINT_URL") or "http://127.0.0.1:4566",
        help="the local AWS (default: $AWS_ENDPOINT_URL, else http://127.0.0.1:4566)",
    )
    credentials.add_argument("--session-name", default="by-hand", help="the role session name (default by-hand)")
    credentials.add_argument(
        "--region", type=_region, default=os.environ.get("AWS_REGION") or "us-east-1", help="STS region"
    )

    demo = sub.add_parser("demo", help="deploy both envs into a local AWS and show allowed and denied calls")
    demo.add_argument(
        "--keep",
        action="store_true",
        help="leave everything running until Ctrl-C and print what to paste (through make: make demo ARGS=--keep)",
    )
    demo.add_argument("--port", type=int, default=0, help="local AWS port (default: any free port)")
    demo.add_argument("--region", type=_region, default="ap-northeast-1", help="region of the demo's API")

    sub.add_parser(
        "terraform-setup",
        help="write the Terraform CLI config (provider mirror) and check Terraform",
        description="Write the Terraform CLI config (the machine's provider mirror, if any) and check Terraform. "
        'stdout is the line that makes Terraform by hand use it, for eval "$(xacct terraform-setup)": '
        "export TF_CLI_CONFIG_FILE=<its path>; the rest goes to stderr.",
    )

    completion = sub.add_parser(
        "completion",
        help='print a shell completion script: eval "$(xacct completion bash)"',
        description="Print the completion script for a shell, generated from this command's own parser.",
    )
    completion.add_argument("shell", choices=SHELLS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Ctrl-C (SIGINT) always interrupts, even when the process was started with SIGINT ignored (a background job of
    # a non-interactive shell, some CI runners): Python only installs its handler when SIGINT is not ignored, and a
    # `local up` or `demo --keep` that cannot be stopped with Ctrl-C stays listening. An exec'ed xacct is a command
    # the user runs, not a job to shield from the terminal.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return _main(argv)
    except BrokenPipeError:
        # The reader went away (`xacct call ... | head -c1`). As Python's documentation recommends: point stdout
        # at devnull so that the interpreter's last flush does not fail again, and exit without a traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return ExitStatus.ERROR
    except KeyboardInterrupt:
        return ExitStatus.INTERRUPTED


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "call":
            return _call(args, args.subparser)
        if args.command == "access":
            return access_cli.run(args)
        if args.command == "consumers":
            return consumers_cli.run(args)
        if args.command == "local":
            return _local_credentials(args) if args.local_command == "credentials" else _local_up(args)
        if args.command == "demo":
            return _demo(args)
        if args.command == "terraform-setup":
            return _terraform_setup(args)
        return _completion(args)
    except XacctError as error:
        print(f"xacct {args.command}: {in_cli_words(str(error))}", file=sys.stderr)
        return ExitStatus.ERROR


if __name__ == "__main__":
    sys.exit(main())
