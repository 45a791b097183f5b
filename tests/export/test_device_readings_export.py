"""Readings from a bedside monitor in every export (issue #24, item 3), on both backends: the
CSV's ``source``, ``validated_by`` and ``validated_at`` (the fast line writer byte for byte what
the ``csv`` module writes, for a spreadsheet and for data), the PDF's "not validated" note and
the review's reminder, the chart's hollow unvalidated points, and FHIR's ``preliminary``
Observations with their device, ``final`` once a nurse validated them, the nurse their
performer."""

from __future__ import annotations

import csv
import io
import json

from monitor.export import Selection, export
from monitor.export.chart_plan import IN_PDF, plan
from monitor.export.csv_out import READING_COLUMNS
from monitor.export.fhir import DEVICE_SYSTEM
from monitor.present.json import session_json
from monitor.present.parts import plain
from monitor.present.review import review_lines
from monitor.present.validation import validation_text
from tests.export.test_export import expected_reading_rows, outdir, pdf_pages, read_csv
from tests.helpers import at
from tests.services.test_devices import CALM, HIGH_BP, dosed_in_bay

__all__ = ["outdir"]  # the fixture, used here by name

#: A device name a spreadsheet would run as a formula, were it a cell of its own.
RISKY = "=cmd|'/C calc',A0"


def device_session(service, clock) -> dict[str, int]:
    """A session in Bay 1 with a typed baseline, a high reading from MP5-001 that ana
    validated, and a calm one from another device of the bay that nobody has validated."""
    sid = dosed_in_bay(service, clock)
    service.add_device("MP5-001", bay="Bay 1", by="sam")
    service.add_device(RISKY, bay="Bay 1", by="sam")
    clock.set(at(15))
    high = service.record_from_device(
        "MP5-001", HIGH_BP, measured_at=at(15), message_id="1", by="ana"
    )
    clock.set(at(20))
    service.validate_readings([high.recorded.reading.id], by="ana")
    clock.set(at(31))
    calm = service.record_from_device(RISKY, CALM, measured_at=at(30), message_id="1", by="ana")
    clock.set(at(32))
    typed = service.session(sid).readings[0].id
    return {
        "session": sid,
        "typed": typed,
        "validated": high.recorded.reading.id,
        "waiting": calm.recorded.reading.id,
    }


def test_the_csv_says_where_each_reading_came_from_and_who_validated_it(service, clock, outdir):
    ids = device_session(service, clock)
    view = service.session(ids["session"])
    assert READING_COLUMNS[-3:] == ("source", "validated_by", "validated_at")
    for csv_for in ("spreadsheet", "data"):
        path = outdir / f"{csv_for}.csv"
        export(service, Selection(ids=(ids["session"],)), "csv", path, csv_for=csv_for)
        rows = read_csv(path)
        assert rows == expected_reading_rows(session_json(view)), csv_for
        by_id = {int(r["reading_id"]): r for r in rows}
        typed = by_id[ids["typed"]]
        assert typed["source"] == "typed"
        assert (typed["validated_by"], typed["validated_at"]) == ("ana", typed["recorded_at"])
        validated = by_id[ids["validated"]]
        assert validated["source"] == "device MP5-001"
        assert validated["validated_by"] == "ana"
        assert validated["validated_at"] == "2026-11-27T09:20:00+00:00"
        assert validated["highest_flag"] == "high"
        waiting = by_id[ids["waiting"]]
        # The device's name is quoted (a comma) and never a formula: the cell begins "device".
        assert waiting["source"] == f"device {RISKY}"
        assert (waiting["validated_by"], waiting["validated_at"]) == ("", "")
        # The fast line writer is byte for byte what the csv module writes.
        raw = path.read_bytes()
        again = io.StringIO(newline="")
        csv.writer(again).writerows(csv.reader(io.StringIO(raw.decode("utf-8"), newline="")))
        assert again.getvalue().encode("utf-8") == raw, csv_for


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_the_pdf_marks_device_readings_and_the_review_names_those_waiting(service, clock, outdir):
    ids = device_session(service, clock)
    path = outdir / "record.pdf"
    export(service, Selection(ids=(ids["session"],)), "pdf", path)
    text = _flat(" ".join(pdf_pages(path)))
    assert "from monitor MP5-001, validated by ana 09:20" in text
    assert f"from monitor {RISKY}, not validated" in text
    assert f"1 reading from monitor not validated (#{ids['waiting']})" in text
    view = service.session(ids["session"])
    waiting = view.reading(ids["waiting"])
    assert waiting is not None
    assert validation_text(waiting) == f"from monitor {RISKY}, not validated"
    typed = view.reading(ids["typed"])
    assert typed is not None and validation_text(typed) is None

    # Once validated, the review has nothing to remind.
    clock.set(at(40))
    service.validate_readings([ids["waiting"]], by="ana")
    lines = [plain(line) for line in review_lines(service.session(ids["session"]))]
    assert not any("not validated" in line for line in lines)


def test_the_chart_draws_a_reading_awaiting_validation_hollow_with_its_flags(service, clock):
    ids = device_session(service, clock)
    service.record_from_device(
        "MP5-001", {"systolic": 190, "diastolic": 90}, measured_at=at(31), message_id="2", by="ana"
    )
    view = service.session(ids["session"])
    shown = plan(view, service.config.thresholds, IN_PDF, view.patient)
    systolic = shown.panels[0]
    assert shown.unvalidated
    assert sorted(v for _, v in systolic.unvalidated) == [128, 190]  # not joined, not struck
    assert systolic.superseded == [] and systolic.voided == []
    assert [v for _, v in systolic.in_force] == [128, 185]  # the typed baseline, the validated
    assert {v for _, v, _ in systolic.flagged} >= {185, 190}  # its alarm stands, ringed


def _bundle(service, sid: int, outdir) -> list[dict]:
    path = outdir / "bundles.ndjson"
    export(service, Selection(ids=(sid,)), "fhir", path, overwrite=True)
    [line] = path.read_text(encoding="utf-8").splitlines()
    return [e["resource"] for e in json.loads(line)["entry"]]


def test_fhir_a_device_reading_is_preliminary_until_a_nurse_validates_it(service, clock, outdir):
    ids = device_session(service, clock)
    resources = _bundle(service, ids["session"], outdir)  # validated by the R4B models
    bp = {r["id"]: r for r in resources if r["resourceType"] == "Observation"}
    typed = bp[f"reading-{ids['typed']}-bp"]
    assert typed["status"] == "final" and typed["performer"] == [{"display": "ana"}]
    assert "device" not in typed
    validated = bp[f"reading-{ids['validated']}-bp"]
    assert validated["status"] == "final"
    assert validated["performer"] == [{"display": "ana"}]
    assert validated["device"] == {
        "display": "MP5-001",
        "identifier": {"system": DEVICE_SYSTEM, "value": "MP5-001"},
    }
    assert validated["note"][0]["text"] == (
        "from monitor MP5-001, validated by ana at 2026-11-27T09:20:00+00:00"
    )
    waiting = [r for r in bp.values() if r["id"].startswith(f"reading-{ids['waiting']}-")]
    assert {r["id"].rsplit("-", 1)[1] for r in waiting} == {"bp", "hr", "spo2", "rr"}
    for resource in waiting:
        assert resource["status"] == "preliminary"
        assert "performer" not in resource
        assert resource["device"]["display"] == RISKY
        assert resource["note"][0]["text"] == f"from monitor {RISKY}, not validated (saved by ana)"

    # Validated, it is final and the nurse its performer; voided, entered in error.
    clock.set(at(40))
    service.validate_readings([ids["waiting"]], by="ana")
    clock.set(at(41))
    service.void(ids["validated"], by="ana", reason="artefact: the cuff moved")
    resources = _bundle(service, ids["session"], outdir)
    statuses = {
        r["id"]: (r["status"], r.get("performer"))
        for r in resources
        if r["resourceType"] == "Observation"
    }
    assert statuses[f"reading-{ids['waiting']}-hr"] == ("final", [{"display": "ana"}])
    assert statuses[f"reading-{ids['validated']}-bp"][0] == "entered-in-error"
