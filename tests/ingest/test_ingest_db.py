"""`monitor ingest` end to end over real sockets on 127.0.0.1, on both backends (issue #24,
docs/devices.md): messages in two vendors' styles saved for the patient in the device's bay
and acknowledged AA with the session and the flags; a resend acknowledged again without a
second reading; the same control id with other content refused; unknown devices, empty bays
and malformed messages refused with the reason, audited; a flood of messages all saved once;
a listener killed mid-stream loses nothing it acknowledged and saves nothing twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from monitor.hl7 import build_oru, parse_ack
from monitor.ingest.handler import Handler
from monitor.ingest.sender import SendError, send
from monitor.services import with_clock
from tests.helpers import DOSED, at
from tests.ingest.helpers import listening_in_thread

CALM = {"systolic": 128, "diastolic": 84, "heart_rate": 76, "spo2": 97, "resp_rate": 14}
HIGH = {"systolic": 185, "diastolic": 100, "heart_rate": 88, "spo2": 97, "resp_rate": 14}


@pytest.fixture
def ward(service, clock):
    """A dosed patient in Bay 1 (a Philips monitor, MP5-001) and one in Bay 2 (a Welch Allyn
    Connex, CONNEX-7); the clock 20 min after dosing."""
    for bay, patient in (("Bay 1", "MRN-B1"), ("Bay 2", "MRN-B2")):
        clock.set(DOSED - timedelta(minutes=20))
        sid = service.start_session(patient=patient, protocol="ketamine-im", by="ana", bay=bay)
        service.record_reading(sid, "128/82 hr 74 spo2 98 rr 14 moaas 5 cadss 0", by="ana")
        clock.set(DOSED)
        service.record_dose(sid, by="ana")
    service.add_device("MP5-001", bay="Bay 1", by="sam")
    service.add_device("CONNEX-7", bay="Bay 2", by="sam")
    clock.set(at(20))
    return service


def handler_of(service, logs=None) -> Handler:
    return Handler(service, by="ana", local_zone=UTC, log=(logs if logs is not None else []).append)


def readings(service) -> list[tuple]:
    with service.engine.connect() as c:
        return [
            tuple(r)
            for r in c.execute(
                text(
                    "SELECT r.id, s.bay, r.systolic, d.name FROM readings r JOIN "
                    "treatment_sessions s ON s.id = r.session_id LEFT JOIN devices d "
                    "ON d.id = r.device_id WHERE r.device_id IS NOT NULL ORDER BY r.id"
                )
            )
        ]


def oru(values, device, bay, control, style, minute=15):
    return build_oru(values, device=device, bay=bay, control_id=control, at=at(minute), style=style)


def test_both_vendors_styles_are_saved_for_their_bays_and_acknowledged(ward):
    with listening_in_thread(handler_of(ward).handle) as port:
        acks = send(
            [
                oru(HIGH, "MP5-001", "Bay 1", "P-1", "philips"),
                oru(CALM, "CONNEX-7", "Bay 2", "W-1", "welch-allyn"),
            ],
            port=port,
        )
    (code1, id1, text1), (code2, id2, text2) = (parse_ack(a) for a in acks)
    assert (code1, id1, code2, id2) == ("AA", "P-1", "AA", "W-1")
    assert "MRN-B1" in text1 and "high systolic" in text1 and "validation" in text1
    assert "MRN-B2" in text2 and "no flag" in text2
    saved = readings(ward)
    assert [(bay, sbp, name) for _, bay, sbp, name in saved] == [
        ("Bay 1", 185, "MP5-001"),
        ("Bay 2", 128, "CONNEX-7"),
    ]


def test_a_resend_is_acknowledged_again_once_saved_and_other_content_is_refused(ward):
    first = oru(CALM, "MP5-001", "Bay 1", "P-7", "philips")
    other = oru({**CALM, "systolic": 140}, "MP5-001", "Bay 1", "P-7", "philips")
    with listening_in_thread(handler_of(ward).handle) as port:
        acks = [parse_ack(a) for a in send([first, first, other], port=port)]
    assert [a[0] for a in acks] == ["AA", "AA", "AE"]
    assert "sent before" in acks[1][2]
    assert "new control id" in acks[2][2]
    assert len(readings(ward)) == 1


def test_what_cannot_be_saved_is_refused_with_the_reason_and_audited(ward):
    logs: list[str] = []
    messages = [
        oru(CALM, "GHOST-1", "Bay 1", "X-1", "philips"),  # not registered
        "MSH|^~\\&|GW|WARD|MONITOR||20261127091500||ADT^A01|X-2|P|2.5\rPID|1\r",  # not ORU
        "this is not HL7",
        oru({**CALM, "spo2": 0}, "MP5-001", "Bay 1", "X-4", "philips"),  # impossible
    ]
    with listening_in_thread(handler_of(ward, logs).handle) as port:
        acks = [parse_ack(a) for a in send(messages, port=port)]
    assert [a[0] for a in acks] == ["AE", "AR", "AR", "AE"]
    assert "unknown device GHOST-1" in acks[0][2]
    assert "SpO2" in acks[3][2] or "spo2" in acks[3][2]
    assert readings(ward) == []
    assert len(logs) == 4 and all(line.startswith("refused message") for line in logs)
    with ward.engine.connect() as c:
        audited = c.execute(
            text("SELECT count(*) FROM audit_log WHERE action = 'device.refused'")
        ).scalar_one()
    assert audited == 4


def test_no_patient_in_the_devices_bay_is_refused(ward, clock):
    ward.move_device("MP5-001", bay="Bay 5", by="sam")
    with listening_in_thread(handler_of(ward).handle) as port:
        code, _, reason = parse_ack(
            send([oru(CALM, "MP5-001", "Bay 1", "N-1", "philips")], port=port)[0]
        )
    assert code == "AE" and "no patient in observation in bay Bay 5" in reason


def test_a_flood_of_messages_is_saved_once_each(ward, clock):
    count = 1000 if ward.engine.dialect.name == "sqlite" else 300
    messages = [
        oru(CALM, "MP5-001", "Bay 1", f"F-{i}", "philips", minute=1 + i * 15 / count)
        for i in range(count)
    ]
    with listening_in_thread(handler_of(ward).handle) as port:
        acks = send(messages, port=port, timeout=60)
    assert [parse_ack(a)[0] for a in acks] == ["AA"] * count
    assert len(readings(ward)) == count


# -- a real `monitor ingest`, killed mid-stream ------------------------------------------------


def _start(url: str, port: int, env: dict[str, str]) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "monitor",
            "--db",
            url,
            "ingest",
            "--by",
            "ana",
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("listening on"), (line, process.stderr.read() if process.poll() else "")
    return process


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_a_listener_killed_mid_stream_loses_no_acknowledged_message_and_saves_none_twice(
    service,
):
    url = service.engine.url.render_as_string(hide_password=False)
    env = {**os.environ, "MONITOR_PIN": "1234"}
    env.pop("MONITOR_CONFIG", None)
    real = with_clock(service, lambda: datetime.now(UTC))  # the listener's clock is the machine's
    started = datetime.now(UTC)
    real.start_session(patient="MRN-KILL", protocol="ketamine-im", by="ana", bay="Bay 3")
    real.add_device("MP5-003", bay="Bay 3", by="sam")
    messages = [
        build_oru(
            {**CALM, "heart_rate": 60 + i % 40},
            device="MP5-003",
            bay="Bay 3",
            control_id=f"K-{i}",
            at=started + timedelta(milliseconds=i),
            style="philips",
        )
        for i in range(200)
    ]

    def saved() -> tuple[int, int]:
        with service.engine.connect() as c:
            return tuple(
                c.execute(
                    text(
                        "SELECT count(*), count(DISTINCT client_key) FROM readings r JOIN "
                        "devices d ON d.id = r.device_id WHERE d.name = 'MP5-003'"
                    )
                ).one()
            )

    port = _free_port()
    acknowledged: set[str] = set()
    process = _start(url, port, env)

    def kill_mid_stream() -> None:  # once some messages are saved, not all
        deadline = time.monotonic() + 60
        while saved()[0] < 20 and time.monotonic() < deadline:
            time.sleep(0.002)
        process.kill()

    killer = threading.Thread(target=kill_mid_stream, daemon=True)
    killer.start()
    try:
        for ack in send(messages, port=port, timeout=30):
            acknowledged.add(parse_ack(ack)[1])
    except SendError as stopped:
        acknowledged.update(parse_ack(a)[1] for a in stopped.acks)
    finally:
        killer.join(60)
        process.communicate(timeout=30)  # its pipes read and closed
    assert 0 < len(acknowledged) < len(messages), "the kill came before or after the stream"
    count, distinct = saved()
    assert count == distinct >= len(acknowledged)  # nothing acknowledged is lost
    # Everything again, to a new listener: what was saved is acknowledged again, once.
    process = _start(url, port, env)
    try:
        again = [parse_ack(a) for a in send(messages, port=port, timeout=60)]
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
        assert process.returncode == 0
    assert [code for code, _, _ in again] == ["AA"] * len(messages)
    assert saved() == (len(messages), len(messages))  # each saved once
