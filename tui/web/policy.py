"""What ``monitor serve`` lets in and what its pages may do (docs/station.md, "Remote review in
a browser"): the Origins a websocket may come from, the terminal size a browser may ask for, the
headers on every answer, and logs of one line without tracebacks.

Plain functions without aiohttp, so that each rule is tested on its own (tests/tui/test_serve.py
tries them on a real server too).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import sys
from urllib.parse import urlsplit

#: The largest terminal a browser may ask for, in columns and rows (a query parameter or a
#: resize message). 4000x4000 asked once made a station draw 16 million cells and die.
MAX_COLUMNS, MAX_ROWS = 400, 200
#: The smallest: below it the station cannot show a line of the floor.
MIN_COLUMNS, MIN_ROWS = 20, 5
#: The longest websocket message taken from a browser (a key, a paste, a resize): 64 KiB.
MAX_MESSAGE = 64 * 1024
#: How many stations one server runs at most, unless --max-stations says otherwise: each
#: browser tab is a process with its own database connection (12 tabs made a load of 17).
DEFAULT_MAX_STATIONS = 4
MAX_STATIONS_LIMIT = 32
_DEFAULT_PORTS = {"http": 80, "https": 443}
_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")


def is_loopback(host: str) -> bool:
    """Whether every address ``host`` stands for is on this machine only."""
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


def is_wildcard(host: str) -> bool:
    """``--host 0.0.0.0`` or ``::``: every address of the machine, none that browsers use."""
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def origin_of(url: str, *, bare: bool = False) -> str | None:
    """``scheme://host[:port]`` of an http(s) URL as a browser writes it in an ``Origin``
    header (lower case, the scheme's default port left out); ``None`` for anything else.
    ``bare``: the URL must be an origin itself (no path, query or user), as a header is."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname
    if parts.scheme not in _DEFAULT_PORTS or not host or parts.username is not None:
        return None
    if bare and (parts.path not in ("", "/") or parts.query or parts.fragment):
        return None
    if ":" in host:
        host = f"[{host}]"
    shown_port = "" if port in (None, _DEFAULT_PORTS[parts.scheme]) else f":{port}"
    return f"{parts.scheme}://{host}{shown_port}"


def machine_urls(host: str, port: int) -> tuple[str, ...]:
    """The addresses a browser can open for a server listening on every address (``host``
    0.0.0.0, or ``::`` with IPv6 too): this machine's name, each of its network addresses
    (the one its default route leaves from, and those its name resolves to), then localhost
    for this machine itself. 0.0.0.0 is none of them: no browser can open it."""
    families = [socket.AF_INET] + ([socket.AF_INET6] if ":" in host else [])
    found: list[str] = []
    for family, probe in zip(families, ("192.0.2.1", "2001:db8::1"), strict=False):
        try:
            # A UDP socket "connected" sends nothing: it only picks the outgoing address.
            with socket.socket(family, socket.SOCK_DGRAM) as route:
                route.connect((probe, 9))
                found.append(str(route.getsockname()[0]))
        except OSError:
            pass  # no route of that family: no network address to offer for it
    name = socket.gethostname()
    try:
        infos = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)
    except OSError:
        infos = []
    found += [str(info[4][0]) for info in infos if info[0] in families]
    urls = [f"http://{name}:{port}"] if name and is_public_name(name) else []
    for address in dict.fromkeys(found):
        try:
            ip = ipaddress.ip_address(address.split("%")[0])
        except ValueError:
            continue
        if not (ip.is_loopback or ip.is_unspecified or ip.is_link_local):
            urls.append(f"http://[{ip}]:{port}" if ip.version == 6 else f"http://{ip}:{port}")
    return (*urls, f"http://localhost:{port}")


def is_public_name(name: str) -> bool:
    """Whether ``name`` is a host name a browser might open (not an address, not localhost)."""
    if name.lower() in ("localhost", "localhost.localdomain"):
        return False
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return name.isascii()
    return False


def allowed_origins(
    host: str, port: int, public_url: str, also: tuple[str, ...] = ()
) -> frozenset[str]:
    """The pages whose websockets may start a station: the public URL's, the bound address's
    and, on loopback, this machine's names for it (a page opened as localhost talks to
    127.0.0.1); and ``also`` (:func:`machine_urls`, when the server listens on every address
    without a public URL). Any other site a browser visits is refused, however it names this
    server."""
    origins = {origin_of(public_url), *(origin_of(url) for url in also)}
    if also:
        origins.update(origin_of(f"http://{name}:{port}") for name in _LOOPBACK_NAMES)
    if not is_wildcard(host):
        name = f"[{host}]" if ":" in host else host
        origins.add(origin_of(f"http://{name}:{port}"))
    if is_loopback(host):
        origins.update(origin_of(f"http://{name}:{port}") for name in _LOOPBACK_NAMES)
    return frozenset(o for o in origins if o is not None)


def download_refusal(
    origin: str | None, fetch_site: str | None, origins: frozenset[str]
) -> str | None:
    """Why a request for a file a station sent is refused, or ``None``: it must come from
    this server's own page. An ``Origin`` header, when there is one, must be one of
    ``origins``; ``Sec-Fetch-Site`` (modern browsers send it), when there is one, must say
    the request came from this site's page (``same-origin``) or from the user (``none``: an
    address typed or pasted). The key in the address is what keeps others out; this keeps
    another site's page from even trying one."""
    if origin is not None and origin_of(origin, bare=True) not in origins:
        return f"origin {origin[:100]!r}"
    if fetch_site is not None and fetch_site.strip().lower() not in ("same-origin", "none"):
        return f"Sec-Fetch-Site {fetch_site[:40]!r}"
    return None


def websocket_url(public_url: str) -> str:
    """The websocket the page opens: the public URL's, ``ws`` or ``wss`` as it is http(s)."""
    scheme, rest = public_url.rstrip("/").split(":", 1)
    return ("wss:" if scheme == "https" else "ws:") + rest + "/ws"


def security_headers(public_url: str) -> dict[str, str]:
    """The headers on every answer: a Content-Security-Policy that runs only this server's
    scripts, loads only its styles, fonts and images, connects only to it, and lets no other
    site frame the page (with X-Frame-Options for older browsers); no referrer, no sniffing,
    no caching. Inline styles are allowed: the terminal (xterm.js) writes its own."""
    socket_origin = origin_of(public_url)
    assert socket_origin is not None  # checked by the command
    socket_origin = socket_origin.replace("http", "ws", 1)
    policy = "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'",
            "font-src 'self'",
            "img-src 'self' data:",
            f"connect-src 'self' {socket_origin}",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )
    return {
        "Content-Security-Policy": policy,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cache-Control": "no-store",
    }


def clamp(value: object, default: int, low: int, high: int) -> int:
    """A size a browser asked for, within ``low``..``high`` (``default`` when it is not a
    whole number)."""
    if isinstance(value, bool):
        return default
    if isinstance(value, str):
        text = value.strip()
        if not text.isascii() or not text.isdigit() or len(text) > 6:
            return default
        value = int(text)
    if not isinstance(value, int):
        return default
    return max(low, min(high, value))


class OneLine(logging.Formatter):
    """A log record on one line; an exception as its type and first line, never a traceback
    (textual-serve's logged tracebacks with their local variables: a PIN typed, a patient)."""

    def formatException(self, ei) -> str:  # noqa: N802 (logging's name)
        error = ei[1]
        first = str(error).strip().splitlines()[0] if error and str(error).strip() else ""
        return f"({type(error).__name__}: {first})" if first else f"({type(error).__name__})"

    def formatStack(self, stack_info: str) -> str:  # noqa: N802 (logging's name)
        return ""

    def format(self, record: logging.LogRecord) -> str:
        return " ".join(super().format(record).split("\n"))


def configure_logging(level: int = logging.INFO) -> None:
    """The server's log: one line per record on stderr, with its time and level."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(OneLine("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
