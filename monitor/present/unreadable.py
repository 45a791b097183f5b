"""Stored values that could not be read, told (docs/storage.md, "Unreadable records"): every
face names them where the value would be, and lists them with the session."""

from __future__ import annotations

from monitor.present.parts import Line, Part, Role
from monitor.views import SessionView


def unreadable_lines(view: SessionView) -> tuple[Line, ...]:
    """Each stored value of the session that could not be read:
    ``UNREADABLE: session 5: stored gate unreadable (no 'protocol')``."""
    return tuple((Part("UNREADABLE", Role.ALERT), Part(f": {u}")) for u in view.unreadable)


def marked(view: SessionView, part: str, text: str) -> str:
    """``text``, or ``UNREADABLE (why)`` when ``part`` of the session could not be read."""
    marker = view.unreadable_part(part)
    return text if marker is None else f"UNREADABLE ({marker.why})"
