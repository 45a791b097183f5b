"""``python -m tui`` is the ``monitor`` command, station included."""

from tui.launch import main

main()
