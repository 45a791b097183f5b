"""`p` on a session's detail writes its PDF record (issue #12), without freezing the station; in a
browser it sends it there (issue #22)."""

from __future__ import annotations

import io
import re
import stat

import pytest
from pypdf import PdfReader
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


async def test_p_in_a_browser_sends_the_pdf_to_it_and_keeps_no_file(service, tmp_path, monkeypatch):
    """Under `monitor serve` (Textual's web driver: App.is_web) `p` hands the PDF to the
    browser (App.deliver_binary); nothing is left in the exports folder or the scratch folder.
    tests/tui/test_serve_download.py fetches it through a real server."""
    build_floor(service)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr("tui.exporting.SCRATCH_PLACES", (str(scratch),))
    app = station(service)
    app.export_folder = tmp_path / "exports"
    delivered: list[tuple[bytes, dict]] = []
    monkeypatch.setattr(type(app), "is_web", property(lambda self: True))
    monkeypatch.setattr(
        app, "deliver_binary", lambda file, **how: delivered.append((file.read(), how)) or "k"
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await open_detail(pilot, "MRN-HIGH")
        await pilot.press("p")
        await settle(pilot)
        said = str(app.screen.query_one("#export-line", Static).content)
    [(data, how)] = delivered
    assert data.startswith(b"%PDF-")
    assert "MRN-HIGH" in "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    assert how["mime_type"] == "application/pdf"
    assert re.fullmatch(r"session-\d+-\d{8}-\d{6}\.pdf", how["save_filename"])
    assert said == f"PDF sent to your browser: {how['save_filename']}"
    assert not (tmp_path / "exports").exists()
    assert list(scratch.iterdir()) == []
