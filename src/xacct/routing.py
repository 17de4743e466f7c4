"""Route selection as HTTP APIs do it.

Exact routes first, then the most specific route with {param} segments (a literal segment beats a parameter,
earlier segments weigh more), then the greedy {proxy+} route with the longest literal prefix, then $default.
A route for the request's method beats an ANY route of the same path.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

_PARAM = re.compile(r"^\{([A-Za-z_][A-Za-z0-9_]*)\}$")
_GREEDY = re.compile(r"^\{([A-Za-z_][A-Za-z0-9_]*)\+\}$")


class HasRouteKey(Protocol):
    @property
    def route_key(self) -> str: ...


R = TypeVar("R", bound=HasRouteKey)


@dataclass(frozen=True)
class RouteMatch(Generic[R]):
    route: R
    path_params: dict[str, str]  # raw (still percent-encoded) values, {proxy+} as "proxy"


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
    """The route an HTTP API would pick for ``method`` and the raw ``path``, or None (404)."""
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
