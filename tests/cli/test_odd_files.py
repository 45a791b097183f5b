"""Odd files get one `error:` line, never a traceback or a hang (issue #20, item 6;
docs/storage.md, "Timeouts, read-only files and db check"; docs/configuration.md, "Files" and
"Bounds"): a database file that is random bytes, text or truncated; a `--config`,
`MONITOR_CONFIG` or `config load` file that is a FIFO, a device, a folder, not UTF-8, or valid
TOML with wrong types or numbers past their bounds."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from monitor.store.engine import make_engine
from tests.cli.test_cli import Cli, with_sam_and_ana

ROOT = Path(__file__).resolve().parents[2]
#: Only a bound against a hang (a FIFO read would wait forever): each command returns at once.
NO_HANG_S = 60

# -- database files that are not databases -------------------------------------------------


def _random(path: Path, template: Path) -> None:
    path.write_bytes(os.urandom(64 * 1024))


def _text(path: Path, template: Path) -> None:
    path.write_text("these are the minutes of the clinic's meeting\n" * 200)


def _truncated(path: Path, template: Path) -> None:
    data = template.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _sqlite_but_not_monitor(path: Path, template: Path) -> None:
    import sqlite3

    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE recipes (name TEXT)")
    connection.close()


ODD_DATABASES = {
    "random-bytes": (_random, "the file is not an SQLite database"),
    "text": (_text, "the file is not an SQLite database"),
    "truncated": (_truncated, ""),
    "another-apps-sqlite": (_sqlite_but_not_monitor, "monitor"),
}

COMMANDS = (
    ("session", "list"),
    ("session", "show", "1"),
    ("audit",),
    ("config", "show"),
    ("db", "current"),
    ("db", "check"),
    ("db", "upgrade"),
    ("export", "1", "--format", "csv", "-o", "{out}"),
    ("record", "1", "120/80", "--by", "ana"),
)


@pytest.mark.parametrize("kind", ODD_DATABASES)
def test_a_database_file_that_is_not_one_is_one_line(kind, sqlite_template, tmp_path):
    make, said = ODD_DATABASES[kind]
    path = tmp_path / "monitor.db"
    make(path, Path(sqlite_template))
    os.chmod(path, 0o600)
    before = sorted(p.name for p in tmp_path.iterdir())
    cli = Cli(str(path))
    for command in COMMANDS:
        args = [part.format(out=tmp_path / "out.csv") for part in command]
        result = cli(*args, ok=False)
        assert result.returncode in (1, 2), (args, result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (args, result.stderr)
        assert said in lines[0], (args, lines[0])
    if kind == "truncated":
        assert "damaged" in lines[0] or "malformed" in lines[0]
    # Nothing was made beside it (no backup of a file that is not a database, no export).
    after = sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith("-writelock"))
    assert after == before


# -- configuration files -------------------------------------------------------------------


@pytest.fixture
def cli(sqlite_template, tmp_path) -> Cli:
    """A station's database with sam and ana: SQLite, since a file's reading is the same
    whatever the backend."""
    path = tmp_path / "monitor.db"
    shutil.copy(sqlite_template, path)
    os.chmod(path, 0o600)
    return with_sam_and_ana(Cli(str(path)))


@pytest.fixture
def odd_files(tmp_path) -> dict[str, str]:
    """Files no configuration can be: each a path, by what it is."""
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    not_utf8 = tmp_path / "latin1.toml"
    not_utf8.write_bytes('clinic_name = "Clínica"\n'.encode("latin-1"))
    nul = tmp_path / "nul.toml"
    nul.write_bytes(b'clinic_name = "a"\n\x00\x00')
    huge = tmp_path / "huge.toml"
    huge.write_bytes(b"# " + b"x" * (200 * 1024) + b"\n")
    return {
        "a FIFO": str(fifo),
        "a device": "/dev/zero",
        "a device ": "/dev/urandom",
        "a device  ": "/dev/null",
        "a folder": str(tmp_path),
        "not UTF-8": str(not_utf8),
        "NUL": str(nul),
        "larger than": str(huge),
        "not found": str(tmp_path / "missing.toml"),
    }


def test_odd_config_files_are_one_line_and_never_hang(cli, odd_files):
    for said, path in odd_files.items():
        said = said.strip()
        # As --config, as MONITOR_CONFIG (a real process: a FIFO must not block it), and as
        # the rules file of `config load`.
        assert said in cli.refused("--config", path, "session", "list"), path
        env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
        env.update(MONITOR_DB=cli.db, MONITOR_CONFIG=path)
        result = subprocess.run(
            [sys.executable, "-m", "monitor", "session", "list"],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=NO_HANG_S,
            stdin=subprocess.DEVNULL,
        )
        assert result.returncode == 2, (path, result.stderr)
        assert result.stderr.startswith("error: ") and said in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        refused = cli.refused("config", "load", path, "--by", "sam", "--reason", "test")
        assert said in refused, (path, refused)


def test_a_config_path_that_is_not_utf8_is_one_line(tmp_path, cli):
    env = {k.encode(): v.encode() for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env[b"MONITOR_DB"] = cli.db.encode()
    env[b"MONITOR_CONFIG"] = bytes(tmp_path) + b"/\xff\xfe.toml"
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "session", "list"],
        capture_output=True,
        env=env,
        cwd=ROOT,
        timeout=NO_HANG_S,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.decode("utf-8", "replace").strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: config file"), lines


WRONG_TYPES = {
    "bays = 5\n": "bays",
    "clinic_name = 12\n": "clinic_name",
    'clinic_name = ["a"]\n': "clinic_name",
    "bays = [1, 2]\n": "bays",
    "[clinic_name]\nx = 1\n": "clinic_name",
    "bays = 1979-05-27\n": "bays",
    "clinic_name = inf\n": "clinic_name",
}


@pytest.mark.parametrize("document", WRONG_TYPES)
def test_a_station_file_of_the_wrong_types_is_one_line(document, cli, tmp_path):
    path = tmp_path / "station.toml"
    path.write_text(document)
    assert WRONG_TYPES[document] in cli.refused("--config", str(path), "session", "list")


RULES_PAST_BOUNDS = {
    "[security]\nlockout_min = 99999999999\n": "security.lockout_min must be at most 1440",
    "[security]\nlockout_min = 0\n": "security.lockout_min must be at least 1",
    "[security]\nlockout_after = 2\n": "security.lockout_after must be at least 3",
    "[security]\nlockout_after = 21\n": "security.lockout_after must be at most 20",
    "[security]\nlockout_after = 5.0\n": "security.lockout_after must be a whole number",
    "[security]\nlockout_after = '5'\n": "security.lockout_after must be a whole number",
    "security = 5\n": "security must be a table",
    "[protocols.ketamine-iv]\ninfusion_min = 99999999999999\n": (
        "protocols.ketamine-iv.infusion_min must be at most 1440"
    ),
    "[protocols.ketamine-iv]\nobserve_after_infusion_min = 10000\n": (
        "observe_after_infusion_min must be at most 1440"
    ),
    "[protocols.ketamine-im]\nchecks = [{at = 99999999999, measures = ['bp']}]\n": (
        "protocols.ketamine-im.checks[0].at must be at most 1440"
    ),
    "[protocols.ketamine-im]\nchecks = [{at = 15, measures = 'bp'}]\n": (
        "protocols.ketamine-im.checks[0].measures"
    ),
    "[windows]\nlate_min = 1e400\n": "windows.late_min must be a whole number",
    "[windows]\nlate_min = 100000\n": "windows.late_min must be at most 1440",
    "[discharge]\nsbp_max = 99999999999999999999\n": "discharge.sbp_max must be at most 300",
    "[thresholds.before_dosing]\nolder_age = 1000\n": "older_age must be at most 130",
    "[thresholds.rise]\nsystolic = 100000\n": "thresholds.rise.systolic must be at most 300",
    "[thresholds.heart_rate]\nhigh = ['<=99999999999999999999']\n": (
        "thresholds.heart_rate.high: band '<= 99999999999999999999' lies past any possible value"
    ),
    "[thresholds.heart_rate]\nhigh = [180]\n": "thresholds.heart_rate.high",
}


@pytest.mark.parametrize("document", RULES_PAST_BOUNDS)
def test_rules_past_their_bounds_or_of_the_wrong_type_are_refused_naming_them(
    document, cli, tmp_path
):
    path = tmp_path / "rules.toml"
    path.write_text(document)
    refused = cli.refused("config", "load", str(path), "--by", "sam", "--reason", "test")
    assert RULES_PAST_BOUNDS[document] in refused
    assert len(cli("config", "history").stdout.strip().splitlines()) == 1  # nothing saved


def test_a_version_stored_before_the_bounds_stays_readable(cli):
    # A version kept before the bounds existed (loaded by an older monitor): read with each
    # number brought to its bound, so that no command fails on it.
    engine = make_engine(cli.db)
    try:
        with engine.begin() as connection:
            by = connection.execute(text("SELECT id FROM users WHERE name = 'sam'")).scalar()
            connection.execute(
                text(
                    "INSERT INTO config_versions (id, at, by_id, reason, source, body) "
                    "VALUES (2, :at, :by, 'old', 'old.toml', :body)"
                ),
                {
                    "at": datetime(2026, 1, 1, tzinfo=UTC),
                    "by": by,
                    "body": "[security]\nlockout_after = 1\nlockout_min = 99999999999\n",
                },
            )
    finally:
        engine.dispose()
    shown = {
        line.split()[0]: line.split()[1]
        for line in cli("config", "show").stdout.splitlines()
        if line.startswith("security.")
    }
    assert shown == {"security.lockout_after": "3", "security.lockout_min": "1440"}


def test_a_directory_or_device_as_the_database_is_one_line(tmp_path):
    assert "is a folder" in Cli(str(tmp_path)).refused("session", "list")
    device = Cli("/dev/null").refused("session", "list")
    assert "not a regular file" in device or "empty" in device
    fifo = tmp_path / "db.fifo"
    os.mkfifo(fifo)
    assert "not a regular file" in Cli(str(fifo)).refused("session", "list")
