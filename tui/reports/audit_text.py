"""The audit trail in words: what changed in a row, who changed it, the row in full.

Formatting only (the presentation layer, monitor/present/, will tell this story once)."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from typing import Any

from rich.text import Text

from monitor.core.entry import format_entry
from monitor.core.vitals import Vitals
from monitor.views import AuditView
from tui.reports.periods import when

#: How the trail names a row the database's own triggers wrote (it has no user).
DATABASE_USER = "(database)"
#: ... and another row without a user (a refused sign-in, the demo's creation).
NO_USER = "(no user)"
#: Actions and groups the action filter suggests as one types (any other action also works).
KNOWN_ACTIONS = (
    "auth",
    "auth.refused",
    "check",
    "check.skip",
    "db",
    "db.session.update",
    "db.user.update",
    "event",
    "event.adverse",
    "event.intervention",
    "event.note",
    "flag",
    "flag.acknowledge",
    "reading",
    "reading.amend",
    "reading.record",
    "reading.void",
    "rems",
    "rems.correct",
    "rems.submit",
    "session",
    "session.discharge",
    "session.dose",
    "session.infusion_end",
    "session.reopen",
    "session.sign",
    "session.start",
    "user",
    "user.add",
    "user.disable",
    "user.set_pin",
    "user.unlock",
)


_VITALS = frozenset(f for f in Vitals.__dataclass_fields__)
_MOMENT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?")


def _moment(text: str) -> datetime | None:
    if not _MOMENT.match(text):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    # The database's triggers on SQLite write UTC without an offset.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _shown(value: Any, day: date) -> str:
    """A stored value as people read it: times local (with the day when it is another day),
    yes/no, lists joined, nothing as ``-``."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ", ".join(_shown(v, day) for v in value) or "none"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, str) and value[:1] == "{":
        # A JSON document kept as text (the gate stored at discharge): its verdict on the
        # line, the whole of it in the row's full view.
        document = _parsed(value)
        if isinstance(document, dict) and isinstance(document.get("ready"), bool):
            return "ready" if document["ready"] else "not ready"
        return "{…}"
    if isinstance(value, str):
        moment = _moment(value)
        if moment is not None:
            local = moment.astimezone()
            return f"{local:%H:%M}" if local.date() == day else f"{local:%d %b %H:%M}"
        return value
    return str(value)


def _fields(data: dict[str, Any], day: date) -> str:
    """A row's fields: a reading's values as its quick-entry line, the rest ``name value``."""
    vitals = {k: v for k, v in data.items() if k in _VITALS and isinstance(v, int)}
    parts = [format_entry(Vitals(**vitals))] if vitals else []
    for key, value in data.items():
        if key in _VITALS or value is None:
            continue
        name = "measured" if key == "measured_at" else key.replace("_", " ")
        parts.append(f"{name} {_shown(value, day)}")
    return "; ".join(p for p in parts if p)


def _parsed(stored: str | None) -> Any:
    if stored is None:
        return None
    try:
        return json.loads(stored)
    except ValueError:
        return stored


def describe_change(row: AuditView) -> str:
    """What the row changed, on one line: ``name before → after`` for each field that differs
    (unchanged fields of a trigger's row left out), a new row's fields, times in local time."""
    day = row.at.astimezone().date()
    before, after = _parsed(row.before), _parsed(row.after)
    if isinstance(before, dict) and isinstance(after, dict):
        parts, context = [], []
        for key in dict.fromkeys([*before, *after]):
            old, new = before.get(key), after.get(key)
            name = key.replace("_", " ")
            if key not in after:
                # Said for the record beside the change (a correction's proposal).
                context.append(f"{name} {_shown(old, day)}")
            elif key not in before:
                parts.append(f"{name} {_shown(new, day)}")
            elif old != new:
                parts.append(f"{name} {_shown(old, day)} → {_shown(new, day)}")
        said = "; ".join(parts)
        if context:
            said = f"{said} ({'; '.join(context)})".strip()
        vitals = {k: v for k, v in before.items() if k in _VITALS and isinstance(v, int)}
        if vitals and not any(k in _VITALS for k in after):
            # A void: the reading as it was, then what became of it.
            kept = {k: v for k, v in after.items() if k not in _VITALS}
            return f"{format_entry(Vitals(**vitals))} → {_fields(kept, day)}"
        return said or "no change"
    if isinstance(after, dict) and {"kind", "text"} <= after.keys():
        # A note, adverse event or intervention: as the nurse said it.
        words = [str(after[k]) for k in ("type", "severity") if after.get(k)]
        if after.get("serious"):
            words.append("SERIOUS")
        head = " ".join([str(after["kind"]), *words])
        return f"{head}: {after['text']}"
    if isinstance(after, dict) and {"action", "message"} <= after.keys():
        # An acknowledgement: the flag, then what was done.
        return f"{after['message']} → {after['action']}"
    if isinstance(after, dict):
        return _fields(after, day)
    if isinstance(before, dict):
        return f"was {_fields(before, day)}"
    return " → ".join(str(v) for v in (before, after) if v is not None)


def audit_user(row: AuditView) -> str:
    """Who wrote the row: a user, the database itself (its triggers' ``db.*`` rows), or
    nobody signed in (a refused PIN)."""
    if row.user is not None:
        return row.user
    return DATABASE_USER if row.action.startswith("db.") else NO_USER


def audit_detail(row: AuditView) -> Text:
    """The selected row in full, for the panel under the table."""
    text = Text()
    text.append(f"#{row.id} {when(row.at, seconds=True)}  ", style="bold")
    text.append(f"{audit_user(row)}  {row.action}", style="bold")
    where = [f"session {row.session_id}"] if row.session_id is not None else []
    if row.entity not in ("session", "") and row.entity_id is not None:
        where.append(f"{row.entity} {row.entity_id}")
    if where:
        text.append("  " + ", ".join(where))
    text.append(f"\n{describe_change(row)}")
    if row.reason:
        text.append("\nreason: ", style="bold")
        text.append(row.reason)
    return text


def _field_lines(stored: str | None, day: date) -> str:
    data = _parsed(stored)
    if not isinstance(data, dict):
        return "" if data is None else f"  {data}"
    lines = []
    for key, value in data.items():
        if isinstance(value, str) and value[:1] == "{":
            value = _parsed(value)  # a JSON document kept as text (the stored gate): all of it
        lines.append(f"  {key.replace('_', ' ')}: {_shown(value, day)}")
    return "\n".join(lines)


def audit_full(row: AuditView) -> Text:
    """One audit row with everything it holds: every field before and after."""
    day = row.at.astimezone().date()
    text = audit_detail(row)
    for label, stored in (("before", row.before), ("after", row.after)):
        if stored is not None:
            text.append(f"\n{label}:\n", style="bold")
            text.append(_field_lines(stored, day))
    return text
