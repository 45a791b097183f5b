"""The wheel carries what a non-editable install needs to migrate (docs/storage.md, "Migrations")."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    [built] = list(out.glob("monitor-*.whl"))
    return zipfile.ZipFile(built)


def test_wheel_ships_the_migrations(wheel):
    names = set(wheel.namelist())
    assert "migrations/env.py" in names
    assert "migrations/script.py.mako" in names
    versions = sorted(
        n for n in names if n.startswith("migrations/versions/") and n.endswith(".py")
    )
    on_disk = sorted(
        f"migrations/versions/{p.name}" for p in (ROOT / "migrations" / "versions").glob("*.py")
    )
    assert versions == on_disk


def test_wheel_ships_the_packages_and_the_command(wheel):
    names = set(wheel.namelist())
    assert "monitor/cli/root.py" in names and "monitor/core/rules.py" in names
    assert "tui/__init__.py" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "monitor = tui.launch:main" in wheel.read(entry_points).decode()
