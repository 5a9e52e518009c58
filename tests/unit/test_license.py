"""The LICENSE files say what both pyprojects declare."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("project", [ROOT, ROOT / "client"])
def test_the_license_file_is_the_license_the_pyproject_declares(project: Path) -> None:
    declared = tomllib.loads((project / "pyproject.toml").read_text())["project"]["license"]
    assert declared == "Apache-2.0"
    text = (project / "LICENSE").read_text()
    assert text.split()[:4] == ["Apache", "License", "Version", "2.0,"]
    assert "END OF TERMS AND CONDITIONS" in text
    assert (project / "LICENSE").read_text() == (ROOT / "LICENSE").read_text()
