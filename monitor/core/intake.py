"""What is asked when a session starts (clinical.md, "Recorded during a session"): the REMS
form's concomitant medication, and the dose an esketamine protocol fixes."""

from __future__ import annotations

from monitor.errors import EntryError

#: The REMS form's concomitant medication, as ``--meds`` names them.
MEDS = ("benzodiazepines", "sedative-hypnotics", "psychostimulants", "maois")
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
