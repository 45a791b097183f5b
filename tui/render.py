"""How values, flags and alarms look: colour plus a symbol count, never colour alone."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from monitor.core.gate import GateItem
from monitor.core.rules import Severity

#: IEC 60601-1-8: high red, medium yellow (both flashing), low cyan steady.
_STEADY = {Severity.HIGH: "bold red", Severity.MEDIUM: "bold yellow", Severity.LOW: "cyan"}
#: Flashing is the terminal's own blink attribute: it costs the app no repaint, so the loop
#: stays free for the nurse's keys however many alarms are on the floor.
_FLASH = {
    Severity.HIGH: "bold white on red blink",
    Severity.MEDIUM: "bold black on yellow blink",
    Severity.LOW: "cyan",
}


def alarm_text(severity: Severity | None, flash: bool) -> Text:
    """The alarm marker: ``!!!`` high, ``!!`` medium (flashing), ``!`` low (steady)."""
    if severity is None:
        return Text("")
    style = _FLASH[severity] if flash else _STEADY[severity]
    return Text(severity.symbol, style=style)


#: Values on the floor: colour plus a cue that survives without colour (reverse video for
#: high, bold underline for medium, underline for low); the row's alarm column carries the
#: symbol count.
_VALUE = {
    Severity.HIGH: "bold reverse red",
    Severity.MEDIUM: "bold underline yellow",
    Severity.LOW: "underline cyan",
}


def value_text(text: str, severity: Severity | None) -> Text:
    """A latest value styled by the worst flag it carried."""
    return Text(text, style=_VALUE[severity] if severity else "")


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
MED_LABELS = {
    "benzodiazepines": "benzodiazepines",
    "sedative-hypnotics": "non-benzodiazepine sedative hypnotics",
    "psychostimulants": "psychostimulants",
    "maois": "MAOIs",
}


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
