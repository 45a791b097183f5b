"""The audit trail's rows as ``monitor audit`` prints them: JSON Lines, or one line of text
each with only the fields that changed (docs/interface.md)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from monitor.cli.output import local, printable

if TYPE_CHECKING:
    from monitor.views import AuditView


def _stored_json(stored: str | None) -> Any:
    """A stored before/after value as JSON data (kept as text if it is not JSON)."""
    if not stored:
        return None
    try:
        return json.loads(stored)
    except ValueError:
        return stored


def audit_json(a: AuditView) -> str:
    """One row as a line of JSON (JSON Lines), before/after whole."""
    return (
        json.dumps(
            {
                "id": a.id,
                "at": a.at.isoformat(),
                "user": a.user,
                "action": a.action,
                "session_id": a.session_id,
                "entity": a.entity,
                "entity_id": a.entity_id,
                "before": _stored_json(a.before),
                "after": _stored_json(a.after),
                "reason": a.reason,
            }
        )
        + "\n"
    )


def audit_text(a: AuditView) -> str:
    """One row as one printable line: who, when, what, what changed, why."""
    where = f"session {a.session_id}" if a.session_id else ""
    if a.entity != "session":
        where = f"{where} {a.entity} {a.entity_id}".strip()
    # A row the database's own trigger wrote (a set-once column changed) names no user.
    line = f"{local(a.at)}  {a.user or '(database)'}  {a.action}  {where}"
    before, after = _changed_only(a.before, a.after)
    if before:
        line += f"  before {before}"
    if after:
        line += f"  after {after}"
    if a.reason:
        line += f"  reason: {a.reason}"
    return printable(line) + "\n"


def _changed_only(before: str | None, after: str | None) -> tuple[str | None, str | None]:
    """Before and after as people read them; when both are objects, only the fields that
    changed (a trigger's row copies the whole session row: the change was lost in it).
    ``--json`` keeps them whole."""
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
