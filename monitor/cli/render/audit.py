"""The audit trail's rows as ``monitor audit`` prints them (docs/interface.md): JSON Lines
with before/after whole, or the line of text :mod:`monitor.present.audit` tells (only the
fields that changed)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from monitor.cli.output import printable
from monitor.present.audit import audit_story, parsed, text_line, unreadable
from monitor.present.parts import plain

if TYPE_CHECKING:
    from monitor.views import AuditView


def audit_json(a: AuditView) -> str:
    """One row as a line of JSON (JSON Lines), before/after whole (an empty value as null)."""
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
                "before": parsed(a.before or None),
                "after": parsed(a.after or None),
                "reason": a.reason,
                "unreadable": list(unreadable(a)),
            }
        )
        + "\n"
    )


def audit_text(a: AuditView) -> str:
    """One row as one printable line: when, who, what, what changed, why."""
    return printable(plain(text_line(audit_story(a)))) + "\n"
