"""A failure as the station says it: one line a nurse can act on."""

from __future__ import annotations

from monitor.errors import Refused
from monitor.services.base import unreachable


def error_message(error: BaseException | None) -> str:
    """A failed save as one line a nurse can act on."""
    if isinstance(error, Refused):
        return f"refused: {error}"
    if unreachable(error):
        return "database unreachable"  # the cause is for the administrator, not the nurse
    line = str(error).strip().splitlines()[0] if error and str(error).strip() else ""
    return f"database error ({type(error).__name__}): {line}"
