"""Session fixtures: one local AWS per test process, Terraform copies of the tree, accounts, an API server."""

from __future__ import annotations

import fcntl
import itertools
import json
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from xacct.local import LocalAws
from xacct.local import terraform as tfrun
from xacct.local.echo_server import EchoServer
from xacct.local.stacks import trust
from xacct.local.terraform import Workspace

from helpers import REGION, ROOT, fenced
from plan_checks import PlanCase, batch_root, case_plan, load_scenario, scenario_names

PROVIDER = "111111111111"
CONSUMER = "222222222222"
# tests/scenarios/<target>: the folder planned with each scenario's "vars", and the account it is planned in.
PLAN_TARGETS: dict[str, tuple[str, str]] = {
    "provider_api": ("modules/provider_api", PROVIDER),
    "envs_stag": ("envs/stag", PROVIDER),
    "consumer_role": ("modules/consumer_role", CONSUMER),
    "envs_deve": ("envs/deve", CONSUMER),
}
README_MODULES = {"provider_api": PROVIDER, "consumer_role": CONSUMER}  # each module README's Usage block
_accounts = itertools.count(1)


# The test modules that take longest (wall time in `make test`, slowest first). pytest-xdist's loadscope hands out
# modules in collection order (with --no-loadscope-reorder), so these start first and the short ones fill the gaps
# at the end. The first three mostly wait, as they would against AWS (the provider's 2-minute CreateRole retry, its
# S3 lifecycle re-reads, the Route 53 change wait), so they start beside the ones that compute.
SLOW_FIRST = (
    "test_trust_storage.py",
    "test_payloads_e2e.py",
    "test_apply.py",
    "test_validation.py",
    "test_plans.py",
    "test_access_matrix.py",
    "test_demo.py",
    "test_access_report.py",
    "test_static.py",
    "test_sealed_backend.py",
    "test_benchmarks_run.py",
    "test_cli.py",
    "test_client.py",
    "test_backend_payloads.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: index for index, name in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: a module's tests keep their order


@pytest.fixture(scope="session")
def local_aws() -> Iterator[LocalAws]:
    """moto in server mode on 127.0.0.1 (ephemeral port), plus our enforcement layer."""
    with LocalAws(region=REGION) as aws:
        yield aws


@pytest.fixture(scope="session")
def provider_hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tfrun.ProviderHosts]:
    """AWS provider processes that this test process's Terraform commands attach to (see ProviderHosts)."""
    hosts = tfrun.ProviderHosts(tmp_path_factory.mktemp("provider-hosts"))
    yield hosts
    hosts.close()


@pytest.fixture(scope="session")
def new_account() -> Callable[[], str]:
    """Fresh account ids, so that tests sharing the session's local AWS never see each other's resources.

    Session-scoped so that module-scoped stacks can use it too; every call still gives a new account."""
    return lambda: f"9{os.getpid() % 1000:03d}{next(_accounts):08d}"


@pytest.fixture(scope="session")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of modules/ and envs/ for plans (never the repository's own folders)."""
    return tfrun.copy_configuration(tmp_path_factory.mktemp("tree"), ROOT)


@pytest.fixture(scope="session")
def workspaces(tree: Path, local_aws: LocalAws, provider_hosts: tfrun.ProviderHosts) -> Callable[[str, str], Workspace]:
    """workspaces("modules/provider_api", account) -> an initialised Workspace, one per (folder, account)."""
    cache: dict[tuple[str, str], Workspace] = {}

    def get(folder: str, account: str = PROVIDER) -> Workspace:
        key = (folder, account)
        if key not in cache:
            cache[key] = Workspace(tree / folder, local_aws.env(account), provider_hosts).init()
        return cache[key]

    return get


@pytest.fixture
def fresh_tree(tmp_path: Path) -> Path:
    """A private copy of the tree, for tests that apply (each gets its own state)."""
    return tfrun.copy_configuration(tmp_path / "tree", ROOT)


@pytest.fixture(scope="session")
def echo() -> Iterator[EchoServer]:
    """The API server of the story: echoes what it received, including the caller headers."""
    with EchoServer() as server:
        yield server


# -- every scenario's plan, once per test run ------------------------------------------------------------------


def plan_cases() -> dict[str, list[PlanCase]]:
    """Every plan scenario by account: tests/scenarios/<target>, the examples, the module READMEs' Usage blocks."""
    cases: dict[str, list[PlanCase]] = {PROVIDER: [], CONSUMER: []}
    for target, (folder, account) in PLAN_TARGETS.items():
        for name in scenario_names(target):
            scenario = load_scenario(target, name)
            roles = tuple(scenario.get("existing_roles", []))
            cases[account].append(PlanCase(target, name, folder, scenario.get("vars", {}), roles))
    for name in scenario_names("examples"):
        cases[PROVIDER].append(PlanCase("examples", name, f"examples/{name}", {}))
    for module, account in README_MODULES.items():
        cases[account].append(PlanCase("readme", module, f"examples/readme_{module}", {}))
    return cases


@dataclass
class Planned:
    """The plan of every scenario (``plans[(target, name)]``, see plan_checks.case_plan) and the batches' plan
    files (`terraform show -json`, for checkov)."""

    plans: dict[tuple[str, str], dict[str, Any]]
    files: list[Path]


def _plan_everything(folder: Path, aws: LocalAws) -> None:
    tree = tfrun.copy_configuration(folder / "tree", ROOT)
    for module in README_MODULES:
        readme = tree / "examples" / f"readme_{module}"
        readme.mkdir()
        (readme / "main.tf").write_text(
            fenced((ROOT / "modules" / module / "README.md").read_text(), "hcl", "## Usage")
        )

    def plan(account: str, cases: list[PlanCase]) -> dict[str, Any]:
        iam = aws.client("iam", account)
        for role in (role for case in cases for role in case.existing_roles):
            iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust(service=True))
        # Not attached to provider hosts: the envs and examples the batches call have provider blocks of their own.
        return Workspace(batch_root(tree / "batches" / account, cases), aws.env(account)).plan({})

    cases = plan_cases()
    with ThreadPoolExecutor(len(cases)) as pool:
        batches = dict(zip(cases, pool.map(plan, cases, cases.values()), strict=True))
    plans = [[c.target, c.name, case_plan(batches[account], c.key)] for account in cases for c in cases[account]]
    (folder / "plans.json").write_text(json.dumps(plans))


@pytest.fixture(scope="session")
def planned(tmp_path_factory: pytest.TempPathFactory, worker_id: str, local_aws: LocalAws) -> Planned:
    """Every scenario planned against the local AWS, in one batch per account (see plan_checks.batch_root).

    Computed once per test run: the first pytest-xdist worker to ask plans (in its local AWS), the others wait and
    read what it wrote. A failed batch plan fails every test that asks, with Terraform's diagnostics."""
    shared = tmp_path_factory.getbasetemp()
    shared = shared.parent if worker_id != "master" else shared
    folder = shared / "planned"
    with (shared / "planned.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / "plans.json").exists() and not (folder / "error.txt").exists():
            folder.mkdir(exist_ok=True)
            try:
                _plan_everything(folder, local_aws)
            except tfrun.TerraformError as error:
                (folder / "error.txt").write_text(str(error))
        if (folder / "error.txt").exists():
            pytest.fail(f"the batch plan failed: {(folder / 'error.txt').read_text()}")
        plans = json.loads((folder / "plans.json").read_text())
    files = sorted((folder / "tree" / "batches").glob("*/plan.json"))
    return Planned({(target, name): plan for target, name, plan in plans}, files)
