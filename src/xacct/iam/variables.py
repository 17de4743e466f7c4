"""Policy variables ("IAM policy elements: Variables and tags"): ``${aws:username}``, defaults, ``${*}``.

A policy string is parsed once (cached) into a :class:`Template`: literal runs, variables and the three
special characters. Rendering a template against a request context gives either a plain string (for the
equality operators) or a regex (for the wildcard operators and the Resource element), where a resolved
variable's value and ``${*}``/``${?}``/``${$}`` are literal characters, never wildcards.

- Variables are substituted only in documents whose ``Version`` is ``2012-10-17``; with an earlier or no
  Version, ``${aws:username}`` is a literal string (the page's note on the Version element).
- Key names are case-insensitive; a default is written ``${key, 'default'}``.
- A multivalued context key cannot be a policy variable ("Single-valued vs. multivalued context keys":
  "you can't use multivalued context keys as policy variables"): a list value does not resolve.
- A variable that does not resolve and has no default raises :class:`Unresolved`; the evaluator then treats
  the statement as not matching the request.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

VARIABLES_VERSION = "2012-10-17"
SPECIAL = {"*": "*", "?": "?", "$": "$"}

# ${name} or ${name, 'default'}; a default may not contain "'" (the page documents no escape for it).
_VARIABLE = re.compile(r"\$\{\s*([^{}',\s]+)\s*(?:,\s*'([^']*)'\s*)?\}")


class Unresolved(Exception):
    """A policy variable has no value in the request context and no default."""

    def __init__(self, name: str) -> None:
        super().__init__(f"policy variable ${{{name}}} has no value in the request context")
        self.name = name


@dataclass(frozen=True)
class Variable:
    key: str  # lower-cased context key
    default: str | None


@dataclass(frozen=True)
class Char:
    """``${*}``, ``${?}`` or ``${$}``: that character, literally."""

    char: str


Part = str | Variable | Char


@dataclass(frozen=True)
class Template:
    parts: tuple[Part, ...]
    constant: bool  # no variable and no special character: the text as written


@lru_cache(maxsize=4096)
def parse(text: str) -> Template:
    """Split ``text`` into literal runs, variables and special characters."""
    parts: list[Part] = []
    position = 0
    for match in _VARIABLE.finditer(text):
        if match.start() > position:
            parts.append(text[position : match.start()])
        name, default = match.group(1), match.group(2)
        if name in SPECIAL and default is None:
            parts.append(Char(name))
        else:
            parts.append(Variable(name.lower(), default))
        position = match.end()
    if position < len(text):
        parts.append(text[position:])
    return Template(tuple(parts), all(isinstance(part, str) for part in parts))


def _value(variable: Variable, context: Mapping[str, str | list[str]]) -> str:
    value = context.get(variable.key)
    if isinstance(value, str):
        return value
    if variable.default is not None:
        return variable.default
    raise Unresolved(variable.key)


def render(template: Template, context: Mapping[str, str | list[str]]) -> str:
    """The template with its variables replaced (``context`` keyed lower-case); Unresolved if one has no value."""
    out: list[str] = []
    for part in template.parts:
        if isinstance(part, str):
            out.append(part)
        elif isinstance(part, Char):
            out.append(part.char)
        else:
            out.append(_value(part, context))
    return "".join(out)


def wildcard_source(text: str) -> str:
    """Regex source for IAM wildcards: ``*`` any run of characters, ``?`` one character, the rest literal."""
    return "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text)


def render_pattern(template: Template, context: Mapping[str, str | list[str]]) -> str:
    """Regex source: wildcards in the policy's own text, variable values and ``${*}`` etc. as literals."""
    out: list[str] = []
    for part in template.parts:
        if isinstance(part, str):
            out.append(wildcard_source(part))
        elif isinstance(part, Char):
            out.append(re.escape(part.char))
        else:
            out.append(re.escape(_value(part, context)))
    return "".join(out)
