"""The footer of a screen: its keys, shown only while that screen is the one in front.

Textual's footer lists the keys of its own screen. A dialog pushed over a screen left that
screen's footer showing under it (the floor's `⏎ Open  q Quit` under every dialog and the
sign-in), though none of those keys apply there: this footer hides itself while another screen
is in front, keeping its line so that nothing behind moves.

At 80 columns the floor's footer holds ten keys. A key listed for some users only
(:func:`listed_for_some`) is bound twice: the listed binding, which the app's ``check_action``
hides (Textual: ``False`` hides a binding) where :func:`lists` says so, and an unlisted twin,
so the key works for everyone; ``?`` lists every key.

Textual's footer mounts its keys again whenever the screen's bindings may have changed (every
move of the focus), and each key then restyles itself once more to become compact. This one
mounts them again only when what it would show has changed, and makes each key compact before
it is styled: the same keys, and the station tests' CPU down by a sixth (147 s to 124 s;
docs/benchmarks.md). ``FooterKey`` is Textual's own (not exported: its module is named here).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator

from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

__all__ = ["LISTED", "ScreenFooter", "listed_for_some", "lists"]

#: The parameter of the binding a footer lists (its twin does the same, unlisted).
LISTED = "listed"
#: The floor keys a footer lists only for a supervisor (review mode), and those it lists only
#: for everyone else: a supervisor's `v Review` takes the place of `i IV end`, recorded once
#: per IV session by the nurse who ran it (the key works, and `?` lists it).
SUPERVISORS_ONLY = frozenset({"review"})
NOT_FOR_SUPERVISORS = frozenset({"infusion_end"})


def listed_for_some(key: str, action: str, description: str, id: str) -> list[Binding]:
    """``key`` listed in the footer where :func:`lists` says so, and working everywhere."""
    return [
        Binding(key, f"{action}('{LISTED}')", description, id=id),
        Binding(key, action, description, show=False, id=f"{id}_unlisted"),
    ]


def lists(action: str, role: str | None) -> bool:
    """Whether the floor's footer lists ``action``'s key for a user of ``role``."""
    if role == "supervisor":
        return action not in NOT_FOR_SUPERVISORS
    return action not in SUPERVISORS_ONLY


class ScreenFooter(Footer):
    """A compact footer without the command palette's key, shown only while its screen is
    the active one."""

    def __init__(self) -> None:
        super().__init__(show_command_palette=False, compact=True)
        #: What the keys on show, or about to be, were made from (:meth:`_shown`).
        self._composed: tuple[Hashable, ...] | None = None

    def compose(self) -> Iterator[Widget]:
        self._composed = self._shown(self.screen) if self._bindings_ready else None
        for widget in super().compose():
            if isinstance(widget, FooterKey) and self.compact:
                # Textual's key adds the class when mounted, and restyles itself again then.
                widget.add_class("-compact", update=False)
            yield widget

    def bindings_changed(self, screen: Screen[object]) -> None:
        shown = self._shown(screen)
        if self._bindings_ready and shown == self._composed:
            return  # the same keys, enabled alike, shown or about to be: nothing to mount
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            self._composed = shown  # Textual's footer mounts them after the next refresh
        super().bindings_changed(screen)

    def _shown(self, screen: Screen[object]) -> tuple[Hashable, ...]:
        """What Textual's footer shows of ``screen``'s bindings: each listed key, its text,
        group, action, whether it is enabled and its tooltip."""
        return tuple(
            (
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                binding.group,
                enabled,
                tooltip,
            )
            for (_, binding, enabled, tooltip) in screen.active_bindings.values()
            if binding.show
        )

    def on_mount(self) -> None:
        super().on_mount()
        self.app.screen_change_signal.subscribe(self, self._screen_changed)

    def on_unmount(self) -> None:
        self.app.screen_change_signal.unsubscribe(self)
        self._composed = None
        super().on_unmount()

    def _screen_changed(self, active: Screen[object]) -> None:
        self.visible = active is self.screen
