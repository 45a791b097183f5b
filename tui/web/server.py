"""The web server of ``monitor serve``: textual-serve's, with a clinic's front door.

textual-serve runs one process per websocket and takes whatever a browser sends. This server
(docs/station.md, "Remote review in a browser") keeps its way of running a station and adds:

- a websocket is accepted only from this server's own pages (its ``Origin``), so that another
  site open in a browser on the machine cannot start a station and drive it;
- at most ``max_stations`` stations at once; the page and the websocket past that are refused
  with a page saying so (503);
- the terminal size asked for (query and resize messages) within 400x200; malformed
  messages are ignored, not logged as tracebacks;
- every answer carries a Content-Security-Policy and frame headers (:mod:`tui.web.policy`);
- its own page, without textual-serve's inline script and style and without the outside font
  service (the font is served from here); no directory listings;
- the files a station sends its browser (`p`: the PDF record) from memory, each fetched once,
  whole, only by this server's own page (:mod:`tui.web.downloads`), always as an attachment;
- a log of one line per event, never a traceback with local variables;
- when it stops it ends its browser sessions, so their stations quit.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import click
import jinja2
from aiohttp import WSMsgType, web
from textual_serve.app_service import AppService
from textual_serve.server import Server

from tui.web.downloads import DownloadError, StationDownloads, attachment, content_type
from tui.web.policy import (
    MAX_COLUMNS,
    MAX_MESSAGE,
    MAX_ROWS,
    MIN_COLUMNS,
    MIN_ROWS,
    allowed_origins,
    clamp,
    configure_logging,
    download_refusal,
    origin_of,
    security_headers,
    websocket_url,
)

log = logging.getLogger("monitor.serve")
#: The page, the "all stations in use" page, and their own style and script.
HERE = Path(__file__).parent
#: One line per request: who, what, the answer and its size.
ACCESS_LOG = '%a "%r" %s %b'
#: How long the server waits for its stations to leave when it stops (seconds).
STOP_WAIT = 10


class StationServer(Server):
    """textual-serve's server for the station, with the checks above."""

    def __init__(
        self,
        command: str,
        *,
        host: str,
        port: int,
        public_url: str,
        title: str,
        max_stations: int,
        also: tuple[str, ...] = (),
    ) -> None:
        super().__init__(command, host=host, port=port, title=title, public_url=public_url)
        self.max_stations = max_stations
        #: Listening on every address without a public URL: the addresses browsers may use
        #: (:func:`tui.web.policy.machine_urls`); each page talks to the one it was opened at.
        self.also = also
        self.origins = allowed_origins(host, port, self.public_url, also)
        self.headers = security_headers(self.public_url)
        self.websocket_url = websocket_url(self.public_url)
        #: The tasks serving open websockets, one per station.
        self.sessions: set[asyncio.Task[Any]] = set()
        self.download_manager: StationDownloads = StationDownloads()

    def initialize_logging(self) -> None:
        configure_logging()

    def serve(self, debug: bool = False) -> None:
        """Run until Ctrl+C (or SIGTERM), logging one short line per request."""
        self.initialize_logging()
        loop = asyncio.new_event_loop()
        for stop in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(stop, self.request_exit)
        web.run_app(
            self._make_app(),
            host=self.host,
            port=self.port,
            handle_signals=False,
            loop=loop,
            print=lambda *args: None,
            access_log_format=ACCESS_LOG,
        )

    async def _make_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_MESSAGE)
        aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(HERE), autoescape=True)
        app.add_routes(
            [
                web.get("/", self.handle_index, name="index"),
                web.get("/ws", self.handle_websocket, name="websocket"),
                web.get(
                    "/download/{key}", self.handle_download, name="download", allow_head=False
                ),  # a HEAD would spend the one fetch
                web.get("/favicon.ico", self.handle_favicon),
                # textual-serve's script, terminal styles and font; then this server's own.
                web.static("/static", self.statics_path, name="static"),
                web.static("/station", HERE / "static", name="station"),
            ]
        )
        app.on_response_prepare.append(self._secure)
        app.on_startup.append(self.on_startup)
        app.on_shutdown.append(self.on_shutdown)
        return app

    async def _secure(self, request: web.Request, response: web.StreamResponse) -> None:
        page = self._page_url(request)
        response.headers.update(self.headers if page == self.public_url else security_headers(page))

    def _page_url(self, request: web.Request) -> str:
        """The address the page was opened at, when the server has several (``also``) and it
        is one of them; else the public URL."""
        if self.also:
            seen = origin_of(f"http://{request.host}", bare=True)
            if seen is not None and seen in self.origins:
                return seen
        return self.public_url

    async def on_startup(self, app: web.Application) -> None:
        limits = f"at most {self.max_stations} at once; Ctrl+C to stop"
        if not self.also:
            click.echo(f"Serving the station on {self.public_url} ({limits})")
            return
        *network, here = self.also
        others = f"open {' or '.join(network)} from another computer, " if network else ""
        click.echo(
            f"Serving the station on every address of this machine ({self.host}, port "
            f"{self.port}): {others}{here} on this one ({limits})"
        )

    async def on_shutdown(self, app: web.Application) -> None:
        # Without this aiohttp waits a minute for open websockets, then drops them and leaves
        # their stations running. Cancelled, a session tells its station to quit.
        if not self.sessions:
            return
        click.echo(f"Stopping {len(self.sessions)} station(s)")
        for task in self.sessions:
            task.cancel()
        await asyncio.wait(set(self.sessions), timeout=STOP_WAIT)

    async def handle_favicon(self, request: web.Request) -> web.Response:
        return web.Response(status=204)  # none: a browser's 404 for it was logged each time

    def full(self) -> bool:
        return len(self.sessions) >= self.max_stations

    async def handle_index(self, request: web.Request) -> web.Response:
        """The page that opens a station, or a page saying every station is in use."""
        context: dict[str, Any] = {"title": self.title, "max_stations": self.max_stations}
        if self.full():
            return aiohttp_jinja2.render_template("full.html", request, context, status=503)
        context["websocket_url"] = websocket_url(self._page_url(request))
        context["font_size"] = clamp(request.query.get("fontsize"), 16, 8, 48)
        return aiohttp_jinja2.render_template("index.html", request, context)

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """A browser's station: refused (403) from another site's page, refused (503) when
        every station is in use; otherwise run until the browser or the station leaves."""
        origin = request.headers.get("Origin", "")
        if origin_of(origin, bare=True) not in self.origins:
            log.warning("refused a websocket from origin %.100r", origin or "(none)")
            raise web.HTTPForbidden(
                text=f"refused: a station opens only from {origin_of(self.public_url)}\n"
            )
        if self.full():
            log.warning("refused a station: all %d in use (--max-stations)", self.max_stations)
            raise web.HTTPServiceUnavailable(
                text=f"refused: all {self.max_stations} stations of this server are in use\n"
            )
        task = asyncio.current_task()
        assert task is not None
        self.sessions.add(task)  # no await since full(): a burst cannot pass the limit
        try:
            return await self._run_station(request)
        finally:
            self.sessions.discard(task)

    async def handle_download(self, request: web.Request) -> web.Response:
        """A file a station sent its browser (`p`: the PDF record), once, whole, as an
        attachment: refused (403) to another site's page; not found (404) for a key that is
        unknown, used, expired or of a closed tab; 502 if the station did not send it all."""
        refusal = download_refusal(
            request.headers.get("Origin"), request.headers.get("Sec-Fetch-Site"), self.origins
        )
        if refusal is not None:
            log.warning("refused a download: %s", refusal)
            raise web.HTTPForbidden(
                text=f"refused: a file opens only from {origin_of(self.public_url)}\n"
            )
        key = request.match_info["key"]
        download = self.download_manager.claim(key)
        if download is None:
            raise web.HTTPNotFound(
                text="no such file: each is fetched once, soon after p, by the tab that sent it\n"
            )
        try:
            data = await self.download_manager.fetch(key)
        except DownloadError as failure:
            log.error("a download failed: %s", failure)
            raise web.HTTPBadGateway(
                text=f"the file did not arrive whole ({failure}): press p again\n"
            ) from None
        log.info("sent a file of %d bytes to a browser", len(data))
        return web.Response(
            body=data,
            headers={
                "Content-Type": content_type(download),
                "Content-Disposition": attachment(download),
            },
        )

    async def _run_station(self, request: web.Request) -> web.WebSocketResponse:
        """textual-serve's session, with the terminal size kept within bounds."""
        websocket = web.WebSocketResponse(heartbeat=15, max_msg_size=MAX_MESSAGE)
        width = clamp(request.query.get("width"), 80, MIN_COLUMNS, MAX_COLUMNS)
        height = clamp(request.query.get("height"), 24, MIN_ROWS, MAX_ROWS)
        app_service: AppService | None = None

        async def close() -> None:  # the station quit: the browser shows "Session ended"
            await websocket.close()

        try:
            await websocket.prepare(request)
            app_service = AppService(
                self.command,
                write_bytes=websocket.send_bytes,
                write_str=websocket.send_str,
                close=close,
                download_manager=self.download_manager,
                debug=False,
            )
            await app_service.start(width, height)
            await self._process_messages(websocket, app_service)
        except asyncio.CancelledError:
            await websocket.close()
        except Exception as error:  # one line, never a traceback (policy.OneLine)
            log.error("a station's session failed: %s: %s", type(error).__name__, error)
        finally:
            if app_service is not None:
                await app_service.stop()
                self.download_manager.forget_station(app_service)
        return websocket

    async def _process_messages(
        self, websocket: web.WebSocketResponse, app_service: AppService
    ) -> None:
        """The browser's keys, resizes, focus and pings, each checked: anything malformed is
        dropped (textual-serve asserted, and logged the failure with its locals)."""
        async for message in websocket:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                envelope = json.loads(message.data)
            except ValueError:
                continue
            if not isinstance(envelope, list) or not envelope:
                continue
            kind, data = envelope[0], envelope[1] if len(envelope) > 1 else None
            if kind == "stdin" and isinstance(data, str):
                await app_service.send_bytes(data.encode("utf-8", "replace"))
            elif kind == "resize" and isinstance(data, dict):
                await app_service.set_terminal_size(
                    clamp(data.get("width"), 80, MIN_COLUMNS, MAX_COLUMNS),
                    clamp(data.get("height"), 24, MIN_ROWS, MAX_ROWS),
                )
            elif kind == "ping":
                await websocket.send_json(["pong", data])
            elif kind == "blur":
                await app_service.blur()
            elif kind == "focus":
                await app_service.focus()
