"""The PDF's layout, its chart and the review history of issue 22 (docs/exports.md, "The PDF's
layout", "The chart", "Review history"): read back with pypdf, and the chart's artists on the
matplotlib figure. A minute "+123" stays in one cell line, a long patient id leaves no gaps in
the header, the REMS table keeps its heading and stays whole when it fits a page, every session
has a bookmark and its own page count; every sign-off, reopening and re-sign is in the PDF and
the JSON in order; the gate's stored checklist is in the PDF; the REMS answers' source reads the
same in the PDF and at the desk; a superseded or voided reading is a hollow grey marker with no
flag, and the dose, infusion end and discharge are lines of their own, named."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from monitor.export import Selection, export
from monitor.present.json import session_json
from tests.export.test_export import FULL, at, pdf_pages, worked


@pytest.fixture
def outdir(tmp_path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def reader(path: Path):
    from pypdf import PdfReader

    return PdfReader(path)


def words(text: str) -> str:
    """Text with every run of blanks one space (a cell wraps its words over lines)."""
    return " ".join(text.split())


def late_session(service, clock, patient: str = "MRN-LATE") -> int:
    """A ketamine-im session dosed, with a reading and an event at +123, discharged."""
    clock.set(at(-20, 3))
    sid = service.start_session(patient=patient, protocol="ketamine-im", by="ana", age=40)
    clock.set(at(-2, 3))
    service.record_reading(sid, FULL, by="ana")
    clock.set(at(0, 3))
    service.record_dose(sid, by="ana")
    clock.set(at(123, 3))
    service.record_reading(sid, FULL, by="ana")
    service.add_event(sid, kind="note", by="ana", text="sleepy, settled")
    clock.set(at(124, 3))
    service.discharge(sid, by="ana", escort="partner", instructions_given=True)
    return sid


def resigned(service, clock) -> int:
    """The worked session (signed at +200), reopened at +230 and signed again at +240."""
    sid = worked(service, clock)
    clock.set(at(230))
    service.reopen(sid, by="sam", reason="escort to check")
    clock.set(at(240))
    service.sign(sid, by="sam", pin="9999")
    return sid


# -- the tables and the header ---------------------------------------------------------------


def test_the_minute_column_keeps_plus_123_on_one_line(service, clock, outdir):
    sid = late_session(service, clock)
    out = outdir / "late.pdf"
    export(service, Selection(ids=(sid,)), "pdf", out)
    lines = [line.strip() for page in pdf_pages(out) for line in page.splitlines()]
    # The reading's row and the event's row each hold "+123" whole, never "+12" over "3".
    assert sum(1 for line in lines if re.search(r"(^|\s)\+123(\s|$)", line)) >= 2, lines
    assert not any(re.search(r"(^|\s)\+12$", line) for line in lines)


def test_a_long_patient_id_leaves_no_gaps_in_the_header(service, clock, outdir):
    long_id = "P-" + "x" * 60
    sid = late_session(service, clock, patient=long_id)
    out = outdir / "long.pdf"
    export(service, Selection(ids=(sid,)), "pdf", out)
    for page in pdf_pages(out):
        header = next(line for line in page.splitlines() if line.startswith("Patient "))
        # Left aligned, not justified: one space between the words, however long the id.
        assert header.startswith(f"Patient {long_id} · ketamine-im"), header
        assert "   " not in header.strip(), header


def test_the_rems_table_is_kept_whole_under_its_heading(service, clock):
    """Near the foot of a page, the REMS table goes whole to the next page, its heading with
    it, rather than split."""
    from monitor.core.rules import Thresholds
    from monitor.export.pdf import BODY, FONT, _Record
    from monitor.present.parts import plain
    from monitor.present.rems import rems_story

    sid = worked(service, clock)
    view, form = service.session(sid), service.rems(sid)
    record = _Record("Clinic", clock(), Thresholds())
    record.pending = view
    record.pdf.add_page()
    record.pdf.set_font(FONT, "", BODY)
    record.pdf.set_y(record.pdf.page_break_trigger - 50)
    record._rems(form, service.today())
    out = io.BytesIO()
    record.output(out)
    from pypdf import PdfReader

    pages = [words(p.extract_text()) for p in PdfReader(io.BytesIO(out.getvalue())).pages]
    story = rems_story(form, service.today())
    title = plain(story.title)
    assert len(pages) == 2 and title not in pages[0] and title in pages[1]
    for row in story.rows:  # a label wraps in its cell: word by word
        assert all(word in pages[1] for word in row.label.split()), row.label
    assert not any(row.label.split()[0] in pages[0] for row in story.rows[:3])


def test_a_table_longer_than_a_page_repeats_its_heading(service, clock):
    """A table of labelled rows (the REMS form's kind) that cannot fit one page carries its
    heading on every page it runs onto."""
    from monitor.core.rules import Thresholds
    from monitor.export.pdf import BODY, FONT, _Record
    from monitor.present.parts import Part, Row

    view = service.session(worked(service, clock))
    record = _Record("Clinic", clock(), Thresholds())
    record.pending = view
    record.pdf.add_page()
    record.pdf.set_font(FONT, "", BODY)
    record._pairs([Row(f"Row {i}", (Part(f"value {i}"),)) for i in range(160)], heading="Long")
    out = io.BytesIO()
    record.output(out)
    from pypdf import PdfReader

    pages = [p.extract_text() for p in PdfReader(io.BytesIO(out.getvalue())).pages]
    assert len(pages) >= 2
    assert all(re.search(r"^Long$", page, re.MULTILINE) for page in pages)


# -- bookmarks and page counts ---------------------------------------------------------------


def three_sessions(service, clock) -> list[int]:
    from tests.export.test_export import active, unsigned

    return [worked(service, clock), active(service, clock), unsigned(service, clock)]


def test_every_session_has_a_bookmark_and_its_own_page_count(service, clock, outdir):
    ids = three_sessions(service, clock)
    clock.set(at(30, 2))
    out = outdir / "three.pdf"
    result = export(service, Selection(ids=tuple(ids)), "pdf", out)
    pdf = reader(out)
    assert [o.title.split(" · ")[0] for o in pdf.outline] == [f"Session {i}" for i in ids]
    assert pdf.page_mode == "/UseOutlines"
    pages = pdf_pages(out)
    footer = re.compile(r"session (\d+) · page (\d+) of (\d+) · page (\d+) of (\d+) in this file")
    found = [footer.search(page) for page in pages]
    assert all(found), pages
    seen: dict[int, list[tuple[int, int]]] = {}
    for number, match in enumerate(found, 1):
        assert match is not None
        sid, page, of, file_page, file_of = (int(g) for g in match.groups())
        assert (file_page, file_of) == (number, result.items)
        seen.setdefault(sid, []).append((page, of))
    assert list(seen) == ids
    for sid, counted in seen.items():
        total = len(counted)
        assert counted == [(n, total) for n in range(1, total + 1)], (sid, counted)
    # Each bookmark opens its session's first page.
    firsts = []
    for number, match in enumerate(found):
        if match is not None and match.group(2) == "1":
            firsts.append(number)
    assert [pdf.get_destination_page_number(o) for o in pdf.outline] == firsts


def test_a_single_session_has_its_bookmark_and_page_count(service, clock, outdir):
    sid = late_session(service, clock)
    out = outdir / "one.pdf"
    result = export(service, Selection(ids=(sid,)), "pdf", out)
    pdf = reader(out)
    assert len(pdf.outline) == 1
    assert pdf.outline[0].title == f"Session {sid} · MRN-LATE · 2026-11-30"
    last = pdf_pages(out)[-1]
    assert f"page {result.items} of {result.items} · page {result.items} of" in last


# -- the review history, the gate's checklist, the REMS sources ------------------------------


def test_every_sign_off_and_reopening_is_in_the_pdf_and_the_json_in_order(service, clock, outdir):
    sid = resigned(service, clock)
    out = outdir / "review.pdf"
    export(service, Selection(ids=(sid,)), "pdf", out)
    text = words(" ".join(pdf_pages(out)))
    review = text[text.rindex("Review ") :]
    steps = [
        "Signed by sam at 2026-11-27 12:20; meaning: reviewed (withdrawn)",
        "Sign-off withdrawn by sam at 2026-11-27 12:50: escort to check",
        "Signed by sam at 2026-11-27 13:00; meaning: reviewed",
    ]
    places = [review.find(step) for step in steps]
    assert all(p >= 0 for p in places) and places == sorted(places), (places, review)
    history = [
        {
            "action": "signed",
            "by": "sam",
            "at": at(200).isoformat(),
            "reason": None,
            "withdrawn": True,
        },
        {
            "action": "reopened",
            "by": "sam",
            "at": at(230).isoformat(),
            "reason": "escort to check",
            "withdrawn": False,
        },
        {
            "action": "signed",
            "by": "sam",
            "at": at(240).isoformat(),
            "reason": None,
            "withdrawn": False,
        },
    ]
    shown = session_json(service.session(sid))
    assert shown["review"]["history"] == history
    # Every earlier key is kept, as it was.
    assert shown["review"]["signoffs"] == [
        {"by": "sam", "at": at(200).isoformat()},
        {"by": "sam", "at": at(240).isoformat()},
    ]
    assert shown["review"]["signed_at"] == at(240).isoformat()
    lines = outdir / "review.jsonl"
    export(service, Selection(ids=(sid,)), "json", lines)
    [exported] = [json.loads(line) for line in lines.read_text().splitlines()]
    assert exported["review"]["history"] == history


def test_a_reopened_session_not_signed_again_withdraws_every_sign_off(service, clock, outdir):
    sid = worked(service, clock)
    clock.set(at(230))
    service.reopen(sid, by="sam", reason="escort to check")
    shown = session_json(service.session(sid))
    assert [(h["action"], h["withdrawn"]) for h in shown["review"]["history"]] == [
        ("signed", True),
        ("reopened", False),
    ]
    out = outdir / "reopened.pdf"
    export(service, Selection(ids=(sid,)), "pdf", out)
    text = words(" ".join(pdf_pages(out)))
    assert "Signed by sam at 2026-11-27 12:20; meaning: reviewed (withdrawn)" in text
    assert "NOT YET REVIEWED" in text[text.rindex("Review ") :]


def test_the_pdf_prints_the_gate_checklist_stored_at_discharge(service, clock, outdir):
    from monitor.present.parts import plain
    from monitor.present.review import stored_checklist_lines

    sid = worked(service, clock)
    view = service.session(sid)
    assert view.stored_gate is not None and view.stored_gate.items
    out = outdir / "gate.pdf"
    export(service, Selection(ids=(sid,)), "pdf", out)
    text = words(" ".join(pdf_pages(out)))
    gate = text[text.index("Gate stored at discharge:") :]
    assert gate.count("[x]") == len(view.stored_gate.items)
    for item in view.stored_gate.items:  # two a row, each wrapping in its cell: word by word
        assert all(word in gate for word in item.label.split()), item.label
    # The lines are the desk's own (monitor.present.review).
    assert [plain(line) for line in stored_checklist_lines(view)][1:] == [
        f"[x] {item.label}" for item in view.stored_gate.items
    ]


def test_a_rems_answer_reads_its_source_alike_in_the_pdf_and_at_the_desk(service, clock, outdir):
    from monitor.present.parts import plain
    from monitor.present.rems import FROM_RECORD, PROPOSAL, SOURCES, answer_row

    sid = worked(service, clock)
    form = service.rems(sid)
    out = outdir / "rems.pdf"
    export(service, Selection(ids=(sid,)), "pdf", out)
    text = words(" ".join(pdf_pages(out)))
    assert "Vitals OK before yes (from the record)" in text
    assert "Sedation no (proposal)" in text
    assert SOURCES["vitals_ok_before"] == FROM_RECORD and SOURCES["sedation"] == PROPOSAL
    for field, source in SOURCES.items():
        # The desk's correction dialog words the answer with the same row as the form.
        row = answer_row("x", form.answer(field), field=field)
        assert plain(row.value).endswith(f"({source})"), field


async def test_the_correction_dialog_says_from_the_record_for_the_vitals(service, clock):
    """The desk's dialog for correcting an answer words the vitals' source as the form does
    ("from the record"), not as a proposal."""
    from textual.app import App
    from textual.widgets import Select, Static

    from tui.reports.rems_correct import RemsCorrectDialog

    sid = worked(service, clock)
    form = service.rems(sid)
    dialog = RemsCorrectDialog(form, lambda fix: None)

    class Desk(App[None]):
        def on_mount(self) -> None:
            self.push_screen(dialog)

    async with Desk().run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        dialog.query_one("#field", Select).value = "vitals_ok_before"
        await pilot.pause()
        now = str(dialog.query_one("#rems-now", Static).content)
        assert "(from the record)" in now and "(proposal)" not in now
        dialog.query_one("#field", Select).value = "sedation"
        await pilot.pause()
        assert "(proposal)" in str(dialog.query_one("#rems-now", Static).content)


# -- the chart ---------------------------------------------------------------------------------


def iv_session(service, clock) -> dict[str, int]:
    """A ketamine-iv session: HR 47 (a flag) at +90 corrected to 74; SBP 88 (a flag) at +100
    voided; an infusion end at +40; SBP 300 at +123 (at the panel's outer limit); discharged."""
    clock.set(at(-30))
    sid = service.start_session(patient="IV-1", protocol="ketamine-iv", by="ana", age=40)
    clock.set(at(-5))
    service.record_reading(sid, FULL, by="ana")
    clock.set(at(0))
    service.record_dose(sid, by="ana")
    clock.set(at(40))
    service.record_infusion_end(sid, by="ana")
    clock.set(at(90))
    slow = service.record_reading(sid, "120/80 hr 47 spo2 97", by="ana")
    clock.set(at(92))
    service.amend(slow.id, "hr 74", by="ana", reason="counted half a minute")
    clock.set(at(100))
    low = service.record_reading(sid, "88/50 hr 70 spo2 97", by="ana")
    clock.set(at(101))
    service.void(low.id, by="ana", reason="wrong patient")
    clock.set(at(123))
    service.record_reading(sid, "300/110 hr 70 spo2 99", by="ana")
    return {"session": sid, "corrected": slow.id, "voided": low.id}


def _flag_marks(ax) -> list[tuple[float, float]]:
    return [
        (float(line.get_xdata()[0]), float(line.get_ydata()[0]))
        for line in ax.get_lines()
        if line.get_gid() == "flag"
    ]


def test_the_chart_draws_withdrawn_readings_hollow_grey_and_without_flags(service, clock):
    from matplotlib.colors import to_hex
    from matplotlib.text import Annotation

    from monitor.core.rules import Thresholds
    from monitor.export.chart import IN_PDF, WITHDRAWN, figure

    ids = iv_session(service, clock)
    view = service.session(ids["session"])
    original = view.reading(ids["corrected"])
    voided = view.reading(ids["voided"])
    assert original is not None and original.flags and not original.in_force
    assert voided is not None and voided.flags and voided.voided is not None
    fig = figure(view, Thresholds(), IN_PDF)
    sbp, _, hr, _ = fig.axes[:4]
    for ax, gid, point in ((hr, "superseded", (90.0, 47.0)), (sbp, "voided", (100.0, 88.0))):
        [marker] = [line for line in ax.get_lines() if line.get_gid() == gid]
        assert (float(marker.get_xdata()[0]), float(marker.get_ydata()[0])) == point
        assert marker.get_markerfacecolor() == "none"
        assert to_hex(marker.get_markeredgecolor()) == WITHDRAWN
        assert marker.get_linestyle() == "None"
        # No ring and no symbol at the withdrawn point.
        assert point not in _flag_marks(ax)
        symbols = [a for a in ax.texts if isinstance(a, Annotation) and a.get_gid() == "flag"]
        assert all(tuple(map(float, a.xy)) != point for a in symbols)
    # The reading in force at the panel's limit keeps its flag, its symbol inside the panel.
    assert (123.0, 300.0) in _flag_marks(sbp)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes[:4]:
        box = ax.get_window_extent(renderer)
        for text in ax.texts:
            if text.get_gid() == "flag":
                extent = text.get_window_extent(renderer)
                assert box.y0 - 0.5 <= extent.y0 and extent.y1 <= box.y1 + 0.5, text.get_text()


def test_the_chart_names_the_dose_the_infusion_end_and_the_discharge(service, clock):
    from monitor.core.rules import Thresholds
    from monitor.export.chart import IN_PDF, MOMENTS, STANDALONE, figure

    ids = iv_session(service, clock)
    clock.set(at(124))
    service.discharge(
        ids["session"],
        by="sam",
        override_reason="transferred",
        escort="partner",
        instructions_given=True,
    )
    view = service.session(ids["session"])
    for size in (STANDALONE, IN_PDF):
        fig = figure(view, Thresholds(), size)
        styles = {}
        for ax in fig.axes[:4]:
            for name in MOMENTS:
                [line] = [line for line in ax.get_lines() if line.get_gid() == name]
                styles[name] = (line.get_linestyle(), line.get_color(), line.get_linewidth())
                assert (
                    line.get_xdata()[0] == {"dose": 0, "infusion end": 40, "discharge": 124}[name]
                )
        assert len(set(styles.values())) == 3  # three styles, one a moment
        names = [t for t in fig.axes[0].texts if t.get_gid() == "moment"]
        assert sorted(t.get_text() for t in names) == sorted(MOMENTS)
        # Every name within the figure: none cut at its edge.
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        width, height = fig.canvas.get_width_height()
        for text in names:
            box = text.get_window_extent(renderer)
            assert box.x0 >= 0 and box.x1 <= width and box.y1 <= height, text.get_text()
        legend = [t.get_text() for t in fig.legends[0].get_texts()]
        assert {"dose", "infusion end", "discharge", "voided"} <= set(legend)


def test_the_chart_of_a_session_not_dosed_marks_nothing(service, clock):
    from monitor.core.rules import Thresholds
    from monitor.export.chart import figure, moments

    clock.set(at(-30))
    sid = service.start_session(patient="NEW-1", protocol="ketamine-im", by="ana", age=40)
    clock.set(at(-20))
    service.record_reading(sid, FULL, by="ana")
    view = service.session(sid)
    assert moments(view) == []
    fig = figure(view, Thresholds())
    assert not [t for t in fig.axes[0].texts if t.get_gid() == "moment"]
    legend = {t.get_text() for t in fig.legends[0].get_texts()}
    assert not legend & {"dose", "infusion end", "discharge"}  # the key lists what is drawn


def test_the_charts_title_prints_a_character_its_font_lacks_as_its_code_point():
    """The chart's font (DejaVu Sans) has no CJK: the patient id in its title says
    ``[U+5BF9]`` rather than draw a box, and a lone surrogate does not stop the drawing."""
    from monitor.export.chart import _drawable

    assert _drawable("MRN-Ødegård 对") == "MRN-Ødegård [U+5BF9]"
    assert _drawable("A\ud800B\x07") == "A[U+D800]B[U+0007]"


@pytest.mark.parametrize("long", [False, True])
def test_the_checklist_height_is_what_it_draws(long):
    """The gate's checklist title is kept with the whole list (``checklist_height``): the
    height it measures is the height it draws, in two columns and one under another, so the
    list never runs onto a page without its title."""
    from fpdf import FPDF

    from monitor.export.pdf_fonts import shipped_faces
    from monitor.export.pdf_parts import checklist, checklist_height
    from monitor.present.parts import Part, Role

    regular, _ = shipped_faces()
    pdf = FPDF(unit="mm", format="A4")
    pdf.add_font("dejavu", "", str(regular))
    pdf.set_font("dejavu", "", 9)
    pdf.add_page()
    why = " because the pre-discharge check was not done in time and nobody said why" * 2
    lines = [
        (Part(f"[x] condition {n}" + (why if long and n % 3 == 0 else ""), Role.PLAIN),)
        for n in range(9)
    ]
    top = pdf.get_y()
    checklist(pdf, lines, lambda line: (0, 0, 0))
    assert pdf.get_y() - top == pytest.approx(checklist_height(pdf, lines))
