"""Exports (issue #12) on both backends: CSV and JSON read back equal `session show --json`,
every FHIR Bundle validates (R4B models) with the codes, units, interpretations and statuses
the issue names, the PDF says what it must on every page, charts are real images, files are
private and atomic, a selection holds its sessions and no other, and every bad request is one
`error:` line with exit status 2."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.errors import EntryError, NotFound, Refused
from monitor.export import CSV_FOR, FORMATS, WHATS, Selection, export, export_session
from monitor.export.csv_out import EVENT_COLUMNS, READING_COLUMNS
from monitor.present.json import session_json
from tests.built import remembered
from tests.cli.test_cli import Cli
from tests.helpers import DOSED

FULL = "128/82 hr 74 spo2 98 rr 14 moaas 5 cadss 0"
ODD = 'Zoë Ωmega-ك-😀 "q",; =1+1'


def at(minutes: float, day: int = 0):
    return DOSED + timedelta(days=day, minutes=minutes)


def worked(service, clock) -> int:
    """An esketamine-84 session with everything a record can hold, discharged and signed:
    a missed +15 check explained, a high and a medium flag acknowledged, a low flag left, a
    correction, a voided reading (its flag acknowledged by the void), a late entry, an
    adverse event and an intervention."""

    def t(minutes: float):
        return clock.set(at(minutes))

    t(-30)
    sid = service.start_session(
        patient="MRN-0042",
        protocol="esketamine-84",
        by="ana",
        age=52,
        lot="L42",
        bay="Bay 2",
        first_treatment=False,
        dose_number=5,
        meds=("benzodiazepines",),
    )
    t(-5)
    service.record_reading(sid, FULL, by="ana")
    t(0)
    service.record_dose(sid, by="ana")
    t(20)
    service.add_event(
        sid, kind="adverse", type="nausea", severity="mild", by="ana", text="nauseous, no vomiting"
    )
    t(22)
    service.add_event(
        sid, kind="intervention", type="antiemetic", by="ana", text="ondansetron 4 mg"
    )
    t(30)
    service.record_reading(sid, "spo2 97 moaas 4", by="ana")
    t(40)
    high = service.record_reading(sid, "182/96 hr 88 spo2 97 rr 14 moaas 5 cadss 6", by="ana")
    t(42)
    service.acknowledge_many(
        [f.id for f in high.flags if f.severity.needs_action],
        by="ana",
        action="rechecked, prescriber informed",
    )
    t(46)
    service.skip_check(sid, "+15 min", by="ana", reason="patient asleep")
    t(50)
    first = service.record_reading(sid, "150/90 hr 80", by="ana")
    t(52)
    service.amend(first.id, "150/88", by="ana", reason="misread the cuff")
    t(60)
    wrong = service.record_reading(sid, "96/60 hr 70 spo2 98 moaas 5", by="bo")
    t(62)
    service.void(wrong.id, by="bo", reason="entered for the wrong patient (Bay 3)")
    t(75)
    service.record_reading(sid, "spo2 98 moaas 5", by="ana", measured_at=at(60))
    t(90)
    service.record_reading(sid, "130/84 hr 72 spo2 98 rr 14 moaas 5 cadss 0", by="ana")
    t(118)
    service.record_reading(sid, "124/80 hr 70 spo2 98 rr 14 moaas 5 cadss 0", by="ana")
    t(121)
    service.discharge(sid, by="ana", escort="partner", instructions_given=True)
    t(200)
    service.sign(sid, by="sam", pin="9999")
    return sid


def active(service, clock, patient: str = "ACTIVE-1", day: int = 1) -> int:
    """A ketamine-im session a day later, dosed, still in observation (in progress)."""
    clock.set(at(-20, day))
    sid = service.start_session(patient=patient, protocol="ketamine-im", by="bo", bay="Bay 4")
    clock.set(at(-2, day))
    service.record_reading(sid, FULL, by="bo")
    clock.set(at(0, day))
    service.record_dose(sid, by="bo")
    clock.set(at(15, day))
    service.record_reading(sid, "138/86 hr 96 spo2 95 moaas 5", by="bo")
    clock.set(at(20, day))
    return sid


def unsigned(service, clock, patient: str = ODD, day: int = 2) -> int:
    """A ketamine-im session two days later, discharged by override, not signed; its patient
    id is odd text (accents, Greek, Arabic, an emoji, quotes, a comma, a formula sign)."""
    clock.set(at(-20, day))
    sid = service.start_session(patient=patient, protocol="ketamine-im", by="ana")
    clock.set(at(-2, day))
    service.record_reading(sid, FULL, by="ana")
    clock.set(at(0, day))
    service.record_dose(sid, by="ana")
    clock.set(at(15, day))
    service.record_reading(sid, "186/112 hr 132 spo2 91 rr 26 moaas 2", by="ana")
    clock.set(at(30, day))
    service.discharge(
        sid,
        by="ana",
        override_reason="transferred to the emergency department",
        escort="partner",
        instructions_given=True,
        cosign="sam",
    )
    return sid


@pytest.fixture
def outdir(tmp_path) -> Path:
    """A folder for the exports alone (the SQLite database lives beside it)."""
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


@pytest.fixture
def clinic(service, clock):
    """Three sessions on three days: worked (day 0), active (day 1), unsigned (day 2)."""

    def build() -> dict[str, int]:
        return {
            "worked": worked(service, clock),
            "active": active(service, clock),
            "unsigned": unsigned(service, clock),
        }

    # Built once, then copied into each test's database that starts as the first did.
    ids = remembered(service, "export clinic", build, clock())
    clock.set(at(30, 2))
    return ids


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _text(value) -> str:
    return "" if value is None else str(value)


def _flag_line(f: dict) -> str:
    symbol = {"high": "!!!", "medium": "!!", "low": "!"}[f["severity"]]
    return f"{symbol} {f['severity']}: {f['message']} (flag {f['id']}, {f['rule']})"


def _ack_line(f: dict) -> str:
    if not f["acknowledged"]:
        return f"flag {f['id']}: not acknowledged"
    return (
        f"flag {f['id']}: acknowledged by {f['acknowledged_by']} at {f['acknowledged_at']}: "
        f"{f['action']}"
    )


def expected_reading_rows(shown: dict) -> list[dict[str, str]]:
    """The CSV rows docs/exports.md's column contract gives for a `session show --json` object."""
    from datetime import datetime

    rows = []
    dosed = shown["dosed_at"] and datetime.fromisoformat(shown["dosed_at"])
    for r in shown["readings"]:
        voided = r["voided"] or {}
        status = "voided" if r["voided"] else ("superseded" if r["superseded_by"] else "in force")
        minutes = ""
        if dosed:
            delta = datetime.fromisoformat(r["measured_at"]) - dosed
            minutes = f"{delta.total_seconds() / 60:.1f}"
        severities = [f["severity"] for f in r["flags"]]
        highest = next((s for s in ("high", "medium", "low") if s in severities), "")
        rows.append(
            {
                "session_id": str(shown["id"]),
                "patient": shown["patient"],
                "protocol": shown["protocol"],
                "reading_id": str(r["id"]),
                "measured_at": r["measured_at"],
                "recorded_at": r["recorded_at"],
                "recorded_by": r["recorded_by"],
                "minutes_after_dosing": minutes,
                "before_dosing": "yes" if r["before_dosing"] else "no",
                **{m: _text(r[m]) for m in READING_COLUMNS[9:16]},
                "status": status,
                "superseded_by": _text(r["superseded_by"]),
                "corrects": _text(r["corrects"]),
                "correction_reason": _text(r["reason"]),
                "voided_by": _text(voided.get("by")),
                "voided_at": _text(voided.get("at")),
                "void_reason": _text(voided.get("reason")),
                "late_entry": "yes" if r["late_entry"] else "no",
                "highest_flag": highest,
                "flags": "\n".join(_flag_line(f) for f in r["flags"]),
                "acknowledgements": "\n".join(_ack_line(f) for f in r["flags"]),
                "entered_after_discharge": "yes" if r["entered_after_discharge"] else "no",
                "flags_acknowledged_by": "\n".join(_text(f["acknowledged_by"]) for f in r["flags"]),
                "flags_cosigned_by": "\n".join(_text(f["cosigned_by"]) for f in r["flags"]),
                "flags_raised_by": "\n".join(f["raised_by"] for f in r["flags"]),
                "source": r["source"],
                "validated_by": _text((r["validated"] or {}).get("by")),
                "validated_at": _text((r["validated"] or {}).get("at")),
            }
        )
    return rows


def shown(service, sid: int) -> dict:
    """`session show --json`, through the same services and clock."""
    return session_json(service.session(sid))


# -- CSV ----------------------------------------------------------------------------------


def test_csv_of_readings_reads_back_as_session_show_says(service, clinic, outdir):
    out = outdir / "readings.csv"
    result = export(service, Selection(ids=tuple(clinic.values())), "csv", out)
    rows = read_csv(out)
    assert tuple(rows[0]) == READING_COLUMNS
    expected = [
        row for sid in sorted(clinic.values()) for row in expected_reading_rows(shown(service, sid))
    ]
    assert rows == expected
    assert result.items == len(rows) and result.sessions == 3 and result.unit == "readings"
    worked_rows = [r for r in rows if r["session_id"] == str(clinic["worked"])]
    statuses = [r["status"] for r in worked_rows]
    # Superseded and voided readings are included, and marked.
    assert statuses.count("superseded") == 1 and statuses.count("voided") == 1
    corrected = next(r for r in worked_rows if r["corrects"])
    assert corrected["correction_reason"] == "misread the cuff"
    assert corrected["diastolic"] == "88" and corrected["systolic"] == "150"
    void = next(r for r in worked_rows if r["status"] == "voided")
    assert (void["voided_by"], void["void_reason"]) == (
        "bo",
        "entered for the wrong patient (Bay 3)",
    )
    assert void["systolic"] == "96"  # the original value stays
    assert [r["late_entry"] for r in worked_rows].count("yes") == 1
    high = next(r for r in worked_rows if r["systolic"] == "182")
    assert high["highest_flag"] == "high"
    assert "!!! high: SBP 182 >= 180: severe elevation" in high["flags"]
    assert "acknowledged by ana at 2026-11-27T09:42:00+00:00: rechecked" in high["acknowledgements"]
    # ISO 8601 with the offset.
    assert all(re.search(r"T\d\d:\d\d:\d\d(\.\d+)?\+00:00$", r["measured_at"]) for r in rows)


def test_csv_times_with_microseconds_and_a_late_entry_at_exactly_ten_minutes(
    service, clock, outdir
):
    sid = active(service, clock, day=0)
    odd = at(17) + timedelta(microseconds=123456)
    clock.set(odd + timedelta(minutes=10))  # saved exactly 10 min later: not late
    service.record_reading(sid, "spo2 97", by="bo", measured_at=odd)
    clock.set(at(27, 0) + timedelta(microseconds=123457))
    service.record_reading(sid, "spo2 96", by="bo", measured_at=odd)  # 1 µs more: late
    out = outdir / "micro.csv"
    export(service, Selection(ids=(sid,)), "csv", out)
    rows = read_csv(out)
    assert rows == expected_reading_rows(shown(service, sid))
    timed = [r for r in rows if r["measured_at"].startswith("2026-11-27T09:17:00.123456")]
    assert [r["late_entry"] for r in timed] == ["no", "yes"]
    assert timed[0]["measured_at"] == "2026-11-27T09:17:00.123456+00:00"


def test_csv_keeps_odd_text_exactly_in_utf8(service, clinic, outdir):
    out = outdir / "odd.csv"
    export(service, Selection(ids=(clinic["unsigned"],)), "csv", out)
    raw = out.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")  # no byte-order mark
    assert ODD.encode("utf-8") in raw.replace(b'""', b'"')
    assert {r["patient"] for r in read_csv(out)} == {ODD}


def test_csv_of_events_holds_events_acknowledgements_and_check_skips(service, clinic, outdir):
    out = outdir / "events.csv"
    selection = Selection(ids=tuple(clinic.values()))
    result = export(service, selection, "csv", out, what="events", csv_for="data")
    rows = read_csv(out)
    assert tuple(rows[0]) == EVENT_COLUMNS
    assert result.unit == "events" and result.items == len(rows)
    data = shown(service, clinic["worked"])
    mine = [r for r in rows if r["session_id"] == str(clinic["worked"])]
    kinds = [r["kind"] for r in mine]
    assert kinds.count("adverse") == 1 and kinds.count("intervention") == 1
    events = {e["id"]: e for e in data["events"]}
    for row in (r for r in mine if r["kind"] in ("adverse", "intervention", "note")):
        e = next(e for e in events.values() if e["at"] == row["at"] and e["kind"] == row["kind"])
        assert (row["by"], row["type"], row["severity"], row["text"]) == (
            e["by"],
            _text(e["type"]),
            _text(e["severity"]),
            e["text"],
        )
        assert row["recorded_at"] == e["recorded_at"]
    acked = [f for r in data["readings"] for f in r["flags"] if f["acknowledged"]]
    acks = [r for r in mine if r["kind"] == "acknowledgement"]
    assert sorted((r["flag_id"], r["by"], r["at"], r["text"]) for r in acks) == sorted(
        (str(f["id"]), f["acknowledged_by"], f["acknowledged_at"], f["action"]) for f in acked
    )
    # One vocabulary a column: the flag's severity apart from the adverse event's.
    assert {r["flag_severity"] for r in acks} == {"high", "medium"}
    assert {r["severity"] for r in acks} == {""}
    assert [r["severity"] for r in mine if r["kind"] == "adverse"] == ["mild"]
    assert {r["flag_severity"] for r in mine if r["kind"] != "acknowledgement"} == {""}
    # The review: the sign-off in force.
    assert [(r["kind"], r["by"], r["text"]) for r in mine if r["kind"] == "signoff"] == [
        ("signoff", "sam", "reviewed")
    ]
    skipped = [c for c in data["checks"] if c["skipped"]]
    skips = [r for r in mine if r["kind"] == "check skip"]
    assert [(r["check"], r["text"], r["by"], r["at"]) for r in skips] == [
        (c["label"], c["skipped"]["reason"], c["skipped"]["by"], c["skipped"]["at"])
        for c in skipped
    ]
    assert [r["at"] for r in mine] == sorted(r["at"] for r in mine)  # in time order
    other = [r for r in rows if r["session_id"] == str(clinic["unsigned"])]
    assert [r["text"] for r in other if r["kind"] == "discharge override"] == [
        "transferred to the emergency department"
    ]


# -- JSON ---------------------------------------------------------------------------------


def test_json_lines_are_session_show_objects(service, clinic, outdir):
    out = outdir / "sessions.jsonl"
    result = export(service, Selection(ids=tuple(clinic.values())), "json", out)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3 and result.items == 3
    for line, sid in zip(lines, sorted(clinic.values()), strict=True):
        assert json.loads(line) == shown(service, sid)
    assert json.loads(lines[2])["patient"] == ODD


# -- FHIR ---------------------------------------------------------------------------------


def _bundles(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _observations(bundle: dict) -> list[dict]:
    return [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
    ]


def _code(concept: dict) -> str | None:
    return concept["coding"][0]["code"] if concept.get("coding") else None


def _interpretation(resource: dict) -> str | None:
    found = resource.get("interpretation")
    return found[0]["coding"][0]["code"] if found else None


def test_every_fhir_bundle_validates_and_maps_as_the_issue_says(service, clinic, outdir):
    from fhir.resources.R4B.bundle import Bundle

    out = outdir / "bundles.ndjson"
    export(service, Selection(ids=tuple(clinic.values())), "fhir", out)
    bundles = _bundles(out)
    assert [b["identifier"]["value"] for b in bundles] == [str(i) for i in sorted(clinic.values())]
    for data in bundles:
        Bundle.model_validate(data)
        assert data["type"] == "collection"
    worked_bundle = bundles[0]
    data = shown(service, clinic["worked"])
    kinds = [e["resource"]["resourceType"] for e in worked_bundle["entry"]]
    assert kinds[:2] == ["Patient", "Encounter"] and set(kinds) == {
        "Patient",
        "Encounter",
        "Observation",
        "Provenance",
    }
    resources = _observations(worked_bundle)
    # The patient: the Patient entry (an identifier only), its identifier also in the reference.
    patient_url = worked_bundle["entry"][0]["fullUrl"]
    for r in resources:
        assert r["subject"] == {
            "reference": patient_url,
            "type": "Patient",
            "identifier": {"system": "urn:monitor:patient", "value": "MRN-0042"},
        }

    def of(reading_id: int, kind: str) -> dict:
        return next(r for r in resources if r["id"] == f"reading-{reading_id}-{kind}")

    readings = {r["id"]: r for r in data["readings"]}
    high = next(r for r in data["readings"] if r["systolic"] == 182)
    bp = of(high["id"], "bp")
    assert _code(bp["code"]) == "85354-9"
    assert bp["category"][0]["coding"][0]["code"] == "vital-signs"
    systolic, diastolic = bp["component"]
    assert (_code(systolic["code"]), systolic["valueQuantity"]["value"]) == ("8480-6", 182)
    assert (_code(diastolic["code"]), diastolic["valueQuantity"]["value"]) == ("8462-4", 96)
    for component in bp["component"]:
        assert component["valueQuantity"]["system"] == "http://unitsofmeasure.org"
        assert component["valueQuantity"]["code"] == "mm[Hg]"
    assert _interpretation(systolic) == "HH"  # a high flag above its band
    assert _interpretation(bp) == "HH"
    assert (_code(of(high["id"], "hr")["code"]), of(high["id"], "hr")["valueQuantity"]["code"]) == (
        "8867-4",
        "/min",
    )
    spo2 = of(high["id"], "spo2")
    assert [c["code"] for c in spo2["code"]["coding"]] == ["59408-5", "2708-6"]
    assert spo2["valueQuantity"]["code"] == "%"
    assert (_code(of(high["id"], "rr")["code"]), of(high["id"], "rr")["valueQuantity"]["code"]) == (
        "9279-1",
        "/min",
    )
    cadss = of(high["id"], "cadss")
    assert "coding" not in cadss["code"] and "CADSS" in cadss["code"]["text"]
    assert cadss["valueInteger"] == 6 and _interpretation(cadss) == "H"
    sedated = next(r for r in data["readings"] if r["moaas"] == 4)
    moaas = of(sedated["id"], "moaas")
    assert "MOAA/S" in moaas["code"]["text"] and _interpretation(moaas) == "L"
    # Statuses: in force final, the correction corrected, the superseded and the voided
    # readings entered-in-error (withdrawn), each saying why.
    superseded = next(r for r in readings.values() if r["superseded_by"])
    correction = readings[superseded["superseded_by"]]
    voided = next(r for r in readings.values() if r["voided"])
    assert of(superseded["id"], "bp")["status"] == "entered-in-error"
    assert of(correction["id"], "bp")["status"] == "corrected"  # 150/90 -> 150/88
    assert of(correction["id"], "hr")["status"] == "final"  # HR 80 repeated unchanged
    assert of(voided["id"], "bp")["status"] == "entered-in-error"
    assert _interpretation(of(voided["id"], "bp")) == "L"  # SBP 96: medium, below
    assert any("voided" in n["text"] for n in of(voided["id"], "bp")["note"])
    assert of(high["id"], "bp")["status"] == "final"
    # The unsigned session's critical lows and highs.
    other = _observations(bundles[2])
    by_id = {r["id"].rsplit("-", 1)[1]: r for r in other if _interpretation(r)}
    assert _interpretation(by_id["spo2"]) == "LL" and _interpretation(by_id["rr"]) == "HH"
    assert _interpretation(by_id["moaas"]) == "LL"
    assert other[0]["subject"]["identifier"]["value"] == ODD


# -- charts and PDF -----------------------------------------------------------------------


def test_png_and_svg_are_images_of_one_session(service, clinic, outdir):
    png = outdir / "chart.png"
    svg = outdir / "chart.svg"
    export(service, Selection(ids=(clinic["worked"],)), "png", png)
    export(service, Selection(ids=(clinic["worked"],)), "svg", svg)
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    root = ET.fromstring(svg.read_bytes())
    assert root.tag.endswith("svg")
    with pytest.raises(EntryError, match="one session"):
        export(service, Selection(ids=tuple(clinic.values())), "png", outdir / "two.png")


def pdf_pages(path: Path) -> list[str]:
    """The text of each page, as a PDF reader extracts it (pypdf, in the test extra: poppler's
    pdftotext, used before, was a system package that a new machine lacks)."""
    from pypdf import PdfReader

    pages = [page.extract_text(extraction_mode="layout") for page in PdfReader(path).pages]
    return [page for page in pages if page.strip()]


def page_count(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page\b", data))


def test_pdf_records_say_in_progress_and_not_yet_reviewed_on_every_page(service, clinic, outdir):
    out = outdir / "records.pdf"
    result = export(service, Selection(ids=tuple(clinic.values())), "pdf", out, clinic="Clinic Ω")
    data = out.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert page_count(data) == result.items >= 3
    assert b"/MediaBox [0 0 595.28 841.89]" in data  # A4
    pages = pdf_pages(out)
    assert len(pages) == result.items
    for page in pages:
        assert "Clinic Ω" in page
    by_session: dict[str, list[str]] = {}
    for page in pages:
        sid = re.search(r"Session record · session (\d+)", page)
        assert sid, page
        by_session.setdefault(sid.group(1), []).append(page)
    signed = by_session[str(clinic["worked"])]
    running = by_session[str(clinic["active"])]
    open_ = by_session[str(clinic["unsigned"])]
    assert all("IN PROGRESS" in page for page in running)
    assert all("NOT YET REVIEWED" in page for page in running + open_)
    assert not any("IN PROGRESS" in page for page in signed + open_)
    assert not any("NOT YET REVIEWED" in page for page in signed)
    whole = "\n".join(signed)
    # The footer of every page gives the review's verdict as the record tells it.
    assert all("Signed by sam at" in page and "meaning: reviewed" in page for page in signed)
    for words in (
        "MRN-0042",
        "esketamine-84",
        "84 mg",
        "L42",
        "benzodiazepines",
        "Monitored",
        "2 h 01 min",  # from dosing to the discharge at +121
        "SBP 182 >= 180: severe elevation",
        "rechecked, prescriber informed",
        "misread the cuff",
        "VOIDED by bo",
        "entered for the wrong patient",
        "LATE ENTRY",
        "patient asleep",
        "ondansetron 4 mg",
        "partner",
        "REMS Patient Monitoring Form",
        "Gate at discharge: met",
    ):
        assert words in whole, words
    override = "\n".join(open_)
    assert "transferred to the emergency department" in override
    assert "Zoë Ωmega" in override  # the Unicode font prints the patient id


def test_the_pdf_prints_the_rems_form_as_its_story_tells_it(service, clinic, outdir):
    """The PDF's REMS section is :func:`monitor.present.rems.rems_story`'s rows (each label,
    value and note), under the story's title: no wording of its own."""
    from monitor.present.parts import plain
    from monitor.present.rems import rems_story

    out = outdir / "rems.pdf"
    export(service, Selection(ids=(clinic["worked"],)), "pdf", out)
    # Words only: a cell wraps its text over lines, and the page lays two rows side by side.
    words = " ".join(" ".join(pdf_pages(out)).split())
    story = rems_story(service.rems(clinic["worked"]), service.today())
    assert plain(story.title) in words
    rems = words[words.index(plain(story.title)) :]
    printed = " ".join(rems.split(" Review ")[0].split())
    for row in story.rows:
        for text in (row.label, plain(row.value), *(plain(note) for note in row.notes)):
            for word in text.split():
                assert word in printed, (row.label, word)
    assert "from the record" in printed and "(proposal)" in printed
    assert "answers from the record" not in words  # the PDF's own title, gone


def test_a_pdf_of_a_long_record_runs_over_pages_and_each_page_says_it(service, clock, outdir):
    sid = active(service, clock, day=0)
    for minute in range(16, 200, 2):
        clock.set(at(minute))
        service.record_reading(sid, "150/95 hr 112 spo2 93 moaas 4", by="bo")
    out = outdir / "long.pdf"
    result = export(service, Selection(ids=(sid,)), "pdf", out)
    assert result.items >= 3
    pages = pdf_pages(out)
    assert len(pages) == result.items
    assert all("IN PROGRESS" in p and "NOT YET REVIEWED" in p and "ACTIVE-1" in p for p in pages)


def test_a_session_without_readings_prints_charts_and_bundles(service, clock, outdir):
    clock.set(at(0, 5))
    sid = service.start_session(patient="EMPTY-1", protocol="ketamine-im", by="ana")
    for fmt in ("pdf", "png", "svg", "fhir", "csv", "json"):
        export(service, Selection(ids=(sid,)), fmt, outdir / f"empty.{fmt}")
    from fhir.resources.R4B.bundle import Bundle

    [bundle] = _bundles(outdir / "empty.fhir")
    Bundle.model_validate(bundle)
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds == ["Patient", "Encounter"]  # no Observation
    encounter = bundle["entry"][1]["resource"]
    assert encounter["status"] == "arrived" and "period" not in encounter  # not dosed
    pages = pdf_pages(outdir / "empty.pdf")
    assert all("IN PROGRESS" in p for p in pages) and "no readings recorded" in pages[0]


def test_a_long_clinic_name_or_patient_id_is_kept_within_the_page(service, clock, outdir):
    clock.set(at(0, 5))
    long_id = "P" + "x" * 63
    sid = service.start_session(patient=long_id, protocol="esketamine-84", by="ana", age=40,
                                meds=(), lot="L" * 64)  # fmt: skip
    out = outdir / "long.pdf"
    export(service, Selection(ids=(sid,)), "pdf", out, clinic="C" * 80)
    assert long_id in "".join(pdf_pages(out)[0].split())
    with pytest.raises(EntryError, match="at most 80"):
        export(service, Selection(ids=(sid,)), "pdf", outdir / "x.pdf", clinic="C" * 81)
    with pytest.raises(EntryError, match="out of range"):
        export(service, Selection(ids=(2**31,)), "csv", outdir / "x.csv")
    assert sorted(p.name for p in outdir.iterdir()) == ["long.pdf"]


def test_the_configured_clinic_name_heads_the_record(service, clinic, outdir):
    from dataclasses import replace

    from monitor.services import Service

    named = Service(
        service.engine, replace(service.config, clinic_name="Riverside Ω"), service.clock
    )
    out = outdir / "named.pdf"
    export(named, Selection(ids=(clinic["worked"],)), "pdf", out)
    assert all("Riverside Ω" in page for page in pdf_pages(out))
    export(named, Selection(ids=(clinic["worked"],)), "pdf", outdir / "given.pdf", clinic="Other")
    assert "Other" in pdf_pages(outdir / "given.pdf")[0]  # --clinic wins over the configuration


# -- the selection --------------------------------------------------------------------------


def test_a_period_holds_its_sessions_and_no_other(service, clinic, outdir):
    out = outdir / "day1.csv"
    result = export(service, Selection(since=at(-60, 1), until=at(600, 1)), "csv", out)
    assert result.sessions == 1
    assert {r["session_id"] for r in read_csv(out)} == {str(clinic["active"])}
    # A named session outside the period joins it; nothing else does.
    both = outdir / "both.jsonl"
    export(
        service,
        Selection(ids=(clinic["worked"],), since=at(-60, 1), until=at(600, 1)),
        "json",
        both,
    )
    ids = [json.loads(line)["id"] for line in both.read_text().splitlines()]
    assert ids == [clinic["worked"], clinic["active"]]
    only = outdir / "one.ndjson"
    export(service, Selection(ids=(clinic["unsigned"],)), "fhir", only)
    [bundle] = _bundles(only)
    values = {r["subject"]["identifier"]["value"] for r in _observations(bundle)}
    assert values == {ODD}


def test_an_empty_period_gives_an_empty_data_file_but_no_pdf(service, clinic, outdir):
    out = outdir / "empty.csv"
    result = export(service, Selection(since=at(0, 30), until=at(10, 30)), "csv", out)
    assert result.sessions == 0 and read_csv(out) == []
    assert out.read_text().startswith("session_id,")
    with pytest.raises(EntryError, match="no session"):
        export(service, Selection(since=at(0, 30), until=at(10, 30)), "pdf", outdir / "e.pdf")
    assert not (outdir / "e.pdf").exists()


def test_an_unknown_id_is_refused_before_any_file(service, clinic, outdir):
    out = outdir / "x.csv"
    with pytest.raises(NotFound, match="no session 999"):
        export(service, Selection(ids=(clinic["worked"], 999)), "csv", out)
    assert list(outdir.iterdir()) == []


def test_batches_cover_every_session_once_in_id_order(service, clock, outdir, monkeypatch):
    from monitor import export as package

    ids = [active(service, clock, patient=f"P-{n}", day=n) for n in range(7)]
    monkeypatch.setattr(package, "VIEW_BATCH", 2)
    monkeypatch.setattr(package, "CSV_BATCH", 3)
    seen: list[tuple[int, int]] = []
    out = outdir / "all.jsonl"
    export(
        service,
        Selection(ids=(ids[0], ids[6]), since=at(-60, 2), until=at(600, 4)),
        "json",
        out,
        progress=lambda done, total: seen.append((done, total)),
    )
    got = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    assert got == [ids[0], ids[2], ids[3], ids[4], ids[6]]
    assert seen[0] == (0, 5) and seen[-1] == (5, 5)
    csv_out = outdir / "all.csv"
    export(service, Selection(since=at(-60, 0), until=at(600, 6)), "csv", csv_out)
    assert [int(r["session_id"]) for r in read_csv(csv_out)] == sorted(ids * 2)


# -- files ------------------------------------------------------------------------------------


def test_files_are_0600_in_a_new_0700_folder(service, clinic, outdir):
    out = outdir / "new" / "deeper" / "s.pdf"
    export(service, Selection(ids=(clinic["worked"],)), "pdf", out)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    for folder in (outdir / "new", outdir / "new" / "deeper"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for fmt in ("csv", "json", "fhir", "png", "svg"):
        target = outdir / f"s.{fmt}"
        export(service, Selection(ids=(clinic["worked"],)), fmt, target)
        assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_a_failing_export_leaves_no_file_and_no_temporary_file(service, clinic, outdir):
    out = outdir / "broken.jsonl"

    def fail(done: int, total: int) -> None:
        if done:
            raise RuntimeError("stopped half way")

    with pytest.raises(RuntimeError, match="half way"):
        export(service, Selection(ids=tuple(clinic.values())), "json", out, progress=fail)
    assert list(outdir.iterdir()) == []
    # And an existing file is left as it was.
    out.write_text("kept")
    with pytest.raises(RuntimeError):
        export(
            service,
            Selection(ids=tuple(clinic.values())),
            "json",
            out,
            progress=fail,
            overwrite=True,
        )
    assert out.read_text() == "kept" and list(outdir.iterdir()) == [out]


def test_an_existing_file_is_replaced_only_when_asked_and_never_the_database(
    service, clinic, outdir, db_url
):
    out = outdir / "kept.csv"
    out.write_text("someone's document")
    with pytest.raises(Refused, match="exists"):
        export(service, Selection(ids=(clinic["worked"],)), "csv", out)
    assert out.read_text() == "someone's document"
    export(service, Selection(ids=(clinic["worked"],)), "csv", out, overwrite=True)
    assert read_csv(out)[0]["patient"] == "MRN-0042"
    if db_url.startswith("sqlite"):
        database = Path(db_url.removeprefix("sqlite:///"))
        for target in (database, Path(str(database) + "-wal")):
            with pytest.raises(Refused, match="is the database"):
                export(service, Selection(ids=(clinic["worked"],)), "csv", target, overwrite=True)
        assert database.stat().st_size > 0


def test_the_station_function_writes_a_new_pdf_in_its_folder(service, clinic, outdir):
    folder = outdir / "exports"
    first = export_session(service, clinic["worked"], folder=folder)
    second = export_session(service, clinic["worked"], folder=folder)
    assert first.path != second.path and first.path.parent == second.path.parent == folder
    assert first.path.name.startswith(f"session-{clinic['worked']}-")
    assert first.path.suffix == ".pdf" and first.format == "pdf"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert first.path.read_bytes().startswith(b"%PDF-")
    png = export_session(service, clinic["active"], "png", folder=folder)
    assert png.path.suffix == ".png"


# -- the command line -----------------------------------------------------------------------


@pytest.fixture
def run(db_url, clinic) -> Cli:
    return Cli(db_url)


def test_export_from_the_command_line(run, clinic, outdir):
    out = outdir / "all.csv"
    done = run("export", *map(str, clinic.values()), "--format", "csv", "-o", str(out))
    assert done.stdout.strip() == f"exported 3 sessions ({len(read_csv(out))} readings) to {out}"
    assert done.stderr == ""  # no progress bar when standard error is not a terminal
    events = outdir / "events.csv"
    run("export", "--from", "2026-11-27", "--to", "2026-11-29", "--format", "csv", "--what",
        "events", "-o", str(events))  # fmt: skip
    assert {r["session_id"] for r in read_csv(events)} >= {str(clinic["worked"])}
    day = outdir / "day.jsonl"
    run("export", "--from", "2026-11-28", "--to", "2026-11-28", "--format", "json", "-o", str(day))
    assert [json.loads(x)["id"] for x in day.read_text().splitlines()] == [clinic["active"]]
    shown_json = run.json("session", "show", str(clinic["worked"]))
    one = outdir / "one.jsonl"
    run("export", str(clinic["worked"]), "--format", "json", "-o", str(one))
    assert json.loads(one.read_text()) == shown_json  # discharged: judged as of discharge
    pdf = outdir / "one.pdf"
    run("export", str(clinic["worked"]), "--format", "pdf", "-o", str(pdf))
    assert pdf.read_bytes().startswith(b"%PDF-")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["12345", "--format", "csv"], "no session 12345"),
        (["99999999999", "--format", "csv"], "99999999999"),
        (["2147483648", "--format", "csv"], "out of range"),
        (["１２", "--format", "csv"], "not a whole number"),
        (["--format", "csv"], "say what to export"),
        (["--from", "2026-11-29", "--to", "2026-11-27", "--format", "csv"], "after --to"),
        (["--from", "yesterday-ish", "--format", "csv"], ""),
        (["1", "--format", "xls"], "--format"),
        (["1", "--format", "json", "--what", "events"], "--what events"),
        (["1", "--format", "csv", "--what", "vitals"], "--what"),
        (["1", "2", "--format", "png"], "one session"),
        (["1", "--format", "pdf", "--clinic", "two\nlines"], "--clinic"),
    ],
)
def test_bad_requests_are_one_error_line(run, outdir, args, says):
    line = run.refused("export", *args, "-o", str(outdir / "out"))
    assert says in line
    assert list(outdir.iterdir()) == []


def test_bad_paths_are_one_error_line(run, clinic, outdir):
    sid = str(clinic["worked"])
    folder = outdir / "a folder"
    folder.mkdir()
    assert "is a folder" in run.refused("export", sid, "--format", "csv", "-o", str(folder))
    document = outdir / "note.txt"
    document.write_text("x")
    assert "exists" in run.refused("export", sid, "--format", "csv", "-o", str(document))
    under_file = document / "out.csv"
    assert "not a folder" in run.refused("export", sid, "--format", "csv", "-o", str(under_file))
    assert "-o needs a file name" in run.refused("export", sid, "--format", "csv", "-o", "")
    long_name = outdir / ("x" * 300 + ".csv")
    assert "cannot write" in run.refused("export", sid, "--format", "csv", "-o", str(long_name))
    if os.path.isdir("/proc/self"):
        line = run.refused("export", sid, "--format", "csv", "-o", "/proc/self/monitor.csv")
        assert "cannot write" in line
    assert document.read_text() == "x"
    assert sorted(p.name for p in outdir.iterdir()) == ["a folder", "note.txt"]


def test_unicode_patient_ids_export_in_every_format(run, clinic, outdir):
    sid = str(clinic["unsigned"])
    for fmt in FORMATS:
        out = outdir / f"odd.{fmt}"
        run("export", sid, "--format", fmt, "-o", str(out))
        assert out.stat().st_size > 0
    assert read_csv(outdir / "odd.csv")[0]["patient"] == ODD


def test_the_command_and_the_package_agree_on_formats():
    from monitor.cli import export as command

    assert command.FORMATS == FORMATS and command.WHATS == WHATS
    assert command.CSV_FOR == CSV_FOR


def test_monitor_help_does_not_load_the_export_libraries():
    code = (
        "import sys; from monitor import cli; "
        "print(' '.join(sorted(n.split('.')[0] for n in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(out.stdout.split())
    assert not loaded & {"matplotlib", "fpdf", "fhir", "rich", "sqlalchemy"}


def test_the_progress_bar_shows_a_count_and_time_left():
    from rich.console import Console

    from monitor.cli.export import _progress_bar

    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100)
    with _progress_bar(True, console) as update:
        assert update is not None
        update(0, 10)
        update(3, 10)
        console.file.flush()
        console.print()  # a refresh of the live display
    shown = screen.getvalue()
    assert "3/10" in shown and "sessions" in shown and "left" in shown
    with _progress_bar(False) as update:
        assert update is None
