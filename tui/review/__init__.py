"""Review mode: the supervisor's desk (issue #11).

:class:`tui.review.queue.ReviewScreen` is the queue of discharged sessions, newest discharge
first, a page at a time, filtered by period, nurse, protocol and five yes/no questions, each row
with the counts a supervisor reviews by (the same queue as ``monitor review list``). Enter opens
:class:`tui.review.log.SessionLogScreen`: one session's whole story in time order
(:mod:`monitor.present.session`) beside the detail view's chart, where a supervisor voids or
corrects a reading, signs the session off and reopens a signed one, each signed again with the
PIN; whether each may be done, and why not, is the core's answer (:mod:`monitor.core.review`).

Only supervisors open review mode (the station refuses a nurse, and the services refuse a
nurse's sign-off and reopening). As everywhere in the station, every database call runs in a
thread worker returning plain frozen dataclasses; the dialogs save in their own worker and close
only once the save succeeded, keeping what was typed until then."""

from __future__ import annotations

from pathlib import Path, PurePath

CSS = Path(__file__).with_name("review.tcss")
#: Sessions on one page of the queue (``monitor review list`` shows as many).
PAGE = 50
#: The message a nurse gets for a key of review mode.
FOR_SUPERVISORS = "Review mode is for supervisors"
#: A dialog of review mode: the dialogs' frame, then review mode's own rules.
DIALOG_CSS: list[str | PurePath] = [Path(__file__).parent.parent / "dialogs" / "dialogs.tcss", CSS]
