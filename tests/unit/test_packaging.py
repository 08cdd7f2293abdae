"""The licence and the version: a LICENSE that matches pyproject.toml's SPDX string (a TOML table is
deprecated and prints a banner at every install), and the version set in one place only."""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

from loyalty_tools.cli import version

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_licence_is_an_spdx_string_matching_the_license_file() -> None:
    project = PYPROJECT["project"]
    assert project["license"] == "Apache-2.0"
    assert project["license-files"] == ["LICENSE"]
    text = (REPO / "LICENSE").read_text(encoding="utf-8")
    assert text.lstrip().startswith("Apache License") and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
    assert not [c for c in project.get("classifiers", []) if c.startswith("License ::")]  # one statement


def test_the_version_is_set_in_pyproject_only() -> None:
    declared = PYPROJECT["project"]["version"]
    assert version() == declared  # what `loyalty --version` prints comes from the installed metadata
    tracked = subprocess.run(
        ["git", "grep", "-l", "-F", f'"{declared}"', "--", "*.py", "*.toml", "*.cfg", "*.md"],
        cwd=REPO, capture_output=True, text=True, check=False,
    ).stdout.split()  # fmt: skip
    assert tracked == ["pyproject.toml"], tracked
