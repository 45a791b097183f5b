"""Whatever arrives, the HL7 layer answers with a message or an HL7Refusal, never another
exception (docs/hl7.md, "What is accepted"): random bytes, random text, and vendors' messages
with characters changed, inserted or removed."""

from __future__ import annotations

import contextlib

import hl7
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.hl7 import HL7Refusal, build_ack, parse_ack, parse_oru
from monitor.hl7.message import component, components
from tests.hl7.samples import PARIS, PHILIPS_EFFICIA, PHILIPS_PIIC, WELCH_ALLYN_CONNEX

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
#: Characters that matter to HL7: separators, escapes, digits, signs, segment breaks.
HL7_CHARS = st.sampled_from(list("|^~\\&#\r\n0123456789.+-XFDWNMSHOBRAE \x00\x0b\x1cé€"))


def answer(data: str | bytes) -> None:
    """Parse, then acknowledge what was parsed or refused: only HL7Refusal may come out."""
    refused: HL7Refusal | None = None
    try:
        message = parse_oru(data, local_zone=PARIS)
    except HL7Refusal as refusal:
        refused = refusal
    if refused is not None:
        assert refused.code in ("AE", "AR")
        assert refused.text and "\r" not in refused.text
        assert "internal" not in refused.text, refused.text  # a bug caught by the safety net
        ack = build_ack(data, refused.code, refused.text, error=refused.error)
    else:
        assert message.values
        assert message.measured_at.utcoffset() is not None
        ack = build_ack(data, "AA", f"saved {message.values}")
    code, _, _ = parse_ack(ack)
    assert code in ("AA", "AE", "AR")


@FAST
@given(st.binary(max_size=400))
def test_random_bytes(data):
    answer(data)
    answer(b"MSH|^~\\&|" + data)


@FAST
@given(st.text(max_size=400))
def test_random_text(text):
    answer(text)
    answer("MSH|^~\\&|" + text)


@st.composite
def mutated(draw):
    """A vendor's message with a few characters changed, inserted or removed."""
    chars = list(draw(st.sampled_from([PHILIPS_PIIC, WELCH_ALLYN_CONNEX, PHILIPS_EFFICIA])))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(chars) - 1))
        action = draw(st.sampled_from(["change", "insert", "delete"]))
        if action == "change":
            chars[at] = draw(HL7_CHARS)
        elif action == "insert":
            chars.insert(at, draw(HL7_CHARS))
        elif len(chars) > 1:
            del chars[at]
    return "".join(chars)


@FAST
@given(mutated())
def test_mutated_vendor_messages(text):
    answer(text)


@FAST
@given(st.text(max_size=200))
def test_parse_ack_of_anything(text):
    with contextlib.suppress(HL7Refusal):
        parse_ack(text)


def _by_the_library(segment, field: int, count: int) -> list[str]:
    """The components as the library's ``extract_field`` reads them, one call each."""
    found = []
    for number in range(1, count + 1):
        try:
            found.append(str(segment.extract_field(field_num=field, component_num=number)).strip())
        except (IndexError, ValueError):
            found.append("")
    return found


@FAST
@given(
    st.sampled_from(["MSH|^~\\&|", "MSH|^~\\&#|", "OBX|", "PV1|"]),
    st.text(HL7_CHARS, max_size=60),
)
def test_components_read_as_the_library_reads_them(head, text):
    """:func:`monitor.hl7.message.components` finds a field once (a shortcut): each component
    is still what ``extract_field`` gives, escapes, sub-components and MSH-1/2 included."""
    try:
        message = hl7.parse(head + text.replace("\n", " ").replace("\x1c", " "))
    except Exception:
        return
    for segment in message:
        for field in range(len(segment) + 2):
            for count in (1, 3, 6):
                assert components(segment, field, count) == _by_the_library(segment, field, count)
                assert (
                    component(segment, field, count) == _by_the_library(segment, field, count)[-1]
                )
