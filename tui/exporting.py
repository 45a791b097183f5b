"""The station's export key: `p` gives a session's printable PDF record (issues #12 and #22).

The same export as `monitor export ID --format pdf` (:func:`monitor.export.export_session`),
run in a thread worker (a one-session PDF takes a second or more and must not freeze the
floor). Where the PDF goes depends on where the station is used (docs/station.md):

- **at a terminal**, a new file in the exports folder, never replacing one: "PDF saved: PATH";
- **in a browser** (``monitor serve``: Textual's web driver, :attr:`textual.app.App.is_web`),
  a download in that browser (:meth:`textual.app.App.deliver_binary`): "PDF sent to your
  browser: NAME". The PDF is written in a private scratch folder (in memory, ``/dev/shm``, where
  the machine has one), read back and the folder removed before it is sent: nothing of it is
  left on the server's disk. The station holds the bytes in memory until the browser fetches
  them once (:mod:`tui.web.downloads`) or the tab closes.

Where it went, or why it failed, is said in one line that stays on the screen (not a toast
that fades).
"""

from __future__ import annotations

import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from tui.failures import error_message

#: The key, on the session detail and in review mode's session log.
EXPORT_BINDING = Binding("p", "export_pdf", "PDF", id="export_pdf")
#: Where a PDF for a browser is written before it is sent, first one that is a writable
#: folder: memory-backed, so that patient data never reaches a disk; else the system's temp.
SCRATCH_PLACES: tuple[str, ...] = ("/dev/shm",)
PDF_TYPE = "application/pdf"


def export_folder(app: Any) -> Path | None:
    """Where the station writes exports: the app's ``export_folder`` (tests, a clinic's
    choice) or, when it has none, the export package's default folder."""
    return getattr(app, "export_folder", None)


#: Said after the file's name when characters no font has printed as their code points
#: (docs/exports.md, "Fonts").
SUBSTITUTED = "; characters no font has printed as [U+code]"


@dataclass(frozen=True)
class BrowserPdf:
    """A PDF made for a browser: its file name, its bytes, and what the export said."""

    name: str
    data: bytes
    result: Any


def scratch_parent() -> str | None:
    """The folder a private scratch folder is made in (``None``: the system's temp folder)."""
    for place in SCRATCH_PLACES:
        if os.path.isdir(place) and os.access(place, os.W_OK | os.X_OK):
            return place
    return None


def pdf_for_browser(service: Any, session_id: int) -> BrowserPdf:
    """The session's PDF record as bytes, by way of a private scratch folder (mode 0700)
    that is removed, with whatever the export left in it, before this returns."""
    from monitor.export import export_session

    with tempfile.TemporaryDirectory(prefix="monitor-pdf-", dir=scratch_parent()) as scratch:
        result = export_session(service, session_id, "pdf", folder=Path(scratch))
        data = result.path.read_bytes()
    return BrowserPdf(result.path.name, data, result)


class ExportKey:
    """Mixin for a screen that shows one session: `p` gives its PDF record.

    The screen yields a ``Static`` with id ``export-line`` where the outcome is said and sets
    ``self.export_session_id``."""

    export_session_id: int | None = None

    def action_export_pdf(self: Any) -> None:
        session_id = self.export_session_id
        if session_id is None:
            return
        service = self.app.service
        folder = export_folder(self.app)
        in_browser = self.app.is_web
        self._export_said("Writing the PDF record…", "dim")

        def write() -> Any:
            if in_browser:
                return pdf_for_browser(service, session_id)
            from monitor.export import export_session

            return export_session(service, session_id, "pdf", folder=folder)

        self.run_worker(write, thread=True, group="export", name="export", exit_on_error=False)

    def _export_said(self: Any, message: str, style: str) -> None:
        line = self.query_one("#export-line", Static)
        line.display = True
        line.update(Text(message, style=style))

    def _export_done(self: Any, event: Worker.StateChanged) -> bool:
        """Say how an export went; ``True`` when the event was the export's."""
        if event.worker.name != "export":
            return False
        result = event.worker.result
        if event.state is WorkerState.SUCCESS and isinstance(result, BrowserPdf):
            self._send_to_browser(result)
        elif event.state is WorkerState.SUCCESS and result is not None and result.substituted:
            self._export_said(f"PDF saved: {result.path}{SUBSTITUTED}", "bold yellow")
        elif event.state is WorkerState.SUCCESS and result is not None:
            self._export_said(f"PDF saved: {result.path}", "bold green")
        elif event.state is WorkerState.ERROR:
            self._export_said(f"PDF NOT saved: {error_message(event.worker.error)}", "bold red")
        return True

    def _send_to_browser(self: Any, pdf: BrowserPdf) -> None:
        key = self.app.deliver_binary(
            io.BytesIO(pdf.data), save_filename=pdf.name, mime_type=PDF_TYPE, name="export"
        )
        if key is None:  # no driver: the station is closing
            self._export_said("PDF NOT sent: the station is closing", "bold red")
        elif getattr(pdf.result, "substituted", ()):
            self._export_said(f"PDF sent to your browser: {pdf.name}{SUBSTITUTED}", "bold yellow")
        else:
            self._export_said(f"PDF sent to your browser: {pdf.name}", "bold green")


__all__ = ["EXPORT_BINDING", "BrowserPdf", "ExportKey", "export_folder", "pdf_for_browser"]
