"""Layering: `pip install xacct` without the `local` extra gives the client and `xacct call`, and never loads
moto, werkzeug or tftest; the commands that need the extra say which one to install.

Nothing is uninstalled: a child Python gets a meta-path finder that refuses the extra's modules, as a fresh
virtualenv without the extra would.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from xacct.local import EXTRA_MODULES, INSTALL_HINT, LocalExtraMissing, require_extra

# Prepended to the child's code: the modules in BLOCKED cannot be found, whatever is installed.
WITHOUT = textwrap.dedent(
    """
    import importlib.abc, json, sys

    BLOCKED = {blocked!r}

    class WithoutTheLocalExtra(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
            return None

    sys.meta_path.insert(0, WithoutTheLocalExtra())
    """
)


def run_without_extra(code: str, blocked: tuple[str, ...] = EXTRA_MODULES) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT.format(blocked=sorted(blocked)) + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_base_package_and_the_cli_import_nothing_of_the_extra() -> None:
    result = run_without_extra(
        """
        import xacct, xacct.cli, xacct.client, xacct.signing, xacct.credentials, xacct.errors, xacct.iam, xacct.local
        import xacct.backend
        import xacct.access, xacct.access.cli
        from xacct import ApiClient, IamAuth
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
        print(json.dumps(heavy))
        """
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_the_backend_needs_no_web_framework() -> None:
    """xacct.backend runs inside any WSGI/ASGI server: it imports no framework, no server, no extra."""
    frameworks = ("flask", "fastapi", "starlette", "uvicorn", "httpx", "asgiref")
    result = run_without_extra(
        """
        from xacct.backend import AsgiMiddleware, Caller, WsgiMiddleware, caller_from_lambda_event
        print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)))
        """,
        blocked=(*EXTRA_MODULES, *frameworks),
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_the_blocking_works() -> None:
    """The test above would pass vacuously if the finder did not block: it does."""
    result = run_without_extra("import moto")
    assert result.returncode != 0
    assert "No module named 'moto'" in result.stderr


def test_the_terraform_runner_and_the_echo_server_need_no_local_aws() -> None:
    """Importing xacct.local.terraform loads tftest, not moto: the subpackage loads the server lazily."""
    result = run_without_extra(
        """
        import xacct.local.terraform, xacct.local.echo_server
        print(json.dumps(sorted({m.split(".")[0] for m in sys.modules} & {"moto", "werkzeug", "tftest"})))
        """,
        blocked=("moto", "werkzeug"),
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ["tftest"]


def test_xacct_access_report_needs_no_extra() -> None:
    result = run_without_extra(
        """
        import xacct.cli
        sys.exit(xacct.cli.main(["access", "report", "--help"]))
        """
    )
    assert result.returncode == 0, result.stderr
    assert "--expect FILE" in result.stdout


def test_xacct_call_needs_no_extra() -> None:
    result = run_without_extra(
        """
        import xacct.cli
        sys.exit(xacct.cli.main(["call", "--help"]))
        """
    )
    assert result.returncode == 0, result.stderr
    assert "--role-arn" in result.stdout


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["local", "up", "--port", "0"], "xacct local"),
        (["demo"], "xacct demo"),
        (["terraform-setup"], "xacct terraform-setup"),
    ],
)
def test_commands_that_need_the_extra_say_which_to_install(argv: list[str], command: str) -> None:
    result = run_without_extra(
        f"""
        import xacct.cli
        sys.exit(xacct.cli.main({argv!r}))
        """
    )
    assert result.returncode not in (0, None), result.stdout
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"{command}: the 'local' extra is not installed (no module named "), line
    assert line.endswith(INSTALL_HINT)


def test_our_own_import_errors_are_not_mistaken_for_a_missing_extra() -> None:
    hint = r"in a clone of the xacct repository run pip install -e '\.\[local\]' \(xacct is not on PyPI"
    with pytest.raises(LocalExtraMissing, match=rf"the 'local' extra is not installed .*: {hint}"):
        require_extra(ModuleNotFoundError("No module named 'tftest'", name="tftest"))
    ours = ModuleNotFoundError("No module named 'xacct.local.nothing'", name="xacct.local.nothing")
    with pytest.raises(ModuleNotFoundError) as raised:
        require_extra(ours)
    assert raised.value is ours
    other = ImportError("cannot import name 'gone' from 'moto.iam'", name="moto.iam")
    with pytest.raises(ImportError) as raised_other:
        require_extra(other)
    assert raised_other.value is other
