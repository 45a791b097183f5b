"""Building ORU^R01 as the vendors' gateways do, and ACKs (docs/hl7.md, "Acknowledgements",
"Sending without a monitor"): round trips through the parser, escaping, ACK headers."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import hl7
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.errors import EntryError
from monitor.hl7 import HL7Refusal, build_ack, build_oru, parse_ack, parse_oru, split_messages
from tests.hl7.samples import PARIS, PHILIPS_PIIC, WELCH_ALLYN_CONNEX

AT = datetime(2026, 12, 6, 14, 30, 5, tzinfo=PARIS)
ALL = {"systolic": 185, "diastolic": 100, "heart_rate": 88, "spo2": 97, "resp_rate": 14}


@pytest.mark.parametrize("style", ["philips", "welch-allyn"])
@pytest.mark.parametrize(
    "values", [ALL, {"spo2": 91}, {"systolic": 128, "diastolic": 84}, {"heart_rate": 40}]
)
def test_round_trip(style, values):
    text = build_oru(values, device="MX450-12", bay="Bay 1", control_id="C-42", at=AT, style=style)
    m = parse_oru(text, local_zone=ZoneInfo("UTC"))
    assert m.values == values
    assert m.device_name == "MX450-12"
    assert m.bed == "Bay 1"
    assert m.control_id == "C-42"
    assert m.measured_at == datetime(2026, 12, 6, 13, 30, 5, tzinfo=UTC)


def test_philips_style_is_mdc_with_obx18():
    text = build_oru(ALL, device="MX450-12", bay="Bay 1", control_id="C-1", at=AT)
    m = parse_oru(text, local_zone=PARIS)
    assert m.equipment == "MX450-12"
    assert m.sending_application == "PIIC"
    assert "150021^MDC_PRESS_BLD_NONINV_SYS^MDC" in text
    assert "266016^MDC_DIM_MMHG^MDC" in text
    assert "150023^MDC_PRESS_BLD_NONINV_MEAN^MDC" in m.ignored
    rows = [(str(o(11)), str(o(14)), str(o(18))) for o in hl7.parse(text).segments("OBX")]
    assert rows[0] == ("X", "", "MX450-12")  # the device row
    assert rows[1:] == [("R", "20261206143005+0100", "MX450-12")] * 6  # 5 values and the mean


def test_welch_allyn_style_is_loinc_with_msh3_and_pv1():
    text = build_oru(
        ALL, device="CVSM-7", bay="Bay 3", control_id="C-1", at=AT, style="welch-allyn"
    )
    m = parse_oru(text, local_zone=PARIS)
    assert m.equipment is None
    assert m.sending_application == "CVSM-7"
    assert "8480-6^Systolic blood pressure^LN" in text
    assert "mm[Hg]" in text
    assert "|MONITOR|" in text.split("\r")[0]
    rows = [(str(o(11)), str(o(14)), len(o)) for o in hl7.parse(text).segments("OBX")]
    assert rows == [("F", "20261206143005+0100", 15)] * 6  # nothing after OBX-14


@pytest.mark.parametrize("style", ["philips", "welch-allyn"])
def test_separators_in_names_are_escaped(style):
    text = build_oru(
        {"spo2": 97}, device="A|B^C&D~E\\F", bay="Bay|1^x", control_id="C|1", at=AT, style=style
    )
    m = parse_oru(text, local_zone=PARIS)
    assert (m.device_name, m.bed, m.control_id) == ("A|B^C&D~E\\F", "Bay|1^x", "C|1")


def test_build_refusals():
    kwargs = {"device": "D", "bay": "B", "control_id": "C", "at": AT}
    with pytest.raises(EntryError, match="moaas is not sent by a monitor"):
        build_oru({"moaas": 3}, **kwargs)
    with pytest.raises(EntryError, match="no measure"):
        build_oru({}, **kwargs)
    with pytest.raises(EntryError, match="whole number"):
        build_oru({"spo2": 97.5}, **kwargs)
    with pytest.raises(ValueError, match="timezone-aware"):
        build_oru({"spo2": 97}, **{**kwargs, "at": datetime(2026, 12, 6, 14, 30)})
    with pytest.raises(ValueError, match="style"):
        build_oru({"spo2": 97}, **kwargs, style="ge")


def test_ack_swaps_sender_and_receiver():
    ack = build_ack(WELCH_ALLYN_CONNEX, "AA", "saved: session 12", control_id="ACK-1")
    parsed = hl7.parse(ack)
    msh = parsed.segment("MSH")
    assert str(msh(3)) == "MONITOR"
    assert str(msh(4)) == "CLINIC"
    assert str(msh(5)) == "CVSM-100042^WelchAllyn"
    assert str(msh(6)) == "CLINIC"
    assert str(msh(9)) == "ACK^R01^ACK"
    assert str(msh(10)) == "ACK-1"
    assert str(msh(12)) == "2.5"
    assert [str(s[0]) for s in parsed] == ["MSH", "MSA"]  # no ERR on AA
    assert parse_ack(ack) == ("AA", "WA-000987", "saved: session 12")


def test_ack_of_a_message_without_receiver():
    ack = build_ack(PHILIPS_PIIC, "AE", "unknown device MX450-DE12345678")
    msh = hl7.parse(ack).segment("MSH")
    assert str(msh(3)) == "MONITOR"
    assert str(msh(5)) == "PIIC^00095CFFFE74A2B1^EUI-64"
    assert len(str(msh(10))) == 20  # a fresh control id
    assert build_ack(PHILIPS_PIIC, "AA", "x").split("\r")[0] != ack.split("\r")[0]


@pytest.mark.parametrize("code", ["AE", "AR"])
def test_refusal_ack_has_err(code):
    ack = build_ack(PHILIPS_PIIC, code, "no active session in Bay 1", error=101)
    err = hl7.parse(ack).segment("ERR")
    assert str(err(3)) == "101^Required field missing^HL70357"
    assert str(err(4)) == "E"
    assert str(err(8)) == "no active session in Bay 1"
    assert parse_ack(ack) == (code, "PIIC0000123456", "no active session in Bay 1")
    assert "207^Application internal error" in build_ack(None, code, "x")


@pytest.mark.parametrize("message", [None, "", "garbage", b"\xff\x00", "MSH|^~|broken"])
def test_ack_of_an_unreadable_message(message):
    ack = build_ack(message, "AR", "not an HL7 v2 message")
    assert parse_ack(ack) == ("AR", "", "not an HL7 v2 message")


def test_ack_of_a_message_broken_after_its_header():
    text = PHILIPS_PIIC.replace("OBX|3|", "obx|3|")
    assert parse_ack(build_ack(text, "AR", "segment 7"))[1] == "PIIC0000123456"


def test_ack_with_other_encoding_characters():
    body = WELCH_ALLYN_CONNEX.removeprefix("MSH|^~\\&|")
    text = "MSH#$*!@#" + body.replace("|", "#").replace("^", "$")
    assert parse_oru(text, local_zone=PARIS).control_id == "WA-000987"
    assert parse_ack(build_ack(text, "AA", "ok"))[1] == "WA-000987"


@pytest.mark.parametrize(
    "reason",
    [
        "a | b ^ c & d ~ e \\ f",
        "\\F\\ already escaped",
        "ends with \\",
        "unit 'mm|Hg' for systolic (150021^MDC_PRESS_BLD_NONINV_SYS^MDC)",
        "déjà vu — ≥ 5 min ✓",
        "line\rbreak\nand\ttab",
    ],
)
def test_ack_text_round_trip(reason):
    ack = build_ack(PHILIPS_PIIC, "AE", reason)
    assert len(hl7.parse(ack)) == 3  # MSH, MSA, ERR: nothing broke out of its field
    assert parse_ack(ack)[2] == " ".join(reason.split())


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=80))
def test_ack_text_round_trip_any(reason):
    expected = " ".join("".join(c if c.isprintable() else " " for c in reason).split())
    assert parse_ack(build_ack(None, "AE", reason))[2] == expected


def test_parse_ack_refusals():
    with pytest.raises(HL7Refusal, match="not an ACK"):
        parse_ack(PHILIPS_PIIC)
    with pytest.raises(HL7Refusal, match="no acknowledgement code"):
        parse_ack("MSH|^~\\&|A||B||20261206||ACK|1|P|2.5\r")
    with pytest.raises(HL7Refusal):
        parse_ack("")


def test_build_ack_code_must_be_known():
    with pytest.raises(ValueError, match="code"):
        build_ack(None, "CA", "x")


def test_split_messages_of_a_file():
    batch = "FHS|^~\\&\nBHS|^~\\&\n" + PHILIPS_PIIC + "\n\n" + WELCH_ALLYN_CONNEX + "BTS|2\nFTS|1\n"
    first, second = split_messages(batch.encode())
    assert parse_oru(first, local_zone=PARIS) == parse_oru(PHILIPS_PIIC, local_zone=PARIS)
    assert parse_oru(second, local_zone=PARIS).control_id == "WA-000987"
    assert split_messages("no messages here") == []
