"""The MLLP listener over real sockets on 127.0.0.1: order, many connections, a flood, broken
framing, limits, stopping, database outages (monitor/ingest/listener.py, docs/ingest.md)."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections import Counter

import pytest

from monitor.errors import Refused
from monitor.ingest.listener import ListenError, control_id, decode, listen_problem, serve
from tests.ingest.helpers import (
    WAIT,
    FlakyDatabase,
    Recorder,
    Running,
    ack_for,
    closed_by_listener,
    frame,
    listening,
    message,
    read_ack,
    refuse,
    until,
)


async def test_messages_of_one_connection_are_handled_and_acknowledged_in_order():
    handler = Recorder()
    async with listening(handler) as running:
        reader, writer = await running.connect()
        texts = [message(n) for n in range(20)]
        writer.write(b"".join(frame(t) for t in texts))  # all at once, before any ACK
        acks = [await read_ack(reader) for _ in texts]
        writer.close()
    assert acks == [ack_for(t) for t in texts]
    assert handler.messages == texts
    assert running.logs == ["stopped: 20 messages acknowledged since the start"]


async def test_a_sender_that_half_closes_still_gets_the_acks_of_what_it_sent():
    handler = Recorder()
    async with listening(handler) as running:
        reader, writer = await running.connect()
        texts = [message(n) for n in range(3)]
        writer.write(b"".join(frame(t) for t in texts))
        writer.write_eof()  # "no more messages", still reading
        assert [await read_ack(reader) for _ in texts] == [ack_for(t) for t in texts]
        assert await closed_by_listener(reader) == b""
    assert handler.messages == texts
    assert running.logged("connection") == []  # an ordinary end: no log line


async def test_many_connections_each_get_their_own_acks_in_order():
    handler = Recorder()

    async def one_sender(number: int) -> list[str]:
        reader, writer = await running.connect()
        acks = []
        for n in range(10):
            writer.write(frame(message(f"{number}-{n}")))
            acks.append(await read_ack(reader))
        writer.close()
        return acks

    async with listening(handler) as running:
        results = await asyncio.gather(*(one_sender(c) for c in range(20)))
    for number, acks in enumerate(results):
        assert acks == [ack_for(message(f"{number}-{n}")) for n in range(10)]
    ids = handler.ids()
    assert len(ids) == 200 and set(ids) == {f"{c}-{n}" for c in range(20) for n in range(10)}
    for number in range(20):  # each connection's messages were handled in its order
        assert [i for i in ids if i.startswith(f"{number}-")] == [
            f"{number}-{n}" for n in range(10)
        ]


async def test_a_flood_of_1000_messages_over_one_connection_is_all_acknowledged_once():
    handler = Recorder()
    async with listening(handler) as running:
        reader, writer = await running.connect()
        texts = [message(n) for n in range(1000)]

        async def write_all() -> None:
            for start in range(0, 1000, 100):
                writer.write(b"".join(frame(t) for t in texts[start : start + 100]))
                await writer.drain()

        writing = asyncio.create_task(write_all())
        acks = [await read_ack(reader) for _ in texts]
        await writing
        writer.close()
    assert acks == [ack_for(t) for t in texts]
    assert Counter(handler.ids()) == Counter(str(n) for n in range(1000))
    assert handler.messages == texts


async def test_a_connection_dropped_mid_frame_loses_only_its_partial_message():
    handler = Recorder()
    async with listening(handler) as running:
        reader, writer = await running.connect()
        writer.write(frame(message("whole")))
        assert await read_ack(reader) == ack_for(message("whole"))
        writer.write(frame(message("cut"))[:40])  # the start of a frame, and no end
        await writer.drain()
        writer.close()
        await until(lambda: running.logged("middle of a message"), "the log line")
        # the listener serves the others as before
        reader, writer = await running.connect()
        writer.write(frame(message("after")))
        assert await read_ack(reader) == ack_for(message("after"))
        writer.close()
    assert handler.ids() == ["whole", "after"]
    assert len(running.logged("dropped, not acknowledged")) == 1


async def test_a_frame_without_its_start_byte_closes_the_connection():
    handler = Recorder()
    async with listening(handler) as running:
        reader, writer = await running.connect()
        writer.write(message("no-start").encode() + b"\x1c\r")
        assert await closed_by_listener(reader) == b""
        reader, writer = await running.connect()  # the next sender is served
        writer.write(frame(message("ok")))
        assert await read_ack(reader) == ack_for(message("ok"))
        writer.close()
    assert handler.ids() == ["ok"]
    assert len(running.logged("bytes outside an MLLP frame")) == 1


async def test_garbage_between_frames_closes_the_connection_after_the_good_ones():
    handler = Recorder()
    async with listening(handler) as running:
        reader, writer = await running.connect()
        writer.write(frame(message(1)) + b"noise\r\n" + frame(message(2)))
        assert await read_ack(reader) == ack_for(message(1))
        assert await closed_by_listener(reader) == b""
    assert handler.ids() == ["1"]
    assert len(running.logged("bytes outside an MLLP frame")) == 1


async def test_a_message_over_the_limit_closes_the_connection_and_is_not_handled():
    handler = Recorder()
    async with listening(handler, max_message_bytes=2000) as running:
        reader, writer = await running.connect()
        near = message("near", "NTE|1||" + "x" * 1800)
        writer.write(frame(near))
        assert await read_ack(reader) == ack_for(near)
        writer.write(frame(message("big", "NTE|1||" + "x" * 5000)))
        assert await closed_by_listener(reader) == b""
        # a frame that never ends is cut at the limit too, not buffered without end
        reader, writer = await running.connect()
        writer.write(b"\x0bMSH|" + b"y" * 10_000)
        assert await closed_by_listener(reader) == b""
    assert handler.ids() == ["near"]
    assert len(running.logged("over 2000 bytes")) == 2


async def test_stop_while_a_message_is_handled_still_delivers_its_ack():
    entered, release = threading.Event(), threading.Event()
    handler = Recorder()

    def slow(text: str) -> str:
        entered.set()
        assert release.wait(WAIT)
        return handler(text)

    async with listening(slow) as running:
        busy_reader, busy_writer = await running.connect()
        busy_writer.write(frame(message("during")) + frame(message("queued")))
        idle_reader, _idle_writer = await running.connect()
        assert await asyncio.to_thread(entered.wait, WAIT)
        running.stop.set()
        await asyncio.sleep(0)  # let the listener see the stop while the message is handled
        assert not running.task.done()
        release.set()
        assert await read_ack(busy_reader) == ack_for(message("during"))
        assert await closed_by_listener(busy_reader) == b""
        assert await closed_by_listener(idle_reader) == b""
        await asyncio.wait_for(running.task, WAIT)
        with pytest.raises(ConnectionRefusedError):  # no longer listening
            await running.connect()
    assert handler.ids() == ["during"]  # the queued message was neither handled nor acked


async def test_an_unavailable_database_is_retried_and_acked_only_once_saved():
    database = FlakyDatabase()
    database.down.set()
    async with listening(database, retry_delays=(0.01, 0.05)) as running:
        reader, writer = await running.connect()
        writer.write(frame(message("held")))
        await until(lambda: database.attempts >= 4, "tries while the database is down")
        with pytest.raises(TimeoutError):  # nothing acknowledged while it was not saved
            await asyncio.wait_for(reader.readuntil(b"\x1c\r"), 0.05)
        assert database.messages == []
        database.down.clear()
        assert await read_ack(reader) == ack_for(message("held"))
        writer.write(frame(message("next")))
        assert await read_ack(reader) == ack_for(message("next"))
        writer.close()
    assert database.ids() == ["held", "next"]
    assert len(running.logged("database unavailable")) == 1
    assert len(running.logged("database reachable again")) == 1


async def test_unavailable_twice_then_saved():
    database = FlakyDatabase(failures=2)
    async with listening(database, retry_delays=(0.01, 0.05)) as running:
        reader, writer = await running.connect()
        writer.write(frame(message(7)))
        assert await read_ack(reader) == ack_for(message(7))
        writer.close()
    assert database.attempts == 3 and database.ids() == ["7"]


async def test_a_sender_that_leaves_during_an_outage_gets_nothing_and_others_go_on():
    database = FlakyDatabase()
    database.down.set()
    async with listening(database, retry_delays=(0.01, 0.02)) as running:
        _reader, writer = await running.connect()
        writer.write(frame(message("gone")))
        await until(lambda: database.attempts >= 2, "a failed try")
        writer.close()
        await until(lambda: running.logged("not saved (database unavailable)"), "the log line")
        attempts = database.attempts
        database.down.clear()
        reader, writer = await running.connect()
        writer.write(frame(message("later")))
        assert await read_ack(reader) == ack_for(message("later"))
        writer.close()
    assert database.ids() == ["later"]
    assert database.attempts == attempts + 1  # the message of the sender who left: not retried


async def test_stop_during_an_outage_returns_without_acknowledging():
    database = FlakyDatabase()
    database.down.set()
    async with listening(database, retry_delays=(5.0, 5.0)) as running:
        reader, writer = await running.connect()
        writer.write(frame(message("held")))
        await until(lambda: database.attempts >= 1, "a failed try")
        running.stop.set()
        assert await closed_by_listener(reader) == b""  # closed, no ACK: well before 5 s
        await asyncio.wait_for(running.task, WAIT)
    assert database.messages == []


async def test_an_error_in_handle_is_answered_by_on_error_with_one_log_line():
    def broken(text: str) -> str:
        raise ValueError("OBX-5 is not a number\nsecond line")

    async with listening(broken) as running:
        reader, writer = await running.connect()
        writer.write(frame(message("bad")))
        assert await read_ack(reader) == refuse(
            message("bad"), ValueError("OBX-5 is not a number\nsecond line")
        )
        writer.close()
    [line] = running.logged("message bad")
    assert line.endswith("ValueError: OBX-5 is not a number second line")


async def test_an_error_in_on_error_closes_that_connection_only():
    def broken(text: str) -> str:
        raise ValueError("bad")

    def also_broken(text: str, exc: Exception) -> str:
        raise RuntimeError("no AE either")

    async with listening(broken, on_error=also_broken) as running:
        reader, writer = await running.connect()
        writer.write(frame(message("x")))
        assert await closed_by_listener(reader) == b""
        await until(lambda: running.logged("no answer to message x"), "the log line")
        assert not running.task.done()


async def test_connections_over_the_maximum_are_refused():
    handler = Recorder()
    async with listening(handler, max_connections=2) as running:
        open_ones = []
        for number in range(2):
            reader, writer = await running.connect()
            writer.write(frame(message(number)))
            assert await read_ack(reader) == ack_for(message(number))
            open_ones.append(writer)
        reader, _writer = await running.connect()
        assert await closed_by_listener(reader) == b""
        open_ones[0].close()  # a place frees up: the next sender is served (once seen closed)
        assert await _served_after_refusals(running, "third") == ack_for(message("third"))
    assert len(running.logged("2 connections are open already")) >= 1
    assert handler.ids() == ["0", "1", "third"]


async def _served_after_refusals(running: Running, number: str) -> str:
    """Connect and send until the listener takes the connection; the ACK."""
    for _ in range(1000):
        reader, writer = await running.connect()
        writer.write(frame(message(number)))
        try:
            return await read_ack(reader)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            await asyncio.sleep(0.01)
    raise AssertionError("the listener never took a new connection")


async def test_a_port_in_use_is_refused_with_one_line():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ListenError, match=r"127.0.0.1:\d+ is already in use .*another --port"):
            await serve(
                Recorder(), on_error=refuse, host="127.0.0.1", port=port, log=lambda _l: None
            )
    assert issubclass(ListenError, Refused)


async def test_an_unknown_host_is_refused_with_one_line():
    with pytest.raises(ListenError, match=r"unknown host 'no-such-host\.invalid'"):
        await serve(
            Recorder(), on_error=refuse, host="no-such-host.invalid", port=0, log=lambda _l: None
        )


def test_listen_problems_say_what_to_do():
    assert "above 1023" in listen_problem("127.0.0.1", 80, PermissionError(13, "Permission denied"))
    assert "from 1 to 65535" in listen_problem("127.0.0.1", 70000, OverflowError("port"))
    assert "not an address of this machine" in listen_problem("10.9.9.9", 2575, OSError(99, "x"))


def test_control_id_and_decoding():
    assert control_id(message("ABC-1")) == "ABC-1"
    assert control_id("MSH#^~\\&#a#b#c#d#e##ORU#X9#P#2.6") == "X9"
    assert control_id("PID|1") == "?" and control_id("MSH|short") == "?"
    assert decode("MSH|é".encode()) == "MSH|é"
    assert decode("MSH|é".encode("latin-1")) == "MSH|é"
