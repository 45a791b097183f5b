"""One session's log (Enter in the queue): its story in time order beside the chart."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import (
    Header,
    OptionList,
    Static,
    TabbedContent,
    TabPane,
)
from textual.worker import Worker, WorkerState

from monitor.core.review import (
    SUPERVISOR,
    Refusal,
    change_refusal,
    reopen_refusal,
    sign_refusal,
    signed_refusal,
)
from monitor.present.session import EntryKind, LogEntry
from monitor.services import Service
from monitor.views import ReadingView, SessionView, UserView
from tui.exporting import EXPORT_BINDING, ExportKey
from tui.failures import error_message
from tui.footer import ScreenFooter
from tui.review import CSS, FOR_SUPERVISORS
from tui.review.correct import Correction, CorrectScreen
from tui.review.help import LOG_HELP, ReviewHelpScreen
from tui.review.log_text import LoadedLog, first_reading, load_log, log_options, log_title
from tui.review.reopen import Reopening, ReopenScreen
from tui.review.sign import SignOff, SignScreen
from tui.review.void import VoidForm, VoidScreen


class SessionLogScreen(ExportKey, Screen[None]):
    """One session's whole story in time order, and its chart; a supervisor voids or corrects
    a reading, signs the session off or reopens it; `p` writes its PDF record."""

    CSS_PATH = CSS
    BINDINGS = [
        Binding("v", "void", "Void", id="log_void"),
        Binding("c", "correct", "Correct", id="log_correct"),
        Binding("s", "sign", "Sign off", id="log_sign"),
        Binding("o", "reopen", "Reopen", id="log_reopen"),
        Binding("t", "audit", "Audit", id="log_audit"),
        EXPORT_BINDING,
        Binding("g", "reload", "Reload", id="log_reload", show=False),
        Binding("f5", "reload", "Reload", id="log_reload_f5", show=False),
        Binding("right", "tab(1)", "Chart", id="log_next_tab", show=False),
        Binding("left", "tab(-1)", "Log", id="log_prev_tab", show=False),
        Binding("question_mark", "help", "Keys", key_display="?", id="log_help"),
        Binding("escape", "leave", "Back", id="log_leave"),
    ]

    def __init__(
        self,
        service: Service,
        session_id: int,
        user: UserView,
        *,
        clock: Callable[[], datetime],
    ) -> None:
        super().__init__()
        self.service = service
        self.session_id = session_id
        self.user = user
        self.clock = clock
        self.loaded: LoadedLog | None = None
        self._mark: object = None
        self.export_session_id = session_id

    def compose(self) -> ComposeResult:
        yield Header(icon="+")
        yield Static(f"#{self.session_id}  loading…", id="log-title")
        yield Static(id="export-line")
        with TabbedContent(id="log-tabs"):
            with TabPane("Log", id="tab-log"):
                yield OptionList(id="log")
            with TabPane("Chart", id="tab-log-chart"):
                from tui.detail.chart_widget import SessionChart

                yield SessionChart(id="log-chart")
        yield Static(id="log-status")
        yield ScreenFooter()

    def on_mount(self) -> None:
        self.title = "monitor: review"
        self.query_one("#log-status", Static).display = False
        self._mark = getattr(self.app, "record_mark", None)
        self.set_interval(1.0, self._watch_record)
        self.query_one("#log", OptionList).focus()
        self.reload()

    def _watch_record(self) -> None:
        mark = getattr(self.app, "record_mark", None)
        if mark != self._mark:
            self._mark = mark
            self.reload()

    def reload(self) -> None:
        """Read the session and its story again."""
        service, session_id = self.service, self.session_id
        self.run_worker(
            lambda: load_log(service, session_id),
            thread=True,
            group="log-load",
            name="log-load",
            exclusive=True,
            exit_on_error=False,
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if self._export_done(event) or worker.name != "log-load":
            return
        if event.state is WorkerState.SUCCESS and isinstance(worker.result, LoadedLog):
            self._show(worker.result)
        elif event.state is WorkerState.ERROR:
            status = self.query_one("#log-status", Static)
            status.update(
                Text(f"Log not loaded: {error_message(worker.error)} (g tries again)", "bold red")
            )
            status.display = True

    def _show(self, loaded: LoadedLog) -> None:
        self.loaded = loaded
        self.query_one("#log-status", Static).display = False
        self.query_one("#log-title", Static).update(log_title(loaded.view))
        log = self.query_one("#log", OptionList)
        kept = log.highlighted
        options = log_options(loaded.entries)
        log.clear_options()
        log.add_options(options)
        if kept is None:  # opened: on a reading, so that `v` and `c` act at once
            kept = first_reading(options, loaded.entries)
        if log.option_count:
            log.highlighted = min(kept or 1, log.option_count - 1)
        self._draw_chart(loaded.view)

    def _draw_chart(self, view: SessionView) -> None:
        from tui.detail.chart_widget import SessionChart

        self.query_one("#log-chart", SessionChart).show(view, self.service.config.thresholds)

    # -- what the keys act on ------------------------------------------------------------

    def highlighted(self) -> LogEntry | None:
        """The log entry under the highlight."""
        if self.loaded is None:
            return None
        log = self.query_one("#log", OptionList)
        if log.highlighted is None:
            return None
        option = log.get_option_at_index(log.highlighted)
        return None if option.id is None else self.loaded.entries[int(option.id)]

    def _supervisor(self) -> bool:
        if self.user.role != SUPERVISOR:
            self.notify(FOR_SUPERVISORS, severity="warning")
            return False
        return True

    def _refused(self, refusal: Refusal | None) -> bool:
        """Say why the core refuses the action (docs/clinical.md, "Review and sign-off"), if it
        does."""
        if refusal is not None:
            self.notify(refusal.reason, severity="warning", markup=False)
        return refusal is not None

    def _reading_to_change(self, what: str) -> ReadingView | None:
        """The highlighted reading, if the core lets it be voided or corrected now (``what``:
        ``void`` or ``correct``); else say why not."""
        if self.loaded is None or not self._supervisor():
            return None
        view = self.loaded.view
        signed = view.signed_by is not None
        if self._refused(signed_refusal(view.id, "correction or void", signed=signed)):
            return None
        entry = self.highlighted()
        if entry is None or entry.kind is not EntryKind.READING or entry.reading_id is None:
            self.notify(f"Highlight a reading (#N, Up/Down) to {what} it", severity="warning")
            return None
        reading = view.reading(entry.reading_id)
        if reading is None:
            return None
        refusal = change_refusal(
            reading.id,
            what,
            user=self.user.name,
            role=self.user.role,
            recorded_it=reading.recorded_by == self.user.name,
            superseded_by=reading.superseded_by,
            voided=reading.voided is not None,
            session_id=view.id,
            signed=signed,
            discharged=view.discharged_at is not None,
        )
        return None if self._refused(refusal) else reading

    def _saved(self, note: str) -> None:
        self.notify(note)
        self.reload()

    def action_void(self) -> None:
        reading = self._reading_to_change("void")
        if reading is None:
            return
        service, name = self.service, self.user.name

        def save(form: VoidForm) -> None:
            service.authenticate(name, form.pin)  # a void is signed
            service.void(reading.id, by=name, reason=form.reason)

        self.app.push_screen(
            VoidScreen(reading, save),
            lambda form: self._saved(f"Reading #{reading.id} voided") if form else None,
        )

    def action_correct(self) -> None:
        reading = self._reading_to_change("correct")
        if reading is None:
            return
        service, name = self.service, self.user.name

        def save(form: Correction) -> None:
            service.authenticate(name, form.pin)  # a correction is signed
            service.amend(
                reading.id,
                form.entry,
                by=name,
                reason=form.reason,
                at=form.measured_at,
                replace=True,
            )

        self.app.push_screen(
            CorrectScreen(reading, self.clock, save),
            lambda form: self._saved(f"Reading #{reading.id} corrected") if form else None,
        )

    def action_sign(self) -> None:
        if self.loaded is None or not self._supervisor():
            return
        view = self.loaded.view
        refusal = sign_refusal(
            view.id,
            user=self.user.name,
            role=self.user.role,
            discharged=view.discharged_at is not None,
            signed=view.signed_by is not None,
        )
        if self._refused(refusal):
            return
        service, name = self.service, self.user.name

        def save(form: SignOff) -> None:
            service.sign(view.id, by=name, pin=form.pin)

        self.app.push_screen(
            SignScreen(view, self.user, self.clock, save),
            lambda form: self._saved(f"Session #{view.id} signed off: reviewed") if form else None,
        )

    def action_reopen(self) -> None:
        if self.loaded is None or not self._supervisor():
            return
        view = self.loaded.view
        refusal = reopen_refusal(
            view.id, user=self.user.name, role=self.user.role, signed=view.signed_by is not None
        )
        if self._refused(refusal):
            return
        service, name = self.service, self.user.name

        def save(form: Reopening) -> None:
            service.authenticate(name, form.pin)  # a reopening is signed
            service.reopen(view.id, by=name, reason=form.reason)

        self.app.push_screen(
            ReopenScreen(view, save),
            lambda form: (
                self._saved(f"Session #{view.id} reopened: sign it off again") if form else None
            ),
        )

    def action_audit(self) -> None:
        from tui.reports.audit import AuditScreen

        self.app.push_screen(AuditScreen(self.service, session_id=self.session_id))

    def action_reload(self) -> None:
        self.reload()

    def action_tab(self, step: int) -> None:
        tabs = self.query_one("#log-tabs", TabbedContent)
        order = ["tab-log", "tab-log-chart"]
        current = order.index(tabs.active) if tabs.active in order else 0
        tabs.active = order[(current + step) % len(order)]
        if tabs.active == "tab-log":
            self.query_one("#log", OptionList).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Void and Correct act on the reading highlighted in the log: on the chart there is
        none, so the footer does not list them there (Textual: False hides a key)."""
        if action in ("void", "correct"):
            tabs = self.query(TabbedContent)
            return not (tabs and tabs.first().active == "tab-log-chart")
        return True

    @on(TabbedContent.TabActivated, "#log-tabs")
    def _tab_shown(self) -> None:
        self.refresh_bindings()

    def action_help(self) -> None:
        self.app.push_screen(ReviewHelpScreen("Session log: keys", LOG_HELP))

    def action_leave(self) -> None:
        self.dismiss(None)
