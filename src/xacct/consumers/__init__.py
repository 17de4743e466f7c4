"""Consumers as reviewed data: one file per consumer team (envs/stag/consumers/<team>.yaml), checked offline.

The rules are the ones ``terraform plan`` applies in envs/stag/consumers.tf, with the same messages (each names the
file, the field and what was expected), so that a pre-commit hook or CI finds in a second what the plan would find:
the fields (``SCHEMA``, published as schemas/consumer.schema.json), the account and role ARNs, the routes of the API
(when told them), ``expires`` not passed, one file per team. YAML is read as Terraform's ``yamldecode`` reads it
(YAML 1.1: an unquoted date is that day's start; an unquoted number is a number), which needs PyYAML
(``pip install 'xacct[consumers]'``); JSON files need nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from xacct.errors import ConfigError

FIELDS = ("account_id", "role_arns", "routes", "external_id", "expires", "contact", "reason")
REQUIRED = ("account_id", "role_arns", "routes", "contact", "reason")
SUFFIXES = (".yaml", ".yml", ".json")
TEAM = re.compile(r"^[A-Za-z0-9+=,.@_-]{1,64}$")
ROLE_ARN = re.compile(r"^arn:aws(-cn|-us-gov)?:iam::([0-9]{12}):role/([A-Za-z0-9+=,.@_-]+/)*[A-Za-z0-9+=,.@_-]{1,64}$")
EXTERNAL_ID = re.compile(r"^[A-Za-z0-9+=,.@:/_-]{2,1224}$")
DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://github.com/xacct/xacct/schemas/consumer.schema.json",
    "title": "A consumer team's grant (envs/stag/consumers/<team>.yaml)",
    "type": "object",
    "additionalProperties": False,
    "required": list(REQUIRED),
    "properties": {
        "account_id": {"type": "string", "pattern": "^[0-9]{12}$", "description": "the team's AWS account id"},
        "role_arns": {
            "type": "array",
            "minItems": 1,
            "uniqueItems": True,
            "items": {"type": "string", "pattern": ROLE_ARN.pattern},
            "description": "the team's roles that may assume its invoke role (in account_id)",
        },
        "routes": {
            "type": "array",
            "minItems": 1,
            "items": {"type": "string", "minLength": 1},
            "description": 'route keys of the API ("GET /items/{id}"), or ["*"] for every route',
        },
        "external_id": {"type": "string", "pattern": EXTERNAL_ID.pattern},
        "expires": {
            "type": "string",
            "description": "a date (the grant ends as that day starts, UTC) or an RFC 3339 time",
            "anyOf": [{"format": "date"}, {"format": "date-time"}],
        },
        "contact": {"type": "string", "minLength": 1, "description": "who to ask"},
        "reason": {"type": "string", "minLength": 1, "description": "why this team calls the API"},
    },
}


class ConsumerFileError(ConfigError):
    """A consumers folder that cannot be read (not a folder, PyYAML missing for a YAML file)."""


@dataclass(frozen=True)
class Consumer:
    team: str
    file: str
    account_id: str
    role_arns: tuple[str, ...]
    routes: tuple[str, ...]
    contact: str
    reason: str
    external_id: str | None = None
    expires: datetime | None = None  # the instant the grant ends (UTC)

    def to_json(self) -> dict[str, Any]:
        return {
            "team": self.team,
            "file": self.file,
            "account_id": self.account_id,
            "role_arns": list(self.role_arns),
            "routes": list(self.routes),
            "contact": self.contact,
            "reason": self.reason,
            "external_id_required": self.external_id is not None,
            "expires": _rfc3339(self.expires) if self.expires else None,
        }


def _json(value: Any) -> str:
    """A value as Terraform's jsonencode writes it in envs/stag's messages (no spaces)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def grant_end(value: Any) -> datetime | None:
    """The instant ``expires`` names (a date is that day's start, UTC), or None when it names none."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if DATE.match(text):
        try:
            return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)
        except ValueError:
            return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo and "T" in text else None


# -- reading -----------------------------------------------------------------------------------------------


def _read(path: Path) -> tuple[Any, list[str]]:
    """(the document, the keys written as plain scalars that YAML turned into numbers) of one file."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return json.loads(text), []
    try:
        import yaml
    except ImportError:
        raise ConsumerFileError(
            f"{path.name} is YAML, and reading YAML needs PyYAML: pip install 'xacct[consumers]' (JSON files need "
            "nothing)"
        ) from None
    try:
        node = yaml.compose(text)
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ValueError(str(error).splitlines()[0]) from None
    unquoted_numbers = []
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(value, yaml.ScalarNode) and value.style is None and re.fullmatch(r"[0-9]+", value.value):
                unquoted_numbers.append(str(key.value))
    if isinstance(document, dict):
        for key in unquoted_numbers:  # as Terraform's yamldecode reads a plain run of digits: a number
            if isinstance(document.get(key), str):
                document[key] = int(document[key])
    return document, unquoted_numbers


def files_of(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise ConsumerFileError(f"{folder} is not a folder (expected envs/stag/consumers, one file per team)")
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in SUFFIXES)


def problems_of(
    path: Path, document: Any, unquoted: Sequence[str], routes: Sequence[str] | None, now: datetime
) -> list[str]:
    """What is wrong with one team's file, in envs/stag's words ("<file>: ..."); [] when nothing is."""
    f = path.name
    if not isinstance(document, dict):
        return [f"{f}: not a mapping of fields (got {_json(document)})"]
    found: list[str] = []
    found += [f'{f}: unknown field "{k}" (the fields are {", ".join(FIELDS)})' for k in document if k not in FIELDS]
    found += [f'{f}: field "{k}" is missing' for k in REQUIRED if k not in document]
    team = path.stem
    if not TEAM.match(team):
        found.append(
            f"{f}: the file name is the invoke role's name: 1-64 characters of letters, digits and + = , . @ _ -"
        )
    account = document.get("account_id")
    if "account_id" in document and ("account_id" in unquoted or not re.fullmatch(r"[0-9]{12}", str(account))):
        found.append(
            f'{f}: account_id must be 12 digits, quoted ("012345678901": YAML reads an unquoted number and drops a '
            f"leading zero); got {_json(account)}"
        )
    arns = document.get("role_arns")
    if "role_arns" in document:
        if not (isinstance(arns, list) and arns and all(isinstance(a, str) and ROLE_ARN.match(a) for a in arns)):
            found.append(
                f"{f}: role_arns must be a non-empty list of IAM role ARNs (arn:aws:iam::<account_id>:role/<name>); "
                f"got {_json(arns)}"
            )
        else:
            found += [
                f"{f}: role_arns entry {a} is not in account_id {account}"
                for a in arns
                if ROLE_ARN.match(a) and ROLE_ARN.match(a)[2] != str(account)  # type: ignore[index]
            ]
    wanted = document.get("routes")
    if "routes" in document:
        if not (isinstance(wanted, list) and wanted and all(isinstance(r, str) for r in wanted)):
            found.append(
                f"{f}: routes must be a non-empty list of route keys of this API"
                + (f" ({_json(list(routes))})" if routes is not None else "")
                + f' or ["*"]; got {_json(wanted)}'
            )
        elif routes is not None:
            found += [
                f"{f}: route {_json(r)} is not a route of this API (routes: {_json(list(routes))})"
                for r in wanted
                if r != "*" and r not in routes
            ]
    if "expires" in document:
        end = grant_end(document["expires"])
        if end is None:
            found.append(
                f"{f}: expires must be a date (2027-03-31) or an RFC 3339 time (2027-03-31T18:00:00Z); got "
                f"{_json(document['expires'])}"
            )
        elif end <= now:
            found.append(
                f"{f}: expires {_rfc3339(end)} has passed: IAM already refuses this team; remove the file, or "
                "extend expires after a review"
            )
    for key, what in (("contact", "who to ask"), ("reason", "why this team calls the API")):
        if key in document and not (isinstance(document[key], str) and document[key].strip()):
            found.append(f"{f}: {key} must be a non-empty text ({what})")
    if "external_id" in document and not (
        isinstance(document["external_id"], str) and EXTERNAL_ID.match(document["external_id"])
    ):
        found.append(f"{f}: external_id must be 2-1224 characters of letters, digits and + = , . @ : / _ -")
    return found


@dataclass(frozen=True)
class Folder:
    consumers: tuple[Consumer, ...]
    problems: tuple[str, ...]


def read_folder(folder: Path, *, routes: Sequence[str] | None = None, now: datetime | None = None) -> Folder:
    """Every team's file in ``folder``, checked; ``routes``: the API's route keys, when known."""
    now = now or datetime.now(timezone.utc)
    consumers: list[Consumer] = []
    problems: list[str] = []
    paths = files_of(folder)
    for path in paths:
        try:
            document, unquoted = _read(path)
        except (ValueError, UnicodeDecodeError) as error:  # JSON's and (as ValueError) YAML's syntax errors
            problems.append(f"{path.name}: not a mapping of fields (the file is not valid YAML or JSON: {error})")
            continue
        found = problems_of(path, document, unquoted, routes, now)
        problems += found
        if not found:
            consumers.append(
                Consumer(
                    team=path.stem,
                    file=path.name,
                    account_id=str(document["account_id"]),
                    role_arns=tuple(document["role_arns"]),
                    routes=tuple(document["routes"]),
                    contact=document["contact"].strip(),
                    reason=document["reason"].strip(),
                    external_id=document.get("external_id"),
                    expires=grant_end(document["expires"]) if "expires" in document else None,
                )
            )
    teams: dict[str, list[str]] = {}
    for path in paths:
        teams.setdefault(path.stem, []).append(path.name)
    problems += [
        f"{' and '.join(sorted(names))} are the same team ({team})" for team, names in teams.items() if len(names) > 1
    ]
    return Folder(tuple(consumers), tuple(problems))


def expiring(consumers: Iterable[Consumer], within: timedelta, now: datetime | None = None) -> list[Consumer]:
    now = now or datetime.now(timezone.utc)
    return [c for c in consumers if c.expires is not None and c.expires <= now + within]


# -- writing a request ------------------------------------------------------------------------------------------


def _yaml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a YAML double-quoted string


def request_text(
    *,
    account_id: str,
    role_arns: Sequence[str],
    routes: Sequence[str],
    contact: str,
    reason: str,
    expires: str | None = None,
    external_id: str | None = None,
) -> str:
    """The file a consumer team puts in its pull request: YAML (every value quoted), in the order people read."""
    lines = [
        "# A consumer team's grant: review it, then merge it (envs/stag/consumers/README.md).",
        f"account_id: {_yaml_string(account_id)}",
        "role_arns:",
        *[f"  - {_yaml_string(a)}" for a in role_arns],
        "routes:",
        *[f"  - {_yaml_string(r)}" for r in routes],
    ]
    if expires is not None:
        lines.append(f"expires: {_yaml_string(expires)}")
    if external_id is not None:
        lines.append(f"external_id: {_yaml_string(external_id)}")
    lines += [f"contact: {_yaml_string(contact)}", f"reason: {_yaml_string(reason)}"]
    return "\n".join(lines) + "\n"


def role_arns_from_output(output: Any) -> list[str]:
    """The consumer's role ARNs from its ``terraform output -json`` (envs/deve: role_arn; or a role_arns list)."""
    if not isinstance(output, dict):
        raise ConfigError("the terraform output must be the JSON object `terraform output -json` prints")
    found: list[str] = []
    for key in ("role_arn", "role_arns"):
        entry = output.get(key)
        value = entry.get("value") if isinstance(entry, dict) and "value" in entry else entry
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, list):
            found += [v for v in value if isinstance(v, str)]
    if not found:
        raise ConfigError(
            "the terraform output has no role_arn (envs/deve's output) or role_arns: run `terraform -chdir=envs/deve "
            f"output -json` and pass what it prints; it has {sorted(output)}"
        )
    bad = [a for a in found if not ROLE_ARN.match(a)]
    if bad:
        raise ConfigError(f"not IAM role ARNs in the terraform output: {bad}")
    return found
