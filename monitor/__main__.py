"""``python -m monitor`` is the headless ``monitor`` command line (``python -m tui`` adds the
station)."""

from monitor.cli import main

main()
