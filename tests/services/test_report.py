"""The quality summary (issue #11, deliverable 6) on both backends: `monitor report` and
:meth:`Service.quality_report`, on a small clinic whose figures are worked out by hand below."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.core.quality import median, percentile, rems_due, rems_overdue, share
from monitor.errors import EntryError
from tests.cli.test_cli import Cli
from tests.services.test_review_queue import FULL, day, visit, worked

#: The period of the summary: days 0 to 2 (2026-11-10 .. 2026-11-12), on the discharge time.
SINCE = datetime(2026, 11, 10, 0, 0, tzinfo=UTC)
UNTIL = datetime(2026, 11, 12, 23, 59, 59, tzinfo=UTC)


def overridden(service, clock, t0: datetime) -> int:
    """Ketamine-im by bo, dose D = t0 + 5: at +15 SBP 185 and HR 135 raise two high flags
    (``systolic.high.above``, ``heart_rate.high.above``) and a medium (``bp.rise.systolic``,
    185 - 120 >= 40); only the SBP one is acknowledged, at +20 (5 min). Full sets at +30, +45,
    +60; discharged by override at +61 (flags left open). Checks: +15, +30, +45, +60 and the
    BP recheck (due +30) all on time: 5."""
    clock.set(t0)
    sid = service.start_session(patient="B", protocol="ketamine-im", by="bo")
    clock.set(t0 + timedelta(minutes=1))
    service.record_reading(sid, FULL, by="bo")
    dosed = clock.set(t0 + timedelta(minutes=5))
    service.record_dose(sid, by="bo")
    clock.set(dosed + timedelta(minutes=15))
    saved = service.record_reading(sid, "185/90 hr 135 spo2 98 moaas 5 cadss 0", by="bo")
    rules = {f.rule: f.id for f in saved.flags}
    assert set(rules) == {"systolic.high.above", "heart_rate.high.above", "bp.rise.systolic"}
    clock.set(dosed + timedelta(minutes=20))
    service.acknowledge(rules["systolic.high.above"], by="bo", action="prescriber called")
    for minute in (30, 45, 60):
        clock.set(dosed + timedelta(minutes=minute))
        service.record_reading(sid, FULL, by="bo")
    clock.set(dosed + timedelta(minutes=61))
    service.discharge(
        sid,
        by="bo",
        override_reason="transferred to the emergency department",
        escort="partner",
        instructions_given=True,
        cosign="sam",
    )
    return sid


def desaturated(service, clock, t0: datetime) -> int:
    """Ketamine-im by ana, dose D = t0 + 5: at +15 SpO2 90 (``spo2.high.below``, not a BP
    flag), acknowledged at +35 (20 min); a serious vomiting at +20 and a mild headache at +25;
    full sets at +30, +45, +60; discharged at +61, gate met. Checks: 4 on time."""
    clock.set(t0)
    sid = service.start_session(patient="C", protocol="ketamine-im", by="ana")
    clock.set(t0 + timedelta(minutes=1))
    service.record_reading(sid, FULL, by="ana")
    dosed = clock.set(t0 + timedelta(minutes=5))
    service.record_dose(sid, by="ana")
    clock.set(dosed + timedelta(minutes=15))
    [flag] = service.record_reading(sid, "120/80 hr 70 spo2 90 moaas 5 cadss 0", by="ana").flags
    assert flag.rule == "spo2.high.below"
    clock.set(dosed + timedelta(minutes=20))
    vomited = service.add_event(
        sid, kind="adverse", type="vomiting", severity="moderate", serious=True, by="ana", text="v"
    )
    assert vomited.alarm is not None  # a serious event: a clinician reviews it (revision 3)
    service.acknowledge(vomited.alarm.id, by="sam", action="examined: may continue")
    clock.set(dosed + timedelta(minutes=25))
    service.add_event(sid, kind="adverse", type="headache", severity="mild", by="ana", text="h")
    for minute in (30, 35, 45, 60):
        clock.set(dosed + timedelta(minutes=minute))
        if minute == 35:
            service.acknowledge(flag.id, by="ana", action="oxygen 2 l/min")
        else:
            service.record_reading(sid, FULL, by="ana")
    clock.set(dosed + timedelta(minutes=61))
    service.discharge(sid, by="ana", escort="partner", instructions_given=True)
    return sid


@pytest.fixture
def clinic(service, clock):
    """Three sessions discharged in the period (days 0, 1, 2), one the day after it, one still
    in observation: only the first three count."""
    ids = {
        "worked": worked(service, clock, day(0)),  # esketamine-84, see tests.test_review_queue
        "overridden": overridden(service, clock, day(1)),
        "desaturated": desaturated(service, clock, day(2)),
        "after": visit(service, clock, day(3), "D", high=True, adverse=True, override=True),
        "active": visit(service, clock, day(2) + timedelta(hours=3), "E", discharge=False),
    }
    return ids


def test_the_figures_of_a_period_worked_out_by_hand(service, clock, clinic):
    clock.set(day(8))  # 2026-11-18: the worked session's form (due 2026-11-17) is past due
    report = service.quality_report(SINCE, UNTIL)
    # worked (esketamine-84), overridden and desaturated (ketamine-im); "after" was discharged
    # on day 3 and "active" is still in observation.
    assert report.sessions == 3
    assert report.by_protocol == {"esketamine-84": 1, "ketamine-im": 2}
    # Checks after dosing: worked 5 on time + 1 late + 1 missed; overridden 5 on time;
    # desaturated 4 on time: 16 checks, 14 on time, 1 late, 1 missed, none open.
    assert (report.checks, report.checks_on_time, report.checks_late, report.checks_missed) == (
        16,
        14,
        1,
        1,
    )
    assert report.checks_open == 0
    # 14/16 = 0.875; 1/16 = 0.0625, rounded to 3 decimals half to even: 0.062.
    assert (report.share_on_time, report.share_late, report.share_missed) == (
        0.875,
        0.062,
        0.062,
    )
    # High flags: worked's SBP 190 (12 min), overridden's SBP 185 (5 min) and HR 135 (never),
    # desaturated's SpO2 90 (20 min). Waits 5, 12, 20: median 12; nearest-rank 90th
    # percentile: rank ceil(0.9 * 3) = 3, the largest, 20.
    assert (report.high_flags, report.high_acknowledged, report.high_unacknowledged) == (4, 3, 1)
    assert (report.high_ack_median_min, report.high_ack_p90_min) == (12.0, 20.0)
    # Severe BP: worked (SBP 190) and overridden (SBP 185); the SpO2 flag is not BP.
    assert report.severe_bp_sessions == 2
    assert report.override_discharges == 1
    # worked's reading measured at D+100 and saved at D+115.
    assert (report.late_entries, report.late_entry_sessions) == (1, 1)
    # worked's nausea; desaturated's vomiting (serious) and headache.
    assert report.adverse_events == 3 and report.serious_adverse_events == 1
    assert report.adverse_by_type == {"headache": 1, "nausea": 1, "vomiting": 1}
    # REMS: the one esketamine session, discharged 2026-11-10, due 2026-11-17, past due on
    # 2026-11-18 and not submitted: overdue. Once a supervisor marks it submitted, it is not.
    assert report.rems_past_due == 1
    assert report.rems_overdue == 1
    service.rems_submit(clinic["worked"], by="sam")
    assert service.quality_report(SINCE, UNTIL).rems_overdue == 0


def test_a_form_is_past_due_only_after_its_seventh_day(service, clock, clinic):
    clock.set(datetime(2026, 11, 17, 23, 0, tzinfo=UTC))  # the last day to file it
    assert service.quality_report(SINCE, UNTIL).rems_past_due == 0
    clock.set(datetime(2026, 11, 18, 0, 0, tzinfo=UTC))
    assert service.quality_report(SINCE, UNTIL).rems_past_due == 1


def test_the_period_is_on_the_discharge_time(service, clinic):
    # The worked session began at 09:00 and was discharged at 11:10 on day 0: a period from
    # 10:00 holds it, one from 11:11 does not.
    assert service.quality_report(day(0) + timedelta(hours=1), UNTIL).sessions == 3
    assert service.quality_report(day(0) + timedelta(minutes=130), UNTIL).sessions == 3
    assert service.quality_report(day(0) + timedelta(minutes=131), UNTIL).sessions == 2
    whole = service.quality_report(SINCE, day(3) + timedelta(hours=2))
    assert whole.sessions == 4 and whole.override_discharges == 2
    empty = service.quality_report(day(9), day(10))
    assert (empty.sessions, empty.checks, empty.share_on_time) == (0, 0, None)
    assert (empty.high_ack_median_min, empty.high_ack_p90_min) == (None, None)
    with pytest.raises(EntryError, match="after --to"):
        service.quality_report(UNTIL, SINCE)


def test_the_report_on_the_command_line(clinic, db_url):
    cli = Cli(db_url)
    shown = cli.json("report", "--from", "2026-11-10", "--to", "2026-11-12")
    assert shown["sessions"] == 3 and shown["period_of"] == "discharge"
    assert shown["by_protocol"] == {"esketamine-84": 1, "ketamine-im": 2}
    assert shown["checks"] == {
        "total": 16,
        "on_time": 14,
        "late": 1,
        "missed": 1,
        "open_at_discharge": 0,
        "ended_early": 0,
        "share_on_time": 0.875,
        "share_late": 0.062,
        "share_missed": 0.062,
    }
    assert shown["high_flags"] == {
        "total": 4,
        "acknowledged": 3,
        "unacknowledged": 1,
        "ack_median_min": 12.0,
        "ack_p90_min": 20.0,
    }
    assert (shown["severe_bp_sessions"], shown["override_discharges"]) == (2, 1)
    assert shown["late_entries"] == {"readings": 1, "sessions": 1}
    assert shown["adverse_events"] == {
        "total": 3,
        "serious": 1,
        "by_type": {"headache": 1, "nausea": 1, "vomiting": 1},
    }
    # Today is long after 2026-11-17: the esketamine form is past due.
    assert shown["rems"]["past_due"] == 1 and shown["rems"]["overdue"] == 1
    assert shown["from"] == "2026-11-10T00:00:00+00:00"
    text = cli("report", "--from", "2026-11-10", "--to", "2026-11-12").stdout
    assert "Sessions: 3: esketamine-84 1, ketamine-im 2" in text
    assert "on time 14 (87.5 %), late 1 (6.2 %), missed 1 (6.2 %)" in text
    assert "median 12 min, 90th percentile 20 min (3 acknowledged, 1 never)" in text
    assert "Adverse events: 3 (1 serious): headache 1, nausea 1, vomiting 1" in text
    assert "REMS forms overdue: 1 not marked submitted, of 1 past their due date" in text


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--from", "2026-11-10"), "Missing option '--to'"),
        (("--to", "2026-11-10"), "Missing option '--from'"),
        (("--from", "last week", "--to", "now"), "not understood"),
        (("--from", "2026-11-10", "--to", "2026-13-01"), "not understood"),
        (("--from", "0001-01-01", "--to", "now"), "out of range"),
        (("--from", "2026-11-12", "--to", "2026-11-10"), "after --to"),
        (("--from", "now", "--to", "60 min ago"), "after --to"),
    ],
)
def test_odd_periods_are_one_line_exit_2(service, db_url, args, says):
    assert says in Cli(db_url).refused("report", *args)


def test_the_arithmetic_of_the_summary():
    assert median([]) is None and percentile([], 90) is None
    assert median([3.0]) == 3.0 and median([4.0, 1.0]) == 2.5 and median([5, 1, 3]) == 3.0
    # Nearest rank: ten values 1..10, the 90th percentile is the 9th; eleven, the 10th.
    assert percentile(list(range(1, 11)), 90) == 9.0
    assert percentile(list(range(1, 12)), 90) == 10.0
    assert percentile([7.0], 90) == 7.0 and percentile([2.0, 1.0], 50) == 1.0
    with pytest.raises(ValueError, match="within"):
        percentile([1.0], 0)
    assert share(1, 3) == 0.333 and share(0, 0) is None
    treated = datetime(2026, 11, 10).date()
    assert rems_due(treated).isoformat() == "2026-11-17"
    assert not rems_overdue(treated, rems_due(treated))
    assert rems_overdue(treated, rems_due(treated) + timedelta(days=1))
