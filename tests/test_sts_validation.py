"""STS validates every request against its own constraints and answers ValidationError as STS does (issue 20).

The constraints are the STS API Reference's ("AssumeRole", "GetFederationToken": each parameter's Length
Constraints, Pattern, Valid Range and the list limits), which the local AWS reads from the service model botocore
ships (xacct.local.sts_validation). The wording of the answers: goldstack/goldstack#425 (a value under its minimum,
"Member must have value greater than or equal to 900") and the argmin STS suite's role-session-name cases, written
against STS (a null member, a pattern before a length, "é" and "😀" outside ``\\w``, lengths counted in characters).
The cases are data: one row per documented constraint, sent as raw form parameters signed by botocore's SigV4Auth,
so that nothing on the client side (botocore's own parameter validation) decides in STS's place.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from xacct.local import LocalAws
from xacct.local.stacks import allow, trust

from helpers import REGION

ERROR = "failed to satisfy constraint: Member must"
ROLE = "arn:aws:iam::{provider}:role/Target"


def v(value: str | None, at: str, problem: str) -> str:
    shown = "Value null" if value is None else f"Value '{value}'"
    return f"{shown} at '{at}' {ERROR} {problem}"


def msg(*errors: str) -> str:
    return f"{len(errors)} validation error{'s' if len(errors) > 1 else ''} detected: " + "; ".join(errors)


SESSION = r"satisfy regular expression pattern: [\w+=,.@-]*"
TAG = r"satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]+"

# (id, extra AssumeRole parameters (None removes one), the ValidationError message or None when STS accepts them)
ASSUME_ROLE_CASES: list[tuple[str, Mapping[str, str | None], str | None]] = [
    # RoleSessionName: Length Constraints 2..64, Pattern [\w+=,.@-]*, Required.
    ("session name missing", {"RoleSessionName": None}, msg(v(None, "roleSessionName", "not be null"))),
    (
        "session name empty",
        {"RoleSessionName": ""},
        msg(v("", "roleSessionName", "have length greater than or equal to 2")),
    ),
    (
        "session name of one",
        {"RoleSessionName": "a"},
        msg(v("a", "roleSessionName", "have length greater than or equal to 2")),
    ),
    ("session name with /", {"RoleSessionName": "bad/name"}, msg(v("bad/name", "roleSessionName", SESSION))),
    (
        "session name of 65",
        {"RoleSessionName": "a" * 65},
        msg(v("a" * 65, "roleSessionName", "have length less than or equal to 64")),
    ),
    (
        "session name ! (pattern, then length)",
        {"RoleSessionName": "!"},
        msg(v("!", "roleSessionName", SESSION), v("!", "roleSessionName", "have length greater than or equal to 2")),
    ),
    (
        "session name é (\\w is ASCII)",
        {"RoleSessionName": "é"},
        msg(v("é", "roleSessionName", SESSION), v("é", "roleSessionName", "have length greater than or equal to 2")),
    ),
    (
        "session name 😀 (one character)",
        {"RoleSessionName": "😀"},
        msg(v("😀", "roleSessionName", SESSION), v("😀", "roleSessionName", "have length greater than or equal to 2")),
    ),
    ("session name of 2", {"RoleSessionName": "aa"}, None),
    ("session name of 64", {"RoleSessionName": "b" * 64}, None),
    ("session name's characters", {"RoleSessionName": "A_z0+=,.@-"}, None),
    # RoleArn: Length Constraints 20..2048.
    (
        "role ARN of 19",
        {"RoleArn": "arn:aws:iam::1:role/"[:19]},
        msg(v("arn:aws:iam::1:role"[:19], "roleArn", "have length greater than or equal to 20")),
    ),
    # DurationSeconds: Valid Range 900..43200.
    (
        "duration 899",
        {"DurationSeconds": "899"},
        msg(v("899", "durationSeconds", "have value greater than or equal to 900")),
    ),
    (
        "duration 43201",
        {"DurationSeconds": "43201"},
        msg(v("43201", "durationSeconds", "have value less than or equal to 43200")),
    ),
    # ExternalId: Length Constraints 2..1224, Pattern [\w+=,.@:/-]*.
    ("external id of one", {"ExternalId": "a"}, msg(v("a", "externalId", "have length greater than or equal to 2"))),
    (
        "external id of 1225",
        {"ExternalId": "e" * 1225},
        msg(v("e" * 1225, "externalId", "have length less than or equal to 1224")),
    ),
    (
        "external id with a space",
        {"ExternalId": "a b"},
        msg(v("a b", "externalId", r"satisfy regular expression pattern: [\w+=,.@:\/-]*")),
    ),
    ("external id's characters", {"ExternalId": "A_z0+=,.@:/-"}, None),
    # SourceIdentity: Length 2..64, Pattern [\w+=,.@-]*; "You cannot use a value that begins with the text aws:".
    ("source identity aws:", {"SourceIdentity": "aws:me"}, msg(v("aws:me", "sourceIdentity", SESSION))),
    (
        "source identity of one",
        {"SourceIdentity": "a"},
        msg(v("a", "sourceIdentity", "have length greater than or equal to 2")),
    ),
    # Tags: up to 50; key 1..128, value 0..256, Pattern [\p{L}\p{Z}\p{N}_.:/=+\-@]+ (Unicode letters, spaces, digits).
    (
        "tag key of 129",
        {"Tags.member.1.Key": "k" * 129, "Tags.member.1.Value": "v"},
        msg(v("k" * 129, "tags.1.member.key", "have length less than or equal to 128")),
    ),
    (
        "tag value of 257",
        {"Tags.member.1.Key": "k", "Tags.member.1.Value": "v" * 257},
        msg(v("v" * 257, "tags.1.member.value", "have length less than or equal to 256")),
    ),
    ("tag key with !", {"Tags.member.1.Key": "k!", "Tags.member.1.Value": "v"}, msg(v("k!", "tags.1.member.key", TAG))),
    ("tag without a value", {"Tags.member.1.Key": "k"}, msg(v(None, "tags.1.member.value", "not be null"))),
    ("unicode tag", {"Tags.member.1.Key": "部署 é", "Tags.member.1.Value": "経理 1"}, None),
    (
        "51 tags",
        {
            **{f"Tags.member.{i}.Key": f"k{i}" for i in range(1, 52)},
            **{f"Tags.member.{i}.Value": "v" for i in range(1, 52)},
        },
        "LIST tags have length less than or equal to 50",
    ),
    (
        "51 transitive keys",
        {f"TransitiveTagKeys.member.{i}": f"k{i}" for i in range(1, 52)},
        "LIST transitiveTagKeys have length less than or equal to 50",
    ),
    # PolicyArns: "You can provide up to 10 managed policy ARNs" (not in the model: xacct.local.sts_validation).
    (
        "11 policy ARNs",
        {f"PolicyArns.member.{i}.arn": "arn:aws:iam::aws:policy/ReadOnlyAccess" for i in range(1, 12)},
        "LIST policyArns have length less than or equal to 10",
    ),
    # Policy: "can't exceed 2,048 characters", characters \u0009 \u000A \u000D \u0020-\u00FF.
    ("policy of 2049", {"Policy": " " * 2049}, msg(v(" " * 2049, "policy", "have length less than or equal to 2048"))),
    (
        "policy with \u0100",
        {"Policy": "{\u0100}"},
        msg(v("{\u0100}", "policy", r"satisfy regular expression pattern: [\u0009\u000A\u000D\u0020-\u00FF]+")),
    ),
    # Several members: each counted, in the request's member order.
    (
        "two members",
        {"RoleSessionName": "a", "DurationSeconds": "100"},
        msg(
            v("a", "roleSessionName", "have length greater than or equal to 2"),
            v("100", "durationSeconds", "have value greater than or equal to 900"),
        ),
    ),
]


def sts_call(aws: LocalAws, credentials: Mapping[str, str], params: Mapping[str, str]) -> requests.Response:
    """POST the form exactly as given, signed by botocore's SigV4Auth for sts in the local region."""
    body = "&".join(f"{requests.utils.quote(k, safe='')}={requests.utils.quote(v, safe='')}" for k, v in params.items())
    url = f"{aws.endpoint_url}/"
    request = AWSRequest(
        method="POST", url=url, data=body.encode(), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    SigV4Auth(Credentials(credentials["key"], credentials["secret"], credentials.get("token")), "sts", REGION).add_auth(
        request
    )
    return requests.post(url, data=body.encode(), headers=dict(request.headers.items()), timeout=30)


def error_of(response: requests.Response) -> tuple[str, str]:
    text = response.content.decode("utf-8")  # STS's XML is UTF-8 ("text/xml" names no charset)
    code = text.split("<Code>", 1)[1].split("</Code>", 1)[0] if "<Code>" in text else ""
    message = text.split("<Message>", 1)[1].split("</Message>", 1)[0] if "<Message>" in text else ""
    return code, message


@pytest.fixture(scope="module")
def caller(local_aws: LocalAws, new_account: Callable[[], str]) -> tuple[str, dict[str, str]]:
    """A role session in a consumer account, allowed to assume (and tag, and set a source identity on) Target."""
    provider, consumer = new_account(), new_account()
    target = ROLE.format(provider=provider)
    iam_c, iam_p = local_aws.client("iam", consumer), local_aws.client("iam", provider)
    iam_c.create_role(RoleName="Caller", AssumeRolePolicyDocument=trust(service=True))
    actions = ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]
    iam_c.put_role_policy(RoleName="Caller", PolicyName="p", PolicyDocument=allow(actions, target))
    caller_arn = f"arn:aws:iam::{consumer}:role/Caller"
    document = trust(caller_arn).replace(
        '"sts:AssumeRole"', '["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]'
    )
    iam_p.create_role(RoleName="Target", AssumeRolePolicyDocument=document)
    frozen = local_aws.workload_session(caller_arn).get_credentials().get_frozen_credentials()
    return target, {"key": frozen.access_key, "secret": frozen.secret_key, "token": frozen.token or ""}


@pytest.mark.parametrize(("case", "extra", "expected"), ASSUME_ROLE_CASES, ids=[c[0] for c in ASSUME_ROLE_CASES])
def test_assume_role_parameters_as_sts_validates_them(
    local_aws: LocalAws,
    caller: tuple[str, dict[str, str]],
    case: str,
    extra: Mapping[str, str | None],
    expected: str | None,
) -> None:
    target, credentials = caller
    params: dict[str, str] = {
        "Action": "AssumeRole",
        "Version": "2011-06-15",
        "RoleArn": target,
        "RoleSessionName": "ok",
    }
    for key, value in extra.items():
        if value is None:
            params.pop(key)
        else:
            params[key] = value
    response = sts_call(local_aws, credentials, params)
    code, message = error_of(response)
    if expected is None:
        assert code != "ValidationError", (case, message)
        return
    assert (response.status_code, code) == (400, "ValidationError"), (case, response.text[:300])
    if expected.startswith("LIST "):  # a list's own limit: its value is rendered by STS in a form no page shows
        at, _, problem = expected[len("LIST ") :].partition(" ")
        assert message.startswith("1 validation error detected: Value '["), message[:200]
        assert message.endswith(f"' at '{at}' {ERROR} {problem}"), message[-200:]
    else:
        assert message == expected.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def test_validation_comes_before_the_role_and_its_trust(
    local_aws: LocalAws, caller: tuple[str, dict[str, str]]
) -> None:
    """A malformed session name for a role that does not exist is a ValidationError, not AccessDenied (argmin)."""
    target, credentials = caller
    params = {
        "Action": "AssumeRole",
        "Version": "2011-06-15",
        "RoleArn": f"{target}-missing",
        "RoleSessionName": "bad/name",
    }
    assert error_of(sts_call(local_aws, credentials, params)) == (
        "ValidationError",
        msg(v("bad/name", "roleSessionName", SESSION)),
    )


def test_every_sts_operation_is_validated_from_the_model(
    local_aws: LocalAws, caller: tuple[str, dict[str, str]]
) -> None:
    """GetFederationToken's Name (2..32, "GetFederationToken", STS API Reference): the same reading, no code of its
    own."""
    _, credentials = caller
    params = {"Action": "GetFederationToken", "Version": "2011-06-15", "Name": "n" * 33}
    assert error_of(sts_call(local_aws, credentials, params)) == (
        "ValidationError",
        msg(v("n" * 33, "name", "have length less than or equal to 32")),
    )


def test_a_sensitive_value_is_not_repeated(local_aws: LocalAws, caller: tuple[str, dict[str, str]]) -> None:
    """AssumeRoleWithWebIdentity's token is sensitive in the model: a token under 4 characters is refused without
    quoting it (sent signed: the local AWS routes an unsigned call to S3, docs/local-aws.md)."""
    _, credentials = caller
    form = {
        "Action": "AssumeRoleWithWebIdentity",
        "Version": "2011-06-15",
        "RoleArn": "arn:aws:iam::111111111111:role/Web",
        "RoleSessionName": "web",
        "WebIdentityToken": "s3c",
    }
    response = sts_call(local_aws, credentials, form)
    code, message = error_of(response)
    assert code == "ValidationError"
    assert message == (
        f"1 validation error detected: Value at 'webIdentityToken' {ERROR} have length greater than or equal to 4"
    )
    assert "s3c" not in response.content.decode("utf-8")
