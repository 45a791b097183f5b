"""What is asked when a session starts (docs/clinical.md, "Recorded besides vitals"): the
REMS form's concomitant medication, the dose an esketamine protocol fixes, and what a new
session needs (:func:`intake_refusals`), the one answer the services and every face ask."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from monitor.errors import EntryError

#: The REMS form's concomitant medication, as ``--meds`` names them.
MEDS = ("benzodiazepines", "sedative-hypnotics", "psychostimulants", "maois")
#: Each medication class as the REMS form names it.
MED_LABELS = {
    "benzodiazepines": "benzodiazepines",
    "sedative-hypnotics": "non-benzodiazepine sedative hypnotics",
    "psychostimulants": "psychostimulants",
    "maois": "MAOIs",
}
#: Identifiers, bays and lots: one line, at most this long.
NAME_MAX = 64


def parse_meds(text: str | None) -> tuple[str, ...] | None:
    """``none`` -> (), ``benzodiazepines,maois`` -> the tuple; refused for anything else."""
    if text is None:
        return None
    items = [p.strip().lower() for p in text.split(",") if p.strip()]
    if items == ["none"]:
        return ()
    unknown = [i for i in items if i not in MEDS]
    if not items or unknown:
        raise EntryError(
            f"medication {', '.join(unknown) or repr(text)} is not understood: give 'none' or a "
            f"comma list of {', '.join(MEDS)}"
        )
    return validate_meds(tuple(items))


def validate_meds(meds: tuple[str, ...]) -> tuple[str, ...]:
    """Each answer one of :data:`MEDS`, named once; ``()`` is "none"."""
    unknown = [m for m in meds if m not in MEDS]
    if unknown:
        raise EntryError(
            f"medication {', '.join(map(str, unknown))} is not understood: use {', '.join(MEDS)}"
        )
    if len(set(meds)) != len(meds):
        raise EntryError("a medication is named twice: name each once")
    return meds


def expected_dose(protocol_key: str) -> float | None:
    """The dose an esketamine protocol fixes (esketamine-56: 56 mg), else ``None``."""
    if protocol_key.startswith("esketamine-"):
        tail = protocol_key.rsplit("-", 1)[1]
        if tail.isascii() and tail.isdigit():
            return float(tail)
    return None


#: What a new session accepts (docs/clinical.md, "Recorded besides vitals").
AGE_RANGE = (0, 130)
#: Esketamine is for adults; under this age another protocol is accepted with a standing notice
#: that the thresholds are adult ones (docs/clinical.md, "Recorded besides vitals").
ADULT_AGE = 18
DOSE_MAX_MG = 1000
WEIGHT_RANGE_KG = (1, 400)
DOSE_NUMBER_RANGE = (1, 1000)


@dataclass(frozen=True)
class SessionRequest:
    """A new session as asked for, before anything is saved (the CLI's options, the
    station's form): plain values, nothing looked up yet."""

    patient: str | None
    protocol: str
    dose_mg: float | None = None
    weight_kg: float | None = None
    age: int | None = None
    bay: str | None = None
    lot: str | None = None
    first_treatment: bool | None = None
    dose_number: int | None = None
    #: The REMS medication answers: () for "none"; None when not given.
    meds: tuple[str, ...] | None = None


def clean_name(value: str | None, what: str, *, required: bool = False) -> str | None:
    """An identifier, bay or lot: stripped, one printable line of at most :data:`NAME_MAX`;
    ``None`` when blank (refused when ``required``)."""
    value = (value or "").strip()
    if not value:
        if required:
            raise EntryError(f"{what} is required")
        return None
    if len(value) > NAME_MAX or not value.isprintable():
        raise EntryError(f"{what} must be one line of at most {NAME_MAX} printable characters")
    return value


def minor_notice(age: int | None) -> str | None:
    """The standing notice of a session whose patient is under 18 (accepted for protocols other
    than esketamine): the thresholds are adult ones."""
    if age is not None and AGE_RANGE[0] <= age < ADULT_AGE:
        return f"under {ADULT_AGE}: the thresholds and the gate are adult ones"
    return None


class IntakeRefusal(str):
    """One reason a new session is refused (a plain string), and :attr:`field`, the answer of
    :class:`SessionRequest` it is about (``patient``, ``age``, ``dose_mg``, ``meds`` ...):
    a face puts the cursor there (docs/station.md, "Dialogs")."""

    field: str

    def __new__(cls, reason: str, field: str) -> IntakeRefusal:
        refusal = super().__new__(cls, reason)
        refusal.field = field
        return refusal


class IntakeError(EntryError):
    """A new session refused; :attr:`field` names the answer to fix."""

    def __init__(self, refusal: IntakeRefusal) -> None:
        super().__init__(str(refusal))
        self.field = refusal.field


def _intake_checks(request: SessionRequest, bays: Sequence[str]) -> Iterator[IntakeRefusal]:
    """Each reason the request is refused, in the order the service has always checked."""
    R = IntakeRefusal  # noqa: N806 - one letter keeps each reason on its line
    for value, what, required, field in (
        (request.patient, "a patient identifier", True, "patient"),
        (request.bay, "the bay", False, "bay"),
        (request.lot, "the lot number", False, "lot"),
    ):
        try:
            clean_name(value, what, required=required)
        except EntryError as error:
            yield R(str(error), field)
    age, dose, weight, number = (
        request.age,
        request.dose_mg,
        request.weight_kg,
        request.dose_number,
    )
    if age is not None and not AGE_RANGE[0] <= age <= AGE_RANGE[1]:
        yield R(f"age {age} is impossible: accepted {AGE_RANGE[0]}-{AGE_RANGE[1]}", "age")
    if dose is not None and not 0 < dose <= DOSE_MAX_MG:
        yield R(f"dose {dose:g} mg is impossible: accepted above 0 up to {DOSE_MAX_MG}", "dose_mg")
    if weight is not None and not WEIGHT_RANGE_KG[0] <= weight <= WEIGHT_RANGE_KG[1]:
        low, high = WEIGHT_RANGE_KG
        yield R(f"weight {weight:g} kg is impossible: accepted {low}-{high}", "weight_kg")
    if number is not None and not DOSE_NUMBER_RANGE[0] <= number <= DOSE_NUMBER_RANGE[1]:
        low, high = DOSE_NUMBER_RANGE
        yield R(f"dose number {number} is impossible: accepted {low}-{high}", "dose_number")
    fixed = expected_dose(request.protocol)
    if fixed is not None:
        if dose is not None and dose != fixed:
            yield R(
                f"{request.protocol} is a {fixed:g} mg dose, not {dose:g} mg: choose the "
                "protocol that matches the dose",
                "protocol",
            )
        if age is None:
            yield R("esketamine needs the patient's age (REMS)", "age")
        elif AGE_RANGE[0] <= age < ADULT_AGE:
            yield R(f"esketamine is for adults: the patient is {age} (under {ADULT_AGE})", "age")
        if request.meds is None:
            listed = ", ".join(MEDS)
            yield R(
                f"esketamine needs the REMS medication answers: none, or which of {listed}", "meds"
            )
    if request.meds is not None:
        try:
            validate_meds(tuple(request.meds))
        except EntryError as error:
            yield R(str(error), "meds")
    bay = (request.bay or "").strip()
    if bay and bays and bay not in bays:
        yield R(f"bay '{bay}' is unknown: use one of {', '.join(bays)}", "bay")


def intake_refusals(request: SessionRequest, bays: Sequence[str] = ()) -> list[IntakeRefusal]:
    """Every reason a new session would be refused (empty: it may be opened), each naming the
    answer it is about (:attr:`IntakeRefusal.field`). ``request``'s
    protocol is a known key (the configuration refuses an unknown one first); ``bays`` are
    the clinic's (empty: any bay). docs/clinical.md, "Recorded besides vitals"."""
    return list(_intake_checks(request, bays))


def check_intake(request: SessionRequest, bays: Sequence[str] = ()) -> SessionRequest:
    """The request with its names cleaned, its esketamine dose filled in and its medication
    answers checked; :class:`IntakeError` (an :class:`EntryError`) with the first reason it is
    refused, naming its answer."""
    for reason in _intake_checks(request, bays):
        raise IntakeError(reason)
    fixed = expected_dose(request.protocol)
    return replace(
        request,
        patient=clean_name(request.patient, "a patient identifier", required=True),
        bay=clean_name(request.bay, "the bay"),
        lot=clean_name(request.lot, "the lot number"),
        dose_mg=fixed if fixed is not None else request.dose_mg,
        meds=None if request.meds is None else tuple(request.meds),
    )
