"""``monitor device`` and ``monitor ingest``: bedside monitors that send readings over HL7 v2
(docs/devices.md). A supervisor registers each device by the identifier it sends and binds
it to a bay; ``ingest`` listens for their messages; ``device send`` sends one as a monitor
would, to try it without hardware."""

from __future__ import annotations

from typing import Any

import click

from monitor.cli.output import Context, acting, echo_json, local, pass_context, printable
from monitor.errors import Refused

#: HL7's MLLP port.
PORT = 2575


@click.group()
def device() -> None:
    """Bedside monitors: register them, bind them to bays, send a reading as one would."""


def _shown(found: Any) -> str:
    where = f"bay {printable(found.bay)}" if found.bay is not None else "disabled"
    return f"{printable(found.name)}: {where}"


@device.command("add")
@click.argument("name")
@click.option("--bay", required=True, help="The bay it stands in (its readings go there).")
@click.option("--by", required=True, help="The supervisor registering it.")
@acting
@pass_context
def device_add(context: Context, name: str, bay: str, by: str) -> None:
    """Register a device by the identifier it sends (OBX-18's equipment, else MSH-3)."""
    click.echo(f"device {_shown(context.service.add_device(name, bay=bay, by=by))}")


@device.command("move")
@click.argument("name")
@click.option("--bay", required=True, help="The bay it now stands in.")
@click.option("--by", required=True, help="The supervisor moving it.")
@acting
@pass_context
def device_move(context: Context, name: str, bay: str, by: str) -> None:
    """Bind a device to another bay (or again to one, once disabled)."""
    click.echo(f"device {_shown(context.service.move_device(name, bay=bay, by=by))}")


@device.command("disable")
@click.argument("name")
@click.option("--by", required=True, help="The supervisor disabling it.")
@acting
@pass_context
def device_disable(context: Context, name: str, by: str) -> None:
    """Take no more readings from a device (those it sent stay)."""
    click.echo(f"device {_shown(context.service.disable_device(name, by=by))}")


@device.command("list")
@click.option("--json", "as_json", is_flag=True, help="A JSON list.")
@pass_context
def device_list(context: Context, as_json: bool) -> None:
    """The registered devices and their bays."""
    found = context.service.devices()
    if as_json:
        echo_json(
            [
                {
                    "name": d.name,
                    "bay": d.bay,
                    "added_at": d.added_at.isoformat(),
                    "bound_at": d.bound_at.isoformat() if d.bound_at else None,
                }
                for d in found
            ]
        )
        return
    if not found:
        click.echo("no device: a supervisor adds one with `monitor device add NAME --bay LABEL`")
    for d in found:
        click.echo(f"{_shown(d)} (since {local(d.bound_at)})")


@device.command("send")
@click.argument("entry", required=False)
@click.option("--bay", required=True, help="The bay the device stands in (PV1-3).")
@click.option("--device", "name", help="The device's identifier (default: the one in --bay).")
@click.option("--file", "path", type=click.Path(dir_okay=False), help="HL7 messages to send.")
@click.option(
    "--style",
    type=click.Choice(["philips", "welch-allyn"]),
    default="philips",
    help="Whose messages to imitate: MDC codes and OBX-18, or LOINC and PV1-3.",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=PORT, show_default=True)
@pass_context
def device_send(
    context: Context,
    entry: str | None,
    bay: str,
    name: str | None,
    path: str | None,
    style: str,
    host: str,
    port: int,
) -> None:
    """Send a reading as a bedside monitor would: an ORU^R01 built from ENTRY (a quick-entry
    line such as "128/84 hr 76 spo2 97 rr 14"), or the HL7 messages of --file, over MLLP;
    print each ACK. Exit 0 when every message was accepted (AA), 2 otherwise."""
    from monitor.hl7 import parse_ack
    from monitor.ingest.sender import send

    if (entry is None) == (path is None):
        raise click.UsageError("give ENTRY or --file, one of them")
    messages = (
        _from_file(path) if path is not None else [_built(context, entry or "", bay, name, style)]
    )
    accepted = True
    for ack in send(messages, host=host, port=port):
        code, control, text = parse_ack(ack)
        accepted = accepted and code == "AA"
        click.echo(f"{code} {printable(control)}: {printable(text)}")
    if not accepted:
        raise SystemExit(2)


def _from_file(path: str) -> list[str]:
    from monitor.ingest.sender import split_file

    try:
        with open(path, encoding="utf-8", errors="replace") as given:
            text = given.read(16 << 20)
    except OSError as error:
        raise Refused(f"--file {path}: {error.strerror or error}") from None
    messages = split_file(text)
    if not messages:
        raise Refused(f"--file {path} holds no HL7 message (each starts with MSH)")
    return messages


def _built(context: Context, entry: str, bay: str, name: str | None, style: str) -> str:
    import uuid
    from datetime import UTC, datetime

    from monitor.core.entry import parse_entry
    from monitor.hl7 import build_oru

    vitals = parse_entry(entry)
    values = {m.value: v for m, v in vitals.items()}
    if "moaas" in values or "cadss" in values:
        raise Refused("MOAA/S and CADSS are a nurse's entry: a monitor sends BP, HR, SpO2, RR")
    if name is None:
        name = _device_in(context, bay)
    return build_oru(
        values,
        device=name,
        bay=bay,
        control_id=uuid.uuid4().hex[:20].upper(),
        at=datetime.now(UTC),
        style=style,
    )


def _device_in(context: Context, bay: str) -> str:
    from monitor.services.devices import same_bay

    found = [d.name for d in context.service.devices() if d.bay and same_bay(d.bay, bay)]
    if len(found) != 1:
        some = "no device" if not found else f"{len(found)} devices"
        raise Refused(f"{some} in bay {printable(bay)}: name one with --device NAME")
    return found[0]


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=PORT, show_default=True)
@click.option(
    "--by",
    required=True,
    help="The user the readings are saved as (a nurse or a "
    "service account); each reading awaits a nurse's validation.",
)
@click.option(
    "--pin-stdin",
    is_flag=True,
    help="Read the PIN of --by from standard input's first line (else MONITOR_PIN, else a prompt).",
)
@pass_context
def ingest(context: Context, host: str, port: int, by: str, pin_stdin: bool) -> None:
    """Listen for bedside monitors' HL7 v2 ORU^R01 messages over MLLP until stopped
    (Ctrl-C or SIGTERM): each is saved for the patient in its device's bay, awaiting a nurse's
    validation, and acknowledged once committed (AA), or refused with the reason (AE/AR),
    audited and logged in one line."""
    from datetime import datetime

    from monitor.cli.output import secret
    from monitor.ingest.handler import Handler
    from monitor.ingest.listener import log_to_stderr, run

    pin = secret(f"PIN for {by}", pin_stdin=pin_stdin, env=True)
    service = context.service
    service.authenticate(by, pin)
    zone = datetime.now().astimezone().tzinfo
    assert zone is not None
    handler = Handler(
        service,
        by=by,
        local_zone=zone,
        log=log_to_stderr,
        # A listener runs for days; PostgreSQL's sign-in lasts a shift.
        sign_in_again=lambda: _sign_in(service, by, pin),
    )
    raise SystemExit(run(handler.handle, handler.on_error, host=host, port=port))


def _sign_in(service: Any, by: str, pin: str) -> None:
    service.authenticate(by, pin)
