"""What a reading just saved did to the schedule, told once (docs/clinical.md, "Check windows
and statuses"): the lines ``monitor record`` and the station's entry print after a save.

Apart from :mod:`monitor.present.record` (the session's whole story, which gives it too), so
that saving a reading imports this small module and not the story's (issue #23).
"""

from __future__ import annotations

from monitor.core.schedule import CheckState, CheckStatus, status_text
from monitor.core.served import Served
from monitor.present.parts import Line, Part, Role


def _served_part(check: CheckState) -> Part:
    if check.status is CheckStatus.DONE:
        return Part(f"{check.label} (done{' late' if check.late else ''})", Role.OK)
    missing = " ".join(m.value for m in check.missing)
    return Part(f"{check.label} (still needs {missing})", Role.STRONG)


def served_lines(served: Served) -> tuple[Line, ...]:
    """What a reading just saved did to the schedule (docs/clinical.md, "Check windows and
    statuses"): ``served +40 min (done late)``, or ``served no scheduled check``; then the
    checks due before it that remain not done, each with its status, so that an alarm that
    stays is never a surprise: ``not done: +15 min (missed), +30 min (overdue)``."""
    if served.checks:
        parts: list[Part] = [Part("served ")]
        for index, check in enumerate(served.checks):
            parts += [Part(", ")] if index else []
            parts.append(_served_part(check))
        lines: list[Line] = [tuple(parts)]
    else:
        lines = [(Part("served no scheduled check", Role.NOTE),)]
    if served.not_done:
        left: list[Part] = [Part("not done: ", Role.WARN)]
        for index, check in enumerate(served.not_done):
            left += [Part(", ")] if index else []
            role = Role.ALERT if check.is_alarm else Role.PLAIN
            left.append(Part(f"{check.label} ({status_text(check)})", role))
        lines.append(tuple(left))
    return tuple(lines)
