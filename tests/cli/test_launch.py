"""`monitor` without a terminal says so at once instead of waiting for keys no one can type."""

from __future__ import annotations

import subprocess
import sys

import pytest

MONITOR = [sys.executable, "-m", "tui"]


@pytest.mark.parametrize("args", [(), ("tui",)])
def test_the_station_without_a_terminal_is_refused_in_one_line(tmp_path, args):
    db = tmp_path / "station.db"
    subprocess.run(
        [*MONITOR, "--db", str(db), "db", "upgrade"], check=True, capture_output=True, timeout=60
    )
    result = subprocess.run(
        [*MONITOR, "--db", str(db), *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: the station needs a terminal (standard input and output are not one here); "
        "for scripts use the commands in `monitor --help`"
    ]
    assert result.stdout == ""  # no escape codes written to a file or pipe
