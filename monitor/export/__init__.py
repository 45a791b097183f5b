"""Exports for charts (issue #12): the PDF session record, the chart alone (PNG, SVG), CSV of
readings or of events, JSON Lines of ``session show --json``, FHIR R4 Bundles.

One implementation for both faces: ``monitor export`` (:mod:`monitor.cli.export`) and
the station (:func:`export_session`) call :func:`export`. It is headless (no screen), reads
through the services, and imports matplotlib, fpdf2 and fhir.resources only when a format
needs them (each costs 100-350 ms to import).

What every export promises:

- **the selection and nothing else**: sessions named by id and/or started within a period;
  an unknown id is refused before any file is made;
- **streamed**: sessions are read a batch at a time and written as they come (the PDF, which
  fpdf2 builds in memory, holds at most :data:`monitor.export.pdf.MOST_SESSIONS` sessions);
- **atomic, private files** (:mod:`monitor.export.files`): a temporary file in the same folder,
  synced, then renamed; mode 0600, a created folder 0700; an existing file is replaced only
  with ``overwrite``; a failure leaves no file at all;
- **interrupted, nothing left behind**: the command line turns SIGINT and SIGTERM into an
  exception that removes the temporary file; a temporary file left by an export killed
  outright (SIGKILL, a power cut) is removed by the next export to the same folder
  (:func:`monitor.export.files.remove_stale`, named in :attr:`ExportResult.removed`);
- **CSV for a spreadsheet by default**: formula-like text cells escaped, ``csv_for="data"``
  for values exactly as stored (:mod:`monitor.export.csv_out`);
- **nothing dropped**: a stored value that cannot be read is written marked "UNREADABLE" in
  the file, the rest of its session as usual, and named in :attr:`ExportResult.unreadable`
  (the command line warns of each; docs/storage.md, "Unreadable records"); a character no
  font of the PDF has is printed as its code point and named in :attr:`ExportResult.substituted`
  (docs/exports.md, "Fonts").
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor.errors import EntryError, Refused

if TYPE_CHECKING:
    from monitor.services import Service
    from monitor.unreadable import Unreadable
    from monitor.views import SessionView

FORMATS = ("csv", "json", "fhir", "pdf", "png", "svg")
WHATS = ("readings", "events")
#: ``--for`` of a CSV: a file for a spreadsheet (the default) or for data (monitor.export.csv_out).
CSV_FOR = ("spreadsheet", "data")
#: Formats that draw one session's chart alone.
CHART_FORMATS = ("png", "svg")
#: The libraries each format loads when it runs (imported then, never with ``monitor.export``).
LIBRARIES = {
    "pdf": ("fpdf", "matplotlib.figure", "matplotlib.backends.backend_agg"),
    "png": ("matplotlib.figure", "matplotlib.backends.backend_agg"),
    "svg": ("matplotlib.figure", "matplotlib.backends.backend_svg"),
    "fhir": ("fhir.resources.R4B.bundle",),
}
#: File name endings the station uses for each format.
SUFFIXES = {
    "csv": ".csv",
    "json": ".jsonl",
    "fhir": ".ndjson",
    "pdf": ".pdf",
    "png": ".png",
    "svg": ".svg",
}
#: Sessions read at a time: the CSV of readings reads plain rows; the others judge sessions.
CSV_BATCH = 500
VIEW_BATCH = 50
PDF_BATCH = 10
#: When the configuration names no clinic.
NO_CLINIC = "clinic name not configured"
#: A clinic's name on the PDF: one printable line at most this long (it heads every page).
CLINIC_MAX = 80
#: Session ids are database integers.
ID_MAX = 2**31 - 1

#: Told after each batch: sessions done so far, sessions in all.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Selection:
    """Which sessions to export: the ids named and/or those started within ``since``..
    ``until`` (aware times, both included; either end may be open)."""

    ids: tuple[int, ...] = ()
    since: datetime | None = None
    until: datetime | None = None

    @property
    def has_period(self) -> bool:
        """True when a period was given."""
        return self.since is not None or self.until is not None


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote."""

    path: Path
    format: str
    what: str | None
    sessions: int
    #: Readings or events (csv), sessions (json), Observations (fhir), pages (pdf), 1 chart.
    items: int
    unit: str
    bytes: int
    seconds: float
    #: Each stored value of the exported sessions that could not be read (marked in the file).
    unreadable: tuple[str, ...] = ()
    #: Temporary files of earlier exports, killed outright, that this export removed.
    removed: tuple[Path, ...] = ()
    #: Each field of the PDF that printed characters no font has as their code points.
    substituted: tuple[str, ...] = ()

    def summary(self) -> str:
        """One line: ``exported 3 sessions (36 readings) to out.csv``."""
        noun = "session" if self.sessions == 1 else "sessions"
        what = "" if self.unit == "sessions" else f" ({self.items} {self.unit})"
        return f"exported {self.sessions} {noun}{what} to {self.path}"


@dataclass(frozen=True)
class _Plan:
    """The sessions of a selection: how many, and their ids in order, a batch at a time."""

    total: int
    batches: Callable[[int], Iterator[list[int]]]


def _plan(service: Service, selection: Selection) -> _Plan:
    from monitor.services import exports as reads

    named = sorted(set(selection.ids))
    if not named and not selection.has_period:
        raise EntryError("say what to export: session ids, or --from/--to (a period)")
    wrong = [i for i in named if not 1 <= i <= ID_MAX]
    if wrong:
        raise EntryError(f"session id {wrong[0]} is out of range (1 to {ID_MAX})")
    reads.refuse_unknown(service, named)
    if not selection.has_period:

        def named_only(size: int) -> Iterator[list[int]]:
            for start in range(0, len(named), size):
                yield named[start : start + size]

        return _Plan(len(named), named_only)
    period = reads.Period(selection.since, selection.until)
    in_both = reads.in_period(service, named, period) if named else set()
    extra = [i for i in named if i not in in_both]
    total = reads.count_in_period(service, period) + len(extra)

    def merged(size: int) -> Iterator[list[int]]:
        # The period's ids (read a batch at a time) and the named ids outside it, in id order.
        batch: list[int] = []
        others = iter(extra)
        pending = next(others, None)
        for sid in reads.ids_in_period(service, period):
            while pending is not None and pending < sid:
                batch.append(pending)
                pending = next(others, None)
            batch.append(sid)
            if len(batch) >= size:
                yield batch
                batch = []
        while pending is not None:
            batch.append(pending)
            pending = next(others, None)
            if len(batch) >= size:
                yield batch
                batch = []
        if batch:
            yield batch

    return _Plan(total, merged)


def _check_request(fmt: str, what: str | None, total: int, csv_for: str | None = None) -> None:
    if fmt not in FORMATS:
        raise EntryError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    if what is not None and what not in WHATS:
        raise EntryError(f"--what {what!r}: use readings or events")
    if what == "events" and fmt != "csv":
        raise EntryError("--what events is a kind of CSV: give --format csv with it")
    if csv_for is not None and csv_for not in CSV_FOR:
        raise EntryError(f"--for {csv_for!r}: use spreadsheet or data")
    if csv_for is not None and fmt != "csv":
        raise EntryError(f"--for {csv_for} says what a CSV is for: give --format csv with it")
    if fmt in CHART_FORMATS and total != 1:
        raise EntryError(
            f"--format {fmt} draws one session's chart and the selection holds {total} "
            "sessions: name one session (or export a PDF, which holds each chart)"
        )
    if fmt == "pdf" and total == 0:
        raise EntryError("no session is in the selection: there is no record to print")
    from monitor.export.pdf import MOST_SESSIONS

    if fmt == "pdf" and total > MOST_SESSIONS:
        raise EntryError(
            f"the selection holds {total} sessions and one PDF holds at most {MOST_SESSIONS}: "
            "export a shorter period, or the data as csv/json/fhir"
        )


def _clinic_name(clinic: str) -> str:
    from monitor.services.base import clean_text

    name = clean_text(clinic, "--clinic (the clinic's name)")
    assert name is not None
    if len(name) > CLINIC_MAX:
        raise EntryError(f"--clinic is {len(name)} characters long: at most {CLINIC_MAX}")
    return name


def _database_files(service: Service) -> tuple[Path, ...]:
    url = service.engine.url
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return (Path(url.database).resolve(),)
    return ()


def export(
    service: Service,
    selection: Selection,
    fmt: str,
    path: str | Path,
    *,
    what: str | None = None,
    progress: Progress | None = None,
    overwrite: bool = False,
    clinic: str | None = None,
    csv_for: str | None = None,
) -> ExportResult:
    """Export the sessions of ``selection`` as ``fmt`` to the file ``path``.

    ``what`` (csv only): ``readings`` (default) or ``events``. ``csv_for`` (csv only):
    ``spreadsheet`` (default: text cells a spreadsheet would read as formulas escaped) or
    ``data`` (every value exactly as stored). ``progress`` is told after each
    batch how many sessions are done of how many. ``clinic`` names the clinic on the PDF
    (default: the configuration's name, if it has one). Everything a user can get wrong (an
    unknown id, a period that ends before it starts, a format that cannot hold the
    selection, a path that is a folder, exists or cannot be written) is refused with
    :class:`~monitor.errors.Refused` before any file appears."""
    from monitor.export.files import atomic_file, check_target, remove_stale

    started = time.perf_counter()
    if fmt not in FORMATS:
        _check_request(fmt, what, 0, csv_for)
    if clinic is not None:
        clinic = _clinic_name(clinic)
    target = check_target(path, overwrite=overwrite, protected=_database_files(service))
    plan = _plan(service, selection)
    _check_request(fmt, what, plan.total, csv_for)
    done = 0

    def tick(count: int) -> None:
        nonlocal done
        done += count
        if progress is not None:
            progress(done, plan.total)

    if progress is not None:
        progress(0, plan.total)
    kind = what or ("readings" if fmt == "csv" else None)
    found: list[Unreadable] = []
    removed = remove_stale(target.parent)
    spreadsheet = csv_for != "data"
    said: list[str] = []
    with atomic_file(target, overwrite=overwrite) as out:
        items, unit = _write(service, plan, fmt, kind, out, tick, clinic, found, said, spreadsheet)
        size = out.tell()
    return ExportResult(
        path=target,
        format=fmt,
        what=kind,
        sessions=plan.total,
        items=items,
        unit=unit,
        bytes=size,
        seconds=time.perf_counter() - started,
        unreadable=tuple(dict.fromkeys(str(u) for u in found)),
        removed=tuple(removed),
        substituted=tuple(said),
    )


def _views(
    service: Service,
    plan: _Plan,
    size: int,
    tick: Callable[[int], None],
    found: list[Unreadable],
) -> Iterator[SessionView]:
    from monitor.services.exports import session_views

    for ids in plan.batches(size):
        for view in session_views(service, ids):
            found.extend(view.unreadable)
            yield view
        tick(len(ids))


def _write(
    service: Service,
    plan: _Plan,
    fmt: str,
    what: str | None,
    out: Any,
    tick: Callable[[int], None],
    clinic: str | None,
    found: list[Unreadable],
    said: list[str],
    spreadsheet: bool = True,
) -> tuple[int, str]:
    if fmt == "csv" and what == "readings":
        from monitor.export.csv_out import READING_COLUMNS, CsvWriter
        from monitor.services.exports import reading_table

        writer = CsvWriter(out, READING_COLUMNS, spreadsheet=spreadsheet)
        count = 0
        for ids in plan.batches(CSV_BATCH):
            for rows in reading_table(service, ids, found):
                count += writer.write(rows)
            tick(len(ids))
        return count, "readings"
    if fmt == "csv":
        from monitor.export.csv_out import EVENT_COLUMNS, CsvWriter, event_records

        writer = CsvWriter(out, EVENT_COLUMNS, spreadsheet=spreadsheet)
        count = 0
        for view in _views(service, plan, VIEW_BATCH, tick, found):
            count += writer.write(event_records(view))
        return count, "events"
    if fmt == "json":
        from monitor.export.json_out import write_sessions

        return write_sessions(out, _views(service, plan, VIEW_BATCH, tick, found)), "sessions"
    if fmt == "fhir":
        from monitor.export.fhir import write_bundles

        views = _views(service, plan, VIEW_BATCH, tick, found)
        return write_bundles(out, views, service.now()), "observations"
    if fmt in CHART_FORMATS:
        from monitor.export.chart import render

        [view] = list(_views(service, plan, 1, tick, found))
        out.write(render(view, service.config.thresholds, fmt))
        return 1, "chart"
    return _pdf(service, plan, out, tick, clinic, found, said), "pages"


def _pdf(
    service: Service,
    plan: _Plan,
    out: Any,
    tick: Callable[[int], None],
    clinic: str | None,
    found: list[Unreadable],
    said: list[str],
) -> int:
    from monitor.export.pdf import write_records
    from monitor.services.exports import rems_forms, session_views

    def batches() -> Iterator[tuple[Sequence[SessionView], dict[int, Any]]]:
        for ids in plan.batches(PDF_BATCH):
            views = session_views(service, ids)
            found.extend(u for view in views for u in view.unreadable)
            yield views, rems_forms(service, views)

    name = clinic or getattr(service.config, "clinic_name", None) or NO_CLINIC
    return write_records(
        out,
        batches(),
        clinic=name,
        exported_at=service.now(),
        thresholds=service.config.thresholds,
        today=service.today(),
        done=tick,
        fonts=getattr(service.config, "pdf_fonts", ()),
        said=said,
    )


def default_folder() -> Path:
    """Where the station writes exports: ``monitor-exports`` in the user's documents folder."""
    from platformdirs import user_documents_path

    return user_documents_path() / "monitor-exports"


def export_session(
    service: Service,
    session_id: int,
    fmt: str = "pdf",
    *,
    folder: Path | None = None,
    clinic: str | None = None,
) -> ExportResult:
    """The station's export of one session (its detail view and review mode): ``fmt`` (default
    the PDF record; a CSV is one for a spreadsheet) to a new file
    ``session-<id>-<YYYYmmdd-HHMMSS>.<ext>`` in ``folder``
    (default :func:`default_folder`, made 0700 if missing), never replacing a file. Blocking
    (a one-session PDF takes about half a second): call it from a thread worker. Refusals
    are :class:`~monitor.errors.Refused` with a message to show as it is."""
    if fmt not in FORMATS:
        raise EntryError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    where = folder if folder is not None else default_folder()
    stamp = service.now().astimezone().strftime("%Y%m%d-%H%M%S")
    base = f"session-{session_id}-{stamp}"
    for attempt in range(1, 100):
        name = base + ("" if attempt == 1 else f"-{attempt}") + SUFFIXES[fmt]
        if not (where / name).exists():
            break
    else:
        raise Refused(f"{where} already holds 99 exports of session {session_id} this second")
    return export(service, Selection(ids=(session_id,)), fmt, where / name, clinic=clinic)
