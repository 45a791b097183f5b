"""The services: the one way data changes, for the TUI, the command line and the exports.

Every user action is one transaction with its audit row in it; reads return plain dataclasses
(:mod:`monitor.views`). Readings are never updated or deleted: a correction is a new reading.

:class:`Service` composes one class per capability over the shared plumbing of
:mod:`monitor.services.base`:

- :mod:`~monitor.services.users`: users and PINs
- :mod:`~monitor.services.sessions`: opening sessions, the dosing gate, dosing, infusion end
- :mod:`~monitor.services.readings`: recording, correcting and voiding readings
- :mod:`~monitor.services.flags`: acknowledging flags, explaining checks not done
- :mod:`~monitor.services.events`: notes, adverse events, interventions
- :mod:`~monitor.services.discharge`: discharge and sign-off
- :mod:`~monitor.services.queries`: the reads of sessions
- :mod:`~monitor.services.history`: the audit trail and the list of sessions, paged and streamed
- :mod:`~monitor.services.rems`: REMS forms of esketamine sessions, submitted and corrected
- :mod:`~monitor.services.review`: the supervisor's review queue
- :mod:`~monitor.services.report`: the quality summary
- :mod:`~monitor.services.config`: the clinic's rules, as numbered versions in the database
"""

from __future__ import annotations

from monitor.services.base import Clock, ServiceBase, unreachable, utc_now
from monitor.services.changes import ChangeServices
from monitor.services.config import ConfigServices
from monitor.services.discharge import DischargeServices
from monitor.services.events import EventServices
from monitor.services.flags import FlagServices
from monitor.services.history import HistoryServices
from monitor.services.queries import QueryServices
from monitor.services.readings import ReadingServices
from monitor.services.rems import RemsServices
from monitor.services.report import ReportServices
from monitor.services.review import ReviewServices
from monitor.services.sessions import SessionServices
from monitor.services.users import ROLES, UserServices

__all__ = ["ROLES", "Clock", "Service", "ServiceBase", "unreachable", "utc_now", "with_clock"]


class Service(
    SessionServices,
    ReadingServices,
    FlagServices,
    EventServices,
    DischargeServices,
    UserServices,
    ReportServices,
    ReviewServices,
    RemsServices,
    QueryServices,
    HistoryServices,
    ChangeServices,
    ConfigServices,
):
    """Everything a nurse or supervisor can do, on one database."""


def with_clock(service: Service, clock: Clock) -> Service:
    """The same database and station settings seen through another clock (tests, demos)."""
    return Service(service.engine, service.local, clock)
