"""Cross-account sts:AssumeRole as AWS decides it: identity policy AND trust policy, explicit deny wins."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from xacct.local import LocalAws
from xacct.local.stacks import allow, trust
from xacct.local.sts import MAX_SESSION_MESSAGE, ROLE_CHAINING_MESSAGE

from helpers import REGION


def role(aws: LocalAws, account: str, name: str, trust_doc: str, *policies: str) -> str:
    iam = aws.client("iam", account)
    arn: str = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust_doc, MaxSessionDuration=3600)["Role"][
        "Arn"
    ]
    for index, policy in enumerate(policies):
        iam.put_role_policy(RoleName=name, PolicyName=f"p{index}", PolicyDocument=policy)
    return arn


def assume(session: boto3.Session, role_arn: str, **extra: object) -> dict[str, str]:
    creds: dict[str, str] = session.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="test", **extra)[
        "Credentials"
    ]
    return creds


def refused(session: boto3.Session, role_arn: str, **extra: object) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        assume(session, role_arn, **extra)
    error = caught.value.response["Error"]
    return error["Code"], error["Message"]


@pytest.fixture
def accounts(new_account: Callable[[], str]) -> tuple[str, str]:
    return new_account(), new_account()


def test_cross_account_needs_both_halves(local_aws: LocalAws, accounts: tuple[str, str]) -> None:
    provider, consumer = accounts
    invoke_arn = f"arn:aws:iam::{provider}:role/Invoke"
    both = role(local_aws, consumer, "Both", trust(service=True), allow("sts:AssumeRole", invoke_arn))
    trust_only = role(local_aws, consumer, "TrustOnly", trust(service=True))
    identity_only = role(local_aws, consumer, "IdentityOnly", trust(service=True), allow("sts:AssumeRole", invoke_arn))
    role(local_aws, provider, "Invoke", trust(both, trust_only))

    assert assume(local_aws.workload_session(both), invoke_arn)["AccessKeyId"]
    for caller in (trust_only, identity_only):
        session_arn = caller.replace(":iam::", ":sts::").replace(":role/", ":assumed-role/") + "/workload"
        assert refused(local_aws.workload_session(caller), invoke_arn) == (
            "AccessDenied",
            f"User: {session_arn} is not authorized to perform: sts:AssumeRole on resource: {invoke_arn}",
        )


def test_same_account_trust_naming_the_role_is_enough(local_aws: LocalAws, new_account: Callable[[], str]) -> None:
    account = new_account()
    caller = role(local_aws, account, "Caller", trust(service=True))
    target = role(local_aws, account, "Target", trust(caller))
    assert assume(local_aws.workload_session(caller), target)


def test_account_principal_delegates_to_the_accounts_policies(local_aws: LocalAws, accounts: tuple[str, str]) -> None:
    provider, consumer = accounts
    target = f"arn:aws:iam::{provider}:role/Delegated"
    role(local_aws, provider, "Delegated", trust(f"arn:aws:iam::{consumer}:root"))
    permitted = role(local_aws, consumer, "Permitted", trust(service=True), allow("sts:AssumeRole", target))
    unpermitted = role(local_aws, consumer, "Unpermitted", trust(service=True))
    assert assume(local_aws.workload_session(permitted), target)
    assert refused(local_aws.workload_session(unpermitted), target)[0] == "AccessDenied"


def test_explicit_deny_wins(local_aws: LocalAws, accounts: tuple[str, str]) -> None:
    provider, consumer = accounts
    target = f"arn:aws:iam::{provider}:role/Target"
    denied_by_identity = role(
        local_aws,
        consumer,
        "DeniedByIdentity",
        trust(service=True),
        allow("sts:AssumeRole", "*"),
        allow("sts:AssumeRole", target, effect="Deny"),
    )
    denied_by_trust = role(local_aws, consumer, "DeniedByTrust", trust(service=True), allow("sts:AssumeRole", target))
    trust_doc = json.loads(trust(denied_by_identity, denied_by_trust))
    trust_doc["Statement"].append({"Effect": "Deny", "Principal": {"AWS": denied_by_trust}, "Action": "sts:AssumeRole"})
    role(local_aws, provider, "Target", json.dumps(trust_doc))
    assert refused(local_aws.workload_session(denied_by_identity), target)[0] == "AccessDenied"
    assert refused(local_aws.workload_session(denied_by_trust), target)[0] == "AccessDenied"


def test_external_id_condition(local_aws: LocalAws, accounts: tuple[str, str]) -> None:
    provider, consumer = accounts
    target = f"arn:aws:iam::{provider}:role/Partner"
    caller = role(local_aws, consumer, "Caller", trust(service=True), allow("sts:AssumeRole", target))
    trust_doc = json.loads(trust(caller))
    trust_doc["Statement"][0]["Condition"] = {"StringEquals": {"sts:ExternalId": "ext-123"}}
    role(local_aws, provider, "Partner", json.dumps(trust_doc))
    session = local_aws.workload_session(caller)
    assert refused(session, target)[0] == "AccessDenied"
    assert refused(session, target, ExternalId="ext-999")[0] == "AccessDenied"
    assert assume(session, target, ExternalId="ext-123")


def test_session_length_limits(local_aws: LocalAws, accounts: tuple[str, str]) -> None:
    provider, consumer = accounts
    target = f"arn:aws:iam::{provider}:role/Target"
    caller = role(local_aws, consumer, "Caller", trust(service=True), allow("sts:AssumeRole", target))
    role(local_aws, provider, "Target", trust(caller))
    # Role chaining (a role session assuming a role) is capped at one hour, whatever the role allows.
    assert refused(local_aws.workload_session(caller), target, DurationSeconds=7200) == (
        "ValidationError",
        ROLE_CHAINING_MESSAGE,
    )
    # Under 15 minutes is not a session length AWS accepts (botocore checks too: switched off to reach the server).
    unchecked = local_aws.workload_session(caller).client("sts", config=Config(parameter_validation=False))
    with pytest.raises(ClientError) as too_short:
        unchecked.assume_role(RoleArn=target, RoleSessionName="short", DurationSeconds=899)
    assert too_short.value.response["Error"]["Code"] == "ValidationError"
    assert too_short.value.response["Error"]["Message"] == (  # AWS's wording: goldstack/goldstack#425
        "1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have "
        "value greater than or equal to 900"
    )
    # And no session may outlast the role's MaxSessionDuration (3600 here).
    with pytest.raises(ClientError) as caught:
        local_aws.client("sts", consumer).assume_role(RoleArn=caller, RoleSessionName="x2", DurationSeconds=7200)
    assert caught.value.response["Error"]["Message"] == MAX_SESSION_MESSAGE


def test_a_role_that_does_not_exist_is_access_denied(local_aws: LocalAws, accounts: tuple[str, str]) -> None:
    provider, consumer = accounts
    caller = role(local_aws, consumer, "Caller", trust(service=True), allow("sts:AssumeRole", "*"))
    assert refused(local_aws.workload_session(caller), f"arn:aws:iam::{provider}:role/Nope")[0] == "AccessDenied"


def test_account_root_assumes_its_own_roles_only(local_aws: LocalAws, accounts: tuple[str, str]) -> None:
    """AWS refuses AssumeRole by root credentials with 403 AccessDenied "Roles may not be assumed by root accounts."
    (AWS documents no wording; the message as AWS sends it: github.com/cloudposse/
    terraform-aws-vpc-peering-multi-account/issues/106). Locally, root plays the service in its own account."""
    provider, consumer = accounts
    own = role(local_aws, consumer, "Workload", trust(service=True))
    foreign = role(local_aws, provider, "Foreign", trust(own))
    root = local_aws.session(consumer)
    assert assume(root, own)  # acting as the service the role trusts
    assert refused(root, foreign) == ("AccessDenied", "Roles may not be assumed by root accounts.")
    # Naming the root's account in the trust policy changes nothing: root credentials never assume across accounts.
    delegated = role(local_aws, provider, "DelegatedToAccount", trust(f"arn:aws:iam::{consumer}:root"))
    assert refused(root, delegated) == ("AccessDenied", "Roles may not be assumed by root accounts.")
    assert root.client("sts").get_caller_identity()["Arn"] == f"arn:aws:iam::{consumer}:root"


def test_bad_session_credentials_are_refused(local_aws: LocalAws, accounts: tuple[str, str]) -> None:
    _, consumer = accounts
    caller = role(local_aws, consumer, "Caller", trust(service=True), allow("sts:AssumeRole", "*"))
    target = role(local_aws, consumer, "Target", trust(caller))
    good = local_aws.workload_session(caller).get_credentials()
    assert good is not None
    frozen = good.get_frozen_credentials()

    def session(key: str, secret: str, token: str | None) -> boto3.Session:
        return local_aws.session_with_keys(key, secret, token)

    assert refused(session("ASIAUNKNOWNKEY000000", "x", "t"), target)[0] == "InvalidClientTokenId"
    assert refused(session(frozen.access_key, frozen.secret_key, "not-the-token"), target)[0] == "InvalidClientTokenId"
    assert refused(session(frozen.access_key, "wrong-secret", frozen.token), target)[0] == "SignatureDoesNotMatch"
    assert assume(session(frozen.access_key, frozen.secret_key, frozen.token), target)


@pytest.fixture
def short_sessions(local_aws: LocalAws) -> Iterator[LocalAws]:
    """A second front door onto the same accounts whose STS issues 2-second sessions."""
    with LocalAws(region=REGION, session_ttl_seconds=2) as aws:
        yield aws


def test_expired_session_credentials_are_refused(
    local_aws: LocalAws, short_sessions: LocalAws, accounts: tuple[str, str]
) -> None:
    _, consumer = accounts
    caller = role(local_aws, consumer, "Caller", trust(service=True), allow("sts:AssumeRole", "*"))
    target = role(local_aws, consumer, "Target", trust(caller))
    expiring = short_sessions.workload_session(caller)
    time.sleep(2.5)
    assert refused(expiring, target) == ("ExpiredToken", "The security token included in the request is expired")


def test_decisions_are_recorded(local_aws: LocalAws, accounts: tuple[str, str]) -> None:
    provider, consumer = accounts
    target = f"arn:aws:iam::{provider}:role/Missing"
    caller = role(local_aws, consumer, "Caller", trust(service=True))
    refused(local_aws.workload_session(caller), target)
    last = local_aws.assume_role_records[-1]
    assert (last.role_arn, last.allowed) == (target, False)
    assert last.caller_arn.endswith(":assumed-role/Caller/workload")


@pytest.mark.parametrize(
    ("pattern", "session", "allowed"),
    [
        ("${aws:PrincipalAccount}-*", "{consumer}-worker", True),
        ("${aws:PrincipalAccount}-*", "{other}-worker", False),  # another account's prefix
        ("${aws:PrincipalAccount}-*", "worker", False),
        ("${aws:principalaccount}-*", "{consumer}-worker", True),  # key names are case-insensitive
        ("${aws:PrincipalTag/team}-*", "{consumer}-worker", False),  # no such tag: the condition fails
        ("${aws:PrincipalTag/team, 'none'}-*", "none-worker", True),  # a default where the key has no value
    ],
)
def test_a_policy_variable_in_a_trust_condition(
    local_aws: LocalAws,
    accounts: tuple[str, str],
    new_account: Callable[[], str],
    pattern: str,
    session: str,
    allowed: bool,
) -> None:
    """Per "IAM policy elements: Variables and tags": global condition context keys can be variables, and variables
    work in resource-based policies (a trust policy is one); "If AWS cannot resolve a variable this might cause the
    entire statement to be invalid" (its sections "Policy variables with no value" and "Specifying default values").
    The invoke roles' trust binds each session name to the caller's own account this way (modules/provider_api,
    iam.tf)."""
    provider, consumer = accounts
    invoke_arn = f"arn:aws:iam::{provider}:role/Invoke"
    caller = role(local_aws, consumer, "Caller", trust(service=True), allow("sts:AssumeRole", invoke_arn))
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": [caller]},
        "Action": "sts:AssumeRole",
        "Condition": {"StringLike": {"sts:RoleSessionName": pattern}},
    }
    role(local_aws, provider, "Invoke", json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
    name = session.format(consumer=consumer, other=new_account())
    sts = local_aws.workload_session(caller).client("sts")
    if allowed:
        assert sts.assume_role(RoleArn=invoke_arn, RoleSessionName=name)["AssumedRoleUser"]["Arn"].endswith(name)
    else:
        with pytest.raises(ClientError) as denied:
            sts.assume_role(RoleArn=invoke_arn, RoleSessionName=name)
        assert denied.value.response["Error"]["Code"] == "AccessDenied"


@pytest.mark.parametrize("with_inline", [False, True])
def test_managed_session_policies_narrow_the_session(
    local_aws: LocalAws, new_account: Callable[[], str], with_inline: bool
) -> None:
    """ "AssumeRole" (STS API Reference), PolicyArns: managed session policies; "The resulting session's permissions
    are the intersection of the role's identity-based policy and the session policies" - inline and managed together.
    Issue 20: they were ignored, and the session kept the role's whole permissions."""
    account = new_account()
    s3 = local_aws.client("s3", account)
    bucket = f"session-policies-{account}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=bucket, Key="report.csv", Body=b"1,2")
    iam = local_aws.client("iam", account)
    read_only = iam.create_policy(
        PolicyName="ReadReports", PolicyDocument=allow("s3:GetObject", f"arn:aws:s3:::{bucket}/*")
    )["Policy"]["Arn"]
    role_arn = role(
        local_aws, account, "Worker", trust(f"arn:aws:iam::{account}:root"), allow("s3:*", f"arn:aws:s3:::{bucket}/*")
    )
    extra: dict[str, object] = {"PolicyArns": [{"arn": read_only}]}
    if with_inline:  # an inline session policy beside it: the set of session policies, evaluated as one
        extra["Policy"] = allow("s3:PutObject", f"arn:aws:s3:::{bucket}/uploads/*")
    creds = local_aws.client("sts", account).assume_role(RoleArn=role_arn, RoleSessionName="narrow", **extra)[
        "Credentials"
    ]
    session = local_aws.session_with_keys(
        creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"], region=REGION
    ).client("s3", endpoint_url=local_aws.endpoint_url)
    assert session.get_object(Bucket=bucket, Key="report.csv")["Body"].read() == b"1,2"
    with pytest.raises(ClientError) as denied:
        session.put_object(Bucket=bucket, Key="report.csv", Body=b"overwritten")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    if with_inline:
        session.put_object(Bucket=bucket, Key="uploads/new.csv", Body=b"3")


def test_a_source_identity_travels_and_each_role_in_the_chain_must_allow_it(
    local_aws: LocalAws, new_account: Callable[[], str]
) -> None:
    """ "Monitor and control actions taken with assumed roles" (IAM User Guide): a source identity, once set,
    persists through role chaining and cannot be changed, and each role assumed with it must allow
    sts:SetSourceIdentity in its trust. Issue 20: a chained session was let through a trust allowing sts:AssumeRole
    only."""
    account = new_account()
    first_arn = f"arn:aws:iam::{account}:role/First"
    both = ["sts:AssumeRole", "sts:SetSourceIdentity"]

    def trust_of(principal: str, actions: list[str], condition: dict[str, Any] | None = None) -> str:
        statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": actions}
        if condition:
            statement["Condition"] = condition
        return json.dumps({"Version": "2012-10-17", "Statement": [statement]})

    role(local_aws, account, "First", trust_of(f"arn:aws:iam::{account}:root", both), allow("sts:AssumeRole", "*"))
    # Allowed only for Alice's chain: proves the source identity travelled without being passed again.
    role(local_aws, account, "AllowsIt", trust_of(first_arn, both, {"StringEquals": {"sts:SourceIdentity": "alice"}}))
    role(local_aws, account, "AssumeOnly", trust_of(first_arn, ["sts:AssumeRole"]))
    sts = local_aws.client("sts", account)
    creds = sts.assume_role(RoleArn=first_arn, RoleSessionName="alice-session", SourceIdentity="alice")["Credentials"]
    chained = local_aws.session_with_keys(
        creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"], region=REGION
    ).client("sts", endpoint_url=local_aws.endpoint_url)
    assert chained.assume_role(RoleArn=f"arn:aws:iam::{account}:role/AllowsIt", RoleSessionName="next")["Credentials"]
    with pytest.raises(ClientError) as denied:
        chained.assume_role(RoleArn=f"arn:aws:iam::{account}:role/AssumeOnly", RoleSessionName="next")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    assert "sts:SetSourceIdentity" in denied.value.response["Error"]["Message"]
    # Passing it again unchanged is fine; another value is refused before any trust is read.
    again = chained.assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/AllowsIt", RoleSessionName="next", SourceIdentity="alice"
    )
    assert again["Credentials"]
    with pytest.raises(ClientError) as changed:
        chained.assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/AllowsIt", RoleSessionName="next", SourceIdentity="bob"
        )
    assert changed.value.response["Error"]["Code"] == "ValidationError"
    assert "cannot be changed" in changed.value.response["Error"]["Message"]


def test_an_inherited_transitive_tag_cannot_be_set_again(local_aws: LocalAws, new_account: Callable[[], str]) -> None:
    """ "Pass session tags in AWS STS", "Chaining roles with session tags": the transitive tags of a session pass to
    the next, which may not pass a session tag with the same key (keys case-insensitive); other keys are added."""
    account = new_account()
    first_arn = f"arn:aws:iam::{account}:role/First"
    tagging = ["sts:AssumeRole", "sts:TagSession"]
    document = trust(f"arn:aws:iam::{account}:root").replace('"sts:AssumeRole"', json.dumps(tagging))
    role(local_aws, account, "First", document, allow(tagging, "*"))
    role(local_aws, account, "Next", trust(first_arn).replace('"sts:AssumeRole"', json.dumps(tagging)))
    creds = local_aws.client("sts", account).assume_role(
        RoleArn=first_arn,
        RoleSessionName="first",
        Tags=[{"Key": "Project", "Value": "blue"}],
        TransitiveTagKeys=["Project"],
    )["Credentials"]
    chained = local_aws.session_with_keys(
        creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"], region=REGION
    ).client("sts", endpoint_url=local_aws.endpoint_url)
    next_arn = f"arn:aws:iam::{account}:role/Next"
    assert chained.assume_role(RoleArn=next_arn, RoleSessionName="nn", Tags=[{"Key": "Team", "Value": "x"}])
    for key in ("Project", "project"):
        with pytest.raises(ClientError) as again:
            chained.assume_role(RoleArn=next_arn, RoleSessionName="nn", Tags=[{"Key": key, "Value": "red"}])
        assert again.value.response["Error"]["Code"] == "ValidationError"
        assert "transitive tag" in again.value.response["Error"]["Message"]
