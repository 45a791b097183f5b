"""Layout helpers of the PDF session record (:mod:`monitor.export.pdf`): each session's own
page count in its footers ("page 2 of 3"), columns as wide as their widest text, a table kept
whole on one page when it fits one, and the gate's checklist in two columns
(docs/exports.md, "The PDF's layout").

fpdf2 writes the file's page count where its page-count alias stands, once the document is
closed. A session's own count is known when its last page ends: :class:`SessionPages` keeps the
alias each footer of the session wrote first and, then, writes the session's count in its place
on each of its pages, as fpdf2 does for the file's count (the rest of the alias is the file's).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, cast

from monitor.present.parts import Line, plain

if TYPE_CHECKING:
    from fpdf import FPDF

#: A table cell's padding left and right (mm), and a little more so that a word never wraps
#: on a rounding difference.
CELL_PADDING = 0.8
_SLACK = 0.6


class SessionPages:
    """The footers of the session being drawn, each with the place of its session page count."""

    def __init__(self) -> None:
        self._waiting: list[tuple[Any, Any]] = []

    def footer(self, pdf: FPDF, write: Any) -> None:
        """Calls ``write()``, which writes the footer's text with the alias for the session's
        page count first and the file's after it; keeps the first."""
        sheet = pdf.pages[pdf.page]
        before = len(sheet.get_text_substitutions())
        write()
        written = sheet.get_text_substitutions()
        if len(written) > before:
            self._waiting.append((sheet, written[before]))

    def close(self, total: int) -> None:
        """The session's last page has ended: ``total`` in place of each footer's alias."""
        for sheet, alias in self._waiting:
            sheet.contents = sheet.contents.replace(
                alias.get_placeholder_string().encode("latin-1"),
                alias.render_text_substitution(str(total)).encode("latin-1"),
            )
        self._waiting.clear()


def fit(pdf: FPDF, texts: Iterable[str], least: float, *, bold_head: str = "") -> float:
    """A column's width (mm) for ``texts`` in the current font on one line each, and for its
    heading ``bold_head`` in bold: at least ``least``."""
    widest = max((pdf.get_string_width(text) for text in texts), default=0.0)
    if bold_head:
        style = pdf.font_style
        pdf.set_font(style="B")
        widest = max(widest, pdf.get_string_width(bold_head))
        pdf.set_font(style=style)
    return max(least, widest + 2 * CELL_PADDING + _SLACK)


#: A checklist line's height, mm.
_ROW = 4.4


def _text_lines(pdf: FPDF, width: float, text: str, bold: bool) -> int:
    """How many lines ``text`` takes in a cell ``width`` mm wide."""
    from fpdf.enums import MethodReturnValue

    style = pdf.font_style
    pdf.set_font(style="B" if bold else "")
    count = 0
    for paragraph in text.split("\n"):
        lines = pdf.multi_cell(
            width, 1, paragraph, dry_run=True, output=MethodReturnValue.LINES, padding=0
        )
        count += max(1, len(cast("list[str]", lines)))
    pdf.set_font(style=style)
    return count


def pairs_height(
    pdf: FPDF,
    rows: Sequence[tuple[str, str, bool]],
    widths: Sequence[float],
    line_height: float,
    padding: float,
) -> float:
    """The height (mm) of a table of labelled values laid ``len(widths) // 2`` pairs a row:
    each row as tall as its tallest cell. ``rows`` holds (label, value, value in bold)."""
    columns = len(widths) // 2
    height = 0.0
    for start in range(0, len(rows), columns):
        tallest = 1
        for i, (label, value, bold) in enumerate(rows[start : start + columns]):
            label_width = widths[2 * i] - 2 * CELL_PADDING
            value_width = widths[2 * i + 1] - 2 * CELL_PADDING
            tallest = max(
                tallest,
                _text_lines(pdf, label_width, label, True),
                _text_lines(pdf, value_width, value, bold),
            )
        height += tallest * line_height + 2 * padding
    return height


def _checklist_rows(pdf: FPDF, lines: Sequence[Line]) -> list[tuple[Line, Line | None]]:
    """The checklist's rows: two a row, down the left column first, when each line fits two
    lines of half the width; else (a condition not met says at length why) one a row."""
    half = pdf.epw / 2
    if any(pdf.get_string_width(plain(line)) > 1.8 * (half - _SLACK) for line in lines):
        return [(line, None) for line in lines]
    rows = (len(lines) + 1) // 2
    return [(lines[i], lines[i + rows] if i + rows < len(lines) else None) for i in range(rows)]


def checklist_height(pdf: FPDF, lines: Sequence[Line]) -> float:
    """The height in mm :func:`checklist` takes (its title is kept with the whole of it)."""
    half = pdf.epw / 2
    total = 0.0
    for first, second in _checklist_rows(pdf, lines):
        if second is None:
            total += _text_lines(pdf, pdf.epw, plain(first), False) * _ROW
        else:
            tallest = max(
                _text_lines(pdf, half - _SLACK, plain(first), False),
                _text_lines(pdf, half - _SLACK, plain(second), False),
            )
            total += tallest * _ROW
    return total


def checklist(pdf: FPDF, lines: Sequence[Line], colour: Any) -> None:
    """Lines of a checklist (``colour(line)`` the RGB of each) in the order they come: two a
    row, down the left column first, when each fits two lines of half the width; else (a
    condition not met says at length why) one under another."""
    height = _ROW
    half = pdf.epw / 2
    pairs = _checklist_rows(pdf, lines)
    for first, second in pairs:
        # Cells, not a table: fpdf2's tables cost a tenth of a second each.
        if second is not None and pdf.will_page_break(2 * height):
            pdf.add_page()
        top, left = pdf.get_y(), pdf.l_margin
        pdf.set_text_color(*colour(first))
        width = half - _SLACK if second is not None else 0
        pdf.multi_cell(width, height, plain(first), align="L", new_x="LMARGIN", new_y="NEXT")
        if second is not None:
            bottom = pdf.get_y()
            pdf.set_xy(left + half, top)
            pdf.set_text_color(*colour(second))
            pdf.multi_cell(
                half - _SLACK, height, plain(second), align="L", new_x="LMARGIN", new_y="NEXT"
            )
            pdf.set_y(max(bottom, pdf.get_y()))
    pdf.set_text_color(0, 0, 0)
