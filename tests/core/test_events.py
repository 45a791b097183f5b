"""Which events are serious and the alarm each opens (docs/clinical.md, "Serious events")."""

from __future__ import annotations

import pytest

from monitor.core.events import EVENT_TYPES, SERIOUS_EVENT_RULE, serious_event
from monitor.core.rules import Severity


@pytest.mark.parametrize(
    ("kind", "type_", "severity", "serious", "expected"),
    [
        ("adverse", "nausea", "mild", True, (Severity.HIGH, "serious adverse event")),
        ("adverse", "headache", "severe", False, (Severity.HIGH, "severe adverse event")),
        ("adverse", "other", "severe", True, (Severity.HIGH, "serious adverse event")),
        ("adverse", "suicidal-thoughts", "mild", False, (Severity.HIGH, "suicidal thoughts")),
        ("intervention", "oxygen", None, None, (Severity.HIGH, "oxygen given")),
        (
            "intervention",
            "antihypertensive",
            None,
            None,
            (Severity.MEDIUM, "antihypertensive given"),
        ),
    ],
)
def test_a_serious_event_opens_its_alarm(kind, type_, severity, serious, expected):
    alarm = serious_event(kind, type_, severity, serious)
    assert alarm is not None
    assert (alarm.severity, alarm.why) == expected
    assert alarm.rule == SERIOUS_EVENT_RULE
    assert alarm.severity.needs_action  # it blocks discharge until acknowledged


@pytest.mark.parametrize(
    ("kind", "type_", "severity", "serious"),
    [
        ("note", None, None, None),
        ("adverse", "nausea", "moderate", False),
        ("adverse", "anxiety", "mild", None),
        ("adverse", "other", "moderate", False),
        ("intervention", "antiemetic", None, None),
        ("intervention", "other", None, None),
    ],
)
def test_other_events_open_none(kind, type_, severity, serious):
    assert serious_event(kind, type_, severity, serious) is None


def test_suicidal_thoughts_is_an_adverse_event_type():
    assert "suicidal-thoughts" in EVENT_TYPES["adverse"]


def test_the_message_names_the_event_and_the_review_it_needs():
    alarm = serious_event("intervention", "oxygen", None, None)
    assert alarm is not None
    text = alarm.message(7, "intervention oxygen: 2 L/min")
    assert text.startswith("serious event 7 (oxygen given): intervention oxygen: 2 L/min")
    assert "clinician" in text
