"""`p` on a session's detail writes its PDF record (issue #12), without freezing the station."""

from __future__ import annotations

import stat

import pytest
from textual.widgets import DataTable, Static

from tests.station import build_floor, settle, sign_in, station
from tui.detail.screen import DetailScreen

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


async def open_detail(pilot, patient: str) -> None:
    app = pilot.app
    table = app.query_one("#floor", DataTable)
    table.move_cursor(row=[r.patient for r in app.rows].index(patient), animate=False)
    await pilot.pause()
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(app.screen, DetailScreen)


async def test_p_on_the_detail_writes_the_sessions_pdf_and_says_where(service, tmp_path):
    build_floor(service)
    app = station(service)
    app.export_folder = tmp_path / "exports"
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await open_detail(pilot, "MRN-HIGH")
        await pilot.press("p")
        await settle(pilot)
        said = str(app.screen.query_one("#export-line", Static).content)
        written = list((tmp_path / "exports").iterdir())
        assert len(written) == 1, said
        pdf = written[0]
        assert said == f"PDF saved: {pdf}"
        assert pdf.read_bytes().startswith(b"%PDF-")
        assert stat.S_IMODE(pdf.stat().st_mode) == 0o600
        assert app.screen.query_one("#export-line").region.bottom <= 23  # above the footer
        await pilot.press("p")  # again: a second file, the first one kept
        await settle(pilot)
        assert len(list((tmp_path / "exports").iterdir())) == 2


async def test_an_export_that_cannot_be_written_says_so_in_one_line(service, tmp_path):
    build_floor(service)
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the folder should be")
    app = station(service)
    app.export_folder = blocked
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await open_detail(pilot, "MRN-HIGH")
        await pilot.press("p")
        await settle(pilot)
        said = str(app.screen.query_one("#export-line", Static).content)
        assert said.startswith("PDF NOT saved: "), said
        assert "\n" not in said
        assert isinstance(app.screen, DetailScreen)  # the station carries on
