"""A list of choices ticked with Space, where Enter saves the dialog (a reusable widget)."""

from __future__ import annotations

from rich.segment import Segment
from textual.binding import Binding
from textual.message import Message
from textual.strip import Strip
from textual.widgets import SelectionList


class Ticks(SelectionList[str]):
    """A list of choices ticked with Space; Enter saves the dialog instead of ticking."""

    BINDINGS = [Binding("enter", "submit", "Save", show=False, id="ticks_submit")]

    class Submitted(Message):
        """Enter was pressed in the list."""

    def action_submit(self) -> None:
        self.post_message(self.Submitted())

    def render_line(self, y: int) -> Strip:
        """Textual draws ``X`` in ticked and unticked boxes alike (colour tells them apart):
        an unticked box here is empty, so the difference survives without colour."""
        strip = super().render_line(y)
        segments = list(strip)
        index = self.scroll_offset.y + y
        if len(segments) < 4 or index >= self.option_count:
            return strip
        if self.get_option_at_index(index).value not in self.selected:
            box = segments[1]
            segments[1] = Segment(" " * len(box.text), box.style, box.control)
        return Strip(segments, strip.cell_length)
