"""The forms of a typed time, said once: in the parser's refusals (:mod:`monitor.timeparse`)
and in the help of every command-line option that takes a time.

No imports: the command line's help loads this before any argument is parsed.
"""

#: Every form :func:`monitor.timeparse.parse_time` accepts, as a person reads them.
TIME_FORMS = (
    "HH:MM (24 h, within the last 12 h), 'now', '5 min ago', '-5' (minutes ago), or "
    "ISO 8601: 2026-11-27T09:00 (local) or 2026-11-27T09:00+01:00"
)

#: The help of a ``--from`` option: a time, or a date alone.
FROM_FORMS = f"{TIME_FORMS}; a date alone (2026-11-27) is its midnight"
#: The help of a ``--to`` option: a time, or a date alone.
TO_FORMS = f"{TIME_FORMS}; a date alone (2026-11-27) takes in that whole day"
