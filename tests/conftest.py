"""Session fixtures: one local AWS per test process, Terraform copies of the tree, accounts, an API server."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from xacct.local import LocalAws
from xacct.local import terraform as tfrun
from xacct.local.echo_server import EchoServer
from xacct.local.terraform import Workspace

from helpers import REGION, ROOT

PROVIDER = "111111111111"
CONSUMER = "222222222222"
_accounts = itertools.count(1)


# The test modules that take longest (wall time in `make test`, slowest first). pytest-xdist's loadscope hands out
# modules in collection order, so these start first and the short ones fill the gaps at the end (longest
# processing time first); test_trust_storage mostly waits (the provider's 2-minute CreateRole retry).
SLOW_FIRST = (
    "test_trust_storage.py",
    "test_validation.py",
    "test_apply.py",
    "test_plans.py",
    "test_payloads_e2e.py",
    "test_access_matrix.py",
    "test_sealed_backend.py",
    "test_access_report.py",
    "test_static.py",
    "test_examples.py",
    "test_demo.py",
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
def new_account() -> Callable[[], str]:
    """Fresh account ids, so that tests sharing the session's local AWS never see each other's resources.

    Session-scoped so that module-scoped stacks can use it too; every call still gives a new account."""
    return lambda: f"9{os.getpid() % 1000:03d}{next(_accounts):08d}"


@pytest.fixture(scope="session")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of modules/ and envs/ for plans (never the repository's own folders)."""
    return tfrun.copy_configuration(tmp_path_factory.mktemp("tree"), ROOT)


@pytest.fixture(scope="session")
def workspaces(tree: Path, local_aws: LocalAws) -> Callable[[str, str], Workspace]:
    """workspaces("modules/provider_api", account) -> an initialised Workspace, one per (folder, account)."""
    cache: dict[tuple[str, str], Workspace] = {}

    def get(folder: str, account: str = PROVIDER) -> Workspace:
        key = (folder, account)
        if key not in cache:
            cache[key] = Workspace(tree / folder, local_aws.env(account)).init()
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
