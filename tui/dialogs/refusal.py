"""A refusal of a dialog's form that names the one field to fix (docs/station.md, "Dialogs")."""

from __future__ import annotations

from datetime import datetime

from monitor.errors import Refused
from monitor.periods import typed_period


class FieldRefusal(ValueError):  # noqa: N818 - "refused" is the product's word for it
    """The form cannot be saved as typed: ``field`` is the id of the one field to fix (the
    dialog puts the cursor there, its text selected)."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def period_refusal(error: Exception, since: str, until: str, now: datetime) -> FieldRefusal:
    """A period typed in two fields (``since``, ``until``) was refused with ``error``: the
    same refusal, naming the field to fix: From when it cannot be read alone, else To (which
    cannot be read, or ends before From)."""
    try:
        typed_period(since, "", now)
    except Refused:
        return FieldRefusal(str(error), "since")
    return FieldRefusal(str(error), "until")
