"""The IAM policy engine (pure Python, no moto): one evaluator for the local AWS and the access report.

Built from AWS's IAM User Guide, page by page (docs/local-aws.md, "IAM policy evaluation (xacct.iam)", has the table):

- :mod:`xacct.iam.wildcards`: ``*`` (any run of characters, ``/`` included) and ``?`` (one character) are the
  only special characters, so ``$default`` or ``.`` in an ARN are literal; actions match case-insensitively,
  resources case-sensitively; compiled patterns are cached;
- :mod:`xacct.iam.variables`: policy variables (``${aws:username}``, ``${aws:PrincipalTag/x}``, defaults
  ``${key, 'default'}``, ``${*}``/``${?}``/``${$}``) in Resource and in String/ARN/Bool condition values;
- :mod:`xacct.iam.conditions`: every condition operator, ``...IfExists``, ``ForAllValues:``/``ForAnyValue:``,
  ``Null``, multivalued keys (context values are ``str`` or ``list[str]``), case-insensitive keys;
- :mod:`xacct.iam.evaluate`: NotAction/NotResource, Deny beats Allow, boundaries and session policies
  intersect with the identity policies;
- :mod:`xacct.iam.decision`: the one authorization decision - which Principal names which requester, same account
  and cross account, what a boundary or session policy does to a resource-based grant, anonymous requests.

An operator name IAM does not define fails closed (an Allow with it does not apply, a Deny does).
"""

from __future__ import annotations

from xacct.iam.conditions import conditions_hold, operator
from xacct.iam.decision import Decided, Policies, Request, Requester, Result, decide, names, statement_names
from xacct.iam.evaluate import (
    Decision,
    Statement,
    applies,
    combine,
    document_statements,
    evaluate,
    identity_decision,
    statements,
)
from xacct.iam.variables import Unresolved
from xacct.iam.wildcards import matches

__all__ = [
    "Decided",
    "Decision",
    "Policies",
    "Request",
    "Requester",
    "Result",
    "Statement",
    "Unresolved",
    "applies",
    "combine",
    "conditions_hold",
    "decide",
    "document_statements",
    "evaluate",
    "identity_decision",
    "matches",
    "names",
    "operator",
    "statement_names",
    "statements",
]
