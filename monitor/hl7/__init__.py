"""HL7 v2 for bedside monitors: read an ``ORU^R01``, build one, and answer with an ``ACK``
(docs/hl7.md).

Pure text in, text or values out: no database, no screen, no network. The services judge the
values (impossible values, session rules); this package only says what a message carries or why
it cannot be read.
"""

from __future__ import annotations

from monitor.hl7.build import build_ack, build_oru, parse_ack
from monitor.hl7.message import HL7Refusal, content_digest, split_messages
from monitor.hl7.oru import DeviceMessage, parse_oru

__all__ = [
    "DeviceMessage",
    "HL7Refusal",
    "build_ack",
    "build_oru",
    "content_digest",
    "parse_ack",
    "parse_oru",
    "split_messages",
]
