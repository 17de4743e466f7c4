"""apigatewayv2 UpdateStage, which moto lacks (it answers 500 and the AWS provider retries for minutes).

Without it, changing a stage setting (throttling, access logs) and re-applying never converges.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from moto.apigatewayv2.exceptions import APIGatewayV2Error
from moto.apigatewayv2.models import apigatewayv2_backends

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
