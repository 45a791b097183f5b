"""What one line of typed text may hold (docs/interface.md, "Input limits").

Python's ``str.isprintable`` refuses every format character and every space but the ASCII
one. Ordinary writing needs three kinds of them: the zero-width non-joiner (Persian, Indic
scripts), the zero-width joiner (emoji sequences such as a family), and spaces such as the
no-break space a pasted text brings. Everything else ``isprintable`` refuses stays refused:
control characters, line and paragraph separators, and the bidirectional controls that can
make a note read otherwise than it is stored (U+202A-U+202E, U+2066-U+2069, U+200E/F).
"""

from __future__ import annotations

import unicodedata

#: Zero-width non-joiner and joiner.
JOINERS = frozenset("\u200c\u200d")


def readable(char: str) -> bool:
    """Whether one character may stand in a line of typed text."""
    return char.isprintable() or char in JOINERS or unicodedata.category(char) == "Zs"


def one_line(text: str) -> bool:
    """Whether every character of ``text`` may stand in a line of typed text."""
    return all(readable(char) for char in text)
