"""Reading monitors' ORU^R01 messages (docs/hl7.md): vendors' styles, codes, units, times,
preferences, and every refusal with its ACK code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from monitor.errors import Refused
from monitor.hl7 import HL7Refusal, content_digest, parse_oru
from tests.hl7.samples import (
    BPM,
    DIA,
    ECG_HR,
    MMHG,
    PARIS,
    PERCENT,
    PHILIPS_EFFICIA,
    PHILIPS_PIIC,
    PLETH_HR,
    SPO2,
    SYS,
    WELCH_ALLYN_CONNEX,
    message,
    obx,
    oru,
)


def parse(text: str | bytes, zone=PARIS):
    return parse_oru(text, local_zone=zone)


def refusal(text: str | bytes) -> HL7Refusal:
    with pytest.raises(HL7Refusal) as caught:
        parse(text)
    return caught.value


def test_philips_intellivue_information_center():
    m = parse(PHILIPS_PIIC)
    assert m.control_id == "PIIC0000123456"
    assert m.sending_application == "PIIC"
    assert m.sending_facility == "Philips"
    assert m.equipment == "MX450-DE12345678"
    assert m.device_name == "MX450-DE12345678"
    assert m.bed == "KETAMINE/Bay 1"
    # ECG heart rate preferred over the SpO2 pulse rate (78) and the NBP pulse (77).
    assert m.values == {
        "systolic": 128,
        "diastolic": 84,
        "heart_rate": 76,
        "spo2": 97,
        "resp_rate": 14,
    }
    # The earliest observation time (the NBP, 14:29:12 at +01:00), in UTC.
    assert m.measured_at == datetime(2026, 12, 6, 13, 29, 12, tzinfo=UTC)
    assert m.ignored == (
        "69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC",
        "69854^MDC_DEV_METER_PRESS_BLD_VMD^MDC",
        "150023^MDC_PRESS_BLD_NONINV_MEAN^MDC",
        "150344^MDC_TEMP^MDC",
        "149546^MDC_PULS_RATE_NON_INV^MDC",
        "149530^MDC_PULS_OXIM_PULS_RATE^MDC",
    )
    assert m.vitals.systolic == 128
    assert len(m.content_digest) == 64
    assert hash(m) == hash(parse(PHILIPS_PIIC))


def test_welch_allyn_connex_local_times_and_crlf():
    m = parse(WELCH_ALLYN_CONNEX)
    assert m.device_name == "CVSM-100042"
    assert m.equipment is None
    assert m.bed == "KETAMINE/3/Bay 2"
    assert m.values == {
        "systolic": 185,
        "diastolic": 100,
        "heart_rate": 88,
        "spo2": 97,
        "resp_rate": 14,
    }
    # 14:29:30 without an offset is Paris time: 13:29:30 UTC.
    assert m.measured_at == datetime(2026, 12, 6, 13, 29, 30, tzinfo=UTC)
    assert m.ignored == ("8478-0^Mean blood pressure^LN", "8310-5^Body temperature^LN")


def test_no_offset_is_in_the_zone_given():
    m = parse(WELCH_ALLYN_CONNEX, zone=timezone(timedelta(hours=-5)))
    assert m.measured_at == datetime(2026, 12, 6, 19, 29, 30, tzinfo=UTC)


def test_philips_efficia_mdil_codes_and_obr_time():
    m = parse(PHILIPS_EFFICIA)
    assert m.device_name == "EfficiaCM"  # MSH-3 is ^EfficiaCM
    assert m.bed == "LOCATION34"
    # SpO2 marked X is not used; the ECG HR (0x4182) is preferred over the pulse (0x480A).
    assert m.values == {"systolic": 122, "diastolic": 85, "heart_rate": 80, "resp_rate": 20}
    assert "0002-4bb8^SpO2^MDIL" in m.ignored
    assert m.measured_at == datetime(2026, 12, 6, 13, 28, 30, tzinfo=UTC)


def test_obr7_when_no_obx14():
    m = parse(oru(obx(SPO2, "97", PERCENT), obr_time="202612061430+0100"))
    assert m.measured_at == datetime(2026, 12, 6, 13, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("20261206143000+0100", datetime(2026, 12, 6, 13, 30, tzinfo=UTC)),
        ("202612061430+0100", datetime(2026, 12, 6, 13, 30, tzinfo=UTC)),
        ("20261206143000.25+0100", datetime(2026, 12, 6, 13, 30, 0, 250000, tzinfo=UTC)),
        ("20261206190000+0530", datetime(2026, 12, 6, 13, 30, tzinfo=UTC)),
        ("20261206100000-0330", datetime(2026, 12, 6, 13, 30, tzinfo=UTC)),
        ("20261206133000+0000", datetime(2026, 12, 6, 13, 30, tzinfo=UTC)),
        ("20260706153000", datetime(2026, 7, 6, 13, 30, tzinfo=UTC)),  # summer: UTC+2
    ],
)
def test_times(stamp, expected):
    assert parse(oru(obx(SPO2, "97", PERCENT, at=stamp))).measured_at == expected


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        ("17.1", "kPa^kPa^UCUM", 128),  # 128.26 mmHg
        ("17.1", "265987^MDC_DIM_KILO_PASCAL^MDC", 128),
        ("16", "kPa", 120),  # 120.01
        ("128", "mm[Hg]^mm[Hg]^UCUM", 128),
        ("128", "mmHg", 128),
        ("128.4", MMHG, 128),
        ("128.5", MMHG, 129),  # halves up
        ("128", "", 128),  # no unit: the standard unit
    ],
)
def test_blood_pressure_units(value, unit, expected):
    m = parse(oru(obx(SYS, value, unit, at="20261206143000+0100")))
    assert m.values == {"systolic": expected}


@pytest.mark.parametrize(
    ("code", "value", "unit", "measure"),
    [
        (SPO2, "97.0", "%", "spo2"),
        ("59408-5^SpO2^LN", "97", "%^percent^UCUM", "spo2"),
        ("2708-6^^LOINC", "97", "%", "spo2"),
        ("20564-1^SaO2^LN", "97", "", "spo2"),
        ("^MDC_PULS_OXIM_SAT_O2", "97", "%", "spo2"),  # the reference id alone
        ("150456^^99MDC", "97", "262688", "spo2"),
        ("8867-4^Heart rate^LN", "76", "/min", "heart_rate"),
        (ECG_HR, "76", "bpm", "heart_rate"),
        ("8889-8^Pulse^LN", "76", "{beats}/min", "heart_rate"),
        ("151562^MDC_RESP_RATE^MDC", "14", "264928^MDC_DIM_RESP_PER_MIN^MDC", "resp_rate"),
        ("151578^MDC_TTHOR_RESP_RATE^MDC", "14", "{breaths}/min", "resp_rate"),
        ("9279-1^Respiratory rate^LN", "14", "/min", "resp_rate"),
        ("150301^MDC_PRESS_CUFF_SYS^MDC", "128", MMHG, "systolic"),
        ("8462-4^BP dias^LN", "84", "mm[Hg]", "diastolic"),
    ],
)
def test_codes_and_units(code, value, unit, measure):
    m = parse(oru(obx(code, value, unit, at="20261206143000+0100")))
    assert m.values == {measure: round(float(value))}


def test_impossible_values_are_returned_not_judged():
    m = parse(oru(obx(SPO2, "150", PERCENT), obx(SYS, "-5", MMHG)))
    assert m.values == {"systolic": -5, "spo2": 150}


def test_heart_rate_preference_and_equal_duplicates():
    m = parse(oru(obx(PLETH_HR, "78", BPM), obx(ECG_HR, "76", BPM), obx(ECG_HR, "76", BPM)))
    assert m.values == {"heart_rate": 76}
    assert m.ignored == (PLETH_HR,)


@pytest.mark.parametrize("status", ["X", "D", "W", "x"])
def test_unused_statuses_are_ignored(status):
    m = parse(oru(obx(SYS, "999", MMHG, status=status), obx(SPO2, "97", PERCENT)))
    assert m.values == {"spo2": 97}
    assert SYS in m.ignored


def test_equipment_from_the_first_obx_that_has_one():
    m = parse(oru(obx(SPO2, "97", PERCENT), obx(SYS, "120", MMHG, equipment="MON-7^^ABCD^EUI-64")))
    assert m.equipment == "MON-7"
    assert m.device_name == "MON-7"
    assert m.sending_application == "TESTMON"
    assert m.bed is None


def test_escaped_device_name():
    m = parse(oru(obx(SPO2, "97", PERCENT, equipment="Bay\\F\\1")))
    assert m.device_name == "Bay|1"


@pytest.mark.parametrize("end", ["\r", "\n", "\r\n"])
def test_line_ends_bytes_and_frames_give_the_same_message_and_digest(end):
    text = PHILIPS_PIIC.replace("\r", end)
    framed = b"\x0b" + text.encode() + b"\x1c\r"
    assert parse(framed) == parse(PHILIPS_PIIC)
    assert content_digest(text + "  \n") == content_digest(PHILIPS_PIIC)


def test_digest_differs_with_content():
    other = PHILIPS_PIIC.replace("|128|", "|182|")
    assert content_digest(other) != content_digest(PHILIPS_PIIC)


def test_latin1_bytes():
    text = oru(obx(SPO2, "97", PERCENT)).replace("TESTMON", "MONITEUR-\u00c9TAGE")
    m = parse(text.encode("latin-1"))
    assert (m.device_name, m.values) == ("MONITEUR-\u00c9TAGE", {"spo2": 97})
    assert parse(text.encode("utf-8")).device_name == "MONITEUR-\u00c9TAGE"


def test_times_five_minutes_apart_are_accepted():
    m = parse(
        oru(
            obx(SYS, "120", MMHG, at="20261206142500+0100"),
            obx(SPO2, "97", PERCENT, at="20261206143000+0100"),
        )
    )
    assert m.measured_at == datetime(2026, 12, 6, 13, 25, tzinfo=UTC)


MSH = "MSH|^~\\&|TESTMON|CLINIC|MONITOR||20261206143000+0100||ORU^R01|T-1|P|2.6"
GOOD_OBX = obx(SPO2, "97", PERCENT, at="20261206143000+0100")


@pytest.mark.parametrize(
    ("text", "code", "words"),
    [
        ("", "AR", "not an HL7"),
        ("hello world", "AR", "not an HL7"),
        (b"\xff\xfe\x00garbage", "AR", "not an HL7"),
        (message("PID|1", MSH, GOOD_OBX), "AR", "not an HL7"),
        ("MSH", "AR", "encoding characters"),
        (message("MSH|^~|TESTMON|||||ORU^R01|T-1|P|2.6", GOOD_OBX), "AR", "encoding characters"),
        (message("MSH|^~\\^|TESTMON|||||ORU^R01|T-1|P|2.6", GOOD_OBX), "AR", "encoding characters"),
        (message("MSHA^~\\&ATESTMON", GOOD_OBX), "AR", "encoding characters"),
        (message(MSH.replace("ORU^R01", "ADT^A01"), GOOD_OBX), "AR", "ADT^A01 is not accepted"),
        (message(MSH.replace("ORU^R01", "ORU^R30"), GOOD_OBX), "AR", "ORU^R30 is not accepted"),
        (message(MSH.replace("ORU^R01", "ACK"), GOOD_OBX), "AR", "ACK is not accepted"),
        (message(MSH.replace("ORU^R01", ""), GOOD_OBX), "AR", "no message type"),
        (message(MSH.replace("T-1", ""), GOOD_OBX), "AR", "no message control id"),
        (message(MSH, GOOD_OBX, MSH, GOOD_OBX), "AR", "more than one message"),
        (message(MSH, "obx|1|NM|" + SPO2), "AR", "segment 2"),
        (message(MSH.replace("TESTMON", ""), GOOD_OBX), "AR", "no device name"),
        (message(MSH.replace("TESTMON", ""), "PV1||I|"), "AR", "no device name"),  # AR first
        (message(MSH, obx("150344^MDC_TEMP^MDC", "36.8", "Cel")), "AE", "no usable vital sign"),
        (message(MSH, "PV1||I|^^Bay 1"), "AE", "no usable vital sign"),
        (message(MSH, obx(SPO2, "97", PERCENT, status="X")), "AE", "1 marked X"),
        (message(MSH, obx(SYS, "128", MMHG, value_type="ST")), "AE", "value type ST, not NM"),
        (message(MSH, obx(SYS, "128", MMHG, value_type="")), "AE", "value type empty"),
        (message(MSH, obx(SYS, "high", MMHG, at="20261206143000")), "AE", "'high'"),
        (message(MSH, obx(SYS, "", MMHG, at="20261206143000")), "AE", "is not a number"),
        (message(MSH, obx(SYS, "12^8", MMHG, at="20261206143000")), "AE", "is not a number"),
        (message(MSH, obx(SYS, "1e3", MMHG, at="20261206143000")), "AE", "is not a number"),
        (message(MSH, obx(SYS, "128", "%", at="20261206143000")), "AE", "unit '%' is not accepted"),
        (message(MSH, obx(SPO2, "97", MMHG, at="20261206143000")), "AE", "spo2"),
        (message(MSH, obx(SPO2, "97", "furlongs", at="20261206143000")), "AE", "'furlongs'"),
        (message(MSH, obx(ECG_HR, "76", PERCENT, at="20261206143000")), "AE", "heart_rate"),
        (message(MSH, obx(SPO2, "97", PERCENT)), "AE", "no measurement time"),
        (message(MSH, obx(SPO2, "97", PERCENT, at="2026-12-06 14:30")), "AE", "unreadable time"),
        (message(MSH, obx(SPO2, "97", PERCENT, at="20261206")), "AE", "unreadable time"),
        (message(MSH, obx(SPO2, "97", PERCENT, at="20261306143000")), "AE", "unreadable time"),
        (message(MSH, obx(SPO2, "97", PERCENT, at="20261206143000+2500")), "AE", "unreadable time"),
        (message(MSH, obx(SPO2, "97", PERCENT, at="00010101000000+1400")), "AE", "unreadable time"),
        (
            message(MSH, "OBR|1|||X|||yesterday", obx(SPO2, "97", PERCENT)),
            "AE",
            "unreadable time 'yesterday'",
        ),
        (
            message(
                MSH,
                obx(SYS, "120", MMHG, at="20261206142400+0100"),
                obx(SPO2, "97", PERCENT, at="20261206143000+0100"),
            ),
            "AE",
            "differ by 6 min",
        ),
        (
            message(
                MSH,
                obx(ECG_HR, "76", BPM, at="20261206143000"),
                obx(ECG_HR, "80", BPM, at="20261206143000"),
            ),
            "AE",
            "two different heart_rate values in one message (76 and 80)",
        ),
    ],
)
def test_refusals(text, code, words):
    refused = refusal(text)
    assert refused.code == code
    assert words in refused.text
    assert isinstance(refused, Refused)
    assert "internal" not in refused.text


def test_wrong_unit_names_the_observation_and_unit():
    refused = refusal(message(MSH, obx(SYS, "128", "%", at="20261206143000")))
    assert refused.text == (
        "systolic (150021^MDC_PRESS_BLD_NONINV_SYS^MDC) in unit '%' is not accepted: mmHg or kPa"
    )
    assert refused.where == "OBX-6 (observation 1)"
    assert str(refused) == f"{refused.text} (OBX-6 (observation 1))"


def test_refusal_error_codes():
    assert refusal(message(MSH.replace("T-1", ""), GOOD_OBX)).error == 101
    assert refusal(message(MSH.replace("ORU^R01", "ADT^A01"), GOOD_OBX)).error == 200
    assert refusal(message(MSH, obx(SYS, "x", MMHG, at="20261206143000"))).error == 102
    assert refusal("nothing").error == 207


def test_too_long_is_refused_unread():
    assert refusal(MSH + "\r" + "NTE|" + "x" * 1_000_001).code == "AR"


def test_many_observations_are_fine():
    observations = [obx(SPO2, "97", PERCENT, at="20261206143000") for _ in range(2000)]
    assert parse(message(MSH, *observations)).values == {"spo2": 97}


def test_diastolic_alone_is_returned():
    # BP needs both: the services refuse it with the existing rules, not this parser.
    assert parse(oru(obx(DIA, "84", MMHG))).values == {"diastolic": 84}
