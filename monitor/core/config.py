"""The clinic configuration: the shipped defaults, and overrides read from a mapping.

Every value is a configurable default, not clinical advice (docs/clinical.md). The medical director
overrides any of them in a TOML file; :mod:`monitor.config_file` reads the file, this module
validates what is in it, with messages that name the key and the problem, and remembers where
each value in force came from.

```toml
clinic_name = "Riverside Clinic"  # on the printed session record (monitor export)
bays = ["Bay 1", "Bay 2"]
[thresholds.heart_rate]          # systolic, diastolic, heart_rate, spo2, resp_rate, moaas, cadss
high = ["<=40", ">=131"]         # bands: "<=N", ">=N", "<N", ">N", "N-M", "N"
[thresholds.before_dosing]       # systolic_max, systolic_max_older, older_age, diastolic_max
[thresholds.rise]                # systolic, diastolic
[windows]                        # early_min, on_time_min, late_min, recheck_min
[discharge]                      # moaas, cadss_max, spo2_min
[protocols.ketamine-iv]          # infusion_min, observe_after_infusion_min,
infusion_min = 40                # minimum_observation_min, baseline, checks, treatment
```
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

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
from monitor.core.vitals import CheckMeasure, Measure
from monitor.errors import ConfigError

DEFAULT_SOURCE = "default"


@dataclass(frozen=True)
class Security:
    """PIN lockout: this many refused PINs in a row lock a user for ``lockout_min``."""

    lockout_after: int = 5
    lockout_min: int = 15


#: The longest clinic name the printed record takes (as `monitor export --clinic`).
CLINIC_NAME_MAX = 80


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
    #: Where each overridden value came from, by dotted key; absent means the default.
    sources: dict[str, str] = field(default_factory=dict)

    def protocol(self, key: str) -> Protocol:
        """The protocol for a key, or a refusal listing the known keys."""
        try:
            return self.protocols[key]
        except KeyError:
            known = ", ".join(sorted(self.protocols))
            raise ConfigError(f"unknown protocol '{key}': use one of {known}") from None


def _int(key: str, value: Any, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"config: {key} must be a whole number, got {value!r}")
    if value < minimum:
        raise ConfigError(f"config: {key} must be at least {minimum}, got {value}")
    return value


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
        if not isinstance(table["treatment"], str):
            raise ConfigError(f"config: {key}.treatment must be text")
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
        {"thresholds", "protocols", "windows", "discharge", "bays", "security", "clinic_name"},
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
        if security.lockout_after < 1 or security.lockout_min < 1:
            raise ConfigError("config: security.lockout_after and lockout_min must be at least 1")
    if "thresholds" in data:
        thresholds = _thresholds(
            _table("thresholds", data["thresholds"]), thresholds, sources, source
        )
    if "windows" in data:
        windows = _int_fields(
            "windows", _table("windows", data["windows"]), windows, sources, source
        )
    if "discharge" in data:
        discharge = _int_fields(
            "discharge", _table("discharge", data["discharge"]), discharge, sources, source
        )
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
    return ClinicConfig(
        thresholds, protocols, windows, discharge, bays, security, clinic_name, sources
    )


def _show(value: Any) -> str:
    return json.dumps(value)


def describe(config: ClinicConfig) -> list[tuple[str, str, str]]:
    """Every value in force as (dotted key, value, where it came from)."""
    rows: list[tuple[str, Any]] = []
    for measure, by_severity in config.thresholds.absolute.bands.items():
        for severity in Severity:
            texts = [b.text for b in by_severity.get(severity, ())]
            rows.append((f"thresholds.{measure.value}.{severity.value}", texts))
    for name, target in (
        ("thresholds.before_dosing", config.thresholds.predose),
        ("thresholds.rise", config.thresholds.rise),
        ("windows", config.windows),
        ("discharge", config.discharge),
        ("security", config.security),
    ):
        for f in fields(target):
            if f.type in ("int", int):
                rows.append((f"{name}.{f.name}", getattr(target, f.name)))
    for key, protocol in sorted(config.protocols.items()):
        prefix = f"protocols.{key}"
        rows.append((f"{prefix}.treatment", protocol.treatment))
        if protocol.infusion_min is not None:
            rows.append((f"{prefix}.infusion_min", protocol.infusion_min))
        rows.append((f"{prefix}.minimum_observation_min", protocol.minimum_observation_min))
        rows.append((f"{prefix}.baseline", [m.value for m in protocol.baseline]))
        rows.append(
            (
                f"{prefix}.checks",
                [
                    {"at": c.at_min, "measures": [m.value for m in c.measures]}
                    | ({"pre_discharge": True} if c is protocol.pre_discharge else {})
                    for c in protocol.checks
                ],
            )
        )
    rows.append(("bays", list(config.bays)))
    rows.append(("clinic_name", config.clinic_name))

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
