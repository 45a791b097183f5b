"""The fonts of the PDF record: nothing a record holds is dropped (docs/exports.md, "Fonts").

- **DejaVu Sans**, regular and bold (the TTF files matplotlib ships, so every machine has
  them), prints Latin, Greek, Cyrillic, Arabic, Hebrew and more.
- A character DejaVu lacks (CJK, Devanagari, Thai...) is printed in a **fallback font**
  (fpdf2's ``set_fallback_fonts``): first the font files the station's configuration names
  (``pdf_fonts``, docs/configuration.md), in their order, then a font found on this machine
  (fontconfig's ``fc-list``, or else matplotlib's list of the system's fonts). A font is read
  only when a record needs it: a fallback costs nothing to a record that DejaVu prints.
- A character no font has, a control character other than a line break and a lone surrogate
  print as their code point, ``[U+5BF9]``, and the export warns naming the session and the
  field (``session 12: dosing override reason: 1 character not in any font, printed as
  [U+5BF9]``). The field is found by reading every text of the session before it is drawn;
  a warning is given only for what was printed so.

Right-to-left text and combining marks print in the order typed, unshaped: nothing is dropped.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, fields, is_dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor.errors import ConfigError

if TYPE_CHECKING:
    from fpdf import FPDF

    from monitor.core.rems import RemsForm
    from monitor.views import SessionView

#: What a character no font has prints as.
PLACEHOLDER = "[U+{:04X}]"
#: Text every face of DejaVu prints as it is: printable ASCII and line breaks.
_PLAIN = re.compile(r"[\n\x20-\x7e]*")
#: The placeholders a warning lists, at most.
LISTED = 8
#: Font files a fallback may be read from (TrueType, OpenType, their collections).
FONT_SUFFIXES = (".ttf", ".otf", ".ttc")
#: Styles preferred in a font found on the system (a record's text is set upright).
_UPRIGHT = ("regular", "book", "normal", "roman", "medium")
#: Without fontconfig, the most font files read for their characters in a process (a machine
#: may hold thousands: a character no font has must not cost minutes).
MOST_READ = 300


def placeholder(code: int) -> str:
    """``[U+5BF9]``: what a character no font has prints as."""
    return PLACEHOLDER.format(code)


def _never_drawn(code: int) -> bool:
    """A control character (but a line break) or a lone surrogate: printed as its code point
    whatever a font maps it to (a font's glyph for one is blank)."""
    if 0xD800 <= code <= 0xDFFF:
        return True
    return code != 0x0A and unicodedata.category(chr(code)) == "Cc"


def shipped_faces() -> tuple[Path, Path]:
    """DejaVu Sans, regular and bold, as matplotlib ships them (found without importing
    matplotlib, which costs a third of a second)."""
    from importlib.util import find_spec

    spec = find_spec("matplotlib")
    if spec is None or spec.origin is None:  # pragma: no cover - a dependency of the product
        raise RuntimeError("matplotlib is not installed: it ships the PDF's font")
    folder = Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf"
    return folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"


@dataclass(frozen=True)
class FontFile:
    """A font file, and the face to read in a collection (``.ttc``)."""

    path: Path
    index: int = 0


# -- fonts on this machine ---------------------------------------------------------------------


class SystemFonts:
    """The fonts installed on this machine, asked which one has a character: fontconfig's
    list of outline fonts (not colour ones) with each font's characters (one ``fc-list`` for
    the process), or, without fontconfig, matplotlib's list of the system's fonts, each read
    for its characters when asked (at most :data:`MOST_READ` files). Upright faces come
    first, then sans-serif ones."""

    def __init__(self) -> None:
        self._listed: list[tuple[FontFile, list[tuple[int, int]] | None]] | None = None
        self._cmaps: dict[FontFile, frozenset[int]] = {}

    def font_for(self, code: int) -> FontFile | None:
        """A font file on this machine that has ``code``, if any."""
        for font, ranges in self._list():
            if ranges is not None:
                if any(low <= code <= high for low, high in ranges):
                    return font
            elif code in self._cmap(font):
                return font
        return None

    def _list(self) -> list[tuple[FontFile, list[tuple[int, int]] | None]]:
        if self._listed is None:
            found = _fontconfig()
            self._listed = found if found is not None else _matplotlib_fonts()
        return self._listed

    def _cmap(self, font: FontFile) -> frozenset[int]:
        if font not in self._cmaps and len(self._cmaps) >= MOST_READ:
            return frozenset()
        if font not in self._cmaps:
            try:
                from fontTools.ttLib import TTFont

                with TTFont(font.path, lazy=True, fontNumber=font.index) as face:
                    self._cmaps[font] = frozenset(face.getBestCmap() or ())
            except Exception:
                self._cmaps[font] = frozenset()
        return self._cmaps[font]


def _rank(style: str, family: str, path: Path) -> tuple[bool, bool, str]:
    upright = any(word in style.lower() for word in _UPRIGHT)
    sans = "sans" in family.lower() or "sans" in path.name.lower()
    return (not upright, not sans, str(path))


def _fontconfig() -> list[tuple[FontFile, list[tuple[int, int]] | None]] | None:
    """Every TrueType/OpenType font fontconfig knows, with its characters; ``None`` without
    fontconfig."""
    program = shutil.which("fc-list")
    if program is None:
        return None
    form = "%{file}\t%{index}\t%{style}\t%{family}\t%{outline}\t%{color}\t%{charset}\n"
    try:
        listed = subprocess.run(
            [program, "--format", form], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    fonts = []
    for line in listed.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) != 7 or not parts[0].lower().endswith(FONT_SUFFIXES):
            continue
        path, index, style, family, outline, color, charset = parts
        if outline != "True" or color == "True" or _last_resort(path):
            continue  # a bitmap or colour font, or boxes: not one to set text in
        try:
            ranges = [
                (int(a, 16), int(b or a, 16))
                for a, _, b in (item.partition("-") for item in charset.split())
            ]
            font = FontFile(Path(path), int(index or 0))
        except ValueError:
            continue
        fonts.append((_rank(style, family, font.path), font, ranges))
    fonts.sort(key=lambda item: item[0])
    return [(font, ranges) for _, font, ranges in fonts]


def _last_resort(path: str) -> bool:
    """A "last resort" font (macOS ships one, matplotlib too): a box naming the block for
    every code point, the look of a character it is not."""
    return "lastresort" in Path(path).name.lower().replace(" ", "").replace("-", "")


def _matplotlib_fonts() -> list[tuple[FontFile, list[tuple[int, int]] | None]]:
    """The system's fonts matplotlib lists (not those it ships: DejaVu is read already, its
    math fonts map characters to other symbols, and its last resort font draws boxes)."""
    import matplotlib
    from matplotlib import font_manager

    own = Path(matplotlib.get_data_path()).resolve()
    entries = [
        e
        for e in font_manager.fontManager.ttflist
        if e.fname.lower().endswith(FONT_SUFFIXES)
        and not _last_resort(e.fname)
        and not Path(e.fname).resolve().is_relative_to(own)
    ]
    # matplotlib tells the slant in ``style`` and the weight apart: upright and 400 first.
    entries.sort(
        key=lambda e: (
            e.weight not in (400, "normal", "regular"),
            *_rank("regular" if e.style == "normal" else str(e.style), e.name, Path(e.fname)),
        )
    )
    files = dict.fromkeys(FontFile(Path(e.fname)) for e in entries)
    return [(font, None) for font in files]


#: This process's view of the machine's fonts (read once, when a record first needs one).
SYSTEM = SystemFonts()


def system_font(code: int) -> FontFile | None:
    """A font on this machine that has ``code`` (:class:`SystemFonts`)."""
    return SYSTEM.font_for(code)


# -- the fonts of one document -----------------------------------------------------------------


class Fonts:
    """The fonts of one fpdf2 document: DejaVu Sans as ``family``, fallbacks added when a
    text needs one, and the characters printed as placeholders, where and in which field.

    :meth:`printable` is what the document does to every text it draws (its
    ``normalize_text``); :meth:`scan` reads a field's text before it is drawn, to name the
    field in a warning; :meth:`warnings` says what was printed as placeholders."""

    def __init__(
        self,
        pdf: FPDF,
        family: str,
        configured: Sequence[str | Path] = (),
        where: Callable[[], str] = lambda: "",
        search: Callable[[int], FontFile | None] | None = None,
    ) -> None:
        self.pdf = pdf
        self.family = family.lower()
        regular, bold = shipped_faces()
        pdf.add_font(self.family, "", str(regular))
        pdf.add_font(self.family, "B", str(bold))
        faces = [set(_cmap(pdf, self.family + style)) for style in ("", "B")]
        #: In both faces of DejaVu: printed without a fallback whatever the emphasis.
        self._both = frozenset(faces[0] & faces[1])
        #: In some font of the document: printed, by a fallback if need be.
        self._any = faces[0] | faces[1]
        self._configured = [Path(p) for p in configured]
        self._where = where
        self._search = search
        self._searched: set[int] = set()
        self._loaded: set[FontFile] = set()
        self._families: list[str] = []
        self._fallbacks_on = False
        #: Per session (``""``: the whole export), each field's characters no font has.
        self._named: dict[str, list[tuple[str, Counter[int]]]] = {}
        #: Per session, the characters printed as placeholders.
        self._printed: dict[str, set[int]] = {}

    # -- drawing ---------------------------------------------------------------------------

    def printable(self, text: str) -> str:
        """``text`` as the document draws it: every character a font has as it is (the
        fallbacks switched on when one is needed), every other as its placeholder."""
        if _PLAIN.fullmatch(text):
            return text
        self._ensure({ord(c) for c in text})
        out = []
        fallback = False
        for char in text:
            code = ord(char)
            if code in self._both or char == "\n":
                out.append(char)
            elif self._drawable(code):
                out.append(char)
                fallback = True
            else:
                out.append(placeholder(code))
                self._printed.setdefault(self._where(), set()).add(code)
        if fallback and not self._fallbacks_on:
            self._fallbacks_on = True
            self._set_fallbacks()
        return "".join(out)

    def _drawable(self, code: int) -> bool:
        return code in self._any and not _never_drawn(code)

    def _ensure(self, codes: set[int]) -> None:
        """Add fallback fonts for ``codes`` no font of the document has: the configured ones
        first (each read once, in order), then one found on this machine for each code
        still missing (each code looked up once)."""
        wanted = {c for c in codes if c not in self._any and not _never_drawn(c)}
        while wanted and self._configured:
            self._add(FontFile(self._configured.pop(0)), configured=True)
            wanted -= self._any
        search = self._search or system_font
        for code in sorted(wanted - self._searched):
            self._searched.add(code)
            if code in self._any:
                continue  # a font found for an earlier code has it
            found = search(code)
            if found is not None and found not in self._loaded:
                self._add(found, configured=False)

    def _add(self, font: FontFile, *, configured: bool) -> None:
        self._loaded.add(font)
        family = f"fallback{len(self._families) + 1}"
        try:
            self.pdf.add_font(family, "", str(font.path), collection_font_number=font.index)
        except Exception as error:
            if configured:
                why = " ".join(str(error).split())[:120] or type(error).__name__
                raise ConfigError(
                    f"the PDF font {font.path} (pdf_fonts in the configuration) cannot be "
                    f"read as a font: {why}"
                ) from None
            return  # a broken font on this machine: another may have the character
        self._any |= set(_cmap(self.pdf, family))
        self._families.append(family)
        if self._fallbacks_on:
            self._set_fallbacks()

    def _set_fallbacks(self) -> None:
        # DejaVu's own faces too: a character in one face only is printed in the other.
        self.pdf.set_fallback_fonts([self.family, *self._families], exact_match=False)

    # -- naming the field ------------------------------------------------------------------

    def scan(self, where: str, label: str, text: str) -> None:
        """Read a field's text before it is drawn: its fallbacks are added now, and the
        characters no font has are kept to name ``label`` in a warning if they are printed
        as placeholders."""
        if _PLAIN.fullmatch(text):
            return
        codes = Counter(ord(c) for c in text if ord(c) not in self._both and c != "\n")
        if not codes:
            return
        self._ensure(set(codes))
        lost = Counter({code: n for code, n in codes.items() if not self._drawable(code)})
        if lost:
            self._named.setdefault(where, []).append((label, lost))

    def scan_record(self, view: SessionView, form: RemsForm | None) -> None:
        """:meth:`scan` every text of a session's record (:func:`record_texts`)."""
        where = f"session {view.id}"
        for label, text in record_texts(view, form):
            self.scan(where, label, text)

    def warnings(self) -> list[str]:
        """One line per field that printed characters as placeholders, and one for other
        text of a session that did: ``session 12: escort: 1 character not in any font,
        printed as [U+5BF9]``."""
        everywhere = set().union(*self._printed.values())
        lines = []
        shared = set()
        for label, lost in self._named.get("", []):
            shown = set(lost) & everywhere
            shared |= shown
            if shown:
                lines.append(_line("", label, lost, shown))
        for where in dict.fromkeys([*self._named, *self._printed]):
            if not where:
                continue
            printed = self._printed.get(where, set())
            named = set()
            for label, lost in self._named.get(where, []):
                shown = set(lost) & printed
                named |= shown
                if shown:
                    lines.append(_line(where, label, lost, shown))
            other = printed - named - shared
            if other:
                lines.append(_line(where, "other text", Counter(dict.fromkeys(other, 1)), other))
        # fpdf2 leaves out a character its font lacks: none should reach it.
        left_out = sorted({c for font in self.pdf.fonts.values() for c in _missing(font)})
        if left_out:
            shown_codes = ", ".join(f"U+{c:04X}" for c in left_out[:LISTED])
            lines.append(f"characters left out of the PDF by its fonts: {shown_codes}")
        return lines


def _cmap(pdf: FPDF, key: str) -> dict[int, Any]:
    """The characters of a font the document holds (a TrueType font: fpdf2's TTFFont)."""
    font: Any = pdf.fonts[key]
    return font.cmap


def _missing(font: Any) -> list[int]:
    return list(getattr(font, "missing_glyphs", ()) or ())


def _line(where: str, label: str, lost: Counter[int], shown: set[int]) -> str:
    count = sum(lost[c] for c in shown)
    codes = sorted(shown)
    listed = ", ".join(placeholder(c) for c in codes[:LISTED])
    if len(codes) > LISTED:
        listed += f" and {len(codes) - LISTED} more"
    noun = "character" if count == 1 else "characters"
    prefix = f"{where}: " if where else ""
    return f"{prefix}{label}: {count} {noun} not in any font, printed as {listed}"


# -- every text of a record --------------------------------------------------------------------

#: A field's name in a warning, where the attribute's own name would not say it.
LABELS = {
    "patient": "patient id",
    "dose_override_reason": "dosing override reason",
    "override_reason": "discharge override reason",
    "meds": "medication",
    "voided": "void",
    "action": "acknowledgement",
    "recorded_by": "recorded by",
    "reopened": "reopening",
    "signoffs": "sign-off",
    "skips": "check skip",
}
#: One item of a list field, in a warning.
ITEMS = {
    "readings": "reading",
    "events": "event",
    "flags": "flag",
    "checks": "check",
    "reopened": "reopening",
    "signoffs": "sign-off",
    "infusion_end_corrections": "infusion end correction",
    "corrections": "correction",
    "dosing_refusals": "dosing refusal",
    "serious_adverse_events": "serious adverse event",
    "meds": "medication",
    "reasons": "reason",
    "items": "item",
}


def record_texts(view: SessionView, form: RemsForm | None = None) -> Iterator[tuple[str, str]]:
    """Every text a session's record holds, with the name of its field: ``("escort",
    "partner")``, ``("event 4 at 09:14 text", ...)``, ``("REMS form lot", ...)``. Plain mappings (a
    stored gate's record as it was kept) are not read: what they hold is printed from the
    fields."""
    yield from _texts(view, "")
    if form is not None:
        yield from _texts(form, "REMS form")


def _which(element: Any, name: str, n: int) -> str:
    """How the PDF tells an item from the others: a reading by its number (the "#" column),
    an event, a reopening or a correction by its place in the list and its time (several
    may share a minute), another by its place in the list."""
    if name == "readings":
        return str(element.id)
    at = getattr(element, "at", None)
    if isinstance(at, datetime):
        from monitor.present.record import clock

        return f"{n} at {clock(at)}"
    return str(n)


def _join(parent: str, name: str) -> str:
    label = LABELS.get(name, name.replace("_", " "))
    return f"{parent} {label}" if parent else label


def _texts(value: Any, label: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, Enum):
        return
    if isinstance(value, str):
        yield label, value
    elif is_dataclass(value) and not isinstance(value, type):
        for f in fields(value):
            yield from _child(getattr(value, f.name), label, f.name)


def _child(value: Any, parent: str, name: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, tuple | list):
        item = ITEMS.get(name, LABELS.get(name, name.replace("_", " ")))
        for n, element in enumerate(value, 1):
            yield from _texts(element, _join(parent, f"{item} {_which(element, name, n)}"))
    elif isinstance(value, dict):
        for n, element in enumerate(value.values(), 1):
            if is_dataclass(element):
                yield from _texts(element, _join(_join(parent, name), str(n)))
    else:
        yield from _texts(value, _join(parent, name))
