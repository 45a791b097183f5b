"""A PostgreSQL server that cannot be reached is an error in seconds, not a hang
(docs/storage.md, "Timeouts, read-only files and db check")."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from monitor.store.engine import CONNECT_TIMEOUT, make_engine
from tests.store.test_robust_db import monitor, one_error_line


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that takes TCP connections and never says a word, as a server whose replies are
    dropped on the way looks to libpq."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    listener.close()


def test_every_connection_has_a_connect_timeout_unless_one_is_given(monkeypatch):
    monkeypatch.delenv("PGCONNECT_TIMEOUT", raising=False)
    url = "postgresql+psycopg://monitor_station@127.0.0.1:5432/clinic"
    assert make_engine(url).url.query["connect_timeout"] == CONNECT_TIMEOUT == "10"
    assert make_engine(url + "?connect_timeout=3").url.query["connect_timeout"] == "3"
    monkeypatch.setenv("PGCONNECT_TIMEOUT", "4")  # libpq reads it: the URL names none
    assert "connect_timeout" not in make_engine(url).url.query


def test_a_server_that_never_answers_is_one_line_in_seconds(silent_server):
    db = f"postgresql+psycopg://postgres@127.0.0.1:{silent_server}/clinic?connect_timeout=2"
    started = time.monotonic()
    result = monitor(db, "session", "list")
    took = time.monotonic() - started
    assert result.returncode == 1, result.stderr
    line = one_error_line(result)
    assert line.startswith("error: the database cannot be used: the server did not answer")
    assert line.endswith("then try again")
    assert took < 30, took  # 2 s asked; without a timeout it waits for the system's TCP one
