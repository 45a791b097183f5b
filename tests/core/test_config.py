"""Clinic configuration: overrides, validation messages, and where each value came from."""

from __future__ import annotations

import pytest

from monitor.config_file import load_config
from monitor.core.config import ClinicConfig, config_from_mapping, describe, rules_from_text
from monitor.core.rules import Severity, Thresholds, evaluate
from monitor.core.vitals import Measure, Vitals
from monitor.errors import ConfigError


def test_defaults_say_they_are_defaults():
    rows = describe(ClinicConfig())
    assert all(source == "default" for _, _, source in rows)
    keys = {key for key, _, _ in rows}
    assert "thresholds.heart_rate.high" in keys
    assert "protocols.ketamine-iv.infusion_min" in keys
    assert "discharge.spo2_min" in keys


def test_a_version_overrides_thresholds_schedules_and_names_its_source():
    source = "version 2 (clinic.toml)"
    config = rules_from_text(
        """
[thresholds.heart_rate]
high = ["<=35", ">=140"]
[thresholds.before_dosing]
systolic_max = 150
[thresholds.rise]
systolic = 30
[windows]
late_min = 20
[discharge]
spo2_min = 95
[protocols.ketamine-iv]
infusion_min = 60
[protocols.esketamine-84]
minimum_observation_min = 150
checks = [{at = 40, measures = ["bp"]}, {at = 150, measures = ["bp"], pre_discharge = true}]
""",
        source,
    )
    hr_high = config.thresholds.absolute.bands[Measure.HEART_RATE][Severity.HIGH]
    assert [b.text for b in hr_high] == ["<= 35", ">= 140"]
    assert config.thresholds.predose.systolic_max == 150
    assert config.thresholds.rise.systolic == 30
    assert config.windows.late_min == 20
    assert config.discharge.spo2_min == 95
    assert config.protocol("ketamine-iv").minimum_observation_min == 120
    assert config.protocol("esketamine-84").minimum_observation_min == 150
    sources = {key: source for key, _, source in describe(config)}
    assert sources["thresholds.heart_rate.high"] == source
    assert sources["thresholds.heart_rate.medium"] == "default"
    assert sources["protocols.ketamine-iv.checks"] == source
    assert sources["protocols.esketamine-56.minimum_observation_min"] == "default"

    def hr_flags(value):
        return [
            f.severity
            for f in evaluate(
                Vitals(heart_rate=value),
                before_dosing=False,
                age=None,
                baseline=Vitals(),
                thresholds=config.thresholds,
            )
        ]

    assert hr_flags(35) == [Severity.HIGH]
    assert hr_flags(40) == []  # the clinic moved the high band to <= 35
    assert hr_flags(140) == [Severity.HIGH]
    assert hr_flags(135) == []  # between the default medium band and the new high band


def test_custom_check_list(tmp_path):
    config = config_from_mapping(
        {
            "protocols": {
                "ketamine-im": {
                    "checks": [
                        {"at": 20, "measures": ["bp", "hr"]},
                        {"at": 45, "measures": ["bp", "moaas"], "pre_discharge": True},
                    ],
                    "minimum_observation_min": 45,
                }
            }
        },
        "test",
    )
    protocol = config.protocol("ketamine-im")
    assert [c.at_min for c in protocol.checks] == [20, 45]
    assert protocol.pre_discharge.at_min == 45


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"thresholdz": {}}, "'thresholdz'"),
        ({"thresholds": {"pulse": {}}}, "'thresholds.pulse'"),
        ({"thresholds": {"heart_rate": {"severe": []}}}, "'thresholds.heart_rate.severe'"),
        ({"thresholds": {"heart_rate": {"high": ["abc"]}}}, "thresholds.heart_rate.high"),
        ({"thresholds": {"heart_rate": {"high": ">=131"}}}, "thresholds.heart_rate.high"),
        ({"thresholds": {"rise": {"systolic": "forty"}}}, "thresholds.rise.systolic"),
        ({"thresholds": {"rise": {"systolic": -1}}}, "thresholds.rise.systolic"),
        ({"windows": {"late_min": True}}, "windows.late_min"),
        ({"discharge": {"spo2": 94}}, "'discharge.spo2'"),
        ({"discharge": {"moaas": 5}}, "discharge.moaas is now discharge.moaas_min"),
        ({"discharge": {"moaas_min": 6}}, "discharge.moaas_min must be at most 5"),
        ({"protocols": {"bad key!": {"treatment": "x"}}}, "protocol key 'bad key!'"),
        ({"protocols": {"ketamine-im": {"treatment": "a\x1b[2J"}}}, "treatment must be one line"),
        ({"protocols": {"ketamine-iv": {"infusion_min": 0}}}, "protocols.ketamine-iv.infusion_min"),
        ({"protocols": {"esketamine-84": {"infusion_min": 30}}}, "ketamine-iv only"),
        ({"protocols": {"oral": {"treatment": "x"}}}, "protocols.oral is a new protocol"),
        (
            {"protocols": {"ketamine-im": {"checks": [{"at": 10, "measures": ["pulse"]}]}}},
            "protocols.ketamine-im.checks[0].measures",
        ),
        ({"bays": "Bay 1"}, "bays"),
    ],
)
def test_invalid_values_are_refused_naming_the_key(data, named):
    with pytest.raises(ConfigError) as caught:
        config_from_mapping(data, "test")
    assert named in str(caught.value)


def test_missing_and_malformed_files_are_one_line_errors(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[thresholds\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="is a folder"):
        load_config(tmp_path)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00\x01" * 10)
    with pytest.raises(ConfigError, match="not UTF-8 text"):
        load_config(binary)
    huge = tmp_path / "huge.toml"
    huge.write_text("# " + "x" * 70_000 + "\n")
    with pytest.raises(ConfigError, match="larger than 64 KiB"):
        load_config(huge)


def test_the_station_file_holds_only_the_station_settings(tmp_path):
    path = tmp_path / "station.toml"
    path.write_text('clinic_name = "Riverside"\nbays = ["Bay 1", "Bay 2"]\n')
    config = load_config(path)
    assert (config.clinic_name, config.bays) == ("Riverside", ("Bay 1", "Bay 2"))
    assert config.thresholds == Thresholds()
    for rule in ("[discharge]\nspo2_min = 95", "[thresholds.spo2]\nhigh = []", "[security]"):
        path.write_text(rule + "\n")
        with pytest.raises(ConfigError, match="monitor config load") as caught:
            load_config(path)
        assert "\n" not in str(caught.value)
    path.write_text("colour = 1\n")
    with pytest.raises(ConfigError, match="unknown key 'colour'; known here: bays, clinic_name"):
        load_config(path)


def test_unknown_protocol_lists_the_known_ones():
    with pytest.raises(ConfigError, match="esketamine-56, esketamine-84, ketamine-im, ketamine-iv"):
        ClinicConfig().protocol("ketamine-oral")


def test_thresholds_default_matches_clinic_default():
    assert ClinicConfig().thresholds == Thresholds()


def test_the_clinic_name_prints_on_exports_and_is_one_short_line():
    config = config_from_mapping({"clinic_name": "  Riverside Clinic  "}, "clinic.toml")
    assert config.clinic_name == "Riverside Clinic"
    assert ("clinic_name", '"Riverside Clinic"', "clinic.toml") in describe(config)
    assert ClinicConfig().clinic_name is None
    for bad in ("", "   ", "two\nlines", "x" * 81, 42, ["a"]):
        with pytest.raises(ConfigError, match="clinic_name must be one line"):
            config_from_mapping({"clinic_name": bad}, "clinic.toml")
