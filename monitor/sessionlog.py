"""Moved to :mod:`monitor.present.session`; this name stays only while ``tui/review.py`` and
the station's tests import it (issue #18, step 2 removes it)."""

from monitor.present.parts import Line, Part, Role
from monitor.present.session import EntryKind, LogEntry, clock_text, session_log

__all__ = ["EntryKind", "Line", "LogEntry", "Part", "Role", "clock_text", "session_log"]
