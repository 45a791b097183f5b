"""The PDF session record (fpdf2): one or more A4 pages per session, a session after another.

Each record holds, in this order: the session (clinic, patient, protocol, dose, lot, first
treatment, the medication answers, start / dosing / infusion end / discharge times and who
started, dosed, overrode and co-signed, recorded or corrected the infusion end and
discharged; total minutes monitored, the rules version, who recorded); the chart (fpdf2's,
:mod:`monitor.export.pdf_chart`); the readings with their flags and acknowledgements (who, the
co-signer; a correction's original and a voided reading struck through, with the reason; late
entries and entries after discharge marked; a flag raised when the baseline changed marked; a
monitor's reading with its device and "not validated", or who validated it and when);
the checks with their status; the events and their alarms; the discharge (the gate stored at
discharge and, after a later change, the gate judged again; the override reason, who and the
co-signer, escort, instructions, REMS minute; the stored gate's checklist); for esketamine the
REMS form; the review (every sign-off, withdrawn ones too, and every reopening, in order). The
facts, a reading's notes, a flag's line, a check's status and notes, the discharge, the review
and the REMS form are the stories' (:mod:`monitor.present.record`, :mod:`monitor.present.rems`,
:mod:`monitor.present.review`), worded there once; this module lays them out on paper
(docs/exports.md).

On every page of a record: a header with the clinic, the patient and the session; a red
"IN PROGRESS" band while the patient is still in observation; "NOT YET REVIEWED" across the page
until a supervisor signs, and then the sign-off (name, time, meaning) in the footer, with the
page's number among the session's and the file's. Each session is a bookmark of the file
(docs/exports.md, "The PDF's layout"; :mod:`monitor.export.pdf_parts`).

Text is set in DejaVu Sans (the TTF matplotlib ships), other scripts in fallback fonts, and a
character no font has as its code point, named in a warning (:mod:`monitor.export.pdf_fonts`,
docs/exports.md, "Fonts"); times are this machine's local time, the zone named in the header.
The whole document is built in memory (fpdf2 writes it at the end), so one file holds at most
:data:`MOST_SESSIONS` sessions.
"""

from __future__ import annotations

import secrets
import warnings
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from monitor.core.rules import Severity
from monitor.export.common import local
from monitor.export.pdf_parts import SessionPages, checklist, checklist_height, fit, pairs_height
from monitor.export.pdf_text import (
    BLACK,
    GREY,
    INK,
    bp,
    event_cell,
    ink,
    minute,
    notes_cell,
    number,
    zone,
)
from monitor.present.parts import Line, Part, Role, Row, local_minute, plain
from monitor.present.record import (
    alarm_line,
    check_notes,
    check_status,
    discharge_lines,
    flag_line,
    recorders,
    review_lines,
    session_facts,
)
from monitor.present.record import clock as hm  # the PDF's times of day
from monitor.present.rems import CORRECTIONS_HEADING, rems_story
from monitor.present.review import stored_checklist_lines
from monitor.present.unreadable import unreadable_lines

if TYPE_CHECKING:
    from fpdf import FPDF
    from fpdf.table import Table

    from monitor.core.rems import RemsForm
    from monitor.core.rules import Thresholds
    from monitor.views import SessionView

#: Sessions one PDF may hold: fpdf2 keeps the whole document in memory until it is written.
MOST_SESSIONS = 200
FONT = "dejavu"
MARGIN = 12.0
BODY = 9.0
SMALL = 8.0


class _Record:
    """Draws session records onto one fpdf2 document."""

    def __init__(
        self,
        clinic: str,
        exported_at: datetime,
        thresholds: Thresholds,
        fonts: Sequence[str | Path] = (),
    ) -> None:
        from monitor.export import pdf_library

        pdf_library.load()  # fpdf2 without numpy (as the command line loads it)
        from fpdf import FPDF

        from monitor.export.pdf_fonts import Fonts

        record = self

        class Document(FPDF):
            def header(self) -> None:
                record.header()

            def footer(self) -> None:
                record.footer()

            def normalize_text(self, text: str) -> str:
                # Every text drawn: a character no font has becomes its placeholder.
                return record.fonts.printable(super().normalize_text(text))

        self.pdf: FPDF = Document(orientation="P", unit="mm", format="A4")
        pdf = self.pdf
        self.view: SessionView | None = None
        # DejaVu Sans, regular and bold only (each face costs fpdf2 a read of the font).
        self.fonts = Fonts(pdf, FONT, fonts, where=self._where)
        self.fonts.scan("", "clinic name", clinic)
        pdf.set_margins(MARGIN, MARGIN, MARGIN)
        pdf.set_auto_page_break(True, margin=16)
        # A token no patient id or reason can contain: fpdf2 replaces its page-count alias
        # wherever it appears in the text of a page.
        self.total_alias = "{pages-" + secrets.token_hex(8) + "}"
        pdf.alias_nb_pages(self.total_alias)
        pdf.set_creation_date(exported_at)
        pdf.set_producer("monitor")
        pdf.set_creator("monitor export")
        self.clinic = clinic
        self.exported_at = exported_at
        self.thresholds = thresholds
        #: The record whose first page is being added (the header switches to it).
        self.pending: SessionView | None = None
        self.first_page = 1
        self.pages = 0
        # Each session's own page count in its footers, its bookmark, where a page's content
        # starts under the header (docs/exports.md, "The PDF's layout").
        self.session_pages = SessionPages()
        self.closing = False
        self.sessions = 0
        self.body_top = MARGIN

    def _where(self) -> str:
        """The session whose page is being drawn (named in a warning of a placeholder)."""
        return "" if self.view is None else f"session {self.view.id}"

    # -- every page ----------------------------------------------------------------

    def header(self) -> None:
        pdf = self.pdf
        if self.pending is not None:
            # A new record's first page: the footer of the page before was the last record's.
            self.view, self.pending = self.pending, None
            self.first_page = pdf.page_no()
        if self.view is None:
            return
        # Fonts and colours set here must not leak into the page's content.
        with pdf.local_context():
            self._header(self.view)
        self.body_top = pdf.get_y()

    def _header(self, view: SessionView) -> None:
        pdf = self.pdf
        pdf.set_text_color(*BLACK)
        top = pdf.get_y()
        pdf.set_font(FONT, "", BODY)
        pdf.set_xy(MARGIN + pdf.epw * 0.62, top)
        pdf.cell(pdf.epw * 0.38, 6, f"Session record · session {view.id}", align="R")
        pdf.set_xy(MARGIN, top)
        pdf.set_font(FONT, "B", 11)
        # A long name wraps within its part of the line rather than run under the right one.
        pdf.multi_cell(pdf.epw * 0.62, 6, self.clinic, align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FONT, "", BODY)
        moment = view.dosed_at or view.started_at
        pdf.multi_cell(
            0,
            5,
            f"Patient {view.patient} · {view.protocol} ({view.treatment}) · "
            f"{local(moment, '%Y-%m-%d')} · times in {zone(moment)}",
            align="L",  # justified, a long patient id spread the line's words apart
            new_x="LMARGIN",
            new_y="NEXT",
        )
        if view.discharged_at is None:
            pdf.set_fill_color(183, 28, 28)
            pdf.set_text_color(255, 255, 255)
            pdf.set_font(FONT, "B", 10)
            pdf.cell(
                0,
                6.5,
                f"IN PROGRESS: still in observation; the record as of {local_minute(view.as_of)}",
                fill=True,
                align="C",
                new_x="LMARGIN",
                new_y="NEXT",
            )
            pdf.set_text_color(*BLACK)
        pdf.set_draw_color(120, 120, 120)
        pdf.set_line_width(0.3)
        pdf.line(MARGIN, pdf.get_y() + 1, pdf.w - MARGIN, pdf.get_y() + 1)
        pdf.ln(3)

    def _watermark(self, text: str) -> None:
        """``text`` across the page, over everything on it (drawn last, see-through), so
        that no chart or table can hide it."""
        pdf = self.pdf
        with pdf.local_context(fill_opacity=0.22):
            pdf.set_font(FONT, "B", 54)
            pdf.set_text_color(*INK[Severity.HIGH])
            width = pdf.get_string_width(text)
            x, y = pdf.w / 2, pdf.h / 2
            with pdf.rotation(angle=55, x=x, y=y):
                pdf.text(x - width / 2, y + 8, text)

    def footer(self) -> None:
        if self.view is None:
            return
        with self.pdf.local_context():
            self._footer(self.view)

    def _footer(self, view: SessionView) -> None:
        pdf = self.pdf
        if view.signed_by is None:
            self._watermark("NOT YET REVIEWED")
        pdf.set_y(-14)
        pdf.set_draw_color(120, 120, 120)
        pdf.line(MARGIN, pdf.get_y(), pdf.w - MARGIN, pdf.get_y())
        pdf.ln(0.8)
        # The review's verdict as the record tells it (the sign-off, or NOT YET REVIEWED).
        verdict = review_lines(view)[-1]
        state = plain(verdict)
        if view.signed_by is None and view.discharged_at is None:
            state += " · IN PROGRESS"
        pdf.set_font(FONT, "B", SMALL)
        pdf.set_text_color(*ink(verdict))
        pdf.cell(0, 4.5, state, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FONT, "", 7)
        pdf.set_text_color(*GREY)
        page = pdf.page_no() - self.first_page + 1
        # The session's page count and the file's: both written where the alias stands, the
        # session's when its last page ends (SessionPages), the file's when it is closed. Left
        # aligned: the room fpdf2 keeps for each count (the alias's width) stays at the end.
        text = (
            f"session {view.id} · page {page} of {self.total_alias} · "
            f"page {pdf.page_no()} of {self.total_alias} in this file · "
            f"exported {local_minute(self.exported_at)} by monitor"
        )
        self.session_pages.footer(pdf, lambda: pdf.cell(0, 3.5, text, align="L"))
        if self.pending is not None or self.closing:
            self.session_pages.close(page)  # the session's last page
        pdf.set_text_color(*BLACK)

    # -- a record ---------------------------------------------------------------------

    def session(self, view: SessionView, form: RemsForm | None, today: Any) -> None:
        """Draw one session's record from a new page."""
        self.fonts.scan_record(view, form)
        self.pending = view
        self.pdf.add_page()
        # A bookmark a session (the file's outline), at the top of its first page's content.
        moment = view.dosed_at or view.started_at
        self.pdf.start_section(
            f"Session {view.id} · {view.patient} · {local(moment, '%Y-%m-%d')}", level=0
        )
        self.sessions += 1
        self.pdf.set_font(FONT, "", BODY)
        # What could not be read, first (docs/storage.md, "Unreadable records").
        self._lines(unreadable_lines(view))
        self._facts(view)
        self._chart(view)
        self._readings(view)
        self._checks(view)
        self._events(view)
        self._discharge(view)
        if form is not None:
            self._rems(form, today)
        self._review(view)
        self.pages += self.pdf.page_no() - self.first_page + 1

    def _title(self, text: str, keep: float = 22) -> None:
        """A section's title, on a new page unless ``keep`` mm of the section fit under it."""
        pdf = self.pdf
        if pdf.will_page_break(keep):
            pdf.add_page()
        pdf.ln(2)
        pdf.set_font(FONT, "B", 10.5)
        pdf.set_text_color(*BLACK)
        pdf.cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FONT, "", BODY)

    def _pairs(self, rows: Sequence[Row], heading: str | None = None, labels: float = 27) -> None:
        """Labelled rows of a story, two a row of the table (``labels`` mm for each label):
        the value, then the lines under it, in the colour of the value
        (:func:`monitor.export.pdf_text.ink`). ``heading`` heads the table, and again on each
        page it runs onto."""
        from fpdf.fonts import FontFace

        pdf = self.pdf
        columns = 2
        label = FontFace(emphasis="B", color=(70, 70, 70))
        widths = (labels, pdf.epw / columns - labels) * columns
        with pdf.table(
            col_widths=widths,
            width=pdf.epw,
            first_row_as_headings=heading is not None,
            headings_style=FontFace(emphasis="B", size_pt=10.5),
            borders_layout="HORIZONTAL_LINES",
            text_align="LEFT",
            line_height=4.6,
            padding=(0.6, 1, 0.6, 1),
        ) as table:
            if heading is not None:
                table.row().cell(heading, colspan=len(widths))
            for start in range(0, len(rows), columns):
                cells = table.row()
                chunk = rows[start : start + columns]
                for row in chunk:
                    cells.cell(row.label, style=label)
                    text = "\n".join(plain(line) for line in (row.value, *row.notes))
                    color = ink(row.value)
                    bold = color == INK[Severity.HIGH]
                    cells.cell(text, style=FontFace(emphasis="B" if bold else None, color=color))
                for _ in range(columns - len(chunk)):
                    cells.cell("")
                    cells.cell("")

    def _lines(self, lines: Iterable[Line]) -> None:
        """Lines of a story, one under another, each in its colour (a heading in bold)."""
        pdf = self.pdf
        for line in lines:
            heading = bool(line) and line[0].role is Role.HEADING
            pdf.set_font(FONT, "B" if heading else "", BODY)
            pdf.set_text_color(*ink(line))
            pdf.multi_cell(0, 4.6, plain(line), align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FONT, "", BODY)
        pdf.set_text_color(*BLACK)

    def _facts(self, view: SessionView) -> None:
        self._pairs([Row(label, (Part(value),)) for label, value in session_facts(view)])
        pdf = self.pdf
        pdf.set_font(FONT, "", SMALL)
        pdf.multi_cell(
            0, 4, f"Recorded by: {recorders(view)}", align="L", new_x="LMARGIN", new_y="NEXT"
        )
        pdf.set_font(FONT, "", BODY)

    @contextmanager
    def _grid(
        self, heads: Sequence[str], widths: Sequence[float], align: str | Sequence[str] = "LEFT"
    ) -> Iterator[Table]:
        """A table of the record (readings, checks, events): ``heads`` in its shaded first
        row, repeated on each page the table runs onto."""
        from fpdf.fonts import FontFace

        pdf = self.pdf
        with pdf.table(
            col_widths=widths,
            width=pdf.epw,
            text_align=align,
            line_height=4.4,
            padding=(0.5, 0.8, 0.5, 0.8),
            headings_style=FontFace(emphasis="B", fill_color=(235, 235, 235)),
            borders_layout="SINGLE_TOP_LINE",
        ) as table:
            table.row(heads)
            yield table

    def _chart(self, view: SessionView) -> None:
        from monitor.export.chart_plan import IN_PDF
        from monitor.export.pdf_chart import draw_chart

        pdf = self.pdf
        height = pdf.epw * IN_PDF.height / IN_PDF.width
        if pdf.will_page_break(height + 2):
            pdf.add_page()
        pdf.ln(1)
        draw_chart(pdf, view, self.thresholds, FONT, IN_PDF)
        pdf.set_font(FONT, "", BODY)
        pdf.set_text_color(*BLACK)
        pdf.ln(1)

    def _readings(self, view: SessionView) -> None:
        from fpdf.fonts import FontFace

        pdf = self.pdf
        self._title(f"Readings ({len(view.readings)})")
        if not view.readings:
            pdf.cell(0, 5, "no readings recorded", new_x="LMARGIN", new_y="NEXT")
            return
        origin = view.dosed_at
        heads = ("#", "time", "min", "BP", "HR", "SpO2", "RR", "M", "C", "by", "notes")
        struck = FontFace(emphasis="S", color=GREY)
        waiting = FontFace(emphasis="B", color=INK[Severity.MEDIUM])
        pdf.set_font(FONT, "", BODY)
        # The id and minute columns as wide as their widest text: "+123" on one line.
        ids = fit(pdf, (str(r.id) for r in view.readings), 10, bold_head="#")
        mins = fit(pdf, (minute(origin, r.measured_at) for r in view.readings), 11)
        widths: tuple[float, ...] = (ids, 12, mins, 18, 10, 12, 9, 8, 9, 16)
        widths += (pdf.epw - sum(widths),)
        align = ("RIGHT", "LEFT", "RIGHT", *(["RIGHT"] * 6), "LEFT", "LEFT")
        with self._grid(heads, widths, align) as table:
            for reading in view.readings:
                # Struck when withdrawn (not a device reading awaiting a nurse: its flags stand).
                withdrawn = reading.voided is not None or reading.superseded_by is not None
                flagged = {f.measure: f for f in reading.flags}
                row = table.row()
                v = reading.vitals
                values = [
                    (str(reading.id), None),
                    (hm(reading.measured_at), None),
                    (minute(origin, reading.measured_at), None),
                    (bp(reading), flagged.get("systolic") or flagged.get("diastolic")),
                    (number(v.heart_rate), flagged.get("heart_rate")),
                    (number(v.spo2), flagged.get("spo2")),
                    (number(v.resp_rate), flagged.get("resp_rate")),
                    (number(v.moaas), flagged.get("moaas")),
                    (number(v.cadss), flagged.get("cadss")),
                    (reading.recorded_by, None),
                ]
                for text, flag in values:
                    if withdrawn:
                        row.cell(text, style=struck)
                    elif flag is not None:
                        worst = max(
                            (f for f in reading.flags if f.measure == flag.measure),
                            key=lambda f: f.severity.rank,
                        )
                        row.cell(text, style=FontFace(emphasis="B", color=INK[worst.severity]))
                    else:
                        row.cell(text)
                pending = reading.awaits_validation and not withdrawn
                row.cell(notes_cell(reading), style=waiting if pending else None)
                for f in reading.flags:
                    flag_row = table.row()
                    flag_row.cell("")
                    flag_row.cell(
                        plain(flag_line(f, reading.recorded_at)),
                        colspan=len(heads) - 1,
                        style=FontFace(
                            emphasis="B" if f.acknowledged_at is None else None,
                            color=INK[f.severity],
                            size_pt=SMALL,
                        ),
                    )

    def _checks(self, view: SessionView) -> None:
        from fpdf.fonts import FontFace

        pdf = self.pdf
        self._title("Checks")
        if not view.checks:
            pdf.cell(0, 5, "no checks", new_x="LMARGIN", new_y="NEXT")
            return
        heads = ("check", "due", "status", "done at", "note")
        with self._grid(heads, (38, 24, 26, 24, pdf.epw - 112)) as table:
            for check in view.checks:
                status = check_status(check, view.discharged_at)
                notes = check_notes(check, view.discharged_at)
                style = None
                if status.role in (Role.ALERT, Role.WARN):
                    style = FontFace(color=ink((status,)), emphasis="B")
                row = table.row()
                row.cell(check.label)
                row.cell(hm(check.due_at) if check.due_at else "at dosing")
                row.cell(status.text, style=style)
                row.cell(hm(check.done_at) if check.done_at else "")
                row.cell("; ".join(plain(note) for note in notes))

    def _events(self, view: SessionView) -> None:
        from fpdf.fonts import FontFace

        pdf = self.pdf
        self._title(f"Events ({len(view.events)})")
        if not view.events:
            pdf.cell(
                0, 5, "no notes, adverse events or interventions", new_x="LMARGIN", new_y="NEXT"
            )
            return
        heads = ("time", "min", "what", "by", "text")
        pdf.set_font(FONT, "", BODY)
        mins = fit(pdf, (minute(view.dosed_at, e.at) for e in view.events), 11)
        widths = (14, mins, 42, 18)
        with self._grid(heads, (*widths, pdf.epw - sum(widths))) as table:
            for e in view.events:
                details = [d for d in (e.severity, "serious" if e.serious else None) if d]
                what = " ".join(p for p in (e.kind, e.type) if p)
                if details:
                    what += f" ({', '.join(details)})"
                style = FontFace(emphasis="B", color=INK[Severity.HIGH]) if e.serious else None
                row = table.row()
                row.cell(hm(e.at))
                row.cell(minute(view.dosed_at, e.at))
                row.cell(what, style=style)
                row.cell(e.by)
                row.cell(event_cell(e))
                alarm = alarm_line(e)
                if alarm is not None and e.alarm is not None:
                    alarm_row = table.row()
                    alarm_row.cell("")
                    alarm_row.cell(
                        plain(alarm),
                        colspan=len(heads) - 1,
                        style=FontFace(
                            emphasis="B" if e.alarm.acknowledged_at is None else None,
                            color=INK[e.alarm.severity],
                            size_pt=SMALL,
                        ),
                    )

    def _discharge(self, view: SessionView) -> None:
        self._title("Discharge")
        self._lines(discharge_lines(view))
        # The gate's checklist as stored at discharge, as the station's detail shows it.
        if stored := stored_checklist_lines(view):
            heading, *items = stored
            # The title goes with the whole list when it fits a page (never alone or apart).
            self._title(plain(heading), keep=min(8 + checklist_height(self.pdf, items), 200))
            checklist(self.pdf, items, ink)

    def _rems(self, form: RemsForm, today: Any) -> None:
        """The REMS form as :func:`monitor.present.rems.rems_story` tells it, its title the
        table's heading (repeated on a page the table runs onto), then every correction."""
        story = rems_story(form, today)
        pdf = self.pdf
        pdf.ln(2)
        # Whole on one page when it fits one: on a new page rather than split.
        pdf.set_font(FONT, "", BODY)
        labels = 32
        widths = (labels, pdf.epw / 2 - labels) * 2
        cells = [
            (
                row.label,
                "\n".join(plain(line) for line in (row.value, *row.notes)),
                ink(row.value) == INK[Severity.HIGH],
            )
            for row in story.rows
        ]
        height = pairs_height(pdf, cells, widths, 4.6, 0.6) + 8
        if pdf.will_page_break(height) and height < pdf.page_break_trigger - self.body_top:
            pdf.add_page()
        self._pairs(story.rows, heading=plain(story.title), labels=labels)
        if story.corrections:
            self._lines((CORRECTIONS_HEADING, *story.corrections))

    def _review(self, view: SessionView) -> None:
        pdf = self.pdf
        *withdrawn, verdict = review_lines(view)
        self._title("Review", keep=14 + 4.6 * len(withdrawn))
        self._lines(withdrawn)
        pdf.set_font(FONT, "B", 10)
        pdf.set_text_color(*ink(verdict))
        pdf.cell(0, 6, plain(verdict), new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(*BLACK)
        pdf.set_font(FONT, "", BODY)

    def output(self, out: BinaryIO) -> list[str]:
        """Write the document; returns the warnings of characters printed as placeholders."""
        # The last page's footer, drawn as fpdf2 closes the document, ends the last session.
        self.closing = True
        if self.sessions > 1:
            self.pdf.page_mode = "USE_OUTLINES"  # a reader opens with the sessions listed
        with warnings.catch_warnings():
            # No character reaches fpdf2 without a font (Fonts.printable): its warnings are
            # of no use to someone exporting a record.
            warnings.simplefilter("ignore")
            out.write(bytes(self.pdf.output()))
        return self.fonts.warnings()


def write_records(
    out: BinaryIO,
    batches: Iterable[tuple[Sequence[SessionView], dict[int, RemsForm]]],
    *,
    clinic: str,
    exported_at: datetime,
    thresholds: Thresholds,
    today: Any,
    done: Any = None,
    fonts: Sequence[str | Path] = (),
    said: list[str] | None = None,
) -> int:
    """Draw every session's record and write the PDF; returns the number of pages.
    ``fonts``: the configured fallback fonts; ``said`` is given a warning for each field that
    printed characters as placeholders (docs/exports.md, "Fonts")."""
    record = _Record(clinic, exported_at, thresholds, fonts)
    for views, forms in batches:
        for view in views:
            record.session(view, forms.get(view.id), today)
        if done is not None:
            done(len(views))
    lines = record.output(out)
    if said is not None:
        said.extend(lines)
    return record.pages
