"""For the API server behind the gateway: who called, and a seal so that nobody gets around the gateway.

Three lines in a Flask app::

    from xacct.backend import WsgiMiddleware
    app.wsgi_app = WsgiMiddleware(app.wsgi_app, invoke_roles=json.loads(os.environ["INVOKE_ROLE_ARNS"]),
                                  origin_secret=os.environ["ORIGIN_SECRET"])
    caller = request.environ["xacct.caller"]  # in a view: a Caller

and in a FastAPI app::

    from xacct.backend import AsgiMiddleware
    app.add_middleware(AsgiMiddleware, invoke_roles=json.loads(os.environ["INVOKE_ROLE_ARNS"]),
                       origin_secret=os.environ["ORIGIN_SECRET"])
    caller = request.scope["xacct.caller"]

A Lambda function behind an AWS_PROXY integration (payload format 2.0) calls
``caller_from_lambda_event(event, invoke_roles=...)``. ``invoke_roles`` is the provider module's
``invoke_role_arns`` output: only those roles' session names name a consumer account. By default a session of any
other role is refused, and so is a request whose path is not one the route the gateway authorized serves.
``payloads=PayloadBucket(name, session)`` adds the large-payload hand-off
(``xacct.payloads``). Installs with the client: no web framework is imported here.
"""

from xacct.backend.asgi import AsgiMiddleware
from xacct.backend.caller import Caller, InvokeRoles, caller_from_lambda_event
from xacct.backend.errors import BackendConfigError, CallerNotVerified, NoIamAuthorizer, NotAnInvokeRole, RouteMismatch
from xacct.backend.gate import CALLER_HEADER, CALLER_KEY, DEFAULT_ORIGIN_HEADER, SIGNED_HEADERS, USER_ID_HEADER
from xacct.backend.payloads import PayloadBucket, PayloadRefused
from xacct.backend.route import ROUTE_HEADER
from xacct.backend.wsgi import WsgiMiddleware

__all__ = [
    "CALLER_HEADER",
    "CALLER_KEY",
    "DEFAULT_ORIGIN_HEADER",
    "ROUTE_HEADER",
    "SIGNED_HEADERS",
    "USER_ID_HEADER",
    "AsgiMiddleware",
    "BackendConfigError",
    "Caller",
    "CallerNotVerified",
    "InvokeRoles",
    "NoIamAuthorizer",
    "NotAnInvokeRole",
    "PayloadBucket",
    "PayloadRefused",
    "RouteMismatch",
    "WsgiMiddleware",
    "caller_from_lambda_event",
]
