"""How values, flags and alarms look: colour plus a symbol count, never colour alone."""

from __future__ import annotations

from rich.text import Text

from monitor.core.rules import Severity

#: IEC 60601-1-8: high red, medium yellow (both flashing), low cyan steady.
_STEADY = {Severity.HIGH: "bold red", Severity.MEDIUM: "bold yellow", Severity.LOW: "cyan"}
_FLASH = {
    Severity.HIGH: "bold white on red",
    Severity.MEDIUM: "bold black on yellow",
    Severity.LOW: "cyan",
}


def alarm_text(severity: Severity | None, flash_on: bool) -> Text:
    """The alarm marker: ``!!!`` high, ``!!`` medium, ``!`` low."""
    if severity is None:
        return Text("")
    style = _FLASH[severity] if flash_on else _STEADY[severity]
    return Text(severity.symbol, style=style)


def value_text(text: str, severity: Severity | None) -> Text:
    """A value coloured by its flag; a flagged value also gets its symbol count."""
    if severity is None:
        return Text(text)
    return Text(f"{text}{severity.symbol}", style=_STEADY[severity])


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
