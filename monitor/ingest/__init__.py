"""HL7 v2 messages over MLLP: the transport of ``monitor ingest`` and ``monitor device send``.

- :mod:`~monitor.ingest.listener`: the MLLP server. Each message is handed to a blocking
  ``handle(text) -> ack`` (which saves it), one at a time, and its ACK is written only after
  ``handle`` returned: nothing is acknowledged that was not saved.
- :mod:`~monitor.ingest.sender`: sends messages over one MLLP connection and returns their ACKs;
  splits a file of HL7 messages.

Neither module parses HL7: they move text. The meaning of a message (and the ACK it earns) is
the caller's. docs/ingest.md says how the listener behaves.
"""
