"""A FastAPI API server behind the gateway: the middleware seals it and tells each route who called.

Run it with any ASGI server (``uvicorn fastapi_app:app``); ``XACCT_ORIGIN_SECRET`` is the provider module's
``origin_secret`` output and ``XACCT_INVOKE_ROLE_ARNS`` its ``invoke_role_arns`` output as JSON (``terraform output
-json invoke_role_arns``). tests/test_backend.py and tests/test_review_attacks.py serve this file behind the local
gateway.
"""

from __future__ import annotations

import json
import os
from typing import Any

from fastapi import FastAPI, Request

from xacct.backend import AsgiMiddleware, Caller

app = FastAPI()
invoke_roles = json.loads(os.environ["XACCT_INVOKE_ROLE_ARNS"])
app.add_middleware(AsgiMiddleware, invoke_roles=invoke_roles, origin_secret=os.environ["XACCT_ORIGIN_SECRET"])


@app.api_route("/whoami", methods=["GET", "POST"])
def whoami(request: Request) -> dict[str, Any]:
    caller: Caller = request.scope["xacct.caller"]
    return {
        "arn": caller.arn,
        "consumer_account_id": caller.consumer_account_id,
        "invoke_role_name": caller.invoke_role_name,
        "route_key": caller.route_key,
        "headers": sorted(request.headers.keys()),
    }
