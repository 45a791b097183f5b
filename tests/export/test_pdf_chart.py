"""The chart inside the PDF record, drawn by fpdf2 (issue #23; docs/exports.md, "The chart"):
what it draws, read back from a canvas that records each call (monitor.export.pdf_chart),
as tests/export/test_pdf_layout.py reads matplotlib's artists for the chart file; the
record is made without matplotlib and numpy, on both backends."""

from __future__ import annotations

import json
import subprocess
import sys
from contextlib import contextmanager
from typing import Any

from monitor.core.rules import Thresholds
from monitor.export import Selection, export
from monitor.export.chart_plan import IN_PDF, MOMENTS, WITHDRAWN, boxes, plan
from monitor.export.pdf_chart import _placed, draw
from tests.export.test_export import pdf_pages
from tests.export.test_pdf_layout import at, iv_session, outdir

__all__ = ["outdir"]  # the fixture, used here by name


class Recorder:
    """A canvas that keeps what is drawn on it, by tag."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def rect(self, x: float, y: float, w: float, h: float, colour: str, alpha: float) -> None:
        self.calls.append(("rect", "", {"box": (x, y, x + w, y + h), "colour": colour}))

    def line(self, points, colour, width, dashes=(), tag=""):
        self.calls.append(
            ("line", tag, {"points": points, "style": (colour, width, tuple(dashes))})
        )

    def marker(self, x, y, marker, tag=""):
        kind, _, face, edge, _ = marker
        self.calls.append(("marker", tag, {"at": (x, y), "kind": kind, "face": face, "edge": edge}))

    def width_of(self, text: str, size: float) -> float:
        return len(text) * size * 0.6

    def text(self, x, y, text, size, colour="#000000", *, ha="left", va="baseline", bold=False,
             turned=False, tag=""):  # fmt: skip
        wide = self.width_of(text, size)
        left, baseline = _placed(x, y, wide, size, ha, va)
        box = (left, baseline - 0.78 * size, left + wide, baseline + 0.24 * size)
        self.calls.append(("text", tag, {"text": text, "box": box, "colour": colour}))
        return box

    @contextmanager
    def clip(self, x, y, w, h):
        yield

    def drawn(self, kind: str, tag: str) -> list[dict[str, Any]]:
        return [how for k, t, how in self.calls if k == kind and t == tag]


def recorded(service, sid: int) -> Recorder:
    view = service.session(sid)
    canvas = Recorder()
    draw(canvas, plan(view, Thresholds(), IN_PDF, view.patient), IN_PDF)
    return canvas


def panel_of(y: float) -> int:
    """Which panel (0 SBP, 1 DBP, 2 HR, 3 SpO2) holds a height on the chart, in points."""
    return next(
        n for n, box in enumerate(boxes(IN_PDF)) if box.top * 72 <= y <= (box.top + box.height) * 72
    )


def test_the_pdf_chart_draws_withdrawn_readings_hollow_grey_and_without_flags(service, clock):
    ids = iv_session(service, clock)
    canvas = recorded(service, ids["session"])
    superseded = canvas.drawn("marker", "superseded")
    voided = canvas.drawn("marker", "voided")
    assert {(m["kind"], m["face"], m["edge"]) for m in superseded} == {("o", None, WITHDRAWN)}
    assert {(m["kind"], m["face"], m["edge"]) for m in voided} == {("X", None, WITHDRAWN)}
    # 120/80 hr 47 spo2 97 corrected, 88/50 hr 70 spo2 97 voided: a marker in each panel.
    assert sorted(panel_of(m["at"][1]) for m in superseded) == [0, 1, 2, 3]
    assert sorted(panel_of(m["at"][1]) for m in voided) == [0, 1, 2, 3]
    # No ring where a withdrawn reading is (the flags of HR 47 and SBP 88 no longer count).
    rings = [ring["at"] for ring in canvas.drawn("marker", "flag")]
    assert rings and not {m["at"] for m in superseded + voided} & set(rings)
    # Every symbol is over or under its ring and inside the ring's panel: SBP 300 at the
    # panel's outer limit keeps its flag, its symbol written under it.
    symbols = canvas.drawn("text", "flag")
    assert len(symbols) == len(rings)
    for symbol, (x, y) in zip(symbols, rings, strict=True):
        left, top, right, bottom = symbol["box"]
        box = boxes(IN_PDF)[panel_of(y)]
        assert box.top * 72 - 0.5 <= top and bottom <= (box.top + box.height) * 72 + 0.5
        assert abs((left + right) / 2 - x) < 0.01
    sbp_top = boxes(IN_PDF)[0].top * 72
    assert any(abs(y - sbp_top) < 0.01 for _, y in rings)  # 300: on the top edge


def test_the_pdf_chart_names_the_dose_the_infusion_end_and_the_discharge(service, clock):
    ids = iv_session(service, clock)
    clock.set(at(124))
    service.discharge(
        ids["session"], by="sam", override_reason="transferred", escort="partner",
        instructions_given=True,
    )  # fmt: skip
    canvas = recorded(service, ids["session"])
    styles = set()
    for name in MOMENTS:
        lines = canvas.drawn("line", name)
        assert len(lines) == 4  # one a panel
        styles |= {line["style"] for line in lines}
    assert len(styles) == 3  # three styles, one a moment
    names = canvas.drawn("text", "moment")
    assert sorted(n["text"] for n in names) == sorted(MOMENTS)
    for name in names:  # within the chart: none cut at its edge
        left, top, right, _ = name["box"]
        assert left >= 0 and right <= IN_PDF.width * 72 and top >= 0
    key = {k["text"] for k in canvas.drawn("text", "key")}
    assert {"dose", "infusion end", "discharge", "voided", "corrected (superseded)"} <= key


def test_the_pdf_chart_of_a_session_not_dosed_marks_nothing(service, clock):
    clock.set(at(-30))
    sid = service.start_session(patient="NEW-1", protocol="ketamine-im", by="ana", age=40)
    canvas = recorded(service, sid)
    assert not canvas.drawn("text", "moment") and not canvas.drawn("marker", "flag")
    assert {t["text"] for t in canvas.drawn("text", "")} >= {"no SBP", "no SpO2"}
    key = {k["text"] for k in canvas.drawn("text", "key")}
    assert not key & {"dose", "infusion end", "discharge"}


def test_the_record_prints_its_chart_as_text_and_lines(service, clock, outdir):
    ids = iv_session(service, clock)
    out = outdir / "iv.pdf"
    export(service, Selection(ids=(ids["session"],)), "pdf", out)
    text = " ".join(pdf_pages(out))
    for words in ("minutes since dosing", "infusion end", "corrected (superseded)"):
        assert words in text, words


def test_a_pdf_record_is_made_without_matplotlib_or_numpy(db_url, service, clock, outdir):
    """A process that exports a PDF loads neither (their memory: issue #23)."""
    sid = iv_session(service, clock)["session"]
    service.close()
    code = (
        "import json, sys\n"
        "from monitor.export import LIBRARIES, Selection, export\n"
        "from monitor.services import Service\n"
        "for name in LIBRARIES['pdf']:\n"
        "    __import__(name)\n"
        f"service = Service.open({db_url!r}, create=False)\n"
        f"export(service, Selection(ids=({sid},)), 'pdf', {str(outdir / 'lean.pdf')!r})\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(done.stdout))
    assert "fpdf" in loaded and not loaded & {"matplotlib", "numpy"}
    assert (outdir / "lean.pdf").read_bytes().startswith(b"%PDF-")
