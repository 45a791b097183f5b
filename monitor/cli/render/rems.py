"""The REMS Patient Monitoring Forms as ``monitor rems`` prints them (docs/interface.md): the
tracker's tab-separated lines and one form's lines, both as :mod:`monitor.present.rems` tells
them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor.cli.output import printable, story_text
from monitor.present.rems import TRACKER_HEADER, rems_story, text_lines, tracker_cells, tracker_rows

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from datetime import date

    from monitor.core.rems import RemsForm


def form_lines(forms: Iterable[RemsForm], today: date) -> Iterator[str]:
    """``monitor rems``: a header and one tab-separated line per form (nothing if none)."""
    header = "\t".join(TRACKER_HEADER) + "\n"
    for row in tracker_rows(forms, today):
        yield header
        header = ""
        yield "\t".join(printable(cell) for cell in tracker_cells(row)) + "\n"


def form_text(form: RemsForm, today: date) -> Iterator[str]:
    """``rems show``: one form's answers, each with its source, and what is missing."""
    return story_text(text_lines(rems_story(form, today)))
