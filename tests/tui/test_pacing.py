"""How often the floor reloads under a stream of changes (tui/floor/pacing.py): at most once a
quarter of a second, or twice as long as the last read of changes took; the five-minutely
read of every session does not set the pace; and a refresh worker's handover, which keeps
nothing once used (a finished worker lives until a full collection)."""

from __future__ import annotations

import pytest

from tests.station import NOW
from tui.floor.load import Handover, Loaded
from tui.floor.pacing import ReloadPacing


def test_a_long_read_of_changes_paces_the_next_and_a_full_reload_does_not():
    pacing = ReloadPacing()
    assert pacing.wait() <= 0  # nothing read yet: at once
    pacing.started()
    pacing.started_at -= 0.4  # a read of changes that took 0.4 s
    pacing.finished()
    assert 0.35 <= pacing.wait() <= 0.45  # 0.8 s from its start: 0.4 s more
    pacing.started(full=True)
    pacing.started_at -= 2.0  # the five-minutely read of every session, 2 s
    pacing.finished()
    assert pacing.took == pytest.approx(0.4, abs=0.05)  # still the last read of changes
    assert pacing.wait() <= 0


def test_a_handover_gives_its_result_once_and_keeps_nothing():
    shown = {1: object()}
    loaded = Loaded(None, NOW)
    work = Handover(lambda: loaded if shown else None)
    assert work() is work  # (the worker's result: the box)
    assert work._work is None  # its function, with the views it was given, let go
    assert work.take() is loaded
    assert work.take() is None  # and its result, once taken
