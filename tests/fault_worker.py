"""A recording process for the fault tests: records readings through the service layer and
reports each one only after its transaction committed.

    python -m tests.fault_worker DB_URL SESSION_ID WORKER COUNT
"""

from __future__ import annotations

import sys

from monitor.core.vitals import Vitals
from monitor.services import Service


def main() -> None:
    url, session_id, worker, count = (
        sys.argv[1],
        int(sys.argv[2]),
        int(sys.argv[3]),
        int(sys.argv[4]),
    )
    service = Service.open(url)
    for seq in range(count):
        # (spo2, heart rate) tells which worker and which step wrote the reading.
        vitals = Vitals(spo2=50 + worker, heart_rate=20 + seq)
        reading = service.record_reading(session_id, vitals, by="ana")
        print(f"ok {reading.id} {worker} {seq}", flush=True)
    service.close()


if __name__ == "__main__":
    main()
