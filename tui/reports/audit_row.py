"""One audit row in full (Enter on the trail)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from monitor.present.audit import audit_story, full_lines
from monitor.views import AuditView
from tui.reports.desk import CSS
from tui.styled import lines_text


class AuditRowScreen(ModalScreen[None]):
    """One audit row in full (a trigger's row lists every column it watches)."""

    CSS_PATH = CSS
    BINDINGS = [
        Binding("escape", "close", "Close", id="close_audit_row"),
        Binding("enter", "close", "Close", show=False, id="close_audit_row_enter"),
        Binding("q", "app.quit", "Quit", id="quit_from_audit_row"),
    ]

    def __init__(self, row: AuditView) -> None:
        super().__init__()
        self.row = row

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(f"Audit row #{self.row.id}  (Esc closes)", classes="title")
            with VerticalScroll(id="audit-row-scroll"):
                yield Static(lines_text(full_lines(audit_story(self.row))), id="audit-row")

    def action_close(self) -> None:
        self.dismiss(None)
