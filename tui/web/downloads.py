"""Files a station sends to its browser (`p`: the PDF record), held by ``monitor serve`` only
until that browser fetches them (docs/station.md, "Remote review in a browser").

How a file travels (Textual's web driver and textual-serve 1.1): the station keeps the bytes
in its own memory and tells the server "deliver_file_start" with a key (a random UUID4, 128
bits); the server tells the key to that tab's websocket alone; the page opens
``/download/KEY``; the server asks the station for the bytes a chunk at a time and hands them
to the browser. Nothing is written to the server's disk.

textual-serve's own manager is kept for its protocol, with these rules on top:

- **a key is used once** and only while it is fresh (:data:`LIFETIME`): a second fetch, a
  guessed or expired key, or a key of a closed tab finds nothing (404);
- **the whole file, or an error**: the bytes are gathered before the answer starts, so a
  station that stops sending (textual-serve then ended the file where it was, with status
  200) gives an error page, never a cut PDF saved as if whole;
- a file larger than :data:`MOST_BYTES` is refused; a closed tab's files are forgotten.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import TYPE_CHECKING

from textual_serve.download_manager import Download, DownloadManager

if TYPE_CHECKING:
    from textual_serve.app_service import AppService

#: A key as Textual makes it: ``uuid.uuid4().hex``.
KEY = re.compile(r"[0-9a-f]{32}")
#: How long a file waits for its browser (seconds): the page fetches it at once.
LIFETIME = 300
#: How long the server waits for each chunk from the station (seconds).
CHUNK_WAIT = 10
CHUNK_SIZE = 64 * 1024
#: The largest file a station may send: one session's PDF is well under a megabyte.
MOST_BYTES = 64 * 1024 * 1024
#: A content type as a station may name it; anything else is sent as plain bytes.
MIME = re.compile(r"[a-z]+/[a-z0-9.+-]+")
#: The characters kept in a file name offered to the browser.
UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


class DownloadError(Exception):
    """The station did not send the whole file: the message says why, for the log."""


class StationDownloads(DownloadManager):
    """textual-serve's download manager, each file fetched once, whole, while it is fresh."""

    def __init__(self) -> None:
        super().__init__()
        self._born: dict[str, float] = {}
        self._claimed: set[str] = set()

    async def create_download(
        self,
        *,
        app_service: AppService,
        delivery_key: str,
        file_name: str,
        open_method: str,
        mime_type: str,
        encoding: str | None = None,
        name: str | None = None,
    ) -> None:
        self._drop_stale()
        if not KEY.fullmatch(delivery_key):
            return  # not a key Textual made: never fetchable
        await super().create_download(
            app_service=app_service,
            delivery_key=delivery_key,
            file_name=file_name,
            open_method=open_method,
            mime_type=mime_type,
            encoding=encoding,
            name=name,
        )
        self._born[delivery_key] = time.monotonic()

    def claim(self, key: str) -> Download | None:
        """The file for ``key`` if it may be fetched now, marked as taken; else ``None``."""
        self._drop_stale()
        if not KEY.fullmatch(key) or key in self._claimed:
            return None
        download = self._active_downloads.get(key)
        if download is not None:
            self._claimed.add(key)
        return download

    async def fetch(self, key: str) -> bytes:
        """The whole file of a claimed ``key``, asked of its station a chunk at a time; the
        key is forgotten whatever happens. Raises :class:`DownloadError`."""
        download = self._active_downloads[key]
        parts: list[bytes] = []
        size = 0
        try:
            while True:
                asked = await download.app_service.send_meta(
                    {
                        "type": "deliver_chunk_request",
                        "key": key,
                        "size": CHUNK_SIZE,
                        "name": download.name,
                    }
                )
                if not asked:
                    raise DownloadError("its station has gone")
                try:
                    chunk = await asyncio.wait_for(download.incoming_chunks.get(), CHUNK_WAIT)
                except TimeoutError:
                    raise DownloadError(f"its station sent nothing for {CHUNK_WAIT} s") from None
                if chunk is None:  # textual-serve's sign that the tab closed
                    raise DownloadError("its tab closed")
                if not chunk:
                    return b"".join(parts)
                size += len(chunk)
                if size > MOST_BYTES:
                    raise DownloadError(f"larger than {MOST_BYTES // 2**20} MiB")
                parts.append(chunk)
        finally:
            self._forget(key)

    def forget_station(self, app_service: AppService) -> None:
        """Forget the files of a station whose tab has closed."""
        for key, download in list(self._active_downloads.items()):
            if download.app_service is app_service:
                self._forget(key)

    def _forget(self, key: str) -> None:
        self._active_downloads.pop(key, None)
        self._born.pop(key, None)
        self._claimed.discard(key)

    def _drop_stale(self) -> None:
        oldest = time.monotonic() - LIFETIME
        for key, born in list(self._born.items()):
            if born < oldest and key not in self._claimed:
                self._forget(key)


def content_type(download: Download) -> str:
    """The type to answer with: the station's, if it is one, else plain bytes."""
    mime = download.mime_type.strip().lower()
    return mime if MIME.fullmatch(mime) else "application/octet-stream"


def attachment(download: Download) -> str:
    """``Content-Disposition``: always a download (never shown in the page's place), under
    the station's file name reduced to safe characters."""
    name = UNSAFE_NAME.sub("_", download.file_name)[:120].strip("._") or "download"
    return f'attachment; filename="{name}"'
