"""Behind the ``local`` extra (``pip install -e '.[local]'`` in a clone): what runs the story on one machine.

- ``server`` (+ gateway, sts, identity, policy, sigv4, routing, moto_gaps): the local AWS, moto's control
  plane for several accounts plus the enforcement moto lacks;
- ``terraform``: the Terraform runner (our CLI config, copies of the tree, ``Workspace``);
- ``stacks``: the API stacks the tests, the benchmarks and the demo deploy (boto3-built, or the seed with
  Terraform);
- ``echo_server``: an API server that answers with what it received;
- ``demo``: ``xacct demo``.

Importing this package costs nothing: ``LocalAws`` and ``AccountCredentials`` load the server (moto, werkzeug)
on first use, so ``xacct.local.terraform`` needs tftest only and ``xacct.local.echo_server`` nothing at all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

from xacct.errors import XacctError

if TYPE_CHECKING:
    from xacct.local.server import AccountCredentials, LocalAws

EXTRA = "local"
# No xacct package is published to PyPI: the extra installs from a clone of the repository (or a git URL pinned to a
# commit until a release is tagged).
INSTALL_HINT = (
    f"in a clone of the xacct repository run pip install -e '.[{EXTRA}]' (xacct is not on PyPI; or pip install "
    f"'xacct[{EXTRA}] @ git+https://github.com/<org>/xacct.git@<commit>')"
)
# The distributions the extra brings (pyproject.toml [project.optional-dependencies] local), as imported.
EXTRA_MODULES = ("moto", "werkzeug", "tftest")

__all__ = [
    "EXTRA",
    "EXTRA_MODULES",
    "INSTALL_HINT",
    "AccountCredentials",
    "LocalAws",
    "LocalExtraMissing",
    "require_extra",
]


class LocalExtraMissing(XacctError):
    """A module of the ``local`` extra is not installed: the message says what to install."""

    def __init__(self, module: str) -> None:
        self.module = module
        super().__init__(f"the {EXTRA!r} extra is not installed (no module named {module!r}): {INSTALL_HINT}")


def require_extra(error: ImportError) -> NoReturn:
    """Raise ``LocalExtraMissing`` when ``error`` is a module of the extra missing; re-raise ``error`` otherwise.

    For the edge (the CLI): ``try: from xacct.local.demo import run_demo`` / ``except ImportError as error:
    require_extra(error)``. Anything else that fails to import (our own code) stays a bug.
    """
    name = error.name or ""
    if isinstance(error, ModuleNotFoundError) and name.split(".")[0] in EXTRA_MODULES:
        raise LocalExtraMissing(name) from None
    raise error


def __getattr__(name: str) -> Any:
    if name in ("AccountCredentials", "LocalAws"):
        from xacct.local import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
