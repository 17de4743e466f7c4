"""The route API Gateway authorized, checked against the path the app will route.

An invoke role is allowed its routes, and API Gateway decides that on the route *it* selected for the request.
An app that routes on its own reading of the path can serve another route than the one authorized. API Gateway
decodes the path once before it routes (``GET /items/1%2Fsecret`` is ``GET /items/{id}/secret``, as a WSGI
server's ``PATH_INFO`` reads it too), but a proxy in between, or a server that decodes again or collapses dot
segments (``/items/x/../admin`` into ``/admin``), can still move a call. So, by default, the middlewares
refuse a request whose decoded path is not one the authorized route serves (route selection as HTTP APIs do it,
``xacct.routing``), and any path with an encoded slash or backslash (``%2F``, ``%5C``) or a dot segment (``.``,
``..``, ``%2E``...), which no client of a route-shaped API needs.

``$default`` is the route of requests no other route takes: any path matches it, so only the encoding checks apply.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from xacct.routing import select_route

ROUTE_HEADER = "x-route-key"
_ENCODED_SEPARATOR = re.compile(r"%(2f|5c)", re.IGNORECASE)


@dataclass(frozen=True)
class _Key:
    route_key: str


def route_problem(route_key: str | None, method: str, path: str, raw_path: str | None = None) -> str | None:
    """Why the request must not reach the app, or None.

    ``path`` is the decoded path the app routes on (the part after any ``path_prefix``); ``raw_path`` the request
    target's path as sent (still percent-encoded), when the server tells it.
    """
    if raw_path is not None:
        raw = raw_path.split("?", 1)[0]
        if _ENCODED_SEPARATOR.search(raw):
            return (
                f"the path {raw[:200]!r} carries an encoded slash or backslash (%2F, %5C): the gateway routed it as "
                "one segment, and the app would read it as two"
            )
        if any(unquote(segment) in (".", "..") for segment in raw.split("/")):
            return f"the path {raw[:200]!r} has a dot segment (. or ..), which a server may collapse into another route"
    if any(segment in (".", "..") for segment in path.split("/")):
        return f"the path {path[:200]!r} has a dot segment (. or ..), which a server may collapse into another route"
    if route_key is None:
        return (
            f"no {ROUTE_HEADER}: the gateway's integration must set it to $context.routeKey (modules/provider_api does)"
        )
    if route_key == "$default":
        return None
    route_path = route_key.partition(" ")[2]
    if not route_path.startswith("/"):
        return f"the authorized route {route_key[:200]!r} is not a route key (METHOD /path, or $default)"
    if select_route([_Key(route_key)], method.upper(), path or "/") is None:
        return (
            f"{method} {path[:200]!r} is not served by the route the gateway authorized, {route_key}: the app would "
            "route it elsewhere"
        )
    return None


def lambda_route_problem(event: Mapping[str, Any], route_key: str | None) -> str | None:
    """``route_problem`` for a payload 2.0 event: ``rawPath`` (its stage removed) against ``routeKey``.

    For a stage other than ``$default``, ``rawPath`` starts with the stage (``/prod/items/1``): AWS's page "Create
    AWS Lambda proxy integrations for HTTP APIs" shows only a ``$default`` example, and the stage prefix is what
    users of Lambda web adapters report (e.g. Mangum's ``api_gateway_base_path`` exists to remove it). A leading
    ``/<stage>`` is removed before the route is matched.
    """
    context = event.get("requestContext")
    http = context.get("http") if isinstance(context, Mapping) else None
    method = http.get("method") if isinstance(http, Mapping) else None
    raw = event.get("rawPath")
    if not isinstance(method, str) or not isinstance(raw, str):
        return "the event has no requestContext.http.method or rawPath (an HTTP API payload 2.0 event has both)"
    stage = context.get("stage") if isinstance(context, Mapping) else None
    if isinstance(stage, str) and stage and stage != "$default":
        if raw == f"/{stage}":
            raw = "/"
        elif raw.startswith(f"/{stage}/"):
            raw = raw[len(stage) + 1 :]
    return route_problem(route_key, method, unquote(raw), raw)
