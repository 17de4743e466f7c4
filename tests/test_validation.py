"""Bad input fails `terraform plan` with a message that names the bad value - never a half-applied stack.

The cases live where Terraform users look for them: each module's own `terraform test` files
(modules/<module>/tests/*.tftest.hcl, AWS provider mocked), which run without Python. Here:

- `terraform test` runs once per module, one item each: every run of every file must have passed;
- `terraform test` checks only *which* variable or resource failed, not the message, so the messages are checked
  here: every run that expects a failure becomes one call of its module in a generated root configuration (the
  file's `variables` with the run's on top, its mocks and overrides), and a few plans of such roots report every
  message at once, each attributed to its run. Each message must hold the rule and the offending value;
- one plan with the real provider against the local AWS: create_role = false for a role that does not exist.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from xacct.local import terraform as tfrun
from xacct.local.terraform import Workspace

from conftest import CONSUMER, PROVIDER
from helpers import REGION, ROOT, load_tool

MODULES = ("provider_api", "consumer_role")
TEST_FILES = sorted(
    p.relative_to(ROOT / "modules") for m in MODULES for p in (ROOT / "modules" / m / "tests").glob("*.tftest.hcl")
)
ROLE = "ApiAllowByIamRoleStag"
tfdocs = load_tool("tfdocs")  # parse_body: the .tftest.hcl files read with python-hcl2

# run name -> fragments its failure message must hold: the rule, and the offending value as the message shows it.
MESSAGES: dict[str, tuple[str, ...]] = {
    # provider_api: trusted principals
    "wildcard_principal": ('must not contain "*"', f'"{ROLE}: *"'),
    "account_id_principal": ("not an account id or an account root", f'"{ROLE}: 222222222222"'),
    "account_root_principal": ("not an account id or an account root", f'"{ROLE}: arn:aws:iam::222222222222:root"'),
    "user_principal": ("not users, groups or sessions", f'"{ROLE}: arn:aws:iam::222222222222:user/alice"'),
    "malformed_arn": (
        "must look like arn:aws:iam::<12-digit account id>:role/",
        f'"{ROLE}: arn:aws:iam:222222222222:role/LambdaRoleDeve"',
    ),
    "eleven_digit_account": ("12-digit account id", f'"{ROLE}: arn:aws:iam::22222222222:role/LambdaRoleDeve"'),
    "thirteen_digit_account": ("12-digit account id", f'"{ROLE}: arn:aws:iam::2222222222222:role/LambdaRoleDeve"'),
    "empty_trusted_role_arns": ("must name at least one consumer role ARN", f'["{ROLE}"]'),
    "repeated_trusted_role_arn": ("must not repeat an ARN", f'["{ROLE}"]'),
    # provider_api: the invoke roles
    "no_invoke_roles": ("invoke_roles is empty", "nobody can call it"),
    # provider_api: grants that end by themselves
    "expires_not_a_time": ("expires must be a date (2027-03-31", '"ApiAllowByIamRoleStag":"next tuesday"'),
    "grant_ended": ("grants have ended", '"ApiAllowByIamRoleStag":"2020-01-01T00:00:00Z"'),
    "grant_ending": ("grants end within 36500 days", '"ApiAllowByIamRoleStag":"2100-03-31T00:00:00Z"'),
    "role_name_too_long": ("role names must be 1-64 characters", "A" * 65 + " (65 chars)"),
    "role_name_illegal_characters": ("role names must be 1-64 characters of letters, digits", '"Api Role! (9 chars)"'),
    "allowed_route_not_a_route": ("every allowed_routes entry must be one of routes", f'"{ROLE}: GET /items/{{id}}"'),
    "allowed_routes_star_and_keys": ('either ["*"] (every route) or a non-empty list', f'["{ROLE}"]'),
    "max_session_too_short": ("from 3600 to 43200", f'"{ROLE}":3599'),
    "max_session_too_long": ("from 3600 to 43200", f'"{ROLE}":43201'),
    "external_id_too_short": ("external_id must be 2-1224 characters", "(1 chars: x)"),
    "external_id_too_long": ("external_id must be 2-1224 characters", "(1225 chars: eee"),
    "external_id_illegal_characters": ("external_id must be 2-1224 characters of letters", "(10 chars: tenant #42)"),
    "permissions_boundary_not_a_policy": (
        "must be a managed policy ARN",
        'got "arn:aws:iam::111111111111:role/Boundary"',
    ),
    "trust_policy_over_quota": (
        f"The trust policy of invoke role {ROLE} would be",
        "over the account's quota of 2048 for role trust policies (trust_policy_length_quota)",
        "its 50 trusted_role_arns (50 accounts) take about 48 characters each, so about 38 fit in one role",
        "Split the consumers into several invoke_roles entries",
    ),
    "one_consumer_more_than_fits": (
        "its 39 trusted_role_arns (39 accounts) take about 48 characters each, so about 38 fit",
    ),
    # provider_api: exact route allowlists that IAM cannot express, and the inline policy quota
    "deny_would_hit_allowed_greedy_route": (
        f"invoke_roles.{ROLE}: IAM cannot allow exactly these allowed_routes",
        "To keep out GET /items/{id}, the policy needs Deny GET/items/*, which also matches requests that go to the"
        " allowed route ANY /{proxy+}.",
        "Allow both routes to this role or neither",
    ),
    "default_route_beside_denied_param_route": (
        f"invoke_roles.{ROLE}: IAM cannot allow exactly these allowed_routes",
        "To keep out GET /items/{id}, the policy needs Deny GET/items/*, which also matches requests that go to the"
        " allowed route $default.",
    ),
    "trust_policy_over_raised_quota": (
        "over the account's quota of 4096 for role trust policies",
        "its 82 trusted_role_arns (82 accounts) take about 48 characters each, so about 81 fit in one role",
    ),
    "trust_policy_quota_above_what_aws_grants": ("trust_policy_length_quota must be the account's", "got 8192"),
    "trust_policy_quota_below_the_default": ("a whole number from 2048", "got 1024"),
    "trusted_role_path_too_long": (
        f"invoke_roles.{ROLE}: trusted_role_arns must have role paths of at most 512 characters",
        "LambdaRoleDeve (path of 521 characters)",
    ),
    "invoke_policy_over_quota": (
        f"The invoke policy of invoke role {ROLE} would be up to",
        "(84 allowed and 84 denied route patterns)",
        "over IAM's quota of 10240 characters for a role's inline policies",
        "Split its allowed_routes over several invoke_roles entries",
    ),
    # provider_api: integration
    "integration_type": ('integration.type must be "HTTP_PROXY"', 'got "HTTP"'),
    "http_proxy_uri_not_url": ("must be an http(s) URL", 'got "api.internal.example.com"'),
    "http_proxy_uri_with_query": ("no query or fragment", 'got "https://api.example.com/v1?tenant=a"'),
    "path_variable_in_host": ("{name} only for path variables", 'got "https://{proxy}.example.com/"'),
    "uri_path_variable_missing_from_a_route": (
        'integration.uri "https://backend.example.com/{proxy}" refers to path variables that not every route has',
        'routes without them: ["GET /health"]',
    ),
    "listener_arn_without_vpc_link": (
        "reaches only through a VPC link: set integration.vpc_link_id or integration.vpc_link",
        '"arn:aws:elasticloadbalancing:ap-northeast-1:111111111111:listener/app/server-stag/',
    ),
    "cloud_map_arn_without_vpc_link": (
        "reaches only through a VPC link",
        '"arn:aws:servicediscovery:ap-northeast-1:111111111111:service/srv-e4anhexample0004"',
    ),
    "load_balancer_arn_is_not_a_listener": (
        "an ALB/NLB listener ARN",
        'got "arn:aws:elasticloadbalancing:ap-northeast-1:111111111111:loadbalancer/app/server-stag/50dc6c495c0c9188"',
    ),
    "vpc_link_id_malformed": ("must be a VPC link id", 'got "VPC Link" with HTTP_PROXY'),
    "lambda_uri_not_function_arn": ("must be a Lambda function ARN", 'got "https://api.example.com"'),
    "lambda_with_get": ('integration.method cannot be "GET" with AWS_PROXY',),
    "timeout_too_short": ("from 50 to 30000", "got 49"),
    "timeout_too_long": ("from 50 to 30000", "got 30001"),
    "integration_method": ("integration.method must be one of", 'got "FETCH"'),
    # provider_api: name, routes, stage, log, domain
    "name_too_long": ("name must be 1-128 characters", "got 129 characters"),
    "no_routes": ("routes must list at least one route key",),
    "malformed_route_key": ('each route key must be "METHOD /path"', '["GET hoge"]'),
    "greedy_not_last": ("{proxy+} only as the last segment", '["ANY /{proxy+}/tail"]'),
    "bad_http_method": ("HTTP method must be one of", '["FETCH /hoge"]'),
    "repeated_route": ("must not repeat a route key", '["GET /items"]'),
    "stage_name_with_space": ('stage_name must be "$default" or 1-128 characters', 'got "v 1"'),
    "burst_zero": ("throttling.burst_limit must be", "burst_limit = 0"),
    "rate_negative": ("throttling.rate_limit a number > 0", "rate_limit = -1"),
    "log_retention_not_a_cloudwatch_value": ("must be one of CloudWatch's values", "got 31"),
    "log_kms_key_not_a_key_arn": ("access_log.kms_key_arn must be a KMS key ARN", 'got "alias/aws/logs"'),
    "domain_name_upper_case": ("domain.name must be a lower-case DNS name", 'got "API.example.com"'),
    "domain_certificate_not_acm": (
        "must be an ACM certificate ARN",
        'got "arn:aws:iam::111111111111:server-certificate/api"',
    ),
    "domain_zone_given_by_name": ("must be a Route 53 hosted zone id", 'got "example.com"'),
    # provider_api: the payload hand-off (large_payloads)
    "expiration_days_zero": ("large_payloads.expiration_days must be a whole number of days from 1 to 365", "got 0."),
    "expiration_days_fraction": ("large_payloads.expiration_days must be a whole number of days", "got 1.5."),
    # consumer_role
    "consumer_role_name_illegal_characters": ("role_name must be 1-64 characters", 'got "Lambda Role"'),
    "consumer_no_invoke_roles": ("provider_invoke_role_arns must list at least one invoke role ARN",),
    "consumer_not_role_arns": (
        "provider_invoke_role_arns must be IAM role ARNs",
        '["arn:aws:iam::111111111111:user/api","*"]',
    ),
    "consumer_existing_role_with_services": (
        'trusted_services ["ecs-tasks.amazonaws.com"] cannot be applied with create_role = false',
    ),
    "consumer_existing_role_with_boundary": (
        "cannot be applied with create_role = false",
        '"arn:aws:iam::222222222222:policy/Boundary"',
    ),
    "consumer_bad_service": ("trusted_services must be AWS service principals", '["lambda"]'),
    "consumer_no_service": ("trusted_services must name at least one service when create_role = true",),
    "consumer_managed_policy_not_a_policy": ("must be managed policy ARNs", '["AWSLambdaBasicExecutionRole"]'),
    "consumer_boundary_not_a_policy": ("must be a managed policy ARN", 'got "arn:aws:iam::222222222222:role/Boundary"'),
    "consumer_existing_role_missing": (
        'no IAM role named "LambdaRoleDeve"',
        "Create the role first",
        "set create_role = true",
    ),
}

# provider_api: private integrations, the origin secret, Lambda identity (issue 7, items 1, 2 and 5).
MESSAGES.update(
    {
        "vpc_link_with_a_url": (
            "when the integration goes through a VPC link",
            "(HTTP API private integrations take no URL)",
            'got "https://api.example.com"',
        ),
        "vpc_link_and_vpc_link_id": ('set vpc_link_id (an existing VPC link, "abc123") or vpc_link', "not both"),
        "vpc_link_subnet_malformed": (
            "integration.vpc_link.subnet_ids must list at least one subnet id",
            '["subnet-XYZ"]',
        ),
        "vpc_link_without_subnets": ("integration.vpc_link.subnet_ids must list at least one subnet id", "bad: []"),
        "vpc_link_security_group_malformed": ("security_group_ids must be security group ids", '["default"]'),
        "vpc_link_with_lambda": ("integration.vpc_link is only valid with HTTP_PROXY", "got AWS_PROXY"),
        "tls_server_name_without_vpc_link": ("only valid with a VPC link", 'got "api.example.com"'),
        "tls_server_name_malformed": ("must be a DNS name", 'got "https://api.example.com/"'),
        "public_plain_http": (
            'integration.uri "http://api.internal.stag.foo.example.com" is plain http:// to a host that is not',
            "127.0.0.0/8, localhost and [::1]",
        ),
        "plain_http_to_a_lookalike_of_localhost": ('"http://localhost.example.com:8080/" is plain http://',),
        "lambda_with_forward_caller_identity": (
            'forward_caller_identity = true is refused with integration.type = "AWS_PROXY"',
            "requestContext.authorizer.iam",
            "Set forward_caller_identity = false",
        ),
        "origin_header_upper_case": ("origin_verify_header must be a lower-case header name", 'got "X-Origin-Verify"'),
        "origin_header_reserved": ("not one API Gateway", 'got "x-amzn-origin"'),
        "origin_secret_version_zero": ("origin_secret_version must be a whole number >= 1", "got 0"),
    }
)


# -- reading the .tftest.hcl files --------------------------------------------------------------------------


@dataclass(frozen=True)
class FailingRun:
    module: str
    file: str
    name: str
    variables: dict[str, str]  # variable -> HCL expression: the file's `variables`, the run's on top
    expect_failures: str  # HCL list of what must fail
    overrides: tuple[tuple[str, dict[str, str]], ...]  # the run's override_* blocks: (kind, attributes)
    mocks: tuple[tuple[str, str], ...]  # the file's mock_provider "aws" contents: (header, body) of each block

    @property
    def check_block(self) -> bool:
        """True when a check block's assertion fails: a warning at plan, not an error."""
        return bool(re.fullmatch(r"\[\s*check\.[^,\]]+(\s*,\s*check\.[^,\]]+)*\s*,?\s*\]", self.expect_failures))

    @property
    def resource_condition(self) -> bool:
        """True when a resource or data source condition fails (not an input variable validation, not a check)."""
        variable = re.fullmatch(r"\[\s*var\.[^,\]]+(\s*,\s*var\.[^,\]]+)*\s*,?\s*\]", self.expect_failures)
        return not variable and not self.check_block


def read_runs(test_file: Path) -> tuple[list[str], list[FailingRun]]:
    """(names of every run, the runs that expect a failure) of one .tftest.hcl file."""
    body = tfdocs.parse_body(test_file.read_text())
    base = next((b.body.attributes for b in body.find("variables")), {})
    mocks = tuple(
        (" ".join((m.type, *m.labels)), m.body.text)
        for aws in body.find("mock_provider", '"aws"')
        for m in aws.body.blocks
    )
    names, failing = [], []
    for run in body.find("run"):
        name = run.labels[0].strip('"')
        names.append(name)
        overrides = next((b.body.attributes for b in run.body.find("variables")), {})
        expected = run.body.attributes.get("expect_failures")
        blocks = tuple((b.type, b.body.attributes) for b in run.body.blocks if b.type.startswith("override_"))
        if expected is not None:
            module = test_file.parents[1].name
            variables = {**base, **overrides}
            failing.append(FailingRun(module, test_file.name, name, variables, expected, blocks, mocks))
    return names, failing


def all_failing_runs() -> list[FailingRun]:
    return [run for path in TEST_FILES for run in read_runs(ROOT / "modules" / path)[1]]


def test_the_reader_reads_the_test_files() -> None:
    """The reader finds what Terraform finds: every run, the runs' variables on top of the file's, nested values."""
    names, failing = read_runs(ROOT / "modules/provider_api/tests/invoke_roles.tftest.hcl")
    assert names[:2] == ["wildcard_principal", "account_id_principal"]
    assert (len(names), len(failing)) == (40, 29)  # 11 runs plan the invoke and trust policies (and consumer_configs)
    wildcard = failing[0]
    assert wildcard.variables["name"] == '"server-stag"'
    assert wildcard.variables["invoke_roles"] == '{ ApiAllowByIamRoleStag = { trusted_role_arns = ["*"] } }'
    assert wildcard.expect_failures == "[var.invoke_roles]"
    assert not wildcard.resource_condition
    assert failing[-1].resource_condition  # [aws_iam_role.invoke]
    external_id = next(r for r in failing if r.name == "external_id_too_long").variables["invoke_roles"]
    assert "# 1225 characters" not in external_id
    assert 'format("%1225s", "")' in external_id
    (missing,) = [r for r in read_runs(ROOT / "modules/consumer_role/tests/validation.tftest.hcl")[1] if r.overrides]
    assert missing.overrides == (
        ("override_data", {"target": "data.aws_iam_roles.existing[0]", "values": "{ names = [], arns = [] }"}),
    )
    assert [header for header, _ in missing.mocks] == ['mock_data "aws_iam_roles"']


def test_every_expected_failure_has_its_message_checked() -> None:
    runs = [run.name for run in all_failing_runs()]
    assert len(runs) == len(set(runs)), "run names must be unique across the modules' test files"
    assert sorted(runs) == sorted(MESSAGES)
    assert len(runs) >= 60


# -- running Terraform ----------------------------------------------------------------------------------------


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def in_parallel(
    *commands: tuple[Path, tuple[str, ...]], extra_env: dict[str, str] | None = None
) -> list[subprocess.CompletedProcess[str]]:
    """Terraform in several folders at once: each process spends most of its time loading the provider."""
    env = {**os.environ, **tfrun.environment(), **(extra_env or {})}
    binary = tfrun.terraform_binary()
    processes = [
        subprocess.Popen(
            [binary, *args], cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for folder, args in commands
    ]
    results = []
    for (_, args), process in zip(commands, processes, strict=True):
        out, err = process.communicate()
        results.append(subprocess.CompletedProcess([binary, *args], process.returncode, out, err))
    return results


def init(*folders: Path) -> None:
    for folder, result in zip(
        folders, in_parallel(*((f, ("init", "-input=false", "-no-color")) for f in folders)), strict=True
    ):
        assert result.returncode == 0, f"terraform init in {folder}:\n{result.stdout}{result.stderr}"


@pytest.fixture(scope="module")
def tftest_tree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A copy of modules/ (no state, no .terraform) with each module initialised once, for `terraform test`."""
    tree = tfrun.copy_configuration(tmp_path_factory.mktemp("tftest"))
    init(*(tree / "modules" / module for module in MODULES))
    yield tree
    shutil.rmtree(tree, ignore_errors=True)


@pytest.fixture(scope="module")
def mock_provider_host(tftest_tree: Path) -> Iterator[dict[str, str]]:
    """One AWS provider process for every mocked `terraform test` here: ``TF_REATTACH_PROVIDERS`` to reach it.

    Terraform starts the provider twice per run block (about 0.2 s of CPU each, 110 runs in provider_api), and
    with `mock_provider` it uses the real provider only for its schema and validation, never configuring it. So
    the provider is started once with `-debug` and Terraform attaches to it, as HashiCorp's "Debugging providers"
    describes (https://developer.hashicorp.com/terraform/plugin/debugging). One host for everything here, since
    no account's credentials are involved (plans and applies against the local AWS get a host per account:
    ProviderHosts). Run by hand, `terraform test` in a module starts the provider as usual.
    """
    binary = tfrun.installed_provider(tftest_tree / "modules" / "provider_api")
    with tfrun.ProviderHost(binary, {**os.environ, **tfrun.environment()}, tftest_tree / "provider-debug.log") as host:
        assert "registry.terraform.io/hashicorp/aws" in json.loads(host.reattach), host.reattach
        yield {tfrun.REATTACH: host.reattach}


@pytest.mark.parametrize("module", MODULES)
def test_terraform_test_passes(module: str, tftest_tree: Path, mock_provider_host: dict[str, str]) -> None:
    """`terraform test` of the module: every run block of every file passed (none failed, none was skipped).

    One process per module, attached to one provider process (see mock_provider_host).
    """
    (result,) = in_parallel(
        (tftest_tree / "modules" / module, ("test", "-json", "-no-color")), extra_env=mock_provider_host
    )
    events = json_lines(result.stdout)
    problems = [e["@message"] for e in events if e.get("@level") == "error" or e.get("type") == "diagnostic"]
    files = [p for p in TEST_FILES if p.parts[0] == module]
    assert len(files) >= 2, f"modules/{module}/tests holds {files}"
    for test_file in files:
        ran = {
            e["test_run"]["run"]: e["test_run"]["status"]
            for e in events
            if e.get("@testfile") == f"tests/{test_file.name}" and e.get("test_run", {}).get("status")
        }
        expected = dict.fromkeys(read_runs(ROOT / "modules" / test_file)[0], "pass")
        assert ran == expected, f"{test_file}: " + "\n".join(problems or [result.stderr])
    assert result.returncode == 0, "\n".join(problems or [result.stderr])
    # `terraform test` validates the module first, so this is `terraform validate` too (test_static.py validates the
    # envs): warnings, e.g. a deprecated argument, fail it as they fail that test.
    warnings = [e["@message"] for e in events if e.get("type") == "diagnostic" and e.get("@level") == "warn"]
    assert warnings == [], warnings


@dataclass
class Messages:
    by_call: dict[str, list[str]]  # run name -> the messages of its module call (variable validations)
    conditions: list[str]  # the messages of the runs that expect a resource or data source condition to fail
    checks: list[str]  # the warnings of the runs that expect a check block to fail


def text(diagnostic: dict[str, Any]) -> str:
    return " ".join(f"{diagnostic['summary']} {diagnostic.get('detail', '')}".split())


def mocks_and_overrides(runs: list[FailingRun]) -> str:
    """The test files' mocks in one mock provider, and each run's overrides aimed at its module call."""
    mocks: dict[str, str] = {}
    for run in runs:
        for header, body in run.mocks:
            assert mocks.setdefault(header, body) == body, f"{run.file}: {header} differs from another test file's"
    out = 'mock_provider "aws" {\n' + "".join(f"  {h} {{{b}}}\n" for h, b in mocks.items()) + "}\n"
    for run in runs:
        for kind, block in run.overrides:
            block = {**block, "target": f"module.{run.name}.{block['target']}"}
            out += f"\n{kind} {{\n" + "".join(f"  {k} = {v}\n" for k, v in block.items()) + "}\n"
    return out


def message_root(folder: Path, runs: list[FailingRun]) -> Path:
    """A root configuration calling each run's module with its variables, and a test file planning it, mocked."""
    (folder / "tests").mkdir(parents=True)
    calls = []
    for run in runs:
        arguments = "\n".join(f"  {name} = {value}" for name, value in run.variables.items())
        calls.append(f'module "{run.name}" {{\n  source = "../modules/{run.module}"\n{arguments}\n}}\n')
    (folder / "main.tf").write_text(
        'terraform {\n  required_providers {\n    aws = { source = "hashicorp/aws" }\n  }\n}\n\n'
        f'provider "aws" {{\n  region = "{REGION}"\n}}\n\n' + "\n".join(calls)
    )
    plan = 'run "messages" {\n  command = plan\n}\n'
    (folder / "tests" / "messages.tftest.hcl").write_text(f"{mocks_and_overrides(runs)}\n{plan}")
    return folder


def plan_errors(*roots: Path, extra_env: dict[str, str]) -> list[list[dict[str, Any]]]:
    """Init and plan each root (at once); the error diagnostics of each, which must be there."""
    init(*roots)
    results = in_parallel(*((r, ("test", "-json", "-no-color")) for r in roots), extra_env=extra_env)
    errors = []
    for root, result in zip(roots, results, strict=True):
        diagnostics = [e["diagnostic"] for e in json_lines(result.stdout) if e.get("type") == "diagnostic"]
        diagnostics = [d for d in diagnostics if d["severity"] == "error"]
        assert result.returncode != 0, f"the plan of {root} should have failed:\n{result.stdout}"
        assert diagnostics, f"the plan of {root} failed without an error diagnostic:\n{result.stdout}{result.stderr}"
        errors.append(diagnostics)
    return errors


def plan_warnings(root: Path, extra_env: dict[str, str]) -> list[dict[str, Any]]:
    """Init and plan a root whose checks fail: a plan warns of each failed check, and `terraform test` (which runs
    the plan here) reports it as a failed check assertion."""
    init(root)
    (result,) = in_parallel((root, ("test", "-json", "-no-color")), extra_env=extra_env)
    diagnostics = [e["diagnostic"] for e in json_lines(result.stdout) if e.get("type") == "diagnostic"]
    failed = [d for d in diagnostics if d["summary"] == "Check block assertion failed"]
    assert failed, f"the plan of {root} failed no check:\n{result.stdout}{result.stderr}"
    return failed


def attributed(diagnostic: dict[str, Any]) -> tuple[str, str]:
    """(run name, message) of a failed variable validation, from the module call its diagnostic points into."""
    call = re.fullmatch(r'module "([^"]+)"', (diagnostic.get("snippet") or {}).get("context") or "")
    assert call is not None, f"a failure outside the module calls: {text(diagnostic)}"
    return call[1], text(diagnostic)


@pytest.fixture(scope="module")
def messages(tftest_tree: Path, mock_provider_host: dict[str, str]) -> Messages:
    """Every failing run's message, from root configurations that call each run's module with its variables.

    The runs that expect a variable validation to fail are planned together, apart from those that expect a
    resource or data source condition to fail: a failed validation stops a plan before resources are planned.
    Terraform reports the validations that refer to other variables only when no plain validation failed, so the
    calls not reported yet are planned once more.
    """
    runs = all_failing_runs()
    variables = [run for run in runs if not run.resource_condition and not run.check_block]
    conditions = [run for run in runs if run.resource_condition]
    checks = [run for run in runs if run.check_block]
    first, second = plan_errors(
        message_root(tftest_tree / "messages_variables", variables),
        message_root(tftest_tree / "messages_conditions", conditions),
        extra_env=mock_provider_host,
    )
    warned = plan_warnings(message_root(tftest_tree / "messages_checks", checks), extra_env=mock_provider_host)
    found = Messages({}, [text(diagnostic) for diagnostic in second], [text(diagnostic) for diagnostic in warned])
    for name, message in map(attributed, first):
        found.by_call.setdefault(name, []).append(message)
    again = [run for run in variables if run.name not in found.by_call]
    if again:
        (errors,) = plan_errors(message_root(tftest_tree / "messages_again", again), extra_env=mock_provider_host)
        for name, message in map(attributed, errors):
            found.by_call.setdefault(name, []).append(message)
    return found


def test_check_messages_name_the_rule_and_the_value(messages: Messages) -> None:
    """Runs that expect a check block to fail (a warning at plan): a warning holding its fragments."""
    runs = [run for run in all_failing_runs() if run.check_block]
    assert {run.name for run in runs} >= {"no_invoke_roles", "grant_ended", "grant_ending"}
    for run in runs:
        matching = [m for m in messages.checks if all(f in m for f in MESSAGES[run.name])]
        assert matching, f"{run.file} run {run.name}: {MESSAGES[run.name]} in none of {messages.checks}"


def test_failure_messages_name_the_rule_and_the_value(messages: Messages) -> None:
    """Every run that expects a variable validation to fail: its message, attributed by the module call it came from."""
    runs = [run for run in all_failing_runs() if not run.resource_condition and not run.check_block]
    assert sorted(messages.by_call) == sorted(run.name for run in runs)
    for run in runs:
        assert any(all(f in message for f in MESSAGES[run.name]) for message in messages.by_call[run.name]), (
            f"{run.file} run {run.name}: {MESSAGES[run.name]} not all in one of: {messages.by_call[run.name]}"
        )


def test_condition_messages_name_the_rule_and_the_value(messages: Messages) -> None:
    """Runs that expect a resource or data source condition to fail: one message each, holding its fragments."""
    runs = [run for run in all_failing_runs() if run.resource_condition]
    assert {run.name for run in runs} >= {"trust_policy_over_quota", "consumer_existing_role_missing"}
    assert len(messages.conditions) == len(runs), messages.conditions
    for run in runs:
        matching = [m for m in messages.conditions if all(f in m for f in MESSAGES[run.name])]
        assert len(matching) == 1, f"{run.file} run {run.name}: {MESSAGES[run.name]} in {len(matching)} of {messages}"


# -- the real provider ----------------------------------------------------------------------------------------


def test_existing_role_that_does_not_exist_fails_at_plan(workspaces: Callable[[str, str], Workspace]) -> None:
    """create_role = false names the role when it is missing (the real provider, the local AWS's IAM)."""
    errors = workspaces("modules/consumer_role", CONSUMER).plan_failure(
        {
            "role_name": "NoSuchWorker.Role",
            "create_role": False,
            "provider_invoke_role_arns": ["arn:aws:iam::111111111111:role/ApiAllowByIamRoleStag"],
        }
    )
    assert 'no IAM role named "NoSuchWorker.Role"' in errors, errors
    assert "set create_role = true" in errors, errors


def test_stag_pass_through_settings_fail_at_plan(workspaces: Callable[[str, str], Workspace]) -> None:
    """envs/stag's log and boundary settings name the bad value (the env's own validations, before the module's)."""
    errors = workspaces("envs/stag", PROVIDER).plan_failure(
        {
            "api_server_url": "https://api.internal.stag.foo.example.com",
            "invoke_roles": {ROLE: {"trusted_role_arns": [f"arn:aws:iam::{CONSUMER}:role/LambdaRoleDeve"]}},
            "access_log_retention_in_days": 31,
            "access_log_kms_key_arn": "alias/aws/logs",
            "invoke_role_permissions_boundary_arn": f"arn:aws:iam::{PROVIDER}:role/Boundary",
        }
    )
    assert "access_log_retention_in_days must be one of CloudWatch Logs' retention values" in errors, errors
    assert "got 31" in errors, errors
    assert "access_log_kms_key_arn must be a KMS key ARN" in errors, errors
    assert 'not an alias; got "alias/aws/logs"' in errors, errors
    assert "invoke_role_permissions_boundary_arn must be a managed policy ARN" in errors, errors
    assert f'got "arn:aws:iam::{PROVIDER}:role/Boundary"' in errors, errors
