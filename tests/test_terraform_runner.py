"""The Terraform runner: our own CLI config, with the provider mirror when there is one."""

from __future__ import annotations

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
