"""The MLLP listener of ``monitor ingest``: HL7 v2 messages in, one ACK out per message.

A bedside monitor (or its gateway) opens a TCP connection and sends messages, each framed as
MLLP: the byte 0x0B, the message, the bytes 0x1C 0x0D. For each message the listener calls
``handle(text)``, which saves it and returns the ACK's text, and writes that ACK back. The
framing is ``hl7.mllp``'s (python-hl7); this module adds the rules of a listener that runs for
days next to a database:

- ``handle`` is blocking (it commits to a database). It runs in one worker thread: one message
  at a time over all connections, the messages of one connection in the order they came.
- The ACK is written only after ``handle`` returned, that is after its COMMIT.
- ``handle`` raising :class:`Unavailable` means "the database cannot be reached, nothing saved":
  the message is tried again (0.5 s, doubling to 5 s) while its sender is connected, and is not
  acknowledged meanwhile; not once more after a stop, nor once its sender has left. One log
  line when the outage starts, one when it ends (docs/ingest.md, "When the database cannot be
  reached").
- Any other exception from ``handle``: one log line, and the ACK is ``on_error(text, exc)``'s
  (the caller's AE or AR).
- A connection that breaks the framing (a message cut short, bytes outside a frame, a message
  over ``max_message_bytes``) is closed with one log line; the other connections go on.
- Setting ``stop``: no new connections; the message being handled is finished and its ACK sent;
  the connections are closed; :func:`serve` returns.

Memory does not grow with the messages: nothing is kept per message, only one small record per
open connection (at most ``max_connections``), each buffering at most about twice
``max_message_bytes``.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from hl7.mllp import HL7StreamReader, HL7StreamWriter, InvalidBlockError, start_hl7_server

from monitor.errors import Refused

Handle = Callable[[str], str]
OnError = Callable[[str, Exception], str]
Log = Callable[[str], None]

DEFAULT_PORT = 2575
# How long the ACK of one message may wait to be taken by a sender that stopped reading.
WRITE_TIMEOUT = 30.0
_HL7_PORT = f"HL7's is {DEFAULT_PORT}"
_ADDRESSES = "listen on 127.0.0.1, 0.0.0.0 or another address of this machine"


class Unavailable(Exception):  # noqa: N818 - the handler's word: "the database is unavailable"
    """Raised by ``handle``: the database cannot be reached, nothing was saved. The listener
    tries the message again later and does not acknowledge it meanwhile."""


class ListenError(Refused):
    """The listener cannot listen where it was asked to (a port in use, an unknown host)."""


def log_to_stderr(line: str) -> None:
    """The default log: one line on standard error, after the UTC time."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    print(f"{stamp} {line}", file=sys.stderr, flush=True)


def control_id(text: str) -> str:
    """MSH-10, the message control id, for log lines ("?" when the message has none).

    Read without parsing: the field separator is the character after "MSH"."""
    start = text.find("MSH")
    if start < 0 or len(text) < start + 4:
        return "?"
    separator = text[start + 3]
    segment = text[start:].split("\r", 1)[0].split("\n", 1)[0]
    fields = segment.split(separator)
    # fields[0] is "MSH" and MSH-1 is the separator itself: MSH-10 is fields[9].
    found = fields[9].strip() if len(fields) > 9 else ""
    return one_line(found)[:60] or "?"


def one_line(text: str) -> str:
    """``text`` on one line: line breaks and other control characters become spaces."""
    return "".join(c if c.isprintable() else " " for c in text).strip()


def decode(block: bytes) -> str:
    """The text of a message: UTF-8 (which includes ASCII), else byte for byte as ISO 8859-1,
    so that no message is refused for its encoding here (MSH-18 is the parser's matter)."""
    try:
        return block.decode("utf-8")
    except UnicodeDecodeError:
        return block.decode("latin-1")


async def serve(
    handle: Handle,
    *,
    on_error: OnError,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    ready: Callable[[int], None] | None = None,
    stop: asyncio.Event | None = None,
    log: Log = log_to_stderr,
    max_message_bytes: int = 1 << 20,
    max_connections: int = 64,
    retry_delays: tuple[float, float] = (0.5, 5.0),
) -> None:
    """Listen for MLLP connections on ``host:port`` until ``stop`` is set (forever without one).

    ``handle(text) -> ack`` saves a message and returns the text of its ACK; it is called in one
    worker thread, one message at a time. ``on_error(text, exc) -> ack`` answers a message whose
    ``handle`` raised anything but :class:`Unavailable`. ``ready(port)`` is called once
    listening, with the port bound (port 0 asks for a free one). ``retry_delays`` are the first
    and the longest wait between tries while ``handle`` raises :class:`Unavailable`.

    Raises :class:`ListenError` when it cannot listen there.
    """
    stop = stop if stop is not None else asyncio.Event()
    listener = _Listener(
        handle,
        on_error,
        stop=stop,
        log=log,
        max_message_bytes=max_message_bytes,
        max_connections=max_connections,
        retry_delays=retry_delays,
    )
    try:
        server = await start_hl7_server(listener.connected, host, port, limit=max_message_bytes)
    except (OSError, OverflowError) as exc:
        listener.executor.shutdown(wait=False)
        raise ListenError(listen_problem(host, port, exc)) from None
    try:
        if ready is not None:
            ready(server.sockets[0].getsockname()[1])
        await stop.wait()
    finally:
        server.close()
        await listener.close()
        await server.wait_closed()
        count = listener.acknowledged
        noun = "message" if count == 1 else "messages"
        log(f"stopped: {count} {noun} acknowledged since the start")


def run(
    handle: Handle,
    on_error: OnError,
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    log: Log = log_to_stderr,
    max_message_bytes: int = 1 << 20,
    max_connections: int = 64,
) -> int:
    """Run :func:`serve` until SIGTERM or SIGINT, then stop cleanly and return 0 (a second
    signal while stopping exits at once with status 1).

    Prints ``listening on HOST:PORT (MLLP)`` once listening. Raises :class:`ListenError` (one
    line saying what to do) when it cannot listen there. Call it from the main thread."""

    def listening(bound: int) -> None:
        print(f"listening on {host}:{bound} (MLLP)", flush=True)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()

        def stopping(name: str) -> None:
            if stop.is_set():  # asked twice: a `handle` that hangs must not hold the process
                log(
                    f"{name} again: exiting at once; a message being saved is not "
                    "acknowledged (its sender sends it again)"
                )
                os._exit(1)
            log(f"{name}: stopping (the message being saved is finished and acknowledged)")
            stop.set()

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping, sig.name)
        await serve(
            handle,
            on_error=on_error,
            host=host,
            port=port,
            ready=listening,
            stop=stop,
            log=log,
            max_message_bytes=max_message_bytes,
            max_connections=max_connections,
        )

    asyncio.run(main())
    return 0


def listen_problem(host: str, port: int, exc: BaseException) -> str:
    """One line saying why the listener cannot listen on ``host:port``, and what to do."""
    if isinstance(exc, OverflowError):
        return f"port {port} does not exist: give a port from 1 to 65535 ({_HL7_PORT})"
    if isinstance(exc, socket.gaierror):
        return f"unknown host {host!r} ({exc.strerror}): {_ADDRESSES}"
    code = exc.errno if isinstance(exc, OSError) else None
    if code == errno.EADDRINUSE:
        return (
            f"{host}:{port} is already in use (another `monitor ingest`?): "
            "stop it, or give another --port"
        )
    if code == errno.EACCES:
        return f"not allowed to listen on port {port}: give a port above 1023 ({_HL7_PORT})"
    if code == errno.EADDRNOTAVAIL:
        return f"{host} is not an address of this machine: {_ADDRESSES}"
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return f"cannot listen on {host}:{port}: {reason}"


@dataclass(eq=False)
class _Connection:
    """One open connection: its name for log lines, and whether a message of it is being
    handled (a connection is closed at a stop only between messages)."""

    peer: str
    task: asyncio.Task[None] | None = None
    busy: bool = False


class _Outage:
    """The database's state as ``handle`` last reported it: one log line when an outage
    starts, one when it ends."""

    def __init__(self, log: Log) -> None:
        self.log = log
        self.since: float | None = None

    def failed(self, exc: Exception) -> None:
        if self.since is None:
            self.since = time.monotonic()
            self.log(
                f"database unavailable ({one_line(str(exc)) or type(exc).__name__}): "
                "messages are held unacknowledged and tried again"
            )

    def ended(self) -> None:
        if self.since is not None:
            lasted = time.monotonic() - self.since
            self.since = None
            self.log(f"database reachable again after {lasted:.1f} s: messages are saved again")


class _Listener:
    """The connections of one :func:`serve`, and the worker thread their messages share."""

    def __init__(
        self,
        handle: Handle,
        on_error: OnError,
        *,
        stop: asyncio.Event,
        log: Log,
        max_message_bytes: int,
        max_connections: int,
        retry_delays: tuple[float, float],
    ) -> None:
        self.handle = handle
        self.on_error = on_error
        self.stop = stop
        self.log = log
        self.max_message_bytes = max_message_bytes
        self.max_connections = max_connections
        self.first_delay, self.longest_delay = retry_delays
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mllp-handle")
        self.connections: set[_Connection] = set()
        self.outage = _Outage(log)
        self.acknowledged = 0
        self.closing = False

    def connected(self, reader: HL7StreamReader, writer: HL7StreamWriter) -> None:
        """hl7.mllp's callback for a new connection: serve it in a task of its own."""
        peer = peer_name(writer)
        if self.closing or self.stop.is_set():
            writer.close()
            return
        if len(self.connections) >= self.max_connections:
            self.log(f"{peer}: refused: {self.max_connections} connections are open already")
            writer.close()
            return
        connection = _Connection(peer)
        self.connections.add(connection)
        connection.task = asyncio.get_running_loop().create_task(
            self.serve_connection(connection, reader, writer)
        )
        connection.task.add_done_callback(lambda _task: self.connections.discard(connection))

    async def serve_connection(
        self, connection: _Connection, reader: HL7StreamReader, writer: HL7StreamWriter
    ) -> None:
        """Read, handle and acknowledge the messages of one connection, in order, until it
        ends, breaks the framing, or the listener stops."""
        peer = connection.peer
        try:
            while not (self.stop.is_set() or self.closing):
                block = await self.read_block(peer, reader)
                if block is None:
                    return
                connection.busy = True
                text = decode(block)
                ack = await self.answer(peer, text, reader, writer)
                if ack is None:
                    return
                writer.writeblock(ack.encode("utf-8"))
                try:
                    await asyncio.wait_for(writer.drain(), WRITE_TIMEOUT)
                except TimeoutError:
                    self.log(
                        f"{peer}: the ACK of message {control_id(text)} was not taken: "
                        "connection closed"
                    )
                    return
                self.acknowledged += 1
                connection.busy = False
        except ConnectionError as exc:
            self.log(f"{peer}: connection lost ({one_line(str(exc)) or type(exc).__name__})")
        except Exception as exc:  # never let one connection stop the listener
            problem = f"{type(exc).__name__}: {one_line(str(exc))}"
            self.log(f"{peer}: connection closed after an error: {problem}")
        finally:
            connection.busy = False
            writer.close()

    async def read_block(self, peer: str, reader: HL7StreamReader) -> bytes | None:
        """The next message's bytes, or None when the connection ended (cleanly, or after a
        broken frame, with one log line)."""
        try:
            block: bytes = await reader.readblock()
            return block
        except asyncio.IncompleteReadError as exc:
            if exc.partial.strip():
                self.log(
                    f"{peer}: connection ended in the middle of a message "
                    f"({len(exc.partial)} bytes): dropped, not acknowledged"
                )
            return None
        except InvalidBlockError:
            self.log(
                f"{peer}: bytes outside an MLLP frame (a message starts with byte 0x0B): "
                "connection closed"
            )
            return None
        except ValueError:  # hl7.mllp: the stream's limit was passed
            self.log(
                f"{peer}: a message over {self.max_message_bytes} bytes "
                "(or a frame without its end 0x1C 0x0D): connection closed, not acknowledged"
            )
            return None

    async def answer(
        self, peer: str, text: str, reader: HL7StreamReader, writer: HL7StreamWriter
    ) -> str | None:
        """The ACK of one message, once ``handle`` saved it (or ``on_error``'s answer), or
        None when it cannot be saved before its sender leaves or the listener stops."""
        loop = asyncio.get_running_loop()
        delay = self.first_delay
        while True:
            try:
                ack: str = await loop.run_in_executor(self.executor, self.handle, text)
                self.outage.ended()
                return ack
            except Unavailable as exc:
                self.outage.failed(exc)
            except Exception as exc:
                self.log(
                    f"{peer}: message {control_id(text)}: "
                    f"{type(exc).__name__}: {one_line(str(exc))}"
                )
                return await self.refusal(peer, text, exc)
            if self.given_up(peer, text, reader, writer):
                return None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), delay)
            # Not one more try after a stop or for a sender gone meanwhile: on SQLite a try
            # waits out the busy timeout (30 s) before it fails.
            if self.given_up(peer, text, reader, writer):
                return None
            delay = min(delay * 2, self.longest_delay)

    def given_up(
        self, peer: str, text: str, reader: HL7StreamReader, writer: HL7StreamWriter
    ) -> bool:
        """Whether to stop trying a message the database could not take: the listener is
        stopping or its sender left (one log line then: it is not acknowledged)."""
        if not (self.stop.is_set() or self.closing or sender_left(reader, writer)):
            return False
        self.log(
            f"{peer}: message {control_id(text)} not saved (database unavailable) and "
            "not acknowledged: its sender will send it again"
        )
        return True

    async def refusal(self, peer: str, text: str, exc: Exception) -> str | None:
        """``on_error``'s answer to a message ``handle`` failed on (None if it fails too)."""
        loop = asyncio.get_running_loop()
        try:
            ack: str = await loop.run_in_executor(self.executor, self.on_error, text, exc)
            return ack
        except Exception as again:
            self.log(
                f"{peer}: no answer to message {control_id(text)} "
                f"({type(again).__name__}: {one_line(str(again))}): connection closed"
            )
            return None

    async def close(self) -> None:
        """Close the connections: those waiting for a message at once, the others once the
        message being handled is acknowledged. Then let the worker thread go."""
        self.closing = True
        for connection in list(self.connections):
            if not connection.busy and connection.task is not None:
                connection.task.cancel()
        tasks = [c.task for c in self.connections if c.task is not None]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self.executor.shutdown(wait=True)


def peer_name(writer: HL7StreamWriter) -> str:
    """``host:port`` of the other end of a connection, for log lines."""
    peer = writer.get_extra_info("peername")
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return str(peer)


def sender_left(reader: HL7StreamReader, writer: HL7StreamWriter) -> bool:
    """Whether the sender closed or lost the connection (nothing more to read from it)."""
    return writer.is_closing() or reader.at_eof() or reader.exception() is not None
