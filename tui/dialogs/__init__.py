"""The dialogs that save something on the floor: new session, event, acknowledge, dose,
infusion end, discharge, all built on :class:`tui.dialogs.base.SavingDialog`."""
