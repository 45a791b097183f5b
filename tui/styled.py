"""The stories' lines as Rich text: each :class:`~monitor.present.parts.Role` its style.

The stories (monitor/present/) word every line once; the station only styles and lays them
out. Colour is never the only cue: the words say it too (docs/station.md)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from rich.text import Text

from monitor.present.parts import Line, Part, Role, Row

#: How each role looks on the station.
ROLE_STYLE: Mapping[Role, str] = {
    Role.PLAIN: "",
    Role.HEADING: "bold",
    Role.STRONG: "bold",
    Role.STRUCK: "strike",
    Role.HIGH: "bold red",
    Role.MEDIUM: "bold yellow",
    Role.LOW: "cyan",
    Role.OK: "green",
    Role.WARN: "bold yellow",
    Role.ALERT: "bold red",
    Role.NOTE: "italic",
}
#: The same, quieter, where a warning or a note is said beside the main fact (a REMS answer's
#: source, the forms' missing items).
QUIET_STYLE: Mapping[Role, str] = {**ROLE_STYLE, Role.WARN: "yellow", Role.NOTE: "dim"}
#: Struck readings also dimmed, where they stand among the readings in force (the detail).
DETAIL_STYLE: Mapping[Role, str] = {**ROLE_STYLE, Role.STRUCK: "strike dim"}
#: Words alone, where a grid of figures is read plain (the quality summary).
PLAIN_STYLE: Mapping[Role, str] = dict.fromkeys(Role, "")


def part_text(part: Part, styles: Mapping[Role, str] = ROLE_STYLE) -> Text:
    """One piece in its role's style."""
    return Text(part.text, style=styles[part.role])


def line_text(
    line: Line, into: Text | None = None, styles: Mapping[Role, str] = ROLE_STYLE
) -> Text:
    """A line's pieces, each in its role's style (appended to ``into`` when given)."""
    text = Text() if into is None else into
    for part in line:
        text.append(part.text, style=styles[part.role])
    return text


def lines_text(lines: Iterable[Line], styles: Mapping[Role, str] = ROLE_STYLE) -> Text:
    """Lines one under the other."""
    text = Text()
    for index, line in enumerate(lines):
        if index:
            text.append("\n")
        line_text(line, text, styles)
    return text


def row_text(row: Row, styles: Mapping[Role, str] = ROLE_STYLE) -> Text:
    """A row's value with its notes under it (the label is laid out beside it)."""
    return lines_text((row.value, *row.notes), styles)
