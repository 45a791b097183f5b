"""What each command imports (issue #23: nothing imported before it is needed).

Every command of ``monitor --help`` runs once in a fresh interpreter, as the ``monitor``
console script runs it, on a real SQLite file prepared once for this module; a hook writes
the names in ``sys.modules`` when the interpreter exits. A command fails here when it loaded a
heavy module its row below does not allow: saving a reading loads SQLAlchemy Core, the tables
and the recording services, never the ORM, the models, the rest of the services layer, the
exports' libraries, the station's, Alembic or rich (docs/architecture.md, "Start-up").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.cli.root import COMMANDS

ROOT = Path(__file__).resolve().parents[2]
PIN = "1234"

#: Modules (with their submodules) that are heavy to import, or that only some commands need.
HEAVY = (
    "sqlalchemy",
    "sqlalchemy.orm",
    "sqlalchemy.dialects.postgresql",
    "monitor.store.models",
    "alembic",
    "matplotlib",
    "numpy",
    "PIL",
    "fpdf",
    "fontTools",
    "fhir",
    "pydantic",
    "textual",
    "rich",
    "psycopg",
    "tomllib",
    "tomli_w",
    "monitor.export.chart",
    "monitor.export.fhir",
    *sorted(f"monitor.services.{p.stem}" for p in (ROOT / "monitor/services").glob("[!_]*.py")),
)

#: What saving a reading needs: SQLAlchemy Core, the tables, the recording services.
RECORDING = frozenset(
    {
        "sqlalchemy",
        "monitor.services.base",
        "monitor.services.config",
        "monitor.services.keys",
        "monitor.services.pincheck",
        "monitor.services.recording",
        "monitor.services.recording_sql",
        "monitor.services.signin",
    }
)
#: Every capability (:class:`monitor.services.Service`) with the ORM and the models; not the
#: reads behind the exports.
WHOLE = (
    RECORDING
    | {"sqlalchemy.orm", "monitor.store.models"}
    | {
        f"monitor.services.{p.stem}"
        for p in (ROOT / "monitor/services").glob("[!_]*.py")
        if p.stem != "exports"
    }
)
EXPORTS = WHOLE | {"monitor.services.exports"}
#: A PDF: fpdf2 (with PIL and fontTools) draws the chart too, without matplotlib or numpy.
PDF = EXPORTS | {"PIL", "fpdf", "fontTools", "monitor.export.chart"}
FHIR = EXPORTS | {"fhir", "pydantic", "monitor.export.fhir"}
#: Alembic compares the tables with the migrations, in every dialect's terms.
MIGRATIONS = WHOLE | {"alembic", "tomllib", "sqlalchemy.dialects.postgresql"}

# Each run: an id, the arguments after ``monitor --db DB``, standard input, and what it may
# load of HEAVY. ``{S}`` is the active session, ``{D}`` the discharged one, ``{R1}``... readings.
RUNS = [
    ("help", ["--help"], None, frozenset()),
    ("record", ["record", "{S}", "120/80 hr 70 spo2 98", "--by", "ana"], None, RECORDING),
    ("record-json", ["record", "{S}", "hr 71", "--by", "ana", "--json"], None, RECORDING),
    ("record-key", ["record", "{S}", "hr 72", "--by", "ana", "--key", "k-1"], None, RECORDING),
    (
        "record-stdin",
        ["record", "{S}", "--stdin", "--by", "ana", "--key", "batch"],
        "120/80 hr 70\nhr 999\n130/85 @ 5 min ago\n",
        RECORDING,
    ),
    (
        "record-stdin-json",
        ["record", "{S}", "--stdin", "--by", "ana", "--json"],
        "121/81\n",
        RECORDING,
    ),
    (
        "amend",
        ["amend", "{R1}", "hr 75", "--by", "ana", "--reason", "misread"],
        None,
        WHOLE,
    ),
    ("void", ["void", "{R2}", "--by", "ana", "--reason", "wrong patient"], None, WHOLE),
    ("session-list", ["session", "list", "--json"], None, WHOLE),
    ("session-show", ["session", "show", "{S}"], None, WHOLE),
    ("session-show-json", ["session", "show", "{S}", "--json"], None, WHOLE),
    (
        "session-start",
        ["session", "start", "--patient", "MRN-IMP-3", "--protocol", "ketamine-iv", "--by", "ana"],
        None,
        WHOLE,
    ),
    ("export-csv", ["export", "{D}", "--format", "csv", "-o", "{OUT}/x.csv"], None, EXPORTS),
    ("export-json", ["export", "{D}", "--format", "json", "-o", "{OUT}/x.json"], None, EXPORTS),
    ("export-pdf", ["export", "{D}", "--format", "pdf", "-o", "{OUT}/x.pdf"], None, PDF),
    ("export-fhir", ["export", "{D}", "--format", "fhir", "-o", "{OUT}/x.fhir.json"], None, FHIR),
    ("audit", ["audit", "{S}"], None, WHOLE),
    ("audit-json", ["audit", "--json", "--limit", "5"], None, WHOLE),
    (
        "check",
        ["check", "skip", "{S}", "+10 min", "--by", "ana", "--reason", "asleep"],
        None,
        WHOLE,
    ),
    ("config-show", ["config", "show"], None, WHOLE),
    ("config-export", ["config", "export"], None, WHOLE | {"tomli_w"}),
    ("db-current", ["db", "current"], None, MIGRATIONS),
    ("db-check", ["db", "check"], None, MIGRATIONS),
    (
        "event",
        ["event", "add", "{S}", "--kind", "note", "--by", "ana", "calm, talking"],
        None,
        WHOLE,
    ),
    ("flag", ["flag", "ack", "{F}", "--by", "sam", "--action", "rechecked"], None, WHOLE),
    ("rems", ["rems", "--json"], None, WHOLE),
    ("report", ["report", "--from", "2000-01-01", "--to", "2999-01-01"], None, WHOLE),
    ("review", ["review", "list"], None, WHOLE),
    ("user", ["user", "list", "--by", "sam"], None, WHOLE),
    ("demo", ["demo", "--help"], None, frozenset()),
    ("device", ["device", "list"], None, WHOLE),
    ("validate", ["validate", "{V}", "--by", "ana"], None, WHOLE),
    ("ingest", ["ingest", "--help"], None, frozenset()),
]

#: Commands checked otherwise: ``demo`` builds a whole clinic (its help is checked above and
#: its module by tests/project/test_layering.py).
RUN_COMMANDS = {args[0] for _, args, _, _ in RUNS if not args[0].startswith("-")}

#: The hook: the console script's entry point, then the loaded modules at the exit.
HOOK = """
import atexit, json, os, sys

def _dump():
    with open(os.environ["MONITOR_TEST_MODULES"], "w") as out:
        json.dump(sorted(sys.modules), out)

atexit.register(_dump)
sys.argv[0] = "monitor"
import tui.launch
tui.launch.main(sys.argv[1:])
"""


@pytest.fixture(scope="module")
def clinic(tmp_path_factory) -> dict[str, str]:
    """A real SQLite file: two users, an active session with readings (one flagged), a
    discharged session with a reading (the exports' subject)."""
    from monitor.services import Service

    folder = tmp_path_factory.mktemp("imports")
    db = folder / "clinic.db"
    service = Service.open(str(db))
    try:
        service.add_user("sam", "supervisor", PIN)
        service.add_user("ana", "nurse", PIN, by="sam")
        done = service.start_session(patient="MRN-IMP-2", protocol="ketamine-iv", by="ana")
        service.record_dose(done, by="sam", override_reason="import test: no baseline")
        service.record_reading(done, "130/80 hr 70 spo2 98 moaas 5 cadss 0", by="ana")
        service.discharge(
            done, by="sam", override_reason="import test", escort="none", instructions_given=True
        )
        begun = datetime.now(UTC) - timedelta(minutes=40)
        active = service.start_session(
            patient="MRN-IMP-1", protocol="ketamine-iv", by="ana", started_at=begun, bay="Bay 1"
        )
        service.record_dose(
            active,
            by="sam",
            at=begun + timedelta(minutes=5),
            override_reason="import test: no baseline",
        )
        first = service.record_reading(active, "125/80 hr 70 spo2 98", by="ana")
        second = service.record_reading(active, "126/80 hr 71 spo2 97", by="ana")
        flagged = service.record_reading(active, "190/100 hr 72 spo2 97", by="ana")
        service.add_device("MP5-IMP", bay="Bay 1", by="sam")
        sent = service.record_from_device(
            "MP5-IMP",
            {"systolic": 120, "diastolic": 80},
            measured_at=datetime.now(UTC) - timedelta(minutes=1),
            message_id="IMP-1",
            by="ana",
        )
    finally:
        service.close()
    return {
        "DB": str(db),
        "S": str(active),
        "D": str(done),
        "R1": str(first.id),
        "R2": str(second.id),
        "F": str(flagged.flags[0].id),
        "V": str(sent.recorded.reading.id),
        "OUT": str(folder),
    }


def test_every_command_is_run_here():
    assert set(COMMANDS) == RUN_COMMANDS | {"demo"}


@pytest.mark.parametrize(
    ("args", "stdin", "allowed"), [r[1:] for r in RUNS], ids=[r[0] for r in RUNS]
)
def test_a_command_loads_only_what_it_needs(clinic, tmp_path, args, stdin, allowed):
    dump = tmp_path / "modules.json"
    argv = ["--db", clinic["DB"], *(a.format(**clinic) for a in args)]
    env = dict(os.environ, MONITOR_PIN=PIN, MONITOR_TEST_MODULES=str(dump), PYTHONPATH=str(ROOT))
    env.pop("MONITOR_DB", None)
    env.pop("MONITOR_CONFIG", None)
    done = subprocess.run(
        [sys.executable, "-c", HOOK, *argv],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    refused_line = "hr 999" in (stdin or "")  # a batch with a refused line exits 2
    assert done.returncode == (2 if refused_line else 0), done.stdout + done.stderr
    loaded = set(json.loads(dump.read_text()))
    heavy = {
        module
        for module in loaded
        if any(module == name or module.startswith(name + ".") for name in HEAVY)
    }
    # A submodule is allowed with its package unless it is itself one of HEAVY.
    unexpected = {
        module
        for module in heavy
        if not any(
            (module == name or module.startswith(name + "."))
            and not any(
                module == other or module.startswith(other + ".")
                for other in HEAVY
                if other.startswith(name + ".")
            )
            for name in allowed
        )
    }
    assert not unexpected, sorted(unexpected)
