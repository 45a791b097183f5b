"""`monitor serve`: the station in a browser (issue #11), run as a real server process."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import aiohttp
import pytest

MONITOR = [sys.executable, "-m", "tui"]
#: Generous: a loaded CI machine starts Python, SQLAlchemy and aiohttp slowly.
DEADLINE = 60
#: Escape sequences, stripped to read the station's screen as text.
ESCAPES = re.compile(rb"\x1b\[[0-9;?<>=]*[a-zA-Z~]")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def environment(db: str) -> dict[str, str]:
    env = {**os.environ, "MONITOR_DB": db}
    env.pop("MONITOR_CONFIG", None)
    return env


@pytest.fixture
def database(tmp_path) -> str:
    """An SQLite file with one supervisor, ``sam`` (PIN 9999)."""
    db = str(tmp_path / "monitor.db")
    run = {"env": environment(db), "capture_output": True, "timeout": DEADLINE, "check": True}
    subprocess.run([*MONITOR, "db", "upgrade"], **run)
    subprocess.run(
        [*MONITOR, "user", "add", "sam", "--role", "supervisor", "--pin-stdin"],
        input=b"9999\n9999\n",
        **run,
    )
    return db


class Served:
    """`monitor serve` running on a free port until the test ends."""

    def __init__(self, db: str) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [*MONITOR, "serve", "--port", str(self.port)],
            env=environment(db),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + DEADLINE
        while not answers(self.port):
            if self.process.poll() is not None:
                out, err = self.process.communicate()
                pytest.fail(f"monitor serve exited {self.process.returncode}: {out}{err}")
            if time.monotonic() > deadline:
                pytest.fail(f"monitor serve did not answer on port {self.port} in {DEADLINE} s")
            time.sleep(0.1)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> tuple[int, str, str]:
        """Ctrl+C, as at a terminal: exit status and output."""
        self.process.send_signal(signal.SIGINT)
        out, err = self.process.communicate(timeout=DEADLINE)
        return self.process.returncode, out, err


@pytest.fixture
def served(database):
    server = Served(database)
    yield server
    if server.process.poll() is None:
        server.process.kill()
        server.process.communicate()


def stations_of(pid: int) -> list[int]:
    """The processes the server started (its station processes)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if not children.exists():
        return []
    return [int(p) for p in children.read_text().split()]


def test_serve_answers_with_the_textual_serve_page_and_stops_on_ctrl_c(served):
    with urllib.request.urlopen(served.url + "/", timeout=DEADLINE) as response:
        assert response.status == 200
        page = response.read().decode()
    assert "monitor station" in page  # the title textual-serve shows before the app starts
    assert f"ws://127.0.0.1:{served.port}/ws" in page  # the websocket the browser opens
    assert "textual.js" in page

    status, out, err = served.stop()
    assert status == 0, err
    assert f"Serving the station on {served.url}" in out
    assert "Traceback" not in err


async def _sign_in_over_websocket(url: str) -> str:
    """Open the station as a browser does, sign in as sam, return the screen's text."""
    screen = bytearray()

    def shown() -> str:
        return ESCAPES.sub(b"", bytes(screen)).decode("utf-8", "replace")

    async def until(ws: aiohttp.ClientWebSocketResponse, text: str, wait: float) -> bool:
        try:
            async with asyncio.timeout(wait):
                while text not in shown():
                    message = await ws.receive()
                    assert message.type == aiohttp.WSMsgType.BINARY, message
                    screen.extend(message.data)
        except TimeoutError:
            return False
        return True

    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(url + "/ws?width=100&height=30") as ws,
    ):
        assert await until(ws, "sam  (supervisor)", DEADLINE), shown()[-3000:]
        # sam, the only user, is highlighted: Enter, then the PIN at once, as a person types
        # it (digits that reach the list before the PIN field has the focus are the PIN's).
        await ws.send_json(["stdin", "\r9999\r"])
        assert await until(ws, "recording as sam", DEADLINE), shown()[-3000:]
    return shown()


def test_a_browser_session_is_a_station_that_signs_in_with_name_and_pin(served):
    screen = asyncio.run(_sign_in_over_websocket(served.url))
    assert "recording as sam (supervisor)" in screen


def test_ctrl_c_stops_the_stations_of_open_sessions(served):
    async def hold_a_session() -> None:
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(served.url + "/ws?width=80&height=24") as ws,
        ):
            async with asyncio.timeout(DEADLINE):
                while not stations_of(served.process.pid):
                    await asyncio.sleep(0.1)
                stations = stations_of(served.process.pid)
                served.process.send_signal(signal.SIGINT)
                async for _ in ws:  # until the server closes the session
                    pass
            for pid in stations:
                deadline = time.monotonic() + DEADLINE
                while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
                    await asyncio.sleep(0.1)
                assert not Path(f"/proc/{pid}").exists(), f"station {pid} still runs"

    started = time.monotonic()
    asyncio.run(hold_a_session())
    served.process.communicate(timeout=DEADLINE)
    assert served.process.returncode == 0
    # Not aiohttp's minute of waiting for open websockets.
    assert time.monotonic() - started < 30


def test_a_busy_port_is_one_error_line(database):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [*MONITOR, "serve", "--port", str(port)],
            env=environment(database),
            capture_output=True,
            text=True,
            timeout=DEADLINE,
        )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: cannot listen on 127.0.0.1:{port}: ")
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("0.0.0.0", False),
        ("192.168.1.20", False),
        ("no-such-host.invalid", False),
    ],
)
def test_only_loopback_addresses_go_without_the_network_warning(host, loopback):
    from tui.serve import is_loopback

    assert is_loopback(host) is loopback
