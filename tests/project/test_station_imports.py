"""What the station imports before its first frame (issue #23), in a fresh interpreter.

The station's first screen is the sign-in over an empty floor: it needs Textual, the app's
skeleton, the sign-in and SQLAlchemy Core with the tables (the database is opened and its
schema checked before any screen). The services, the ORM, the dialogs and the other screens
come in a thread started right after that frame (tui/opening.py). The test runs the real
``monitor --db FILE`` entry point on Textual's headless driver, lists ``sys.modules`` at the
moment that thread would start (the first frame drawn), and fails on a module that should
not be there yet. It also checks that the floor's read, once signed in, needs no ORM.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Modules (and their submodules) the first frame must not have imported.
NOT_BEFORE_THE_FIRST_FRAME = (
    "sqlalchemy.orm",
    "monitor.store.models",
    "alembic",
    "matplotlib",
    "fpdf",
    "fhir",
    "psycopg",
    "monitor.export",
    "monitor.present.pdf",
    "tui.dialogs",
    "tui.detail",
    "tui.review",
    "tui.reports",
    "tui.floor.saves",
    "tui.floor.help",
    "tui.exporting",
)
#: The services' capability modules: only their shared plumbing (base) may be in.
SERVICES_ALLOWED = {"monitor.services", "monitor.services.base"}

FIRST_FRAME = r"""
import json, sys
import textual.app
from textual._context import active_app
import tui.launch, tui.opening

def first_frame(opening):  # instead of the thread that imports the services
    app = active_app.get()
    with open(sys.argv[2], "w") as out:
        json.dump({"modules": sorted(sys.modules), "screen": type(app.screen).__name__}, out)
    app.exit()

tui.opening.Opening.start = first_frame
tui.launch.needs_terminal = lambda: None  # no terminal here: Textual's headless driver
run = textual.app.App.run
textual.app.App.run = lambda self, **options: run(self, headless=True, size=(80, 24))
tui.launch.main(["--db", sys.argv[1]])
"""

FLOOR = r"""
import json, sys
from monitor.services.changes import ChangeServices
from monitor.services.config import ConfigServices
from monitor.services.queries import QueryServices
from monitor.store.engine import make_engine

class Floor(QueryServices, ChangeServices, ConfigServices):  # what the floor's refresh asks
    pass

floor = Floor(make_engine(sys.argv[1], create=False))
views = floor.active_sessions()
mark = floor.change_mark()
with floor.commits() as commits:
    commits.count()
with open(sys.argv[2], "w") as out:
    json.dump({"modules": sorted(sys.modules), "patients": [v.patient for v in views]}, out)
"""


def run(code: str, db: str, out: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT), TERM="xterm-256color")
    env.pop("MONITOR_DB", None)
    env.pop("MONITOR_CONFIG", None)
    done = subprocess.run(
        [sys.executable, "-c", code, db, str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(out.read_text())


def unexpected(modules: list[str]) -> list[str]:
    def heavy(name: str) -> bool:
        if any(name == m or name.startswith(m + ".") for m in NOT_BEFORE_THE_FIRST_FRAME):
            return True
        return name.startswith("monitor.services.") and name not in SERVICES_ALLOWED

    return [name for name in modules if heavy(name)]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_first_frame_imports_no_services_orm_dialog_or_export(service, db_url, tmp_path):
    seen = run(FIRST_FRAME, db_url, tmp_path / "first-frame.json")
    assert seen["screen"] == "SignInScreen"
    modules = seen["modules"]
    assert "sqlalchemy" in modules and "monitor.store.tables" in modules  # Core: the schema
    assert unexpected(modules) == [], "imported before the first frame"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_floor_is_read_without_the_orm(service, db_url, tmp_path):
    from tests.station import build_floor

    build_floor(service)
    seen = run(FLOOR, db_url, tmp_path / "floor.json")
    assert sorted(seen["patients"]) == ["MRN-DONE", "MRN-HIGH", "MRN-IV", "MRN-LATE", "MRN-PRE"]
    heavy = [m for m in seen["modules"] if m.startswith("sqlalchemy.orm") or m.endswith("models")]
    assert heavy == []
