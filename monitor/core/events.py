"""What may be recorded during a session besides vitals (docs/clinical.md, "Recorded besides
vitals"): notes, adverse events and interventions, with their types and severities."""

from __future__ import annotations

EVENT_KINDS = ("note", "adverse", "intervention")
EVENT_TYPES: dict[str, tuple[str, ...]] = {
    "note": (),
    "adverse": ("nausea", "vomiting", "dizziness", "headache", "anxiety", "other"),
    "intervention": ("antiemetic", "antihypertensive", "oxygen", "other"),
}
EVENT_SEVERITIES = ("mild", "moderate", "severe")
