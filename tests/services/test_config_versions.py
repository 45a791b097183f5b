"""The clinic's rules live in the database (docs/configuration.md): numbered versions a
supervisor loads with a reason, audited, append-only, the highest in force for every station
at once; refusals save nothing. Both backends."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import literal, select, text

import monitor.services.config as config_services
from monitor.core.config import ClinicConfig, config_from_mapping
from monitor.core.rules import Severity
from monitor.errors import ConfigError, EntryError, NotFound, PermissionDenied, Refused
from monitor.services import Service
from monitor.store.engine import make_engine
from tests.conftest import drop_pg_database, new_pg_database
from tests.helpers import at

STRICTER_SPO2 = '[thresholds.spo2]\nhigh = ["<=93"]\nmedium = ["94"]\nlow = ["95"]\n'


def count_versions(service: Service) -> int:
    with service.engine.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM config_versions")).scalar_one()


def loads_audited(service: Service) -> int:
    return sum(1 for row in service.audit() if row.action == "config.load")


def test_a_new_database_starts_at_version_1_the_shipped_defaults(service):
    number, rules = service.rules_in_force()
    assert number == 1
    assert rules == ClinicConfig()
    assert service.rules_of(None) is service.rules_of(1)
    assert service.config == rules
    [first] = service.config_versions()
    assert (first.number, first.by, first.body, first.source) == (1, None, "", "shipped defaults")
    assert service.config_version(1) == first
    with pytest.raises(NotFound, match="no version 7 of the clinic's rules"):
        service.config_version(7)
    with pytest.raises(NotFound, match="monitor config history"):
        service.rules_of(7)


def test_a_supervisor_loads_the_next_version_and_every_station_judges_by_it(service, clock):
    other_station = Service(service.engine, clock=clock)
    assert other_station.rules_in_force()[0] == 1
    sid = service.start_session(patient="P1", protocol="ketamine-im", by="ana")
    before = service.record_reading(sid, "spo2 94", by="ana")
    assert [f.severity for f in before.flags] == [Severity.LOW]

    version = service.load_config(
        STRICTER_SPO2, source="clinic.toml", by="sam", reason="medical director, memo 12"
    )
    assert (version.number, version.by, version.source) == (2, "sam", "clinic.toml")
    assert version.reason == "medical director, memo 12"
    assert version.body == STRICTER_SPO2
    assert version.at == clock()

    # Every station, already open, judges by the new version from the next action on.
    number, rules = other_station.rules_in_force()
    assert number == 2
    assert rules.sources["thresholds.spo2.high"] == "version 2 (clinic.toml)"
    after = other_station.record_reading(sid, "spo2 93", by="ana")
    assert [f.severity for f in after.flags] == [Severity.HIGH]
    assert other_station.config.thresholds == rules.thresholds

    assert [v.number for v in service.config_versions()] == [1, 2]
    assert service.config_version(2) == version
    [audit] = [row for row in service.audit() if row.action == "config.load"]
    assert (audit.user, audit.entity, audit.entity_id) == ("sam", "config_version", 2)
    assert audit.reason == "medical director, memo 12"
    assert json.loads(audit.after or "{}")["changed"] == [
        "thresholds.spo2.high",
        "thresholds.spo2.medium",
        "thresholds.spo2.low",
    ]
    # The rules of a version never change: parsed once.
    assert service.rules_of(2) is service.rules_of(2)
    assert service.rules_of(1) == ClinicConfig()


def test_rules_in_force_reads_in_the_callers_transaction(service):
    with service._action() as session:
        assert service.rules_in_force(session)[0] == 1
    with service.engine.connect() as connection:
        assert service.rules_in_force(connection)[0] == 1


def test_a_version_is_whole_over_the_defaults_not_over_the_previous_one(service):
    service.load_config("[discharge]\nspo2_min = 96\n", source="a.toml", by="sam", reason="a")
    service.load_config("[windows]\nlate_min = 20\n", source="b.toml", by="sam", reason="b")
    number, rules = service.rules_in_force()
    assert (number, rules.discharge.spo2_min, rules.windows.late_min) == (3, 94, 20)
    assert service.rules_of(2).discharge.spo2_min == 96


def test_the_stations_own_settings_come_from_its_config_not_the_database(service, clock):
    station = config_from_mapping(
        {"bays": ["Bay 9"], "clinic_name": "Riverside", "discharge": {"spo2_min": 80}}, "st.toml"
    )
    here = Service(service.engine, station, clock)
    rules = here.config
    assert (rules.bays, rules.clinic_name) == (("Bay 9",), "Riverside")
    assert rules.discharge.spo2_min == 94  # a clinical rule given to a station is not used
    assert here.local.discharge.spo2_min == 94
    service.load_config("[discharge]\nspo2_min = 95\n", source="c.toml", by="sam", reason="c")
    assert (here.config.bays, here.config.discharge.spo2_min) == (("Bay 9",), 95)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("[discharge\n", "not valid TOML"),
        ("[discharge]\nspo2 = 95\n", "unknown key 'discharge.spo2'"),
        ("[discharge]\nmoaas = 4\n", "discharge.moaas is now discharge.moaas_min"),
        ("[discharge]\nspo2_min = 86\n", "below a safety floor: discharge.spo2_min is 86"),
        ("[thresholds.spo2]\nhigh = []\n", "thresholds.spo2.high flags no possible value"),
        (
            "[protocols.esketamine-84]\nminimum_observation_min = 30\n",
            r"esketamine is observed at least 120 min \(REMS\)",
        ),
        ('bays = ["Bay 1"]\n', "'bays' is a station's setting"),
        ('clinic_name = "X"\n', "put it in the station's --config file"),
        ("x" * 70_000, "characters long"),
        ("a = 1\0\x01\x02", "not text"),
    ],
    ids=lambda value: repr(value)[:30],
)
def test_a_bad_version_is_refused_in_one_line_and_nothing_is_saved(service, body, says):
    with pytest.raises(ConfigError, match=says) as caught:
        service.load_config(body, source="lax.toml", by="sam", reason="try")
    assert "\n" not in str(caught.value)
    assert count_versions(service) == 1
    assert loads_audited(service) == 0
    assert service.rules_in_force()[0] == 1


def test_only_a_supervisor_loads_with_a_reason(service):
    with pytest.raises(PermissionDenied, match="only a supervisor"):
        service.load_config("", source="a.toml", by="ana", reason="I prefer these")
    with pytest.raises(NotFound, match="unknown user 'eve'"):
        service.load_config("", source="a.toml", by="eve", reason="x")
    for reason in ("", "   ", "two\nlines", "x" * 501):
        with pytest.raises(EntryError, match="the reason"):
            service.load_config("", source="a.toml", by="sam", reason=reason)
    assert count_versions(service) == 1
    assert loads_audited(service) == 0


def test_a_version_loaded_at_the_same_moment_asks_to_try_again(service, monkeypatch):
    """Two supervisors loading at once both take max + 1: the second insert collides on the
    primary key and is refused in one line, with nothing saved."""
    service.load_config("", source="first.toml", by="sam", reason="first")
    monkeypatch.setattr(config_services, "_NEWEST", select(literal(1)))
    with pytest.raises(Refused, match="loaded at the same moment: nothing was saved; try again"):
        service.load_config("", source="second.toml", by="sam", reason="second")
    monkeypatch.undo()
    assert [v.source for v in service.config_versions()] == ["shipped defaults", "first.toml"]
    assert loads_audited(service) == 1


@pytest.mark.postgres
def test_concurrent_loads_on_postgresql_each_make_their_own_version(pg_template, clock):
    db_url, name = new_pg_database(pg_template)
    first = Service.open(db_url, clock=clock)
    first.add_user("sam", "supervisor", "9999")
    results: list[object] = []

    def load(n: int) -> None:
        station = Service.open(db_url, clock=clock)
        try:
            results.append(station.load_config("", source=f"{n}.toml", by="sam", reason=str(n)))
        except Refused as error:
            results.append(error)
        finally:
            station.close()

    threads = [threading.Thread(target=load, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    made = [r.number for r in results if not isinstance(r, Exception)]
    refused = [str(r) for r in results if isinstance(r, Exception)]
    assert made
    assert sorted(made) == list(range(2, 2 + len(made)))
    assert all("try again" in message for message in refused)
    assert count_versions(first) == 1 + len(made)
    first.close()
    drop_pg_database(name)


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE config_versions SET body = '[discharge]\nspo2_min = 80'",
        "UPDATE config_versions SET reason = 'rewritten' WHERE id = 1",
        "DELETE FROM config_versions",
        "DELETE FROM config_versions WHERE id = (SELECT MAX(id) FROM config_versions)",
    ],
)
def test_the_database_refuses_to_rewrite_a_version(service, sql):
    service.load_config("[discharge]\nspo2_min = 95\n", source="a.toml", by="sam", reason="a")
    before = [(v.number, v.body, v.reason) for v in service.config_versions()]
    engine = make_engine(service.engine.url.render_as_string(hide_password=False))
    try:
        with (
            pytest.raises(Exception, match=r"(monitor|refused|append-only|never)"),
            engine.begin() as connection,
        ):
            connection.execute(text(sql))
    finally:
        engine.dispose()
    assert [(v.number, v.body, v.reason) for v in service.config_versions()] == before
    assert service.rules_in_force()[1].discharge.spo2_min == 95


def test_a_session_judged_now_follows_the_version_in_force(service, clock):
    service.load_config(
        "[protocols.ketamine-im]\nminimum_observation_min = 90\n"
        'checks = [{at = 30, measures = ["bp"]}, {at = 90, measures = ["bp"], '
        "pre_discharge = true}]\n",
        source="im.toml",
        by="sam",
        reason="longer IM observation",
    )
    clock.set(at(-10))
    sid = service.start_session(patient="P2", protocol="ketamine-im", by="ana")
    schedule = service.session(sid).schedule
    assert schedule is not None
    assert schedule.minimum_observation_min == 90
