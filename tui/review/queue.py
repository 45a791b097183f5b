"""The review queue screen (`v`): discharged sessions to review and sign off."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.screen import Screen
from textual.widgets import (
    DataTable,
    Header,
    Static,
)
from textual.worker import Worker, WorkerState

from monitor.errors import Refused
from monitor.services import Service
from monitor.views import UserView
from tui.failures import error_message
from tui.footer import ScreenFooter
from tui.review import CSS, PAGE
from tui.review.filter_dialog import FilterScreen
from tui.review.filters import ReviewFilter
from tui.review.help import QUEUE_HELP, ReviewHelpScreen
from tui.review.log import SessionLogScreen
from tui.review.page import PageStart, QueuePage, load_page, next_start
from tui.review.queue_table import QUEUE_COLUMNS, QueueTable, queue_cell, queue_cells


class ReviewScreen(Screen[None]):
    """The queue of sessions to review, newest discharge first, a page at a time."""

    CSS_PATH = CSS
    BINDINGS = [
        Binding("slash", "filter", "Filter", key_display="/", id="review_filter"),
        Binding("left_square_bracket", "prev_page", "Prev", key_display="[", id="review_prev"),
        Binding("right_square_bracket", "next_page", "Next", key_display="]", id="review_next"),
        Binding("t", "audit", "Audit", id="review_audit"),
        Binding("f", "rems", "REMS", id="review_rems"),
        Binding("s", "summary", "Summary", id="review_summary"),
        Binding("g", "reload", "Reload", id="review_reload", show=False),
        Binding("f5", "reload", "Reload", id="review_reload_f5", show=False),
        Binding("question_mark", "help", "Keys", key_display="?", id="review_help"),
        Binding("escape", "leave", "Floor", id="review_leave"),
    ]

    def __init__(
        self,
        service: Service,
        user: UserView,
        *,
        clock: Callable[[], datetime],
        page_size: int = PAGE,
    ) -> None:
        super().__init__()
        self.service = service
        self.user = user
        self.clock = clock
        self.page_size = page_size
        self.filter = ReviewFilter()
        #: Where each page before the one shown began (``[`` goes back to the last).
        self.previous: list[PageStart] = []
        self.start = PageStart()
        self.page: QueuePage | None = None
        self.users: list[str] = []
        self._mark: object = None

    def compose(self) -> ComposeResult:
        yield Header(icon="+")
        yield Static(id="review-filters")
        yield QueueTable(id="queue", cursor_type="row", cell_padding=0)
        yield Static(id="review-empty")
        yield Static(id="review-status")
        yield ScreenFooter()

    def on_mount(self) -> None:
        self.title = "monitor: review"
        table = self.query_one("#queue", DataTable)
        table.cursor_foreground_priority = "renderable"
        for key, label, width in QUEUE_COLUMNS:
            table.add_column(queue_cell(label), key=key, width=width)
        self.query_one("#review-empty", Static).display = False
        self._mark = self._record_mark()
        self.set_interval(1.0, self._watch_record)
        self._show_filters()
        self.reload()
        self.run_worker(
            lambda: [u.name for u in self.service.users()],
            thread=True,
            group="review-users",
            name="review-users",
            exit_on_error=False,
        )

    # -- loading -------------------------------------------------------------------------

    def _record_mark(self) -> object:
        """The record's version as the station last read it (it moves on every save)."""
        return getattr(self.app, "record_mark", None)

    def _watch_record(self) -> None:
        """Reload the page when the record changed (the station's watcher saw a save)."""
        mark = self._record_mark()
        if mark != self._mark:
            self._mark = mark
            self.reload()

    def reload(self) -> None:
        """Read the page shown again (a newer read replaces an older one)."""
        service, chosen, start = self.service, self.filter, self.start
        now, size = self.clock(), self.page_size
        self._status("loading…", "dim")
        self.run_worker(
            lambda: load_page(service, chosen, start, now, size),
            thread=True,
            group="review-page",
            name="review-page",
            exclusive=True,
            exit_on_error=False,
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is WorkerState.SUCCESS:
            if worker.name == "review-page" and isinstance(worker.result, QueuePage):
                self._show(worker.result)
            elif worker.name == "review-users":
                self.users = list(worker.result or [])
        elif event.state is WorkerState.ERROR and worker.name == "review-page":
            self._status(f"Queue not loaded: {error_message(worker.error)} (g tries again)")

    def _show(self, page: QueuePage) -> None:
        table = self.query_one("#queue", DataTable)
        selected = self.selected_id()
        self.page = page
        table.clear()
        for row in page.rows:
            table.add_row(*queue_cells(row), key=str(row.id))
        if selected is not None and str(selected) in table.rows:
            table.move_cursor(row=table.get_row_index(str(selected)), animate=False)
        empty = self.query_one("#review-empty", Static)
        empty.display = not page.rows
        if not page.rows:
            empty.update(
                "No sessions to review with these filters. / changes them; Esc goes back "
                "to the floor."
                if not self.previous
                else "No more sessions: [ goes back a page."
            )
        first = len(self.previous) * self.page_size + 1
        if page.rows:
            where = f"Page {len(self.previous) + 1}: sessions {first}-{first + len(page.rows) - 1}"
        else:
            where = f"Page {len(self.previous) + 1}: none"
        more = "  ] next page" if page.more else ""
        back = "  [ previous" if self.previous else ""
        unreadable = [marker for row in page.rows for marker in row.unreadable]
        if unreadable:
            # Listed, never left out (docs/storage.md, "Unreadable records").
            more += f"  ·  UNREADABLE: {unreadable[0]}" + (
                f" (+{len(unreadable) - 1} more)" if len(unreadable) > 1 else ""
            )
            self._status(f"{where}{more}{back}", "bold red")
            return
        self._status(f"{where}{more}{back}  ·  ? explains the columns", "")

    def _status(self, message: str, style: str = "bold red") -> None:
        self.query_one("#review-status", Static).update(Text(message, style=style))

    def _show_filters(self) -> None:
        line = Text("Showing: ", style="bold")
        line.append(self.filter.describe())
        self.query_one("#review-filters", Static).update(line)

    def selected_id(self) -> int | None:
        """The session under the cursor, if any."""
        table = self.query_one("#queue", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value
        return int(key) if key is not None else None

    # -- actions -------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Paging keys show only where there is a page to go to."""
        if action == "next_page":
            return bool(self.page and self.page.more and self.page.rows)
        if action == "prev_page":
            return bool(self.previous)
        return True

    def action_open_log(self) -> None:
        session_id = self.selected_id()
        if session_id is None:
            self.notify("No session selected", severity="warning")
            return
        self.app.push_screen(
            SessionLogScreen(self.service, session_id, self.user, clock=self.clock),
            lambda _: self.reload(),
        )

    @on(DataTable.RowSelected, "#queue")
    def _row_selected(self) -> None:
        self.action_open_log()

    def action_next_page(self) -> None:
        if self.page is None or not self.page.more or not self.page.rows:
            return
        self.previous.append(self.start)
        self.start = next_start(self.page)
        self.reload()
        self.refresh_bindings()

    def action_prev_page(self) -> None:
        if not self.previous:
            return
        self.start = self.previous.pop()
        self.reload()
        self.refresh_bindings()

    def action_reload(self) -> None:
        self.reload()

    def action_filter(self) -> None:
        try:
            protocols = sorted(self.service.config.protocols)
        except Refused as error:  # the rules in force cannot be read (docs/storage.md)
            self._status(f"Filters not available: {error}")
            return

        def chosen(result: ReviewFilter | None) -> None:
            if result is not None and result != self.filter:
                self.filter = result
                self.previous = []
                self.start = PageStart()
                self._show_filters()
                self.reload()
                self.refresh_bindings()

        self.app.push_screen(FilterScreen(self.filter, self.users, protocols, self.clock), chosen)

    def action_audit(self) -> None:
        from tui.reports.audit import AuditScreen

        self.app.push_screen(AuditScreen(self.service))

    def action_rems(self) -> None:
        from tui.reports.rems import RemsScreen

        self.app.push_screen(RemsScreen(self.service, self.user))

    def action_summary(self) -> None:
        from tui.reports.quality import QualityScreen

        self.app.push_screen(QualityScreen(self.service, self.clock))

    def action_help(self) -> None:
        self.app.push_screen(ReviewHelpScreen("Review queue: keys", QUEUE_HELP))

    def action_leave(self) -> None:
        self.dismiss(None)
