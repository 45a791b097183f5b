"""What each dialog of the floor saves: the service call behind it, with the user bound.

The app hands a dialog one of these callables (attributes down); the dialog runs it in its own
worker and closes once it succeeded. Each runs in a worker thread: no widget is touched here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from monitor.core.intake import SessionRequest
from monitor.present.parts import plural
from monitor.services import Service
from monitor.services.readings import Recorded
from monitor.views import SessionView
from tui.dialogs.acknowledge import Acknowledgement
from tui.dialogs.cosign import check_pins, cosigner_blamed
from tui.dialogs.discharge import Discharge
from tui.dialogs.dose import DoseGiven
from tui.dialogs.event import NewEvent
from tui.dialogs.infusion_end import InfusionEnd
from tui.dialogs.validate import MonitorDecision
from tui.floor.entry import EntryBar


@dataclass(frozen=True)
class PendingSave:
    """A save of the app in progress: what to say when it succeeds (nothing: ``done`` says
    it where it was typed), and whom to tell. ``failed`` is told the error and then says
    it where it was typed: the status line and toasts do not repeat it."""

    note: str
    done: Callable[[], None] | None = None
    failed: Callable[[BaseException | None], None] | None = None


def reading(
    service: Service, name: str, typed: EntryBar.Submitted, recorded: list[Recorded]
) -> Callable[[], None]:
    """Save the reading typed on the entry line (under its key: a retry saves it once); what
    the save returns, with the check it served, is appended to ``recorded``."""

    def save() -> None:
        recorded.append(
            service.record_reading_once(
                typed.session_id,
                typed.entry,
                by=name,
                measured_at=typed.measured_at,
                key=typed.key,
            )
        )

    return save


def acknowledge(
    service: Service, name: str, view: SessionView
) -> Callable[[Acknowledgement], None]:
    """Acknowledge the flags ticked and explain the checks ticked."""
    done_flags: set[int] = set()
    done_checks: set[str] = set()

    def save(ack: Acknowledgement) -> None:
        # A retry after a partial failure does not repeat what was already saved.
        flags = [f for f in ack.flag_ids if f not in done_flags]
        if flags:
            # A before-dosing flag or a serious event's alarm: a supervisor co-signs a nurse's.
            check_pins(service.authenticate, name, None, ack.cosign)
            cosigned = {} if ack.cosign is None else {"cosign": ack.cosign.name}
            with cosigner_blamed():
                service.acknowledge_many(flags, by=name, action=ack.action, **cosigned)
            done_flags.update(flags)
        for label in ack.check_labels:
            if label not in done_checks:
                service.skip_check(view.id, label, by=name, reason=ack.action)
                done_checks.add(label)

    return save


def event(service: Service, name: str, view: SessionView) -> Callable[[NewEvent], None]:
    """Add a note, an intervention or an adverse event."""

    def save(form: NewEvent) -> None:
        service.add_event(
            view.id,
            kind=form.kind,
            by=name,
            text=form.text,
            type=form.type,
            severity=form.severity,
            serious=form.serious,
            at=form.at,
        )

    return save


def new_session(
    service: Service, name: str, started: list[int]
) -> Callable[[SessionRequest], None]:
    """Start a session; its id is appended to ``started``."""

    def save(form: SessionRequest) -> None:
        started.append(
            service.start_session(
                patient=form.patient or "",  # the form asks the core: never blank here
                protocol=form.protocol,
                by=name,
                dose_mg=form.dose_mg,
                weight_kg=form.weight_kg,
                age=form.age,
                bay=form.bay,
                lot=form.lot,
                first_treatment=form.first_treatment,
                dose_number=form.dose_number,
                meds=form.meds,
            )
        )

    return save


def dose(service: Service, name: str, view: SessionView) -> Callable[[DoseGiven], None]:
    """Record the dose (an override of the dosing gate is signed, and a nurse's co-signed)."""

    def save(form: DoseGiven) -> None:
        if form.override_reason:
            check_pins(service.authenticate, name, form.pin or "", form.cosign)
        with cosigner_blamed():
            service.record_dose(
                view.id,
                by=name,
                override_reason=form.override_reason,
                cosign=form.cosign.name if form.cosign else None,
            )

    return save


def infusion_end(service: Service, name: str, view: SessionView) -> Callable[[InfusionEnd], None]:
    """Record when the infusion ended (the checks move), or correct it with a reason."""

    def save(form: InfusionEnd) -> None:
        service.record_infusion_end(view.id, by=name, at=form.at, reason=form.reason)

    return save


def discharge(service: Service, name: str, view: SessionView) -> Callable[[Discharge], None]:
    """Discharge the patient (an override of the gate is signed, and a nurse's co-signed)."""

    def save(form: Discharge) -> None:
        if form.override_reason:
            check_pins(service.authenticate, name, form.pin or "", form.cosign)
        with cosigner_blamed():
            service.discharge(
                view.id,
                by=name,
                override_reason=form.override_reason,
                escort=form.escort,
                instructions_given=form.instructions_given,
                ready_minute=form.ready_minute,
                cosign=form.cosign.name if form.cosign else None,
            )

    return save


def monitor_readings(
    service: Service, name: str, view: SessionView
) -> Callable[[MonitorDecision], None]:
    """Validate the monitor's readings ticked (all or none, one transaction), or void the one
    rejected as an artefact, with its reason."""

    def save(decision: MonitorDecision) -> None:
        if decision.reject_reason is not None:
            service.void(decision.reading_ids[0], by=name, reason=decision.reject_reason)
        else:
            service.validate_readings(decision.reading_ids, by=name)

    return save


def monitor_saved(decision: MonitorDecision, view: SessionView) -> str:
    """What the floor says once monitor readings were validated or one was rejected."""
    if decision.reject_reason is not None:
        return f"Reading #{decision.reading_ids[0]} of {view.patient} rejected (voided)"
    count = len(decision.reading_ids)
    now = "it counts now" if count == 1 else "they count now"
    return f"{plural(count, 'monitor reading')} validated for {view.patient}: {now}"


def acknowledged(ack: Acknowledgement) -> str:
    """What the floor says once flags were acknowledged and checks explained."""
    parts = []
    if ack.flag_ids:
        cosigned = f" (co-signed by {ack.cosign.name})" if ack.cosign else ""
        parts.append(f"{plural(len(ack.flag_ids), 'flag')} acknowledged{cosigned}")
    if ack.check_labels:
        parts.append(f"{plural(len(ack.check_labels), 'check')} explained")
    return ", ".join(parts)


def event_saved(form: NewEvent, view: SessionView) -> str:
    """What the floor says once an event was saved."""
    what = {"adverse": "Adverse event"}.get(form.kind, form.kind.capitalize())
    return f"{what} saved for {view.patient}"


def dose_recorded(form: DoseGiven, view: SessionView) -> str:
    """What the floor says once the dose was recorded."""
    overridden = ""
    if form.override_reason:
        overridden = " (dosing gate overridden"
        overridden += f", co-signed by {form.cosign.name})" if form.cosign else ")"
    return f"Dose recorded for {view.patient}{overridden}"


def discharged(form: Discharge, view: SessionView) -> str:
    """What the floor says once the patient was discharged."""
    cosigned = f" (override co-signed by {form.cosign.name})" if form.cosign else ""
    return f"{view.patient} discharged{cosigned}"


def infusion_end_refusal(view: SessionView) -> str | None:
    """Why the infusion end cannot be recorded for ``view`` now (None: it can; once recorded,
    `i` corrects it)."""
    if view.schedule is None or view.schedule.infusion_min is None:
        return f"{view.patient} is not on an IV infusion"
    if view.dosed_at is None:
        return "Record the start of the infusion first (d)"
    return None


def infusion_end_saved(form: InfusionEnd, view: SessionView) -> str:
    """What the floor says once the infusion end was recorded or corrected."""
    if form.reason is not None:
        return f"Infusion end of {view.patient} corrected: the checks moved"
    return f"Infusion end recorded for {view.patient}: the checks moved"
