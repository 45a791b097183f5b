"""``monitor serve``: the station in a browser, through textual-serve.

Each browser that opens the page gets a station process of its own (:func:`run_station`), on
the database and configuration of this command, which shows nothing clinical until someone
signs in with name and PIN, as in a terminal, and locks when idle (:mod:`tui.lock`). The
server (:mod:`tui.web.server`) takes websockets only from its own pages, runs at most
``--max-stations`` stations, bounds the terminal size, sends a Content-Security-Policy and
loads nothing from another host. It speaks plain HTTP, so it listens on the loopback address
unless ``--host`` says otherwise (docs/station.md, "Remote review in a browser").
"""

from __future__ import annotations

import os
import sys
from typing import Any
from urllib.parse import urlsplit

import click

from monitor.cli.output import Context, pass_context
from monitor.errors import Refused
from tui.web.policy import (
    DEFAULT_MAX_STATIONS,
    MAX_STATIONS_LIMIT,
    is_loopback,
    is_wildcard,
    machine_urls,
    origin_of,
)

__all__ = ["is_loopback", "serve_command"]

#: The title textual-serve shows on its page before the station starts.
TITLE = "monitor station"
#: Exit status of a station whose server went away.
EXIT_ORPHANED = 3


def station_command() -> str:
    """The shell command textual-serve runs for each browser session: this interpreter's
    station (a virtual environment need not be on ``PATH``), ``exec``'d so that the process
    the server started is the station itself."""
    import shlex

    code = "from tui.serve import run_station; run_station()"
    return "exec " + shlex.join([sys.executable, "-c", code])


def run_station() -> None:
    """One browser session's station, which leaves if the server that started it is gone.

    (Textual's web driver keeps an app running when its input closes, and such an orphan
    was seen spinning a core; the server stops its stations when it stops, this is for a
    server that is killed.)"""
    import signal
    import threading
    import time

    server = os.getppid()

    def watch() -> None:
        while os.getppid() == server:
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)  # the station's own way out (Textual's handler)
        time.sleep(5)
        os._exit(EXIT_ORPHANED)

    threading.Thread(target=watch, name="server-watch", daemon=True).start()
    from tui.launch import main

    main(["tui"])


def check_port_free(host: str, port: int) -> None:
    """Refuse at once, in one line, if the server could not listen on ``host:port``.

    (aiohttp would fail later, after textual-serve has printed its banner, with a traceback.)"""
    import socket

    try:
        with socket.create_server((host, port)):
            pass
    except OSError as error:
        reason = error.strerror or str(error)
        raise Refused(f"cannot listen on {host}:{port}: {reason}") from None


def hand_down(context: Context) -> None:
    """Give the station processes this command's database and configuration.

    Through the environment textual-serve copies into each of them, not their command line:
    a PostgreSQL URL may carry a password, and command lines are visible to every local user."""
    for name, value in (("MONITOR_DB", context.db), ("MONITOR_CONFIG", context.config_path)):
        if value:
            os.environ[name] = value
        else:
            # Unset here means unset there: the child resolves the same defaults.
            os.environ.pop(name, None)


def public_url_of(host: str, port: int, public_url: str | None) -> str:
    """The address browsers use: ``--public-url``, else ``http://HOST:PORT``, else (listening
    on every address) this machine's name (:func:`tui.web.policy.machine_urls`). Refused when
    it is not an http(s) address, or names no address a browser can open (0.0.0.0)."""
    if public_url is not None:
        if origin_of(public_url) is None or "?" in public_url or "#" in public_url:
            raise Refused(
                f"--public-url must be http://HOST[:PORT] or https://HOST[:PORT] (the address "
                f"browsers use), got {public_url[:100]!r}"
            )
        if is_wildcard(urlsplit(public_url).hostname or ""):
            raise Refused(
                f"--public-url {public_url[:100]} names no address a browser can open: give "
                f"this machine's name or address (e.g. {machine_urls(host, port)[0]}), or "
                "leave it out"
            )
        return public_url.rstrip("/")
    if is_wildcard(host):
        return machine_urls(host, port)[0]
    name = f"[{host}]" if ":" in host else host
    return f"http://{name}:{port}"


@click.command("serve")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. Anything but loopback makes the station reachable from the "
    "network.",
)
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="TCP port."
)
@click.option(
    "--public-url",
    help="The address browsers use to reach this server (behind a proxy); default "
    "http://HOST:PORT, or with --host 0.0.0.0 each of this machine's names and addresses. "
    "Only its pages may open a station.",
)
@click.option(
    "--max-stations",
    type=click.IntRange(1, MAX_STATIONS_LIMIT),
    default=DEFAULT_MAX_STATIONS,
    show_default=True,
    help="Stations (browser tabs) served at once; more are refused with a page saying so.",
)
@pass_context
def serve_command(
    context: Context, host: str, port: int, public_url: str | None, max_stations: int
) -> None:
    """The station in a browser: each page opened runs a station of its own, which shows
    nothing until someone signs in with name and PIN. Ctrl+C stops the server and its
    stations."""
    url = public_url_of(host, port, public_url)
    # Every address and no public URL: each of this machine's addresses may open a station.
    also = machine_urls(host, port) if is_wildcard(host) and public_url is None else ()
    # Open the database once here, so a wrong --db is one error now, not a dead page later.
    context.service  # noqa: B018
    context.close()
    check_port_free(host, port)
    if not is_loopback(host):
        click.echo(
            f"warning: listening on {host}: the station is reachable from the network, and names "
            "and PINs travel in clear over plain HTTP unless a TLS proxy is in front",
            err=True,
        )
    hand_down(context)
    make_server(host, port, url, max_stations, also).serve()


def make_server(
    host: str, port: int, public_url: str, max_stations: int, also: tuple[str, ...] = ()
) -> Any:
    """The web server for the station (:class:`tui.web.server.StationServer`)."""
    from tui.web.server import StationServer

    return StationServer(
        station_command(),
        host=host,
        port=port,
        public_url=public_url,
        title=TITLE,
        max_stations=max_stations,
        also=also,
    )
