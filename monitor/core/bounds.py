"""The bounds of every number the clinic's rules take (docs/configuration.md, "Bounds").

A number past its bound is a typing error, not a clinic's choice: ``lockout_min =
99999999999`` would overflow the moment a user is locked, and ``infusion_min =
99999999999999`` would build a schedule of billions of checks. The safety floors
(:func:`monitor.core.config.check_floors`) come on top of these: a bound says what a number can
be at all, a floor what the clinic may not go below.

A version the database already keeps is read with each number brought to its bound
(:func:`stored_version`): it was loaded before the bound existed, and refusing it would make
every command fail.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from monitor.core.rules import Band
from monitor.core.vitals import POSSIBLE_RANGES, Measure
from monitor.errors import ConfigError

#: The most minutes any rule takes (a day): an observation lasts hours.
MINUTES_MAX = 1440

_SBP_MAX = POSSIBLE_RANGES[Measure.SYSTOLIC][1]
_DBP_MAX = POSSIBLE_RANGES[Measure.DIASTOLIC][1]
#: (lowest, highest) of each number by its dotted key; a key not named here is a number of
#: minutes, 0 (or the caller's minimum) to :data:`MINUTES_MAX`.
BOUNDS: dict[str, tuple[int, int]] = {
    "thresholds.before_dosing.systolic_max": (0, _SBP_MAX),
    "thresholds.before_dosing.systolic_max_older": (0, _SBP_MAX),
    "thresholds.before_dosing.older_age": (0, 130),
    "thresholds.before_dosing.diastolic_max": (0, _DBP_MAX),
    "thresholds.rise.systolic": (0, _SBP_MAX),
    "thresholds.rise.diastolic": (0, _DBP_MAX),
    "discharge.moaas_min": (0, POSSIBLE_RANGES[Measure.MOAAS][1]),
    "discharge.cadss_max": (0, POSSIBLE_RANGES[Measure.CADSS][1]),
    "discharge.spo2_min": (0, POSSIBLE_RANGES[Measure.SPO2][1]),
    "discharge.sbp_max": (0, _SBP_MAX),
    "discharge.dbp_max": (0, _DBP_MAX),
    # Fewer than 3 refusals would lock a user out for one slip of the finger; more than 20
    # leave the PINs open to guessing; a lock of more than a day locks the clinic out.
    "security.lockout_after": (3, 20),
    "security.lockout_min": (1, MINUTES_MAX),
}
#: No band's number goes past this: it is beyond every measure's possible values (a systolic
#: pressure of 300 is the highest). A band that flags no possible value below it is the safety
#: floors' to refuse, naming the rule.
BAND_MAX = 1000

#: True while a stored version is read (:func:`stored_version`).
_STORED: ContextVar[bool] = ContextVar("stored", default=False)


@contextmanager
def stored_version(stored: bool = True) -> Iterator[None]:
    """Within it (when ``stored``), numbers past their bounds are brought to them instead of
    refused: the body of a version the database keeps is being read."""
    token = _STORED.set(stored)
    try:
        yield
    finally:
        _STORED.reset(token)


def whole_number(what: str, key: str, value: Any, minimum: int = 0) -> int:
    """``value`` as the whole number of the rule ``key`` within its bounds; refused, naming
    ``what``, for anything else (a float, a string, a boolean, a number past its bound)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{what} must be a whole number, got {value!r}")
    lowest, highest = BOUNDS.get(key, (minimum, MINUTES_MAX))
    lowest = max(lowest, minimum)
    if _STORED.get():
        return min(max(value, lowest), highest)
    if value < lowest:
        raise ConfigError(f"{what} must be at least {lowest}, got {value}")
    if value > highest:
        raise ConfigError(f"{what} must be at most {highest}, got {value}")
    return value


def check_bands(what: str, bands: tuple[Band, ...]) -> None:
    """Refuse, naming ``what``, a band whose number lies past :data:`BAND_MAX`; a stored
    version's bands are left as they are (they flag nothing more for it)."""
    if _STORED.get():
        return
    for band in bands:
        if any(limit is not None and limit > BAND_MAX for limit in (band.low, band.high)):
            raise ConfigError(
                f"{what}: band {band.text!r} lies past any possible value (its numbers are at "
                f"most {BAND_MAX})"
            )
