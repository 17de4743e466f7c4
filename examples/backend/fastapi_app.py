"""A FastAPI API server behind the gateway: the middleware seals it and tells each route who called.

Run it with any ASGI server (``uvicorn fastapi_app:app``); ``XACCT_ORIGIN_SECRET`` is the provider module's
``origin_secret`` output. tests/test_backend.py serves this file behind the local gateway.
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI, Request

from xacct.backend import AsgiMiddleware, Caller

app = FastAPI()
app.add_middleware(AsgiMiddleware, origin_secret=os.environ["XACCT_ORIGIN_SECRET"])


@app.api_route("/whoami", methods=["GET", "POST"])
def whoami(request: Request) -> dict[str, Any]:
    caller: Caller = request.scope["xacct.caller"]
    return {
        "arn": caller.arn,
        "consumer_account_id": caller.consumer_account_id,
        "invoke_role_name": caller.invoke_role_name,
        "headers": sorted(request.headers.keys()),
    }
