"""The layering holds: the clinical core and the headless product load no screen."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE_MODULES = sorted(
    f"monitor.core.{p.stem}"
    for p in (ROOT / "monitor" / "core").glob("*.py")
    if p.stem != "__init__"
)
HEADLESS_MODULES = sorted(
    "monitor." + ".".join(p.relative_to(ROOT / "monitor").with_suffix("").parts)
    for p in (ROOT / "monitor").rglob("*.py")
    if p.stem not in ("__init__", "__main__")
)


def loaded_after_import(module: str) -> set[str]:
    code = f"import sys, {module}; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    return {name.split(".")[0] for name in out.split()}


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_loads_no_database_and_no_screen(module):
    loaded = loaded_after_import(module)
    assert not loaded & {"sqlalchemy", "alembic", "textual", "tui", "rich", "click"}


@pytest.mark.parametrize("module", HEADLESS_MODULES)
def test_headless_module_loads_no_textual(module):
    assert not loaded_after_import(module) & {"textual", "tui"}


def test_import_linter_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_command_on_sqlite_loads_no_postgresql_dialect():
    """SQLAlchemy's PostgreSQL dialect costs every SQLite command about 45 ms to import: the
    models name no PostgreSQL option (models.add_partial_indexes)."""
    code = (
        "import sys, monitor.services.service; "
        "print('sqlalchemy.dialects.postgresql' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert out.strip() == "False"


def test_the_command_line_imports_only_click_before_parsing():
    """`monitor --help` (and every command, until its arguments are parsed) imports nothing
    heavier than the standard library and click (issue #10: start-up)."""
    code = (
        "import sys\n"
        "sys.argv = ['monitor', '--help']\n"
        "import tui.launch\n"
        "try:\n"
        "    tui.launch.main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(' '.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert "Usage: monitor" in done.stdout
    modules = set(done.stderr.split())
    loaded = {name.split(".")[0] for name in modules}
    heavy = {"sqlalchemy", "alembic", "textual", "rich", "psycopg", "fpdf", "matplotlib"}
    assert not loaded & heavy, loaded & heavy
    assert "fhir" not in loaded and "platformdirs" not in loaded
    # Listing the commands loads their small modules, not the stories, views or rules they
    # render (each command imports those when it runs).
    own = {n for n in modules if n.startswith("monitor.") and not n.startswith("monitor.cli")}
    # monitor.timeforms: the time forms every time option's help lists (no imports of its own);
    # monitor.core.text: what a line of typed text may hold, for printing what a user typed.
    small = {
        "monitor.errors",
        "monitor.core",
        "monitor.core.rems_answers",
        "monitor.core.text",
        "monitor.timeforms",
    }
    assert own <= small, own
