"""xacct's version (one source of truth: pyproject.toml) and the User-Agent its clients send."""

from importlib.metadata import PackageNotFoundError, version

try:
    VERSION = version("xacct")
except PackageNotFoundError:  # run from a source tree that was never installed (PYTHONPATH=src)
    VERSION = "0+unknown"

# Not signed (proxies rewrite it): it tells the API server which client called, and nothing more.
USER_AGENT = f"xacct/{VERSION}"
