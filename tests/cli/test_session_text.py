"""`session show`'s text renders the story (monitor.present.record) and words nothing again:
the facts, who recorded, each reading's notes, the discharge and the review, as the PDF."""

from __future__ import annotations

from monitor.cli.render.session import session_text
from monitor.present.parts import plain
from monitor.present.record import (
    discharge_lines,
    note_texts,
    recorders,
    review_lines,
    session_facts,
)
from tests.present.test_sessionlog import worked_session


def test_session_show_text_is_the_story(service):
    ids = worked_session(service)
    view = service.session(ids["session"])
    lines = "".join(session_text(view)).splitlines()
    assert lines[0] == f"session {view.id}  {view.status}"
    facts = (*session_facts(view), ("Recorded by", recorders(view)))
    assert lines[1 : 1 + len(facts)] == [f"  {label + ':':<17}{value}" for label, value in facts]
    assert "  Monitored:       1 h 50 min" in lines  # from dosing to the discharge at +110
    for key in ("baseline", "typo", "correction", "wrong", "late"):
        reading = view.reading(ids[key])
        assert reading is not None
        (line,) = (x for x in lines if x.startswith(f"  #{reading.id} "))
        assert line.endswith("".join(f"  [{note}]" for note in note_texts(reading)))
    discharge = [f"  {plain(line)}" for line in discharge_lines(view)]
    review = [f"  {plain(line)}" for line in review_lines(view)]
    assert lines[lines.index("discharge:") + 1 :] == [*discharge, "review:", *review]
