"""The quality summary told once (monitor.present.quality): its title and a row per figure."""

from __future__ import annotations

from dataclasses import replace

from monitor.core.quality import QualityReport
from monitor.present.parts import Part, Role, Row, plain
from monitor.present.quality import QualityStory, quality_story, text_lines
from tests.helpers import at

WEEK = QualityReport(
    since=at(-9 * 60),
    until=at(7 * 24 * 60 - 9 * 60 - 1 / 60),
    sessions=5,
    by_protocol={"esketamine-84": 3, "ketamine-iv": 2},
    checks=20,
    checks_on_time=16,
    checks_late=2,
    checks_missed=1,
    checks_open=1,
    high_flags=3,
    high_acknowledged=2,
    high_unacknowledged=1,
    high_ack_median_min=4.5,
    high_ack_p90_min=12.0,
    severe_bp_sessions=1,
    override_discharges=1,
    late_entries=2,
    late_entry_sessions=1,
    adverse_events=3,
    adverse_by_type={"nausea": 2, "dissociation": 1},
    serious_adverse_events=0,
    rems_past_due=2,
    rems_overdue=1,
)


def test_a_week_reads_figure_by_figure():
    story = quality_story(WEEK)
    assert [plain(line) for line in text_lines(story)] == [
        "Quality summary: sessions discharged 2026-11-27 00:00 to 2026-12-03 23:59",
        "Sessions: 5: esketamine-84 3, ketamine-iv 2",
        "Checks after dosing: 20: on time 16 (80.0 %), late 2 (10.0 %), missed 1 (5.0 %), "
        "not reached 1",
        "High flag → ack: median 4 min, 90th percentile 12 min (2 acknowledged, 1 never)",
        "Severe BP: 1 session with a high flag on SBP or DBP above its limit",
        "Override discharges: 1",
        "Late entries: 2 readings in 1 session",
        "Adverse events: 3 (0 serious): nausea 2, dissociation 1",
        "REMS forms overdue: 1 not marked submitted, of 2 past their due date",
    ]
    rows = {row.label: row for row in story.rows}
    assert Part("1 never", Role.ALERT) in rows["High flag → ack"].value
    assert Part("missed 1 (5.0 %)", Role.ALERT) in rows["Checks after dosing"].value
    assert Part("0 serious") in rows["Adverse events"].value
    assert rows["REMS forms overdue"].value[0] == Part("1 not marked submitted", Role.ALERT)


def test_an_empty_period_says_none_and_a_missing_rems_record_says_why():
    empty = QualityReport(
        since=at(0), until=None, rems_overdue=None, rems_note="submissions are not recorded"
    )
    assert quality_story(empty) == QualityStory(
        (Part("Quality summary: sessions discharged 2026-11-27 09:00 to the end"),),
        (
            Row("Sessions", (Part("0"),)),
            Row("Checks after dosing", (Part("none"),)),
            Row("High flag → ack", (Part("no high flags"),)),
            Row(
                "Severe BP",
                (Part("0 sessions with a high flag on SBP or DBP above its limit"),),
            ),
            Row("Override discharges", (Part("0"),)),
            Row("Late entries", (Part("0 readings in 0 sessions"),)),
            Row("Adverse events", (Part("0 ("), Part("0 serious"), Part(")"))),
            Row(
                "REMS forms overdue",
                (Part("submissions are not recorded"), Part(" (0 past their due date)")),
            ),
        ),
    )
    unknown = quality_story(QualityReport(since=None, until=None))
    assert plain(unknown.title) == "Quality summary: sessions discharged - to the end"
    assert plain(unknown.rows[-1].value) == "not available (0 past their due date)"
    none_overdue = quality_story(QualityReport(since=None, until=None, rems_overdue=0))
    assert none_overdue.rows[-1].value == (
        Part("0 not marked submitted"),
        Part(", of 0 past their due date"),
    )


def test_checks_an_early_discharge_left_are_counted_apart_never_as_missed():
    early = replace(WEEK, checks_open=3, checks_ended_early=2, checks=22)
    row = next(r for r in quality_story(early).rows if r.label == "Checks after dosing")
    assert plain(row.value) == (
        "22: on time 16 (72.7 %), late 2 (9.1 %), missed 1 (4.5 %), "
        "not reached 3 (observation ended early: 2)"
    )
