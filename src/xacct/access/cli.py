"""``xacct access report``: the subcommand's options and what it does with them."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, ProfileNotFound

from xacct.access import expect as expectations
from xacct.access import report
from xacct.access.errors import AccessReportError, ApiNotFound, ExpectFileError, StageNotChosen
from xacct.access.render import FORMATS, RENDERERS
from xacct.access.usage import read_usage
from xacct.access.usage import render as render_usage
from xacct.status import ExitStatus

PROG = "xacct access report"
USAGE_PROG = "xacct access usage"

EXAMPLES = """\
examples:
  # who can call the API, as a table (the provider account's credentials in the environment or a profile)
  xacct access report --api-id abc123defg --region ap-northeast-1 --profile provider

  # a CI check: exit 3 and print every difference from what Terraform declared
  terraform -chdir=envs/stag output -json consumer_config > declared.json
  xacct access report --api-id "$(terraform -chdir=envs/stag output -raw api_id)" --expect declared.json

  # for a README or a pull request, or for scripts (JSON version 1: see README)
  xacct access report --api-id abc123defg --format markdown
  xacct access report --api-id abc123defg --format json | jq '.findings[] | select(.kind == "stale_trust")'

"""

# What each exit status means for this command (the numbers are xacct.status's, shared with xacct call).
EXIT_MEANING = {
    ExitStatus.OK: "the report was made (and matches --expect)",
    ExitStatus.ERROR: "the report could not be made (no credentials, no connection, a read permission missing)",
    ExitStatus.USAGE: "a bad option (--region, --endpoint-url), an unknown --api-id or --stage, a bad --expect file",
    ExitStatus.DRIFT: "the report was made and differs from --expect: each difference on stderr",
    ExitStatus.INTERRUPTED: "interrupted (Ctrl-C)",
}
EXIT_STATUSES = "exit status:\n" + "".join(
    f"  {status.value:>3}  {status.name}: {meaning}\n" for status, meaning in EXIT_MEANING.items()
)


def endpoint_url(value: str) -> str:
    """--endpoint-url: an http(s) URL (botocore would otherwise fail with a traceback at the first client)."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise argparse.ArgumentTypeError(f"{value!r} must be http(s)://host[:port] (e.g. the local AWS)")
    return value


def add_parser(sub: Any, *, region_type: Callable[[str], str] = str) -> argparse.ArgumentParser:
    """``xacct access report ...`` under the main parser's subcommands; ``region_type`` checks --region (the main
    parser's, so that every --region is checked alike)."""
    access: argparse.ArgumentParser = sub.add_parser("access", help="who can call my API? (access report)")
    access_sub = access.add_subparsers(dest="access_command", required=True, parser_class=type(access))
    parser: argparse.ArgumentParser = access_sub.add_parser(
        "report",
        help="per route: who can invoke it, through which invoke role, on which conditions; and findings",
        description="Read the API and the IAM of the provider account (read-only calls) and report, per route, "
        "the principals that can invoke it: through invoke roles (their trust policies, conditions shown) and "
        "directly (roles or users whose own policies allow execute-api:Invoke). Progress goes to stderr.",
        epilog=EXAMPLES + "\n" + EXIT_STATUSES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--api-id", required=True, help="id of the HTTP API (terraform output api_id)")
    parser.add_argument("--stage", help="stage to report (default: the API's only stage)")
    parser.add_argument("--region", type=region_type, help="the API's region (default: the profile's)")
    parser.add_argument("--profile", help="AWS profile with read access to the provider account")
    parser.add_argument("--endpoint-url", type=endpoint_url, help="send AWS calls here instead (the local AWS)")
    parser.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")
    parser.add_argument(
        "--expect",
        metavar="FILE",
        help="JSON of what Terraform declared (terraform output -json consumer_config, or "
        '{"invoke_roles": {NAME: {"trusted_principals": [...], "allowed_routes": [...]}}}); '
        "exit 3 on any difference",
    )
    usage: argparse.ArgumentParser = access_sub.add_parser(
        "usage",
        help="who actually calls: per consumer account, invoke role and route, from the stage's access log",
        description="Read the stage's access log (CloudWatch Logs, read-only) and count, per consumer account, "
        "invoke role and route, the calls, 4xx and 5xx answers, first and last seen. The log must be in "
        "modules/provider_api's format.",
        epilog="examples:\n  xacct access usage --api-id abc123defg --since 7d\n"
        "  xacct access usage --api-id abc123defg --since 90d --format json | jq '.rows[] | select(.calls == 0)'\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    usage.add_argument("--api-id", required=True, help="id of the HTTP API (terraform output api_id)")
    usage.add_argument("--since", type=days_or_hours, default=timedelta(days=7), help="how far back: 7d (default), 24h")
    usage.add_argument("--stage", help="stage (default: the API's only stage)")
    usage.add_argument("--region", type=region_type, help="the API's region (default: the profile's)")
    usage.add_argument("--profile", help="AWS profile with read access to the provider account")
    usage.add_argument("--endpoint-url", type=endpoint_url, help="send AWS calls here instead (the local AWS)")
    usage.add_argument("--format", choices=("table", "json", "markdown"), default="table")
    return parser


def days_or_hours(value: str) -> timedelta:
    """7d, 24h: a --since or --expiring-within value."""
    match = re.fullmatch(r"([0-9]+)([dh])", value.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"{value!r} must be a number of days or hours, e.g. 30d or 24h")
    amount = int(match[1])
    return timedelta(days=amount) if match[2] == "d" else timedelta(hours=amount)


def run_usage(args: argparse.Namespace) -> ExitStatus:
    """``xacct access usage``: read the access log and print the tally."""
    try:
        session = boto3.Session(profile_name=args.profile, region_name=args.region)
        found = read_usage(session, args.api_id, since=args.since, stage=args.stage, endpoint_url=args.endpoint_url)
    except ProfileNotFound:
        return _fail(f"--profile {args.profile!r} is not in the AWS config files", ExitStatus.USAGE, USAGE_PROG)
    except StageNotChosen as error:
        return _fail(str(error), ExitStatus.USAGE, USAGE_PROG)
    except NoCredentialsError:
        return _fail("no AWS credentials: pass --profile, or set them in the environment", prog=USAGE_PROG)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "NotFoundException":
            return _fail(f"no HTTP API {args.api_id!r} in this account and region", ExitStatus.USAGE, USAGE_PROG)
        return _fail(str(error), prog=USAGE_PROG)
    except (AccessReportError, BotoCoreError) as error:
        return _fail(str(error), prog=USAGE_PROG)
    print(render_usage(found, args.format))
    return ExitStatus.OK


def _fail(message: str, status: ExitStatus = ExitStatus.ERROR, prog: str = PROG) -> ExitStatus:
    print(f"{prog}: {message}", file=sys.stderr)
    return status


def run(args: argparse.Namespace) -> ExitStatus:
    """Make the report, print it, compare it with --expect (or, for ``usage``, tally the access log)."""
    if args.access_command == "usage":
        return run_usage(args)
    try:
        expected = expectations.load(args.expect) if args.expect else None
        session = boto3.Session(profile_name=args.profile, region_name=args.region)
        made = report(
            session,
            args.api_id,
            region=args.region,
            endpoint_url=args.endpoint_url,
            stage=args.stage,
            declared=expected.invoke_roles if expected else None,
            progress=lambda line: print(f"{PROG}: {line}", file=sys.stderr, flush=True),
        )
    except ProfileNotFound:
        return _fail(f"--profile {args.profile!r} is not in the AWS config files", ExitStatus.USAGE)
    except (ExpectFileError, StageNotChosen, ApiNotFound) as error:
        return _fail(str(error), ExitStatus.USAGE)
    except NoCredentialsError:
        return _fail("no AWS credentials: pass --profile, or set them in the environment")
    except (AccessReportError, BotoCoreError) as error:
        return _fail(str(error))
    sys.stdout.write(RENDERERS[args.format](made))
    sys.stdout.flush()
    if expected is None:
        return ExitStatus.OK
    found = expectations.differences(made, expected, [r.route_key for r in made.routes])
    if not found:
        print(f"{PROG}: as declared in {args.expect}", file=sys.stderr)
        return ExitStatus.OK
    print(f"{PROG}: {len(found)} difference(s) from {args.expect}:", file=sys.stderr)
    for line in found:
        print(f"  {line}", file=sys.stderr)
    return ExitStatus.DRIFT
