"""A PIN's scrypt check, begun before the rest of the services are imported (issue #23).

The check of a PIN on SQLite (:mod:`monitor.pins`: scrypt, about 40 ms) needs the user's stored
hash and nothing else of the services. hashlib's scrypt lets other threads run while it works,
so a command reads the hash as soon as the database is open, starts the check in a thread of
its own, and imports and opens the services beside it; :meth:`~monitor.services.signin.\
SignInServices.authenticate` then takes the result, and decides, counts and audits as always
(in its own transaction, on the user's row as it is then: a hash changed meanwhile is checked
again). The check is the same check, as strong; only its moment moves, and the write lock is
not held while it runs. This module imports the tables and the PIN hashing alone.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, select

from monitor.pins import dummy_verify, verify_pin
from monitor.store import tables as t

if TYPE_CHECKING:
    from sqlalchemy import Connection

_HASH = select(t.users.c.pin_hash).where(t.users.c.name == bindparam("name"))


class PinCheck:
    """``pin`` checked against ``stored`` (the user's hash as read; ``None``: no such user,
    checked against a dummy hash for the same time), inline or in a thread (:meth:`start`)."""

    def __init__(self, pin: str, stored: str | None) -> None:
        self.pin = pin
        self.stored = stored
        self._accepted = False
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._done = False

    @classmethod
    def of(cls, connection: Connection, name: str, pin: str) -> PinCheck:
        """The check of ``name``'s PIN against the hash stored now (not begun)."""
        return cls(pin, connection.execute(_HASH, {"name": name}).scalar())

    def start(self) -> PinCheck:
        """Begin the check in a thread of its own."""
        self._thread = threading.Thread(target=self._run, name="pin-check", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            if self.stored is None:
                dummy_verify(self.pin)  # the same time as a real check
            else:
                self._accepted = verify_pin(self.pin, self.stored)
        except BaseException as error:  # said where the result is asked for
            self._error = error
        self._done = True

    def accepted(self) -> bool:
        """Whether the PIN matches the hash it was checked against (waits for the check)."""
        if self._thread is not None:
            self._thread.join()
        elif not self._done:
            self._run()
        if self._error is not None:
            raise self._error
        return self._accepted
