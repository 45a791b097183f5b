"""The station's database, opened before its first frame; the services, once that is drawn.

The station's first screen is the sign-in over an empty floor (docs/station.md, "Signing in
and locking"), and it needs little: the launcher (:mod:`tui.launch`) opens the database and
checks its schema with SQLAlchemy Core alone, so that a wrong ``--db`` is still one ``error:``
line before any screen, and the names the sign-in offers are read here on Core too. The
services (the whole layer, the ORM with it), the rules in force and the screens and dialogs
are imported in a thread started right after the first frame (:meth:`Opening.start`): by the
time a nurse has typed her name and PIN they are in. Whoever is faster waits for them at
"checking…" (the PIN check needs the services), and the keys typed meanwhile go where they
were typed (issue #23; docs/station.md, "Start-up").
"""

from __future__ import annotations

import contextlib
import importlib
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Engine, func, select

from monitor.core.config import ClinicConfig, station_of
from monitor.services.base import utc_now
from monitor.store import tables as t
from monitor.views import UserView

if TYPE_CHECKING:
    from monitor.services import Service

#: What the thread imports once the services are in, in the order they are likely to be
#: needed (a supervisor lands in review mode; a nurse records), so that no screen or dialog
#: waits for its module when it first opens.
LATER = (
    "tui.floor.saves",
    "tui.review.queue",
    "tui.detail.screen",
    "tui.floor.help",
    "tui.review.log",
    "tui.reports.desk",
)

_USERS = t.users.c
_NAMES = (
    select(_USERS.id, _USERS.name, _USERS.role)
    .where(_USERS.disabled_at.is_(None))
    .order_by(_USERS.name)
)
_ANY_USER = select(func.count()).select_from(t.users)


class Opening:
    """The station's database and, once imported, its services."""

    def __init__(
        self,
        engine: Engine,
        config: ClinicConfig | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        """``engine`` is opened, its schema checked; ``config`` is this station's own
        settings (its ``--config`` file), as :class:`monitor.services.Service` takes them."""
        self.engine = engine
        self.given = config
        #: This station's settings (over the defaults): what the first frame needs of them.
        self.local = station_of(config) if config is not None else ClinicConfig()
        self.clock = clock
        self._service: Service | None = None
        self._config: ClinicConfig | None = None
        self._error: BaseException | None = None
        self._ready = threading.Event()
        self._started = False
        self._lock = threading.Lock()

    @classmethod
    def of(cls, service: Service) -> Opening:
        """Services already opened (tests, ``monitor demo --open``): nothing to import."""
        opening = cls(service.engine, service.local, service.clock)
        opening._service = service
        opening._config = service.config  # read with the station, as the services open
        opening._started = True
        opening._ready.set()
        return opening

    @classmethod
    def open(cls, db: str | None, config: ClinicConfig | None) -> Opening:
        """Open ``--db`` as every command does (refused when missing, unless it is the
        default file) and check its schema, on Core alone."""
        from monitor.store.engine import make_engine
        from monitor.store.migrate import ensure_schema

        engine = make_engine(db, create=False)
        try:
            ensure_schema(engine)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, config)

    def start(self) -> None:
        """Import the services, then the screens, in a thread of their own (once)."""
        with self._lock:
            if self._started:
                return
            self._started = True
        threading.Thread(target=self._import, name="monitor-import", daemon=True).start()

    def _import(self) -> None:
        try:
            from monitor.services import Service

            service = Service(self.engine, self.given, self.clock)
            self._service = service
            # The rules in force, read once: what the floor judges by (a database that
            # cannot be read now is asked again when they are first needed).
            with contextlib.suppress(Exception):
                self._config = service.config
        except BaseException as error:  # said by whatever waits for the services
            self._error = error
        finally:
            self._ready.set()
        for name in LATER:
            with contextlib.suppress(Exception):
                importlib.import_module(name)

    @property
    def ready(self) -> bool:
        """Whether the services are in (or failed to come)."""
        return self._ready.is_set()

    def service(self) -> Service:
        """The services, waiting for their import if it is not done yet."""
        self.start()
        self._ready.wait()
        if self._service is None:
            raise self._error or RuntimeError("the services did not open")
        return self._service

    def config(self) -> ClinicConfig:
        """The clinic's rules in force with this station's settings, read once."""
        if self._config is None:
            self._config = self.service().config
        return self._config

    def _engine(self) -> Engine:
        """The services' engine once they are in (a test may swap it), else the one opened."""
        return self._service.engine if self._service is not None else self.engine

    def users(self) -> list[UserView]:
        """Every user who may act, by name: what the sign-in offers at the station's own
        terminal (SQLAlchemy Core: before the services are in)."""
        with self._engine().connect() as connection:
            return [UserView(r.id, r.name, r.role) for r in connection.execute(_NAMES)]

    def has_users(self) -> bool:
        """True once the database has its first user."""
        with self._engine().connect() as connection:
            return bool(connection.execute(_ANY_USER).scalar())

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()
