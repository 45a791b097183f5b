"""Helpers of the ingest tests: a listener on a free port of 127.0.0.1, raw MLLP clients, and
handlers that record what they were given. Waits are on events with generous timeouts: a
test never asserts that something happened within some time."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any

from monitor.ingest.listener import Unavailable, control_id, serve

WAIT = 10.0  # seconds: only ever reached when a test fails


def message(
    number: int | str, body: str = "PID|1||P1\rOBX|1|NM|150021^MDC_PRESS_BLD_ART_SYS||128|mm[Hg]"
) -> str:
    """An HL7 message with control id ``number``."""
    return f"MSH|^~\\&|GW|WARD|MONITOR|CLINIC|20261206120000||ORU^R01|{number}|P|2.6\r{body}\r"


def ack_for(text: str) -> str:
    """The ACK the test handlers answer: it names the message's control id."""
    return f"MSH|^~\\&|MONITOR|CLINIC|GW|WARD|20261206120000||ACK|A{control_id(text)}|P|2.6\rMSA|AA|{control_id(text)}\r"


def frame(text: str) -> bytes:
    return b"\x0b" + text.encode() + b"\x1c\r"


def refuse(text: str, exc: Exception) -> str:
    """The tests' ``on_error``: an AE naming the error."""
    return (
        f"MSH|^~\\&|MONITOR|CLINIC|||20261206120000||ACK|E|P|2.6\rMSA|AE|{control_id(text)}|{exc}\r"
    )


class Recorder:
    """A handler that records each message it saves and answers :func:`ack_for`."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, text: str) -> str:
        with self.lock:
            self.messages.append(text)
        return ack_for(text)

    def ids(self) -> list[str]:
        with self.lock:
            return [control_id(m) for m in self.messages]


class FlakyDatabase(Recorder):
    """A handler whose database is down while ``down`` is set: it raises :class:`Unavailable`
    then, and saves nothing. ``attempts`` counts every call."""

    def __init__(self, failures: int = 0) -> None:
        super().__init__()
        self.down = threading.Event()
        self.failures = failures
        self.attempts = 0

    def __call__(self, text: str) -> str:
        self.attempts += 1
        if self.down.is_set() or self.attempts <= self.failures:
            raise Unavailable("connection refused by the database server")
        return super().__call__(text)


@dataclass
class Running:
    """A listener running for a test: its port, its stop event, its log lines and its task."""

    port: int
    stop: asyncio.Event
    task: asyncio.Task[None]
    logs: list[str] = field(default_factory=list)

    clients: list[asyncio.StreamWriter] = field(default_factory=list)

    def logged(self, words: str) -> list[str]:
        return [line for line in self.logs if words in line]

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A raw client connection, closed when the listener is."""
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", self.port), WAIT
        )
        self.clients.append(writer)
        return reader, writer


@asynccontextmanager
async def listening(handle: Callable[[str], str], **options: Any) -> AsyncIterator[Running]:
    """A listener on a free port of 127.0.0.1, stopped (and awaited) at the end."""
    loop = asyncio.get_running_loop()
    bound: asyncio.Future[int] = loop.create_future()
    stop = asyncio.Event()
    logs: list[str] = []
    options.setdefault("on_error", refuse)
    task = asyncio.create_task(
        serve(
            handle,
            host="127.0.0.1",
            port=0,
            ready=bound.set_result,
            stop=stop,
            log=logs.append,
            **options,
        )
    )
    started: set[asyncio.Future[Any]] = {bound, task}
    await asyncio.wait(started, timeout=WAIT, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()  # raises what serve raised
    running = Running(bound.result(), stop, task, logs)
    try:
        yield running
    finally:
        stop.set()
        await asyncio.wait_for(task, WAIT)
        for writer in running.clients:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


@contextmanager
def listening_in_thread(handle: Callable[[str], str], **options: Any) -> Iterator[int]:
    """A listener in a thread of its own (for the blocking :func:`send`); yields its port."""
    ready = threading.Event()
    port: list[int] = []
    loop_and_stop: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    async def main() -> None:
        stop = asyncio.Event()
        loop_and_stop.append((asyncio.get_running_loop(), stop))

        def bound(number: int) -> None:
            port.append(number)
            ready.set()

        await serve(
            handle,
            on_error=refuse,
            host="127.0.0.1",
            port=0,
            ready=bound,
            stop=stop,
            log=lambda _line: None,
            **options,
        )

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(WAIT), "the listener did not start"
    try:
        yield port[0]
    finally:
        loop, stop = loop_and_stop[0]
        loop.call_soon_threadsafe(stop.set)
        thread.join(WAIT)
        assert not thread.is_alive(), "the listener did not stop"


async def until(condition: Callable[[], bool], what: str) -> None:
    """Wait until ``condition()`` holds (checked every few milliseconds; fails after WAIT s)."""
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"still waiting for {what}"
        await asyncio.sleep(0.005)


async def read_ack(reader: asyncio.StreamReader) -> str:
    """The next MLLP frame's text."""
    block = await asyncio.wait_for(reader.readuntil(b"\x1c\r"), WAIT)
    assert block.startswith(b"\x0b"), block[:20]
    return block[1:-2].decode()


async def closed_by_listener(reader: asyncio.StreamReader) -> bytes:
    """Whatever is left to read until the listener closes the connection (fails if it does
    not close it). A close with bytes of ours still unread there arrives as a reset."""
    try:
        return await asyncio.wait_for(reader.read(), WAIT)
    except ConnectionResetError:
        return b""
