"""What every command of the command line shares (docs/interface.md): the :class:`Context`,
``--by`` with its PIN (:func:`acting`) and ``--cosign`` with the co-signer's (:func:`cosigning`),
typed times and periods, and the output (local times, JSON, lines written as they are made, one
printable line per value)."""

from __future__ import annotations

import atexit
import functools
import gc
import json
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from monitor.core.text import readable
from monitor.errors import PinRefused, Refused
from monitor.timeforms import FROM_FORMS, TIME_FORMS, TO_FORMS

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from datetime import datetime

    from monitor.core.config import ClinicConfig
    from monitor.present.parts import Line
    from monitor.services import Service

#: Exit status of a refusal a user can cause (one ``error: ...`` line, nothing saved).
EXIT_REFUSED = 2
#: Exit status of a database that cannot be used or refused the change.
EXIT_FAILED = 1

PIN_ENV = "MONITOR_PIN"
#: The co-signer's PIN (``--cosign NAME``) when it does not come from standard input.
COSIGN_PIN_ENV = "MONITOR_COSIGN_PIN"

#: What :attr:`Context.service` opens unless a command asks for less: every capability.
WHOLE_SERVICES = "monitor.services.service:Service"

#: The help of every ``--from`` and ``--to``: the forms the one time parser accepts.
FROM_HELP = FROM_FORMS
TO_HELP = TO_FORMS


def time_help(what: str, default: str = "default now") -> str:
    """The help of an option that takes a time: ``what`` it is, every form accepted
    (:data:`monitor.timeforms.TIME_FORMS`, as the station's entry line takes them), and
    what leaving it out means."""
    return f"{what}: {TIME_FORMS}; {default}."


class Context:
    """What every command gets: the options given, resolved when first needed, and the
    station of this entry point, if it has one ("module:function", loaded when opened).

    (A plain class: ``dataclasses`` alone would add a fifth to ``monitor --help``'s start.)"""

    def __init__(self, db: str | None, config_path: str | None, station: str | None = None) -> None:
        self.db = db
        self.config_path = config_path
        self.station = station
        #: The services :attr:`service` opens (``"module:Class"``): the whole
        #: :class:`~monitor.services.Service`, unless the command asked for less
        #: (:func:`acting`'s ``services``: ``monitor record`` opens the recording alone).
        self.services = WHOLE_SERVICES
        #: The command imports more after opening the services (an export's libraries): it
        #: says itself when its imports are done (:func:`imports_done`).
        self.more_imports = False
        self._config: ClinicConfig | None = None
        self._service: Service | None = None

    @property
    def config(self) -> ClinicConfig:
        """This station's settings from ``--config`` (loaded once): ``clinic_name`` and
        ``bays`` only; a clinical rule there is refused, naming ``monitor config load`` (the
        clinic's rules are the database's, docs/configuration.md)."""
        if self._config is None:
            from monitor.config_file import load_config

            self._config = load_config(self.config_path)
        return self._config

    @property
    def service(self) -> Service:
        """The services on the chosen database, its schema checked or created, judging under
        the database's rules with this station's settings."""
        if self._service is None:
            from monitor.cli.lazy import load
            from monitor.store.engine import file_warnings

            for warning in file_warnings(self.db):
                click.echo(f"warning: {warning}", err=True)
            self._service = load(self.services).open(self.db, self.config, create=False)
            if not self.more_imports:
                imports_done()
        return self._service

    def open_station(self) -> None:
        """Open the station on this context, or say that this entry point has none (the
        headless product knows no screen: the ``monitor`` console script names one)."""
        if self.station is None:
            raise Refused("this entry point has no station: run the `monitor` command to open it")
        from monitor.cli.lazy import load

        load(self.station)(self)

    def close(self) -> None:
        """Release the database."""
        if self._service is not None:
            self._service.close()


pass_context = click.make_pass_decorator(Context)


# -- the garbage collector of a short-lived command -----------------------------------------
#
# Each full collection an import triggers walks everything loaded so far, again and again,
# and a command's modules live as long as its process: so the collector is held off from
# the start of a command until its services are open (and, for an export, its format's
# libraries loaded), then what was loaded is frozen (never walked again) and the command's
# own garbage is collected as usual. At the end everything is unfrozen (a long-lived process
# that runs commands, the tests, leaks nothing) and frozen again only at the interpreter's
# exit, which then leaves it to the operating system instead of walking it once more
# (docs/architecture.md, "Start-up"; docs/benchmarks.md).

_collector = {"held": False, "frozen": False}


def hold_collector() -> None:
    """A command starts: no collection while its modules are imported (a no-op when the
    collector is off already, or held)."""
    if gc.isenabled():
        gc.disable()
        _collector["held"] = True


def imports_done() -> None:
    """The command's imports are done: freeze what is loaded and collect again."""
    if _collector["held"]:
        _collector["held"] = False
        gc.freeze()
        _collector["frozen"] = True
        gc.enable()


def release_collector() -> None:
    """The command is over: the collector as it found it, nothing left frozen."""
    if _collector["held"]:
        _collector["held"] = False
        gc.enable()
    if _collector["frozen"]:
        _collector["frozen"] = False
        gc.unfreeze()
        atexit.unregister(gc.freeze)
        atexit.register(gc.freeze)


def moment(text: str | None, context: Context) -> datetime | None:
    """A typed time, relative to the service's "now" (the database's clock on PostgreSQL)."""
    if text is None:
        return None
    from monitor.timeparse import parse_time

    return parse_time(text, context.service.now())


def period(
    context: Context, since: str | None, until: str | None
) -> tuple[datetime | None, datetime | None]:
    """``--from`` and ``--to`` as aware UTC times (either may be absent), as
    :func:`monitor.periods.parse_period` reads them: ``--from D --to D`` is the day D."""
    if since is None and until is None:
        return None, None
    from monitor.periods import parse_period

    return parse_period(since, until, context.service.now())


# -- --by and its PIN ----------------------------------------------------------------------


class _Stdin:
    """Standard input, read a line at a time (several PINs, then entries, may come from it)."""

    @classmethod
    def take(cls, what: str) -> str:
        # One line at a time, from the byte layer where there is one: after the PIN,
        # `record --stdin` reads the entries from the same place, as they come.
        source = getattr(sys.stdin, "buffer", sys.stdin)
        line = source.readline()
        if not line:
            raise Refused(f"--pin-stdin: standard input has no line for {what}")
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8")
            except UnicodeDecodeError:
                raise Refused(f"--pin-stdin: the line for {what} is not UTF-8 text") from None
        return line.strip()


def secret(
    what: str, *, pin_stdin: bool, env: bool, confirm: bool = False, env_first: bool = False
) -> str:
    """A PIN from stdin (--pin-stdin), else MONITOR_PIN (when ``env``; first when
    ``env_first``), else a prompt on a terminal; refused otherwise, so that nothing acts
    without its PIN."""
    if env_first and os.environ.get(PIN_ENV):
        return os.environ[PIN_ENV]
    if pin_stdin:
        pin = _Stdin.take(what)
        if confirm and _Stdin.take(f"{what} (again)") != pin:
            raise Refused("--pin-stdin: the new PIN's two lines differ")
        return pin
    if env and os.environ.get(PIN_ENV):
        return os.environ[PIN_ENV]
    if sys.stdin.isatty():
        return str(click.prompt(what, hide_input=True, confirmation_prompt=confirm))
    raise Refused(
        f"{what} is needed: give it with --pin-stdin (first line of standard input), "
        f"{PIN_ENV}, or at a terminal"
    )


def cosigner_pin(name: str, *, pin_stdin: bool) -> str:
    """The co-signer's PIN: the line after the actor's with --pin-stdin, else
    MONITOR_COSIGN_PIN, else a prompt on a terminal; refused otherwise."""
    what = f"PIN for {name} (co-signing)"
    if pin_stdin:
        return _Stdin.take(what)
    if os.environ.get(COSIGN_PIN_ENV):
        return os.environ[COSIGN_PIN_ENV]
    if sys.stdin.isatty():
        return str(click.prompt(what, hide_input=True))
    raise Refused(
        f"{what} is needed: give it with --pin-stdin (second line of standard input), "
        f"{COSIGN_PIN_ENV}, or at a terminal"
    )


def acting(command: Callable[..., Any] | None = None, *, services: str | None = None) -> Any:
    """Authenticate ``--by`` with that user's PIN before the command runs (docs/interface.md:
    every command that acts as a user needs the PIN), then the co-signer named by
    ``--cosign`` (:func:`cosigning`), if any, with theirs. Adds ``--pin-stdin``.

    ``@acting(services="module:Class")``: the command needs only those services, which the
    context opens instead of the whole :class:`~monitor.services.Service` (a class that
    includes the PIN check: ``monitor record`` opens
    :class:`~monitor.services.recording.RecordServices`, issue #23)."""
    if command is None:
        return functools.partial(acting, services=services)

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        pin_stdin = kwargs.pop("pin_stdin")
        context = click.get_current_context().find_object(Context)
        assert context is not None
        if services is not None:
            context.services = services
        pin = secret(f"PIN for {kwargs['by']}", pin_stdin=pin_stdin, env=True)
        context.service.authenticate(kwargs["by"], pin)
        cosign = kwargs.get("cosign")
        if cosign is not None:
            try:
                context.service.authenticate(cosign, cosigner_pin(cosign, pin_stdin=pin_stdin))
            except PinRefused as refused:
                # Say whose PIN it was (the actor's was accepted just before), as the station
                # does; still the one message for an unknown name and a wrong PIN.
                raise PinRefused(f"co-signer {printable(cosign)[:64]}: {refused}") from None
        return command(*args, **kwargs)

    return click.option(
        "--pin-stdin",
        is_flag=True,
        help=f"Read the PIN of --by from standard input's first line (else {PIN_ENV}, else a "
        "prompt).",
    )(run)


def cosigning(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--cosign NAME`` (docs/interface.md, "Who is acting"): a supervisor who co-signs
    the action; :func:`acting` checks their PIN, the line after the actor's. The command gets
    ``cosign`` (``None`` when not given) and passes it to the service, which checks that the
    co-signer is another supervisor and keeps both names."""
    return click.option(
        "--cosign",
        metavar="NAME",
        help="A supervisor co-signing (a clinician's action by a nurse); their PIN follows the "
        f"actor's: the second line of standard input with --pin-stdin, else {COSIGN_PIN_ENV}, "
        "else a prompt.",
    )(command)


# -- output --------------------------------------------------------------------------------


def local(at: datetime | None) -> str:
    """A moment as local time to the minute (``2026-11-27 09:00``), or ``-``."""
    if at is None:
        return "-"
    return at.astimezone().strftime("%Y-%m-%d %H:%M")


def printable(text: str) -> str:
    """``text`` as one printable line: a newline, an escape or any control character a user
    typed is shown escaped, so that no input can forge a line of output."""
    return "".join(c if readable(c) else repr(c)[1:-1] for c in text)


def story_text(lines: Iterable[Line]) -> Iterator[str]:
    """The lines of a story (:mod:`monitor.present`) as printable lines of text: the command
    line renders a story, it never words it again."""
    from monitor.present.parts import plain

    for line in lines:
        yield printable(plain(line)) + "\n"


def echo_json(value: Any) -> None:
    """One JSON value, indented."""
    click.echo(json.dumps(value, indent=2))


def write(chunks: Iterable[str]) -> None:
    """Text to standard output as it is made, never gathered into one string; a reader that
    stops early (`| head`) ends the command quietly instead of with a traceback."""
    out = sys.stdout
    try:
        for chunk in chunks:
            out.write(chunk)
        out.flush()
    except BrokenPipeError:
        # Python would fail again flushing at exit: point standard output at nothing.
        os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
        sys.exit(0)


def json_array(objects: Iterable[dict[str, Any]]) -> Iterator[str]:
    """A JSON array written one element (one line) at a time."""
    separator = "[\n  "
    for value in objects:
        yield separator + json.dumps(value)
        separator = ",\n  "
    yield "[]\n" if separator.startswith("[") else "\n]\n"


def note_more_sessions(limit: int) -> None:
    """Say on standard error that a page of the newest ``limit`` sessions left older ones out."""
    click.echo(
        f"note: the newest {limit} sessions are shown and there are more: see them with "
        "--limit N (more at once) or --from/--to (a period)",
        err=True,
    )


def command_name() -> str:
    """How this monitor was started (``.venv/bin/monitor``), for commands it suggests."""
    invoked = sys.argv[0] if sys.argv else ""
    if os.path.basename(invoked) == "monitor":
        relative = os.path.relpath(invoked)
        return relative if not relative.startswith("..") else invoked
    return "monitor"
