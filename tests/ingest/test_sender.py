"""The sender against the listener over real sockets, its one-line errors, the splitting of a
file of messages, and ``run`` stopping cleanly on a signal in a process of its own."""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import IO

import pytest

from monitor.errors import Refused
from monitor.ingest.sender import SendError, as_segments, send, split_file
from tests.ingest.helpers import WAIT, Recorder, ack_for, frame, listening_in_thread, message

ROOT = Path(__file__).resolve().parents[2]


def test_send_returns_the_acks_in_order():
    handler = Recorder()
    with listening_in_thread(handler) as port:
        texts = [message(n) for n in range(5)]
        assert send(texts, host="127.0.0.1", port=port) == [ack_for(t) for t in texts]
        assert send(iter([message("again")]), host="127.0.0.1", port=port) == [
            ack_for(message("again"))
        ]
    assert handler.messages == [*texts, message("again")]


def test_send_writes_segments_separated_by_carriage_returns():
    handler = Recorder()
    with listening_in_thread(handler) as port:
        send(
            [message(1).replace("\r", "\r\n"), message(2).replace("\r", "\n")],
            host="127.0.0.1",
            port=port,
        )
    assert handler.messages == [message(1), message(2)]


def test_send_with_nothing_listening_says_to_start_the_listener():
    port = _free_port()
    with pytest.raises(
        SendError, match=rf"^nothing is listening on 127.0.0.1:{port}: start `monitor ingest`$"
    ):
        send([message(1)], host="127.0.0.1", port=port)
    assert issubclass(SendError, Refused)


def test_send_to_an_unknown_host_is_one_line():
    with pytest.raises(
        SendError, match=r"^(cannot connect to|no answer from) no-such-host\.invalid:2575"
    ):
        send([message(1)], host="no-such-host.invalid", port=2575)


def test_a_connection_closed_before_the_ack_keeps_the_acks_received():
    handler = Recorder()
    with (
        listening_in_thread(handler, max_message_bytes=1000) as port,
        pytest.raises(SendError) as refused,
    ):
        send(
            [message(1), message(2, "NTE|1||" + "x" * 5000), message(3)],
            host="127.0.0.1",
            port=port,
        )
    assert "closed the connection before acknowledging message 2" in str(refused.value)
    assert "sending it again is safe" in str(refused.value)
    assert refused.value.acks == [ack_for(message(1))]
    assert handler.ids() == ["1"]


def test_no_ack_within_the_timeout_is_one_line():
    with socket.socket() as silent:  # listens, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        # (on a machine too busy to connect within the timeout, the refusal names the connection)
        with pytest.raises(
            SendError, match=rf"^no (ACK|answer) from 127.0.0.1:{port} within 0.3 s"
        ):
            send([message(1)], host="127.0.0.1", port=port, timeout=0.3)


def test_an_empty_message_is_refused_before_it_is_sent():
    handler = Recorder()
    with (
        listening_in_thread(handler) as port,
        pytest.raises(SendError, match="message 2 is empty") as refused,
    ):
        send([message(1), "\r\n"], host="127.0.0.1", port=port)
    assert refused.value.acks == [ack_for(message(1))]


def test_split_file_with_any_line_breaks_and_blank_lines():
    one, two = message(1), message(2)
    for text in (
        one + two,
        one.replace("\r", "\n") + "\n\n" + two.replace("\r", "\n"),
        one.replace("\r", "\r\n") + "\r\n  \r\n" + two.replace("\r", "\r\n") + "\r\n",
        "\ufeff" + one.replace("\r", "\n") + two.replace("\r", "\n"),
    ):
        assert split_file(text) == [one, two]


def test_split_file_of_mllp_frames_and_a_batch_envelope():
    one, two = message(1), message(2)
    framed = f"\x0b{one}\x1c\r\x0b{two}\x1c\r"
    assert split_file(framed) == [one, two]
    batch = f"FHS|^~\\&|GW\rBHS|^~\\&|GW\r{one}{two}BTS|2\rFTS|1\r"
    assert split_file(batch) == [one, two]


def test_split_file_refuses_text_before_the_first_message_and_empty_files():
    with pytest.raises(
        SendError,
        match=r"^line 2 \('PID\|1'\) comes before any message: each message starts with an MSH segment$",
    ):
        split_file("\nPID|1\n" + message(1))
    with pytest.raises(SendError, match="no HL7 message in the file"):
        split_file("\n \r\n")


def test_as_segments():
    assert as_segments("MSH|a\nPID|1") == "MSH|a\rPID|1\r"
    assert as_segments("\x0bMSH|a\r\x1c") == "MSH|a\r"
    assert as_segments(" \n") == ""


SCRIPT = textwrap.dedent(
    """
    import sys
    import time
    from monitor.ingest.listener import run

    def handle(text):
        if "HANG" in text:
            print("saving", flush=True)
            time.sleep(60)
        return "MSH|^~\\\\&|MONITOR|||||ACK|1|P|2.6\\rMSA|AA|1\\r"

    def on_error(text, exc):
        return "MSH|^~\\\\&|MONITOR|||||ACK|1|P|2.6\\rMSA|AE|1\\r"

    sys.exit(run(handle, on_error, host="127.0.0.1", port=0, log=lambda line: print(line, file=sys.stderr)))
    """
)


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_run_stops_cleanly_on_a_signal(stop_signal):
    process = _start_run()
    try:
        port = _listening_port(process)
        [ack] = send([message(1)], host="127.0.0.1", port=port)
        assert "MSA|AA|1" in ack
        process.send_signal(stop_signal)
        assert process.wait(WAIT) == 0
        assert process.stderr is not None
        errors = process.stderr.read()
        assert "stopped: 1 message acknowledged since the start" in errors
        assert "Traceback" not in errors
    finally:
        _end(process)


def _start_run() -> subprocess.Popen[str]:
    """A process that calls ``run`` with a trivial handler on a free port."""
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        # as at a terminal: a background job of a non-interactive shell ignores SIGINT
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.default_int_handler),
    )


def _next_line(process: subprocess.Popen[str], stream: IO[str] | None = None) -> str:
    """The next line the process writes on ``stream`` (its standard output by default)."""
    stream = stream or process.stdout
    assert stream is not None
    readable, _, _ = select.select([stream], [], [], WAIT)
    assert readable, "no line from the listener's process"
    return stream.readline().strip()


def _listening_port(process: subprocess.Popen[str]) -> int:
    line = _next_line(process)
    assert line.startswith("listening on 127.0.0.1:") and line.endswith(" (MLLP)"), line
    return int(line.removeprefix("listening on 127.0.0.1:").removesuffix(" (MLLP)"))


def _end(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.kill()
        process.wait()
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()


def test_a_second_signal_exits_at_once_when_a_message_hangs():
    process = _start_run()
    try:
        port = _listening_port(process)
        with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as client:
            client.sendall(frame(message("HANG")))
            assert _next_line(process) == "saving"
            process.send_signal(signal.SIGTERM)
            # signals sent together may arrive as one: the second after the first was seen
            assert _next_line(process, process.stderr).startswith("SIGTERM: stopping")
            process.send_signal(signal.SIGTERM)
            assert process.wait(WAIT) == 1
            client.settimeout(WAIT)
            assert client.recv(100) == b""  # no ACK for the message that was not saved
        assert process.stderr is not None
        assert "SIGTERM again: exiting at once" in process.stderr.read()
    finally:
        _end(process)


def test_run_with_the_port_in_use_raises_a_one_line_error():
    from monitor.ingest.listener import ListenError, run

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = threading.Event()
        with pytest.raises(ListenError, match="is already in use"):
            run(Recorder(), lambda t, e: "", host="127.0.0.1", port=port, log=lambda _l: done.set())
    assert not done.is_set()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
