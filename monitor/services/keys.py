"""A reading's key and the content it binds (docs/interface.md, "Keys").

A client gives each entry a key (a UUID, a gateway's message id) so that a retry after a lost
reply never saves a reading twice. The key binds what was sent: the same entry again under the
key is answered with the reading first saved; anything else under it is refused, loudly, since
"already saved" for readings that were not would leave them unsaved and their alarms unraised.
No digest is stored: the reading's own row (its session, recorder, values and times) is what
the key is compared with.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Connection, bindparam, select

from monitor.core.served import served_by_reading
from monitor.core.vitals import Vitals
from monitor.errors import EntryError, KeyConflictError
from monitor.services.base import ServiceBase
from monitor.store import tables as t
from monitor.store.tables import MEASURE_COLUMNS
from monitor.timeparse import parse_time

if TYPE_CHECKING:
    from monitor.core.served import Served
    from monitor.views import ReadingView

#: A client's key for an entry (a UUID, a gateway's message id).
_KEY = re.compile(r"[A-Za-z0-9._:-]{1,64}")

#: A measurement time as a caller gives it: an instant, the time as typed (``"10:28"``,
#: ``"5 min ago"``, ``"now"``: :func:`monitor.timeparse.parse_time`, read against the save's
#: own clock), or ``None`` for now.
Given = datetime | str | None

_READINGS = t.readings
_USERS = t.users
# The reading saved under a key with what the key binds, in one read through its unique index.
_KEYED = (
    select(
        _READINGS.c.id,
        _READINGS.c.session_id,
        _READINGS.c.measured_at,
        _READINGS.c.recorded_at,
        _READINGS.c.corrects_id,
        *(_READINGS.c[name] for name in MEASURE_COLUMNS),
        _USERS.c.name.label("recorded_by"),
    )
    .select_from(_READINGS.join(_USERS, _USERS.c.id == _READINGS.c.recorded_by_id))
    .where(_READINGS.c.client_key == bindparam("key"))
)


def check_key(key: str) -> str:
    """``key`` if it is well formed (docs/interface.md, "Input limits"), else refused."""
    if not _KEY.fullmatch(key):
        raise EntryError("a reading's key is 1-64 letters, digits, '.', '_', ':' or '-'")
    return key


def given_at(given: Given, now: datetime) -> datetime:
    """The measurement time ``given`` means when the save's clock reads ``now``."""
    if isinstance(given, str):
        return parse_time(given, now)
    return ServiceBase._utc(given, now)


def saved_under(
    connection: Connection, key: str, session_id: int, by: str, vitals: Vitals, given: Given
) -> int | None:
    """The id of the reading saved under ``key``, if there is one and this request is its
    retry; ``None`` if the key is new. Refused (:class:`KeyConflictError`) if the key holds
    another reading (:func:`difference` says which)."""
    found = connection.execute(_KEYED, {"key": key}).first()
    if found is None:
        return None
    if what := difference(found, session_id, by, vitals, given):
        raise KeyConflictError(
            f"key {key} already used for different readings ({what}): "
            "use a new key for a new reading"
        )
    return cast(int, found.id)


def difference(found: Any, session_id: int, by: str, vitals: Vitals, given: Given) -> str:
    """What differs between the reading saved under a key (``found``, a row of the key's
    read) and a request to save ``vitals`` under it again; ``""`` when it is the same request.

    A key binds the session, the user (a reading answered as "already saved" to another user
    would be attributed to them), every measure's value (a measure added or left out too),
    and the measurement time *as given*: the time the request names, read at the moment the
    reading was saved. So a retry of "now" (or of no time) or of "5 min ago" matches however
    late it comes, since the save kept those exactly as its own clock read them, while "10:28"
    or an instant matches only that instant.
    """
    if found.session_id != session_id:
        return "a reading of another session"
    if found.recorded_by != by:
        return "a reading recorded by another user"
    if found.corrects_id is not None:
        return "a correction"
    if {name: getattr(found, name) for name in MEASURE_COLUMNS} != vitals.as_dict():
        return "other values"
    if given_at(given, found.recorded_at) != found.measured_at:
        return "another measurement time"
    return ""


def answered_again(
    services: ServiceBase, connection: Connection, session_id: int, reading_id: int
) -> tuple[ReadingView, Served]:
    """The answer to a retry: the reading saved before under its key as the session's full
    read shows it now (its flags and their acknowledgements, a correction or void since), and
    the check it served, read on ``connection`` (in its transaction: a group's own reading
    too). A retry is rare, so the reads of :mod:`monitor.services.queries` (the ORM) are
    imported here, when one comes, not with the save (issue #23)."""
    from sqlalchemy.orm import Session

    from monitor.services.config import ConfigServices
    from monitor.services.queries import QueryServices

    if isinstance(services, QueryServices) and isinstance(services, ConfigServices):
        reads: Any = services
    else:

        class Reads(QueryServices, ConfigServices):
            """The reads, over the same engine, settings, clock and parsed rules."""

        reads = Reads(services.engine, services.local, services.clock)
        reads._versions = services._versions
    # The session joins the connection's transaction and leaves it as it found it.
    with Session(bind=connection, expire_on_commit=False) as session:
        row = reads._session_row(session, session_id)
        view = reads._views(session, [row])[0]
    reading = view.reading(reading_id)
    assert reading is not None
    return reading, served_by_reading(view.checks, reading.id, reading.measured_at)
