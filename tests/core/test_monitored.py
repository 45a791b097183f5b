"""Minutes monitored, one figure (monitor.core.gate.minutes_monitored), and the gate stored at
discharge decoded once (StoredGate)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from monitor.core.gate import GateItem, StoredGate, minutes_from_dosing, minutes_monitored

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def test_from_dosing_to_the_end_rounded_down():
    """Revision 3: from dosing (the first device), not from the first reading (the baseline)."""
    assert minutes_monitored(T0, T0 + timedelta(minutes=125, seconds=59)) == 125
    assert minutes_monitored(T0, T0) == 0
    assert minutes_monitored(None, T0) is None  # not dosed: nothing monitored yet
    assert minutes_monitored(T0, T0 - timedelta(minutes=1)) is None


@given(st.integers(0, 10_000), st.integers(0, 20_000))
def test_never_more_than_the_seconds_allow(dosed, end):
    found = minutes_monitored(T0 + timedelta(seconds=dosed), T0 + timedelta(seconds=end))
    if end < dosed:
        assert found is None
    else:
        assert found == (end - dosed) // 60


def test_the_stored_gate_decoded_once():
    record = json.loads(
        json.dumps(
            {
                "ready": False,
                "reasons": ["SpO2 92 < 94"],
                "items": [{"label": "SpO2 >= 94", "ok": False, "detail": "SpO2 92 < 94"}],
                "judged_at": "2026-11-27T11:00:00+00:00",
                "config": {},
            }
        )
    )
    stored = StoredGate.decode(record)
    assert stored is not None
    assert (stored.ready, stored.reasons) == (False, ("SpO2 92 < 94",))
    assert stored.items == (GateItem("SpO2 >= 94", False, "SpO2 92 < 94"),)
    assert stored.judged_at == datetime(2026, 11, 27, 11, tzinfo=UTC)
    assert stored.record is record
    assert StoredGate.decode(None) is None
    old = StoredGate.decode({"ready": True, "reasons": []})
    assert old is not None and old.items == () and old.judged_at is None


def test_minutes_from_dosing_round_to_the_nearest_minute_either_side():
    """The REMS form's and the PDF's minute of a reading (core.gate.minutes_from_dosing)."""
    dosed = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    assert minutes_from_dosing(dosed, dosed + timedelta(minutes=40, seconds=29)) == 40
    assert minutes_from_dosing(dosed, dosed + timedelta(minutes=40, seconds=31)) == 41
    assert minutes_from_dosing(dosed, dosed - timedelta(minutes=4, seconds=59)) == -5
    assert minutes_from_dosing(dosed, dosed) == 0
