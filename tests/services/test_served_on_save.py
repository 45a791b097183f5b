"""What the save of a reading returns (the station's line after a save and `monitor record`
read it): the check the reading served, and the checks due before it that remain not done,
with their statuses at the save (docs/clinical.md, "Check windows and statuses"); a retry
under the same key says the same. Both databases."""

from __future__ import annotations

from monitor.core.schedule import CheckKind, CheckStatus
from monitor.present.floor import saved_line
from monitor.present.parts import plain
from monitor.services import Service, with_clock
from tests.helpers import at

FULL_SET = "128/82 hr 74 spo2 98 rr 14 moaas 5 cadss 0"


def _dosed(service: Service) -> int:
    sid = with_clock(service, lambda: at(-40)).start_session(
        patient="MRN-7001", protocol="esketamine-56", by="ana", age=45, meds=()
    )
    with_clock(service, lambda: at(-10)).record_reading(sid, FULL_SET, by="ana")
    with_clock(service, lambda: at(0)).record_dose(sid, by="ana")
    return sid


def test_a_full_set_after_an_overdue_check_served_the_next_one_and_names_the_one_left(service):
    sid = _dosed(service)
    now = with_clock(service, lambda: at(26))
    recorded = now.record_reading_once(sid, FULL_SET, by="ana", key="k-26")
    served = recorded.served
    assert served is not None
    assert [(c.label, c.status, c.late) for c in served.checks] == [
        ("+30 min", CheckStatus.DONE, False)
    ]
    assert [(c.label, c.status) for c in served.not_done] == [("+15 min", CheckStatus.OVERDUE)]
    assert recorded.reading.served_check == "+30 min"
    assert plain(saved_line("MRN-7001", served)) == (
        "Saved for MRN-7001: counted for +30 (on time); +15 not done: a to record why"
    )
    again = now.record_reading_once(sid, FULL_SET, by="ana", key="k-26")  # a lost reply
    assert not again.saved_now and again.served == served


def test_a_reading_that_serves_a_check_and_a_bp_recheck_returns_both(service):
    sid = _dosed(service)
    with_clock(service, lambda: at(26)).skip_check(sid, "+15 min", by="ana", reason="asleep")
    flagged = with_clock(service, lambda: at(26)).record_reading_once(
        sid, "184/102 hr 92 spo2 96 rr 16 moaas 5 cadss 2", by="ana"
    )
    assert [c.label for c in flagged.served.checks] == ["+30 min"]
    assert flagged.served.not_done == ()  # +15 was explained: nothing left
    recorded = with_clock(service, lambda: at(41)).record_reading_once(sid, FULL_SET, by="ana")
    served = recorded.served
    assert [(c.label, c.kind, c.status) for c in served.checks] == [
        ("+40 min", CheckKind.SCHEDULED, CheckStatus.DONE),
        ("BP recheck +41 min", CheckKind.RECHECK, CheckStatus.DONE),
    ]
    assert plain(saved_line("MRN-7001", served)) == (
        "Saved for MRN-7001: counted for +40 (on time) and BP recheck (on time)"
    )
