"""One version for the modules and the package: pyproject.toml, xacct.__version__, the docs' ?ref=, the CHANGELOG.

Between releases the tree carries the version being prepared: the CHANGELOG then has an [Unreleased] section on
top and its latest released heading is the version before. A commit tagged vX.Y.Z must say X.Y.Z everywhere,
its CHANGELOG included (CONTRIBUTING.md, "Releasing").
"""

from __future__ import annotations

import re
import shutil
import subprocess
from importlib.metadata import version as installed_version
from pathlib import Path

import pytest

import xacct

ROOT = Path(__file__).resolve().parents[1]
SEMVER = r"\d+\.\d+\.\d+"
HEADING = re.compile(rf"^## \[(Unreleased|{SEMVER})\](?: - (\d{{4}}-\d{{2}}-\d{{2}}))?$", re.MULTILINE)


def _version() -> str:
    project = (ROOT / "pyproject.toml").read_text().split("[project]", 1)[1].split("\n[", 1)[0]
    match = re.search(r'^version = "([^"]+)"$', project, re.MULTILINE)
    assert match is not None, "pyproject.toml [project] has no version"
    return match.group(1)


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _changelog() -> list[tuple[str, str | None, str]]:
    """(version or "Unreleased", date or None, section text) in file order."""
    text = (ROOT / "CHANGELOG.md").read_text()
    matches = list(HEADING.finditer(text))
    ends = [m.start() for m in matches[1:]] + [len(text)]
    return [(m.group(1), m.group(2), text[m.end() : end]) for m, end in zip(matches, ends, strict=True)]


def _tag_pins() -> dict[str, set[str]]:
    """Every file that pins a release (?ref=vX.Y.Z in a module source, @vX.Y.Z in a pip URL) => the versions."""
    pins: dict[str, set[str]] = {}
    for path in sorted(ROOT.rglob("*")):
        relative = path.relative_to(ROOT)
        if path.suffix not in (".md", ".tf", ".example") or any(p.startswith(".") for p in relative.parts):
            continue
        found = set(re.findall(rf"(?:\?ref=|\.git@)v({SEMVER})\b", path.read_text()))
        if found and relative.name != "CHANGELOG.md":
            pins[str(relative)] = found
    return pins


def test_the_package_reports_the_pyproject_version() -> None:
    version = _version()
    assert installed_version("xacct") == version, "the installed metadata is stale: run `make setup`"
    assert xacct.__version__ == version


def _tags(*where: str) -> list[str]:
    """The repository's v* tags (``--points-at HEAD`` for HEAD's only); none outside a git checkout."""
    git = shutil.which("git")
    if git is None:
        return []
    result = subprocess.run([git, "tag", *where, "--list", "v*"], cwd=ROOT, capture_output=True, text=True, check=False)
    return result.stdout.split() if result.returncode == 0 else []


def test_the_docs_pin_only_tags_that_exist() -> None:
    """No doc pins a tag that does not exist (issue 19: `?ref=v0.2.0` sent a new user to nothing). Until a release
    is tagged the docs say `?ref=<commit sha>`; the release commit pins `v<version>` (CONTRIBUTING.md, "Releasing")."""
    version = _version()
    pins = _tag_pins()
    if f"v{version}" in _tags("--points-at", "HEAD"):
        assert "README.md" in pins
        assert "envs/README.md" in pins
        assert {path: found for path, found in pins.items() if found != {version}} == {}, f"expected v{version} only"
        return
    existing = {tag[1:] for tag in _tags()}
    missing = {path: found - existing for path, found in pins.items() if found - existing}
    assert missing == {}, "these docs pin release tags that do not exist; pin ?ref=<commit sha> until they do"
    if not pins:
        for doc in ("README.md", "envs/README.md"):
            assert "?ref=<commit sha>" in (ROOT / doc).read_text(), doc


def test_the_changelog_agrees() -> None:
    version = _version()
    sections = _changelog()
    released = [(v, date) for v, date, _ in sections if v != "Unreleased"]
    assert all(date is not None for _, date in released), "released headings read ## [X.Y.Z] - YYYY-MM-DD"
    assert [v for v, _, _ in sections[1:]].count("Unreleased") == 0, "[Unreleased] goes first, once"
    assert released == sorted(released, key=lambda r: (_key(r[0]), r[1]), reverse=True), "newest first"
    latest = released[0][0]
    if latest != version:
        # Between releases: the version being prepared, with what it will bring under [Unreleased].
        assert sections[0][0] == "Unreleased", f"pyproject.toml says {version}, the CHANGELOG's latest is {latest}"
        assert sections[0][2].strip(), "[Unreleased] lists nothing, yet pyproject.toml is ahead of the CHANGELOG"
        assert _key(version) > _key(latest), f"pyproject.toml's {version} is not after the CHANGELOG's {latest}"


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_a_release_tag_matches_everything() -> None:
    git = shutil.which("git")
    assert git is not None
    tags_at_head = [git, "tag", "--points-at", "HEAD", "--list", "v*"]
    result = subprocess.run(tags_at_head, cwd=ROOT, capture_output=True, text=True, check=False)
    tags = result.stdout.split() if result.returncode == 0 else []  # not a git checkout: nothing to compare
    version = _version()
    for tag in tags:
        assert tag == f"v{version}", f"HEAD is tagged {tag}, pyproject.toml says {version}"
        sections = _changelog()
        latest = next(v for v, _, _ in sections if v != "Unreleased")
        assert latest == version, f"tagged {tag}, but the CHANGELOG's latest release is {latest}"


def test_the_envs_readme_shows_the_lines_each_env_has() -> None:
    """envs/README.md's diff: the - line is in the env's main.tf, the + line is the same module pinned (a commit
    until a release is tagged, then v<version>)."""
    readme = (ROOT / "envs" / "README.md").read_text()
    for env in ("deve", "stag"):
        block = readme.split(f"`envs/{env}/main.tf`:", 1)[1].split("```diff\n", 1)[1].split("```", 1)[0]
        removed = [line[1:].strip() for line in block.splitlines() if line.startswith("-")]
        added = [line[1:].strip() for line in block.splitlines() if line.startswith("+")]
        assert len(removed) == len(added) == 1
        assert removed[0] in [line.strip() for line in (ROOT / "envs" / env / "main.tf").read_text().splitlines()]
        module = removed[0].split("/modules/", 1)[1].rstrip('"')
        repo = "git::https://github.com/<org>/xacct.git"
        assert added[0] in (
            f'source = "{repo}//modules/{module}?ref=<commit sha>"',
            *(f'source = "{repo}//modules/{module}?ref={tag}"' for tag in _tags()),
        )
