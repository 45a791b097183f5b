"""Free text as people write it (docs/interface.md, "Input limits"): a Persian note with a
zero-width non-joiner, an emoji family joined by zero-width joiners and a pasted no-break
space are kept exactly; bidirectional controls, line separators and control characters are
still refused."""

from __future__ import annotations

import pytest

from monitor.cli.output import printable
from monitor.core.text import one_line
from monitor.errors import EntryError
from tests.services.test_clinical_flows import dosed

WRITTEN = (
    "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # Persian "I want", with a ZWNJ
    "family \U0001f468\u200d\U0001f469\u200d\U0001f467 visited",  # one emoji, ZWJ-joined
    "taxi\u00a0booked",  # a no-break space
    "narrow\u202fspace and ideographic\u3000space",
)
REFUSED = (
    "pt fine \u202eenod ton",  # right-to-left override
    "a\u2066b\u2069",  # isolates
    "mark\u200f",  # right-to-left mark
    "two\u2028lines",
    "bell\x07",
)


@pytest.mark.parametrize("text", WRITTEN)
def test_written_text_is_kept_exactly(service, clock, text):
    sid = dosed(service, clock)
    service.add_event(sid, kind="note", by="ana", text=text)
    view = service.session(sid)
    assert [e.text for e in view.events if e.kind == "note"][-1] == text
    assert printable(text) == text  # shown as written on the command line


@pytest.mark.parametrize("text", REFUSED)
def test_controls_are_still_refused(service, clock, text):
    sid = dosed(service, clock)
    with pytest.raises(EntryError, match="one line of printable text"):
        service.add_event(sid, kind="note", by="ana", text=text)
    assert not one_line(text)
