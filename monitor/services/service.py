"""The whole of the services on one database: every capability of :mod:`monitor.services`
composed into :class:`Service`, what the station, the exports and most commands open.

``monitor record`` opens only :class:`~monitor.services.recording.RecordServices`, which this
class includes: one implementation of saving a reading for all of them.
"""

from __future__ import annotations

from monitor.services.base import Clock
from monitor.services.changes import ChangeServices
from monitor.services.config import ConfigServices
from monitor.services.devices import DeviceServices
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
from monitor.services.users import UserServices


class Service(
    DeviceServices,
    SessionServices,
    ReadingServices,
    FlagServices,
    EventServices,
    DischargeServices,
    UserServices,
    ConfigServices,
    ReportServices,
    ReviewServices,
    RemsServices,
    QueryServices,
    HistoryServices,
    ChangeServices,
):
    """Everything a nurse or supervisor can do, on one database."""


def with_clock(service: Service, clock: Clock) -> Service:
    """The same database and station settings seen through another clock (tests, demos)."""
    return Service(service.engine, service.local, clock)
