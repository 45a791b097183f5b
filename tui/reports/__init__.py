"""The supervisor's desk (issue #11): the audit view, the REMS tracker and the quality summary.

Three screens pushed on top of the station (Esc closes each, q quits), built from plain values:
no database call runs in a constructor or on the event loop. Each screen reads in its own
thread worker that returns frozen dataclasses; a failure is one line on the screen saying what
to do, and the screen stays. The dialogs that save (mark a REMS form submitted, correct a
proposal) follow :class:`tui.dialogs.base.SavingDialog`: the PIN is asked again, a refusal shows
inside the dialog and everything typed stays until the save succeeds.

- :class:`tui.reports.audit.AuditScreen`: the trail of one session or of a period (default:
  today), newest first, filtered by user and action, a page at a time by key (``]``/PgDn
  older, ``[``/PgUp newer).
- :class:`tui.reports.rems.RemsScreen`: REMS forms due within 7 days and overdue (``a``: all),
  the form's answers (Enter), mark submitted (``m``) and correct a proposal (``c``),
  supervisors only.
- :class:`tui.reports.quality.QualityScreen`: the quality summary of a week (``[``/``]``) or any
  period (``p``)."""
