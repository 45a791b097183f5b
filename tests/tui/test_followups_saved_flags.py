"""Issue #21's follow-up on the line after a save: it names the flags the reading raised, most
severe first, as well as the check it served, on one line at 80 columns (the flags that do not
fit are counted, the check part is kept whole). Real databases, driven as a nurse drives it."""

from __future__ import annotations

from textual.widgets import Static

from monitor.core.rules import Severity
from monitor.core.served import Served
from monitor.present.floor import saved_line, saved_lines
from monitor.present.parts import plain
from monitor.services import with_clock
from monitor.views import FlagView
from tests.helpers import at
from tests.station import screen_only, settle, sign_in, station
from tests.tui.test_floor_says_why import FULL_SET, dosed
from tests.tui.test_tui import row_of, select, visible_at_80x24
from tui.floor.entry import EntryBar

#: SBP >= 180 (high) and a rise above baseline (medium), SpO2 88 (high), HR 130 (medium).
ALARMING = "185/100 hr 130 spo2 88 rr 16 moaas 5 cadss 0"


def note(app) -> str:
    return str(app.query_one("#entry-note", Static).content)


async def test_a_save_that_raises_a_flag_names_it_before_the_check_it_served(service):
    sid = dosed(service, patient="MRN-10231")
    with_clock(service, lambda: at(15)).record_reading(sid, FULL_SET, by="ana")
    app = station(service, clock=lambda: at(31))
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await select(pilot, "MRN-10231")
        await pilot.press("r", *"185/96 hr 74 spo2 98 rr 14 moaas 5 cadss 0", "enter")
        await settle(pilot)
        assert not app.query_one(EntryBar).display
        assert row_of(app, "MRN-10231").alarm is not None  # the floor's !!!
        assert note(app) == (
            "Saved for MRN-10231: !!! SBP 185 >= 180, +1 more; counted for +30 (on time)"
        ), note(app)
        assert visible_at_80x24(app, "#entry-note")


@screen_only
async def test_many_flags_are_cut_to_the_line_most_severe_first_the_check_kept(service):
    dosed(service, patient="MRN-10231")
    app = station(service, clock=lambda: at(26))
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await select(pilot, "MRN-10231")
        await pilot.press("r", *ALARMING, "enter")
        await settle(pilot)
        flags, checks = note(app).split("\n")
        assert max(len(flags), len(checks)) <= 78, note(app)  # inside the padding at 80 columns
        assert flags.startswith("Saved for MRN-10231: !!! "), flags
        assert flags.endswith(" more"), flags
        symbols = [flag.split(" ")[0] for flag in flags.split(": ", 1)[1].split(", ")[:-1]]
        assert symbols == sorted(symbols, key=len, reverse=True), flags  # most severe first
        assert checks == "Counted for +30 (on time); +15 not done: a to record why"
        assert visible_at_80x24(app, "#entry-note")


def test_the_flags_that_fit_go_first_by_severity_and_the_rest_are_counted():
    def flag(severity: str, message: str) -> FlagView:
        return FlagView(1, 1, "m", Severity(severity), "r", message)

    flags = [
        flag("medium", "HR 130 in 111-130: tachycardia"),
        flag("high", "SBP 185 >= 180: severe elevation"),
        flag("low", "RR 22 in 21-24: mild"),
        flag("high", "SpO2 88 <= 91: severe hypoxaemia"),
    ]
    served = Served(checks=(), not_done=())
    assert plain(saved_line("P", served, flags)) == (
        "Saved for P: !!! SBP 185 >= 180, !!! SpO2 88 <= 91, !! HR 130 in 111-130, "
        "! RR 22 in 21-24; counted for no scheduled check"
    )
    assert [plain(line) for line in saved_lines("P", served, flags[1:2], width=78)] == [
        "Saved for P: !!! SBP 185 >= 180; counted for no scheduled check"
    ]
    assert [plain(line) for line in saved_lines("P", served, flags, width=78)] == [
        "Saved for P: !!! SBP 185 >= 180, +3 more; counted for no scheduled check"
    ]
    assert [plain(line) for line in saved_lines("P", served, flags, width=60)] == [
        "Saved for P: !!! SBP 185 >= 180, !!! SpO2 88 <= 91, +2 more",
        "Counted for no scheduled check",
    ]
    long = "MRN-10231-WITH-A-NAME-LONGER-THAN-MOST"
    assert [plain(line) for line in saved_lines(long, served, flags, width=60)] == [
        f"Saved for {long}: !!! 4 flags",
        "Counted for no scheduled check",
    ]
    assert plain(saved_line("P", served)) == "Saved for P: counted for no scheduled check"
