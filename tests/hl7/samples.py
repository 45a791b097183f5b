"""HL7 v2 messages as bedside monitors' gateways send them (docs/hl7.md), for the tests.

Written after the vendors' published interface guides: IEEE 11073 MDC codes with the device in
OBX-18 (Philips IntelliVue Information Center, IHE PCD-01 style), LOINC codes with UCUM units
and the bed in PV1-3 (Welch Allyn Connex), and MDIL codes (Philips Efficia). Segments are
ended by ``\\r`` unless a test says otherwise.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

#: The clinic's zone for times sent without an offset (UTC+1 in December).
PARIS = ZoneInfo("Europe/Paris")


def message(*segments: str, end: str = "\r") -> str:
    """Segments joined by ``end``, with a final ``end``."""
    return end.join(segments) + end


PHILIPS_MSH = (
    "MSH|^~\\&|PIIC^00095CFFFE74A2B1^EUI-64|Philips|||20261206143012+0100||ORU^R01^ORU_R01"
    "|PIIC0000123456|P|2.6|||NE|AL||UNICODE UTF-8|||IHE_PCD_001^IHE PCD"
    "^1.3.6.1.4.1.19376.1.6.1.1.1^ISO"
)

#: Philips IntelliVue Information Center: MDC codes and units, the monitor's label in OBX-18 of
#: the device row (status X), channels in OBX-4, three heart rates (NBP pulse, ECG, SpO2
#: pleth), the mean pressure and a temperature, times in OBX-14 with their offset.
PHILIPS_PIIC = message(
    PHILIPS_MSH,
    "PID|||MRN-10231^^^Clinic^MR||^^^^^^U|||U",
    "PV1||I|KETAMINE^^Bay 1",
    "OBR|1|PIIC0000123456^PIIC^00095CFFFE74A2B1^EUI-64|PIIC0000123456^PIIC^00095CFFFE74A2B1"
    "^EUI-64|182777000^monitoring of patient^SCT|||20261206143000+0100",
    "OBX|1||69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC|1.0.0.0|||||||X|||||||"
    "MX450-DE12345678^^00095CFFFE74A2B1^EUI-64",
    "OBX|2||69854^MDC_DEV_METER_PRESS_BLD_VMD^MDC|1.1.0.0|||||||X",
    "OBX|3|NM|150021^MDC_PRESS_BLD_NONINV_SYS^MDC|1.1.1.1|128|266016^MDC_DIM_MMHG^MDC|||||R"
    "|||20261206142912+0100",
    "OBX|4|NM|150022^MDC_PRESS_BLD_NONINV_DIA^MDC|1.1.1.2|84|266016^MDC_DIM_MMHG^MDC|||||R"
    "|||20261206142912+0100",
    "OBX|5|NM|150023^MDC_PRESS_BLD_NONINV_MEAN^MDC|1.1.1.3|99|266016^MDC_DIM_MMHG^MDC|||||R"
    "|||20261206142912+0100",
    "OBX|6|NM|149546^MDC_PULS_RATE_NON_INV^MDC|1.1.1.4|77|264864^MDC_DIM_BEAT_PER_MIN^MDC"
    "|||||R|||20261206142912+0100",
    "OBX|7|NM|147842^MDC_ECG_HEART_RATE^MDC|1.2.1.1|76|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||R"
    "|||20261206143000+0100",
    "OBX|8|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.3.1.1|97|262688^MDC_DIM_PERCENT^MDC|||||R"
    "|||20261206143000+0100",
    "OBX|9|NM|149530^MDC_PULS_OXIM_PULS_RATE^MDC|1.3.1.2|78|264864^MDC_DIM_BEAT_PER_MIN^MDC"
    "|||||R|||20261206143000+0100",
    "OBX|10|NM|151562^MDC_RESP_RATE^MDC|1.4.1.1|14|264928^MDC_DIM_RESP_PER_MIN^MDC|||||R"
    "|||20261206143000+0100",
    "OBX|11|NM|150344^MDC_TEMP^MDC|1.5.1.1|36.8|268192^MDC_DIM_DEGC^MDC|||||R"
    "|||20261206143000+0100",
)

#: Welch Allyn Connex: LOINC codes, UCUM units, the device in MSH-3, the bed in PV1-3, local
#: times without an offset, segments ended by CR LF (as a file or a terminal shows them).
WELCH_ALLYN_CONNEX = message(
    "MSH|^~\\&|CVSM-100042^WelchAllyn|CLINIC|MONITOR|CLINIC|20261206143015||ORU^R01"
    "|WA-000987|P|2.5|||AL|NE",
    "PID|1||MRN-10231^^^CLINIC^MR||^^",
    "PV1|1|O|KETAMINE^3^Bay 2||||||||||||||||V0000321",
    "OBR|1|WA-000987||VS^Vital Signs^L|||20261206143000",
    "OBX|1|NM|8480-6^Systolic blood pressure^LN||185|mm[Hg]^mm[Hg]^UCUM|||||F|||20261206142930",
    "OBX|2|NM|8462-4^Diastolic blood pressure^LN||100|mm[Hg]^mm[Hg]^UCUM|||||F|||20261206142930",
    "OBX|3|NM|8478-0^Mean blood pressure^LN||128|mm[Hg]^mm[Hg]^UCUM|||||F|||20261206142930",
    "OBX|4|NM|8867-4^Heart rate^LN||88|{beats}/min^{beats}/min^UCUM|||||F|||20261206142930",
    "OBX|5|NM|59408-5^Oxygen saturation in Arterial blood by Pulse oximetry^LN||97.0|%^%^UCUM"
    "|||||F|||20261206143000",
    "OBX|6|NM|9279-1^Respiratory rate^LN||14|{breaths}/min^{breaths}/min^UCUM|||||F"
    "|||20261206143000",
    "OBX|7|NM|8310-5^Body temperature^LN||36.9|Cel^Cel^UCUM|||||F|||20261206143000",
    end="\r\n",
)

#: Philips Efficia: MDIL codes (partition-code in hex), the sender in MSH-3's second
#: component, no OBX-14 on most rows (OBR-7 is the time), an invalid SpO2 marked X.
PHILIPS_EFFICIA = message(
    "MSH|^~\\&|^EfficiaCM||||20261206143000||ORU^R01^ORU_R01|MONITORABC000000002D|P|2.4",
    "PID|||MRN1234||JONES^MARY^A",
    "PV1|||^^LOCATION34|||||||||||||||A|TRANSACTION1234",
    "OBR||||MONITOR|||20261206143000",
    "OBX||NM|0002-4a05^NBPs^MDIL||122|0004-0f20^mmHg^MDIL|||||F|||20261206142830",
    "OBX||NM|0002-4a06^NBPd^MDIL||85|0004-0f20^mmHg^MDIL|||||F|||20261206142830",
    "OBX||NM|0002-4a07^NBPm^MDIL||98|0004-0f20^mmHg^MDIL|||||F",
    "OBX||NM|0002-4182^HR^MDIL||80|0004-0aa0^bpm^MDIL|||||F",
    "OBX||NM|0002-4bb8^SpO2^MDIL|||0004-0220^%^MDIL|||||X",
    "OBX||NM|0002-480a^Pulse^MDIL||82|0004-0aa0^bpm^MDIL|||||F||||||0002-4bb8^SpO2^MDIL",
    "OBX||NM|0002-5000^Resp^MDIL||20|0004-0ae0^rpm^MDIL|||||F",
)


def oru(*observations: str, obr_time: str = "20261206143000+0100", pv1: str = "PV1||I|") -> str:
    """A small MDC-coded ORU^R01 around the given OBX segments."""
    return message(
        "MSH|^~\\&|TESTMON|CLINIC|MONITOR||20261206143000+0100||ORU^R01^ORU_R01|T-1|P|2.6",
        pv1,
        f"OBR|1|||182777000^monitoring of patient^SCT|||{obr_time}",
        *observations,
    )


def obx(
    code: str,
    value: str,
    unit: str = "",
    *,
    value_type: str = "NM",
    status: str = "R",
    at: str = "",
    equipment: str = "",
) -> str:
    """One OBX segment."""
    return f"OBX|1|{value_type}|{code}||{value}|{unit}|||||{status}|||{at}||||{equipment}"


SYS = "150021^MDC_PRESS_BLD_NONINV_SYS^MDC"
DIA = "150022^MDC_PRESS_BLD_NONINV_DIA^MDC"
SPO2 = "150456^MDC_PULS_OXIM_SAT_O2^MDC"
ECG_HR = "147842^MDC_ECG_HEART_RATE^MDC"
PLETH_HR = "149530^MDC_PULS_OXIM_PULS_RATE^MDC"
MMHG = "266016^MDC_DIM_MMHG^MDC"
PERCENT = "262688^MDC_DIM_PERCENT^MDC"
BPM = "264864^MDC_DIM_BEAT_PER_MIN^MDC"
