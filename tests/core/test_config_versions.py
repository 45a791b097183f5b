"""The clinic's rules as a version: the safety floors no version breaks, station settings kept
apart, and a version written out and read back unchanged (docs/configuration.md)."""

from __future__ import annotations

import tomllib

import pytest

from monitor.config_file import rules_toml, upgrade_rules, write_toml
from monitor.core.config import (
    ClinicConfig,
    check_floors,
    config_from_mapping,
    describe,
    floor_breaches,
    rule_changes,
    rules_from_mapping,
    rules_from_text,
    rules_mapping,
    with_station,
)
from monitor.errors import ConfigError


def esketamine(minimum: int, pre: int) -> dict:
    return {
        "minimum_observation_min": minimum,
        "checks": [
            {"at": 40, "measures": ["bp", "hr", "spo2", "moaas", "cadss"]},
            {"at": pre, "measures": ["bp", "hr", "spo2", "moaas", "cadss"], "pre_discharge": True},
        ],
    }


def test_the_shipped_defaults_hold_every_floor():
    assert floor_breaches(ClinicConfig()) == []
    assert rules_from_text("", "version 1 (shipped defaults)") == ClinicConfig()


@pytest.mark.parametrize(
    ("data", "named"),
    [
        (
            {"protocols": {"esketamine-84": {"minimum_observation_min": 30}}},
            "protocols.esketamine-84.minimum_observation_min is 30: esketamine is observed at "
            "least 120 min (REMS)",
        ),
        (
            {"protocols": {"esketamine-56": esketamine(120, 114)}},
            "protocols.esketamine-56: the pre-discharge check at +114 min is earlier than",
        ),
        (
            {"protocols": {"esketamine-56": esketamine(150, 140)}},
            "earlier than the minimum observation less 5 min (+145)",
        ),
        (
            # A clinic's own esketamine protocol is held to the same floors.
            {
                "protocols": {
                    "spravato-28": {"treatment": "intranasal esketamine 28 mg"} | esketamine(60, 60)
                }
            },
            "protocols.spravato-28.minimum_observation_min is 60",
        ),
        ({"discharge": {"spo2_min": 89}}, "discharge.spo2_min is 89: the gate asks SpO2 >= 90"),
        ({"discharge": {"moaas_min": 4}}, "discharge.moaas_min is 4: the gate asks MOAA/S 5"),
        ({"thresholds": {"spo2": {"high": []}}}, "thresholds.spo2.high flags no possible value"),
        ({"thresholds": {"spo2": {"high": ["<=40"]}}}, "thresholds.spo2.high flags no possible"),
        ({"thresholds": {"systolic": {"high": [">=400"]}}}, "thresholds.systolic.high flags no"),
        ({"thresholds": {"moaas": {"high": []}}}, "thresholds.moaas.high flags no possible value"),
    ],
)
def test_a_version_below_a_safety_floor_is_refused_naming_the_rule(data, named):
    with pytest.raises(ConfigError, match="below a safety floor") as caught:
        rules_from_mapping(data, "version 2 (lax.toml)")
    assert named in str(caught.value)
    assert "\n" not in str(caught.value)


def test_the_floors_themselves_are_allowed():
    rules = rules_from_mapping(
        {
            "protocols": {"esketamine-84": esketamine(120, 115)},
            "discharge": {"spo2_min": 90, "moaas_min": 5},
            "thresholds": {"spo2": {"high": ["<=50"]}, "cadss": {"high": []}},
        },
        "version 2 (edge.toml)",
    )
    check_floors(rules)
    assert rules.protocol("esketamine-84").pre_discharge.at_min == 115
    # An IV or IM protocol has no REMS floor.
    rules_from_mapping({"protocols": {"ketamine-im": {"minimum_observation_min": 30}}}, "v")


def test_every_floor_broken_is_named_in_one_line():
    with pytest.raises(ConfigError) as caught:
        rules_from_text(
            "[discharge]\nspo2_min = 80\nmoaas_min = 3\n"
            "[protocols.esketamine-84]\nminimum_observation_min = 30\n",
            "v",
        )
    message = str(caught.value)
    assert message.count(";") == 2
    for key in ("spo2_min", "moaas_min", "minimum_observation_min"):
        assert key in message


@pytest.mark.parametrize("key", ["bays", "clinic_name"])
def test_a_station_setting_is_not_a_rule(key):
    with pytest.raises(ConfigError, match=f"'{key}' is a station's setting.*--config"):
        rules_from_mapping({key: ["Bay 1"] if key == "bays" else "Riverside"}, "v")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[discharge\n", "not valid TOML"),
        ("x = 1\0", "not text"),
        ("# " + "x" * 70_000, "characters long"),
        ("[windows]\nlate = 5\n", "unknown key 'windows.late'"),
        ("[discharge]\nmoaas = 5\n", "now discharge.moaas_min"),
    ],
    ids=lambda value: repr(value)[:30],
)
def test_a_bad_document_is_one_line(text, says):
    with pytest.raises(ConfigError, match=says) as caught:
        rules_from_text(text, "v")
    assert "\n" not in str(caught.value)


def _values(config: ClinicConfig) -> list[tuple[str, str]]:
    return [(key, value) for key, value, _ in describe(config)]


def test_a_version_written_out_reads_back_with_the_same_values():
    custom = config_from_mapping(
        {
            "thresholds": {"heart_rate": {"high": ["<=35", ">=140"], "low": []}},
            "windows": {"late_min": 20},
            "discharge": {"spo2_min": 95, "recent_set_min": 20},
            "security": {"lockout_after": 3},
            "protocols": {
                "ketamine-iv": {"infusion_min": 60, "observe_after_infusion_min": 90},
                "ketamine-oral": {
                    "treatment": "oral ketamine",
                    "minimum_observation_min": 90,
                    "checks": [
                        {"at": 30, "measures": ["bp", "hr"]},
                        {"at": 90, "measures": ["bp", "moaas"], "pre_discharge": True},
                    ],
                },
            },
        },
        "version 2 (clinic.toml)",
    )
    for config in (ClinicConfig(), custom):
        text = rules_toml(config, "heading\nsecond line")
        assert text.startswith("# heading\n# second line\n")
        again = rules_from_text(text, "version 3 (export.toml)")
        assert _values(again) == _values(config)
        assert again.protocols == config.protocols
        assert rule_changes(config, again) == []
        assert tomllib.loads(text) == rules_mapping(config)


def test_rule_changes_name_what_differs():
    before = ClinicConfig()
    after = rules_from_text("[discharge]\nspo2_min = 95\n", "v")
    assert rule_changes(before, after) == [("discharge.spo2_min", "94", "95")]


def test_a_station_keeps_its_settings_over_any_version():
    station = config_from_mapping({"bays": ["A"], "clinic_name": "Riverside"}, "station.toml")
    rules = rules_from_text("[discharge]\nspo2_min = 95\n", "version 2 (clinic.toml)")
    both = with_station(rules, station)
    sources = {key: source for key, _, source in describe(both)}
    assert (both.bays, both.clinic_name, both.discharge.spo2_min) == (("A",), "Riverside", 95)
    assert sources["bays"] == "station.toml"
    assert sources["discharge.spo2_min"] == "version 2 (clinic.toml)"
    assert sources["discharge.cadss_max"] == "default"


def test_a_clinics_file_at_the_upgrade_gives_version_1_its_rules(tmp_path):
    path = tmp_path / "clinic.toml"
    path.write_text("# our rules\n[discharge]\nspo2_min = 95\n")
    assert upgrade_rules(path) == {"body": path.read_text(), "source": "clinic.toml"}
    path.write_text('clinic_name = "Riverside"\nbays = ["A"]\n[discharge]\nspo2_min = 95\n')
    rules = upgrade_rules(path)
    assert rules is not None
    assert tomllib.loads(rules["body"]) == {"discharge": {"spo2_min": 95}}
    path.write_text('bays = ["A"]\n')
    assert upgrade_rules(path) is None
    path.write_text("[discharge]\nspo2_min = 80\n")
    with pytest.raises(ConfigError, match=r"discharge.spo2_min is 80.*nothing was changed"):
        upgrade_rules(path)
    path.write_text("colour = 1\n")
    with pytest.raises(ConfigError, match="unknown key 'colour'"):
        upgrade_rules(path)
    assert write_toml({"a": {"b": [1]}}) == "[a]\nb = [\n    1,\n]\n"
