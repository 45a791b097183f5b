"""The footer of a screen: its keys, shown only while that screen is the one in front.

Textual's footer lists the keys of its own screen. A dialog pushed over a screen left that
screen's footer showing under it (the floor's `⏎ Open  q Quit` under every dialog and the
sign-in), though none of those keys apply there: this footer hides itself while another screen
is in front, keeping its line so that nothing behind moves.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class ScreenFooter(Footer):
    """A compact footer without the command palette's key, shown only while its screen is
    the active one."""

    def __init__(self) -> None:
        super().__init__(show_command_palette=False, compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.app.screen_change_signal.subscribe(self, self._screen_changed)

    def on_unmount(self) -> None:
        self.app.screen_change_signal.unsubscribe(self)
        super().on_unmount()

    def _screen_changed(self, active: Screen[object]) -> None:
        self.visible = active is self.screen
