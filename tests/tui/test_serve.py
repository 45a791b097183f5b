"""`monitor serve`: the station in a browser (issues #11 and #20), run as a real server process
on 127.0.0.1 and spoken to as a browser does (aiohttp's websocket client), and as a page from
another site would."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import aiohttp
import pytest

from tui.web.policy import (
    MAX_COLUMNS,
    MAX_ROWS,
    OneLine,
    allowed_origins,
    clamp,
    machine_urls,
    origin_of,
    security_headers,
)

MONITOR = [sys.executable, "-m", "tui"]
#: Generous: a loaded CI machine starts Python, SQLAlchemy and aiohttp slowly.
DEADLINE = 60
#: Escape sequences, stripped to read the station's screen as text.
ESCAPES = re.compile(rb"\x1b\[[0-9;?<>=]*[a-zA-Z~]")
#: The patient in observation on the test database: never on screen before a sign-in.
PATIENT = "MRN-SECRET-7"


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
    env.pop("MONITOR_PIN", None)
    return env


@pytest.fixture(scope="session")
def serve_template(tmp_path_factory) -> str:
    """An SQLite file with one supervisor, ``sam`` (PIN 9999), and one patient in observation,
    made once by the commands a clinic would type (three processes, seconds on a busy
    machine): each test serves its own copy."""
    db = str(tmp_path_factory.mktemp("serve") / "monitor.db")
    run = {"env": environment(db), "capture_output": True, "timeout": DEADLINE, "check": True}
    subprocess.run([*MONITOR, "db", "upgrade"], **run)
    subprocess.run(
        [*MONITOR, "user", "add", "sam", "--role", "supervisor", "--pin-stdin"],
        input=b"9999\n9999\n",
        **run,
    )
    start = ["session", "start", "--patient", PATIENT, "--protocol", "ketamine-im"]
    subprocess.run(
        [*MONITOR, *start, "--bay", "Bay 3", "--by", "sam", "--pin-stdin"], input=b"9999\n", **run
    )
    # Every change in the file itself (no write-ahead log beside it) for the copies.
    connection = sqlite3.connect(db)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    return db


@pytest.fixture
def database(serve_template, tmp_path) -> str:
    """A copy of :func:`serve_template` for this test."""
    db = tmp_path / "monitor.db"
    shutil.copy(serve_template, db)  # its mode (0600) too
    return str(db)


class Served:
    """`monitor serve` running on a free port until the test ends."""

    def __init__(self, db: str, *options: str) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [*MONITOR, "serve", "--port", str(self.port), *options],
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

    def end(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


@pytest.fixture
def served(database):
    server = Served(database)
    yield server
    server.end()


@pytest.fixture(scope="module")
def served_once(serve_template, tmp_path_factory):
    """One server for the tests that only read its pages (GETs change nothing it serves)."""
    db = tmp_path_factory.mktemp("served-once") / "monitor.db"
    shutil.copy(serve_template, db)
    server = Served(str(db))
    yield server
    server.end()


def stations_of(pid: int) -> list[int]:
    """The processes the server started (its station processes)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if not children.exists():
        return []
    return [int(p) for p in children.read_text().split()]


def get(url: str) -> tuple[int, dict[str, str], str]:
    """Status, headers and body of a GET, whatever the status."""
    try:
        with urllib.request.urlopen(url, timeout=DEADLINE) as response:
            return response.status, dict(response.headers), response.read().decode("latin-1")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode("latin-1")


class Browser:
    """One browser tab's websocket: what the station drew so far, as text."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.drawn = bytearray()

    def shown(self) -> str:
        return ESCAPES.sub(b"", bytes(self.drawn)).decode("utf-8", "replace")

    async def until(self, text: str, wait: float = DEADLINE) -> None:
        """Read what the station draws until ``text`` is on screen."""
        try:
            async with asyncio.timeout(wait):
                while text not in self.shown():
                    message = await self.ws.receive()
                    assert message.type == aiohttp.WSMsgType.BINARY, message
                    self.drawn.extend(message.data)
        except TimeoutError:
            pytest.fail(f"{text!r} not on screen: {self.shown()[-3000:]}")

    async def type(self, keys: str) -> None:
        await self.ws.send_json(["stdin", keys])


def open_tab(session: aiohttp.ClientSession, url: str, size: str = "width=100&height=30"):
    """The websocket a page served at ``url`` opens (its Origin is ``url``)."""
    return session.ws_connect(f"{url}/ws?{size}", origin=url)


# -- sign-in first -----------------------------------------------------------------------------


def test_a_fresh_tab_shows_the_sign_in_and_no_patient_or_user_until_someone_signs_in(served):
    async def scenario() -> str:
        async with aiohttp.ClientSession() as session, open_tab(session, served.url) as ws:
            tab = Browser(ws)
            await tab.until("Sign in: your name, Enter, your PIN, Enter")
            before = tab.shown()
            # sam types his name, Enter, and his PIN at once, as a person types them.
            await tab.type("sam\r9999\r")
            await tab.until("recording as sam (supervisor)")
            return before

    before = asyncio.run(scenario())
    for secret in (PATIENT, "Bay 3", "(supervisor)", "sam"):
        assert secret not in before, secret


def test_a_signed_in_tab_shows_the_floor(served):
    async def scenario() -> None:
        async with aiohttp.ClientSession() as session, open_tab(session, served.url) as ws:
            tab = Browser(ws)
            await tab.until("Sign in")
            await tab.type("sam\r9999\r")
            await tab.until("recording as sam")
            await tab.type("\x1b")  # a supervisor lands in review mode: Esc to the floor
            await tab.until(PATIENT)

    asyncio.run(scenario())


# -- who may open a station --------------------------------------------------------------------


@pytest.mark.parametrize(
    "origin",
    [
        "http://evil.example",
        "http://127.0.0.1:1",  # another port of this machine is another site
        "https://127.0.0.1",
        "null",  # a sandboxed frame or a file:// page
        None,  # no Origin at all
    ],
)
def test_a_websocket_from_another_origin_is_refused_and_starts_no_station(served, origin):
    async def attempt() -> int:
        headers = {"Origin": origin} if origin else {}
        async with aiohttp.ClientSession() as session:
            try:
                async with session.ws_connect(served.url + "/ws", headers=headers):
                    return 101
            except aiohttp.WSServerHandshakeError as refused:
                return refused.status

    assert asyncio.run(attempt()) == 403
    assert stations_of(served.process.pid) == []
    status, _, err = served.stop()
    assert status == 0
    assert "refused a websocket from origin" in err
    assert "Traceback" not in err


def test_localhost_is_the_same_site_as_127_0_0_1_on_loopback(served):
    async def attempt() -> None:
        page = f"http://localhost:{served.port}"
        async with aiohttp.ClientSession() as session, open_tab(session, page) as ws:
            await Browser(ws).until("Sign in")

    asyncio.run(attempt())


def test_stations_past_the_limit_are_refused_with_a_page_saying_so(database):
    server = Served(database, "--max-stations", "1")
    try:

        async def scenario() -> None:
            async with aiohttp.ClientSession() as session:
                async with open_tab(session, server.url) as ws:
                    await Browser(ws).until("Sign in")
                    status, _, page = get(server.url + "/")
                    assert status == 503
                    assert "All 1 stations of this server are in use" in page
                    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                        async with open_tab(session, server.url):
                            pass
                    assert refused.value.status == 503
                    assert len(stations_of(server.process.pid)) == 1
                # The tab closed: its place is free again.
                deadline = time.monotonic() + DEADLINE
                while get(server.url + "/")[0] != 200:
                    assert time.monotonic() < deadline, "the closed tab's place stayed taken"
                    await asyncio.sleep(0.1)
                async with open_tab(session, server.url) as ws:
                    await Browser(ws).until("Sign in")

        asyncio.run(scenario())
        status, _, err = server.stop()
        assert status == 0
        assert "refused a station: all 1 in use (--max-stations)" in err
    finally:
        server.end()


def test_a_huge_terminal_is_capped_and_bad_messages_are_dropped_without_a_traceback(served):
    async def scenario() -> None:
        async with (
            aiohttp.ClientSession() as session,
            open_tab(session, served.url, "width=4000&height=4000") as ws,
        ):
            tab = Browser(ws)
            await tab.until("Sign in")
            (station,) = stations_of(served.process.pid)
            env = Path(f"/proc/{station}/environ").read_bytes().split(b"\0")
            assert f"COLUMNS={MAX_COLUMNS}".encode() in env
            assert f"ROWS={MAX_ROWS}".encode() in env
            for bad in ("not json", "[]", "{}", '["stdin", 5]', '["resize", "x"]', '["?"]'):
                await ws.send_str(bad)
            await ws.send_json(["resize", {"width": 100000, "height": -5}])
            await ws.send_json(["stdin", "\ud800"])  # a lone surrogate: not UTF-8
            await ws.send_json(["resize", {"width": 100, "height": 30}])
            await tab.type("\x7fsam\r9999\r")
            await tab.until("recording as sam")  # the station lived through all of it

    asyncio.run(scenario())
    status, out, err = served.stop()
    assert status == 0, err
    assert "Traceback" not in err and "Traceback" not in out


# -- the page ----------------------------------------------------------------------------------


def test_serve_answers_with_its_page_and_stops_on_ctrl_c(served):
    status, _, page = get(served.url + "/")
    assert status == 200
    assert "<title>monitor station</title>" in page
    assert f'data-session-websocket-url="ws://127.0.0.1:{served.port}/ws"' in page
    assert 'src="static/js/textual.js"' in page

    status, out, err = served.stop()
    assert status == 0, err
    assert f"Serving the station on {served.url}" in out
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "path",
    ["/", "/static/js/textual.js", "/station/station.css", "/station/station.js", "/no-such"],
)
def test_every_answer_has_a_content_security_policy_and_frame_headers(served_once, path):
    status, headers, _ = get(served_once.url + path)
    assert status in (200, 404)
    policy = headers["Content-Security-Policy"]
    for rule in (
        "default-src 'none'",
        "script-src 'self'",
        "frame-ancestors 'none'",
        f"connect-src 'self' ws://127.0.0.1:{served_once.port}",
    ):
        assert rule in policy
    assert "unsafe-eval" not in policy and "script-src 'self' 'unsafe-inline'" not in policy
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_the_page_asks_no_other_host_for_anything(served_once):
    """No Google Fonts: every script, style, font and image comes from this server (the CSP
    would refuse anything else), and nothing in the page runs inline."""
    _, _, page = get(served_once.url + "/")
    urls = re.findall(r"\b(?:https?|wss?)://[^\s\"')<>]+", page)
    assert urls == [f"ws://127.0.0.1:{served_once.port}/ws"]
    assert "<script>" not in page and "<style" not in page and "onclick" not in page.lower()
    for resource in re.findall(r'(?:src|href)="([^"]+)"', page):
        assert "://" not in resource and not resource.startswith("//"), resource
        status, _, body = get(f"{served_once.url}/{resource}")
        assert status == 200, resource
        if resource.endswith((".css", "station.js")):
            assert not re.search(r"\burl\(\s*['\"]?(https?:)?//", body), resource
            assert "googleapis" not in body and "@import" not in body, resource
    status, _, _ = get(served_once.url + "/static/fonts/RobotoMono-VariableFont_wght.ttf")
    assert status == 200


def test_no_folder_is_listed_and_an_unknown_download_is_not_found(served_once):
    assert get(served_once.url + "/static/")[0] in (403, 404)
    assert get(served_once.url + "/station/")[0] in (403, 404)
    assert get(served_once.url + "/download/anything")[0] == 404


# -- the command -------------------------------------------------------------------------------


def test_ctrl_c_stops_the_stations_of_open_sessions(served):
    async def hold_a_session() -> None:
        async with aiohttp.ClientSession() as session, open_tab(session, served.url) as ws:
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


def one_error_line(database: str, *options: str) -> str:
    result = subprocess.run(
        [*MONITOR, "serve", *options],
        env=environment(database),
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert result.stdout == ""
    return lines[0]


def test_a_busy_port_is_one_error_line(database):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = one_error_line(database, "--port", str(port))
    assert line.startswith(f"error: cannot listen on 127.0.0.1:{port}: ")


def test_every_address_is_served_at_addresses_a_browser_can_open(database):
    """`--host 0.0.0.0` advertises this machine's names and addresses, never 0.0.0.0, and a
    page opened at any of them talks to the server at that address (issue #21)."""
    server = Served(database, "--host", "0.0.0.0")
    try:
        local = f"http://localhost:{server.port}"
        status, headers, page = get(local + "/")
        assert status == 200
        assert f'data-session-websocket-url="ws://localhost:{server.port}/ws"' in page
        assert (
            f"connect-src 'self' ws://localhost:{server.port};"
            in (headers["Content-Security-Policy"])
        )
        # Another site's name for this server gets the first advertised address, not its own.
        request = urllib.request.Request(local + "/", headers={"Host": "evil.example"})
        with urllib.request.urlopen(request, timeout=DEADLINE) as response:
            assert b"evil.example" not in response.read()
    finally:
        status, out, err = server.stop()
    assert status == 0, err
    banner = next(line for line in out.splitlines() if line.startswith("Serving"))
    assert "every address of this machine (0.0.0.0" in banner, banner
    assert f"{local} on this one" in banner, banner
    assert f"0.0.0.0:{server.port}" not in banner and "http://0.0.0.0" not in banner


def test_a_public_url_a_browser_cannot_open_is_refused(database):
    line = one_error_line(database, "--host", "0.0.0.0", "--public-url", "http://0.0.0.0:8011")
    assert line.startswith("error: --public-url http://0.0.0.0:8011 names no address a browser")


def test_the_machine_urls_are_its_names_and_addresses_and_localhost_last():
    urls = machine_urls("0.0.0.0", 8011)
    assert urls[-1] == "http://localhost:8011"
    assert not any("0.0.0.0" in url or "127.0.0.1" in url for url in urls)
    origins = allowed_origins("0.0.0.0", 8011, urls[0], urls)
    assert {"http://localhost:8011", "http://127.0.0.1:8011"} <= origins
    assert {origin_of(url) for url in urls} <= origins


@pytest.mark.parametrize(
    "url", ["review.clinic.example", "ftp://review.clinic.example", "http://", "https://a?b"]
)
def test_a_public_url_that_is_not_an_http_address_is_refused(database, url):
    line = one_error_line(database, "--public-url", url)
    assert line.startswith("error: --public-url must be http://HOST[:PORT] or https://HOST")


@pytest.mark.parametrize("count", ["0", "33", "many"])
def test_max_stations_is_1_to_32(database, count):
    result = subprocess.run(
        [*MONITOR, "serve", "--max-stations", count],
        env=environment(database),
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )
    assert result.returncode == 2
    assert "--max-stations" in result.stderr and "Traceback" not in result.stderr


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


# -- the rules, one by one ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("HTTPS://Review.Clinic.Example:443/station", "https://review.clinic.example"),
        ("http://[::1]:8000", "http://[::1]:8000"),
        ("http://host:80", "http://host"),
        ("ftp://host", None),
        ("null", None),
        ("", None),
        ("http://user@host", None),
        ("http://host:99999", None),
    ],
)
def test_origin_of_writes_an_origin_as_a_browser_sends_it(url, origin):
    assert origin_of(url) == origin


def test_an_origin_header_with_a_path_is_no_origin():
    assert origin_of("http://127.0.0.1:8000/ws", bare=True) is None
    assert origin_of("http://127.0.0.1:8000", bare=True) == "http://127.0.0.1:8000"


def test_allowed_origins_are_the_public_url_the_bound_host_and_loopback_names():
    assert allowed_origins("127.0.0.1", 8000, "http://127.0.0.1:8000") == {
        "http://127.0.0.1:8000",
        "http://localhost:8000",
        "http://[::1]:8000",
    }
    proxied = allowed_origins("0.0.0.0", 8000, "https://review.clinic.example")
    assert proxied == {"https://review.clinic.example"}
    lan = allowed_origins("192.168.1.20", 8000, "https://review.clinic.example")
    assert lan == {"https://review.clinic.example", "http://192.168.1.20:8000"}


def test_the_policy_connects_to_the_public_websocket_only():
    headers = security_headers("https://review.clinic.example")
    assert "connect-src 'self' wss://review.clinic.example;" in headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("80", 80),
        ("4000", 400),
        ("0", 20),
        ("-5", 80),
        ("1e9", 80),
        ("", 80),
        (None, 80),
        (True, 80),
        (10**12, 400),
        ("٣٣", 80),
        ("9" * 50, 80),
    ],
)
def test_a_terminal_width_is_clamped(value, expected):
    assert clamp(value, 80, 20, 400) == expected


def test_the_log_has_one_line_per_event_and_no_traceback_or_local_variable():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(OneLine("%(levelname)s %(message)s"))
    logger = logging.getLogger("test-serve-one-line")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        pin = "4444"  # a local variable a traceback with locals would print
        try:
            raise ValueError(f"bad message\nsecond line {len(pin)}")
        except ValueError:
            logger.exception("a station's session failed")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert text.count("\n") == 1
    assert text == "ERROR a station's session failed (ValueError: bad message)\n"
    assert "4444" not in text and "Traceback" not in text
