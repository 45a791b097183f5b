"""The station's export key: `p` writes a session's printable PDF record (issue #12).

The same export as `monitor export ID --format pdf` (:func:`monitor.export.export_session`),
run in a thread worker (a one-session PDF takes about half a second and must not freeze the
floor), to a new file in the exports folder, never replacing one. Where it went, or why it
failed, is said in one line that stays on the screen (not a toast that fades).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from tui.failures import error_message

#: The key, on the session detail and in review mode's session log.
EXPORT_BINDING = Binding("p", "export_pdf", "PDF", id="export_pdf")


def export_folder(app: Any) -> Path | None:
    """Where the station writes exports: the app's ``export_folder`` (tests, a clinic's
    choice) or, when it has none, the export package's default folder."""
    return getattr(app, "export_folder", None)


class ExportKey:
    """Mixin for a screen that shows one session: `p` writes its PDF record.

    The screen yields a ``Static`` with id ``export-line`` where the outcome is said and sets
    ``self.export_session_id``."""

    export_session_id: int | None = None

    def action_export_pdf(self: Any) -> None:
        session_id = self.export_session_id
        if session_id is None:
            return
        service = self.app.service
        folder = export_folder(self.app)
        self._export_said("Writing the PDF record…", "dim")

        def write() -> Any:
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
        if event.state is WorkerState.SUCCESS and result is not None and result.substituted:
            # Characters no font has print as their code points (docs/exports.md, "Fonts").
            said = f"PDF saved: {result.path}; characters no font has printed as [U+code]"
            self._export_said(said, "bold yellow")
        elif event.state is WorkerState.SUCCESS and result is not None:
            self._export_said(f"PDF saved: {result.path}", "bold green")
        elif event.state is WorkerState.ERROR:
            self._export_said(f"PDF NOT saved: {error_message(event.worker.error)}", "bold red")
        return True


__all__ = ["EXPORT_BINDING", "ExportKey", "export_folder"]
