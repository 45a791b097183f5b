"""The services: the one way data changes, for the TUI, the command line and the exports.

Every user action is one transaction with its audit row in it; reads return plain dataclasses
(:mod:`monitor.views`). Readings are never updated or deleted: a correction is a new reading.

:class:`Service` composes one class per capability over the shared plumbing of
:mod:`monitor.services.base`:

- :mod:`~monitor.services.recording`: saving a reading (the hot path, on SQLAlchemy Core alone),
  with the users' PIN check and the rules in force it needs: all ``monitor record`` opens
- :mod:`~monitor.services.users`: users and PINs
- :mod:`~monitor.services.sessions`: opening sessions, the dosing gate, dosing, infusion end
- :mod:`~monitor.services.readings`: correcting and voiding readings, over the recording
- :mod:`~monitor.services.flags`: acknowledging flags, explaining checks not done
- :mod:`~monitor.services.events`: notes, adverse events, interventions
- :mod:`~monitor.services.discharge`: discharge and sign-off
- :mod:`~monitor.services.queries`: the reads of sessions
- :mod:`~monitor.services.history`: the audit trail and the list of sessions, paged and streamed
- :mod:`~monitor.services.rems`: REMS forms of esketamine sessions, submitted and corrected
- :mod:`~monitor.services.review`: the supervisor's review queue
- :mod:`~monitor.services.report`: the quality summary
- :mod:`~monitor.services.config`: the clinic's rules, as numbered versions in the database
- :mod:`~monitor.services.devices`: bedside monitors, their readings and their validation

Importing this package imports none of them: :class:`Service` and the names below are loaded
when first asked for (PEP 562), so that a path that needs one capability (saving a reading)
imports that one and not the whole layer with the ORM (issue #23; docs/architecture.md,
"Start-up").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitor.services.base import Clock, ServiceBase, unreachable, utc_now
    from monitor.services.service import Service, with_clock
    from monitor.services.users import ROLES

__all__ = ["ROLES", "Clock", "Service", "ServiceBase", "unreachable", "utc_now", "with_clock"]

#: Each name this package gives, and the module that holds it (imported on first use).
_WHERE = {
    "ROLES": "monitor.services.users",
    "Clock": "monitor.services.base",
    "Service": "monitor.services.service",
    "ServiceBase": "monitor.services.base",
    "unreachable": "monitor.services.base",
    "utc_now": "monitor.services.base",
    "with_clock": "monitor.services.service",
}


def __getattr__(name: str) -> Any:
    """``from monitor.services import Service`` imports the capability modules then, not
    before (PEP 562)."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'monitor.services' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # asked once
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
