"""``monitor record``, ``amend`` and ``void``: readings saved, corrected and voided
(docs/interface.md).

``record`` opens the recording services alone (:mod:`monitor.services.recording`: SQLAlchemy
Core, no ORM, not the whole services layer), the rest the whole :class:`~monitor.services.\
Service`. ``record --stdin`` saves its lines in groups, one transaction each
(docs/interface.md, "Batch entry").
"""

from __future__ import annotations

import json
import sys
import time
from typing import TYPE_CHECKING, Any

import click

from monitor.cli.output import (
    EXIT_REFUSED,
    Context,
    acting,
    echo_json,
    local,
    moment,
    pass_context,
    printable,
    story_text,
    time_help,
)
from monitor.cli.params import ID
from monitor.errors import Refused

if TYPE_CHECKING:
    from collections.abc import Iterable

    from monitor.core.served import Served
    from monitor.services.recording import Group, Recorded
    from monitor.views import ReadingView

#: What ``record`` opens: saving readings, the PIN check and the rules in force (issue #23).
RECORDING = "monitor.services.recording:RecordServices"
#: A batch's group, one transaction: at most this many lines...
GROUP_LINES = 200
#: ... begun at most this long ago; a group also ends when no line is waiting (a gateway that
#: sends one line at a time has each answered at once).
GROUP_SECONDS = 0.05


def _print_reading(reading: ReadingView, served: Served | None = None) -> None:
    """The reading, its flags, then (a reading just recorded) which check it served and which
    checks before it remain not done (:func:`monitor.present.served.served_lines`)."""
    from monitor.core.entry import format_entry

    note = f" (corrects reading {reading.corrects})" if reading.corrects else ""
    click.echo(
        f"reading {reading.id} at {local(reading.measured_at)}: "
        f"{format_entry(reading.vitals)}{note}"
    )
    if not reading.flags:
        click.echo("  no flags")
    for flag in reading.flags:
        click.echo(
            f"  {flag.severity.symbol:<3} {flag.severity.value:<6} {flag.message}  [flag {flag.id}]"
        )
    if served is not None:
        from monitor.present.served import served_lines

        for line in story_text(served_lines(served)):
            click.echo(f"  {line}", nl=False)


def _entry_and_time(entry: tuple[str, ...], at: str | None) -> tuple[str, str | None]:
    """The quick entry and its time: ``"hr 71 @ 12:30"`` as the station's entry line reads it
    (:func:`monitor.timeparse.split_entry_time`), or ``--at``; refused when given both."""
    from monitor.core.entry import cut
    from monitor.timeparse import split_entry_time

    text, when = split_entry_time(" ".join(entry))
    if when is not None and at is not None:
        raise Refused(
            f"the time is given twice, '@ {printable(cut(when))}' in the entry and --at "
            f"'{printable(cut(at))}': keep one of them"
        )
    return text, when if when is not None else at


@click.command()
@click.argument("session_id", type=ID)
@click.argument("entry", nargs=-1)
@click.option("--by", required=True, help="The user recording the reading.")
@click.option("--at", "at", help=time_help("When it was measured (or '@ TIME' at the entry's end)"))
@click.option("--json", "as_json", is_flag=True, help="Print the saved reading as JSON.")
@click.option(
    "--key",
    help="Your key for this entry (e.g. a UUID): the same entry sent again after a lost reply "
    "returns the reading first saved instead of a duplicate; the key with another entry is "
    "refused (a new reading needs a new key). With --stdin, line N gets the key KEY:N.",
)
@click.option(
    "--stdin",
    "from_stdin",
    is_flag=True,
    help="Batch: one 'ENTRY [@ TIME]' per line of standard input (after the PIN line with "
    "--pin-stdin), each saved or refused on its own, one result line each.",
)
@acting(services=RECORDING)
@pass_context
def record(
    context: Context,
    session_id: int,
    entry: tuple[str, ...],
    by: str,
    at: str | None,
    as_json: bool,
    key: str | None,
    from_stdin: bool,
) -> None:
    """Save one reading, in quick entry ("142/88 hr 76 spo2 98", "@ 10:28" at its end for the
    measurement time, as at the station), and print its flags; or, with --stdin, one reading
    per line of standard input."""
    if from_stdin:
        if entry or at:
            raise Refused("record --stdin takes the entries from standard input: no ENTRY or --at")
        _record_lines(context, session_id, by, as_json, key)
        return
    if not entry:
        raise Refused('record needs an ENTRY (e.g. "142/88 hr 76") or --stdin')
    text, when = _entry_and_time(entry, at)
    # The time as typed: the service reads it against the save's own clock, and a retry
    # with a key must name the same time as given ("5 min ago" again), not the same instant.
    recorded = context.service.record_reading_once(
        session_id, text, by=by, measured_at=when, key=key
    )
    reading = recorded.reading
    if not recorded.saved_now:
        # A retry after a lost reply: say so, on stderr (stdout stays the reading, as before).
        click.echo(
            f"note: already saved as reading {reading.id} (key {key!r}): not saved again", err=True
        )
    if as_json:
        from monitor.present.json import reading_json

        echo_json(reading_json(reading))
    else:
        _print_reading(reading, recorded.served)


class _Incoming:
    """Standard input's lines as they come, read by a thread of their own, so that a group
    can end when no line is waiting instead of waiting for one."""

    #: Nothing waiting now; the end of the input.
    NONE, END = object(), object()

    def __init__(self, source: Iterable[bytes | str]) -> None:
        import queue
        import threading

        self._lines: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._empty = queue.Empty
        threading.Thread(target=self._read, args=(source,), daemon=True).start()

    def _read(self, source: Iterable[bytes | str]) -> None:
        try:
            for raw in source:
                self._lines.put(raw)
        except BaseException as error:  # said by the main thread, where it can be
            self._lines.put(error)
        self._lines.put(self.END)

    def next(self, *, wait: bool) -> Any:
        """The next line (bytes or text), :data:`NONE` when none is waiting (``wait=False``),
        or :data:`END`."""
        try:
            found = self._lines.get(block=wait)
        except self._empty:
            return self.NONE
        if isinstance(found, BaseException):
            raise found
        return found


def _record_lines(
    context: Context, session_id: int, by: str, as_json: bool, key: str | None
) -> None:
    """``record --stdin``: each line saved or refused on its own (its own savepoint and audit
    row), one result line each, in the order of the lines; exit 2 if any line was refused.
    A line whose key ``KEY:N`` already holds other readings is one of those refused.

    Lines are saved in groups, one transaction each (:meth:`~monitor.services.recording.\
    RecordServices.group`): up to :data:`GROUP_LINES` lines begun within :data:`GROUP_SECONDS`,
    or fewer when no line is waiting. A group's lines are answered once it is committed, so
    a line answered is saved, and one not answered (the process killed) was not, or is
    found under its key when sent again."""
    service = context.service
    counts = {"saved": 0, "again": 0, "refused": 0}
    # Bytes where there are bytes: a line that is not UTF-8 is refused on its own.
    incoming = _Incoming(getattr(sys.stdin, "buffer", sys.stdin))
    number = 0
    raw = incoming.next(wait=True)
    while raw is not _Incoming.END:
        done: list[int | str] = []  # each line's place in the group's results, or its refusal
        with service.group() as group:
            started = time.monotonic()
            while True:
                number += 1
                done.append(_record_line(group, session_id, by, key, number, raw))
                if len(done) >= GROUP_LINES or time.monotonic() - started >= GROUP_SECONDS:
                    raw = _Incoming.NONE  # the next line, if any, goes to the next group
                    break
                raw = incoming.next(wait=False)
                if raw is _Incoming.NONE or raw is _Incoming.END:
                    break
        # Committed: now each line is answered (a gateway reads each result as it comes).
        first = number - len(done) + 1
        answers = [
            _answer(line, outcome, group.recorded, as_json, key, counts)
            for line, outcome in enumerate(done, start=first)
        ]
        click.echo("".join(answers), nl=False)
        sys.stdout.flush()
        if raw is _Incoming.NONE:
            raw = incoming.next(wait=True)
    again = counts["again"]
    already = f", {again} already saved (same key)" if again else ""
    click.echo(f"{counts['saved']} saved{already}, {counts['refused']} refused", err=True)
    if counts["refused"]:
        sys.exit(EXIT_REFUSED)


def _record_line(
    group: Group, session_id: int, by: str, key: str | None, number: int, raw: bytes | str
) -> int | str:
    """Save one line of a batch in ``group``: its place in the group's results, or why it
    was refused."""
    from monitor.timeparse import split_entry_time

    try:
        line = (raw.decode("utf-8") if isinstance(raw, bytes) else raw).rstrip("\r\n")
        text, when = split_entry_time(line)
        if not text:
            raise Refused("empty line: nothing to record")
        return group.record(
            session_id,
            text,
            by=by,
            measured_at=when,  # as typed, as for a single reading
            key=None if key is None else f"{key}:{number}",
        )
    except Refused as error:
        return printable(str(error))
    except UnicodeDecodeError:
        return "the line is not UTF-8 text"


def _answer(
    number: int,
    outcome: int | str,
    recorded: list[Recorded | None],
    as_json: bool,
    key: str | None,
    counts: dict[str, int],
) -> str:
    """The result line of line ``number`` (its group committed), counted in ``counts``."""
    from monitor.core.entry import format_entry
    from monitor.present.json import reading_json

    if isinstance(outcome, str):
        counts["refused"] += 1
        if as_json:
            return json.dumps({"line": number, "saved": False, "error": outcome}) + "\n"
        return f"line {number}: refused: {outcome}\n"
    result = recorded[outcome]
    assert result is not None  # the group has judged it
    reading = result.reading
    counts["saved" if result.saved_now else "again"] += 1
    if as_json:
        answer: dict[str, Any] = {"line": number, "saved": True, "reading": reading_json(reading)}
        if not result.saved_now:
            answer["already_saved"] = True
        return json.dumps(answer) + "\n"
    if not result.saved_now:
        return (
            f"line {number}: already saved as reading {reading.id} (key "
            f"{key}:{number}); not saved again\n"
        )
    flags = "; ".join(f"{f.severity.symbol} {f.message}" for f in reading.flags)
    served = f"  served {reading.served_check}" if reading.served_check else ""
    return (
        f"line {number}: reading {reading.id} at {local(reading.measured_at)}: "
        f"{format_entry(reading.vitals)}" + (f"  [{flags}]" if flags else "") + served + "\n"
    )


@click.command()
@click.argument("reading_id", type=ID)
@click.argument("entry", nargs=-1, required=True)
@click.option("--by", required=True, help="The user correcting it.")
@click.option("--reason", required=True, help="Why the reading is corrected.")
@click.option(
    "--at",
    "at",
    help=time_help(
        "The corrected measurement time (or '@ TIME' at the entry's end)", "default the original's"
    ),
)
@click.option(
    "--replace", is_flag=True, help="The entry is the whole reading: unnamed measures are cleared."
)
@click.option("--json", "as_json", is_flag=True, help="Print the correction as JSON.")
@acting
@pass_context
def amend(
    context: Context,
    reading_id: int,
    entry: tuple[str, ...],
    by: str,
    reason: str,
    at: str | None,
    replace: bool,
    as_json: bool,
) -> None:
    """Correct a reading; the original stays, superseded, with its flags. Unnamed measures keep
    their values unless --replace."""
    text, when = _entry_and_time(entry, at)
    reading = context.service.amend(
        reading_id, text, by=by, reason=reason, at=moment(when, context), replace=replace
    )
    if as_json:
        from monitor.present.json import reading_json

        echo_json(reading_json(reading))
    else:
        _print_reading(reading)


@click.command()
@click.argument("reading_id", type=ID)
@click.option("--by", required=True, help="The user voiding it.")
@click.option("--reason", required=True, help="Why, e.g. 'entered in error: wrong patient'.")
@acting
@pass_context
def void(context: Context, reading_id: int, by: str, reason: str) -> None:
    """Void a reading entered in error: it stays, struck through, and counts for nothing; its
    open flags are acknowledged with the reason."""
    reading = context.service.void(reading_id, by=by, reason=reason)
    assert reading.voided is not None
    click.echo(f"reading {reading.id} voided by {reading.voided.by}: {reading.voided.reason}")


@click.command()
@click.argument("reading_ids", type=ID, nargs=-1, required=True)
@click.option("--by", required=True, help="The nurse validating them.")
@acting
@pass_context
def validate(context: Context, reading_ids: tuple[int, ...], by: str) -> None:
    """Validate readings a bedside monitor sent (docs/devices.md): from then on they serve
    checks and the discharge gate. All or none. A reading that is wrong is voided instead
    (`monitor void ID --reason "artefact: ..."`)."""
    done = context.service.validate_readings(list(reading_ids), by=by)
    readings = "reading" if len(done) == 1 else "readings"
    click.echo(f"{readings} {', '.join(map(str, done))} validated by {printable(by)}")
