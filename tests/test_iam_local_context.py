"""The request context the local AWS gives xacct.iam, through real HTTP: STS AssumeRole and the execute-api gateway.

Pages:
- GLOBAL_KEYS: "AWS global condition context keys" (aws:PrincipalArn, aws:PrincipalAccount, aws:PrincipalType,
  aws:TokenIssueTime,
  aws:userid, aws:username, aws:PrincipalTag/*, aws:SourceIp, aws:CurrentTime, aws:EpochTime,
  aws:SecureTransport, aws:RequestedRegion, aws:ResourceAccount, aws:PrincipalOrgID)
- STS_KEYS: "IAM and AWS STS condition context keys" (sts:RoleSessionName, sts:ExternalId, sts:SourceIdentity)
- EVALUATION: "Policy evaluation logic" (same-account role trust, permissions boundaries, session policies)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from xacct.local import LocalAws
from xacct.local.echo_server import EchoServer
from xacct.local.stacks import ApiStack, allow, build_api, trust

from helpers import botocore_signed


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def role(aws: LocalAws, account: str, name: str, trust_doc: str, *policies: str, **extra: Any) -> str:
    iam = aws.client("iam", account)
    arn: str = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust_doc, **extra)["Role"]["Arn"]
    for index, policy in enumerate(policies):
        iam.put_role_policy(RoleName=name, PolicyName=f"p{index}", PolicyDocument=policy)
    return arn


def assume(session: boto3.Session, role_arn: str, session_name: str = "test", **extra: Any) -> str:
    """'ok' or the error code of sts:AssumeRole."""
    try:
        session.client("sts").assume_role(RoleArn=role_arn, RoleSessionName=session_name, **extra)
    except ClientError as error:
        return str(error.response["Error"]["Code"])
    return "ok"


def trust_with(principal_arn: str, condition: dict[str, Any]) -> str:
    return document(
        {"Effect": "Allow", "Principal": {"AWS": principal_arn}, "Action": "sts:AssumeRole", "Condition": condition}
    )


@pytest.fixture
def accounts(new_account: Callable[[], str]) -> tuple[str, str]:
    return new_account(), new_account()


# -- STS AssumeRole ---------------------------------------------------------------------------------------------


def test_role_session_name_prefix_per_consumer_account(local_aws: LocalAws, accounts: tuple[str, str]) -> None:
    """STS_KEYS, sts:RoleSessionName with StringLike: the shared invoke role's trust statement per consumer
    account admits only session names that start with that account's id and "-"."""
    provider, consumer = accounts
    target = f"arn:aws:iam::{provider}:role/Invoke"
    caller = role(local_aws, consumer, "Workload", trust(service=True), allow("sts:AssumeRole", target))
    role(local_aws, provider, "Invoke", trust_with(caller, {"StringLike": {"sts:RoleSessionName": f"{consumer}-*"}}))
    session = local_aws.workload_session(caller)
    assert assume(session, target, f"{consumer}-xacct-abc") == "ok"
    assert assume(session, target, f"{provider}-xacct-abc") == "AccessDenied"
    assert assume(session, target, "xacct-abc") == "AccessDenied"


def test_principal_arn_is_the_role_arn_of_a_session(local_aws: LocalAws, accounts: tuple[str, str]) -> None:
    """GLOBAL_KEYS, aws:PrincipalArn: for an assumed-role session, the ARN of the role (not of the session),
    so ArnLike on role/Ops* admits OpsAdmin's sessions; aws:PrincipalAccount is the caller's account."""
    provider, consumer = accounts
    target = f"arn:aws:iam::{provider}:role/Guarded"
    ops = role(local_aws, consumer, "OpsAdmin", trust(service=True), allow("sts:AssumeRole", target))
    dev = role(local_aws, consumer, "Dev", trust(service=True), allow("sts:AssumeRole", target))
    condition = {
        "ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{consumer}:role/Ops*"},
        "StringEquals": {"aws:PrincipalAccount": consumer, "aws:PrincipalType": "AssumedRole"},
        "StringLike": {"aws:userid": "AROA*:workload"},
    }
    role(local_aws, provider, "Guarded", trust_with(f"arn:aws:iam::{consumer}:root", condition))
    assert assume(local_aws.workload_session(ops), target) == "ok"
    assert assume(local_aws.workload_session(dev), target) == "AccessDenied"


def test_external_id_and_a_deny_on_a_missing_key(local_aws: LocalAws, accounts: tuple[str, str]) -> None:
    """STS_KEYS, sts:ExternalId, only when given; a Deny with StringNotEquals applies when the key is absent
    ("IAM JSON policy elements: Condition operators": a negated operator is true for a missing key)."""
    provider, consumer = accounts
    target = f"arn:aws:iam::{provider}:role/Partner"
    caller = role(local_aws, consumer, "Caller", trust(service=True), allow("sts:AssumeRole", target))
    trust_doc = document(
        {"Effect": "Allow", "Principal": {"AWS": caller}, "Action": "sts:AssumeRole"},
        {
            "Effect": "Deny",
            "Principal": {"AWS": caller},
            "Action": "sts:AssumeRole",
            "Condition": {"StringNotEquals": {"sts:ExternalId": "ext-123"}},
        },
    )
    role(local_aws, provider, "Partner", trust_doc)
    session = local_aws.workload_session(caller)
    assert assume(session, target) == "AccessDenied"
    assert assume(session, target, ExternalId="other") == "AccessDenied"
    assert assume(session, target, ExternalId="ext-123") == "ok"


def test_principal_org_id_is_never_present(local_aws: LocalAws, accounts: tuple[str, str]) -> None:
    """GLOBAL_KEYS, aws:PrincipalOrgID: present only when the principal's account is in an organization; the
    local AWS has none, so a condition on it never holds (and its Null check is true)."""
    provider, consumer = accounts
    target, no_org = f"arn:aws:iam::{provider}:role/OrgOnly", f"arn:aws:iam::{provider}:role/NoOrg"
    caller = role(local_aws, consumer, "Caller", trust(service=True), allow("sts:AssumeRole", target, no_org))
    role(
        local_aws,
        provider,
        "OrgOnly",
        trust_with(caller, {"StringEquals": {"aws:PrincipalOrgID": "o-exampleorgid"}}),
    )
    role(local_aws, provider, "NoOrg", trust_with(caller, {"Null": {"aws:PrincipalOrgID": "true"}}))
    session = local_aws.workload_session(caller)
    assert assume(session, target) == "AccessDenied"
    assert assume(session, no_org) == "ok"


def test_multi_factor_auth_present_is_false_for_a_session_and_absent_for_long_term_keys(
    local_aws: LocalAws, accounts: tuple[str, str]
) -> None:
    """GLOBAL_KEYS, aws:MultiFactorAuthPresent: present and false for temporary credentials issued without MFA;
    absent for long-term access keys (an IAM user's). Issue 20: it was absent for both."""
    provider, consumer = accounts
    no_mfa = f"arn:aws:iam::{provider}:role/NoMfaSession"
    caller = role(local_aws, consumer, "Caller", trust(service=True), allow("sts:AssumeRole", no_mfa))
    role(local_aws, provider, "NoMfaSession", trust_with(caller, {"Bool": {"aws:MultiFactorAuthPresent": "false"}}))
    assert assume(local_aws.workload_session(caller), no_mfa) == "ok"  # a session: present, false
    iam = local_aws.client("iam", consumer)
    iam.create_user(UserName="LongTerm")
    iam.put_user_policy(UserName="LongTerm", PolicyName="a", PolicyDocument=allow("sts:AssumeRole", "*"))
    keys = iam.create_access_key(UserName="LongTerm")["AccessKey"]
    user_arn = f"arn:aws:iam::{consumer}:user/LongTerm"
    absent = f"arn:aws:iam::{provider}:role/NoMfaKey"
    role(local_aws, provider, "NoMfaKey", trust_with(user_arn, {"Null": {"aws:MultiFactorAuthPresent": "true"}}))
    user = local_aws.session_with_keys(keys["AccessKeyId"], keys["SecretAccessKey"])
    assert assume(user, absent) == "ok"  # long-term keys: the key is absent
    role(local_aws, provider, "MfaFalseKey", trust_with(user_arn, {"Bool": {"aws:MultiFactorAuthPresent": "false"}}))
    assert assume(user, f"arn:aws:iam::{provider}:role/MfaFalseKey") == "AccessDenied"


# -- the gateway: execute-api:Invoke ------------------------------------------------------------------------------


@pytest.fixture
def stack(local_aws: LocalAws, echo: EchoServer, new_account: Callable[[], str]) -> ApiStack:
    return build_api(local_aws, new_account(), new_account(), echo.url)


def invoke_policy(stack: ApiStack, condition: dict[str, Any], effect: str = "Allow") -> None:
    """The invoke role may call anything on the API, under ``condition``."""
    resource = f"arn:aws:execute-api:{stack.region}:{stack.provider}:{stack.api_id}/*"
    policy = document({"Effect": effect, "Action": "execute-api:Invoke", "Resource": resource, "Condition": condition})
    name = stack.invoke_role_arn.rsplit("/", 1)[1]
    stack.aws.client("iam", stack.provider).put_role_policy(RoleName=name, PolicyName="invoke", PolicyDocument=policy)


def call(stack: ApiStack) -> int:
    creds = stack.invoke_credentials()
    headers = {"Host": stack.host, **botocore_signed("GET", stack.host, "/hoge", creds)}
    return requests.get(f"{stack.aws.endpoint_url}/hoge", headers=headers, timeout=30).status_code


@pytest.mark.parametrize(
    ("condition", "status"),
    [
        ({"StringEquals": {"aws:PrincipalType": "AssumedRole"}}, 200),
        ({"StringEquals": {"aws:PrincipalType": "User"}}, 403),
        ({"ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::{provider}:role/ApiInvoke"}}, 200),
        ({"StringEquals": {"aws:PrincipalAccount": "{provider}", "aws:ResourceAccount": "{provider}"}}, 200),
        ({"StringEquals": {"aws:ResourceAccount": "{consumer}"}}, 403),
        ({"StringLike": {"aws:userid": "AROA*:test-session"}}, 200),
        ({"Null": {"aws:username": "true"}}, 200),  # aws:username: IAM users only
        ({"IpAddress": {"aws:SourceIp": ["127.0.0.0/8", "::1/128"]}}, 200),
        ({"NotIpAddress": {"aws:SourceIp": "127.0.0.0/8"}}, 403),
        ({"IpAddress": {"aws:SourceIp": "2001:DB8:1234:5678::/64"}}, 403),
        ({"StringEquals": {"aws:RequestedRegion": "{region}"}}, 200),
        ({"StringEquals": {"aws:RequestedRegion": "us-east-1"}}, 403),
        ({"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}, 200),
        ({"DateLessThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}, 403),
        ({"NumericGreaterThan": {"aws:EpochTime": "1577836800"}}, 200),
        ({"DateGreaterThan": {"aws:EpochTime": "1577836800"}}, 200),
        ({"Bool": {"aws:SecureTransport": "true"}}, 200),  # loopback stands in for the HTTPS endpoint
        ({"Bool": {"aws:SecureTransport": "false"}}, 403),
        ({"Null": {"aws:PrincipalOrgID": "true"}}, 200),
        ({"DateGreaterThan": {"aws:TokenIssueTime": "2020-01-01T00:00:01Z"}}, 200),  # as on the operators page
        ({"Null": {"aws:TokenIssueTime": "true"}}, 403),  # temporary credentials carry it
        ({"StringEquals": {"aws:PrincipalTag/team": "payments"}}, 200),
        ({"StringEquals": {"aws:PrincipalTag/team": "Payments"}}, 403),  # values are case-sensitive
    ],
)
def test_gateway_context_keys(stack: ApiStack, condition: dict[str, Any], status: int) -> None:
    """GLOBAL_KEYS: the keys AWS puts in the context of an execute-api:Invoke request, each tested in an Allow."""
    filled = json.loads(
        json.dumps(condition)
        .replace("{provider}", stack.provider)
        .replace("{consumer}", stack.consumer)
        .replace("{region}", stack.region)
    )
    name = stack.invoke_role_arn.rsplit("/", 1)[1]
    stack.aws.client("iam", stack.provider).tag_role(RoleName=name, Tags=[{"Key": "team", "Value": "payments"}])
    invoke_policy(stack, filled)
    assert call(stack) == status


def test_policy_variable_in_the_resource(stack: ApiStack) -> None:
    """ "IAM policy elements: Variables and tags": ${aws:PrincipalTag/route} in Resource is the caller's tag."""
    name = stack.invoke_role_arn.rsplit("/", 1)[1]
    iam = stack.aws.client("iam", stack.provider)
    iam.tag_role(RoleName=name, Tags=[{"Key": "route", "Value": "hoge"}])
    resource = f"arn:aws:execute-api:{stack.region}:{stack.provider}:{stack.api_id}/*/GET/${{aws:PrincipalTag/route}}"
    policy = document({"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": resource})
    iam.put_role_policy(RoleName=name, PolicyName="invoke", PolicyDocument=policy)
    assert call(stack) == 200
    iam.tag_role(RoleName=name, Tags=[{"Key": "route", "Value": "other"}])
    assert call(stack) == 403
    iam.untag_role(RoleName=name, TagKeys=["route"])
    assert call(stack) == 403  # no value, no default: the statement does not match


# -- same-account trust: EVALUATION ---------------------------------------------------------------------------------


def boundary_policy(aws: LocalAws, account: str, name: str, action: str) -> str:
    arn: str = aws.client("iam", account).create_policy(PolicyName=name, PolicyDocument=allow(action, "*"))["Policy"][
        "Arn"
    ]
    return arn


def test_same_account_trust_naming_the_role_is_limited_by_its_boundary(
    local_aws: LocalAws, new_account: Callable[[], str]
) -> None:
    """EVALUATION ("Policy evaluation for requests within a single account"; "Permissions boundaries for IAM
    entities"): "Resource-based policies that grant permissions to an IAM role ARN are limited by an implicit deny
    in a permissions boundary or session policy" - but need no identity policy."""
    account = new_account()
    narrow = boundary_policy(local_aws, account, "OnlyS3", "s3:*")
    wide = boundary_policy(local_aws, account, "AssumeOk", "sts:AssumeRole")
    bounded = role(local_aws, account, "Bounded", trust(service=True), PermissionsBoundary=narrow)
    open_ = role(local_aws, account, "Open", trust(service=True), PermissionsBoundary=wide)
    unbounded = role(local_aws, account, "Unbounded", trust(service=True))
    target = role(local_aws, account, "Target", trust(bounded, open_, unbounded))
    assert assume(local_aws.workload_session(bounded), target) == "AccessDenied"
    assert assume(local_aws.workload_session(open_), target) == "ok"
    assert assume(local_aws.workload_session(unbounded), target) == "ok"


def test_same_account_trust_naming_the_session_is_not_limited_by_the_boundary(
    local_aws: LocalAws, new_account: Callable[[], str]
) -> None:
    """EVALUATION: "resource-based policies that grant permissions to an IAM role session ARN ... are not limited
    by an implicit deny in an identity-based policy, a permissions boundary, or session policy"."""
    account = new_account()
    narrow = boundary_policy(local_aws, account, "OnlyS3", "s3:*")
    bounded = role(local_aws, account, "Bounded", trust(service=True), PermissionsBoundary=narrow)
    session_arn = f"arn:aws:sts::{account}:assumed-role/Bounded/workload"
    target = role(local_aws, account, "Target", trust(session_arn))
    assert assume(local_aws.workload_session(bounded), target) == "ok"


def test_same_account_trust_naming_the_role_is_limited_by_the_session_policy(
    local_aws: LocalAws, new_account: Callable[[], str]
) -> None:
    """EVALUATION: the same rule for a session policy: a session whose policy allows only s3 cannot assume a role
    whose trust policy names its role ARN."""
    account = new_account()
    caller = role(local_aws, account, "Caller", trust(f"arn:aws:iam::{account}:root"))
    target = role(local_aws, account, "Target", trust(caller))
    root = local_aws.client("sts", account)
    for session_policy, expected in ((allow("s3:*", "*"), "AccessDenied"), (allow("sts:AssumeRole", "*"), "ok")):
        creds = root.assume_role(RoleArn=caller, RoleSessionName="sess", Policy=session_policy)["Credentials"]
        session = local_aws.session_with_keys(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
        assert assume(session, target) == expected


def test_same_account_trust_naming_the_account_needs_an_identity_policy(
    local_aws: LocalAws, new_account: Callable[[], str]
) -> None:
    """EVALUATION: an account principal ("arn:aws:iam::<account>:root") delegates to the account's identity
    policies: without an identity policy allowing sts:AssumeRole, the role's trust alone is not enough."""
    account = new_account()
    target_arn = f"arn:aws:iam::{account}:role/Target"
    permitted = role(local_aws, account, "Permitted", trust(service=True), allow("sts:AssumeRole", target_arn))
    unpermitted = role(local_aws, account, "Unpermitted", trust(service=True))
    role(local_aws, account, "Target", trust(f"arn:aws:iam::{account}:root"))
    assert assume(local_aws.workload_session(permitted), target_arn) == "ok"
    assert assume(local_aws.workload_session(unpermitted), target_arn) == "AccessDenied"


def test_cross_account_identity_policy_is_limited_by_the_boundary(
    local_aws: LocalAws, accounts: tuple[str, str]
) -> None:
    """ "Cross-account policy evaluation logic": the caller's identity policies, within its permissions boundary,
    must allow the request, and the trust policy must too."""
    provider, consumer = accounts
    target = f"arn:aws:iam::{provider}:role/Target"
    narrow = boundary_policy(local_aws, consumer, "OnlyS3", "s3:*")
    bounded = role(
        local_aws, consumer, "Bounded", trust(service=True), allow("sts:AssumeRole", target), PermissionsBoundary=narrow
    )
    role(local_aws, provider, "Target", trust(bounded))
    assert assume(local_aws.workload_session(bounded), target) == "AccessDenied"


# -- session tags and source identity -----------------------------------------------------------------------------

SESSION_TAGS_TRUST = {
    # "Pass session tags in AWS STS", "Example role trust policy for session tags" (the user's account filled in).
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "AllowIamUserAssumeRole",
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Principal": {"AWS": "{user}"},
            "Condition": {
                "StringLike": {
                    "aws:RequestTag/Project": "*",
                    "aws:RequestTag/CostCenter": "*",
                    "aws:RequestTag/Department": "*",
                },
                "StringEquals": {"sts:ExternalId": "Example987"},
            },
        },
        {
            "Sid": "AllowPassSessionTagsAndTransitive",
            "Effect": "Allow",
            "Action": "sts:TagSession",
            "Principal": {"AWS": "{user}"},
            "Condition": {
                "StringLike": {"aws:RequestTag/Project": "*", "aws:RequestTag/CostCenter": "*"},
                "StringEquals": {"aws:RequestTag/Department": ["Engineering", "Marketing"]},
                "ForAllValues:StringEquals": {"sts:TransitiveTagKeys": ["Project", "Department"]},
            },
        },
    ],
}


def user_session(aws: LocalAws, account: str, name: str) -> tuple[str, boto3.Session]:
    iam = aws.client("iam", account)
    arn: str = iam.create_user(UserName=name)["User"]["Arn"]
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return arn, aws.session_with_keys(key["AccessKeyId"], key["SecretAccessKey"])


def tags(**pairs: str) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in pairs.items()]


def test_session_tags_example_trust_policy(local_aws: LocalAws, new_account: Callable[[], str]) -> None:
    """ "Pass session tags in AWS STS": the example trust policy requires Project, CostCenter and Department session
    tags and the external id; sts:TagSession must be allowed too ("If your policy includes the first statement
    without the second statement, the user can't assume the role"); Department must be Engineering or Marketing;
    only Project and Department may be transitive."""
    account = new_account()
    user, session = user_session(local_aws, account, "test-session-tags")
    full = json.dumps(SESSION_TAGS_TRUST).replace("{user}", user)
    without_tag_session = json.dumps({**SESSION_TAGS_TRUST, "Statement": SESSION_TAGS_TRUST["Statement"][:1]})
    target = role(local_aws, account, "my-role-example", full)
    strict = role(local_aws, account, "no-tag-session", without_tag_session.replace("{user}", user))
    good = {
        "Tags": tags(Project="Automation", CostCenter="12345", Department="Engineering"),
        "ExternalId": "Example987",
    }
    assert assume(session, target, "my-session", TransitiveTagKeys=["Project", "Department"], **good) == "ok"
    assert assume(session, strict, "my-session", **good) == "AccessDenied"
    sales = {**good, "Tags": tags(Project="Automation", CostCenter="12345", Department="Sales")}
    assert assume(session, target, "my-session", **sales) == "AccessDenied"
    assert assume(session, target, "my-session", TransitiveTagKeys=["CostCenter"], **good) == "AccessDenied"
    missing = {**good, "Tags": tags(Project="Automation", Department="Engineering")}
    assert assume(session, target, "my-session", **missing) == "AccessDenied"  # CostCenter is required


def test_tag_session_refusal_names_the_action(local_aws: LocalAws, new_account: Callable[[], str]) -> None:
    """ "Pass session tags in AWS STS": sts:TagSession is a permissions-only action checked like sts:AssumeRole;
    the refusal is AccessDenied naming sts:TagSession."""
    account = new_account()
    user, session = user_session(local_aws, account, "tagger")
    target = role(local_aws, account, "Plain", trust(user))
    with pytest.raises(ClientError) as caught:
        session.client("sts").assume_role(RoleArn=target, RoleSessionName="s1", Tags=tags(team="a"))
    assert caught.value.response["Error"]["Message"] == (
        f"User: {user} is not authorized to perform: sts:TagSession on resource: {target}"
    )
    assert assume(session, target, "s1") == "ok"


def test_session_tags_are_principal_tags_at_the_gateway(stack: ApiStack) -> None:
    """ "Pass session tags in AWS STS": requests made with the session's credentials carry aws:PrincipalTag for its
    session tags, and "New session tags override existing assumed role ... tags with the same tag key, regardless
    of case"."""
    iam = stack.aws.client("iam", stack.provider)
    name = stack.invoke_role_arn.rsplit("/", 1)[1]
    iam.tag_role(RoleName=name, Tags=tags(Team="platform"))
    iam.update_assume_role_policy(
        RoleName=name,
        PolicyDocument=document(
            {
                "Effect": "Allow",
                "Principal": {"AWS": stack.workload_role_arn},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
            }
        ),
    )
    invoke_policy(stack, {"StringEquals": {"aws:PrincipalTag/team": "payments"}})
    # Across accounts the caller's identity policy must allow sts:TagSession as well.
    workload = stack.aws.client("iam", stack.consumer)
    both = document(
        {"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession"], "Resource": stack.invoke_role_arn}
    )
    workload.put_role_policy(
        RoleName=stack.workload_role_arn.rsplit("/", 1)[1], PolicyName="assume", PolicyDocument=both
    )
    sts = stack.workload().client("sts")
    answer = sts.assume_role(RoleArn=stack.invoke_role_arn, RoleSessionName="tagged", Tags=tags(team="payments"))
    creds = answer["Credentials"]
    signed = botocore_signed(
        "GET",
        stack.host,
        "/hoge",
        {"key": creds["AccessKeyId"], "secret": creds["SecretAccessKey"], "token": creds["SessionToken"]},
    )
    response = requests.get(f"{stack.aws.endpoint_url}/hoge", headers={"Host": stack.host, **signed}, timeout=30)
    assert response.status_code == 200
    assert call(stack) == 403  # a session without the tag: the role's Team=platform does not match


def test_source_identity_needs_set_source_identity_and_is_a_condition_key(
    local_aws: LocalAws, new_account: Callable[[], str]
) -> None:
    """ "Monitor and control actions taken with assumed roles": passing SourceIdentity needs sts:SetSourceIdentity;
    sts:SourceIdentity is in the request context ("IAM and AWS STS condition context keys")."""
    account = new_account()
    user, session = user_session(local_aws, account, "alice")
    trust_doc = document(
        {"Effect": "Allow", "Principal": {"AWS": user}, "Action": "sts:AssumeRole"},
        {
            "Effect": "Allow",
            "Principal": {"AWS": user},
            "Action": "sts:SetSourceIdentity",
            "Condition": {"StringEquals": {"sts:SourceIdentity": "alice"}},
        },
    )
    target = role(local_aws, account, "Audited", trust_doc)
    assert assume(session, target, "s1", SourceIdentity="alice") == "ok"
    assert assume(session, target, "s1", SourceIdentity="mallory") == "AccessDenied"
    assert assume(session, target, "s1") == "ok"
