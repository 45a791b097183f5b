"""The ``monitor`` command line (docs/interface.md): the product for scripts and integrations.

:mod:`.root` is the root group and the entry point, each command group is a module of its own
loaded when used (:mod:`.lazy`), :mod:`.output` and :mod:`.params` are what they share, and
:mod:`.render` prints the stories (a session, a REMS form, the quality summary, the queue, the
audit trail) as text.
"""

from monitor.cli.root import cli, main, make_cli

__all__ = ["cli", "main", "make_cli"]
