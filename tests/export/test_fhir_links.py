"""FHIR that links (issue #22, items 3 and 4) on both backends: each Bundle holds a Patient (an
identifier only) and an Encounter (the session, dosing to discharge) that every Observation
references; a correction is ``corrected`` only on the measures it changed and names the
Observation it revises by a Provenance (with who, when and why); a void is
``entered-in-error`` with its Provenance; every sign-off, reopening and new sign-off is a
Provenance on the Encounter, in order; every Bundle validates (R4B models)."""

from __future__ import annotations

from datetime import datetime

from monitor.export import Selection, export
from monitor.export.fhir import bundle, validate
from monitor.present.json import session_json
from monitor.services import Service, with_clock
from tests.export.test_export import _bundles, clinic, outdir
from tests.helpers import at

__all__ = ["clinic", "outdir"]  # the fixtures, used here by name

FULL = "128/82 hr 74 spo2 98 rr 14 moaas 5 cadss 0"
DATA_OPERATION = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"


def when(service: Service, minutes: float) -> Service:
    return with_clock(service, lambda: at(minutes))


def entries(data: dict, kind: str) -> list[dict]:
    """The entries (fullUrl and resource) of one resource type, in the Bundle's order."""
    return [e for e in data["entry"] if e["resource"]["resourceType"] == kind]


def observation(data: dict, reading_id: int, kind: str) -> dict:
    """The entry of one reading's Observation (``bp``, ``hr``...)."""
    found = [e for e in entries(data, "Observation") if e["resource"]["id"] == f"reading-{reading_id}-{kind}"]  # fmt: skip
    assert len(found) == 1, (reading_id, kind)
    return found[0]


def provenance_of(data: dict, url: str) -> list[dict]:
    """The Provenance resources that target one entry."""
    return [
        e["resource"]
        for e in entries(data, "Provenance")
        if any(t["reference"] == url for t in e["resource"]["target"])
    ]


def observed_session(service: Service) -> tuple[int, int]:
    """A ketamine-im session dosed at 0 with a full baseline and one reading at +20; returns
    (session, the +20 reading)."""
    sid = when(service, -30).start_session(patient="MRN-LINK", protocol="ketamine-im", by="ana")
    when(service, -5).record_reading(sid, FULL, by="ana")
    when(service, 0).record_dose(sid, by="ana")
    reading = when(service, 20).record_reading(sid, "150/90 hr 80 spo2 97", by="ana")
    return sid, reading.id


def discharge(service: Service, sid: int) -> None:
    """The +60 check done with a full set, then discharged at +61."""
    when(service, 60).record_reading(sid, FULL, by="ana")
    when(service, 61).discharge(sid, by="ana", escort="partner", instructions_given=True)


def test_every_observation_references_its_patient_and_encounter(service, clinic, outdir):
    out = outdir / "bundles.ndjson"
    result = export(service, Selection(ids=tuple(clinic.values())), "fhir", out)
    bundles = _bundles(out)
    assert len(bundles) == 3
    observations = 0
    for data, sid in zip(bundles, sorted(clinic.values()), strict=True):
        validate(data)
        assert data["type"] == "collection"
        urls = [e["fullUrl"] for e in data["entry"]]
        assert len(set(urls)) == len(urls) and all(u.startswith("urn:uuid:") for u in urls)
        [patient] = entries(data, "Patient")
        [encounter] = entries(data, "Encounter")
        shown = session_json(service.session(sid))
        assert patient["resource"]["identifier"] == [
            {"system": "urn:monitor:patient", "value": shown["patient"]}
        ]
        assert set(patient["resource"]) == {"resourceType", "id", "identifier"}  # no name
        assert patient["fullUrl"] == f"urn:uuid:{patient['resource']['id']}"
        assert encounter["resource"]["subject"]["reference"] == patient["fullUrl"]
        assert encounter["resource"]["identifier"] == [
            {"system": "urn:monitor:session", "value": str(sid)}
        ]
        assert encounter["resource"]["class"]["code"] == "AMB"
        for entry in entries(data, "Observation"):
            assert entry["resource"]["subject"]["reference"] == patient["fullUrl"]
            assert entry["resource"]["encounter"]["reference"] == encounter["fullUrl"]
            observations += 1
        period = encounter["resource"].get("period", {})
        assert period.get("start") == shown["dosed_at"]
        assert period.get("end") == shown["discharge"]["discharged_at"]  # None: observed
    assert result.items == observations  # the export counts Observations, not the links
    worked, active, unsigned = (e["resource"] for b in bundles for e in entries(b, "Encounter"))
    assert (worked["status"], active["status"], unsigned["status"]) == (
        "finished",
        "in-progress",
        "finished",  # discharged by an override: ended all the same
    )
    assert worked["period"] == {"start": at(0).isoformat(), "end": at(121).isoformat()}
    assert worked["length"]["value"] == 121 and worked["length"]["code"] == "min"
    assert "end" not in active["period"] and "length" not in active


def test_ids_are_stable_and_a_patient_is_one_patient(service, clock):
    first, _ = observed_session(service)
    discharge(service, first)
    other = when(service, 200).start_session(patient="MRN-LINK", protocol="ketamine-im", by="bo")
    one = bundle(service.session(first), at(300))
    again = bundle(service.session(first), at(400))
    assert [e["fullUrl"] for e in one["entry"]] == [e["fullUrl"] for e in again["entry"]]
    two = bundle(service.session(other), at(300))
    assert entries(one, "Patient") == entries(two, "Patient")
    assert entries(one, "Encounter")[0]["fullUrl"] != entries(two, "Encounter")[0]["fullUrl"]


def test_a_correction_of_sbp_alone_marks_only_the_bp_corrected_and_names_what_it_revises(
    service,
):
    sid, original = observed_session(service)
    fixed = when(service, 25).amend(original, "152/90", by="ana", reason="misread the cuff")
    data = bundle(service.session(sid), at(30))
    validate(data)
    old_bp, new_bp = observation(data, original, "bp"), observation(data, fixed.id, "bp")
    assert new_bp["resource"]["component"][0]["valueQuantity"]["value"] == 152
    assert new_bp["resource"]["status"] == "corrected"
    for kind in ("hr", "spo2"):  # repeated unchanged: in force, not corrected
        assert observation(data, fixed.id, kind)["resource"]["status"] == "final"
    for kind in ("bp", "hr", "spo2"):  # the original's are all withdrawn
        assert observation(data, original, kind)["resource"]["status"] == "entered-in-error"
    [link] = provenance_of(data, new_bp["fullUrl"])
    assert link["target"] == [{"reference": new_bp["fullUrl"], "type": "Observation"}]
    assert link["entity"] == [
        {"role": "revision", "what": {"reference": old_bp["fullUrl"], "type": "Observation"}}
    ]
    assert link["reason"] == [{"text": "misread the cuff"}]
    assert link["agent"][0]["who"] == {"display": "ana"}
    assert link["recorded"] == link["occurredDateTime"] == at(25).isoformat()
    assert link["activity"]["coding"][0]["code"] == "UPDATE"
    # The unchanged HR is linked to the HR it replaces as well.
    [hr_link] = provenance_of(data, observation(data, fixed.id, "hr")["fullUrl"])
    assert hr_link["entity"][0]["what"]["reference"] == observation(data, original, "hr")["fullUrl"]
    # The note still says it in words.
    assert f"corrects reading {original}: misread the cuff" in [
        n["text"] for n in new_bp["resource"]["note"]
    ]


def test_a_correction_of_the_time_corrects_every_measure_and_an_added_one_is_new(service):
    sid, original = observed_session(service)
    moved = when(service, 25).amend(original, "150/90", by="ana", reason="clock wrong", at=at(18))
    data = bundle(service.session(sid), at(30))
    validate(data)
    assert {observation(data, moved.id, k)["resource"]["status"] for k in ("bp", "hr", "spo2")} == {
        "corrected"
    }
    added = when(service, 28).amend(moved.id, "rr 16", by="ana", reason="RR was on paper")
    data = bundle(service.session(sid), at(30))
    validate(data)
    rr = observation(data, added.id, "rr")
    assert rr["resource"]["status"] == "final"  # nothing before it to correct
    [link] = provenance_of(data, rr["fullUrl"])
    assert "entity" not in link and link["reason"] == [{"text": "RR was on paper"}]
    # A correction corrected in turn is withdrawn; its own link stays.
    assert observation(data, moved.id, "bp")["resource"]["status"] == "entered-in-error"
    assert observation(data, added.id, "bp")["resource"]["status"] == "final"  # as in `moved`


def test_a_correction_that_drops_a_measure_withdraws_it_by_a_provenance(service):
    sid, original = observed_session(service)
    fixed = when(service, 25).amend(
        original, "150/90 hr 80", by="ana", reason="no oximeter", replace=True
    )
    data = bundle(service.session(sid), at(30))
    validate(data)
    dropped = observation(data, original, "spo2")
    assert dropped["resource"]["status"] == "entered-in-error"
    [link] = provenance_of(data, dropped["fullUrl"])
    assert link["id"] == f"correction-{fixed.id}-spo2" and "entity" not in link


def test_a_void_is_entered_in_error_with_who_when_and_why(service):
    sid, reading = observed_session(service)
    when(service, 24).void(reading, by="sam", reason="wrong patient")
    data = bundle(service.session(sid), at(30))
    validate(data)
    urls = [observation(data, reading, k)["fullUrl"] for k in ("bp", "hr", "spo2")]
    for kind in ("bp", "hr", "spo2"):
        assert observation(data, reading, kind)["resource"]["status"] == "entered-in-error"
    [link] = provenance_of(data, urls[0])
    assert [t["reference"] for t in link["target"]] == urls
    assert link["activity"]["coding"][0]["code"] == "NULLIFY"
    assert (link["agent"][0]["who"], link["reason"]) == (
        {"display": "sam"},
        [{"text": "wrong patient"}],
    )
    assert link["recorded"] == at(24).isoformat()


def test_every_sign_off_and_reopening_is_in_the_bundle_in_order(service):
    sid, _ = observed_session(service)
    discharge(service, sid)
    when(service, 200).sign(sid, by="sam", pin="9999")
    when(service, 210).reopen(sid, by="sam", reason="SpO2 entered for the wrong bay")
    when(service, 220).sign(sid, by="sam", pin="9999")
    data = bundle(service.session(sid), at(300))
    validate(data)
    [encounter] = entries(data, "Encounter")
    steps = provenance_of(data, encounter["fullUrl"])
    assert [(s["activity"]["text"], s["recorded"]) for s in steps] == [
        ("signed off: reviewed", at(200).isoformat()),
        ("sign-off withdrawn (reopened)", at(210).isoformat()),
        ("signed off: reviewed", at(220).isoformat()),
    ]
    assert [s["agent"][0]["who"]["display"] for s in steps] == ["sam"] * 3
    assert [s["agent"][0]["type"]["coding"][0]["code"] for s in steps] == [
        "verifier",
        "author",
        "verifier",
    ]
    assert "reason" not in steps[0] and steps[1]["reason"] == [
        {"text": "SpO2 entered for the wrong bay"}
    ]
    assert [s["activity"]["coding"][-1]["code"] for s in steps] == [
        "sign-off",
        "reopen",
        "sign-off",
    ]
    # In the Bundle's order too: the review after the readings, oldest first.
    kinds = [e["resource"]["resourceType"] for e in data["entry"]]
    assert kinds.index("Provenance") > max(i for i, k in enumerate(kinds) if k == "Observation")
    assert encounter["resource"]["status"] == "finished"


def test_a_sign_off_reopening_and_sign_off_at_one_moment_keep_their_order(service):
    """One order for every view (monitor.present.review.review_steps): the sign-off, the
    reopening that withdrew it, the new sign-off, even when the clock reads the same for all."""
    from monitor.present.review import Step, review_steps

    sid, _ = observed_session(service)
    discharge(service, sid)
    same = when(service, 200)
    same.sign(sid, by="sam", pin="9999")
    same.reopen(sid, by="sam", reason="SpO2 entered for the wrong bay")
    same.sign(sid, by="sam", pin="9999")
    view = service.session(sid)
    assert [s.action for s in review_steps(view)] == [Step.SIGNED, Step.REOPENED, Step.SIGNED]
    assert [s.withdrawn for s in review_steps(view)] == [True, False, False]
    data = bundle(view, at(300))
    validate(data)
    [encounter] = entries(data, "Encounter")
    steps = provenance_of(data, encounter["fullUrl"])
    assert [(s["id"], s["activity"]["coding"][-1]["code"]) for s in steps] == [
        (f"session-{sid}-sign-off-1", "sign-off"),
        (f"session-{sid}-reopen-1", "reopen"),
        (f"session-{sid}-sign-off-2", "sign-off"),
    ]
    assert session_json(view)["review"]["history"][1]["action"] == "reopened"


def test_a_session_discharged_without_a_dose_is_a_cancelled_encounter(service):
    sid = when(service, -30).start_session(patient="MRN-NODOSE", protocol="ketamine-im", by="ana")
    when(service, -5).record_reading(sid, FULL, by="ana")
    when(service, 10).discharge(
        sid,
        by="ana",
        override_reason="dose postponed by the prescriber",
        escort="partner",
        instructions_given=True,
        cosign="sam",
    )
    data = bundle(service.session(sid), at(30))
    validate(data)
    [encounter] = entries(data, "Encounter")
    assert encounter["resource"]["status"] == "cancelled"
    assert "period" not in encounter["resource"]  # no observation began


def test_the_history_is_ordered_by_time_across_changes_and_review(service):
    sid, reading = observed_session(service)
    discharge(service, sid)
    when(service, 200).sign(sid, by="sam", pin="9999")
    when(service, 210).reopen(sid, by="sam", reason="SBP misread")
    when(service, 212).amend(reading, "148/90", by="sam", reason="cuff printout says 148")
    when(service, 220).sign(sid, by="sam", pin="9999")
    data = bundle(service.session(sid), at(300))
    validate(data)
    recorded = [datetime.fromisoformat(e["resource"]["recorded"]) for e in entries(data, "Provenance")]  # fmt: skip
    assert recorded == sorted(recorded)
    assert [e["resource"]["id"].split("-")[0] for e in entries(data, "Provenance")] == [
        "session",  # signed
        "session",  # reopened
        "correction",
        "correction",
        "correction",
        "session",  # signed again
    ]
