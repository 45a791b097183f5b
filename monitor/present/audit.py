"""One audit row told: who wrote it, when, what it changed and why (docs/interface.md,
``monitor audit``; docs/storage.md, the audit trail).

Who: the user, :data:`DATABASE_USER` for a row the database's own triggers wrote (their
``db.*`` actions carry no user) or :data:`NO_USER` for another row without one (a refused
sign-in). What changed: of a row that holds a whole record before and after (a trigger's copy
of the session row), only the fields that differ; a new row's fields; a note or adverse event
as the nurse said it. Stored times are shown in local time, with the day when it is another
day than the row's.

:func:`audit_story` composes the row once; :func:`text_line` is the command line's line,
:func:`summary_line`, :func:`detail_lines` and :func:`full_lines` the station's table cell,
panel and whole-row view.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from monitor.core.entry import format_entry
from monitor.core.vitals import Vitals
from monitor.present.parts import Line, Part, Role, local_minute, when
from monitor.unreadable import Unreadable, read
from monitor.views import AuditView

#: How a row the database's own triggers wrote is signed (it has no user).
DATABASE_USER = "(database)"
#: ... and another row without a user (a refused sign-in, the demo's creation).
NO_USER = "(no user)"

_VITALS = frozenset(Vitals.__dataclass_fields__)
_MOMENT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?")


@dataclass(frozen=True)
class AuditStory:
    """One audit row as people read it."""

    id: int
    at: datetime
    #: The user, :data:`DATABASE_USER` or :data:`NO_USER` (those two with the role NOTE).
    who: Part
    action: str
    session_id: int | None
    #: ``session 3, reading 12``; empty when the row is about no session or entity.
    where: str
    #: What changed, on one line (:func:`change_text`).
    change: str
    reason: str | None
    #: Before and after as JSON, only the fields that changed when both are records.
    before: str | None
    after: str | None
    #: Every field stored before and after, a line each.
    fields_before: tuple[Line, ...]
    fields_after: tuple[Line, ...]
    #: Before or after stored as something else than JSON, named (its text is shown as it
    #: is): docs/storage.md, "Unreadable records".
    unreadable: tuple[str, ...] = ()


def who(row: AuditView) -> str:
    """Who wrote the row: a user, the database itself (its triggers' ``db.*`` rows), or
    nobody signed in (a refused PIN)."""
    if row.user is not None:
        return row.user
    return DATABASE_USER if row.action.startswith("db.") else NO_USER


def where(row: AuditView) -> str:
    """The session and the entity the row is about: ``session 3, reading 12``."""
    said = [f"session {row.session_id}"] if row.session_id is not None else []
    if row.entity not in ("session", "") and row.entity_id is not None:
        said.append(f"{row.entity} {row.entity_id}")
    return ", ".join(said)


def changed_only(before: str | None, after: str | None) -> tuple[str | None, str | None]:
    """Before and after as JSON; when both are objects, only the fields that changed (a
    trigger's row copies the whole session row: the change was lost in it). The JSON output
    keeps them whole."""
    try:
        old, new = json.loads(before or "null"), json.loads(after or "null")
    except ValueError:
        return before, after
    if isinstance(old, dict) and isinstance(new, dict):
        keys = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
        old = {k: old[k] for k in keys if k in old}
        new = {k: new[k] for k in keys if k in new}
    shown = [
        None if stored is None else json.dumps(value, ensure_ascii=False, sort_keys=True)
        for stored, value in ((before, old), (after, new))
    ]
    return shown[0], shown[1]


def parsed(stored: str | None) -> Any:
    """A stored before/after value as JSON data (kept as text if it is not JSON)."""
    if stored is None:
        return None
    try:
        return json.loads(stored)
    except ValueError:
        return stored


def unreadable(row: AuditView) -> tuple[str, ...]:
    """Before and after of ``row`` that are not JSON (every row keeps JSON there), named:
    ``audit row 40: after unreadable (not JSON)``."""

    def marker(label: str, stored: str) -> Unreadable | None:
        found = read(lambda: json.loads(stored), f"audit row {row.id}", label)
        return found if isinstance(found, Unreadable) else None

    found = (marker(k, v) for k, v in (("before", row.before), ("after", row.after)) if v)
    return tuple(str(u) for u in found if u is not None)


def _moment(text: str) -> datetime | None:
    if not _MOMENT.match(text):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    # The database's triggers on SQLite write UTC without an offset.
    moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    try:
        moment.astimezone()
    except OverflowError:  # typed text like 0001-01-01T00:00+01:00: no local time, shown as typed
        return None
    return moment


def shown(value: Any, day: date) -> str:
    """A stored value as people read it: times local (with the day when it is another day
    than ``day``), yes/no, lists joined, nothing as ``-``."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ", ".join(shown(v, day) for v in value) or "none"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, str) and value[:1] == "{":
        # A JSON document kept as text (the gate stored at discharge): its verdict on the
        # line, the whole of it in the row's full view.
        document = parsed(value)
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
        parts.append(f"{name} {shown(value, day)}")
    return "; ".join(p for p in parts if p)


def _diff(before: dict[str, Any], after: dict[str, Any], day: date) -> str:
    parts, context = [], []
    for key in dict.fromkeys([*before, *after]):
        old, new = before.get(key), after.get(key)
        name = key.replace("_", " ")
        if key not in after:
            # Said for the record beside the change (a correction's proposal).
            context.append(f"{name} {shown(old, day)}")
        elif key not in before:
            parts.append(f"{name} {shown(new, day)}")
        elif old != new:
            parts.append(f"{name} {shown(old, day)} → {shown(new, day)}")
    said = "; ".join(parts)
    if context:
        said = f"{said} ({'; '.join(context)})".strip()
    vitals = {k: v for k, v in before.items() if k in _VITALS and isinstance(v, int)}
    if vitals and not any(k in _VITALS for k in after):
        # A void: the reading as it was, then what became of it.
        kept = {k: v for k, v in after.items() if k not in _VITALS}
        return f"{format_entry(Vitals(**vitals))} → {_fields(kept, day)}"
    return said or "no change"


def change_text(row: AuditView) -> str:
    """What the row changed, on one line: ``name before → after`` for each field that differs
    (unchanged fields of a trigger's row left out), a new row's fields, times in local time."""
    day = row.at.astimezone().date()
    before, after = parsed(row.before), parsed(row.after)
    if isinstance(before, dict) and isinstance(after, dict):
        return _diff(before, after, day)
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


def _field_lines(stored: str | None, day: date) -> tuple[Line, ...]:
    data = parsed(stored)
    if not isinstance(data, dict):
        return () if data is None else ((Part(f"  {data}"),),)
    lines: list[Line] = []
    for key, value in data.items():
        if isinstance(value, str) and value[:1] == "{":
            value = parsed(value)  # a JSON document kept as text (the stored gate): all of it
        lines.append((Part(f"  {key.replace('_', ' ')}: {shown(value, day)}"),))
    return tuple(lines)


def audit_story(row: AuditView) -> AuditStory:
    """``row`` told once."""
    day = row.at.astimezone().date()
    before, after = changed_only(row.before, row.after)
    return AuditStory(
        id=row.id,
        at=row.at,
        who=Part(who(row), Role.PLAIN if row.user is not None else Role.NOTE),
        action=row.action,
        session_id=row.session_id,
        where=where(row),
        change=change_text(row),
        reason=row.reason,
        before=before,
        after=after,
        fields_before=_field_lines(row.before, day),
        fields_after=_field_lines(row.after, day),
        unreadable=unreadable(row),
    )


def text_line(story: AuditStory) -> Line:
    """The command line's line (``monitor audit``): local time to the minute, who, the
    action, where, before and after (only what changed) as JSON, the reason."""
    line: list[Part] = [
        Part(f"{local_minute(story.at)}  "),
        story.who,
        Part(f"  {story.action}  {story.where}"),
    ]
    if story.before:
        line.append(Part(f"  before {story.before}"))
    if story.after:
        line.append(Part(f"  after {story.after}"))
    if story.reason:
        line.append(Part(f"  reason: {story.reason}", Role.NOTE))
    line += [Part(f"  UNREADABLE: {marker}", Role.ALERT) for marker in story.unreadable]
    return tuple(line)


def summary_line(story: AuditStory) -> Line:
    """What changed and why, for a table's cell: ``dosed at - → 09:00 · reason: ...``."""
    if story.reason:
        return (Part(story.change), Part(f" · reason: {story.reason}", Role.NOTE))
    return (Part(story.change),)


def detail_lines(story: AuditStory) -> tuple[Line, ...]:
    """The row in short, for a panel: ``#id`` and the moment to the second, who and the
    action, where; what changed; the reason."""
    head: Line = (
        Part(f"#{story.id} {when(story.at, seconds=True)}  ", Role.STRONG),
        Part(f"{story.who.text}  {story.action}", Role.STRONG),
        *((Part(f"  {story.where}"),) if story.where else ()),
    )
    lines: list[Line] = [head, (Part(story.change),)]
    if story.reason:
        lines.append((Part("reason: ", Role.STRONG), Part(story.reason)))
    lines += [(Part(f"UNREADABLE: {marker}", Role.ALERT),) for marker in story.unreadable]
    return tuple(lines)


def full_lines(story: AuditStory) -> tuple[Line, ...]:
    """The row with everything it holds: :func:`detail_lines`, then every field before and
    after (a trigger's row lists every column it watches)."""
    lines = list(detail_lines(story))
    for label, stored, fields in (
        ("before", story.before, story.fields_before),
        ("after", story.after, story.fields_after),
    ):
        if stored is not None:
            lines.append((Part(f"{label}:", Role.STRONG),))
            lines.extend(fields)
    return tuple(lines)
