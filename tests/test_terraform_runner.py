"""The Terraform runner: our own CLI config, with the provider mirror when there is one."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from xacct.local import terraform as tfrun


def test_a_configured_mirror_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mirror = tmp_path / "mirror"
    (mirror / tfrun.AWS_PROVIDER).mkdir(parents=True)
    monkeypatch.setenv(tfrun.MIRROR_ENV, str(mirror))
    text = tfrun.write_cli_config(tmp_path / "cli.rc").read_text()
    assert f'path    = "{mirror}"' in text
    assert 'include = ["registry.terraform.io/hashicorp/aws"]' in text
    assert 'exclude = ["registry.terraform.io/hashicorp/aws"]' in text


def test_a_mirror_without_the_aws_provider_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(tfrun.MIRROR_ENV, str(tmp_path))
    with pytest.raises(tfrun.TerraformSetupError, match=f"{tfrun.MIRROR_ENV}={tmp_path} has no registry.terraform.io"):
        tfrun.write_cli_config(tmp_path / "cli.rc")


def test_without_a_mirror_providers_come_from_the_registry_with_a_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(tfrun.MIRROR_ENV, raising=False)
    monkeypatch.setattr(tfrun, "KNOWN_MIRRORS", (str(tmp_path / "nowhere"),))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    text = tfrun.write_cli_config(tmp_path / "cli.rc").read_text()
    assert "provider_installation" not in text
    assert f'plugin_cache_dir = "{tmp_path / "cache" / "xacct" / "plugin-cache"}"' in text


def test_copies_leave_state_and_plugins_behind(tmp_path: Path) -> None:
    source = tmp_path / "source"
    for folder in ("modules/m", "envs/e/.terraform/providers"):
        (source / folder).mkdir(parents=True)
    (source / "modules/m/main.tf").write_text("# module\n")
    (source / "envs/e/main.tf").write_text("# env\n")
    (source / "envs/e/terraform.tfstate").write_text("{}")
    (source / "envs/e/terraform.tfvars").write_text('secret = "x"\n')
    copy = tfrun.copy_configuration(tmp_path / "copy", source)
    assert sorted(str(p.relative_to(copy)) for p in copy.rglob("*") if p.is_file()) == [
        "envs/e/main.tf",
        "modules/m/main.tf",
    ]


# -- provider hosts (ProviderHosts): Terraform attaches to a running provider instead of starting its own ----------


def _initialised(folder: Path, text: str = "") -> Path:
    """``folder`` as `terraform init` leaves it: the mirror's provider linked under .terraform/providers."""
    mirror = tfrun.find_mirror()
    if mirror is None:
        pytest.skip("no provider mirror on this machine")
    (platform,) = (mirror / tfrun.AWS_PROVIDER).glob("*/*")
    installed = folder / ".terraform" / "providers" / tfrun.AWS_PROVIDER / platform.parent.name
    installed.mkdir(parents=True)
    (installed / platform.name).symlink_to(platform)
    (folder / "main.tf").write_text(text)
    return folder


def _local(account: str) -> dict[str, str]:
    return {"AWS_ENDPOINT_URL": "http://127.0.0.1:4566", "AWS_ACCESS_KEY_ID": account, "AWS_CA_BUNDLE": "/x.pem"}


def _pid(reattach: str | None) -> int:
    assert reattach is not None
    pid: int = json.loads(reattach)["registry.terraform.io/hashicorp/aws"]["Pid"]
    return pid


def test_provider_configurations_count_the_roots_blocks_and_its_modules(tmp_path: Path) -> None:
    assert tfrun.provider_configurations(_initialised(tmp_path / "bare")) == 1  # the implicit one
    root = _initialised(tmp_path / "root", 'provider "aws" {\n  region = "eu-west-1"\n}\n')
    assert tfrun.provider_configurations(root) == 1
    (tmp_path / "seed").mkdir()
    (tmp_path / "seed" / "main.tf").write_text(
        'provider "aws" {\n  alias = "a"\n}\n\nprovider "aws" {\n  alias = "b"\n}\n'
    )
    (tmp_path / "json").mkdir()
    (tmp_path / "json" / "main.tf.json").write_text('{"provider": [{"aws": {"alias": "c"}}, {"aws": [{}, {}]}]}')
    modules = [{"Key": "", "Dir": "."}, {"Key": "seed", "Dir": "../seed"}, {"Key": "json", "Dir": "../json"}]
    (root / ".terraform" / "modules").mkdir()
    (root / ".terraform" / "modules" / "modules.json").write_text(json.dumps({"Modules": modules}))
    assert tfrun.provider_configurations(root) == 1 + 2 + 3


@pytest.mark.parametrize(
    ("text", "configurations"),
    [
        ('provider aws {\n  region = "eu-west-1"\n}\n', 1),  # unquoted: Terraform accepts it
        ('  provider "aws" {\n    region = "eu-west-1"\n  }\n', 1),  # indented
        ('provider aws {}\n  provider "aws" {\n    alias = "use1"\n  }\n', 2),
        ('provider "aws" {\n  alias = "use1"\n}\n', 2),  # the implicit default configuration is still there
        ('provider "aws" {\n  default_tags {\n    tags = { alias = "x" }\n  }\n}\n', 1),  # not an alias
    ],
)
def test_provider_configurations_see_every_shape_of_block(tmp_path: Path, text: str, configurations: int) -> None:
    assert tfrun.provider_configurations(_initialised(tmp_path / "root", text)) == configurations


@pytest.mark.parametrize(
    ("endpoint", "attachable"),
    [
        ("http://127.0.0.1:4566", True),
        ("http://localhost:4566/", True),
        ("https://127.0.0.1:4566", False),  # TLS: the host would need the CA bundle it is not given
        ("http://127.0.0.1.example.com", False),
        ("https://iam.amazonaws.com", False),
        ("", False),  # a real account (profile or keys): the provider starts as usual
    ],
)
def test_only_the_local_aws_is_attachable(endpoint: str, attachable: bool) -> None:
    assert tfrun.ProviderHosts.attachable({"AWS_ENDPOINT_URL": endpoint}) is attachable


def test_hosts_serve_one_account_and_one_command_each(tmp_path: Path) -> None:
    root = _initialised(tmp_path / "root")
    hosts = tfrun.ProviderHosts(tmp_path / "hosts", idle=1)
    try:
        with hosts.lease(root, _local("111111111111")) as first:
            assert first is not None
            assert "registry.terraform.io/hashicorp/aws" in json.loads(first)
            with hosts.lease(root, _local("111111111111")) as busy:
                assert busy not in (None, first)  # the first is busy: a second process
        with hosts.lease(root, _local("111111111111")) as again:
            assert again == first  # idle=1: the one given back last is kept, the other stopped
        assert not (Path("/proc") / str(_pid(busy))).exists()
        with hosts.lease(root, _local("222222222222")) as other:
            assert other not in (None, first, again)  # another account's credentials: another process
        assert hosts.attached == 4
        # Each host was started without the CA bundle (see ProviderHosts) and with the provider's logs off.
        environ = Path("/proc") / str(_pid(other)) / "environ"
        variables = dict(item.split("=", 1) for item in environ.read_text().split("\0") if "=" in item)
        assert "AWS_CA_BUNDLE" not in variables
        assert variables["TF_LOG_PROVIDER"] == "off"
        assert variables["AWS_ACCESS_KEY_ID"] == "222222222222"
        sockets = Path(variables["TMPDIR"])  # a folder of its own for its socket, removed when it stops
        assert [path.name[:6] for path in sockets.iterdir()] == ["plugin"]
    finally:
        hosts.close()
    assert not sockets.exists()


def test_roots_with_several_configurations_or_a_real_endpoint_start_their_own(tmp_path: Path) -> None:
    aliases = 'provider "aws" {\n  alias = "a"\n}\n\nprovider "aws" {\n  alias = "b"\n}\n'
    hosts = tfrun.ProviderHosts(tmp_path / "hosts")
    with hosts.lease(_initialised(tmp_path / "seed", aliases), _local("111111111111")) as reattach:
        assert reattach is None
    with hosts.lease(_initialised(tmp_path / "real"), {"AWS_PROFILE": "prod"}) as reattach:
        assert reattach is None
    assert hosts.attached == 0


def test_a_provider_that_prints_no_address_is_a_setup_error(tmp_path: Path) -> None:
    binary = tmp_path / "terraform-provider-aws"
    binary.write_text("#!/bin/sh\necho 'plugin crashed' >&2\nexit 3\n")
    binary.chmod(0o755)
    with pytest.raises(tfrun.TerraformSetupError, match=f"{binary} -debug stopped instead of printing .*crashed"):
        tfrun.ProviderHost(binary, {}, tmp_path / "host.log")


def test_applied_values_go_to_the_terraform_tfvars_a_person_edits(tmp_path: Path) -> None:
    """Issue 19: the demo's working copies carried an xacct.auto.tfvars.json, which Terraform loads after
    terraform.tfvars ("Assigning values to root module variables": *.auto.tfvars files come later and win), so a
    second team added to terraform.tfvars as the README says planned only a route. The values are now written to
    terraform.tfvars itself, as HCL that Terraform reads back unchanged (terraform console)."""
    from xacct.local.terraform import terraform_binary, write_cli_config, write_terraform_tfvars

    (tmp_path / "xacct.auto.tfvars.json").write_text("{}")
    values = {
        "region": "ap-northeast-1",
        "invoke_roles": {"Api": {"trusted_role_arns": ["arn:aws:iam::222222222222:role/LambdaRoleDeve"]}},
        "note": 'a ${literal} and %{ directive } with "quotes", \\ a backslash and\na newline',
        "size": 3,
        "flag": True,
        "nothing": None,
    }
    path = write_terraform_tfvars(tmp_path, values)
    assert path.name == "terraform.tfvars"
    assert list(tmp_path.glob("*.auto.tfvars*")) == []
    (tmp_path / "main.tf").write_text("".join(f'variable "{name}" {{\n  type = any\n}}\n' for name in values))
    shown = subprocess.run(
        [str(terraform_binary()), "console"],
        cwd=tmp_path,
        input=f"jsonencode({{{', '.join(f'{name} = var.{name}' for name in values)}}})",
        env={**os.environ, "TF_CLI_CONFIG_FILE": str(write_cli_config())},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(json.loads(shown.stdout)) == values
