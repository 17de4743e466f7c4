"""Control-plane calls that moto lacks or answers in part, and that the modules need.

- UpdateStage: moto answers 500 and the AWS provider retries for minutes; without it, changing a stage
  setting (throttling, access logs) and re-applying never converges.
- Custom domains: moto never reports a domain AVAILABLE (the provider waits for that forever), gives it no
  regional target (an alias record has nothing to point at), and reports an empty mutual-TLS block nobody set
  (a perpetual diff).
- CloudWatch Logs: moto keeps a deleted log group's tags, so a group created again under the same name
  inherits them (a perpetual diff after destroy and apply).
- AWS managed policies: they exist in every account, as in AWS, but moto would build all of them (about 1,600)
  in every new account, 0.1-0.2 s of CPU each time; the tests make hundreds of accounts. Here an account gets
  each one when a request names its ARN (attach, boundary, GetPolicy ...) and all of them when a request lists
  policies (ListPolicies, GetAccountAuthorizationDetails), so no answer differs from moto's full set.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from moto.apigatewayv2.exceptions import APIGatewayV2Error
from moto.apigatewayv2.models import apigatewayv2_backends
from moto.iam.aws_managed_policies import aws_managed_policies_data
from moto.iam.models import AWSManagedPolicy, iam_backends
from moto.logs.models import logs_backends

STAGE_PATH = re.compile(r"^/v2/apis/(?P<api_id>[^/]+)/stages/(?P<stage>[^/]+)$")

# UpdateStage request members -> attributes of moto's Stage.
_FIELDS = {
    "accessLogSettings": "access_log_settings",
    "autoDeploy": "auto_deploy",
    "clientCertificateId": "client_certificate_id",
    "defaultRouteSettings": "default_route_settings",
    "description": "description",
    "routeSettings": "route_settings",
    "stageVariables": "stage_variables",
}


def update_stage(
    account_id: str, region: str, api_id: str, stage_name: str, body: bytes
) -> tuple[int, dict[str, str], bytes]:
    """Apply an UpdateStage request to moto's stage; returns (status, headers, JSON body)."""
    try:
        changes: dict[str, Any] = json.loads(body or b"{}")
        api = apigatewayv2_backends[account_id][region].get_api(unquote(api_id))
        stage = api.get_stage(unquote(stage_name))
    except APIGatewayV2Error as error:
        return (
            error.code,
            {"x-amzn-ErrorType": error.error_type},
            json.dumps({"message": error.message}).encode(),
        )
    except ValueError:
        return 400, {"x-amzn-ErrorType": "BadRequestException"}, b'{"message":"Invalid request body"}'
    for member, attribute in _FIELDS.items():
        if member in changes:
            setattr(stage, attribute, changes[member])
    stage.updated = datetime.now()
    return 200, {"Content-Type": "application/json"}, json.dumps(stage.to_json()).encode()


DOMAIN_PATH = re.compile(r"^/v2/domainnames(/|$)")


def complete_domain_names(account_id: str, region: str) -> None:
    """Give moto's custom domains what AWS reports once a domain is ready: status and regional target."""
    for domain in list(apigatewayv2_backends[account_id][region].domain_names.values()):
        if not domain.mutual_tls_authentication:
            domain.mutual_tls_authentication = None  # type: ignore[assignment]  # AWS omits it; moto says {}
        digest = hashlib.sha1(f"{account_id}/{region}/{domain.domain_name}".encode()).hexdigest()  # noqa: S324
        for configuration in domain.domain_name_configurations:
            configuration.setdefault("domainNameStatus", "AVAILABLE")
            configuration.setdefault("endpointType", "REGIONAL")
            configuration.setdefault("apiGatewayDomainName", f"d-{digest[:10]}.execute-api.{region}.amazonaws.com")
            # A stand-in for API Gateway's regional hosted zone: the local Route 53 accepts any alias target.
            configuration.setdefault("hostedZoneId", f"Z{digest[10:23].upper()}")


DELETE_LOG_GROUP = "Logs_20140328.DeleteLogGroup"


def forget_log_group_tags(account_id: str, region: str, body: bytes) -> None:
    """Before moto deletes a log group: drop its tags, which moto would keep for the next group of that name."""
    try:
        name = json.loads(body or b"{}").get("logGroupName")
    except ValueError:
        return
    backend = logs_backends[account_id][region]
    group = backend.groups.get(name) if isinstance(name, str) else None
    if group is not None:
        backend.tagger.delete_all_tags_for_resource(group.arn)


AWS_POLICY_ARN = re.compile(r"arn:aws:iam::aws:policy/(?:[\w+=,.@/-]*/)?(?P<name>[\w+=,.@-]+)")
LIST_POLICY_ACTIONS = frozenset({"ListPolicies", "GetAccountAuthorizationDetails"})
_policies_lock = threading.Lock()


@functools.cache
def _aws_policy_data() -> dict[str, dict[str, Any]]:
    data: dict[str, dict[str, Any]] = json.loads(aws_managed_policies_data)
    return data


def provide_aws_managed_policies(account_id: str, params: Mapping[str, str]) -> None:
    """Before moto answers an IAM request: the AWS managed policies it names (or all, for a listing) in the account."""
    data = _aws_policy_data()
    if params.get("Action") in LIST_POLICY_ACTIONS:
        names: set[str] = set(data)
    else:  # on every IAM request: no set of all 1,600 names built here
        names = {m["name"] for value in params.values() for m in AWS_POLICY_ARN.finditer(value) if m["name"] in data}
    if not names:
        return
    backend = iam_backends[account_id]["aws"]
    with _policies_lock:
        for name in sorted(names):
            if f"arn:aws:iam::aws:policy{data[name].get('Path', '/')}{name}" not in backend.managed_policies:
                policy = AWSManagedPolicy.from_data(name, account_id, backend.region_name, data[name])
                backend.managed_policies[policy.arn] = policy
                backend.aws_managed_policies.append(policy)
