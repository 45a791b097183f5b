"""Keys in the order typed, across a change of focus.

Textual hands each key to the widget that has the focus when the app reads it, through that
widget's own queue of messages and then its parents'. When the focus moves while keys typed
before are still on their way (``e`` and a note typed in one burst: the note's letters go to
the floor's table, and from there to the event dialog that ``e`` opened), a key typed a moment
later went straight to the new field and overtook them: the Enter typed 15 ms after
``ept comfortable`` reached the dialog before the note did, was refused ("say what happened"),
and the note then arrived and cleared the refusal: nothing was saved, nothing said why.

:class:`KeysInOrder` keeps them in order: when the focus has moved since the last key, the new
key waits while a :class:`KeyBarrier` goes the way the keys before it went (the old widget,
its parents, then the screen in front, where a dialog hands keys typed early to its field);
once the barrier is back at the app, every key before it has arrived, and the keys that
waited go on to where the focus is now.

A screen that opens only once a worker is done (the discharge loads its session first) is
waited for the same way (:meth:`KeysInOrder.keys_for_coming_screen`): ``x`` and ``sister``
typed at once gave the letters to the floor, where ``s``, ``i``, ``e`` and ``r`` are keys.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import events
from textual.message import Message
from textual.message_pump import MessagePump
from textual.worker import Worker

if TYPE_CHECKING:
    from textual.app import App

__all__ = ["KeyBarrier", "KeysInOrder"]

#: How long keys may wait for a barrier that never comes back (its widget was removed on the
#: way): a safety net, never reached when the barrier returns.
GIVE_UP_SECONDS = 0.5
#: How long keys wait for a screen that a worker opens and that never comes (the worker never
#: ended): they are then dropped, and the keys typed since go where the focus is.
COMING_GIVE_UP_SECONDS = 10.0


class KeyBarrier(Message):
    """Goes behind the keys still on their way to where the focus was."""

    def __init__(self, number: int, through_screen: bool) -> None:
        super().__init__()
        #: Which hold this barrier ends (a late one from a given-up hold ends nothing).
        self.number = number
        #: Whether it still has to pass through the screen in front.
        self.through_screen = through_screen


class KeysInOrder:
    """An app mixin (before ``App`` in the bases): keys reach their widgets in the order typed,
    even when the focus moves while earlier keys are on their way."""

    _held: list[events.Key] | None = None
    _last_target: MessagePump | None = None
    _hold_number = 0
    #: Keys typed for a screen on its way (None: none is coming).
    _stashed: list[events.Key] | None = None
    _coming = 0
    _coming_worker: Worker[Any] | None = None

    def keys_for_coming_screen(self, worker: Worker[Any]) -> None:
        """A screen opens once ``worker`` is done: the keys typed until then are kept for it,
        none reaches the screen below; once the worker is done they go to the screen in
        front (the app pushes it on the worker's success, before this mixin hears of it)."""
        app: App[object] = self  # type: ignore[assignment]
        self._coming_worker = worker
        if self._stashed is None:
            self._stashed = []
            self._coming += 1
            coming = self._coming
            app.set_timer(COMING_GIVE_UP_SECONDS, lambda: self._gave_up(coming))
        if self._held is None:
            self._hold_number += 1
            self._held = []

    def keys_to_screen(self) -> None:
        """The screen is there (or will not come): the keys kept go to it in their order, a
        dialog's as typed early (``early_key``); none when it did not come."""
        app: App[object] = self  # type: ignore[assignment]
        stashed, self._stashed = self._stashed, None
        if stashed is None:
            return
        self._coming += 1
        early_key = getattr(app.screen, "early_key", None)
        if early_key is not None:
            for key in stashed:
                early_key(events.Key(key.key, key.character))
        # Keys still on their way to the screen below follow (they reach the app, which hands
        # them to the dialog); the keys typed since wait for them.
        last, held = self._last_target, self._held
        if held is not None and not held:
            self._held = None
        elif held is not None and not (last is not None and self._barrier(last)):
            app.call_later(self._release, self._hold_number)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is self._coming_worker and event.worker.is_finished:
            self._coming_worker = None
            self.keys_to_screen()

    def _gave_up(self, coming: int) -> None:
        if coming == self._coming:
            self.keys_to_screen()

    async def on_key(self, event: events.Key) -> None:
        if self._stashed is not None:  # typed for the screen on its way
            event.stop()
            event.prevent_default()
            self._stashed.append(event)

    async def on_event(self, event: events.Event) -> None:
        app: App[object] = self  # type: ignore[assignment]
        if isinstance(event, events.Key) and not event.is_forwarded:
            if self._held is not None:
                self._held.append(event)  # a barrier is out: behind the keys before it
                return
            target = app.focused or app.screen
            last, self._last_target = self._last_target, target
            if last is not None and last is not target and self._hold_behind(last, event):
                return
        await super().on_event(event)  # type: ignore[misc]

    def _hold_behind(self, last: MessagePump, event: events.Key) -> bool:
        """Send a barrier after the keys sent to ``last``; ``event`` waits for it. False when
        ``last`` takes no more messages (its keys went with it)."""
        self._hold_number += 1
        if not self._barrier(last):
            return False
        self._held = [event]
        return True

    def _barrier(self, last: MessagePump) -> bool:
        """Send the barrier of the current hold after the keys sent to ``last``."""
        app: App[object] = self  # type: ignore[assignment]
        number = self._hold_number
        if not last.post_message(KeyBarrier(number, through_screen=True)):
            return False
        app.set_timer(GIVE_UP_SECONDS, lambda: self._release(number))
        return True

    async def on_key_barrier(self, message: KeyBarrier) -> None:
        message.stop()
        if message.number != self._hold_number or self._held is None:
            return
        if message.through_screen:
            # Keys that reached the app on the old way were handed to the screen in front
            # (a dialog's early keys): once more through it, behind them.
            app: App[object] = self  # type: ignore[assignment]
            if app.screen.post_message(KeyBarrier(message.number, through_screen=False)):
                return
        await self._release(message.number)

    async def _release(self, number: int) -> None:
        """The keys that waited go on, in their order, to where the focus is now."""
        if number != self._hold_number or self._held is None:
            return
        held, self._held = self._held, None
        app: App[object] = self  # type: ignore[assignment]
        for key in held:
            self._last_target = app.focused or app.screen
            await super().on_event(key)  # type: ignore[misc]
