"""IAM wildcard matching (``*`` any run of characters, ``/`` included; ``?`` one character), compiled once."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from xacct.iam.variables import parse, render_pattern, wildcard_source


@lru_cache(maxsize=8192)
def compiled(source: str, ignore_case: bool) -> re.Pattern[str]:
    return re.compile(f"^(?:{source})$", re.DOTALL | (re.IGNORECASE if ignore_case else 0))


@lru_cache(maxsize=4096)
def _constant(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    return compiled(wildcard_source(pattern), ignore_case)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def matches(patterns: Any, value: str, *, ignore_case: bool = False) -> bool:
    """Does ``value`` match one of ``patterns`` (a string or a list), IAM wildcards ``*`` and ``?``?"""
    return any(_constant(str(p), ignore_case).match(value) for p in as_list(patterns))


def like(
    pattern: str,
    value: str,
    context: Mapping[str, str | list[str]] | None,
    *,
    ignore_case: bool = False,
) -> bool:
    """``matches`` for one pattern, with policy variables substituted when ``context`` is given.

    Raises :class:`xacct.iam.variables.Unresolved` when a variable has no value and no default.
    """
    if context is None:
        return _constant(pattern, ignore_case).match(value) is not None
    template = parse(pattern)
    if template.constant:
        return _constant(pattern, ignore_case).match(value) is not None
    return compiled(render_pattern(template, context), ignore_case).match(value) is not None
