"""The clinic's rules and a station's settings: the shipped defaults, validated overrides, the
safety floors no version may break, and where each value in force came from.

Every value is a configurable default, not clinical advice (docs/clinical.md). Two kinds of
setting (docs/configuration.md):

- **The clinic's rules** (thresholds, schedules, windows, the discharge gate, the PIN lockout)
  live in the database as numbered versions that a supervisor loads with a reason
  (``monitor config load``). A version's body is a TOML document over the shipped defaults:
  what it does not say is the default, not the previous version. :func:`rules_from_text`
  reads one, refusing a station-local key and anything below a safety floor
  (:func:`check_floors`).
- **A station's settings** (``clinic_name``, ``bays``, ``idle_lock_min``, ``pdf_fonts``) come
  from its ``--config`` file;
  :func:`station_from_mapping` refuses a clinical rule there, naming ``monitor config load``.

```toml
# the clinic's rules (monitor config load FILE --by SUPERVISOR --reason TEXT)
[thresholds.heart_rate]          # systolic, diastolic, heart_rate, spo2, resp_rate, moaas, cadss
high = ["<=40", ">=131"]         # bands: "<=N", ">=N", "<N", ">N", "N-M", "N"
[thresholds.before_dosing]       # systolic_max, systolic_max_older, older_age, diastolic_max
[thresholds.rise]                # systolic, diastolic
[windows]                        # early_min, on_time_min, late_min, recheck_min
[discharge]                      # moaas_min, cadss_max, spo2_min, sbp_max, dbp_max, recent_set_min
[security]                       # lockout_after, lockout_min
[protocols.ketamine-iv]          # infusion_min, observe_after_infusion_min,
infusion_min = 40                # minimum_observation_min, baseline, checks, treatment

# a station's settings (--config PATH)
clinic_name = "Riverside Clinic"  # on the printed session record (monitor export)
bays = ["Bay 1", "Bay 2"]
idle_lock_min = 10                # an idle station goes back to sign-in (docs/station.md)
```
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from monitor.core.bounds import check_bands, stored_version, whole_number
from monitor.core.gate import DischargeCriteria
from monitor.core.rules import (
    AbsoluteThresholds,
    Band,
    Severity,
    Thresholds,
)
from monitor.core.schedule import (
    CheckSpec,
    Protocol,
    Windows,
    default_protocols,
    ketamine_iv,
)
from monitor.core.vitals import POSSIBLE_RANGES, CheckMeasure, Measure
from monitor.errors import ConfigError

DEFAULT_SOURCE = "default"


@dataclass(frozen=True)
class Security:
    """PIN lockout: this many refused PINs in a row lock a user for ``lockout_min``."""

    lockout_after: int = 5
    lockout_min: int = 15


#: The longest clinic name the printed record takes (as `monitor export --clinic`).
CLINIC_NAME_MAX = 80
#: An idle station locks back to sign-in after this many minutes, by default
#: (docs/station.md#locking); a station's setting may say 1 to 240.
IDLE_LOCK_MIN = 10
IDLE_LOCK_RANGE = (1, 240)


@dataclass(frozen=True)
class ClinicConfig:
    """Everything clinical that a clinic may configure."""

    thresholds: Thresholds = field(default_factory=Thresholds)
    protocols: dict[str, Protocol] = field(default_factory=default_protocols)
    windows: Windows = field(default_factory=Windows)
    discharge: DischargeCriteria = field(default_factory=DischargeCriteria)
    bays: tuple[str, ...] = ()
    security: Security = field(default_factory=Security)
    #: The clinic's name, printed on every exported session record (None: not configured).
    clinic_name: str | None = None
    #: Minutes without a key before the station hides the floor and asks to sign in again.
    idle_lock_min: int = IDLE_LOCK_MIN
    #: Where each overridden value came from, by dotted key; absent means the default.
    sources: dict[str, str] = field(default_factory=dict)
    #: The PDF's fallback font files, in order (read and checked by monitor/config_file.py).
    pdf_fonts: tuple[str, ...] = ()

    def protocol(self, key: str) -> Protocol:
        """The protocol for a key, or a refusal listing the known keys."""
        try:
            return self.protocols[key]
        except KeyError:
            known = ", ".join(sorted(self.protocols))
            raise ConfigError(f"unknown protocol '{key}': use one of {known}") from None


def _int(key: str, value: Any, minimum: int = 0) -> int:
    return whole_number(f"config: {key}", key, value, minimum)


def _table(key: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"config: {key} must be a table, got {value!r}")
    return value


def _unknown(key: str, table: Mapping[str, Any], known: set[str]) -> None:
    extra = sorted(set(table) - known)
    if extra:
        name = f"{key}.{extra[0]}" if key else extra[0]
        raise ConfigError(f"config: unknown key '{name}'; known here: {', '.join(sorted(known))}")


def _measures(key: str, value: Any) -> tuple[CheckMeasure, ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError(f"config: {key} must be a non-empty list of measures")
    known = [m.value for m in CheckMeasure]
    result = []
    for item in value:
        if item not in known:
            raise ConfigError(f"config: {key}: unknown measure {item!r}; use {', '.join(known)}")
        result.append(CheckMeasure(item))
    return tuple(result)


def _int_fields(
    key: str, table: Mapping[str, Any], target: Any, sources: dict[str, str], source: str
) -> Any:
    names = {f.name for f in fields(target) if f.type in ("int", int)}
    _unknown(key, table, names)
    changes = {name: _int(f"{key}.{name}", value) for name, value in table.items()}
    sources.update({f"{key}.{name}": source for name in changes})
    return replace(target, **changes)


def _thresholds(
    table: Mapping[str, Any], base: Thresholds, sources: dict[str, str], source: str
) -> Thresholds:
    measures = {m.value for m in Measure}
    _unknown("thresholds", table, measures | {"before_dosing", "rise"})
    bands = {m: dict(by) for m, by in base.absolute.bands.items()}
    predose, rise = base.predose, base.rise
    for name, value in table.items():
        key = f"thresholds.{name}"
        sub = _table(key, value)
        if name == "before_dosing":
            predose = _int_fields(key, sub, predose, sources, source)
        elif name == "rise":
            rise = _int_fields(key, sub, rise, sources, source)
        else:
            _unknown(key, sub, {s.value for s in Severity})
            for severity, texts in sub.items():
                band_key = f"{key}.{severity}"
                if not isinstance(texts, list):
                    raise ConfigError(f'config: {band_key} must be a list of bands, e.g. [">=180"]')
                try:
                    parsed = tuple(Band.parse(t) for t in texts)
                except ConfigError as error:
                    raise ConfigError(f"config: {band_key}: {error}") from None
                check_bands(f"config: {band_key}", parsed)
                bands[Measure(name)][Severity(severity)] = parsed
                sources[band_key] = source
    return Thresholds(AbsoluteThresholds(bands), predose, rise)


def _checks(key: str, value: Any) -> tuple[CheckSpec, ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError(f"config: {key} must be a non-empty list of checks")
    checks = []
    for index, item in enumerate(value):
        item_key = f"{key}[{index}]"
        table = _table(item_key, item)
        _unknown(item_key, table, {"at", "measures", "pre_discharge"})
        if "at" not in table or "measures" not in table:
            raise ConfigError(f"config: {item_key} needs 'at' (minutes) and 'measures'")
        pre = table.get("pre_discharge", False)
        if not isinstance(pre, bool):
            raise ConfigError(f"config: {item_key}.pre_discharge must be true or false")
        checks.append(
            CheckSpec(
                _int(f"{item_key}.at", table["at"], minimum=1),
                _measures(f"{item_key}.measures", table["measures"]),
                pre,
            )
        )
    checks.sort(key=lambda c: c.at_min)
    if sum(c.pre_discharge for c in checks) > 1:
        raise ConfigError(f"config: {key}: only one check can be pre_discharge")
    return tuple(checks)


def _discharge(
    table: Mapping[str, Any], base: DischargeCriteria, sources: dict[str, str], source: str
) -> DischargeCriteria:
    if "moaas" in table:
        # Revision 3: "moaas" meant "equals"; the gate now asks "at least" (docs/clinical.md).
        raise ConfigError(
            "config: discharge.moaas is now discharge.moaas_min (the latest MOAA/S must be at "
            "least it): rename the key"
        )
    criteria: DischargeCriteria = _int_fields("discharge", table, base, sources, source)
    return criteria


#: A protocol's key: as typed in `session start --protocol`.
_PROTOCOL_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")
#: The longest treatment name (one line on the record).
TREATMENT_MAX = 80

_PROTOCOL_KEYS = {
    "treatment",
    "baseline",
    "checks",
    "minimum_observation_min",
    "infusion_min",
    "observe_after_infusion_min",
}


def _protocol(
    name: str, table: Mapping[str, Any], base: Protocol | None, sources: dict[str, str], source: str
) -> Protocol:
    key = f"protocols.{name}"
    if not _PROTOCOL_KEY.fullmatch(name):
        raise ConfigError(f"config: protocol key {name!r}: use 1-40 letters, digits, '_' or '-'")
    _unknown(key, table, _PROTOCOL_KEYS)
    if base is None and ("checks" not in table or "minimum_observation_min" not in table):
        raise ConfigError(
            f"config: {key} is a new protocol: give it 'checks' and 'minimum_observation_min'"
        )
    if "infusion_min" in table or "observe_after_infusion_min" in table:
        if name != "ketamine-iv":
            raise ConfigError(f"config: {key}: infusion_min applies to ketamine-iv only")
        infusion = _int(f"{key}.infusion_min", table.get("infusion_min", 40), minimum=1)
        after = _int(
            f"{key}.observe_after_infusion_min", table.get("observe_after_infusion_min", 60), 1
        )
        base = ketamine_iv(infusion, after)
    protocol = base or Protocol(name, name, (), (), 0)
    changes: dict[str, Any] = {}
    if "treatment" in table:
        treatment = table["treatment"]
        if (
            not isinstance(treatment, str)
            or not treatment.strip()
            or len(treatment) > TREATMENT_MAX
            or not treatment.isprintable()
        ):
            raise ConfigError(
                f"config: {key}.treatment must be one line of 1-{TREATMENT_MAX} printable "
                "characters"
            )
        changes["treatment"] = table["treatment"]
    if "baseline" in table:
        changes["baseline"] = _measures(f"{key}.baseline", table["baseline"])
    if "checks" in table:
        changes["checks"] = _checks(f"{key}.checks", table["checks"])
    if "minimum_observation_min" in table:
        changes["minimum_observation_min"] = _int(
            f"{key}.minimum_observation_min", table["minimum_observation_min"], minimum=1
        )
    protocol = replace(protocol, key=name, **changes)
    if not protocol.baseline:
        protocol = replace(protocol, baseline=default_protocols()["esketamine-84"].baseline)
    sources.update({f"{key}.{k}": source for k in table})
    return protocol


def config_from_mapping(
    data: Mapping[str, Any], source: str, base: ClinicConfig | None = None
) -> ClinicConfig:
    """Apply a parsed configuration (a TOML document as a dict) over ``base`` or the defaults.

    Raises :class:`ConfigError` naming the key for anything unknown or invalid.
    """
    base = base or ClinicConfig()
    _unknown(
        "",
        data,
        {"thresholds", "protocols", "windows", "discharge", "security", *STATION_KEYS},
    )
    sources = dict(base.sources)
    thresholds, windows, discharge = base.thresholds, base.windows, base.discharge
    protocols = dict(base.protocols)
    bays = base.bays
    security = base.security
    if "security" in data:
        security = _int_fields(
            "security", _table("security", data["security"]), security, sources, source
        )
    if "thresholds" in data:
        thresholds = _thresholds(
            _table("thresholds", data["thresholds"]), thresholds, sources, source
        )
    if "windows" in data:
        windows = _int_fields(
            "windows", _table("windows", data["windows"]), windows, sources, source
        )
    if "discharge" in data:
        discharge = _discharge(_table("discharge", data["discharge"]), discharge, sources, source)
    if "protocols" in data:
        for name, table in _table("protocols", data["protocols"]).items():
            protocols[name] = _protocol(
                name, _table(f"protocols.{name}", table), protocols.get(name), sources, source
            )
    if "bays" in data:
        value = data["bays"]
        if not isinstance(value, list) or not all(isinstance(b, str) and b for b in value):
            raise ConfigError('config: bays must be a list of names, e.g. ["Bay 1", "Bay 2"]')
        bays = tuple(value)
        sources["bays"] = source
    clinic_name = base.clinic_name
    if "clinic_name" in data:
        value = data["clinic_name"]
        if (
            not isinstance(value, str)
            or not value.strip()
            or len(value) > CLINIC_NAME_MAX
            or not value.isprintable()
        ):
            raise ConfigError(
                f"config: clinic_name must be one line of 1-{CLINIC_NAME_MAX} printable "
                'characters, e.g. clinic_name = "Riverside Clinic"'
            )
        clinic_name = value.strip()
        sources["clinic_name"] = source
    idle = base.idle_lock_min
    if "idle_lock_min" in data:
        idle = _idle_lock_min(data["idle_lock_min"])
        sources["idle_lock_min"] = source
    return ClinicConfig(
        thresholds, protocols, windows, discharge, bays, security, clinic_name, idle, sources
    )


def _idle_lock_min(value: Any) -> int:
    """A station's idle lock: whole minutes within :data:`IDLE_LOCK_RANGE` (a lock that never
    comes, or one that interrupts every reading, is refused rather than bent)."""
    low, high = IDLE_LOCK_RANGE
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(
            f"config: idle_lock_min must be a whole number of minutes from {low} to {high}, "
            f"got {value!r}; e.g. idle_lock_min = {IDLE_LOCK_MIN}"
        )
    return value


def _show(value: Any) -> str:
    return json.dumps(value)


def _flat(prefix: str, value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [row for k, v in value.items() for row in _flat(f"{prefix}.{k}", v)]
    return [(prefix, value)]


def describe(config: ClinicConfig) -> list[tuple[str, str, str]]:
    """Every value in force as (dotted key, value, where it came from)."""
    rows = [row for k, v in rules_mapping(config).items() for row in _flat(k, v)]
    rows.append(("bays", list(config.bays)))
    rows.append(("clinic_name", config.clinic_name))
    rows.append(("idle_lock_min", config.idle_lock_min))
    rows.append(("pdf_fonts", list(config.pdf_fonts)))

    def source_of(key: str) -> str:
        if key in config.sources:
            return config.sources[key]
        # A protocol rebuilt from infusion_min takes that key's source for its schedule.
        parent = key.rsplit(".", 1)[0]
        for candidate in (f"{parent}.infusion_min", f"{parent}.observe_after_infusion_min"):
            if candidate in config.sources:
                return config.sources[candidate]
        return DEFAULT_SOURCE

    return [(key, _show(value), source_of(key)) for key, value in rows]


# -- the clinic's rules as versions, a station's settings ------------------------------------

#: A station's own settings (``--config PATH``): never a clinical rule (docs/configuration.md).
STATION_KEYS = frozenset({"clinic_name", "bays", "idle_lock_min", "pdf_fonts"})
#: The clinic's rules: kept in the database as versions a supervisor loads.
RULE_KEYS = frozenset({"thresholds", "protocols", "windows", "discharge", "security"})
#: The longest rules document a version takes, in characters.
RULES_TEXT_MAX = 64 * 1024

#: The command that changes the clinic's rules, named in every refusal that points to it.
LOAD_COMMAND = "monitor config load FILE --by SUPERVISOR --reason TEXT"


def parse_toml(text: str, what: str) -> dict[str, Any]:
    """A TOML document as a mapping; a refusal naming ``what`` for anything else (too long,
    not text, not TOML)."""
    if len(text) > RULES_TEXT_MAX:
        raise ConfigError(f"{what} is {len(text)} characters long: at most {RULES_TEXT_MAX}")
    if "\x00" in text:
        raise ConfigError(f"{what} is not text (it holds NUL characters)")
    if not text.strip():
        return {}  # the shipped defaults (version 1's usual body): no parser needed
    import tomllib  # only when there is a document to read (issue #23: a save's start-up)

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        detail = " ".join(str(error).split())
        raise ConfigError(f"{what} is not valid TOML: {detail}") from None


def station_from_mapping(data: Mapping[str, Any], source: str) -> ClinicConfig:
    """A station's settings (``clinic_name``, ``bays``, ``idle_lock_min``; ``pdf_fonts`` is read
    by monitor/config_file.py) from its ``--config`` file, over the defaults. A clinical rule
    there is refused: no command judges under rules of its own."""
    rules = sorted(set(data) & RULE_KEYS)
    if rules:
        raise ConfigError(
            f"{source}: '{rules[0]}' is one of the clinic's rules, which live in the database "
            f"as versions: a supervisor changes them with `{LOAD_COMMAND}`; --config holds only "
            "the station's clinic_name, bays, idle_lock_min and pdf_fonts"
        )
    _unknown("", data, set(STATION_KEYS))
    return config_from_mapping(data, source)


def rules_from_mapping(data: Mapping[str, Any], source: str) -> ClinicConfig:
    """The clinic's rules of one version (a parsed TOML document over the shipped defaults),
    each value set there attributed to ``source``. Refused, naming the key or the rule, for a
    station-local key, an unknown key or a bad value, and below a safety floor."""
    local = sorted(set(data) & STATION_KEYS)
    if local:
        raise ConfigError(
            f"config: '{local[0]}' is a station's setting, not one of the clinic's rules: put it "
            "in the station's --config file"
        )
    config = config_from_mapping(data, source)
    check_floors(config)
    return config


def rules_from_text(
    text: str, source: str, what: str = "the rules file", *, stored: bool = False
) -> ClinicConfig:
    """:func:`rules_from_mapping` of a TOML document (a version's body; ``""`` is the
    shipped defaults). ``stored``: the body of a version the database keeps, read with each
    number past its bound brought to that bound (docs/configuration.md, "Bounds"), so that a
    version loaded before a bound existed stays readable; a new version is refused instead."""
    with stored_version(stored):
        return rules_from_mapping(parse_toml(text, what), source)


def with_station(rules: ClinicConfig, station: ClinicConfig) -> ClinicConfig:
    """The clinic's rules with a station's own settings (:data:`STATION_KEYS`)."""
    sources = {k: v for k, v in rules.sources.items() if k not in STATION_KEYS}
    sources.update({k: v for k, v in station.sources.items() if k in STATION_KEYS})
    local = {key: getattr(station, key) for key in STATION_KEYS}
    return replace(rules, sources=sources, **local)


def station_of(config: ClinicConfig) -> ClinicConfig:
    """Only a configuration's station settings, over the defaults for everything else."""
    return with_station(ClinicConfig(), config)


# -- safety floors ---------------------------------------------------------------------------

#: REMS: an esketamine session is observed at least this long (docs/clinical.md).
ESKETAMINE_MIN_OBSERVATION = 120
#: An esketamine pre-discharge check may come at most this much before the minimum.
PRE_DISCHARGE_SLACK = 5
#: The discharge gate asks at least this SpO2 in every version.
SPO2_FLOOR = 90
#: ... and at least this MOAA/S (5: responds readily to name in normal tone).
MOAAS_FLOOR = 5


def is_esketamine(key: str, protocol: Protocol) -> bool:
    """Whether a protocol gives esketamine (its key, or its treatment, says so)."""
    return key.startswith("esketamine") or "esketamine" in protocol.treatment.lower()


def floor_breaches(config: ClinicConfig) -> list[str]:
    """Every safety floor the rules break (docs/configuration.md, "Safety floors"), each
    naming its key and the rule; empty when all hold."""
    breaches: list[str] = []
    for key, protocol in sorted(config.protocols.items()):
        if not is_esketamine(key, protocol):
            continue
        minimum = protocol.minimum_observation_min
        if minimum < ESKETAMINE_MIN_OBSERVATION:
            breaches.append(
                f"protocols.{key}.minimum_observation_min is {minimum}: esketamine is observed "
                f"at least {ESKETAMINE_MIN_OBSERVATION} min (REMS)"
            )
        earliest = max(minimum, ESKETAMINE_MIN_OBSERVATION) - PRE_DISCHARGE_SLACK
        check = protocol.pre_discharge.at_min
        if check < earliest:
            breaches.append(
                f"protocols.{key}: the pre-discharge check at +{check} min is earlier than the "
                f"minimum observation less {PRE_DISCHARGE_SLACK} min (+{earliest})"
            )
    if config.discharge.spo2_min < SPO2_FLOOR:
        breaches.append(
            f"discharge.spo2_min is {config.discharge.spo2_min}: the gate asks SpO2 >= "
            f"{SPO2_FLOOR} at the least"
        )
    if config.discharge.moaas_min < MOAAS_FLOOR:
        breaches.append(
            f"discharge.moaas_min is {config.discharge.moaas_min}: the gate asks MOAA/S "
            f"{MOAAS_FLOOR} (responds readily to name)"
        )
    shipped = ClinicConfig().thresholds.absolute.bands
    for measure in Measure:
        if not shipped.get(measure, {}).get(Severity.HIGH):
            continue  # a measure with no high band by default (CADSS) has none to keep
        bands = config.thresholds.absolute.bands.get(measure, {}).get(Severity.HIGH, ())
        low, high = POSSIBLE_RANGES[measure]
        if not any(
            (b.low is None or b.low <= high) and (b.high is None or b.high >= low) for b in bands
        ):
            breaches.append(
                f"thresholds.{measure.value}.high flags no possible value: every measure keeps "
                "a high band"
            )
    return breaches


def check_floors(config: ClinicConfig) -> None:
    """Refuse rules that break a safety floor, naming every one broken."""
    breaches = floor_breaches(config)
    if breaches:
        raise ConfigError("config: below a safety floor: " + "; ".join(breaches))


# -- the rules as a document -------------------------------------------------------------------


def _ints(target: Any) -> dict[str, int]:
    return {f.name: getattr(target, f.name) for f in fields(target) if f.type in ("int", int)}


def _protocol_mapping(protocol: Protocol) -> dict[str, Any]:
    table: dict[str, Any] = {"treatment": protocol.treatment}
    if protocol.infusion_min is not None:
        table["infusion_min"] = protocol.infusion_min
    if protocol.observe_after_infusion_min is not None:
        table["observe_after_infusion_min"] = protocol.observe_after_infusion_min
    table["minimum_observation_min"] = protocol.minimum_observation_min
    table["baseline"] = [m.value for m in protocol.baseline]
    pre = protocol.pre_discharge
    table["checks"] = [
        {"at": c.at_min, "measures": [m.value for m in c.measures]}
        | ({"pre_discharge": True} if c is pre else {})
        for c in protocol.checks
    ]
    return table


def rules_mapping(config: ClinicConfig) -> dict[str, Any]:
    """Every rule's value as a TOML document's mapping: loaded as a version, it gives the same
    rules (``monitor config export``). A station's settings are not in it."""
    bands = config.thresholds.absolute.bands
    thresholds: dict[str, Any] = {
        measure.value: {
            severity.value: [b.text for b in bands.get(measure, {}).get(severity, ())]
            for severity in Severity
        }
        for measure in Measure
    }
    thresholds["before_dosing"] = _ints(config.thresholds.predose)
    thresholds["rise"] = _ints(config.thresholds.rise)
    return {
        "thresholds": thresholds,
        "windows": _ints(config.windows),
        "discharge": _ints(config.discharge),
        "security": _ints(config.security),
        "protocols": {k: _protocol_mapping(p) for k, p in sorted(config.protocols.items())},
    }


def rule_changes(before: ClinicConfig, after: ClinicConfig) -> list[tuple[str, str, str]]:
    """The rules whose value differs: (dotted key, value before, value after); a key only one
    side has shows ``-`` on the other."""
    old = {k: v for k, v, _ in describe(before) if k.split(".")[0] not in STATION_KEYS}
    new = {k: v for k, v, _ in describe(after) if k.split(".")[0] not in STATION_KEYS}
    return [
        (key, old.get(key, "-"), new.get(key, "-"))
        for key in [*old, *(k for k in new if k not in old)]
        if old.get(key) != new.get(key)
    ]
