"""The audit trail screen: one session's or a period's trail, newest first."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from monitor.periods import local_day, typed_period
from monitor.present.audit import audit_story, detail_lines, summary_line
from monitor.present.parts import plain
from monitor.services import Service
from monitor.services.history import AUDIT_PAGE, AuditSlice
from monitor.views import AuditView
from tui.render import padded, truncate
from tui.reports.audit_filter import AuditFilter, AuditFilterDialog, AuditFilterForm
from tui.reports.audit_row import AuditRowScreen
from tui.reports.desk import DeskScreen
from tui.styled import ROLE_STYLE, lines_text


@dataclass(frozen=True)
class AuditLoaded:
    """One page of the audit view as read: the filter (its period worked out), the page, and
    the user names the filter offers."""

    filter: AuditFilter
    page: AuditSlice
    users: tuple[str, ...]
    #: The page's number: 1 is the newest, older pages count up.
    number: int


class AuditScreen(DeskScreen):
    """The audit trail of one session, or of a period (default: today), newest first, a page
    at a time; filters by user and action; the selected row in full under the table."""

    BINDINGS = [
        Binding("escape", "close", "Back", id="audit_close"),
        Binding("enter", "open_row", "Row", priority=True, id="audit_row"),
        Binding("right_square_bracket", "older", "Older", key_display="]", id="audit_older"),
        Binding("left_square_bracket", "newer", "Newer", key_display="[", id="audit_newer"),
        Binding("pagedown", "older", "Older", show=False, priority=True, id="audit_older_page"),
        Binding("pageup", "newer", "Newer", show=False, priority=True, id="audit_newer_page"),
        Binding("slash", "filter", "Filter", key_display="/", id="audit_filter"),
        Binding("f", "filter", "Filter", show=False, id="audit_filter_f"),
        Binding("r", "reload", "Reload", id="audit_reload"),
        Binding("f5", "reload", "Reload", show=False, id="audit_reload_f5"),
        Binding("q", "app.quit", "Quit", id="audit_quit"),
    ]

    def __init__(self, service: Service, *, session_id: int | None = None) -> None:
        super().__init__()
        self.service = service
        self.filter = (
            AuditFilter(session_id=session_id)
            if session_id is not None
            else AuditFilter(today=True)
        )
        self.page: AuditSlice | None = None
        #: 1 is the newest page; older pages count up.
        self.page_number = 1
        self.users: tuple[str, ...] = ()
        #: The page on screen as it was asked for: which way, from which row, its number.
        self._reading: tuple[str, int | None, int] = ("newest", None, 1)

    def compose(self) -> ComposeResult:
        return self.table_and_panel("audit-table", "audit-detail")

    def on_mount(self) -> None:
        self._columns()
        self._title()
        self.say("reading…")
        self.read("newest")

    # -- reading -----------------------------------------------------------------------

    def read(self, way: str, cursor: int | None = None, number: int = 1) -> None:
        """Read a page in a worker: the newest, or the one older or newer than row ``cursor``
        (``number`` is what the page will be called)."""
        service, users = self.service, self.users
        chosen = self.filter
        self._reading = (way, cursor, number)

        def work() -> AuditLoaded:
            resolved = chosen
            if chosen.today:
                today = service.now().astimezone().date()
                since, until = local_day(today)
                resolved = replace(chosen, since=since, until=until, today=False, day=today)
            page = service.audit_keyset(
                resolved.session_id,
                since=resolved.since,
                until=resolved.until,
                user=resolved.user,
                action=resolved.action,
                before=cursor if way == "older" else None,
                after=cursor if way == "newer" else None,
                limit=AUDIT_PAGE,
            )
            names = users or tuple(service.audit_users())
            return AuditLoaded(resolved, page, names, 1 if not page.newer else number)

        self.load(work, "audit-page")

    def loaded(self, name: str, result: Any) -> None:
        if not isinstance(result, AuditLoaded):
            return
        self.filter, self.page, self.users = result.filter, result.page, result.users
        self.page_number = result.number
        self._title()
        self._fill()

    def _title(self) -> None:
        title = Text("Audit trail · ")
        title.append(self.filter.describe() if not self.filter.today else "today")
        self.query_one("#desk-title", Static).update(title)

    def _columns(self) -> None:
        table = self.query_one("#audit-table", DataTable)
        table.clear(columns=True)
        width = max(self.size.width, 80)
        one_day = self.filter.day is not None or self.filter.today
        self._widths = {
            "time": 9 if one_day else 13,
            "user": 11,
            "action": 19,
            "session": 5,
        }
        # The rest for what changed, less the table's scroll bar.
        self._widths["change"] = max(16, width - sum(self._widths.values()) - 3)
        labels = {
            "time": "Time",
            "user": "User",
            "action": "Action",
            "session": "Sess",
            "change": "Before → after · reason",
        }
        for key, label in labels.items():
            table.add_column(padded(label), key=key, width=self._widths[key])

    def _fill(self) -> None:
        page = self.page
        assert page is not None
        self._columns()
        table = self.query_one("#audit-table", DataTable)
        one_day = self.filter.day is not None
        for row in page.rows:
            moment = row.at.astimezone()
            shown = f"{moment:%H:%M:%S}" if one_day else f"{moment:%d %b %H:%M}"
            story = audit_story(row)
            change = plain(summary_line(story))
            who = story.who
            table.add_row(
                padded(shown),
                padded(Text(truncate(who.text, self._widths["user"] - 1), ROLE_STYLE[who.role])),
                padded(truncate(row.action, self._widths["action"] - 1)),
                padded("" if row.session_id is None else str(row.session_id)),
                padded(truncate(change, self._widths["change"] - 1)),
                key=str(row.id),
            )
        if page.rows:
            table.move_cursor(row=0, animate=False)
            self._show_detail(page.rows[0])
            ways = []
            if page.older:
                ways.append("] older")
            if page.newer:
                ways.append("[ newer")
            more = "  ·  ".join(ways) if ways else "no other page"
            self.say(
                f"page {self.page_number}, newest first: {len(page.rows)} rows  ·  {more}  ·  "
                "⏎ whole row  ·  / filter"
            )
        else:
            self.query_one("#audit-detail", Static).update("")
            self.say("No rows match: / changes the filter (a wider period, another user).")
        table.focus()

    @on(DataTable.RowHighlighted, "#audit-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        if self.page is None or event.row_key.value is None:
            return
        wanted = int(event.row_key.value)
        for row in self.page.rows:
            if row.id == wanted:
                self._show_detail(row)
                return

    def action_open_row(self) -> None:
        row = self.selected_row()
        if row is not None:
            self.app.push_screen(AuditRowScreen(row))

    def selected_row(self) -> AuditView | None:
        """The row under the cursor."""
        table = self.query_one("#audit-table", DataTable)
        if self.page is None or not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((r for r in self.page.rows if str(r.id) == key), None)

    def _show_detail(self, row: AuditView) -> None:
        self.query_one("#audit-detail", Static).update(lines_text(detail_lines(audit_story(row))))

    def on_resize(self) -> None:
        if self.page is not None:
            self._fill()

    # -- keys --------------------------------------------------------------------------

    def action_older(self) -> None:
        if self.page is None or not self.page.older or not self.page.rows:
            self.say("This is the oldest page of this filter (/ widens it).")
            return
        self.read("older", self.page.rows[-1].id, self.page_number + 1)

    def action_newer(self) -> None:
        if self.page is None or not self.page.newer or not self.page.rows:
            self.say("This is the newest page (r reads it again for new rows).")
            return
        self.read("newer", self.page.rows[0].id, max(1, self.page_number - 1))

    def action_reload(self) -> None:
        # The same page again (rows saved meanwhile join the newest page).
        self.read(*self._reading)

    def action_filter(self) -> None:
        service = self.service
        chosen: list[AuditLoaded] = []

        users = self.users

        def save(form: AuditFilterForm) -> None:
            since, until = typed_period(form.since_text, form.until_text, service.now())
            day = None
            if (
                since is not None
                and until is not None
                and (since, until) == local_day(since.astimezone().date())
            ):
                day = since.astimezone().date()
            wanted = AuditFilter(form.session_id, since, until, form.user, form.action, day=day)
            page = service.audit_keyset(
                wanted.session_id,
                since=since,
                until=until,
                user=wanted.user,
                action=wanted.action,
                limit=AUDIT_PAGE,
            )
            chosen.append(AuditLoaded(wanted, page, users, 1))

        def closed(form: AuditFilterForm | None) -> None:
            if form is not None and chosen:
                self.loaded("audit-page", chosen[-1])
                self._reading = ("newest", None, 1)

        self.app.push_screen(AuditFilterDialog(self.filter, self.users, save), closed)
