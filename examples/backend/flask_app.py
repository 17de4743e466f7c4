"""A Flask API server behind the gateway: the middleware seals it and tells each view who called.

Run it with any WSGI server (``gunicorn flask_app:app``); ``XACCT_ORIGIN_SECRET`` is the provider module's
``origin_secret`` output. tests/test_backend.py serves this file behind the local gateway.
"""

from __future__ import annotations

import os

from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue

from xacct.backend import Caller, WsgiMiddleware

app = Flask(__name__)
app.wsgi_app = WsgiMiddleware(app.wsgi_app, origin_secret=os.environ["XACCT_ORIGIN_SECRET"])  # type: ignore[method-assign]


@app.route("/whoami", methods=["GET", "POST"])
def whoami() -> ResponseReturnValue:
    caller: Caller = request.environ["xacct.caller"]
    return jsonify(
        arn=caller.arn,
        consumer_account_id=caller.consumer_account_id,
        invoke_role_name=caller.invoke_role_name,
        headers=sorted(name.lower() for name, _ in request.headers.items()),
    )
