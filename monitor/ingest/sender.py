"""Sending HL7 v2 messages over MLLP, as a bedside monitor's gateway would: ``monitor device
send`` (issue #24) and the tests and benchmark of the listener.

:func:`send` opens one connection, sends the messages one after the other, waits for each one's
ACK before the next, and returns the ACKs' texts. :func:`split_file` cuts a file of HL7
messages into messages. Neither parses HL7: an ACK's meaning is the caller's.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Iterable

from hl7.mllp import HL7StreamReader, HL7StreamWriter, InvalidBlockError, open_hl7_connection

from monitor.errors import Refused

DEFAULT_PORT = 2575
# The batch envelope of a file of messages (file and batch header and trailer): not messages.
ENVELOPE = frozenset({"FHS", "BHS", "BTS", "FTS"})
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_MAX_ACK_BYTES = 1 << 20


class SendError(Refused):
    """Messages could not be sent or were not acknowledged. ``acks`` holds the ACKs received
    before the failure, one per message sent successfully, in order."""

    def __init__(self, message: str, acks: list[str] | None = None) -> None:
        super().__init__(message)
        self.acks = list(acks or [])


def send(
    messages: Iterable[str],
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    timeout: float = 10.0,
) -> list[str]:
    """Send ``messages`` over one MLLP connection to ``host:port`` and return their ACKs' texts,
    in order. Each message is sent once the previous one was acknowledged.

    Raises :class:`SendError` (one line) when nothing listens there, the connection fails, or an
    ACK does not come within ``timeout`` seconds. Not for code already in an event loop: that
    awaits :func:`send_async`."""
    return asyncio.run(send_async(messages, host=host, port=port, timeout=timeout))


async def send_async(
    messages: Iterable[str],
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    timeout: float = 10.0,
) -> list[str]:
    """:func:`send` for code in an event loop."""
    where = f"{host}:{port}"
    try:
        reader, writer = await asyncio.wait_for(
            open_hl7_connection(host, port, limit=_MAX_ACK_BYTES), timeout
        )
    except ConnectionRefusedError:
        raise SendError(f"nothing is listening on {where}: start `monitor ingest`") from None
    except TimeoutError:
        raise SendError(
            f"no answer from {where} within {timeout:g} s: is `monitor ingest` running there?"
        ) from None
    except (OSError, OverflowError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise SendError(f"cannot connect to {where}: {reason}") from None
    acks: list[str] = []
    try:
        for number, message in enumerate(messages, start=1):
            text = as_segments(message)
            if not text:
                raise SendError(f"message {number} is empty: nothing was sent for it", acks)
            writer.writeblock(text.encode("utf-8"))
            acks.append(await _ack(reader, writer, where, number, timeout, acks))
        return acks
    finally:
        writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            await asyncio.wait_for(writer.wait_closed(), timeout)


async def _ack(
    reader: HL7StreamReader,
    writer: HL7StreamWriter,
    where: str,
    number: int,
    timeout: float,
    acks: list[str],
) -> str:
    """The ACK of message ``number``, just sent; a :class:`SendError` when it does not come."""
    unsure = "it may or may not have been saved; sending it again is safe"
    try:
        await asyncio.wait_for(writer.drain(), timeout)
        block: bytes = await asyncio.wait_for(reader.readblock(), timeout)
    except TimeoutError:
        problem = f"no ACK from {where} within {timeout:g} s for message {number}: {unsure}"
        raise SendError(problem, acks) from None
    except (asyncio.IncompleteReadError, ConnectionError):
        problem = f"{where} closed the connection before acknowledging message {number}: {unsure}"
        raise SendError(problem, acks) from None
    except (InvalidBlockError, ValueError):
        problem = (
            f"{where} answered message {number} with something that is not an MLLP frame: "
            "is it an HL7 listener?"
        )
        raise SendError(problem, acks) from None
    return block.decode("utf-8", errors="replace")


def as_segments(message: str) -> str:
    """A message with its segments separated by ``\\r`` as HL7 requires (whatever the line
    breaks it was written with), ending in ``\\r``; "" for a message with no segment. HL7 field
    values cannot hold a raw line break (it is escaped), so this changes no value."""
    segments = [s for s in _LINE_BREAK.split(message.strip("\x0b\x1c")) if s.strip()]
    return "".join(s + "\r" for s in segments)


def split_file(text: str) -> list[str]:
    """The messages of a file of HL7 v2 messages, each with ``\\r`` after each segment.

    Each message starts at an MSH segment. Segments may be separated by ``\\r``, ``\\n`` or
    ``\\r\\n``; blank lines between messages, MLLP framing bytes (a file captured off the wire)
    and a batch envelope (FHS, BHS, BTS, FTS) are skipped. Raises :class:`SendError` for text
    before the first MSH, or a file without any message."""
    messages: list[str] = []
    current: list[str] = []
    cleaned = text.lstrip("\ufeff").replace("\x0b", "").replace("\x1c", "")
    for number, raw in enumerate(_LINE_BREAK.split(cleaned), start=1):
        line = raw.lstrip()
        if not line:
            continue
        name = line[:3]
        if name == "MSH":
            if current:
                messages.append("".join(s + "\r" for s in current))
            current = [line]
        elif name in ENVELOPE:
            continue
        elif not current:
            shown = line[:24] + ("..." if len(line) > 24 else "")
            raise SendError(
                f"line {number} ({shown!r}) comes before any message: each message starts "
                "with an MSH segment"
            )
        else:
            current.append(line)
    if current:
        messages.append("".join(s + "\r" for s in current))
    if not messages:
        raise SendError("no HL7 message in the file: each message starts with an MSH segment")
    return messages
