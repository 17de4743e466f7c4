"""A Flask API server behind the gateway: the middleware seals it and tells each view who called.

Run it with any WSGI server (``gunicorn flask_app:app``); ``XACCT_ORIGIN_SECRET`` is the provider module's
``origin_secret`` output and ``XACCT_INVOKE_ROLE_ARNS`` its ``invoke_role_arns`` output as JSON (``terraform output
-json invoke_role_arns``). tests/test_backend.py and tests/test_review_attacks.py serve this file behind the local
gateway.
"""

from __future__ import annotations

import json
import os

from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue

from xacct.backend import Caller, WsgiMiddleware

app = Flask(__name__)
invoke_roles = json.loads(os.environ["XACCT_INVOKE_ROLE_ARNS"])
app.wsgi_app = WsgiMiddleware(app.wsgi_app, invoke_roles=invoke_roles, origin_secret=os.environ["XACCT_ORIGIN_SECRET"])  # type: ignore[method-assign]


@app.route("/whoami", methods=["GET", "POST"])
def whoami() -> ResponseReturnValue:
    caller: Caller = request.environ["xacct.caller"]
    return jsonify(
        arn=caller.arn,
        consumer_account_id=caller.consumer_account_id,
        invoke_role_name=caller.invoke_role_name,
        route_key=caller.route_key,
        headers=sorted(name.lower() for name, _ in request.headers.items()),
    )
