"""What may be recorded during a session besides vitals (docs/clinical.md, "Recorded besides
vitals"): notes, adverse events and interventions, with their types and severities; and which
of them are serious events, each opening an alarm that only a clinician acknowledges
(docs/clinical.md, "Serious events")."""

from __future__ import annotations

from dataclasses import dataclass

from monitor.core.rules import Severity

EVENT_KINDS = ("note", "adverse", "intervention")
EVENT_TYPES: dict[str, tuple[str, ...]] = {
    "note": (),
    "adverse": (
        "nausea",
        "vomiting",
        "dizziness",
        "headache",
        "anxiety",
        "suicidal-thoughts",
        "other",
    ),
    "intervention": ("antiemetic", "antihypertensive", "oxygen", "other"),
}
EVENT_SEVERITIES = ("mild", "moderate", "severe")

#: The rule a serious event's alarm names (its ``measure`` is :data:`EVENT_MEASURE`).
SERIOUS_EVENT_RULE = "serious-event"
EVENT_MEASURE = "event"


@dataclass(frozen=True)
class EventAlarm:
    """The alarm a serious event opens: its priority and why the event is serious."""

    severity: Severity
    why: str
    rule: str = SERIOUS_EVENT_RULE

    def message(self, event_id: int, summary: str) -> str:
        """The alarm's line, naming the event: ``serious event 7 (oxygen given): ...``."""
        return (
            f"serious event {event_id} ({self.why}): {summary}; a clinician reviews it "
            "before discharge"
        )


def serious_event(
    kind: str, type: str | None, severity: str | None, serious: bool | None
) -> EventAlarm | None:
    """The alarm an event opens, or ``None`` for an event that is not serious.

    An adverse event marked serious or severe, an adverse event of type ``suicidal-thoughts``
    (the label's boxed warning), and an intervention of type ``oxygen`` or
    ``antihypertensive`` each open an alarm: high for serious, severe, suicidal thoughts and
    oxygen; medium for an antihypertensive.
    """
    if kind == "adverse":
        if serious:
            return EventAlarm(Severity.HIGH, "serious adverse event")
        if severity == "severe":
            return EventAlarm(Severity.HIGH, "severe adverse event")
        if type == "suicidal-thoughts":
            return EventAlarm(Severity.HIGH, "suicidal thoughts")
    elif kind == "intervention":
        if type == "oxygen":
            return EventAlarm(Severity.HIGH, "oxygen given")
        if type == "antihypertensive":
            return EventAlarm(Severity.MEDIUM, "antihypertensive given")
    return None
