"""Errors a user can cause.

Every subclass of :class:`Refused` becomes exit status 2 and one ``error: ...`` line on the
command line, and a visible message in the TUI: never a traceback.
"""

from __future__ import annotations


class Refused(Exception):  # noqa: N818 - "refused" is the product's word for it
    """The request was refused; nothing was saved. The message says what to do."""


class EntryError(Refused):
    """A quick-entry line or a value that cannot be accepted."""


class KeyConflictError(EntryError):
    """A reading's key already used for different content (another session or user, other
    values or another measurement time): a retry sends the same entry again; a new reading
    needs a new key (docs/interface.md, "Keys")."""


class ConfigError(Refused):
    """The clinic configuration is invalid."""


class NotFound(Refused):
    """An id or name that does not exist."""


class PermissionDenied(Refused):
    """The user's role or PIN does not allow this."""


class PinRefused(PermissionDenied):
    """A name and PIN that were not accepted (an unknown name, a wrong PIN, a locked or disabled
    user: one refusal, so names cannot be probed). A signed dialog empties its PIN field on it."""


class GateNotMet(Refused):
    """Discharge (or dosing) refused because its gate is not met; an override reason would
    let it go ahead."""

    def __init__(self, reasons: list[str], what: str = "discharge") -> None:
        self.reasons = list(reasons)
        self.what = what
        super().__init__(
            f"{what} gate not met: "
            + "; ".join(self.reasons)
            + " (an override reason, which is kept, lets it go ahead)"
        )
