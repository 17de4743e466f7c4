"""Role trust policies as IAM stores them: unknown principals refused, role/user principals kept as unique ids.

AWS documentation: "IAM JSON policy elements: Principal"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html), sections "IAM role
principals" and "IAM user principals": a role or user ARN is transformed into the principal's unique id when the
policy is saved and back into the ARN when it is shown; once the principal is deleted the policy shows the unique
id, and a role or user re-created with the same name is not trusted. Saving a policy naming a role or user that
does not exist fails: AWS's knowledge-center page "How do I resolve the IAM trust policy error 'Failed to update
trust policy. Invalid principal in policy'?" (https://repost.aws/knowledge-center/iam-trust-policy-error); the
exact error as IAM sends it, 400 ``MalformedPolicyDocument: Invalid principal in policy: "AWS":"<arn>"``, is quoted
in github.com/hashicorp/terraform-provider-aws/issues/8905 and github.com/aws-actions/configure-aws-credentials/
issues/332. "IAM JSON policy elements: NotPrincipal": "You cannot use the NotPrincipal element in ... an IAM role
trust policy" (the wording of that error is not documented; see README).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from xacct.local import LocalAws
from xacct.local.stacks import INVOKE_ROLE, allow, trust
from xacct.local.terraform import ProviderHosts, TerraformError, Workspace, copy_configuration

from helpers import REGION


def refusal(call: Callable[[], object]) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"], response["Error"]["Message"]


def workload_role(aws: LocalAws, account: str, name: str, *assumable: str) -> str:
    iam = aws.client("iam", account)
    arn: str = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust(service=True))["Role"]["Arn"]
    if assumable:
        iam.put_role_policy(RoleName=name, PolicyName="assume", PolicyDocument=allow("sts:AssumeRole", *assumable))
    return arn


def test_create_role_refuses_a_role_principal_that_does_not_exist(
    local_aws: LocalAws, new_account: Callable[[], str]
) -> None:
    provider, consumer = new_account(), new_account()
    missing = f"arn:aws:iam::{consumer}:role/LambdaRoleDeve"
    iam = local_aws.client("iam", provider)
    assert refusal(lambda: iam.create_role(RoleName="Invoke", AssumeRolePolicyDocument=trust(missing))) == (
        400,
        "MalformedPolicyDocument",
        f'Invalid principal in policy: "AWS":"{missing}"',
    )
    assert refusal(lambda: iam.get_role(RoleName="Invoke"))[1] == "NoSuchEntity"  # nothing half-created

    missing_user = f"arn:aws:iam::{consumer}:user/nobody"
    assert refusal(lambda: iam.create_role(RoleName="Invoke", AssumeRolePolicyDocument=trust(missing_user)))[2] == (
        f'Invalid principal in policy: "AWS":"{missing_user}"'
    )


def test_update_assume_role_policy_refuses_an_unknown_principal_and_keeps_the_old_one(
    local_aws: LocalAws, new_account: Callable[[], str]
) -> None:
    provider, consumer = new_account(), new_account()
    workload = workload_role(local_aws, consumer, "Workload")
    iam = local_aws.client("iam", provider)
    iam.create_role(RoleName="Invoke", AssumeRolePolicyDocument=trust(workload))
    typo = f"arn:aws:iam::{consumer}:role/Workloda"
    assert refusal(lambda: iam.update_assume_role_policy(RoleName="Invoke", PolicyDocument=trust(typo))) == (
        400,
        "MalformedPolicyDocument",
        f'Invalid principal in policy: "AWS":"{typo}"',
    )
    shown = iam.get_role(RoleName="Invoke")["Role"]["AssumeRolePolicyDocument"]
    assert shown["Statement"][0]["Principal"] == {"AWS": [workload]}


def test_account_service_and_session_principals_are_not_looked_up(
    local_aws: LocalAws, new_account: Callable[[], str]
) -> None:
    """Only role and user ARNs become unique ids; an account, a service or an assumed-role session ARN is kept."""
    provider, consumer = new_account(), new_account()
    session = f"arn:aws:sts::{consumer}:assumed-role/Anything/any-session"
    iam = local_aws.client("iam", provider)
    iam.create_role(RoleName="Open", AssumeRolePolicyDocument=trust(consumer, f"arn:aws:iam::{consumer}:root", session))
    shown = iam.get_role(RoleName="Open")["Role"]["AssumeRolePolicyDocument"]
    assert shown["Statement"][0]["Principal"]["AWS"] == [consumer, f"arn:aws:iam::{consumer}:root", session]


def test_not_principal_is_refused_in_a_trust_policy(local_aws: LocalAws, new_account: Callable[[], str]) -> None:
    account = new_account()
    document = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"},
                {
                    "Effect": "Deny",
                    "NotPrincipal": {"AWS": f"arn:aws:iam::{account}:root"},
                    "Action": "sts:AssumeRole",
                },
            ],
        }
    )
    iam = local_aws.client("iam", account)
    status, code, message = refusal(lambda: iam.create_role(RoleName="WithNot", AssumeRolePolicyDocument=document))
    assert (status, code) == (400, "MalformedPolicyDocument")
    assert "NotPrincipal" in message
    iam.create_role(RoleName="Plain", AssumeRolePolicyDocument=trust(service=True))
    assert refusal(lambda: iam.update_assume_role_policy(RoleName="Plain", PolicyDocument=document))[:2] == (
        400,
        "MalformedPolicyDocument",
    )


def test_a_deleted_and_recreated_consumer_role_is_no_longer_trusted(
    local_aws: LocalAws, new_account: Callable[[], str]
) -> None:
    provider, consumer = new_account(), new_account()
    invoke = f"arn:aws:iam::{provider}:role/Invoke"
    workload = workload_role(local_aws, consumer, "Workload", invoke)
    iam_b, iam_a = local_aws.client("iam", consumer), local_aws.client("iam", provider)
    old_id = iam_b.get_role(RoleName="Workload")["Role"]["RoleId"]
    iam_a.create_role(RoleName="Invoke", AssumeRolePolicyDocument=trust(workload))
    assert local_aws.workload_session(workload).client("sts").assume_role(RoleArn=invoke, RoleSessionName="before")

    # While the principal exists, GetRole shows its ARN (the reverse transformation).
    assert iam_a.get_role(RoleName="Invoke")["Role"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "AWS": [workload]
    }

    iam_b.delete_role_policy(RoleName="Workload", PolicyName="assume")
    iam_b.delete_role(RoleName="Workload")
    # Deleted: the policy shows the unique id it stored.
    shown = iam_a.get_role(RoleName="Invoke")["Role"]["AssumeRolePolicyDocument"]
    assert shown["Statement"][0]["Principal"] == {"AWS": [old_id]}
    assert old_id.startswith("AROA")

    # Re-created under the same name: a new unique id, not trusted, and the policy still shows the old id.
    workload_role(local_aws, consumer, "Workload", invoke)
    assert iam_b.get_role(RoleName="Workload")["Role"]["RoleId"] != old_id
    sts = local_aws.workload_session(workload).client("sts")
    with pytest.raises(ClientError) as caught:
        sts.assume_role(RoleArn=invoke, RoleSessionName="after")
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    assert iam_a.get_role(RoleName="Invoke")["Role"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "AWS": [old_id]
    }

    # The fix AWS documents: save the policy again with the ARN, which now becomes the new id.
    iam_a.update_assume_role_policy(RoleName="Invoke", PolicyDocument=trust(workload))
    assert sts.assume_role(RoleArn=invoke, RoleSessionName="fixed")["Credentials"]["AccessKeyId"]


# AWS managed policies exist in every account ("AWS managed policies", IAM User Guide,
# https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-vs-inline.html#aws-managed-policies).
# The local AWS provides them on demand (xacct.local.moto_gaps): none of these answers may tell.
LAMBDA_BASIC = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


def test_aws_managed_policies_exist_in_a_new_account(local_aws: LocalAws, new_account: Callable[[], str]) -> None:
    account = new_account()
    iam = local_aws.client("iam", account)
    policy = iam.get_policy(PolicyArn=LAMBDA_BASIC)["Policy"]
    assert (policy["PolicyName"], policy["Path"], policy["AttachmentCount"]) == (
        "AWSLambdaBasicExecutionRole",
        "/service-role/",
        0,
    )
    workload_role(local_aws, account, "Workload")
    iam.attach_role_policy(RoleName="Workload", PolicyArn=LAMBDA_BASIC)
    attached = iam.list_attached_role_policies(RoleName="Workload")["AttachedPolicies"]
    assert attached == [{"PolicyName": "AWSLambdaBasicExecutionRole", "PolicyArn": LAMBDA_BASIC}]
    assert iam.get_policy(PolicyArn=LAMBDA_BASIC)["Policy"]["AttachmentCount"] == 1
    # Attachment counts are the account's own: another new account sees the policy unattached.
    assert local_aws.client("iam", new_account()).get_policy(PolicyArn=LAMBDA_BASIC)["Policy"]["AttachmentCount"] == 0


def test_aws_managed_policies_are_all_listed_in_a_new_account(
    local_aws: LocalAws, new_account: Callable[[], str]
) -> None:
    iam = local_aws.client("iam", new_account())
    listed = [p["Arn"] for page in iam.get_paginator("list_policies").paginate(Scope="AWS") for p in page["Policies"]]
    assert len(listed) > 1000
    assert LAMBDA_BASIC in listed
    missing = "arn:aws:iam::aws:policy/NoSuchPolicy"
    assert refusal(lambda: iam.get_policy(PolicyArn=missing))[:2] == (404, "NoSuchEntity")


@pytest.mark.apply
def test_applying_the_provider_before_its_consumer_fails_with_aws_message(
    local_aws: LocalAws, new_account: Callable[[], str], tmp_path: Path, provider_hosts: ProviderHosts
) -> None:
    """envs/stag before envs/deve: the plan succeeds (it cannot know), the apply fails at CreateRole as in AWS.

    Slow by nature (about 2 minutes of wall time, little CPU): the AWS provider retries CreateRole on "Invalid
    principal in policy" for its IAM propagation timeout, as it does against AWS (eventual consistency).
    """
    provider, consumer = new_account(), new_account()
    consumer_role = f"arn:aws:iam::{consumer}:role/LambdaRoleDeve"
    stag = Workspace(copy_configuration(tmp_path / "tree") / "envs/stag", local_aws.env(provider), provider_hosts)
    values = {
        "region": REGION,
        "api_server_url": "http://127.0.0.1:9/",
        "invoke_roles": {INVOKE_ROLE: {"trusted_role_arns": [consumer_role]}},
    }
    with pytest.raises(TerraformError) as caught:
        stag.apply(values)
    # What the apply made before it failed stays: the accounts are this test's own, and the local AWS goes away
    # with the test process (test_apply.py tests destroy).
    message = " ".join(str(caught.value).split())
    assert "MalformedPolicyDocument" in message
    assert f'Invalid principal in policy: "AWS":"{consumer_role}"' in message
