"""fpdf2, loaded for the PDF record without numpy (docs/benchmarks.md, "Exports").

fpdf2 imports numpy if it can, only to speed up two things the record never does (decoding
LZW-compressed images, looking for transparency in an image): numpy costs a one-session PDF
about 15 MB of its memory (issue #23: under 100 MB) and 0.1 s. So fpdf2 is imported here with
numpy held back, and works without it as it does where numpy is not installed. Nothing else
is changed: numpy is not held back afterwards (a chart file, drawn by matplotlib, imports
it), and if it is loaded already, fpdf2 is imported as usual.
"""

from __future__ import annotations

import sys


def load() -> None:
    """Import fpdf2 (once), without numpy unless numpy is loaded already."""
    if "fpdf" in sys.modules:
        return
    held = "numpy" not in sys.modules
    if held:
        sys.modules["numpy"] = None  # type: ignore[assignment]  # `import numpy` fails
    try:
        import fpdf  # noqa: F401
    finally:
        if held and "numpy" in sys.modules and sys.modules["numpy"] is None:
            del sys.modules["numpy"]


load()
