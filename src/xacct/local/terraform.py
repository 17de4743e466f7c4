"""Running Terraform the project's way, for the demo, the tests and the benchmarks: one ``Workspace`` class.

- A CLI config of our own: a filesystem mirror for hashicorp/aws when one is found ($TF_PROVIDER_MIRROR, then
  the machine's known location), a normal registry install with a plugin cache otherwise.
- Work on copies: modules/ and envs/ are copied into a temporary folder before ``init`` (tftest's setup
  deletes .terraform, the lock file and state in the folder it is given).
- The local AWS is chosen purely by environment (endpoint, credentials); the .tf files never know.
- ``ProviderHosts``: for the tests, AWS provider processes that Terraform attaches to instead of starting its
  own for every step of every command (see the class).
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tftest  # type: ignore[import-untyped]  # no type information published

from xacct.errors import XacctError

MIRROR_ENV = "TF_PROVIDER_MIRROR"
KNOWN_MIRRORS = ("/opt/tf-plugins", "/usr/share/terraform/plugins", "~/.terraform.d/plugins")
AWS_PROVIDER = Path("registry.terraform.io/hashicorp/aws")
MIN_TERRAFORM = (1, 10)
_COPY_IGNORE = shutil.ignore_patterns(
    ".terraform", ".terraform.lock.hcl", "*.tfstate", "*.tfstate.*", "terraform.tfvars", "*.auto.tfvars*"
)


class TerraformSetupError(XacctError):
    """Terraform or its AWS provider is not usable here; the message says what to install or set."""


class TerraformError(XacctError):
    """A Terraform command failed (or a plan expected to fail did not): which command, where, and why."""

    def __init__(self, command: str, folder: Path, diagnostics: str) -> None:
        self.command = command
        self.folder = folder
        self.diagnostics = diagnostics
        super().__init__(f"terraform {command} in {folder}: {diagnostics}")


def project_root() -> Path:
    """The checkout holding modules/ and envs/ ($XACCT_PROJECT_ROOT, the editable install's, or the cwd)."""
    candidates = [os.environ.get("XACCT_PROJECT_ROOT"), Path(__file__).resolve().parents[3], Path.cwd()]
    for candidate in candidates:
        if candidate and (Path(candidate) / "modules" / "provider_api").is_dir():
            return Path(candidate)
    raise TerraformSetupError(
        "cannot find the project's modules/ and envs/: run from a checkout of the repository or set XACCT_PROJECT_ROOT"
    )


def cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    path = base / "xacct"
    path.mkdir(parents=True, exist_ok=True)
    return path


def find_mirror() -> Path | None:
    """A filesystem mirror that holds hashicorp/aws, or None (then Terraform installs from the registry)."""
    configured = os.environ.get(MIRROR_ENV)
    if configured:
        mirror = Path(configured).expanduser()
        if not (mirror / AWS_PROVIDER).is_dir():
            raise TerraformSetupError(f"{MIRROR_ENV}={configured} has no {AWS_PROVIDER}/ (a registry-layout mirror)")
        return mirror
    for candidate in KNOWN_MIRRORS:
        mirror = Path(candidate).expanduser()
        if (mirror / AWS_PROVIDER).is_dir():
            return mirror
    return None


def write_cli_config(path: Path | None = None) -> Path:
    """Write the Terraform CLI config (provider installation) and return its path."""
    path = path or cache_dir() / "terraform.rc"
    mirror = find_mirror()
    if mirror is not None:
        text = f"""# Written by xacct: hashicorp/aws from the filesystem mirror, anything else from its registry.
provider_installation {{
  filesystem_mirror {{
    path    = {json.dumps(str(mirror))}
    include = ["registry.terraform.io/hashicorp/aws"]
  }}
  direct {{
    exclude = ["registry.terraform.io/hashicorp/aws"]
  }}
}}
"""
    else:
        plugins = cache_dir() / "plugin-cache"
        plugins.mkdir(parents=True, exist_ok=True)
        text = f"""# Written by xacct: no provider mirror found, so providers come from the registry, cached here.
plugin_cache_dir = {json.dumps(str(plugins))}
"""
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path


def terraform_binary() -> str:
    binary = shutil.which("terraform")
    if binary is None:
        raise TerraformSetupError(
            "terraform is not on PATH: install Terraform >= 1.10 (https://developer.hashicorp.com/terraform/install)"
        )
    _check_version(binary)
    return binary


@functools.cache  # once per binary and process: every Workspace asks
def _check_version(binary: str) -> None:
    # With our CLI config too: a TF_CLI_CONFIG_FILE of the environment naming a missing file makes even `version` warn.
    env = {**os.environ, **environment()}
    out = subprocess.run([binary, "version", "-json"], env=env, capture_output=True, text=True, check=False).stdout
    version = json.loads(out or "{}").get("terraform_version", "0.0")
    parts = tuple(int(p) for p in re.findall(r"\d+", version)[:2])
    if parts < MIN_TERRAFORM:
        raise TerraformSetupError(f"Terraform {version} is too old: >= {'.'.join(map(str, MIN_TERRAFORM))} is needed")


def environment(extra: Mapping[str, str] | None = None, *, cli_config: Path | None = None) -> dict[str, str]:
    """Environment for a Terraform process: our CLI config, no prompts, no checkpoint calls, plus ``extra``."""
    env = {
        "TF_CLI_CONFIG_FILE": str(cli_config or write_cli_config()),
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
        "CHECKPOINT_DISABLE": "1",
        # Most of a Terraform command's CPU goes into starting the AWS provider (a 700 MB Go binary that builds its
        # schema); fewer garbage collections there cut about a quarter of it (measured: `terraform test` of
        # provider_api's settings file, 20.4 s of CPU with Go's default GOGC=100, 14.2 s with 400; 0.4 GB peak).
        "GOGC": os.environ.get("GOGC", "400"),
    }
    env.update(extra or {})
    return env


def copy_configuration(destination: Path, root: Path | None = None) -> Path:
    """Copy modules/, envs/ and examples/ (no state, no .terraform) so that ../../modules paths still resolve."""
    root = root or project_root()
    for folder in ("modules", "envs", "examples"):
        if (root / folder).is_dir():
            shutil.copytree(root / folder, destination / folder, ignore=_COPY_IGNORE, dirs_exist_ok=True)
    return destination


def write_tfvars(folder: Path, values: Mapping[str, Any], name: str) -> Path:
    """``values`` as a JSON variables file (``-var-file``)."""
    path = folder / name
    path.write_text(json.dumps(values, indent=2))
    return path


def hcl_value(value: Any) -> str:
    """A JSON value written as an HCL expression: JSON's syntax is HCL's, but for the template sequences ``${`` and
    ``%{`` in strings, which HCL would interpolate and are written ``$${`` and ``%%{``."""
    return json.dumps(value, indent=2).replace("${", "$${").replace("%{", "%%{")


def write_terraform_tfvars(folder: Path, values: Mapping[str, Any]) -> Path:
    """``terraform.tfvars``: the file a person edits, the one the README's steps name (nothing overrides it).

    An ``*.auto.tfvars.json`` would be loaded after it and silently win over what the person changes (issue 19:
    a second team added to terraform.tfvars planned only a route). One ``name = value`` line per variable, values
    as HCL expressions.
    """
    path = folder / "terraform.tfvars"
    lines = ["# Written by xacct (the demo or the tests) with the values this copy was applied with: edit freely."]
    lines += [f"{name} = {hcl_value(value)}" for name, value in values.items()]
    path.write_text("\n".join(lines) + "\n")
    for stale in folder.glob("*.auto.tfvars*"):
        stale.unlink()
    return path


# Ambient credential settings that would override explicit keys given in the environment.
_AMBIENT_AWS = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
)


def runner(folder: Path, env: Mapping[str, str]) -> tftest.TerraformTest:
    """A tftest runner for ``folder`` (a copy: see copy_configuration) with ``env`` on top of ours.

    When ``env`` carries explicit keys, ambient profile and session settings are dropped so they cannot win.
    """
    tf = tftest.TerraformTest(str(folder), binary=terraform_binary(), env=environment(env))
    if "AWS_ACCESS_KEY_ID" in env:
        for name in _AMBIENT_AWS:
            if name not in env:
                tf.env.pop(name, None)
    return tf


def installed_provider(folder: Path) -> Path:
    """The AWS provider binary that `terraform init` installed in ``folder`` (its platform folder may be a link
    into the provider mirror)."""
    found = [
        Path(parent) / name
        for parent, _, names in os.walk(folder / ".terraform" / "providers", followlinks=True)
        for name in names
        if name.startswith("terraform-provider-aws_")
    ]
    if len(found) != 1:
        raise TerraformSetupError(f"expected one AWS provider installed under {folder}/.terraform, found {found}")
    return found[0]


REATTACH = "TF_REATTACH_PROVIDERS"
# A provider started with -debug logs every call at trace level, HTTP bodies included (4.4 MB for one apply, plan
# and destroy of envs/deve), unless its own environment says otherwise: the SDK's and the AWS provider's loggers.
_QUIET = dict.fromkeys(
    (
        "TF_LOG_PROVIDER",
        "TF_LOG_PROVIDER_AWS",
        "TF_LOG_SDK",
        "TF_LOG_SDK_PROTO",
        "TF_LOG_SDK_MUX",
        "TF_LOG_SDK_FRAMEWORK",
        "TF_LOG_SDK_HELPER_SCHEMA",
    ),
    "off",
)


class ProviderHost:
    """One AWS provider process started with ``-debug``: Terraform attaches to it through ``TF_REATTACH_PROVIDERS``
    (the ``reattach`` value) instead of starting the provider itself, as HashiCorp's "Debugging providers" describes
    (https://developer.hashicorp.com/terraform/plugin/debugging). The process reads credentials from ``env``, its
    own environment, so it serves one account; Terraform still sends each root's provider block (region, tags) to
    it. One Terraform command at a time: each configures it anew.
    """

    def __init__(self, binary: Path, env: Mapping[str, str], log: Path) -> None:
        self.binary = binary
        self.log = log
        # Its socket goes into a folder of its own (TMPDIR; short: a socket path has at most 107 bytes), removed when
        # it stops (see stop).
        self.socket_dir = Path(tempfile.mkdtemp(prefix="xacct-provider-"))
        environment = {**env, **_QUIET, "TMPDIR": str(self.socket_dir)}
        with log.open("w") as output:  # a file, not a pipe: nobody would drain a pipe
            self.process = subprocess.Popen(
                [str(binary), "-debug"],
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        try:
            self.reattach = self._wait_for_address()
        except BaseException:
            self.stop()
            raise

    def _wait_for_address(self, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            found = re.search(rf"{REATTACH}='(\{{.*\}})'", self.log.read_text(errors="replace"))
            if found is not None:
                return found[1]
            time.sleep(0.05)
        state = "stopped" if self.process.poll() is not None else f"printed nothing in {timeout:.0f} s"
        raise TerraformSetupError(
            f"{self.binary} -debug {state} instead of printing {REATTACH}: "
            f"{self.log.read_text(errors='replace')[-2000:]}"
        )

    def __enter__(self) -> ProviderHost:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def stop(self) -> None:
        """SIGINT, as Ctrl-C in a debugging session: the provider then removes its socket (SIGTERM leaves it)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.socket_dir, ignore_errors=True)


def _aws_provider_blocks(directory: Path) -> list[dict[str, Any] | str]:
    """The AWS provider blocks of a module's .tf files (their HCL bodies) and .tf.json files (their objects)."""
    blocks: list[dict[str, Any] | str] = []
    for path in sorted(directory.glob("*.tf")):
        text = path.read_text()
        for found in re.finditer(r'^\s*provider\s+"?aws"?\s*\{', text, re.M):
            depth, end = 1, found.end()
            while depth and end < len(text):
                depth += {"{": 1, "}": -1}.get(text[end], 0)
                end += 1
            blocks.append(text[found.end() : end])
    for path in sorted(directory.glob("*.tf.json")):
        declared = json.loads(path.read_text()).get("provider", {})
        for item in declared if isinstance(declared, list) else [declared]:
            aws = item.get("aws") if isinstance(item, dict) else None
            blocks.extend(block for block in (aws if isinstance(aws, list) else [aws]) if isinstance(block, dict))
    return blocks


def _aliased(block: dict[str, Any] | str) -> bool:
    return "alias" in block if isinstance(block, dict) else re.search(r"^\s*alias\s*=", block, re.M) is not None


def provider_configurations(folder: Path) -> int:
    """How many AWS provider configurations an initialised root has: its provider blocks, plus the implicit default
    one when none of them is unaliased, plus the blocks of every module call (.terraform/modules/modules.json)."""
    listed = folder / ".terraform" / "modules" / "modules.json"
    modules = json.loads(listed.read_text()).get("Modules", []) if listed.exists() else []
    calls = [folder / module["Dir"] for module in modules if module.get("Dir") not in (None, "", ".")]
    own = _aws_provider_blocks(folder)
    default = 0 if any(not _aliased(block) for block in own) else 1
    return len(own) + default + sum(len(_aws_provider_blocks(directory)) for directory in calls)


@dataclass
class ProviderHosts:
    """Provider processes for Terraform commands against the local AWS, one per account, each lent to one command
    at a time (see ProviderHost); at most ``idle`` are kept between commands, the least recently used stopped first.

    Why: Terraform 1.11 starts the AWS provider, a 700 MB binary that builds its schema, 3 to 5 times per plan,
    apply or destroy, which is most of a command's CPU (measured on envs/deve in the local AWS: apply, plan and
    destroy took 19.8 s of CPU; attached to one host, 9.3 s, the host's share included). A command that starts
    no provider still hashes its binary to check the lock file, unless attached (`terraform output`: 0.7 s of CPU,
    attached 0.04 s).
    Memory: a host holds about 0.5 GB once it has served a plan; ``idle`` bounds how many wait per test process.
    Where a command attaches (``lease`` gives None otherwise, and Terraform starts its own provider as usual):
    - the endpoint is the local AWS (plain HTTP on loopback; ``AWS_CA_BUNDLE`` is not given to the host: when it
      is set, the provider fails to configure a second time, "unable to add custom RootCAs HTTPClient"),
    - the root has one provider configuration (a host has one set of credentials and one configuration at a time):
      no aliases, no provider blocks in the modules it calls (the envs' and examples' own blocks count as such
      when a batch root calls them).
    Hosts are keyed by the provider binary and the whole environment of the command, so one serves every root of
    an account (and a region) in turn.
    """

    workdir: Path
    idle: int = 2
    attached: int = field(default=0, init=False)  # commands that ran attached to a host
    _free: list[tuple[tuple[str, ...], ProviderHost]] = field(default_factory=list, init=False, repr=False)
    _all: set[ProviderHost] = field(default_factory=set, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _count: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.idle < 0:
            raise ValueError(f"idle must be 0 or more, got {self.idle}")

    @staticmethod
    def attachable(env: Mapping[str, str]) -> bool:
        endpoint = env.get("AWS_ENDPOINT_URL", "")
        return re.fullmatch(r"http://(127\.\d+\.\d+\.\d+|localhost)(:\d+)?/?", endpoint) is not None

    @contextmanager
    def lease(self, folder: Path, env: Mapping[str, str]) -> Iterator[str | None]:
        """A host's ``TF_REATTACH_PROVIDERS`` value for one command in the initialised root ``folder`` with
        ``env`` (None where a command must start its own provider; see the class)."""
        try:
            attach = self.attachable(env) and provider_configurations(folder) == 1
            binary = installed_provider(folder).resolve() if attach else None
        except (OSError, ValueError, TerraformSetupError):  # not initialised as expected: Terraform will say so
            binary = None
        if binary is None:
            yield None
            return
        host_env = {k: v for k, v in env.items() if k not in ("AWS_CA_BUNDLE", REATTACH)}
        key = (str(binary), *sorted(f"{k}={v}" for k, v in host_env.items()))
        host = self._take(key, binary, host_env)
        with self._lock:
            self.attached += 1
        try:
            yield host.reattach
        except Exception:  # the command failed and Terraform has exited: the host is idle again
            self._give_back(key, host)
            raise
        except BaseException:  # interrupted: the host may still be serving calls, so nobody gets it again
            self._discard(host)
            raise
        else:
            self._give_back(key, host)

    def _take(self, key: tuple[str, ...], binary: Path, env: Mapping[str, str]) -> ProviderHost:
        with self._lock:
            self._free = [(k, h) for k, h in self._free if h.process.poll() is None]  # forget hosts that died
            for index, (free_key, host) in enumerate(self._free):
                if free_key == key:
                    del self._free[index]
                    return host
            self._count += 1
            log = self.workdir / f"provider-host-{self._count}" / "provider.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        host = ProviderHost(binary, env, log)
        with self._lock:
            self._all.add(host)
        return host

    def _give_back(self, key: tuple[str, ...], host: ProviderHost) -> None:
        with self._lock:
            self._free.append((key, host))
            stale = self._free[: -self.idle] if self.idle else list(self._free)
            del self._free[: len(stale)]
        for _, old in stale:
            self._discard(old)

    def _discard(self, host: ProviderHost) -> None:
        with self._lock:
            self._all.discard(host)
        host.stop()

    def close(self) -> None:
        """Stop every host, lent or not."""
        with self._lock:
            hosts, self._all, self._free = list(self._all), set(), []
        for host in hosts:
            host.stop()


def diagnostics(text: str) -> str:
    """Terraform's diagnostics as one line: no colour, no box drawing, wrapped lines joined."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)
    lines = (line.strip().strip("│╷╵").strip() for line in text.splitlines())
    return re.sub(r"\s+", " ", " ".join(line for line in lines if line))


def _error_text(error: tftest.TerraformTestError) -> str:
    return diagnostics(" ".join(str(a) for a in error.args))


class Workspace:
    """One Terraform root (a module or an env) inside a copy of the tree (see copy_configuration).

    ``env`` chooses the account: the local AWS's ``aws.env(account)``, or a real account's profile. Every
    Terraform failure is a ``TerraformError`` with the diagnostics on one line. With ``hosts``, commands that use
    the provider attach to a provider host where they can (see ProviderHosts).
    """

    def __init__(self, folder: Path, env: Mapping[str, str], hosts: ProviderHosts | None = None) -> None:
        self.folder = folder
        self.tf = runner(folder, env)
        self.hosts = hosts
        self._initialised = False
        self._vars_counter = 0

    @contextmanager
    def _provider(self) -> Iterator[None]:
        """Around a command that uses the provider: attached to a host while it runs, where there is one. (It sets
        the runner's environment for the command, so one thread at a time per Workspace, as with any Terraform
        working directory.)"""
        if self.hosts is None:
            yield
            return
        with self.hosts.lease(self.folder, self.tf.env) as reattach:
            previous = self.tf.env.get(REATTACH)
            if reattach is not None:
                self.tf.env[REATTACH] = reattach
            try:
                yield
            finally:
                if previous is None:
                    self.tf.env.pop(REATTACH, None)
                else:
                    self.tf.env[REATTACH] = previous

    def __repr__(self) -> str:
        return f"Workspace({str(self.folder)!r})"

    @property
    def applied(self) -> bool:
        """Has anything been applied here (is there state to destroy)?"""
        return (self.folder / "terraform.tfstate").exists()

    def init(self) -> Workspace:
        if not self._initialised:
            try:
                self.tf.setup(cleanup_on_exit=False)
            except tftest.TerraformTestError as error:
                raise TerraformError("init", self.folder, _error_text(error)) from None
            self._initialised = True
        return self

    def _var_file(self, values: Mapping[str, Any]) -> str:
        self._vars_counter += 1
        return str(write_tfvars(self.folder, values, f"case-{self._vars_counter}.tfvars.json"))

    def plan(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The plan for these variables, as ``terraform show -json`` prints it (also kept as plan.json here)."""
        self.init()
        var_file = self._var_file(values)
        try:
            with self._provider():
                self.tf.execute_command(
                    "plan", "-no-color", "-input=false", "-lock=false", "-out=xacct.tfplan", f"-var-file={var_file}"
                )
                shown = self.tf.execute_command("show", "-json", "xacct.tfplan").out
        except tftest.TerraformTestError as error:
            raise TerraformError("plan", self.folder, _error_text(error)) from None
        (self.folder / "plan.json").write_text(shown)
        plan: dict[str, Any] = json.loads(shown)
        return plan

    def plan_failure(self, values: Mapping[str, Any]) -> str:
        """The plan must fail: its diagnostics as one line (a plan that succeeds is a TerraformError)."""
        self.init()
        var_file = self._var_file(values)
        try:
            with self._provider():
                result = self.tf.execute_command(
                    "plan", "-no-color", "-input=false", "-lock=false", f"-var-file={var_file}"
                )
        except tftest.TerraformTestError as error:
            return _error_text(error)
        raise TerraformError("plan", self.folder, f"succeeded but should have failed:\n{result.out}")

    def apply(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Apply with these variables (kept in the folder for later plans and destroy); return the outputs."""
        self.init()
        write_terraform_tfvars(self.folder, values)
        try:
            with self._provider():
                self.tf.apply()
        except tftest.TerraformTestError as error:
            raise TerraformError("apply", self.folder, _error_text(error)) from None
        return self.output()

    def output(self) -> dict[str, Any]:
        try:
            with self._provider():  # attached, Terraform does not hash the provider binary (700 MB) to read state
                return dict(self.tf.output().items())
        except tftest.TerraformTestError as error:
            raise TerraformError("output", self.folder, _error_text(error)) from None

    def plan_exit_code(self) -> tuple[int, str]:
        """`terraform plan -detailed-exitcode` with the applied variables: 0 = no changes, 2 = changes."""
        try:
            with self._provider():
                result = self.tf.execute_command("plan", "-detailed-exitcode", "-no-color", "-input=false")
        except tftest.TerraformTestError as error:
            raise TerraformError("plan", self.folder, _error_text(error)) from None
        return result.retcode, result.out

    def destroy(self) -> None:
        try:
            with self._provider():
                self.tf.destroy()
        except tftest.TerraformTestError as error:
            raise TerraformError("destroy", self.folder, _error_text(error)) from None
