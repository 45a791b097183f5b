"""``monitor export``: the PDF record, the chart, CSV, JSON Lines and FHIR (docs/exports.md).

Read-only and, like ``session show``, without ``--by``: whoever can read the database can
export it. The work is :func:`monitor.export.export`'s, which the station calls too; this
module turns options into a selection and shows a progress bar on a terminal.

Interrupted (Ctrl-C, SIGINT, or SIGTERM from a job runner), the export stops: the signal is
raised as :class:`Interrupted` in the middle of the work (outside the database's libraries:
:func:`_stopped_by_signals`), the temporary file goes as on any failure, and one line says
so, ``error: export interrupted (SIGTERM); no file written``, with exit status 128 + the
signal's number (130, 143; docs/interface.md, "Exit status").
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from monitor.cli.output import (
    FROM_HELP,
    TO_HELP,
    Context,
    hold_collector,
    imports_done,
    pass_context,
    period,
    printable,
    release_collector,
)
from monitor.cli.params import ID

if TYPE_CHECKING:
    from rich.console import Console

    from monitor.export import ExportResult, Progress

# The lists live in monitor.export, which this module must not import at the top (`monitor
# --help` stays fast); tests/export/test_export.py holds the two equal.
FORMATS = ("csv", "json", "fhir", "pdf", "png", "svg")
WHATS = ("readings", "events")
CSV_FOR = ("spreadsheet", "data")


class Interrupted(BaseException):
    """SIGINT or SIGTERM during ``monitor export``. A :class:`BaseException`, as
    KeyboardInterrupt is: no ``except Exception`` on its way stops it, every ``finally`` and
    context manager (the temporary file's) runs."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


#: Where an exception raised at any instruction could break the library's own state (a
#: connection half closed): a signal that lands there is raised a moment later, outside.
_NOT_HERE = ("sqlalchemy.", "psycopg.", "psycopg_pool.", "sqlite3.")
#: How long (seconds) to wait before trying again to raise a signal that landed there.
_RETRY = 0.02


def _in_database(frame: Any) -> bool:
    while frame is not None:
        module = frame.f_globals.get("__name__", "") + "."
        if module.startswith(_NOT_HERE):
            return True
        frame = frame.f_back
    return False


@contextmanager
def _stopped_by_signals() -> Iterator[None]:
    """SIGINT and SIGTERM raise :class:`Interrupted` while the block runs: at once, or, when
    the signal lands inside the database's libraries, as soon as they are left (a timer,
    SIGALRM, tries again every :data:`_RETRY` seconds). Once raised, later signals are
    ignored, so that the clean-up is not cut short. A signal this process was started
    ignoring (a background job's SIGINT) stays ignored. The handlers before are put back on
    leaving."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may handle signals (a caller's own thread)
        return
    alarm = getattr(signal, "SIGALRM", None)  # none on Windows: raised where it lands
    asked: list[int] = []  # the first signal received
    raised = False

    def stop(signum: int, frame: Any) -> None:
        nonlocal raised
        if signum != alarm and not asked:
            asked.append(signum)
        if raised or not asked:
            return
        if alarm is not None and _in_database(frame):
            signal.setitimer(signal.ITIMER_REAL, _RETRY)
            return
        raised = True
        raise Interrupted(asked[0])

    before: dict[int, Any] = {}
    for number in (signal.SIGINT, signal.SIGTERM, alarm):
        if number is None:
            continue
        handler = signal.getsignal(number)
        if handler is signal.SIG_IGN and number != alarm:
            continue
        before[number] = signal.SIG_DFL if handler is None else handler
        signal.signal(number, stop)
    try:
        yield
    finally:
        if alarm is not None:
            signal.setitimer(signal.ITIMER_REAL, 0)
        for signum, handler in before.items():
            signal.signal(signum, handler)


def _interruption(error: BaseException) -> Interrupted | None:
    """The :class:`Interrupted` behind ``error``: itself, or the one during whose unwinding
    a library failed in turn (its state cut in the middle)."""
    seen: set[int] = set()
    found: BaseException | None = error
    while found is not None and id(found) not in seen:
        if isinstance(found, Interrupted):
            return found
        seen.add(id(found))
        found = found.__context__
    return None


def _identity(path: str) -> tuple[int, int, int] | None:
    try:
        found = os.stat(os.path.expanduser(path))
    except (OSError, ValueError):
        return None
    return (found.st_dev, found.st_ino, found.st_mtime_ns)


def _interrupted_line(stop: Interrupted, path: str, before: tuple[int, int, int] | None) -> str:
    import signal

    name = signal.Signals(stop.signum).name
    if _identity(path) not in (None, before):  # it came after the file was given its name
        return f"export interrupted ({name}) after {path} was written whole"
    return f"export interrupted ({name}); no file written"


@contextmanager
def _progress_bar(show: bool, console: Console | None = None) -> Iterator[Progress | None]:
    """A rich progress bar on standard error (count and time left) when it is a terminal;
    nothing otherwise (a script's log stays clean)."""
    if not show:
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    bar = Progress(
        TextColumn("exporting"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("sessions"),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        console=console or Console(stderr=True),
        transient=True,
    )
    task = bar.add_task("export", total=None)

    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    with bar:
        yield update


@contextmanager
def _lean_collector(context: Context, fmt: str) -> Iterator[None]:
    """The export of a short-lived process, with less of the garbage collector's work
    (docs/benchmarks.md, "Exports"): the services and the libraries of ``fmt`` are loaded
    with it held off (the full collections an import triggers walk everything loaded so far,
    about 0.15 s of a one-session PDF), and what was loaded is then frozen (never walked
    again: it lives as long as the process); at the interpreter's exit, everything is left to
    the operating system rather than walked once more (0.3 s). In between, the export's own
    garbage is collected as usual, and after it everything is unfrozen again (the same
    command run in a long-lived process leaks nothing): :func:`~monitor.cli.output.\
    hold_collector`, as every command's start. The file and the database are closed before
    the exit."""
    import importlib

    from monitor.export import LIBRARIES

    hold_collector()
    context.more_imports = True
    try:
        try:
            _ = context.service
            for name in LIBRARIES.get(fmt, ()):
                importlib.import_module(name)
        finally:
            context.more_imports = False
            imports_done()
        yield
    finally:
        release_collector()


@click.command("export")
@click.argument("session_ids", nargs=-1, type=ID)
@click.option("--from", "since", help=f"Sessions started at or after this time ({FROM_HELP})")
@click.option("--to", "until", help=f"Sessions started at or before this time ({TO_HELP})")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    required=True,
    help="pdf: the session record; png/svg: one session's chart; csv: a row per reading "
    "(or event, with --what events); json: a session show --json object per line; fhir: a "
    "FHIR R4 Bundle per line.",
)
@click.option(
    "--what",
    type=click.Choice(WHATS),
    help="With --format csv: readings (default), or events, acknowledgements, check skips, "
    "overrides and the review.",
)
@click.option(
    "--for",
    "csv_for",
    type=click.Choice(CSV_FOR),
    help="With --format csv: spreadsheet (default: a text cell beginning with = + - @ gets a ' "
    "in front, so that no spreadsheet runs it as a formula) or data (every value exactly as "
    "stored, for programs).",
)
@click.option("-o", "--output", "path", required=True, help="The file to write (mode 0600).")
@click.option("--overwrite", is_flag=True, help="Replace the file if it exists.")
@click.option("--clinic", help="The clinic's name on the PDF (default: the configuration's).")
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Show a progress bar on standard error (default: when it is a terminal).",
)
@pass_context
def export_command(
    context: Context,
    session_ids: tuple[int, ...],
    since: str | None,
    until: str | None,
    fmt: str,
    what: str | None,
    csv_for: str | None,
    path: str,
    overwrite: bool,
    clinic: str | None,
    progress: bool | None,
) -> None:
    """Export sessions, by id and/or started within --from/--to, to one file written
    atomically with mode 0600 (an existing file is kept unless --overwrite). Interrupted
    (Ctrl-C, SIGTERM), it leaves no file."""
    before = _identity(path)
    try:
        with _stopped_by_signals():
            result = _export(context, session_ids, since, until, fmt, what, csv_for, path,
                             overwrite, clinic, progress)  # fmt: skip
    except BaseException as error:
        stop = _interruption(error)
        if stop is None:
            raise
        click.echo(f"error: {printable(_interrupted_line(stop, path, before))}", err=True)
        sys.exit(128 + stop.signum)
    for removed in result.removed:
        click.echo(
            f"note: removed {printable(str(removed))}, the temporary file of an export "
            "stopped earlier",
            err=True,
        )
    click.echo(result.summary())
    for marker in result.unreadable:
        # Written marked in the file, never dropped (docs/storage.md, "Unreadable records").
        click.echo(f"warning: {printable(marker)}: exported marked UNREADABLE", err=True)
    for line in result.substituted:
        # Printed as its code point, never dropped (docs/exports.md, "Fonts").
        click.echo(f"warning: {printable(line)}", err=True)


def _export(
    context: Context,
    session_ids: tuple[int, ...],
    since: str | None,
    until: str | None,
    fmt: str,
    what: str | None,
    csv_for: str | None,
    path: str,
    overwrite: bool,
    clinic: str | None,
    progress: bool | None,
) -> ExportResult:
    from monitor.export import Selection, export

    start, end = period(context, since, until)
    selection = Selection(ids=tuple(session_ids), since=start, until=end)
    show = sys.stderr.isatty() if progress is None else progress
    with _lean_collector(context, fmt), _progress_bar(show) as update:
        return export(
            context.service,
            selection,
            fmt,
            path,
            what=what,
            progress=update,
            overwrite=overwrite,
            clinic=clinic,
            csv_for=csv_for,
        )
