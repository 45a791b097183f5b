"""``monitor export``: the PDF record, the chart, CSV, JSON Lines and FHIR (docs/exports.md).

Read-only and, like ``session show``, without ``--by``: whoever can read the database can
export it. The work is :func:`monitor.export.export`'s, which the station calls too; this
module turns options into a selection and shows a progress bar on a terminal.
"""

from __future__ import annotations

import atexit
import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from monitor.cli.output import FROM_HELP, TO_HELP, Context, pass_context, period, printable
from monitor.cli.params import ID

if TYPE_CHECKING:
    from rich.console import Console

    from monitor.export import Progress

# The lists live in monitor.export, which this module must not import at the top (`monitor
# --help` stays fast); tests/export/test_export.py holds the two equal.
FORMATS = ("csv", "json", "fhir", "pdf", "png", "svg")
WHATS = ("readings", "events")


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
    with it paused (the full collections an import triggers walk everything loaded so far,
    about 0.15 s of a one-session PDF), and what was loaded is then frozen (never walked
    again: it lives as long as the process); at the interpreter's exit, everything is left to
    the operating system rather than walked once more (0.3 s). In between, the export's own
    garbage is collected as usual, and after it everything is unfrozen again (the same
    command run in a long-lived process leaks nothing). The file and the database are
    closed before the exit."""
    import importlib

    from monitor.export import LIBRARIES

    gc.disable()
    try:
        try:
            _ = context.service
            for name in LIBRARIES.get(fmt, ()):
                importlib.import_module(name)
        finally:
            gc.freeze()
            gc.enable()
        yield
    finally:
        gc.unfreeze()
        atexit.unregister(gc.freeze)
        atexit.register(gc.freeze)


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
    help="With --format csv: readings (default), or events, acknowledgements and check skips.",
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
    path: str,
    overwrite: bool,
    clinic: str | None,
    progress: bool | None,
) -> None:
    """Export sessions, by id and/or started within --from/--to, to one file written
    atomically with mode 0600 (an existing file is kept unless --overwrite)."""
    from monitor.export import Selection, export

    start, end = period(context, since, until)
    selection = Selection(ids=tuple(session_ids), since=start, until=end)
    show = sys.stderr.isatty() if progress is None else progress
    with _lean_collector(context, fmt), _progress_bar(show) as update:
        result = export(
            context.service,
            selection,
            fmt,
            path,
            what=what,
            progress=update,
            overwrite=overwrite,
            clinic=clinic,
        )
    click.echo(result.summary())
    for marker in result.unreadable:
        # Written marked in the file, never dropped (docs/storage.md, "Unreadable records").
        click.echo(f"warning: {printable(marker)}: exported marked UNREADABLE", err=True)
    for line in result.substituted:
        # Printed as its code point, never dropped (docs/exports.md, "Fonts").
        click.echo(f"warning: {printable(line)}", err=True)
