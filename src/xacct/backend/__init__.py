"""For the API server behind the gateway: who called, and a seal so that nobody gets around the gateway.

Three lines in a Flask app::

    from xacct.backend import WsgiMiddleware
    app.wsgi_app = WsgiMiddleware(app.wsgi_app, origin_secret=os.environ["ORIGIN_SECRET"])
    caller = request.environ["xacct.caller"]  # in a view: a Caller

and in a FastAPI app::

    from xacct.backend import AsgiMiddleware
    app.add_middleware(AsgiMiddleware, origin_secret=os.environ["ORIGIN_SECRET"])
    caller = request.scope["xacct.caller"]

A Lambda function behind an AWS_PROXY integration (payload format 2.0) calls
``caller_from_lambda_event(event)``. ``payloads=PayloadBucket(name, session)`` adds the large-payload hand-off
(``xacct.payloads``). Installs with the client: no web framework is imported here.
"""

from xacct.backend.asgi import AsgiMiddleware
from xacct.backend.caller import Caller, caller_from_lambda_event
from xacct.backend.errors import BackendConfigError, CallerNotVerified, NoIamAuthorizer
from xacct.backend.gate import CALLER_HEADER, CALLER_KEY, DEFAULT_ORIGIN_HEADER, SIGNED_HEADERS
from xacct.backend.payloads import PayloadBucket, PayloadRefused
from xacct.backend.wsgi import WsgiMiddleware

__all__ = [
    "CALLER_HEADER",
    "CALLER_KEY",
    "DEFAULT_ORIGIN_HEADER",
    "SIGNED_HEADERS",
    "AsgiMiddleware",
    "BackendConfigError",
    "Caller",
    "CallerNotVerified",
    "NoIamAuthorizer",
    "PayloadBucket",
    "PayloadRefused",
    "WsgiMiddleware",
    "caller_from_lambda_event",
]
