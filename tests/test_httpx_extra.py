"""The httpx extra: `pip install xacct` stays requests-only; AsyncApiClient and HttpxIamAuth say what to install
when httpx is missing (a child Python that cannot find httpx, as a virtualenv without the extra)."""

from __future__ import annotations

import json
import sys

import pytest

from test_local_layering import run_without_extra

from helpers import ROOT


def test_the_base_install_loads_no_httpx() -> None:
    result = run_without_extra(
        """
        import xacct, xacct.cli, xacct.client, xacct.signing, xacct.credentials
        from xacct import ApiClient, IamAuth
        from xacct import *  # AsyncApiClient is left out of __all__: a star import needs no extra
        print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)))
        """,
        blocked=("httpx", "httpcore"),
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


@pytest.mark.parametrize(
    "statement", ["from xacct import AsyncApiClient", "from xacct import HttpxIamAuth", "import xacct.aio"]
)
def test_without_httpx_the_async_client_says_what_to_install(statement: str) -> None:
    result = run_without_extra(
        f"""
        from xacct.errors import MissingExtra
        try:
            {statement}
        except MissingExtra as error:
            assert isinstance(error, ImportError)
            print(error)
        """,
        blocked=("httpx",),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "xacct.AsyncApiClient and xacct.HttpxIamAuth need httpx, which the base install leaves out: "
        "pip install 'xacct[httpx]' (in a clone: pip install -e '.[httpx]')"
    )


@pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib is Python 3.11+")
def test_the_extra_is_declared() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["optional-dependencies"]["httpx"] == ["httpx>=0.27", "sniffio>=1.3", "h2>=4,<5"]
    assert not any(dependency.startswith("httpx") for dependency in project["dependencies"])
