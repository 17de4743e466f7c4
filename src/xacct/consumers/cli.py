"""``xacct consumers validate | list | request``: the consumers folder (envs/stag/consumers) for people and CI."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from xacct.access.cli import days_or_hours
from xacct.consumers import (
    SCHEMA,
    ConsumerFileError,
    expiring,
    problems_of,
    read_folder,
    request_text,
    role_arns_from_output,
)
from xacct.errors import ConfigError
from xacct.status import ExitStatus

EXAMPLES = """\
examples:
  # the pre-commit hook and CI: every file, offline, with the API's routes
  xacct consumers validate envs/stag/consumers --routes 'ANY /{proxy+}' 'GET /items/{id}'

  # who is granted, and whose grant ends within 30 days (exit 3 when any does: a CI reminder)
  xacct consumers list envs/stag/consumers --expiring-within 30d

  # a consumer team writes its file from its own outputs, for the provider's pull request
  terraform -chdir=envs/deve output -json > deve.json
  xacct consumers request --team team-b --terraform-output deve.json --routes 'GET /items/{id}' \\
      --contact team-b@example.com --reason 'nightly report' --expires 2027-03-31 > team-b.yaml
"""


def add_parser(sub: Any) -> argparse.ArgumentParser:
    consumers: argparse.ArgumentParser = sub.add_parser(
        "consumers", help="consumer teams as files (envs/stag/consumers): validate, list, request"
    )
    commands = consumers.add_subparsers(dest="consumers_command", required=True, parser_class=type(consumers))
    fmt = argparse.RawDescriptionHelpFormatter
    validate = commands.add_parser(
        "validate",
        help="check every team's file offline, with the rules terraform plan applies",
        epilog=EXAMPLES,
        formatter_class=fmt,
    )
    validate.add_argument("folder", type=Path, help="the consumers folder (envs/stag/consumers)")
    validate.add_argument("--routes", nargs="+", metavar="ROUTE", help="the API's route keys (default: not checked)")
    validate.add_argument("--schema", action="store_true", help="print the JSON Schema of a team's file and exit")
    listing = commands.add_parser("list", help="the teams granted, their routes and when their grants end")
    listing.add_argument("folder", type=Path, help="the consumers folder (envs/stag/consumers)")
    listing.add_argument(
        "--expiring-within", type=days_or_hours, metavar="30d", help="only grants that end within this (exit 3 if any)"
    )
    listing.add_argument("--format", choices=("table", "json"), default="table")
    request = commands.add_parser(
        "request",
        help="write a team's file from its own terraform output (no ARN typed by hand)",
        epilog=EXAMPLES,
        formatter_class=fmt,
    )
    request.add_argument("--team", required=True, help="the team's key: the file name and the invoke role's name")
    request.add_argument(
        "--terraform-output", required=True, metavar="FILE", help="`terraform output -json` of envs/deve (- = stdin)"
    )
    request.add_argument("--routes", nargs="+", required=True, metavar="ROUTE", help="the routes asked for, or *")
    request.add_argument("--contact", required=True)
    request.add_argument("--reason", required=True)
    request.add_argument("--expires", help="a date (2027-03-31) or an RFC 3339 time: when the grant should end")
    request.add_argument("--external-id", help="an external id, when the provider asks for one")
    request.add_argument("--out", type=Path, metavar="DIR", help="write DIR/<team>.yaml instead of printing it")
    return consumers


def run(args: argparse.Namespace) -> int:
    try:
        if args.consumers_command == "validate":
            return _validate(args)
        if args.consumers_command == "list":
            return _list(args)
        return _request(args)
    except (ConsumerFileError, ConfigError) as error:
        print(f"xacct consumers: {error}", file=sys.stderr)
        return ExitStatus.USAGE


def _validate(args: argparse.Namespace) -> int:
    if args.schema:
        print(json.dumps(SCHEMA, indent=2))
        return ExitStatus.OK
    folder = read_folder(args.folder, routes=args.routes)
    for problem in folder.problems:
        print(f"{args.folder}/{problem}", file=sys.stderr)
    if folder.problems:
        print(f"{len(folder.problems)} problem(s): terraform plan would refuse these files", file=sys.stderr)
        return ExitStatus.ERROR
    print(f"{len(folder.consumers)} team file(s) in {args.folder}: OK")
    return ExitStatus.OK


def _list(args: argparse.Namespace) -> int:
    folder = read_folder(args.folder)
    consumers = list(folder.consumers)
    if args.expiring_within is not None:
        consumers = expiring(consumers, args.expiring_within)
    if args.format == "json":
        print(json.dumps({"version": 1, "consumers": [c.to_json() for c in consumers]}, indent=2))
    else:
        rows = [("team", "account", "routes", "expires", "contact")]
        for c in consumers:
            ends = c.to_json()["expires"] or "never"
            rows.append((c.team, c.account_id, ", ".join(c.routes), ends, c.contact))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for row in rows:
            print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    for problem in folder.problems:
        print(f"{args.folder}/{problem}", file=sys.stderr)
    if args.expiring_within is not None and consumers:
        return ExitStatus.DRIFT
    return ExitStatus.ERROR if folder.problems else ExitStatus.OK


def _request(args: argparse.Namespace) -> int:
    source = sys.stdin.read() if args.terraform_output == "-" else Path(args.terraform_output).read_text()
    try:
        output = json.loads(source)
    except ValueError as error:
        raise ConfigError(
            f"--terraform-output is not JSON ({error}): pass what `terraform output -json` prints"
        ) from None
    role_arns = role_arns_from_output(output)
    accounts = sorted({arn.split(":")[4] for arn in role_arns})
    if len(accounts) != 1:
        raise ConfigError(f"the roles are in {len(accounts)} accounts ({', '.join(accounts)}): one file per account")
    fields: dict[str, Any] = {
        "account_id": accounts[0],
        "role_arns": role_arns,
        "routes": args.routes,
        "contact": args.contact,
        "reason": args.reason,
    }
    fields |= {k: v for k, v in (("expires", args.expires), ("external_id", args.external_id)) if v is not None}
    # What the provider's plan will check, checked now (the routes of the API are known only there: not here).
    problems = problems_of(Path(f"{args.team}.yaml"), fields, [], None, datetime.now(timezone.utc))
    if problems:
        raise ConfigError("the file would be refused: " + "; ".join(problems))
    text = request_text(**fields)
    target = None if args.out is None else args.out / f"{args.team}.yaml"
    if target is None:
        sys.stdout.write(text)
    else:
        target.write_text(text)
        print(f"wrote {target}: add it in a pull request to the provider's repository", file=sys.stderr)
    return ExitStatus.OK
