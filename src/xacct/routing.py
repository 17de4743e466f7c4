"""Route selection as HTTP APIs do it.

Exact routes first, then the most specific route with {param} segments (a literal segment beats a parameter,
earlier segments weigh more), then the greedy {proxy+} route with the longest literal prefix, then $default.
A route for the request's method beats an ANY route of the same path.

Routes are matched against the request's *decoded* path (``request_path``): "API Gateway decodes URL-encoded
request parameters before passing them to your backend integration" ("Create routes for HTTP APIs in API
Gateway", http-api-develop-routes.html), and a path whose segment carries ``%2F`` is routed as two segments
(Stack Overflow "How to encode parameters for AWS API Gateway (HTTP API)?": ``/a%2Fb/thing`` is 404 for the
route ``/{example}/thing``, ``/a%252Fb/thing`` matches it). AWS's pages say nothing of dot segments (``.``,
``..``): they are removed as RFC 3986 section 5.2.4 removes them, so that the route, the ``execute-api`` ARN and
the path the integration receives are one and the same (docs/local-aws.md says this is the local AWS's choice).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar
from urllib.parse import quote, unquote

# RFC 3986 pchar (unreserved, sub-delims, ":" and "@") and "/": what a path may carry without percent-encoding.
_PATH_SAFE = "/!$&'()*+,;=:@-._~"
_PARAM = re.compile(r"^\{([A-Za-z_][A-Za-z0-9_]*)\}$")
_GREEDY = re.compile(r"^\{([A-Za-z_][A-Za-z0-9_]*)\+\}$")


class HasRouteKey(Protocol):
    @property
    def route_key(self) -> str: ...


R = TypeVar("R", bound=HasRouteKey)


@dataclass(frozen=True)
class RouteMatch(Generic[R]):
    route: R
    path_params: dict[str, str]  # the values in the path matched (request_path: decoded), {proxy+} as "proxy"


def remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4 for an absolute path: ``/a/b/../c/./d`` is ``/a/c/d``; ``//`` stays."""
    output: list[str] = []
    segments = path.split("/")[1:]
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == ".":
            if last:
                output.append("")
        elif segment == "..":
            if output:
                output.pop()
            if last:
                output.append("")
        else:
            output.append(segment)
    return "/" + "/".join(output)


def request_path(raw_path: str) -> str:
    """The path an HTTP API routes and authorizes: ``raw_path`` (as sent) percent-decoded once, dot segments removed.

    Bytes that are not UTF-8 stay as surrogates (``encoded_path`` gives them back as they were).
    """
    if "%" not in raw_path and "/." not in raw_path:
        return raw_path
    return remove_dot_segments(unquote(raw_path, errors="surrogateescape"))


def encoded_path(path: str) -> str:
    """A decoded path (``request_path``) percent-encoded again for a request target: ``/a b/%2F`` is ``/a%20b/%252F``.

    The bytes a path segment may carry as they are (RFC 3986 pchar) stay as they are.
    """
    return quote(path, safe=_PATH_SAFE, errors="surrogateescape")


def _segments(path: str) -> list[str]:
    return path.split("/")[1:] if path != "/" else []


def _match(pattern: list[str], segments: list[str]) -> tuple[tuple[int, ...], dict[str, str]] | None:
    """(rank, params) when the route path matches; a lower rank is more specific."""
    params: dict[str, str] = {}
    if pattern and _GREEDY.match(pattern[-1]):
        fixed, greedy = pattern[:-1], _GREEDY.match(pattern[-1])
        if len(segments) <= len(fixed):
            return None
        assert greedy is not None
        params[greedy.group(1)] = "/".join(segments[len(fixed) :])
    else:
        fixed, greedy = pattern, None
        if len(segments) != len(fixed):
            return None
    shape = []
    for want, got in zip(fixed, segments, strict=False):
        param = _PARAM.match(want)
        if param:
            if not got:
                return None
            params[param.group(1)] = got
            shape.append(1)
        elif want == got:
            shape.append(0)
        else:
            return None
    if greedy is not None:
        return (2, -len(fixed), *shape), params
    if any(shape):
        return (1, *shape), params
    return (0,), params


def select_route(routes: Iterable[R], method: str, path: str) -> RouteMatch[R] | None:
    """The route an HTTP API would pick for ``method`` and the decoded ``path`` (``request_path``), or None (404)."""
    segments = _segments(path)
    best: tuple[tuple[int, ...], RouteMatch[R]] | None = None
    default: R | None = None
    for route in routes:
        key = route.route_key
        if key == "$default":
            default = route
            continue
        route_method, _, route_path = key.partition(" ")
        if route_method not in ("ANY", method):
            continue
        matched = _match(_segments(route_path), segments)
        if matched is None:
            continue
        rank = (*matched[0], 1 if route_method == "ANY" else 0)
        if best is None or rank < best[0]:
            best = (rank, RouteMatch(route, matched[1]))
    if best is not None:
        return best[1]
    if default is not None:
        return RouteMatch(default, {})
    return None
