"""One session's log as the review screen shows it: the story's lines
(:mod:`monitor.present.session`) laid out as options under their days, and its title."""

from __future__ import annotations

from dataclasses import dataclass

from rich.table import Table
from rich.text import Text
from textual.widgets.option_list import Option

from monitor.present.floor import source_words
from monitor.present.record import flag_line, note_texts, reading_values, review_lines
from monitor.present.session import EntryKind, LogEntry, clock_text, session_log
from monitor.services import Service
from monitor.views import ReadingView, SessionView
from tui.styled import line_text


@dataclass(frozen=True)
class LoadedLog:
    """A session and its story, as read in a worker."""

    view: SessionView
    entries: tuple[LogEntry, ...]


def load_log(service: Service, session_id: int) -> LoadedLog:
    """The session as of its discharge and its log with every sign-off (runs in a worker)."""
    view = service.session(session_id)
    return LoadedLog(view, tuple(session_log(view, service.audit(session_id))))


def entry_text(entry: LogEntry) -> Table:
    """A log entry as the station shows it: the time, then the headline and who, with its
    detail lines under the headline; a long line wraps under its own text, not the time."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=5, no_wrap=True, style="bold")
    grid.add_column(ratio=1)
    for index, line in enumerate(entry.lines):
        text = line_text(line)
        if index == 0 and entry.by and f"by {entry.by}" not in text.plain:
            text.append(f"  by {entry.by}", style="italic")
        grid.add_row(clock_text(entry.at) if index == 0 else "", text)
    return grid


def log_options(entries: tuple[LogEntry, ...]) -> list[Option]:
    """The log's lines: each entry (its index as id), under a line naming its local day
    whenever the day changes (a sign-off days later is not read as the same day's)."""
    options: list[Option] = []
    day = None
    for index, entry in enumerate(entries):
        local = entry.at.astimezone().date()
        if local != day:
            day = local
            options.append(Option(Text(f"── {local:%a %d %b %Y} ──", style="bold"), disabled=True))
        options.append(Option(entry_text(entry), id=str(index)))
    return options


def first_reading(options: list[Option], entries: tuple[LogEntry, ...]) -> int | None:
    """Where the log opens: on the first reading still in force (the one `v` and `c` act
    on, with no arrow first), else the first reading, else ``None``."""
    readings = [
        (i, entries[int(option.id)])
        for i, option in enumerate(options)
        if option.id is not None and entries[int(option.id)].kind is EntryKind.READING
    ]
    in_force = [i for i, entry in readings if entry.in_force]
    return next(iter(in_force or [i for i, _ in readings]), None)


def log_title(view: SessionView) -> Text:
    """The session in one line: who, then the review's verdict as the story words it
    (:func:`monitor.present.record.review_lines`; "in observation" before the discharge),
    then the protocol, the bay and the day of discharge."""
    title = Text(f"#{view.id} {view.patient}  ", style="bold")
    if view.signed_by is None and view.discharged_at is None:
        title.append("in observation", style="bold yellow")
    else:
        line_text(review_lines(view)[-1], title)
    title.append(f"  {view.protocol}", style="bold")
    if view.bay:
        title.append(f"  {view.bay}")
    if view.discharged_at is not None:
        title.append(f"  {view.discharged_at.astimezone():%d %b %Y}")
    return title


def reading_text(reading: ReadingView) -> Text:
    """A reading in one line, its values and notes as the story words them, with its flags
    and their acknowledgements: what a supervisor is about to change."""
    out = Text(f"#{reading.id} {clock_text(reading.measured_at)}  ", style="bold")
    out.append(reading_values(reading), style="bold")
    out.append(f"  recorded by {reading.recorded_by}", style="italic")
    if (source := source_words(reading)) is not None:
        out.append(f"  [{source}]", style="italic")
    for note in note_texts(reading):
        out.append(f"  [{note}]", style="italic")
    for flag in reading.flags:
        out.append("\n  ")
        line_text(flag_line(flag, reading.recorded_at), out)
    return out
