"""Reading any text as one HL7 v2 message, or refusing it (docs/hl7.md, "What is accepted").

The ``hl7`` library splits a message into segments, fields and components and undoes HL7
escapes; this module checks first what the library takes for granted (a message header with
sound encoding characters, one message, readable segment names) so that any input ends in a
parsed message or an :class:`HL7Refusal`, never another exception.
"""

from __future__ import annotations

import hashlib
import logging
import re

import hl7

from monitor.errors import Refused

# The library logs each escape sequence it cannot read, with an empty traceback, on every
# message that has one: the sender is told what is wrong by the refusal instead.
hl7.util.logger.setLevel(logging.CRITICAL)

#: Longer input is refused unread (docs/hl7.md, "What is accepted").
MAX_MESSAGE_CHARS = 1_000_000

#: HL7 table 0357, the error codes an ERR segment carries (docs/hl7.md, "Acknowledgements").
REQUIRED_FIELD_MISSING = 101
DATA_TYPE_ERROR = 102
UNSUPPORTED_MESSAGE_TYPE = 200
APPLICATION_ERROR = 207

_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{2}")
_SEGMENT_BREAK = re.compile(r"\r\n|\r|\n")
#: MLLP's frame bytes and a byte-order mark, which some senders leave around a message.
_FRAME_CHARS = "\x0b\x1c\ufeff"


class HL7Refusal(Refused):
    """A message that cannot be saved: ``code`` is the ACK code (``AR``: the message itself is
    unreadable or not one we take; ``AE``: it is readable but what it says cannot be used),
    ``text`` the reason in one line, ``where`` the place in the message when there is one (e.g.
    ``MSH-9``, ``OBX-6 (observation 2)``) and ``error`` the HL7 table 0357 code for ERR-3."""

    def __init__(
        self, code: str, text: str, where: str | None = None, error: int = APPLICATION_ERROR
    ) -> None:
        self.code = code
        self.text = text
        self.where = where
        self.error = error
        super().__init__(f"{text} ({where})" if where else text)


def decode(data: str | bytes) -> str:
    """Text from what came in: UTF-8, or Latin-1 when it is not UTF-8 (every byte is one)."""
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def segments_of(text: str) -> list[str]:
    """The segments of a message: split at ``\\r``, ``\\n`` or ``\\r\\n``, trailing whitespace
    stripped, empty lines dropped, MLLP frame bytes around the message removed."""
    stripped = text.strip().strip(_FRAME_CHARS).strip()
    return [s for line in _SEGMENT_BREAK.split(stripped) if (s := line.rstrip())]


def normalise(text: str) -> str:
    """The message in its canonical form: its segments joined by ``\\r``."""
    return "\r".join(segments_of(text))


def split_messages(data: str | bytes) -> list[str]:
    """The messages of a file (for ``monitor device send --file``): each begins at an ``MSH``
    segment and is normalised; batch and file header and trailer segments (FHS, BHS, BTS, FTS)
    are dropped, and so are lines before the first ``MSH``."""
    messages: list[list[str]] = []
    for segment in segments_of(decode(data)):
        if segment[:3] in ("FHS", "BHS", "BTS", "FTS"):
            continue
        if segment.startswith("MSH"):
            messages.append([])
        if messages:
            messages[-1].append(segment)
    return ["\r".join(m) + "\r" for m in messages]


def content_digest(data: str | bytes) -> str:
    """The SHA-256 (hex) of the normalised message: the same message resent over another
    connection, with other line ends, has the same digest (docs/hl7.md, "Resending")."""
    return hashlib.sha256(normalise(decode(data)).encode("utf-8")).hexdigest()


def read_message(data: str | bytes) -> hl7.Message:
    """One HL7 v2 message, parsed; refused (``AR``) when it is not one."""
    text = decode(data)
    if len(text) > MAX_MESSAGE_CHARS:
        raise HL7Refusal("AR", f"message too long: more than {MAX_MESSAGE_CHARS} characters")
    segments = segments_of(text)
    if not segments or not segments[0].startswith("MSH"):
        raise HL7Refusal("AR", "not an HL7 v2 message: it must begin with an MSH segment")
    _check_encoding_characters(segments[0])
    separator = segments[0][3]
    for number, segment in enumerate(segments, start=1):
        name = segment.split(separator, 1)[0]
        if not _SEGMENT_ID.fullmatch(name):
            raise HL7Refusal("AR", f"segment {number} has no readable segment name: {name[:20]!r}")
        if name == "MSH" and number > 1:
            raise HL7Refusal("AR", "more than one message (a batch): send one message per frame")
    try:
        return hl7.parse("\r".join(segments))
    except Exception as error:  # the library's failures are the sender's
        raise HL7Refusal("AR", f"not a readable HL7 v2 message ({type(error).__name__})") from None


def _check_encoding_characters(header: str) -> None:
    """MSH-1 and MSH-2: a field separator, then four (or five, with v2.7's truncation
    character) distinct separator characters that are not letters, digits or spaces."""
    separator = header[3:4]
    end = header.find(separator, 4) if separator else -1
    encoding = header[4:end] if end > 0 else ""
    characters = separator + encoding
    if (
        not separator
        or len(encoding) not in (4, 5)
        or len(set(characters)) != len(characters)
        or any(c.isalnum() or c.isspace() or not c.isprintable() for c in characters)
    ):
        raise HL7Refusal("AR", "bad encoding characters in MSH-1/MSH-2 (expected e.g. |^~\\&)")


def component(segment: hl7.Segment, field: int, number: int = 1) -> str:
    """The unescaped text of one component of a field's first repetition ('' when absent)."""
    return components(segment, field, number)[number - 1]


def components(segment: hl7.Segment, field: int, count: int) -> list[str]:
    """The first ``count`` components of a field, each its first sub-component unescaped and
    stripped ('' when absent or unreadable), as the library's ``extract_field`` reads them,
    the field found once (a message reads a hundred components: a tenth of its parse)."""
    if field < 1 or field >= len(segment) or (field < 3 and segment[0][0] == "MSH"):
        # MSH-1 and MSH-2 (the separators, never unescaped) are the library's to read.
        return [_extracted(segment, field, n) for n in range(1, count + 1)]
    found = segment[field]
    if not isinstance(found, hl7.Field) or not found:
        return [_extracted(segment, field, n) for n in range(1, count + 1)]
    repetition = found[0]
    if not isinstance(repetition, hl7.Repetition):  # a plain value: its first component only
        return [_unescaped(segment, repetition), *([""] * (count - 1))]
    parts = []
    for n in range(count):
        if n >= len(repetition):
            parts.append("")
            continue
        part = repetition[n]
        if isinstance(part, hl7.Component):
            part = part[0] if part else ""
        parts.append(_unescaped(segment, part))
    return parts


def _unescaped(segment: hl7.Segment, text: str) -> str:
    if not text or text.find(segment.esc) == -1:
        return str(text).strip()
    try:
        return str(hl7.util.unescape(segment, text)).strip()
    except ValueError:  # an escape sequence the library cannot read
        return ""


def _extracted(segment: hl7.Segment, field: int, number: int) -> str:
    try:
        return str(segment.extract_field(field_num=field, component_num=number)).strip()
    except (IndexError, ValueError):  # ValueError: an escape sequence the library cannot read
        return ""


def first_component(segment: hl7.Segment, field: int) -> str:
    """The first non-empty component of a field: an identifier such as ``^EfficiaCM`` (HD
    with only its universal id) still names its sender."""
    return next((c for c in components(segment, field, 3) if c), "")


def raw_field(segment: hl7.Segment, field: int) -> str:
    """A field as it stands in the message, escapes and separators included."""
    return str(segment[field]).strip() if field < len(segment) else ""


def escape(text: str) -> str:
    """``text`` as one HL7 field value with the standard separators: ``| ^ & ~ \\`` escaped by
    the ``hl7`` library, line breaks and tabs as spaces, other characters kept as they are (the
    library writes characters above 255 as hex it cannot read back)."""
    one_line = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    runs = re.split(r"([\x20-\x7e]+)", one_line)
    return "".join(hl7.util.escape(_TEMPLATE, run) if run.isascii() else run for run in runs)


#: A parsed header whose separators :func:`escape` writes for.
_TEMPLATE = hl7.parse("MSH|^~\\&|")
