"""Read, with read-only calls only, what the report needs from the provider account.

apigatewayv2: GetApi, GetStages, GetRoutes, GetIntegrations. IAM: GetAccountAuthorizationDetails (paginated:
every role, user and group with its inline policies, attached policy ARNs, boundary, tags and RoleLastUsed, and
the account's own managed policies) plus GetPolicy + GetPolicyVersion for attached AWS managed policies. When
GetAccountAuthorizationDetails is refused: ListRoles (paginated), ListRolePolicies + GetRolePolicy,
ListAttachedRolePolicies, GetRole (only for roles whose policies can reach the API), and the same for users
(ListUsers, ListUserPolicies, ListAttachedUserPolicies, ListGroupsForUser and the groups' policies). STS:
GetCallerIdentity (needs no permission). Nothing is ever written.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote

import boto3
from botocore.exceptions import ClientError

from xacct.access.errors import AccessReportError, ApiNotFound, MissingPermission, StageNotChosen

Document = dict[str, Any]
Progress = Callable[[str], None]

_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedException"}


@dataclass(frozen=True)
class Route:
    route_key: str
    authorization_type: str
    integration: str  # "<type> <uri>" of its target, or "" when it has none


@dataclass(frozen=True)
class Api:
    api_id: str
    name: str
    account: str
    region: str
    partition: str
    stage: str
    routes: tuple[Route, ...]

    def execute_arn(self, method: str, path: str) -> str:
        """The resource of a request, as the gateway builds it: <api>/<stage>/<METHOD>/<path without "/">."""
        return (
            f"arn:{self.partition}:execute-api:{self.region}:{self.account}:"
            f"{self.api_id}/{self.stage}/{method}/{path.lstrip('/')}"
        )


@dataclass
class Principal:
    """A role or user of the provider account with the policies that decide what it may do."""

    arn: str
    name: str
    kind: str  # "role" or "user"
    identity: list[Document]
    trust: Document | None = None  # roles only
    boundary: Document | None = None
    last_used: datetime | None = None
    tags: dict[str, str] = field(default_factory=dict)
    created: datetime | None = None  # roles: CreateDate


class Reader:
    """One provider account, read through ``session`` (its profile, region and endpoint)."""

    def __init__(
        self,
        session: boto3.Session,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.region = region or session.region_name
        if not self.region:
            raise AccessReportError("no region: pass --region (or set one in the profile / AWS_REGION)")
        kwargs: dict[str, Any] = {"region_name": self.region}
        if endpoint_url:
            kwargs["endpoint_url"] = endpoint_url
        self.iam: Any = session.client("iam", **kwargs)
        self.gateway: Any = session.client("apigatewayv2", **kwargs)
        self.sts: Any = session.client("sts", **kwargs)
        self.progress = progress or (lambda _: None)
        self.caller: str | None = None
        self.account = ""
        self.partition = "aws"
        self._policies: dict[tuple[str, str], Document] = {}

    # -- calls ------------------------------------------------------------------------------------------------

    def _call(self, client: Any, operation: str, permission: str, **kwargs: Any) -> Any:
        try:
            return getattr(client, operation)(**kwargs)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            message = error.response.get("Error", {}).get("Message", str(error))
            if code in _DENIED:
                raise MissingPermission(permission, self.caller, message) from None
            if code == "NotFoundException" and operation == "get_api":
                raise ApiNotFound(
                    f"no HTTP API {kwargs['ApiId']!r} in account {self.account} region {self.region} "
                    "(check --api-id, --region and --profile)"
                ) from None
            raise AccessReportError(f"{permission} failed: {code}: {message}") from None

    def _pages(self, client: Any, operation: str, permission: str, key: str, **kwargs: Any) -> Iterator[Any]:
        paginator = client.get_paginator(operation)
        try:
            for page in paginator.paginate(**kwargs):
                yield from page.get(key, [])
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            message = error.response.get("Error", {}).get("Message", str(error))
            if code in _DENIED:
                raise MissingPermission(permission, self.caller, message) from None
            raise AccessReportError(f"{permission} failed: {code}: {message}") from None

    def _iam(self, operation: str, **kwargs: Any) -> Any:
        action = "iam:" + "".join(part.capitalize() for part in operation.split("_"))
        return self._call(self.iam, operation, action, **kwargs)

    def _iam_pages(self, operation: str, key: str, **kwargs: Any) -> Iterator[Any]:
        action = "iam:" + "".join(part.capitalize() for part in operation.split("_"))
        return self._pages(self.iam, operation, action, key, **kwargs)

    # -- the API ----------------------------------------------------------------------------------------------

    def read_api(self, api_id: str, stage: str | None = None) -> Api:
        identity = self._call(self.sts, "get_caller_identity", "sts:GetCallerIdentity")
        self.caller, self.account = identity["Arn"], identity["Account"]
        self.partition = identity["Arn"].split(":")[1]
        resource = f"arn:{self.partition}:apigateway:{self.region}::/apis/{api_id}"
        get = f"apigateway:GET on {resource}"
        api = self._call(self.gateway, "get_api", get, ApiId=api_id)
        if api.get("ProtocolType") != "HTTP":
            raise AccessReportError(f"API {api_id} is a {api.get('ProtocolType')} API; the report reads HTTP APIs")
        stages = [
            s["StageName"] for s in self._pages(self.gateway, "get_stages", get + "/stages", "Items", ApiId=api_id)
        ]
        if stage is None:
            if len(stages) != 1:
                raise StageNotChosen(
                    f"API {api_id} has {len(stages)} stages ({', '.join(sorted(stages)) or 'none'}): pass --stage"
                )
            stage = stages[0]
        elif stage not in stages:
            raise StageNotChosen(f"API {api_id} has no stage {stage!r}; its stages: {', '.join(sorted(stages))}")
        integrations = {
            i["IntegrationId"]: f"{i.get('IntegrationType', '')} {i.get('IntegrationUri', '')}".strip()
            for i in self._pages(self.gateway, "get_integrations", get + "/integrations", "Items", ApiId=api_id)
        }
        routes = tuple(
            sorted(
                (
                    Route(
                        r["RouteKey"],
                        r.get("AuthorizationType", "NONE"),
                        integrations.get(r.get("Target", "").removeprefix("integrations/"), ""),
                    )
                    for r in self._pages(self.gateway, "get_routes", get + "/routes", "Items", ApiId=api_id)
                ),
                key=lambda r: r.route_key,
            )
        )
        return Api(api_id, api.get("Name", ""), self.account, self.region, self.partition, stage, routes)

    # -- IAM --------------------------------------------------------------------------------------------------

    def _policy(self, arn: str, version: str | None = None) -> Document:
        if version is None:
            version = self._iam("get_policy", PolicyArn=arn)["Policy"]["DefaultVersionId"]
        key = (arn, version)
        if key not in self._policies:
            answer = self._iam("get_policy_version", PolicyArn=arn, VersionId=version)
            self._policies[key] = _document(answer["PolicyVersion"]["Document"])
        return self._policies[key]

    def _attached(self, operation: str, **kwargs: Any) -> list[Document]:
        return [self._policy(p["PolicyArn"]) for p in self._iam_pages(operation, "AttachedPolicies", **kwargs)]

    def _role_identity(self, name: str) -> list[Document]:
        inline = [
            _document(self._iam("get_role_policy", RoleName=name, PolicyName=p)["PolicyDocument"])
            for p in self._iam_pages("list_role_policies", "PolicyNames", RoleName=name)
        ]
        return inline + self._attached("list_attached_role_policies", RoleName=name)

    def _user_identity(self, name: str) -> list[Document]:
        documents = [
            _document(self._iam("get_user_policy", UserName=name, PolicyName=p)["PolicyDocument"])
            for p in self._iam_pages("list_user_policies", "PolicyNames", UserName=name)
        ]
        documents += self._attached("list_attached_user_policies", UserName=name)
        for group in self._iam_pages("list_groups_for_user", "Groups", UserName=name):
            group_name = group["GroupName"]
            documents += [
                _document(self._iam("get_group_policy", GroupName=group_name, PolicyName=p)["PolicyDocument"])
                for p in self._iam_pages("list_group_policies", "PolicyNames", GroupName=group_name)
            ]
            documents += self._attached("list_attached_group_policies", GroupName=group_name)
        return documents

    def read_principals(self, may_reach: Callable[[list[Document]], bool]) -> list[Principal]:
        """Every role and user whose identity policies may reach the API (``may_reach``), with its details.

        One paginated iam:GetAccountAuthorizationDetails gives every role, user and group with its policies (a few
        calls for a whole account); when that permission is refused, the report reads role by role instead.
        """
        try:
            return self.principals_in_bulk(may_reach)
        except MissingPermission as refused:
            self.progress(f"{refused.permission} refused: reading role by role (4+ calls per role)")
            return self.principals_one_by_one(may_reach)

    def _managed(self, arn: str, local: Mapping[str, Document]) -> Document:
        return local[arn] if arn in local else self._policy(arn)

    def principals_in_bulk(self, may_reach: Callable[[list[Document]], bool]) -> list[Principal]:
        roles: list[Any] = []
        users: list[Any] = []
        groups: dict[str, Any] = {}
        local: dict[str, Document] = {}
        filters = ["Role", "User", "Group", "LocalManagedPolicy"]
        pages = self.iam.get_paginator("get_account_authorization_details")
        try:
            for page in pages.paginate(Filter=filters):
                if roles or users:  # a large account comes in several pages
                    self.progress(f"  {len(roles)} roles, {len(users)} users so far")
                roles += page.get("RoleDetailList", [])
                users += page.get("UserDetailList", [])
                groups |= {g["GroupName"]: g for g in page.get("GroupDetailList", [])}
                for policy in page.get("Policies", []):
                    for version in policy.get("PolicyVersionList", []):
                        if version.get("IsDefaultVersion"):
                            local[policy["Arn"]] = _document(version.get("Document"))
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            message = error.response.get("Error", {}).get("Message", str(error))
            if code in _DENIED:
                raise MissingPermission("iam:GetAccountAuthorizationDetails", self.caller, message) from None
            raise AccessReportError(f"iam:GetAccountAuthorizationDetails failed: {code}: {message}") from None
        self.progress(f"read {len(roles)} roles, {len(users)} users, {len(groups)} groups")

        def identity_of(detail: Mapping[str, Any], inline_key: str) -> list[Document]:
            documents = [_document(p.get("PolicyDocument")) for p in detail.get(inline_key, [])]
            return documents + [self._managed(p["PolicyArn"], local) for p in detail.get("AttachedManagedPolicies", [])]

        def boundary_of(detail: Mapping[str, Any]) -> Document | None:
            arn = (detail.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
            return self._managed(arn, local) if arn else None

        found: list[Principal] = []
        for role in roles:
            identity = identity_of(role, "RolePolicyList")
            if may_reach(identity):
                found.append(
                    Principal(
                        arn=role["Arn"],
                        name=role["RoleName"],
                        kind="role",
                        identity=identity,
                        trust=_document(role.get("AssumeRolePolicyDocument")),
                        boundary=boundary_of(role),
                        last_used=(role.get("RoleLastUsed") or {}).get("LastUsedDate"),
                        tags={t["Key"]: t["Value"] for t in role.get("Tags", [])},
                        created=role.get("CreateDate"),
                    )
                )
        for user in users:
            identity = identity_of(user, "UserPolicyList")
            for name in user.get("GroupList", []):
                if name in groups:
                    identity += identity_of(groups[name], "GroupPolicyList")
            if may_reach(identity):
                found.append(
                    Principal(
                        arn=user["Arn"],
                        name=user["UserName"],
                        kind="user",
                        identity=identity,
                        boundary=boundary_of(user),
                        tags={t["Key"]: t["Value"] for t in user.get("Tags", [])},
                    )
                )
        return found

    def principals_one_by_one(self, may_reach: Callable[[list[Document]], bool]) -> list[Principal]:
        """Role by role: ListRoles, each role's policies, and GetRole (boundary, tags, last use) for those whose
        identity policies may reach the API; the same for users."""
        found: list[Principal] = []
        roles = list(self._iam_pages("list_roles", "Roles"))
        self.progress(f"reading {len(roles)} roles")
        for number, role in enumerate(roles, 1):
            if number % 50 == 0:
                self.progress(f"  {number}/{len(roles)} roles read")
            identity = self._role_identity(role["RoleName"])
            if not may_reach(identity):
                continue
            full = self._iam("get_role", RoleName=role["RoleName"])["Role"]
            boundary = full.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn")
            found.append(
                Principal(
                    arn=full["Arn"],
                    name=full["RoleName"],
                    kind="role",
                    identity=identity,
                    trust=_document(full.get("AssumeRolePolicyDocument") or role.get("AssumeRolePolicyDocument")),
                    boundary=self._policy(boundary) if boundary else None,
                    last_used=(full.get("RoleLastUsed") or {}).get("LastUsedDate"),
                    tags={t["Key"]: t["Value"] for t in full.get("Tags", [])},
                    created=full.get("CreateDate"),
                )
            )
        users = list(self._iam_pages("list_users", "Users"))
        self.progress(f"reading {len(users)} users")
        for user in users:
            identity = self._user_identity(user["UserName"])
            if not may_reach(identity):
                continue
            full = self._iam("get_user", UserName=user["UserName"])["User"]
            boundary = full.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn")
            found.append(
                Principal(
                    arn=full["Arn"],
                    name=full["UserName"],
                    kind="user",
                    identity=identity,
                    boundary=self._policy(boundary) if boundary else None,
                    tags={t["Key"]: t["Value"] for t in full.get("Tags", [])},
                )
            )
        return found


def _document(value: str | Mapping[str, Any] | None) -> Document:
    """A policy document as IAM returns it: a dict (boto3 decodes it), or URL-encoded JSON text."""
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            parsed: Document = json.loads(value)
        except ValueError:
            parsed = json.loads(unquote(value))
        return parsed
    return dict(value)
