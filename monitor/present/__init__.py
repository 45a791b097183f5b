"""The headless presentation layer: each story of the record told once.

A story (a session's story, the REMS form, the quality summary, the audit trail, the floor) is
composed here from the plain views the services hand back, as neutral lines of
:class:`~monitor.present.parts.Part` pieces whose :class:`~monitor.present.parts.Role` says how
each is meant to be read. The command line, the station, the PDF, CSV, JSON and FHIR only
render them: none of them decides again what a record says.
"""
