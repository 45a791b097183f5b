"""The REMS form's answers a supervisor may correct, alone in a module so that the command
line names them in its help without importing the form's rules (docs/clinical.md, "The REMS
Patient Monitoring Form")."""

#: The answers a supervisor may correct (proposals), as ``rems correct --field`` names them.
CORRECTABLE = ("sedation", "dissociation", "respiratory_depression")
