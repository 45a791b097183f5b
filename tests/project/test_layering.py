"""The layering holds: the clinical core and the headless product load no screen."""

from __future__ import annotations

import functools
import json
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


#: One interpreter checks every module, each imported in a child forked from it (a fresh
#: interpreter per module cost about a minute on a busy machine). The parent loads only what
#: a child has already shown to be clean, and third-party packages the headless modules may
#: load: a child's modules are then those and the ones its import loads, so a forbidden module
#: shows in a child exactly when a fresh interpreter importing that module would load it.
PROBE = """
import json, os, sys, traceback

def probe(modules, forbidden, preload=()):
    for name in preload:
        __import__(name)
    assert not {m.split(".")[0] for m in sys.modules} & forbidden, "a preloaded module is not clean"
    found = {}
    for module in modules:
        read, write = os.pipe()
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            try:
                __import__(module)
                text = " ".join(sorted(sys.modules))
            except BaseException:
                text = "!" + traceback.format_exc()
            with os.fdopen(write, "w") as out:
                out.write(text)
            os._exit(0)
        os.close(write)
        with os.fdopen(read) as got:
            text = got.read()
        os.waitpid(pid, 0)
        found[module] = text
        loaded = {name.split(".")[0] for name in text.split()}
        if not text.startswith("!") and not loaded & forbidden:
            __import__(module)  # clean: what later children load with it is known clean
    return found

core, headless = json.loads(sys.stdin.read())
CORE_FORBIDDEN = {"sqlalchemy", "alembic", "textual", "tui", "rich", "click"}
found_core = probe(core, CORE_FORBIDDEN)
third_party = ["sqlalchemy", "sqlalchemy.orm", "alembic", "click", "platformdirs"]
print(json.dumps([found_core, probe(headless, {"textual", "tui"}, third_party)]))
"""


@functools.cache
def _probed() -> tuple[dict[str, str], dict[str, str]]:
    """What each module of :data:`CORE_MODULES` loads, and each of :data:`HEADLESS_MODULES`
    (with the third-party packages they may load already loaded)."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        input=json.dumps([CORE_MODULES, HEADLESS_MODULES]),
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    core, headless = json.loads(done.stdout)
    return core, headless


def loaded_after_import(module: str, *, headless: bool = False) -> set[str]:
    """The top-level names of the modules loaded once ``module`` is imported (``headless``:
    among them sqlalchemy, alembic, click and platformdirs, loaded before)."""
    out = _probed()[1 if headless else 0][module]
    assert not out.startswith("!"), f"importing {module} failed:\n{out[1:]}"
    return {name.split(".")[0] for name in out.split()}


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_loads_no_database_and_no_screen(module):
    loaded = loaded_after_import(module)
    assert not loaded & {"sqlalchemy", "alembic", "textual", "tui", "rich", "click"}


@pytest.mark.parametrize("module", HEADLESS_MODULES)
def test_headless_module_loads_no_textual(module):
    assert not loaded_after_import(module, headless=True) & {"textual", "tui"}


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
