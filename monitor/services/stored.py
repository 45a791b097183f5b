"""A session's stored values as its view reads them, each through
:func:`monitor.unreadable.read` (docs/storage.md, "Unreadable records").

The gate stored at discharge (JSON, with the schedule and criteria it used and the rules
version whose thresholds it judged by), the schedule a session follows (its protocol under its
rules version, TOML), its medication and a flag's severity are parsed when a session is read.
A malformed one becomes an :class:`~monitor.unreadable.Unreadable` marker, and the session is
read without it: a stored gate that cannot be read is judged again at the discharge, as in a
record stored before the gate was kept; a schedule that cannot be read leaves the session
unjudged (no checks, a gate "not ready" that names the marker); a severity that cannot be read
counts as high, the worst case, so that the flag is never missed.

A row here is an ORM object or a Core row of :mod:`monitor.store.tables` alike (``Any``): the
attributes read are the columns.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from monitor.core.config import ClinicConfig
from monitor.core.gate import GateResult, StoredGate
from monitor.core.intake import parse_meds
from monitor.core.rules import Severity
from monitor.core.schedule import Protocol
from monitor.core.vitals import Measure, Vitals
from monitor.judge import stored_judgement
from monitor.unreadable import (
    MEDICATION,
    NUMBERS,
    SEVERITY,
    STORED_GATE,
    VALUES,
    Unreadable,
    read,
)
from monitor.views import FlagView

#: A rules version's number is a database integer.
_VERSION_MAX = 2**31 - 1
#: The measures' names, which are their columns (an enum's value is slow to ask for, and
#: every reading of a floor's load asks for seven).
_MEASURES = tuple(measure.value for measure in Measure)


@dataclass(frozen=True)
class KeptGate:
    """The gate stored at discharge, read: its record, verdict, the schedule and criteria it
    used, the thresholds of the rules version it names, and when the discharge was saved."""

    stored: StoredGate
    gate: GateResult
    schedule: Protocol
    config: ClinicConfig
    version: int | None
    closed_at: datetime | None


def record_name(row: Any) -> str:
    """How a marker names a session: ``session 5``."""
    return f"session {row.id}"


def _version(value: Any) -> int | None:
    """The rules version a stored gate names: a number, or none (before versions)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= _VERSION_MAX:
        raise ValueError(f"config_version {str(value)[:20]!r} is not a version number")
    return value


def _saved_at(record: Any, discharged_at: datetime | None) -> datetime | None:
    """When the discharge was saved: kept with the gate since revision 3, else the
    discharge time."""
    saved = record.get("saved_at")
    return datetime.fromisoformat(saved) if isinstance(saved, str) else discharged_at


def _decode(text: str, row: Any, rules_of: Callable[[int | None], ClinicConfig]) -> KeptGate:
    record = json.loads(text)
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    if not isinstance(record["ready"], bool) or not isinstance(record["reasons"], list):
        raise ValueError("'ready' or 'reasons' is not what a gate keeps")
    if not isinstance(record.get("items", []), list):
        raise ValueError("'items' is not a list")
    stored = StoredGate.decode(record)
    assert stored is not None
    gate, schedule, config = stored_judgement(stored)
    version = _version(record.get("config_version"))
    config = replace(config, thresholds=rules_of(version).thresholds)
    return KeptGate(stored, gate, schedule, config, version, _saved_at(record, row.discharged_at))


def kept_gate(
    row: Any, rules_of: Callable[[int | None], ClinicConfig]
) -> KeptGate | Unreadable | None:
    """The gate ``row`` stored at discharge (``None``: not stored), or its marker."""
    text = row.gate_at_discharge
    if not text:
        return None
    return read(lambda: _decode(text, row, rules_of), record_name(row), STORED_GATE)


def meds_of(row: Any) -> tuple[str, ...] | Unreadable | None:
    """The REMS medication answers (``()``: none; ``None``: not asked), or their marker."""
    if row.meds is None:
        return None
    text = row.meds
    return read(lambda: tuple(parse_meds(text) or ()), record_name(row), MEDICATION)


@dataclass(frozen=True)
class Numbers:
    """A session's numbers as its view shows them (one that is not a number left out)."""

    age: int | None
    dose_mg: float | None
    weight_kg: float | None
    dose_number: int | None
    ready_minute: int | None
    ready_minute_proposed: int | None


_WHOLE = ("age", "dose_number", "ready_minute", "ready_minute_proposed")


def numbers_of(row: Any) -> tuple[Numbers, Unreadable | None]:
    """A session's numbers; one of another type (an SQLite file edited by hand: its columns
    take any value) is left out and named (``session 5: numbers unreadable (age ...)``)."""
    values = {name: getattr(row, name) for name in Numbers.__dataclass_fields__}
    odd = [
        k
        for k, v in values.items()
        if v is not None and (type(v) is not int if k in _WHOLE else type(v) not in (int, float))
    ]
    kept = Numbers(**{k: None if k in odd else v for k, v in values.items()})
    if not odd:
        return kept, None
    return kept, Unreadable(record_name(row), NUMBERS, f"{', '.join(odd)} not a number")


def vitals_of(row: Any) -> tuple[Vitals, Unreadable | None]:
    """A reading's values; one that is not a whole number (an SQLite file edited by hand: its
    columns take any value) is left out and named (``reading 7: values unreadable (...)``)."""
    values = {name: getattr(row, name) for name in _MEASURES}
    odd = [k for k, v in values.items() if v is not None and type(v) is not int]
    if not odd:
        return Vitals(**values), None
    kept = {k: None if k in odd else v for k, v in values.items()}
    return Vitals(**kept), Unreadable(
        f"reading {row.id}", VALUES, f"{', '.join(odd)} not a whole number"
    )


def severity_of(value: str, flag_id: int) -> Severity | Unreadable:
    """A stored flag's severity, or its marker (``flag 12: severity unreadable (...)``)."""
    return read(lambda: Severity(value), f"flag {flag_id}", SEVERITY)


def flag_view(
    flag: Any,
    acknowledged_at: datetime | None,
    by: str | None,
    action: str | None,
    cosigned_by: str | None = None,
) -> FlagView:
    """A stored flag as a view; a severity that cannot be read counts as high and carries its
    marker (``flag 12: severity unreadable (...)``)."""
    severity = severity_of(flag.severity, flag.id)
    return FlagView(
        flag.id,
        flag.reading_id,
        flag.measure,
        Severity.HIGH if isinstance(severity, Unreadable) else severity,
        flag.rule,
        flag.message,
        acknowledged_at,
        by,
        action,
        cosigned_by=cosigned_by,
        raised_by=flag.raised_by or "reading",
        raised_at=flag.raised_at,
        config_version=flag.config_version,
        event_id=flag.event_id,
        unreadable=severity if isinstance(severity, Unreadable) else None,
    )
