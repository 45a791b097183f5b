"""The floor's keys that open a dialog or a screen (docs/station.md, "Keys of the floor").

A mixin of :class:`tui.app.StationApp`. Each dialog's or screen's module is imported where it
opens: the station's first frame imports none of them, and the thread that imports the
services right after it imports them too (tui/opening.py), so none is waited for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from monitor.views import SessionView
from tui.render import hm

if TYPE_CHECKING:
    from monitor.core.intake import SessionRequest
    from tui.dialogs.base import SavingDialog

Form = TypeVar("Form")


def station(mixin: FloorDialogs) -> Any:
    """The station the mixin is part of (:class:`tui.app.StationApp`, not imported: it
    imports this module)."""
    return mixin


class FloorDialogs:
    """The dialogs and screens the floor opens (``a``, ``e``, ``n``, ``d``, ``i``, ``x``,
    ``m``, ``?``, Enter)."""

    def _open(self, dialog: SavingDialog[Form], note: Callable[[Form], str]) -> None:
        """Open a dialog that saves; once it saved, say ``note(form)`` and reload. A nurse
        names a supervisor to co-sign what needs a clinician (the dialog asks when it does)."""
        app = station(self)
        from tui.dialogs.cosign import asks_cosigner

        dialog.cosigning = asks_cosigner(app.user)

        def closed(form: Form | None) -> None:
            if form is not None:
                app.saved(note(form))

        app.push_screen(dialog, closed)

    def action_acknowledge(self) -> None:
        app = station(self)
        if not (chosen := app._user_and_selection()):
            return
        from tui.dialogs.acknowledge import AcknowledgeScreen
        from tui.floor import saves

        name, view = chosen
        if not view.unacknowledged() and not view.check_alarms():
            app.notify("No open flags or check alarms for this patient")
            return
        dialog = AcknowledgeScreen(view, saves.acknowledge(app.service, name, view))
        app._open(dialog, saves.acknowledged)

    def action_event(self) -> None:
        app = station(self)
        if not (chosen := app._user_and_selection()):
            return
        from tui.dialogs.event import EventScreen
        from tui.floor import saves

        name, view = chosen
        save = saves.event(app.service, name, view)
        app._open(EventScreen(view, save, app.clock), lambda form: saves.event_saved(form, view))

    def action_new_session(self) -> None:
        app = station(self)
        if not (user := app._need_user()):
            return
        from tui.dialogs.new_session import NewSessionScreen
        from tui.floor import saves

        started: list[int] = []

        def closed(form: SessionRequest | None) -> None:
            if form is not None:
                app._select_next = started[-1] if started else None
                app.saved(f"Session started for {form.patient}: record the baseline (r)")

        save = saves.new_session(app.service, user.name, started)
        app.push_screen(
            NewSessionScreen(sorted(app.config.protocols), app.config.bays, save), closed
        )

    def action_dose(self) -> None:
        app = station(self)
        if not (chosen := app._user_and_selection()):
            return
        from tui.dialogs.dose import DoseScreen
        from tui.floor import saves

        name, view = chosen
        if view.dosed_at is not None:
            app.notify(
                f"The dose is already recorded for {view.patient} ({hm(view.dosed_at)})",
                severity="warning",
            )
            return
        dialog = DoseScreen(view, saves.dose(app.service, name, view))
        app._open(dialog, lambda form: saves.dose_recorded(form, view))

    def action_infusion_end(self) -> None:
        app = station(self)
        if not (chosen := app._user_and_selection()):
            return
        from tui.dialogs.infusion_end import InfusionEndScreen
        from tui.floor import saves

        name, view = chosen
        if problem := saves.infusion_end_refusal(view):
            app.notify(problem, severity="warning")
            return
        save = saves.infusion_end(app.service, name, view)
        dialog = InfusionEndScreen(view, app.clock, save)  # once recorded: a correction
        app._open(dialog, lambda form: saves.infusion_end_saved(form, view))

    def action_discharge(self) -> None:
        """Load the session with its REMS proposal (a worker), then show the discharge."""
        app = station(self)
        if not (chosen := app._user_and_selection()):
            return
        view, service = chosen[1], app.service
        worker = app.run_worker(
            lambda: service.session(view.id),
            thread=True,
            group="discharge-view",
            name="discharge-view",
            exclusive=True,
            exit_on_error=False,
        )
        app.keys_for_coming_screen(worker)  # `x` and `sister` typed at once: for the dialog

    def _show_discharge(self, view: SessionView) -> None:
        app = station(self)
        if len(app.screen_stack) > 1 or app.user is None:
            return  # another dialog opened meanwhile: one dialog at a time
        from tui.dialogs.discharge import DischargeScreen
        from tui.floor import saves

        dialog = DischargeScreen(view, saves.discharge(app.service, app.user.name, view))
        app._open(dialog, lambda form: saves.discharged(form, view))

    def action_monitor(self) -> None:
        """The selected patient's readings from the bedside monitor, to validate or reject."""
        app = station(self)
        if not (chosen := app._user_and_selection()):
            return
        from monitor.present.floor import awaiting_validation
        from tui.dialogs.validate import MonitorScreen
        from tui.floor import saves

        name, view = chosen
        if not awaiting_validation(view):
            app.notify(f"No monitor readings await validation for {view.patient}")
            return
        save = saves.monitor_readings(app.service, name, view)
        app._open(MonitorScreen(view, save), lambda form: saves.monitor_saved(form, view))

    def action_help(self) -> None:
        app = station(self)
        from tui.floor.help import HelpScreen

        app.push_screen(HelpScreen())

    def action_detail(self) -> None:
        app = station(self)
        from tui.detail.screen import DetailScreen

        if view := app._need_selection():
            app.push_screen(DetailScreen(view, app.config.thresholds))
