"""JSON export: one ``session show --json`` object per session, one per line (JSON Lines),
written as each batch of sessions is read."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from monitor.views import SessionView


def write_sessions(out: BinaryIO, views: Iterable[SessionView]) -> int:
    """Write each session as one line; returns how many."""
    from monitor.present.json import session_json

    count = 0
    for view in views:
        out.write(json.dumps(session_json(view), ensure_ascii=False).encode("utf-8") + b"\n")
        count += 1
    return count
