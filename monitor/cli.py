"""The ``monitor`` command line (interface.md): the product for scripts and integrations.

Every command goes through :class:`monitor.services.Service`, as the TUI does. Every refusal a
user can cause is one ``error: ...`` line on stderr and exit status 2, with nothing saved.
"""

from __future__ import annotations

import functools
import json
import os
import re
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from monitor.errors import Refused

# Nothing heavier than the standard library and click is imported before the arguments are
# parsed (`monitor --help` starts as fast as Python itself); each command imports what it uses.
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from datetime import datetime

    from monitor.core.config import ClinicConfig
    from monitor.services import Service
    from monitor.views import AuditView, ReadingView, SessionSummary, SessionView

EXIT_REFUSED = 2
EXIT_FAILED = 1


#: ASCII digits of any length (a number too long for its pattern is out of range, not "not a
#: number").
_DIGITS = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def _plain(number: float) -> str:
    """2147483647, 0.5: a bound as people write it."""
    return str(int(number)) if float(number).is_integer() else f"{number:g}"


class _AsciiNumber(click.ParamType):
    """A number in ASCII digits only (``int()`` and ``float()`` also take other scripts'
    digits, such as ``١٢٠``), within a range: an id never overflows a database integer."""

    def __init__(self, name: str, pattern: str, convert: Any, low: float, high: float) -> None:
        self.name = name
        self._pattern = re.compile(pattern)
        self._convert = convert
        self._low, self._high = low, high
        self._range = f"{_plain(low)} to {_plain(high)}"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and self._pattern.fullmatch(value.strip()):
            number = self._convert(value.strip())
        elif isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
            shown = value.strip() if len(value.strip()) <= 20 else value.strip()[:20] + "…"
            self.fail(f"{shown} is out of range ({self._range})", param, ctx)
        else:
            self.fail(f"{value!r} is not a {self.name}", param, ctx)
        if not self._low <= number <= self._high:
            self.fail(f"{value} is out of range ({self._range})", param, ctx)
        return number


#: Ids of sessions, readings and flags: positive, within a 32-bit database integer.
ID = _AsciiNumber("whole number", r"[0-9]{1,10}", int, 1, 2**31 - 1)
#: Whole numbers typed by people (age, dose number, minutes).
WHOLE = _AsciiNumber("whole number", r"-?[0-9]{1,6}", int, -(10**6), 10**6)
#: Decimal numbers typed by people (mg, kg).
DECIMAL = _AsciiNumber("number", r"[0-9]{1,6}(\.[0-9]{1,3})?", float, 0, 10**6)


class Context:
    """What every command gets: the options given, resolved when first needed.

    (A plain class: ``dataclasses`` alone would add a fifth to ``monitor --help``'s start.)"""

    def __init__(self, db: str | None, config_path: str | None) -> None:
        self.db = db
        self.config_path = config_path
        self._config: ClinicConfig | None = None
        self._service: Service | None = None

    @property
    def config(self) -> ClinicConfig:
        """The clinic configuration in force (loaded once)."""
        if self._config is None:
            from monitor.config_file import load_config

            self._config = load_config(self.config_path)
        return self._config

    @property
    def service(self) -> Service:
        """The services on the chosen database, its schema checked or created."""
        if self._service is None:
            from monitor.services import Service
            from monitor.store.engine import file_warnings

            for warning in file_warnings(self.db):
                click.echo(f"warning: {warning}", err=True)
            self._service = Service.open(self.db, self.config, create=False)
        return self._service

    def close(self) -> None:
        """Release the database."""
        if self._service is not None:
            self._service.close()


pass_context = click.make_pass_decorator(Context)


def _now() -> datetime:
    from monitor.services import utc_now

    return utc_now()


def _time(text: str | None, context: Context | None = None) -> datetime | None:
    """A typed time, relative to the service's "now" (the database's clock on PostgreSQL)."""
    if text is None:
        return None
    from monitor.timeparse import parse_time

    return parse_time(text, context.service.now() if context is not None else _now())


def _yes_no(value: str | None) -> bool | None:
    return None if value is None else value == "yes"


YES_NO = click.Choice(["yes", "no"])


def _local(moment: datetime | None) -> str:
    if moment is None:
        return "-"
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def _mg(dose: float | None) -> str:
    if dose is None:
        return "-"
    return f"{dose:g} mg"


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2))


PIN_ENV = "MONITOR_PIN"


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


def _secret(
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


def acting(command: Callable[..., Any]) -> Callable[..., Any]:
    """Authenticate ``--by`` with that user's PIN before the command runs (interface.md:
    every command that acts as a user needs the PIN). Adds ``--pin-stdin``."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        pin_stdin = kwargs.pop("pin_stdin")
        context = click.get_current_context().find_object(Context)
        assert context is not None
        pin = _secret(f"PIN for {kwargs['by']}", pin_stdin=pin_stdin, env=True)
        context.service.authenticate(kwargs["by"], pin)
        return command(*args, **kwargs)

    return click.option(
        "--pin-stdin",
        is_flag=True,
        help=f"Read the PIN of --by from standard input's first line (else {PIN_ENV}, else a "
        "prompt).",
    )(run)


@click.group(invoke_without_command=True)
@click.option(
    "--db", envvar="MONITOR_DB", help="SQLAlchemy URL or SQLite file path [env MONITOR_DB]."
)
@click.option(
    "--config",
    "config_path",
    envvar="MONITOR_CONFIG",  # monitor.config_file.CONFIG_ENV
    help="Clinic configuration file (TOML) [env MONITOR_CONFIG].",
)
@click.version_option(package_name="monitor")
@click.pass_context
def cli(ctx: click.Context, db: str | None, config_path: str | None) -> None:
    """Post-dose observation of ketamine and esketamine sessions.

    Without a command, opens the station (the TUI).
    """
    ctx.obj = Context(db=db, config_path=config_path)
    ctx.call_on_close(ctx.obj.close)
    if ctx.invoked_subcommand is None:
        open_station(ctx.obj)


#: Opens the station for a context. The headless product knows no screen: the ``monitor``
#: console script (:mod:`tui.launch`) registers the station here and adds the ``tui`` command.
STATION: Callable[[Context], None] | None = None


def open_station(context: Context) -> None:
    """Open the station, or say that this entry point has none."""
    if STATION is None:
        raise Refused("this entry point has no station: run the `monitor` command to open it")
    STATION(context)


@cli.command()
@click.option("--fresh/--keep", default=True, help="Start the default demo database anew.")
@click.option("--open", "open_after", is_flag=True, help="Open the station on it at once.")
@click.pass_context
def demo(ctx: click.Context, fresh: bool, open_after: bool) -> None:
    """A realistic demo clinic, in a separate demo database unless --db names one."""
    from monitor.demo import build_demo, default_demo_path
    from monitor.services import Service

    context: Context = ctx.obj
    db = context.db
    if db is None:
        path = default_demo_path()
        if fresh:
            # Only the demo's own file is ever removed, never a database the user named.
            for suffix in ("", "-wal", "-shm"):
                path.with_name(path.name + suffix).unlink(missing_ok=True)
        db = str(path)
    service = Service.open(db, context.config)
    try:
        if service.has_users() and not service.is_demo():
            raise Refused(
                f"{db} holds records that are not a demo's: `monitor demo` writes only to a new "
                "database or one it made (leave out --db and MONITOR_DB for the demo's own file)"
            )
        if service.has_users():
            # A demo it made before: kept as it is (the record is never rewritten).
            active = len(service.active_sessions())
            click.echo(f"Demo clinic already in {db}: {active} sessions in observation")
        else:
            result = build_demo(service)
            click.echo(
                f"Demo clinic ready: {len(result.sessions)} sessions in observation and "
                f"{len(result.earlier)} discharged for review mode (sign in as sam), in {db}"
            )
    finally:
        service.close()
    from monitor.demo import DEMO_USERS

    click.echo("Users (name, role, PIN):")
    for name, role, pin in sorted(DEMO_USERS):  # the order of the station's sign-in list
        click.echo(f"  {name:<5} {role:<10} {pin}")
    shown = f'"{db}"' if " " in db else db
    click.echo(f"Open it with:  {_command_name()} --db {shown}")
    if open_after:
        context.db = db
        open_station(context)


# -- db ---------------------------------------------------------------------------------


@cli.group()
def db() -> None:
    """Schema migrations."""


def _url(context: Context) -> str:
    from monitor.store.engine import resolve_url

    return resolve_url(context.db)


@db.command("upgrade")
@pass_context
def db_upgrade(context: Context) -> None:
    """Migrate to the newest schema (an SQLite file is backed up first)."""
    from monitor.store.migrate import upgrade

    result = upgrade(_url(context))
    if result.before == result.after:
        click.echo(f"already at the newest schema ({result.after})")
        return
    click.echo(f"upgraded {result.before or 'empty database'} -> {result.after}")
    if result.backup:
        click.echo(f"backup: {result.backup}")


@db.command("current")
@pass_context
def db_current(context: Context) -> None:
    """The schema revision of the database, and the newest this monitor knows."""
    from monitor.store.engine import make_engine
    from monitor.store.migrate import SCHEMA_HEAD, current_revision

    engine = make_engine(context.db, create=False)
    try:
        revision = current_revision(engine)
    finally:
        engine.dispose()
    state = "up to date" if revision == SCHEMA_HEAD else "behind: run `monitor db upgrade`"
    click.echo(f"{revision or 'none'} (newest {SCHEMA_HEAD}; {state})")


@db.command("check")
@pass_context
def db_check(context: Context) -> None:
    """Refuse when the models and the migrations disagree."""
    from monitor.store.migrate import check

    check(_url(context))
    click.echo("models and migrations agree")


# -- users and configuration --------------------------------------------------------------


@cli.group()
def user() -> None:
    """Nurses and supervisors."""


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["nurse", "supervisor"]), required=True)
@click.option("--by", help="The supervisor adding the user (not for the first user, a supervisor).")
@click.option(
    "--pin-stdin",
    is_flag=True,
    help="Read from standard input: the new PIN, the same again, then (with --by) the "
    f"supervisor's PIN unless {PIN_ENV} gives it.",
)
@pass_context
def user_add(context: Context, name: str, role: str, by: str | None, pin_stdin: bool) -> None:
    """Add a user with a PIN of 4-12 digits, kept only as a hash. The first user of a database
    must be a supervisor; after that a supervisor adds users (--by)."""
    pin = _secret(f"new PIN for {name} (4-12 digits)", pin_stdin=pin_stdin, env=False, confirm=True)
    if by is not None:
        supervisor_pin = _secret(f"PIN for {by}", pin_stdin=pin_stdin, env=True, env_first=True)
        context.service.authenticate(by, supervisor_pin)
    created = context.service.add_user(name, role, pin, by=by)
    click.echo(f"added {created.role} {created.name}")


@user.command("unlock")
@click.argument("name")
@click.option("--by", required=True, help="The supervisor.")
@acting
@pass_context
def user_unlock(context: Context, name: str, by: str) -> None:
    """Lift a PIN lockout (5 refused PINs in a row lock a user for 15 min)."""
    context.service.unlock_user(name, by=by)
    click.echo(f"user {name} unlocked")


@user.command("disable")
@click.argument("name")
@click.option("--by", required=True, help="The supervisor.")
@acting
@pass_context
def user_disable(context: Context, name: str, by: str) -> None:
    """Disable a user for good: they can no longer sign in or act; their records stay."""
    context.service.disable_user(name, by=by)
    click.echo(f"user {name} disabled")


@user.command("set-pin")
@click.argument("name")
@click.option("--by", required=True, help="The user themself, or a supervisor.")
@click.option(
    "--pin-stdin",
    is_flag=True,
    help="Read from standard input: the new PIN, the same again, then the PIN of --by unless "
    f"{PIN_ENV} gives it.",
)
@pass_context
def user_set_pin(context: Context, name: str, by: str, pin_stdin: bool) -> None:
    """Set a user's PIN (4-12 digits): your own, or anyone's as a supervisor."""
    pin = _secret(f"new PIN for {name} (4-12 digits)", pin_stdin=pin_stdin, env=False, confirm=True)
    by_pin = _secret(f"PIN for {by}", pin_stdin=pin_stdin, env=True, env_first=True)
    context.service.authenticate(by, by_pin)
    context.service.set_pin(name, pin, by=by)
    click.echo(f"PIN of {name} set")


@user.command("list")
@pass_context
def user_list(context: Context) -> None:
    """Every user and role."""
    for person in context.service.users():
        click.echo(f"{person.name}\t{person.role}")


@cli.group("config")
def config_group() -> None:
    """The clinic configuration."""


@config_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@pass_context
def config_show(context: Context, as_json: bool) -> None:
    """The thresholds and schedules in force, and where each came from."""
    from monitor.core.config import describe

    rows = describe(context.config)
    if as_json:
        _echo_json([{"key": k, "value": json.loads(v), "source": s} for k, v, s in rows])
        return
    width = max(len(k) for k, _, _ in rows)
    for key, value, source in rows:
        click.echo(f"{key:<{width}}  {value}  [{source}]")


# -- sessions ---------------------------------------------------------------------------


@cli.group()
def session() -> None:
    """Treatment sessions."""


@session.command("start")
@click.option("--patient", required=True, help="The clinic's patient identifier.")
@click.option(
    "--protocol", required=True, help="esketamine-56, esketamine-84, ketamine-iv, ketamine-im"
)
@click.option("--by", required=True, help="The user starting the session.")
@click.option("--dose-mg", type=DECIMAL, help="The dose (esketamine: must match the protocol).")
@click.option("--weight-kg", type=DECIMAL, help="The patient's weight (IV/IM dosing).")
@click.option("--age", type=WHOLE, help="The patient's age (required for esketamine).")
@click.option("--bay", help="Where the patient sits (a bay of the clinic configuration).")
@click.option("--lot", help="The medication lot number.")
@click.option("--at", "at", help="When the session began (default now; up to 7 days back).")
@click.option("--dosed-at", help="When the dose was given (entry from paper).")
@click.option(
    "--dose-override-reason", help="With --dosed-at: why dosing went ahead without a baseline."
)
@click.option("--first-treatment", type=YES_NO, help="First treatment of the course?")
@click.option("--dose-number", type=WHOLE, help="The dose number within the course, if known.")
@click.option(
    "--meds",
    help="REMS concomitant medication: none, or a comma list of benzodiazepines, "
    "sedative-hypnotics, psychostimulants, maois (required for esketamine).",
)
@acting
@pass_context
def session_start(
    context: Context,
    patient: str,
    protocol: str,
    by: str,
    dose_mg: float | None,
    weight_kg: float | None,
    age: int | None,
    bay: str | None,
    lot: str | None,
    at: str | None,
    dosed_at: str | None,
    dose_override_reason: str | None,
    first_treatment: str | None,
    dose_number: int | None,
    meds: str | None,
) -> None:
    """Start a session; prints its id alone."""
    from monitor.core.intake import parse_meds

    session_id = context.service.start_session(
        patient=patient,
        protocol=protocol,
        by=by,
        dose_mg=dose_mg,
        weight_kg=weight_kg,
        age=age,
        bay=bay,
        lot=lot,
        started_at=_time(at, context),
        dosed_at=_time(dosed_at, context),
        dose_override_reason=dose_override_reason,
        first_treatment=_yes_no(first_treatment),
        dose_number=dose_number,
        meds=parse_meds(meds),
    )
    click.echo(session_id)


@session.command("dose")
@click.argument("session_id", type=ID)
@click.option("--by", required=True, help="The user recording the dose.")
@click.option("--at", "at", help="When the dose was given (ISO 8601); default now.")
@click.option(
    "--override-reason",
    help="Dose although the baseline is not done or a before-dosing flag is not reviewed, and why.",
)
@acting
@pass_context
def session_dose(
    context: Context, session_id: int, by: str, at: str | None, override_reason: str | None
) -> None:
    """Record the dosing time (the start of an infusion); refused without a baseline or with an
    unacknowledged before-dosing flag unless overridden."""
    dosed = context.service.record_dose(
        session_id, by=by, at=_time(at, context), override_reason=override_reason
    )
    click.echo(f"session {session_id} dosed at {_local(dosed)}")
    if override_reason:
        view = context.service.session(session_id)
        if view.dose_override_reason:
            click.echo(f"dosing gate overridden: {view.dose_override_reason}")


@session.command("infusion-end")
@click.argument("session_id", type=ID)
@click.option("--by", required=True, help="The user recording it.")
@click.option("--at", "at", help="When the infusion ended (ISO 8601 or '5 min ago'); default now.")
@acting
@pass_context
def session_infusion_end(context: Context, session_id: int, by: str, at: str | None) -> None:
    """IV: when the infusion actually ended; the checks after it and the minimum move."""
    ended = context.service.record_infusion_end(session_id, by=by, at=_time(at, context))
    view = context.service.session(session_id)
    click.echo(f"session {session_id} infusion ended at {_local(ended)}")
    pre = next((c for c in view.checks if c.pre_discharge), None)
    if pre is not None:
        click.echo(f"pre-discharge check now {pre.label}, due {_local(pre.due_at)}")


def _print_reading(reading: ReadingView) -> None:
    from monitor.core.entry import format_entry

    note = f" (corrects reading {reading.corrects})" if reading.corrects else ""
    click.echo(
        f"reading {reading.id} at {_local(reading.measured_at)}: "
        f"{format_entry(reading.vitals)}{note}"
    )
    if not reading.flags:
        click.echo("  no flags")
    for flag in reading.flags:
        click.echo(
            f"  {flag.severity.symbol:<3} {flag.severity.value:<6} {flag.message}  [flag {flag.id}]"
        )


@cli.command()
@click.argument("session_id", type=ID)
@click.argument("entry", nargs=-1)
@click.option("--by", required=True, help="The user recording the reading.")
@click.option("--at", "at", help="When it was measured (ISO 8601 or '5 min ago'); default now.")
@click.option("--json", "as_json", is_flag=True, help="Print the saved reading as JSON.")
@click.option(
    "--key",
    help="Your key for this entry (e.g. a UUID): sent again after a lost reply, it returns the "
    "reading first saved instead of a duplicate. With --stdin, line N gets the key KEY:N.",
)
@click.option(
    "--stdin",
    "from_stdin",
    is_flag=True,
    help="Batch: one 'ENTRY [@ TIME]' per line of standard input (after the PIN line with "
    "--pin-stdin), each saved or refused on its own, one result line each.",
)
@acting
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
    """Save one reading, in quick entry ("142/88 hr 76 spo2 98"), and print its flags; or,
    with --stdin, one reading per line of standard input."""
    if from_stdin:
        if entry or at:
            raise Refused("record --stdin takes the entries from standard input: no ENTRY or --at")
        _record_lines(context, session_id, by, as_json, key)
        return
    if not entry:
        raise Refused('record needs an ENTRY (e.g. "142/88 hr 76") or --stdin')
    recorded = context.service.record_reading_once(
        session_id, " ".join(entry), by=by, measured_at=_time(at, context), key=key
    )
    reading = recorded.reading
    if not recorded.saved_now:
        # A retry after a lost reply: say so, on stderr (stdout stays the reading, as before).
        click.echo(
            f"note: already saved as reading {reading.id} (key {key!r}): not saved again", err=True
        )
    if as_json:
        from monitor.jsonview import reading_json

        _echo_json(reading_json(reading))
    else:
        _print_reading(reading)


def _record_lines(
    context: Context, session_id: int, by: str, as_json: bool, key: str | None
) -> None:
    """``record --stdin``: each line saved or refused on its own (its own transaction and
    audit row), one result line each, as the lines arrive; exit 2 if any line was refused."""
    from monitor.core.entry import format_entry
    from monitor.jsonview import reading_json
    from monitor.timeparse import split_entry_time

    service = context.service
    saved = again = refused = 0
    # Bytes where there are bytes: a line that is not UTF-8 is refused on its own.
    source = getattr(sys.stdin, "buffer", sys.stdin)
    for number, raw in enumerate(source, start=1):
        try:
            line = (raw.decode("utf-8") if isinstance(raw, bytes) else raw).rstrip("\r\n")
            text, when = split_entry_time(line)
            if not text:
                raise Refused("empty line: nothing to record")
            recorded = service.record_reading_once(
                session_id,
                text,
                by=by,
                measured_at=_time(when, context),
                key=None if key is None else f"{key}:{number}",
            )
        except (Refused, UnicodeDecodeError) as error:
            refused += 1
            message = (
                printable(str(error))
                if isinstance(error, Refused)
                else "the line is not UTF-8 text"
            )
            if as_json:
                click.echo(json.dumps({"line": number, "saved": False, "error": message}))
            else:
                click.echo(f"line {number}: refused: {message}")
            continue
        reading = recorded.reading
        if recorded.saved_now:
            saved += 1
        else:
            again += 1
        if as_json:
            result = {"line": number, "saved": True, "reading": reading_json(reading)}
            if not recorded.saved_now:
                result["already_saved"] = True
            click.echo(json.dumps(result))
        elif not recorded.saved_now:
            click.echo(
                f"line {number}: already saved as reading {reading.id} (key "
                f"{key}:{number}); not saved again"
            )
        else:
            flags = "; ".join(f"{f.severity.symbol} {f.message}" for f in reading.flags)
            click.echo(
                f"line {number}: reading {reading.id} at {_local(reading.measured_at)}: "
                f"{format_entry(reading.vitals)}" + (f"  [{flags}]" if flags else "")
            )
        sys.stdout.flush()  # a gateway reads each result as its line is done
    already = f", {again} already saved (same key)" if again else ""
    click.echo(f"{saved} saved{already}, {refused} refused", err=True)
    if refused:
        sys.exit(EXIT_REFUSED)


@cli.command()
@click.argument("reading_id", type=ID)
@click.argument("entry", nargs=-1, required=True)
@click.option("--by", required=True, help="The user correcting it.")
@click.option("--reason", required=True, help="Why the reading is corrected.")
@click.option("--at", "at", help="The corrected measurement time (default: the original's).")
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
    reading = context.service.amend(
        reading_id, " ".join(entry), by=by, reason=reason, at=_time(at, context), replace=replace
    )
    if as_json:
        from monitor.jsonview import reading_json

        _echo_json(reading_json(reading))
    else:
        _print_reading(reading)


@cli.command()
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


@cli.group()
def event() -> None:
    """Notes, adverse events and interventions."""


@event.command("add")
@click.argument("session_id", type=ID)
@click.argument("text", nargs=-1, required=True)
@click.option(
    "--kind",
    type=click.Choice(["note", "adverse", "intervention"]),
    required=True,
    help="A note, an adverse event or an intervention.",
)
@click.option("--by", required=True, help="The user recording it.")
@click.option(
    "--type",
    "type_",
    help="adverse: nausea, vomiting, dizziness, headache, anxiety, other; "
    "intervention: antiemetic, antihypertensive, oxygen, other.",
)
@click.option(
    "--severity", type=click.Choice(["mild", "moderate", "severe"]), help="Adverse events."
)
@click.option("--serious", is_flag=True, help="Adverse events: a serious adverse event.")
@click.option("--at", "at", help="When it happened (ISO 8601 or '5 min ago'); default now.")
@acting
@pass_context
def event_add(
    context: Context,
    session_id: int,
    text: tuple[str, ...],
    kind: str,
    by: str,
    type_: str | None,
    severity: str | None,
    serious: bool,
    at: str | None,
) -> None:
    """Add a note, an adverse event or an intervention (TEXT: what happened or was given)."""
    added = context.service.add_event(
        session_id,
        kind=kind,
        by=by,
        text=" ".join(text),
        type=type_,
        severity=severity,
        serious=serious or None,
        at=_time(at, context),
    )
    click.echo(f"event {added.id} at {_local(added.at)} by {added.by}: {added.summary}")


@cli.group()
def check() -> None:
    """Scheduled checks."""


@check.command("skip")
@click.argument("session_id", type=ID)
@click.argument("label")
@click.option("--by", required=True, help="The user recording it.")
@click.option("--reason", required=True, help="Why it was not done, e.g. 'patient asleep'.")
@acting
@pass_context
def check_skip(context: Context, session_id: int, label: str, by: str, reason: str) -> None:
    """Record why an overdue or missed check was not done (LABEL as `session show` lists it,
    e.g. "+30 min"); its alarm ends."""
    done = context.service.skip_check(session_id, label, by=by, reason=reason)
    assert done.skip is not None
    click.echo(
        f"check {done.label} ({done.status.value}) explained by {done.skip.by}: {done.skip.reason}"
    )


@cli.group()
def flag() -> None:
    """Flags raised by readings."""


@flag.command("ack")
@click.argument("flag_id", type=ID)
@click.option("--by", required=True, help="The user acknowledging it.")
@click.option("--action", required=True, help="What was done, in a word or a sentence.")
@acting
@pass_context
def flag_ack(context: Context, flag_id: int, by: str, action: str) -> None:
    """Acknowledge a flag with what was done."""
    done = context.service.acknowledge(flag_id, by=by, action=action)
    click.echo(f"flag {done.id} acknowledged by {done.acknowledged_by}: {done.action}")


def _print_session(view: SessionView) -> None:
    from monitor.core.entry import format_entry
    from monitor.core.schedule import status_text

    click.echo(
        f"session {view.id}  patient {view.patient}  {view.protocol} ({view.treatment})  "
        f"{view.status}"
    )
    click.echo(
        f"  bay {view.bay or '-'}  age {view.age or '-'}  dose {_mg(view.dose_mg)}  "
        f"lot {view.lot or '-'}  dosed {_local(view.dosed_at)}"
    )
    first = {True: "yes", False: "no", None: "-"}[view.first_treatment]
    meds = "-" if view.meds is None else (", ".join(view.meds) or "none")
    click.echo(
        f"  first treatment {first}  dose number {view.dose_number or '-'}  medication {meds}"
        + (f"  weight {view.weight_kg:g} kg" if view.weight_kg else "")
    )
    if view.infusion_ended_at:
        click.echo(f"  infusion ended {_local(view.infusion_ended_at)}")
    if view.dose_override_reason:
        click.echo(f"  dosing gate overridden: {view.dose_override_reason}")
    for reason in view.dosing_refusals:
        click.echo(f"  not ready to dose: {reason}")
    click.echo("checks:")
    for c in view.checks:
        late = " (late)" if c.late else ""
        alarm = "  ALARM" if c.is_alarm else ""
        measures = " ".join(m.value for m in c.measures)
        status = status_text(c, view.discharged_at)
        click.echo(f"  {c.label:<20} {_local(c.due_at):<16}  {status}{late}{alarm}  [{measures}]")
        if c.skip:
            click.echo(f"      not done: {c.skip.reason} ({c.skip.by}, {_local(c.skip.at)})")
    click.echo("readings:")
    for reading in view.readings:
        marks = []
        if reading.superseded_by:
            marks.append(f"superseded by {reading.superseded_by}")
        if reading.corrects:
            marks.append(f"corrects {reading.corrects}: {reading.reason}")
        if reading.voided:
            voided = reading.voided
            marks.append(f"VOIDED by {voided.by} {_local(voided.at)}: {voided.reason}")
        if reading.late_entry:
            marks.append(f"late entry, saved {_local(reading.recorded_at)}")
        mark = "".join(f"  [{m}]" for m in marks)
        click.echo(
            f"  #{reading.id} {_local(reading.measured_at)} {format_entry(reading.vitals)}"
            f"  by {reading.recorded_by}{mark}"
        )
        for f in reading.flags:
            ack = f"ack {f.acknowledged_by}: {f.action}" if f.acknowledged else "not acknowledged"
            click.echo(f"      {f.severity.symbol:<3} {f.message}  [flag {f.id}, {ack}]")
    if view.events:
        click.echo("events:")
        for e in view.events:
            click.echo(f"  {_local(e.at)} {e.summary}  by {e.by}")
    if view.discharged_at:
        click.echo(f"discharged {_local(view.discharged_at)} by {view.discharged_by}")
        if view.override_reason:
            click.echo(f"  gate overridden: {view.override_reason}")
        if view.gate_at_discharge is None:
            click.echo("  gate at discharge: not stored (discharged before revision 2)")
        else:
            stored = view.gate_at_discharge
            click.echo(f"  gate at discharge: {'ready' if stored['ready'] else 'not ready'}")
            for reason in stored["reasons"]:
                click.echo(f"    - {reason}")
        click.echo(
            f"  escort: {view.escort or 'not recorded'}; no-driving instruction: "
            f"{_instruction(view.instructions_given)}"
        )
    elif view.gate.ready:
        click.echo("ready to discharge")
    else:
        click.echo("not ready to discharge:")
        for reason in view.gate.reasons:
            click.echo(f"  - {reason}")
    if view.ready_minute is not None or view.ready_minute_proposed is not None:
        click.echo(
            f"REMS ready to leave at minute: {_or_dash(view.ready_minute)} "
            f"(proposed {_or_dash(view.ready_minute_proposed)})"
        )
    if view.signed_by:
        click.echo(f"reviewed: signed by {view.signed_by} at {_local(view.signed_at)}")


@session.command("show")
@click.argument("session_id", type=ID)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@pass_context
def session_show(context: Context, session_id: int, as_json: bool) -> None:
    """One session: checks, readings, flags, the discharge gate and the review."""
    view = context.service.session(session_id)
    if as_json:
        from monitor.jsonview import session_json

        _echo_json(session_json(view))
    else:
        _print_session(view)


#: How many sessions `session list` shows unless --limit says otherwise (the newest).
SESSION_PAGE = 100


class _PageSize(click.ParamType):
    """A number of rows, in ASCII digits: at least one, at most a database integer."""

    name = "whole number"
    most = 2**31 - 1

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and re.fullmatch(r"[0-9]{1,40}", value.strip()):
            number = int(value.strip())
        else:
            shown = repr(value) if len(str(value)) <= 40 else repr(str(value)[:40]) + "..."
            self.fail(f"{shown} is not a whole number of rows (digits 0-9)", param, ctx)
        if not 1 <= number <= self.most:
            self.fail(f"{number} rows is out of range: 1 to {self.most}", param, ctx)
        return number


LIMIT = _PageSize()
_DATE_ONLY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
FROM_HELP = "ISO 8601, 'now' or '90 min ago'; a date alone is its midnight"
TO_HELP = "ISO 8601, 'now' or '90 min ago'; a date alone takes in that whole day"


def _period(
    context: Context, since: str | None, until: str | None
) -> tuple[datetime | None, datetime | None]:
    """``--from`` and ``--to`` as aware UTC times (either may be absent); a ``--to`` that is
    a date alone takes in that whole day, so ``--from D --to D`` is the day D."""
    start, end = _time(since, context), _time(until, context)
    if until is not None and end is not None and _DATE_ONLY.fullmatch(until.strip()):
        from datetime import date, timedelta

        from monitor.timeparse import MAX_YEAR

        next_day = date.fromisoformat(until.strip()) + timedelta(days=1)
        following = _time(next_day.isoformat(), context) if next_day.year <= MAX_YEAR else None
        end = None if following is None else following - timedelta(microseconds=1)
    return start, end


def _write(chunks: Iterable[str]) -> None:
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


def _json_array(objects: Iterable[dict[str, Any]]) -> Iterator[str]:
    """A JSON array written one element (one line) at a time."""
    separator = "[\n  "
    for value in objects:
        yield separator + json.dumps(value)
        separator = ",\n  "
    yield "[]\n" if separator.startswith("[") else "\n]\n"


def _session_lines(rows: Iterable[SessionSummary]) -> Iterator[str]:
    header = "id\tpatient\tprotocol\tbay\tstatus\tdosed\n"
    for r in rows:
        yield header
        header = ""
        signed = " signed" if r.signed else ""
        yield (
            f"{r.id}\t{printable(r.patient)}\t{r.protocol}\t{printable(r.bay or '-')}\t"
            f"{r.status}{signed}\t{_local(r.dosed_at)}\n"
        )


@session.command("list")
@click.option("--active", is_flag=True, help="Only sessions in observation.")
@click.option("--from", "since", help=f"Only sessions started at or after this time ({FROM_HELP})")
@click.option("--to", "until", help=f"Only sessions started at or before this time ({TO_HELP})")
@click.option(
    "--limit",
    type=LIMIT,
    default=SESSION_PAGE,
    show_default=True,
    help="Show the newest N sessions (a page); stderr says when there are more.",
)
@click.option("--json", "as_json", is_flag=True, help="Print as a JSON array, one object a line.")
@pass_context
def session_list(
    context: Context,
    active: bool,
    since: str | None,
    until: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Sessions, newest first, a page at a time: the newest 100 (--limit), of a period of
    start times (--from/--to) if given."""
    from monitor.jsonview import summary_json

    start, end = _period(context, since, until)
    service = context.service
    with service.session_page(active_only=active, since=start, until=end, limit=limit) as page:
        if as_json:
            _write(_json_array(summary_json(r) for r in page.rows))
        else:
            _write(_session_lines(page.rows))
        more = page.more
    if more:
        click.echo(
            f"note: the newest {limit} sessions are shown and there are more: see them with "
            "--limit N (more at once) or --from/--to (a period)",
            err=True,
        )


@session.command("discharge")
@click.argument("session_id", type=ID)
@click.option("--by", required=True, help="The user discharging the patient.")
@click.option("--at", "at", help="Discharge time (ISO 8601); default now.")
@click.option("--override-reason", help="Discharge although the gate is not met, and why.")
@click.option("--escort", help="Who accompanies the patient home, or 'none'.")
@click.option(
    "--instructions-given/--instructions-not-given",
    default=None,
    help="Whether the no-driving instruction was given (absent: not recorded).",
)
@click.option(
    "--ready-minute",
    type=WHOLE,
    help="REMS: when would the patient have been ready without the 2-hour minimum (minutes "
    "after dosing; default the proposal).",
)
@acting
@pass_context
def session_discharge(
    context: Context,
    session_id: int,
    by: str,
    at: str | None,
    override_reason: str | None,
    escort: str | None,
    instructions_given: bool | None,
    ready_minute: int | None,
) -> None:
    """Discharge when the gate is met; otherwise refuse and list the reasons."""
    view = context.service.discharge(
        session_id,
        by=by,
        at=_time(at, context),
        override_reason=override_reason,
        escort=escort,
        instructions_given=instructions_given,
        ready_minute=ready_minute,
    )
    click.echo(f"session {view.id} discharged at {_local(view.discharged_at)}")
    if view.override_reason:
        click.echo(f"gate overridden ({view.override_reason}); unmet:")
        for reason in view.gate.reasons:
            click.echo(f"  - {reason}")
    click.echo(
        f"escort: {view.escort or 'not recorded'}; no-driving instruction: "
        f"{_instruction(view.instructions_given)}"
    )
    if view.ready_minute is not None or view.ready_minute_proposed is not None:
        click.echo(
            f"REMS: ready to leave at minute {_or_dash(view.ready_minute)} "
            f"(proposed {_or_dash(view.ready_minute_proposed)}, by {view.ready_minute_by or '-'})"
        )


def _command_name() -> str:
    """How this monitor was started (``.venv/bin/monitor``), for commands it suggests."""
    invoked = sys.argv[0] if sys.argv else ""
    if os.path.basename(invoked) == "monitor":
        relative = os.path.relpath(invoked)
        return relative if not relative.startswith("..") else invoked
    return "monitor"


def _instruction(given: bool | None) -> str:
    return {True: "given", False: "NOT given", None: "not recorded"}[given]


def _or_dash(value: object) -> str:
    return "-" if value is None else str(value)


@cli.group()
def review() -> None:
    """Supervisor review."""


@review.command("sign")
@click.argument("session_id", type=ID)
@click.option("--by", required=True, help="The supervisor signing.")
@click.option(
    "--pin-stdin",
    is_flag=True,
    help=f"Read the PIN from standard input's first line (else {PIN_ENV}).",
)
@pass_context
def review_sign(context: Context, session_id: int, by: str, pin_stdin: bool) -> None:
    """Sign off ("reviewed") a discharged session: supervisors only, PIN checked."""
    pin = _secret(f"PIN for {by}", pin_stdin=pin_stdin, env=True)
    view = context.service.sign(session_id, by=by, pin=pin)
    click.echo(
        f"session {view.id} reviewed: signed by {view.signed_by} at {_local(view.signed_at)}"
    )


@review.command("reopen")
@click.argument("session_id", type=ID)
@click.option("--by", required=True, help="The supervisor reopening it.")
@click.option("--reason", required=True, help="Why the signed record must change.")
@acting
@pass_context
def review_reopen(context: Context, session_id: int, by: str, reason: str) -> None:
    """Withdraw a sign-off (kept, with the reason) so the record can be corrected and signed
    again."""
    context.service.reopen(session_id, by=by, reason=reason)
    click.echo(f"session {session_id} reopened by {by}: {reason}")


def _stored_json(stored: str | None) -> Any:
    """A stored before/after value as JSON data (kept as text if it is not JSON)."""
    if not stored:
        return None
    try:
        return json.loads(stored)
    except ValueError:
        return stored


def _audit_json(a: AuditView) -> str:
    return (
        json.dumps(
            {
                "id": a.id,
                "at": a.at.isoformat(),
                "user": a.user,
                "action": a.action,
                "session_id": a.session_id,
                "entity": a.entity,
                "entity_id": a.entity_id,
                "before": _stored_json(a.before),
                "after": _stored_json(a.after),
                "reason": a.reason,
            }
        )
        + "\n"
    )


def _audit_text(a: AuditView) -> str:
    where = f"session {a.session_id}" if a.session_id else ""
    if a.entity != "session":
        where = f"{where} {a.entity} {a.entity_id}".strip()
    # A row the database's own trigger wrote (a set-once column changed) names no user.
    line = f"{_local(a.at)}  {a.user or '(database)'}  {a.action}  {where}"
    before, after = _changed_only(a.before, a.after)
    if before:
        line += f"  before {before}"
    if after:
        line += f"  after {after}"
    if a.reason:
        line += f"  reason: {a.reason}"
    return printable(line) + "\n"


@cli.command()
@click.argument("session_id", type=ID, required=False)
@click.option("--from", "since", help=f"Only rows at or after this time ({FROM_HELP})")
@click.option("--to", "until", help=f"Only rows at or before this time ({TO_HELP})")
@click.option("--limit", type=LIMIT, help="Only the newest N rows (still oldest first).")
@click.option("--user", help='Only the rows of this user ("": those the database wrote).')
@click.option("--action", help="Only this action (reading.record) or group (reading).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line (JSON Lines).")
@pass_context
def audit(
    context: Context,
    session_id: int | None,
    since: str | None,
    until: str | None,
    limit: int | None,
    user: str | None,
    action: str | None,
    as_json: bool,
) -> None:
    """The audit trail, oldest first: who, when, what, before/after, reason. Written as it
    is read, so a trail of any length takes little memory."""
    start, end = _period(context, since, until)
    service = context.service
    with service.audit_page(
        session_id, since=start, until=end, limit=limit, user=user, action=action
    ) as page:
        _write(map(_audit_json if as_json else _audit_text, page.rows))
        more = page.more
    if more:
        click.echo(
            f"note: the newest {limit} rows are shown and there are earlier ones: see them "
            "with a larger --limit or with --to",
            err=True,
        )


def _changed_only(before: str | None, after: str | None) -> tuple[str | None, str | None]:
    """Before and after as people read them; when both are objects, only the fields that
    changed (a trigger's row copies the whole session row: the change was lost in it).
    ``--json`` keeps them whole."""
    try:
        old, new = json.loads(before or "null"), json.loads(after or "null")
    except ValueError:
        return before, after
    if isinstance(old, dict) and isinstance(new, dict):
        keys = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
        old = {k: old[k] for k in keys if k in old}
        new = {k: new[k] for k in keys if k in new}
    shown = [
        None if stored is None else json.dumps(value, ensure_ascii=False, sort_keys=True)
        for stored, value in ((before, old), (after, new))
    ]
    return shown[0], shown[1]


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else error.__class__.__name__


def printable(text: str) -> str:
    """``text`` as one printable line: a newline, an escape or any control character a user
    typed is shown escaped, so that no input can forge a line of output."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _refuse(message: str, status: int = EXIT_REFUSED) -> None:
    click.echo(f"error: {printable(message)}", err=True)
    sys.exit(status)


def main(argv: list[str] | None = None) -> Any:
    """Entry point: run the command; refusals become one line and exit status 2."""
    args = list(sys.argv[1:] if argv is None else argv)
    for arg in args:
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            _refuse(f"argument {arg!r} is not valid UTF-8 text")
    try:
        return cli.main(args=args, prog_name="monitor", standalone_mode=False)
    except Refused as error:
        _refuse(str(error))
    except click.exceptions.Abort:
        _refuse("aborted")
    except click.ClickException as error:
        _refuse(error.format_message())
    except Exception as error:
        # A database error can only come from a command that imported SQLAlchemy already.
        exc = sys.modules.get("sqlalchemy.exc")
        if exc is None or not isinstance(error, exc.DBAPIError):
            raise
        cause = _one_line(error.orig or error)
        if isinstance(error, exc.OperationalError):
            _refuse(f"the database cannot be used: {cause}", EXIT_FAILED)
        _refuse(f"the database refused: {cause}", EXIT_FAILED)
    return None


def _register_command_modules() -> None:
    """Import every module of :mod:`monitor.commands`: each adds its commands to the groups
    above."""
    from monitor import commands

    # A listing of the folder, not pkgutil: its imports would cost `monitor --help` 3 ms.
    folder = commands.__path__[0]
    names = {name.partition(".")[0] for name in os.listdir(folder)}
    for module in sorted(n for n in names if n.isidentifier() and not n.startswith("_")):
        __import__(f"monitor.commands.{module}")


_register_command_modules()


if __name__ == "__main__":  # pragma: no cover
    main()
