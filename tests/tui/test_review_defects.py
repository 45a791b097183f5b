"""Issue 21's station defects outside the dialogs (Pilot): a supervisor's switch of user opens
review mode, footers list only the keys that apply, help lines wrap under their description,
the session log opens with a reading selected, the chart's panels."""

from __future__ import annotations

import html
import re

import pytest

from tests.present.test_sessionlog import worked_session
from tests.station import build_floor, settle, sign_in, station
from tests.tui.test_review_tui import ANA, highlight_reading, open_log, open_review, review_station
from tui.review.queue import ReviewScreen
from tui.review.void import VoidScreen


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_supervisor_who_switches_user_lands_in_review_mode(service):
    """`u` on the floor, then sam's name and PIN: review mode opens, as at the first sign-in."""
    worked_session(service, reviewed=False)
    app = review_station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, pin="1234", user_index=ANA)
        assert len(app.screen_stack) == 1
        await pilot.press("u")
        await settle(pilot)
        await pilot.press(*"sam", "enter", *"9999", "enter")
        await settle(pilot)
        assert app.user is not None and app.user.name == "sam"
        assert isinstance(app.screen, ReviewScreen)


_TEXT = re.compile(
    r'<text[^>]*x="([\d.]+)"[^>]*clip-path="url\(#[\w-]*line-(\d+)\)">([^<]*)</text>'
)


def screen_lines(app) -> list[str]:
    """The terminal as a person sees it, line by line (from the screenshot's SVG)."""
    width, height = app.size
    lines = [[" "] * width for _ in range(height)]
    for x, line, text in _TEXT.findall(app.export_screenshot()):
        column = round(float(x) / 12.2) - 2  # the SVG's cell width and its left margin
        for i, char in enumerate(html.unescape(text).replace("\xa0", " ")):
            if 0 <= column + i < width and int(line) < height:
                lines[int(line)][column + i] = char
    return ["".join(chars).rstrip() for chars in lines]


#: Keys of the floor that must not show under a screen in front of it.
FLOOR_KEYS = ("Open", "Quit", "Record", "User")


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_the_floors_keys_are_not_shown_under_a_dialog_or_the_sign_in(service, size):
    build_floor(service)
    app = station(service)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        assert not any(key in screen_lines(app)[-1] for key in FLOOR_KEYS)  # the sign-in
        await sign_in(pilot)
        assert "Open r Record" in screen_lines(app)[-1]  # the floor's own
        for keys in (("question_mark",), ("n",), ("e",), ("a",), ("x",), ("u",)):
            await pilot.press(*keys)
            await settle(pilot)
            bottom = screen_lines(app)[-1]
            assert not any(key in bottom for key in FLOOR_KEYS), (keys, bottom)
            await pilot.press("escape")
            await settle(pilot)
            assert "Open r Record" in screen_lines(app)[-1], (
                keys
            )  # back on the floor: its keys again


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_the_detail_lists_its_own_keys(service):
    build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await pilot.press("enter")
        await settle(pilot)
        bottom = screen_lines(app)[-1]
        assert "Back" in bottom and "PDF" in bottom and "Quit" in bottom, bottom
        assert "Open" not in bottom and "Record" not in bottom, bottom


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_review_keys_are_not_shown_under_reviews_dialogs(service):
    ids = worked_session(service, reviewed=False)
    app = review_station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_review(pilot)
        assert "Filter" in screen_lines(app)[-1]
        await pilot.press("slash")
        await settle(pilot)
        assert "Filter" not in screen_lines(app)[-1]
        await pilot.press("escape")
        await settle(pilot)
        assert "Filter" in screen_lines(app)[-1]
        await open_log(pilot, "MRN-WORK")
        await highlight_reading(pilot, ids["late"])
        assert "Void" in screen_lines(app)[-1]
        await pilot.press("v")
        await settle(pilot)
        assert isinstance(app.screen, VoidScreen)
        assert "Void" not in screen_lines(app)[-1]


def wraps_under_its_description(lines: list[str], start: str) -> bool:
    """The line after the one holding ``start`` is that description going on, beginning at
    its column (blank before it), not at the frame's edge."""
    first = next(i for i, line in enumerate(lines) if start in line)
    column = lines[first].index(start)
    after = lines[first + 1]
    return after[:column].strip(" █▌▎▊") == "" and after[column:].strip(" █") != ""


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_wrapped_help_line_goes_on_under_its_description(service):
    """At 80x24 a description too long for its line wraps under itself, not under the key."""
    build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert wraps_under_its_description(screen_lines(app), "alarms: acknowledge")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_the_log_opens_on_a_reading_so_v_and_c_act_at_once(service):
    from tui.review.correct import CorrectScreen

    worked_session(service, reviewed=False)
    app = review_station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_review(pilot)
        log = await open_log(pilot, "MRN-WORK")
        entry = log.highlighted()
        assert entry is not None and entry.reading_id is not None
        reading = log.loaded.view.reading(entry.reading_id)
        assert reading is not None and reading.in_force
        await pilot.press("v")
        await settle(pilot)
        assert isinstance(app.screen, VoidScreen)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, CorrectScreen)


# -- the chart --------------------------------------------------------------------------------


class _Plot:
    """A stand-in for textual-plotext's widget: its plotext figure, drawn to text."""

    def __init__(self) -> None:
        from textual_plotext.plotext._figure import _figure_class

        self.plt = _figure_class()

    def refresh(self) -> None:
        pass

    def text(self, width: int, height: int) -> list[str]:
        self.plt.plotsize(width, height)
        self.plt.theme("clear")
        return re.sub(r"\x1b\[[0-9;]*m", "", self.plt.build()).splitlines()


def test_the_limits_drawn_are_the_rules_bands_edges_once():
    from monitor.core.rules import Severity, Thresholds
    from monitor.core.vitals import Measure
    from tui.detail.chart import limits

    high, medium = Severity.HIGH, Severity.MEDIUM
    rules = Thresholds()
    assert limits(rules, Measure.SYSTOLIC) == [(90, high), (100, medium), (180, high)]
    assert limits(rules, Measure.DIASTOLIC) == [(110, high)]
    assert limits(rules, Measure.HEART_RATE) == [
        (40, high),
        (50, medium),
        (111, medium),
        (131, high),
    ]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_the_chart_has_a_bp_panel_and_an_hr_panel_with_units_limits_and_legend_apart(service):
    from tui.detail.chart import draw_session_chart

    ids = build_floor(service)
    view = service.session(ids["high"])
    plot = _Plot()
    draw_session_chart(plot, view, service.config.thresholds)
    lines = plot.text(100, 40)
    titles = [i for i, line in enumerate(lines) if "mmHg" in line or "/min" in line]
    assert len(titles) == 2, lines  # two panels, each with its unit
    bp, hr = titles
    assert "SBP" in lines[bp] and "DBP" in lines[bp] and "HR" in lines[hr]
    # The legend is the title, above the frame: no legend inside a panel over the points.
    assert lines[bp + 1].lstrip().startswith("┌") and lines[hr + 1].lstrip().startswith("┌")
    framed = [line for line in lines if "│" in line or "┤" in line or "├" in line]
    assert not any("SBP" in line or "DBP" in line for line in framed)
    # The axes are labelled at the limits of the rules in force.
    ticks = {line.split("├")[0].strip() for line in lines if "├" in line}
    assert {"180", "110", "111", "50"} <= ticks, ticks
