"""The clinical core: parsing, rules, schedules and the discharge gate.

Plain dataclasses and functions: no database, no screen, no clock and no I/O. Time is always
passed in. A test checks that importing it loads neither SQLAlchemy nor Textual.
"""
