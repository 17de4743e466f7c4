"""The Condition element: every operator of "IAM JSON policy elements: Condition operators".

Each condition key of each operator block must hold (logical AND); the values listed for one key are
alternatives (OR), and for a negated operator none of them may match (NOR) ("Conditions with multiple
context keys or values"). Per key:

- a key absent from the request: false, except for negated operators (true), ``...IfExists`` (true),
  ``ForAllValues:`` (true) and ``ForAnyValue:`` (false); ``Null`` tests the absence itself;
- ``ForAllValues:`` every request value must satisfy the operator, ``ForAnyValue:`` at least one; an empty
  set of request values (``[]`` or ``""``) makes the first true and the second false ("Single-valued vs.
  multivalued context keys");
- without a set operator, a multivalued request key satisfies a positive operator when one of its values
  does, and a negated operator when none of them matches (not settled by the documentation: see README);
- keys are case-insensitive; values are case-sensitive except for ``...IgnoreCase`` and ``Bool``;
- policy variables are substituted in the values of String, ARN and Bool operators only; a variable with no value
  matches no value, so a negated operator holds for it and a positive one makes the statement invalid.

An operator name we do not know makes :func:`holds` return None: the caller fails closed.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from xacct.iam.variables import Unresolved, parse, render
from xacct.iam.wildcards import as_list, like

Context = Mapping[str, str | list[str]]
# (request value, policy value, context for policy variables or None) -> does the positive form match?
Compare = Callable[[str, str, Context | None], bool]


def _text(policy_value: str, context: Context | None) -> str:
    if context is None:
        return policy_value
    template = parse(policy_value)
    return policy_value if template.constant else render(template, context)


def _string_equals(value: str, policy: str, context: Context | None) -> bool:
    return value == _text(policy, context)


def _string_equals_ignore_case(value: str, policy: str, context: Context | None) -> bool:
    return value.casefold() == _text(policy, context).casefold()


def _string_like(value: str, policy: str, context: Context | None) -> bool:
    return like(policy, value, context)


def _number(text: str) -> Decimal | None:
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


_W3C_DATE = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?)?)?"
    r"(Z|[+-]\d{2}:\d{2})?$"
)


def _instant(text: str) -> Decimal | None:
    """Seconds since the epoch of a W3C ISO 8601 date/time or of an epoch (UNIX) time; None if neither."""
    text = text.strip()
    if re.fullmatch(r"-?\d+(\.\d+)?", text) and not re.fullmatch(r"\d{4}", text):
        return Decimal(text)
    match = _W3C_DATE.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        moment = datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            tzinfo=timezone.utc,
        )
    except ValueError:
        return None
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        moment -= sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    return Decimal(int(moment.timestamp())) + (Decimal(fraction) if fraction else Decimal(0))


def _ordered(parse_value: Callable[[str], Decimal | None], test: Callable[[Decimal, Decimal], bool]) -> Compare:
    def compare(value: str, policy: str, _context: Context | None) -> bool:
        left, right = parse_value(value), parse_value(policy)
        return left is not None and right is not None and test(left, right)

    return compare


def _bool(value: str, policy: str, context: Context | None) -> bool:
    return value.lower() == _text(policy, context).lower()


def _binary(value: str, policy: str, _context: Context | None) -> bool:
    try:
        return base64.b64decode(value, validate=True) == base64.b64decode(policy, validate=True)
    except (binascii.Error, ValueError):
        return False


@lru_cache(maxsize=1024)
def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


def _ip(value: str, policy: str, _context: Context | None) -> bool:
    network = _network(policy)
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return False
    return network is not None and address.version == network.version and address in network


def arn_components(text: str) -> list[str]:
    """The six colon-delimited components of an ARN (the last keeps its colons); a colon inside ``${...}`` is
    part of a policy variable, not a delimiter."""
    parts: list[str] = []
    start, depth = 0, 0
    for index, char in enumerate(text):
        if char == "{" and text[index - 1 : index] == "$":
            depth += 1
        elif char == "}" and depth:
            depth -= 1
        elif char == ":" and not depth and len(parts) < 5:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return parts


def _arn(value: str, policy: str, context: Context | None) -> bool:
    """Each of the six colon-delimited components is matched separately, wildcards within a component."""
    wanted, actual = arn_components(policy) if context is not None else policy.split(":", 5), value.split(":", 5)
    if len(wanted) != 6 or len(actual) != 6:
        return False
    return all(like(w, a, context) for w, a in zip(wanted, actual, strict=True))


def _eq(a: Decimal, b: Decimal) -> bool:
    return a == b


def _lt(a: Decimal, b: Decimal) -> bool:
    return a < b


def _le(a: Decimal, b: Decimal) -> bool:
    return a <= b


def _gt(a: Decimal, b: Decimal) -> bool:
    return a > b


def _ge(a: Decimal, b: Decimal) -> bool:
    return a >= b


@dataclass(frozen=True)
class Base:
    compare: Compare
    negated: bool = False
    variables: bool = False  # may the policy values hold policy variables?


_ORDER = {"Equals": _eq, "LessThan": _lt, "LessThanEquals": _le, "GreaterThan": _gt, "GreaterThanEquals": _ge}

BASES: dict[str, Base] = {
    "StringEquals": Base(_string_equals, variables=True),
    "StringNotEquals": Base(_string_equals, negated=True, variables=True),
    "StringEqualsIgnoreCase": Base(_string_equals_ignore_case, variables=True),
    "StringNotEqualsIgnoreCase": Base(_string_equals_ignore_case, negated=True, variables=True),
    "StringLike": Base(_string_like, variables=True),
    "StringNotLike": Base(_string_like, negated=True, variables=True),
    **{f"Numeric{name}": Base(_ordered(_number, test)) for name, test in _ORDER.items()},
    "NumericNotEquals": Base(_ordered(_number, _eq), negated=True),
    **{f"Date{name}": Base(_ordered(_instant, test)) for name, test in _ORDER.items()},
    "DateNotEquals": Base(_ordered(_instant, _eq), negated=True),
    "Bool": Base(_bool, variables=True),
    "BinaryEquals": Base(_binary),
    "IpAddress": Base(_ip),
    "NotIpAddress": Base(_ip, negated=True),
    "ArnEquals": Base(_arn, variables=True),
    "ArnLike": Base(_arn, variables=True),
    "ArnNotEquals": Base(_arn, negated=True, variables=True),
    "ArnNotLike": Base(_arn, negated=True, variables=True),
}
SET_OPERATORS = ("ForAllValues", "ForAnyValue")


@dataclass(frozen=True)
class Operator:
    """A condition operator as written: ``[ForAllValues:|ForAnyValue:]<base>[IfExists]``, or ``Null``."""

    base: Base | None  # None for Null
    qualifier: str | None = None
    if_exists: bool = False


@lru_cache(maxsize=256)
def operator(name: str) -> Operator | None:
    """The operator named ``name`` (case-sensitive, as IAM spells them), or None if there is none."""
    if name == "Null":
        return Operator(None)
    qualifier, _, rest = name.rpartition(":")
    if qualifier and qualifier not in SET_OPERATORS:
        return None
    if_exists = rest.endswith("IfExists")
    base = BASES.get(rest[: -len("IfExists")] if if_exists else rest)
    if base is None:
        return None
    return Operator(base, qualifier or None, if_exists)


def _policy_values(raw: Any) -> list[str]:
    out = []
    for value in as_list(raw):
        if isinstance(value, bool):
            out.append("true" if value else "false")
        elif isinstance(value, (int, float, str)):
            out.append(str(value))
    return out


def _null(policy_values: list[str], present: str | list[str] | None) -> bool:
    absent = present is None or present == []
    return any(p.lower() == ("true" if absent else "false") for p in policy_values)


def key_holds(
    op: Operator,
    raw_values: Any,
    present: str | list[str] | None,
    context: Context,
    *,
    variables: bool = True,
) -> bool:
    """Does one condition key satisfy its operator? ``present`` is the request's value, None when absent.

    Raises :class:`xacct.iam.variables.Unresolved` when a policy value names a variable without a value.
    """
    policy_values = _policy_values(raw_values)
    base = op.base
    if base is None:
        return _null(policy_values, present)
    if present is None:
        if op.if_exists or op.qualifier == "ForAllValues":
            return True
        if op.qualifier == "ForAnyValue":
            return False
        return base.negated
    substitute = context if variables and base.variables else None

    def compare(value: str, policy_value: str) -> bool:
        try:
            return base.compare(value, policy_value, substitute)
        except Unresolved:
            # "Policy variables with no value" (IAM policy elements: Variables and tags): a variable with no value
            # has no equal or like value; the negated operators (StringNotEquals, StringNotLike, ArnNotEquals,
            # ArnNotLike...) therefore match it. For a positive operator the statement is invalid (the caller).
            if base.negated:
                return False
            raise

    def positive(value: str) -> bool:
        return any(compare(value, p) for p in policy_values)

    values = [present] if isinstance(present, str) else present
    if op.qualifier is not None:
        if not values or values == [""]:  # an empty data set
            return op.qualifier == "ForAllValues"
        each = (positive(v) != base.negated for v in values)
        return all(each) if op.qualifier == "ForAllValues" else any(each)
    return any(positive(v) for v in values) != base.negated


def holds(conditions: Mapping[str, Any], context: Context, *, variables: bool = True) -> bool | None:
    """Every key of every operator block holds (``context`` keyed lower-case); None for an unknown operator.

    ``variables``: substitute policy variables (the document's Version is 2012-10-17).
    """
    parsed = []
    for name, entries in conditions.items():
        op = operator(name)
        if op is None or not isinstance(entries, Mapping):
            return None
        parsed.append((op, entries))
    return all(
        key_holds(op, expected, context.get(key.lower()), context, variables=variables)
        for op, entries in parsed
        for key, expected in entries.items()
    )


def conditions_hold(statement: Mapping[str, Any], context: Mapping[str, str | list[str]]) -> bool | None:
    """Does the statement's Condition element hold for this request context? None: an operator we do not know.

    Policy variables in condition values are substituted (use :func:`xacct.iam.evaluate` to honour the
    document's Version). Raises :class:`xacct.iam.variables.Unresolved` for a variable without a value.
    """
    conditions = statement.get("Condition")
    if not conditions:
        return True
    return holds(conditions, {key.lower(): value for key, value in context.items()})
