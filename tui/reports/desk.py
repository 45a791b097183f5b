"""The desk's base screen: a title, a status line, a worker that reads, and a grid of lines."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Grid
from textual.screen import Screen
from textual.widgets import DataTable, Static
from textual.worker import Worker, WorkerState

from tui.failures import error_message
from tui.footer import ScreenFooter

#: The desk's sheet (the station reads it at start-up with its own).
CSS = Path(__file__).with_name("desk.tcss")


class DeskScreen(Screen[Any]):
    """What the three screens share: a title line, a status line that says what went wrong
    or what was done, Esc to close and q to quit."""

    CSS_PATH = CSS

    def title_line(self) -> Static:
        """The screen's first line."""
        return Static(classes="desk-title", id="desk-title")

    def status_line(self) -> Static:
        """The line that says what happened (errors in red, saves in green)."""
        return Static(classes="desk-status", id="desk-status")

    def table_and_panel(self, table_id: str, panel_id: str) -> ComposeResult:
        """The title and status lines, a table of rows, the panel under it that tells the
        highlighted row, and the footer (the audit trail's and the REMS tracker's layout)."""
        yield self.title_line()
        yield self.status_line()
        table: DataTable[Any] = DataTable(
            id=table_id, cursor_type="row", cell_padding=0, classes="desk-table"
        )
        table.cursor_foreground_priority = "renderable"
        yield table
        yield Static(id=panel_id, classes="desk-panel")
        yield ScreenFooter()

    def say(self, message: str | Text, kind: str = "") -> None:
        """Show ``message`` on the status line; ``kind`` is ``error``, ``done`` or plain."""
        line = self.query_one("#desk-status", Static)
        # Plain text, never markup: a message may hold '[' (keys, a patient id, a reason).
        line.update(Text(message) if isinstance(message, str) else message)
        line.set_class(kind == "error", "-error")
        line.set_class(kind == "done", "-done")

    def load(self, work: Callable[[], Any], name: str) -> None:
        """Run a read in a thread worker (a newer read replaces an older one)."""
        self.run_worker(
            work, thread=True, group=name, name=name, exclusive=True, exit_on_error=False
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # The screen reports its own workers: the station must not also toast them.
        event.stop()
        if event.state is WorkerState.SUCCESS:
            self.loaded(event.worker.name, event.worker.result)
        elif event.state is WorkerState.ERROR:
            self.say(f"{error_message(event.worker.error)}: r tries again", "error")

    def loaded(self, name: str, result: Any) -> None:
        """A worker of this screen finished with ``result``."""

    def action_close(self) -> None:
        self.dismiss(None)


def lines_grid(lines: Sequence[tuple[str, str | Text]], grid_id: str) -> Grid:
    """Labels and values in two columns, values wrapping under their own column (the value
    of line i is ``#GRID-value-i``)."""
    cells: list[Static] = []
    for i, (label, value) in enumerate(lines):
        cells.append(Static(label, classes="label", id=f"{grid_id}-label-{i}"))
        cells.append(Static(value, id=f"{grid_id}-value-{i}"))
    return Grid(*cells, classes="desk-grid", id=grid_id)
