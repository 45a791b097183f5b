"""What ``monitor ingest`` does with one HL7 message (docs/devices.md): read it
(:mod:`monitor.hl7`), save its reading for the patient in the device's bay
(:meth:`monitor.services.devices.DeviceServices.record_from_device`) and answer with an ACK:
``AA`` saved (which session, which flags), ``AE`` or ``AR`` refused with the reason, every
refusal audited and logged in one line. The ACK is made only once the reading is committed;
a database that cannot be reached raises :class:`~monitor.ingest.listener.Unavailable`, so
that the listener tries again and acknowledges nothing meanwhile (docs/ingest.md, "When the
database cannot be reached"); a connection the server ended is replaced at once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo
from typing import TYPE_CHECKING

from sqlalchemy.exc import DBAPIError, OperationalError

from monitor.errors import Refused
from monitor.hl7 import DeviceMessage, HL7Refusal, build_ack, parse_oru
from monitor.ingest.listener import Unavailable

if TYPE_CHECKING:
    from monitor.services import Service
    from monitor.services.devices import DeviceReading


class Handler:
    """The listener's ``handle`` and ``on_error`` for one database, acting as ``by`` (the
    user `monitor ingest --by` signed in)."""

    def __init__(
        self,
        service: Service,
        *,
        by: str,
        local_zone: tzinfo,
        log: Callable[[str], None],
        sign_in_again: Callable[[], None] | None = None,
    ) -> None:
        self.service = service
        self.by = by
        self.local_zone = local_zone
        self.log = log
        #: Signs ``by`` in again (PostgreSQL's sign-in lasts a shift): asked when the
        #: database says the sign-in has expired.
        self.sign_in_again = sign_in_again

    def handle(self, text: str) -> str:
        """Save the message's reading and return its ACK (AA), or the refusal's (AE/AR)."""
        try:
            message = parse_oru(text, local_zone=self.local_zone)
        except HL7Refusal as refusal:
            return self._refused(text, None, refusal.code, str(refusal), refusal.error)
        try:
            saved = self._save_on_a_live_connection(message)
        except DBAPIError as error:
            if not unreachable(error):
                raise
            raise Unavailable(_first_line(error)) from None
        except Refused as refusal:
            return self._refused(text, message, "AE", str(refusal), 207)
        reading = saved.recorded.reading
        flags = ", ".join(f"{f.severity.value} {f.measure}" for f in reading.flags) or "no flag"
        again = " (sent before: saved once)" if saved.again else ""
        other_bed = saved.other_bed(message.bed)
        if other_bed:  # the register's bay wins (docs/devices.md, "A device's reading")
            self.log(f"message {message.control_id} from {message.device_name}: {other_bed}")
        return build_ack(
            text,
            "AA",
            f"saved for {saved.patient} (session {saved.session_id}) as reading {reading.id}, "
            f"awaiting a nurse's validation: {flags}{again}"
            f"{f'; {other_bed}' if other_bed else ''}",
            header=message.header,
        )

    def _save_on_a_live_connection(self, message: DeviceMessage) -> DeviceReading:
        """:meth:`_save`, once more at once when the connection it used had been ended (a
        server restart, an idle connection cut, ``pg_terminate_backend``): SQLAlchemy has then
        discarded it and the pool's other connections, so the second try opens a new one and
        either saves (the server is there) or fails (it is not: an outage, tried again by the
        listener). A listener that runs for days must not call a database it can reach
        "unavailable" for one dead connection, nor make the message wait. Trying twice is
        safe: the message's control id is its reading's key."""
        try:
            return self._save(message)
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
        return self._save(message)

    def _save(self, message: DeviceMessage) -> DeviceReading:
        def save() -> DeviceReading:
            return self.service.record_from_device(
                message.device_name,
                message.values,
                measured_at=message.measured_at,
                message_id=message.control_id,
                by=self.by,
            )

        try:
            return save()
        except Refused as refusal:
            if "sign in again" not in str(refusal) or self.sign_in_again is None:
                raise
            self.sign_in_again()
            return save()

    def on_error(self, text: str, error: Exception) -> str:
        """An unexpected failure: logged in one line, answered AE (nothing was saved: the
        transaction rolled back)."""
        reason = f"not saved: {type(error).__name__}: {_first_line(error)}"
        if isinstance(error, DBAPIError):
            reason = f"not saved: the database refused it ({_first_line(error)})"
        self.log(f"message {_control(text)}: {reason}")
        return build_ack(text, "AE", reason)

    def _refused(
        self, text: str, message: DeviceMessage | None, code: str, reason: str, error: int
    ) -> str:
        device = message.device_name if message is not None else None
        control = message.control_id if message is not None else _control(text)
        self.log(f"refused message {control} from {device or 'an unknown sender'}: {reason}")
        try:
            self.service.audit_refused_message(device, control, code, reason, by=self.by)
        except DBAPIError as failure:
            if not unreachable(failure):
                raise
            raise Unavailable(_first_line(failure)) from None
        header = message.header if message is not None else None
        return build_ack(text, code, reason, error=error, header=header)


def _control(text: str) -> str:
    """The message's control id (MSH-10) as far as it can be read, for a log line."""
    from monitor.ingest.listener import control_id

    return control_id(text) or "(no control id)"


def unreachable(error: DBAPIError) -> bool:
    """Whether a database error means "cannot be reached, nothing saved, try again": an
    operational error (a server down or refusing connections, a file locked past the busy
    timeout) or a connection the server ended, whatever the driver called it."""
    return isinstance(error, OperationalError) or error.connection_invalidated


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:200] if text else type(error).__name__
