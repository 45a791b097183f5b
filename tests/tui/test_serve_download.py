"""`p` in a browser tab of `monitor serve` downloads the PDF record (issue #22): a real server on
127.0.0.1, spoken to as the page does (tests/tui/test_serve.py), the file fetched as the page
fetches it, and as another site's page or a guesser would try it."""

from __future__ import annotations

import asyncio
import io
import json
import re
import time
from pathlib import Path
from types import SimpleNamespace

import aiohttp
import pytest
from pypdf import PdfReader

from tests.tui.test_serve import (
    DEADLINE,
    ESCAPES,
    PATIENT,
    Served,
    database,  # noqa: F401 (a fixture)
    open_tab,
    serve_template,  # noqa: F401 (a fixture)
)
from tui.web.downloads import (
    DownloadError,
    StationDownloads,
    attachment,
    content_type,
)
from tui.web.policy import download_refusal

#: What the station says once the PDF is on its way to the browser.
SENT = re.compile(r"PDF sent to your browser: (session-1-\d{8}-\d{6}\.pdf)")
#: A browser's headers on the download the page starts (a link it clicks).
SAME_SITE = {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate"}


class Tab:
    """A browser tab: what the station drew (text) and the files it offered (keys)."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.drawn = bytearray()
        self.offered: list[str] = []

    def shown(self) -> str:
        return ESCAPES.sub(b"", bytes(self.drawn)).decode("utf-8", "replace")

    async def until(self, done, what: str) -> None:
        try:
            async with asyncio.timeout(DEADLINE):
                while not done():
                    message = await self.ws.receive()
                    if message.type == aiohttp.WSMsgType.BINARY:
                        self.drawn.extend(message.data)
                    elif message.type == aiohttp.WSMsgType.TEXT:
                        kind, data = json.loads(message.data)
                        if kind == "deliver_file_start":
                            self.offered.append(data)
                    else:
                        pytest.fail(f"the tab closed waiting for {what}: {message}")
        except TimeoutError:
            pytest.fail(f"no {what}: {self.shown()[-3000:]}")

    async def until_shown(self, text: str) -> None:
        await self.until(lambda: text in self.shown(), repr(text))

    async def type(self, keys: str) -> None:
        await self.ws.send_json(["stdin", keys])

    async def open_detail_and_press_p(self) -> str:
        """Sign in as sam, open the patient's detail from the floor, press p: the key offered."""
        await self.until_shown("Sign in")
        await self.type("sam\r9999\r")
        await self.until_shown("recording as sam")
        await self.type("\x1b")  # a supervisor lands in review mode: Esc to the floor
        await self.until_shown(PATIENT)
        await self.type("\r")
        await self.until_shown("(Esc, p PDF)")
        await self.type("p")
        await self.until(lambda: self.offered, "file offered (deliver_file_start)")
        (key,) = self.offered
        return key


def scratch_folders() -> set[str]:
    shm = Path("/dev/shm")
    return {p.name for p in shm.glob("monitor-pdf-*")} if shm.is_dir() else set()


@pytest.fixture
def served(database, tmp_path, monkeypatch):  # noqa: F811 (the fixture above)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("XDG_DOCUMENTS_DIR", "XDG_CONFIG_HOME", "XDG_DATA_HOME"):
        monkeypatch.delenv(name, raising=False)
    server = Served(database)
    yield server
    server.end()


def test_p_in_a_browser_tab_downloads_the_pdf_once_and_only_to_this_servers_page(served, tmp_path):
    before = scratch_folders()

    async def scenario() -> None:
        async with aiohttp.ClientSession() as http, open_tab(http, served.url) as ws:
            tab = Tab(ws)
            key = await tab.open_detail_and_press_p()
            assert re.fullmatch(r"[0-9a-f]{32}", key)  # Textual's uuid4: 128 random bits
            await tab.until(lambda: SENT.search(tab.shown()), "'PDF sent to your browser'")
            name = SENT.search(tab.shown()).group(1)
            url = f"{served.url}/download/{key}"

            # Another site's page, with the right key even, gets nothing, and spends nothing.
            for foreign in (
                {"Origin": "http://evil.example"},
                {"Origin": "null"},
                {"Sec-Fetch-Site": "cross-site"},
                {"Sec-Fetch-Site": "same-site"},
            ):
                async with http.get(url, headers=foreign) as refused:
                    assert refused.status == 403, foreign
                    assert b"%PDF" not in await refused.read()
            # A guessed key, or a key of the wrong shape, finds nothing.
            for guess in ("0" * 32, key[:-1] + ("0" if key[-1] != "0" else "1"), "x", key.upper()):
                async with http.get(f"{served.url}/download/{guess}", headers=SAME_SITE) as miss:
                    assert miss.status == 404, guess
                    assert guess not in await miss.text()

            # A HEAD (a link checker, a prefetch) spends nothing.
            async with http.head(url, headers=SAME_SITE) as peek:
                assert peek.status == 405

            # The page's own download: the whole PDF, as an attachment.
            async with http.get(url, headers=SAME_SITE) as answer:
                assert answer.status == 200
                data = await answer.read()
                assert answer.headers["Content-Type"] == "application/pdf"
                assert answer.headers["Content-Disposition"] == f'attachment; filename="{name}"'
                assert answer.headers["Content-Length"] == str(len(data))
                assert answer.headers["Cache-Control"] == "no-store"
                assert answer.headers["X-Content-Type-Options"] == "nosniff"
                assert "default-src 'none'" in answer.headers["Content-Security-Policy"]
            assert data.startswith(b"%PDF-")
            text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
            assert PATIENT in text

            # Once: the same key again finds nothing.
            async with http.get(url, headers=SAME_SITE) as again:
                assert again.status == 404

    asyncio.run(scenario())
    # Nothing on the server's disk: no exports folder, no scratch folder left.
    assert not (tmp_path / "home").exists() or not any((tmp_path / "home").rglob("*.pdf"))
    # (Another test's station may be writing its own PDF meanwhile: each goes within seconds.)
    deadline = time.monotonic() + DEADLINE
    while not scratch_folders() <= before:
        assert time.monotonic() < deadline, f"left in /dev/shm: {scratch_folders() - before}"
        time.sleep(0.2)
    status, out, err = served.stop()
    assert status == 0, err
    assert "refused a download: origin 'http://evil.example'" in err
    assert "refused a download: Sec-Fetch-Site 'cross-site'" in err
    assert re.search(r"sent a file of \d+ bytes to a browser", err)
    assert "Traceback" not in err and "Traceback" not in out


def test_the_file_of_a_closed_tab_is_not_there(served):
    async def scenario() -> str:
        async with aiohttp.ClientSession() as http:
            async with open_tab(http, served.url) as ws:
                key = await Tab(ws).open_detail_and_press_p()
            # The tab closed: its station stops and the server forgets its file.
            deadline = time.monotonic() + DEADLINE
            while True:
                async with http.get(f"{served.url}/download/{key}", headers=SAME_SITE) as answer:
                    if answer.status == 404:
                        return await answer.text()
                assert time.monotonic() < deadline, "the closed tab's file stayed"
                await asyncio.sleep(0.2)

    assert "no such file" in asyncio.run(scenario())


# -- the rules, one by one ---------------------------------------------------------------------

ORIGINS = frozenset({"http://127.0.0.1:8000", "http://localhost:8000"})


@pytest.mark.parametrize(
    ("origin", "site", "refused"),
    [
        (None, None, False),  # no header at all (an older browser, a command-line client)
        (None, "same-origin", False),  # the page's link
        (None, "none", False),  # the address pasted by the user
        ("http://localhost:8000", "same-origin", False),
        ("http://evil.example", None, True),
        ("null", None, True),
        ("http://127.0.0.1:8000/page", None, True),  # an Origin is never a path
        (None, "cross-site", True),
        (None, "same-site", True),  # another port or subdomain is another site's page
    ],
)
def test_a_download_is_refused_to_anything_but_this_servers_page(origin, site, refused):
    assert (download_refusal(origin, site, ORIGINS) is not None) is refused


class FakeStation:
    """A station's side of the protocol: it sends ``chunks``, then stops (or not)."""

    app_service_id = "fake"

    def __init__(self, downloads: StationDownloads, chunks: list[bytes], *, alive=True) -> None:
        self.downloads, self.chunks, self.alive = downloads, chunks, alive

    async def send_meta(self, meta: dict) -> bool:
        if not self.alive:
            return False
        if self.chunks:
            await self.downloads.chunk_received(meta["key"], self.chunks.pop(0))
        return True


async def offered(downloads: StationDownloads, station, key: str = "a" * 32, **details) -> str:
    base = {"file_name": "session-1.pdf", "open_method": "download", "mime_type": "application/pdf"}
    await downloads.create_download(
        app_service=station, delivery_key=key, encoding=None, name=None, **(base | details)
    )
    return key


def test_a_file_is_sent_whole_once_or_not_at_all(monkeypatch):
    monkeypatch.setattr("tui.web.downloads.CHUNK_WAIT", 0.2)

    async def scenario() -> None:
        downloads = StationDownloads()
        whole = FakeStation(downloads, [b"%PDF-1.7 ", b"rest", b""])
        key = await offered(downloads, whole)
        assert downloads.claim(key) is not None
        assert downloads.claim(key) is None  # taken: a second request in flight gets nothing
        assert await downloads.fetch(key) == b"%PDF-1.7 rest"
        assert downloads.claim(key) is None

        # A station that stops sending mid-file: an error, not a cut PDF.
        stalled = FakeStation(downloads, [b"%PDF-1.7 "])
        key = await offered(downloads, stalled, "b" * 32)
        downloads.claim(key)
        with pytest.raises(DownloadError, match="sent nothing"):
            await downloads.fetch(key)
        assert downloads.claim(key) is None

        gone = FakeStation(downloads, [], alive=False)
        key = await offered(downloads, gone, "c" * 32)
        downloads.claim(key)
        with pytest.raises(DownloadError, match="gone"):
            await downloads.fetch(key)

        # A key that is not Textual's shape is never offered; a closed tab's files are dropped.
        assert downloads.claim(await offered(downloads, whole, "../etc/passwd")) is None
        key = await offered(downloads, whole, "d" * 32)
        downloads.forget_station(whole)
        assert downloads.claim(key) is None

    asyncio.run(scenario())


def test_a_file_waits_for_its_browser_a_few_minutes_only(monkeypatch):
    async def scenario() -> None:
        downloads = StationDownloads()
        station = FakeStation(downloads, [b"%PDF", b""])
        key = await offered(downloads, station)
        clock = time.monotonic() + 301
        monkeypatch.setattr("tui.web.downloads.time.monotonic", lambda: clock)
        assert downloads.claim(key) is None

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("name", "offered"),
    [
        ("session-1-20250101-101010.pdf", "session-1-20250101-101010.pdf"),
        ('x"; filename=evil.html', "x___filename_evil.html"),
        ("../../etc/passwd", "etc_passwd"),
        ("ünïcode\r\n.pdf", "n_code__.pdf"),
        ("...", "download"),
    ],
)
def test_the_answer_is_always_an_attachment_under_a_safe_name(name, offered):
    meta = SimpleNamespace(file_name=name)
    assert attachment(meta) == f'attachment; filename="{offered}"'


@pytest.mark.parametrize(
    ("mime", "sent"),
    [
        ("application/pdf", "application/pdf"),
        ("APPLICATION/PDF", "application/pdf"),
        ("", "application/octet-stream"),
        ("application/pdf\r\nX-Evil: 1", "application/octet-stream"),
    ],
)
def test_the_content_type_is_the_stations_only_when_it_is_one(mime, sent):
    assert content_type(SimpleNamespace(mime_type=mime)) == sent
