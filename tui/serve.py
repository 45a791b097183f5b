"""``monitor serve``: the station in a browser, through textual-serve.

Each browser that opens the page gets a station process of its own (:func:`run_station`), on
the database and configuration of this command, which signs in with name and PIN as in a
terminal. textual-serve authenticates nobody and speaks plain HTTP, so the server listens on the
loopback address unless ``--host`` says otherwise.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from monitor.cli.output import Context, pass_context
from monitor.errors import Refused

#: The title textual-serve shows on its page before the station starts.
TITLE = "monitor station"
#: Exit status of a station whose server went away.
EXIT_ORPHANED = 3
#: How long the server waits for its stations to leave when it stops (seconds).
STOP_WAIT = 10


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


def is_loopback(host: str) -> bool:
    """Whether every address ``host`` stands for is on this machine only."""
    import ipaddress
    import socket

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    return bool(addresses) and all(
        ipaddress.ip_address(str(a).split("%")[0]).is_loopback for a in addresses
    )


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
    help="The address browsers use to reach this server (behind a proxy, or when --host is "
    "0.0.0.0); default http://HOST:PORT.",
)
@pass_context
def serve_command(context: Context, host: str, port: int, public_url: str | None) -> None:
    """The station in a browser: each page opened runs a station of its own (sign in with name
    and PIN). Ctrl+C stops the server and its stations."""
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
    make_server(host, port, public_url).serve()


def make_server(host: str, port: int, public_url: str | None) -> Any:
    """textual-serve's server for the station: it announces itself in one line instead of a
    banner, and when it stops it ends its browser sessions, so their stations quit."""
    import asyncio

    from textual_serve.server import Server

    class StationServer(Server):
        sessions: set[Any]  # the tasks serving open websockets

        async def on_startup(self, app: Any) -> None:
            self.sessions = set()
            click.echo(f"Serving the station on {self.public_url} (Ctrl+C to stop)")

        async def handle_websocket(self, request: Any) -> Any:
            task = asyncio.current_task()
            assert task is not None
            self.sessions.add(task)
            try:
                return await super().handle_websocket(request)
            finally:
                self.sessions.discard(task)

        async def on_shutdown(self, app: Any) -> None:
            # Without this aiohttp waits a minute for open websockets, then drops them and
            # leaves their stations running. Cancelled, a session tells its station to quit.
            if not self.sessions:
                return
            click.echo(f"Stopping {len(self.sessions)} station(s)")
            for task in self.sessions:
                task.cancel()
            await asyncio.wait(set(self.sessions), timeout=STOP_WAIT)

    return StationServer(
        station_command(), host=host, port=port, title=TITLE, public_url=public_url
    )
