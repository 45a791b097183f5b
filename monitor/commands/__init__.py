"""Commands kept in modules of their own, each registering itself on :mod:`monitor.cli`'s
groups when imported (``monitor.cli`` imports every module here once its groups exist).

A module here imports only click and :mod:`monitor.cli` at its top, so that ``monitor --help``
stays as fast as the rest of the command line; services are imported inside each command.
"""
