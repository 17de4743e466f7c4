"""Every STS request checked against STS's own constraints before anything else, answered as STS answers.

The constraints (required members, min/max lengths and values, patterns, enums, list sizes) come from the STS
service model botocore ships (``botocore/data/sts/*/service-2.json``, the model AWS generates its SDKs from), read
once per operation: nothing here lists a parameter by hand. What the model cannot say is added in ``_RULES``, each
citing its page. The answer is STS's ``ValidationError`` (400) with AWS's wording, e.g. "1 validation error
detected: Value 'a' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or
equal to 2"; several violations, of one member or several, are counted and joined with "; ", a pattern before a
length (the order and wording STS sends: goldstack/goldstack#425 for a value below its minimum, the argmin STS
suite's role-session-name cases for the rest). A sensitive member's value (a web identity token, a SAML assertion)
is never repeated.

Model patterns are Java regular expressions: ``\\w`` and ``\\d`` are ASCII there (``é`` is not a session-name
character), ``\\p{L}``/``\\p{N}``/``\\p{Z}`` are Unicode categories, and ``\\u10000-\\u10FFFF`` is the models' way of
writing the supplementary planes. ``java_pattern`` translates them for Python's ``re``.
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import botocore.session
from botocore.model import ListShape, Shape, StringShape, StructureShape

SERVICE = "sts"
_UNICODE_ESCAPE = re.compile(r"\\u(10[0-9A-Fa-f]{4}|[0-9A-Fa-f]{5}(?![0-9A-Fa-f])|[0-9A-Fa-f]{4})")
_CATEGORY = re.compile(r"\\p\{([A-Z][a-z]?)\}")
_MEMBER_INDEX = re.compile(r"\.member\.(\d+)(?:\.|$)")


@functools.cache
def _categories() -> dict[str, list[tuple[int, int]]]:
    """Every Unicode general category's code points as ranges (one pass over the code space, once a process)."""
    ranges: dict[str, list[tuple[int, int]]] = {}
    for code in range(sys.maxunicode + 1):
        spans = ranges.setdefault(unicodedata.category(chr(code)), [])
        if spans and spans[-1][1] == code - 1:
            spans[-1] = (spans[-1][0], code)
        else:
            spans.append((code, code))
    return ranges


def _category_class(category: str) -> str:
    """A Unicode general category (``L``, ``N``, ``Z``, or ``Lu``...) as the body of a character class."""
    spans = [span for name, found in _categories().items() if name.startswith(category) for span in found]
    return "".join(f"\\U{a:08x}" if a == b else f"\\U{a:08x}-\\U{b:08x}" for a, b in sorted(spans))


_ASCII_CLASSES = {"w": "A-Za-z0-9_", "d": "0-9", "s": " \\t\\n\\x0b\\f\\r"}


@functools.cache
def java_pattern(pattern: str) -> re.Pattern[str]:
    """A model's Java regular expression as a Python one (matched against the whole value)."""
    out: list[str] = []
    in_class, index = False, 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            unicode = _UNICODE_ESCAPE.match(pattern, index)
            category = _CATEGORY.match(pattern, index)
            name = pattern[index + 1]
            if unicode:
                out.append(f"\\U{int(unicode[1], 16):08x}")
                index = unicode.end()
                continue
            if category:
                body = _category_class(category[1])
                out.append(body if in_class else f"[{body}]")
                index = category.end()
                continue
            if name in _ASCII_CLASSES:  # Java's \w, \d, \s are ASCII unless told otherwise
                body = _ASCII_CLASSES[name]
                out.append(body if in_class else f"[{body}]")
            else:
                out.append(pattern[index : index + 2])
            index += 2
            continue
        if char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class:
            in_class = False
        out.append(char)
        index += 1
    return re.compile("".join(out))


@dataclass(frozen=True)
class _Value:
    at: str  # the member's name in AWS's messages: roleSessionName, tags.1.member.key
    text: str | None  # the value as sent, None when absent
    sensitive: bool

    def shown(self) -> str:
        if self.text is None:
            return "Value null"
        return "Value" if self.sensitive else f"Value '{self.text}'"


def _message_name(name: str) -> str:
    return name[:1].lower() + name[1:]


def _violations(shape: Shape, value: _Value) -> list[str]:
    """What ``value`` (a scalar) breaks of ``shape``'s constraints, pattern first, as STS lists them."""
    assert value.text is not None
    meta = shape.metadata
    found: list[str] = []
    if shape.type_name in ("integer", "long"):
        try:
            number = int(value.text)
        except ValueError:
            return ["Member must be a number"]
        if "min" in meta and number < meta["min"]:
            found.append(f"Member must have value greater than or equal to {meta['min']}")
        if "max" in meta and number > meta["max"]:
            found.append(f"Member must have value less than or equal to {meta['max']}")
        return found
    if isinstance(shape, StringShape) and shape.enum and value.text not in shape.enum:
        found.append(f"Member must satisfy enum value set: [{', '.join(shape.enum)}]")
    if "pattern" in meta and not java_pattern(meta["pattern"]).fullmatch(value.text):
        found.append(f"Member must satisfy regular expression pattern: {meta['pattern']}")
    if "min" in meta and len(value.text) < meta["min"]:
        found.append(f"Member must have length greater than or equal to {meta['min']}")
    if "max" in meta and len(value.text) > meta["max"]:
        found.append(f"Member must have length less than or equal to {meta['max']}")
    return found


def _list_items(params: Mapping[str, str], prefix: str) -> list[str]:
    """The item prefixes of a query-protocol list (``Tags.member.1``, ``Tags.member.2``...), in index order."""
    indexes = set()
    for key in params:
        if key.startswith(f"{prefix}.member."):
            match = _MEMBER_INDEX.match(key, len(prefix))
            if match:
                indexes.add(int(match[1]))
    return [f"{prefix}.member.{index}" for index in sorted(indexes)]


def _check(
    shape: Shape, params: Mapping[str, str], key: str, at: str, required: bool, errors: list[tuple[_Value, str]]
) -> None:
    sensitive = bool(shape.metadata.get("sensitive"))
    if isinstance(shape, StructureShape):
        present = any(k == key or k.startswith(f"{key}.") for k in params) if key else True
        if not present:
            if required:
                errors.append((_Value(at, None, sensitive), "Member must not be null"))
            return
        for name, member in shape.members.items():
            child_key = (
                f"{key}.{member.serialization.get('name', name)}" if key else member.serialization.get("name", name)
            )
            child_at = f"{at}.{_message_name(name)}" if at else _message_name(name)
            _check(member, params, child_key, child_at, name in shape.required_members, errors)
        return
    if isinstance(shape, ListShape):
        items = _list_items(params, key)
        if not items and key not in params:
            if required:
                errors.append((_Value(at, None, sensitive), "Member must not be null"))
            return
        meta, shown = shape.metadata, _Value(at, f"[{', '.join(params.get(i, '...') for i in items)}]", sensitive)
        if "min" in meta and len(items) < meta["min"]:
            errors.append((shown, f"Member must have length greater than or equal to {meta['min']}"))
        if "max" in meta and len(items) > meta["max"]:
            errors.append((shown, f"Member must have length less than or equal to {meta['max']}"))
        for number, item in enumerate(items, start=1):
            _check(shape.member, params, item, f"{at}.{number}.member", True, errors)
        return
    text = params.get(key)
    value = _Value(at, text, sensitive)
    if text is None:
        if required:
            errors.append((value, "Member must not be null"))
        return
    errors.extend((value, problem) for problem in _violations(shape, value))


def _message(errors: list[tuple[_Value, str]]) -> str:
    count = len(errors)
    listed = "; ".join(
        f"{value.shown()} at '{value.at}' failed to satisfy constraint: {problem}" for value, problem in errors
    )
    return f"{count} validation error{'s' if count > 1 else ''} detected: {listed}"


# -- what the model cannot say -----------------------------------------------------------------------------------


def _assume_role_rules(params: Mapping[str, str]) -> list[tuple[_Value, str]]:
    """AssumeRole's documented limits the model leaves out ("AssumeRole", STS API Reference):

    - PolicyArns: "You can provide up to 10 managed policy ARNs";
    - Policy: "The plaintext that you use for both inline and managed session policies can't exceed 2,048
      characters" (the model's unrestrictedSessionPolicyDocumentType has no maximum; the other operations' policy
      type has max 2048, whose wording this borrows; the page gives none).

    SourceIdentity's reserved prefix ("You cannot use a value that begins with the text aws:") needs no rule: the
    model's pattern ``[\\w+=,.@-]*`` has no ":" and refuses it already.
    """
    errors: list[tuple[_Value, str]] = []
    arns = _list_items(params, "PolicyArns")
    if len(arns) > 10:
        shown = _Value("policyArns", f"[{', '.join(params.get(f'{a}.arn', '') for a in arns)}]", False)
        errors.append((shown, "Member must have length less than or equal to 10"))
    policy = params.get("Policy")
    if policy is not None and len(policy) > 2048:
        errors.append((_Value("policy", policy, False), "Member must have length less than or equal to 2048"))
    return errors


_RULES: dict[str, Callable[[Mapping[str, str]], list[tuple[_Value, str]]]] = {"AssumeRole": _assume_role_rules}


@functools.cache
def _input_shape(action: str) -> StructureShape | None:
    model = botocore.session.get_session().get_service_model(SERVICE)
    if action not in model.operation_names:
        return None
    shape = model.operation_model(action).input_shape
    return shape if isinstance(shape, StructureShape) else None


def validation_error(params: Mapping[str, str]) -> str | None:
    """STS's ValidationError message for the request's parameters (``Action`` names the operation), or None.

    An action the model does not know is left to the service (it answers ``InvalidAction``).
    """
    action = params.get("Action", "")
    shape = _input_shape(action)
    if shape is None:
        return None
    errors: list[tuple[_Value, str]] = []
    _check(shape, params, "", "", True, errors)
    rule = _RULES.get(action)
    if rule is not None:
        errors.extend(rule(params))
    return _message(errors) if errors else None
