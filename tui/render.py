"""How values, flags and alarms look: colour plus a symbol count, never colour alone."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from monitor.core.gate import GateItem
from monitor.core.rules import Severity
from monitor.present.parts import SEVERITY_ROLE, Part, Role

#: IEC 60601-1-8: high red, medium yellow (both flashing), low cyan steady.
_STEADY = {Severity.HIGH: "bold red", Severity.MEDIUM: "bold yellow", Severity.LOW: "cyan"}
#: Flashing is the terminal's own blink attribute: it costs the app no repaint, so the loop
#: stays free for the nurse's keys however many alarms are on the floor.
_FLASH = {
    Severity.HIGH: "bold white on red blink",
    Severity.MEDIUM: "bold black on yellow blink",
    Severity.LOW: "cyan",
}
#: The severity a role of the floor's alarm mark stands for.
_ROLE_SEVERITY = {role: severity for severity, role in SEVERITY_ROLE.items()}


def alarm_text(mark: Part, flash: bool) -> Text:
    """The alarm mark: ``!!!`` high, ``!!`` medium (flashing), ``!`` low (steady)."""
    severity = _ROLE_SEVERITY.get(mark.role)
    if severity is None or not mark.text:
        return Text("")
    style = _FLASH[severity] if flash else _STEADY[severity]
    return Text(mark.text, style=style)


#: The floor's cells by role: values in colour plus a cue that survives without colour
#: (reverse video for high, bold underline for medium, underline for low; the row's alarm
#: column carries the symbol count); an overdue check in yellow, ``ready`` in green.
_CELL = {
    Role.HIGH: "bold reverse red",
    Role.MEDIUM: "bold underline yellow",
    Role.LOW: "underline cyan",
    Role.WARN: "bold yellow",
    Role.OK: "bold green",
}


def cell_text(part: Part, text: str | None = None) -> Text:
    """A cell of the floor styled by its role; ``text`` when it is shown shortened."""
    return Text(part.text if text is None else text, style=_CELL.get(part.role, ""))


def padded(cell: str | Text) -> Text:
    """A cell with one leading space: the table's own padding would not fit 80 columns."""
    text = cell if isinstance(cell, Text) else Text(cell)
    return Text(" ") + text


def severity_style(severity: Severity | None) -> str:
    """The steady style of a severity, for messages."""
    return _STEADY[severity] if severity else ""


def truncate(text: str, width: int) -> str:
    """Fit ``text`` in ``width`` cells, marking a cut with an ellipsis."""
    return text if len(text) <= width else text[: width - 1] + "…"


PROTOCOL_SHORT = {
    "esketamine-56": "esk56",
    "esketamine-84": "esk84",
    "ketamine-iv": "k-IV",
    "ketamine-im": "k-IM",
}


def hm(moment: datetime | None) -> str:
    """A moment as local ``HH:MM``, or ``-``."""
    return "-" if moment is None else moment.astimezone().strftime("%H:%M")


#: How the REMS form names the medication classes.
def checklist(items: tuple[GateItem, ...], *, failing_first: bool = False) -> Text:
    """The gate as ticked and unticked lines; a failing one says why it fails."""
    if failing_first:
        items = tuple(sorted(items, key=lambda item: item.ok))
    out = Text()
    for item in items:
        if item.ok:
            out.append(f"[x] {item.label}\n", style="green")
        else:
            out.append(f"[ ] {item.detail or item.label}\n", style="bold red")
    out.rstrip()
    return out
