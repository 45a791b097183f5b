"""The PDF loses no character (issue #22, part 1; docs/exports.md, "Fonts"): Latin, Greek,
Cyrillic, Arabic and Hebrew in DejaVu Sans; other scripts in a fallback font (one the tests
make, so that no system font is needed); a character no font has as its code point, named in a
warning with its session and field, on the command line and on the station's line; control
characters and lone surrogates never crash it. Each PDF is read back with pypdf."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pytest

from monitor.errors import ConfigError
from monitor.export import Selection, export
from monitor.export import pdf_fonts as fonts_module
from tests.cli.test_cli import Cli
from tests.export.test_export import FULL, at

#: The issue's name, in a dosing override, the escort and an event.
NAME = "Dr Ødegård-Núñez (对)"
#: Scripts DejaVu Sans prints (Latin, Greek, Cyrillic, Arabic, Hebrew, a combining mark).
IN_DEJAVU = "Zoë Ωμέγα Привет مرحبا שלום e\u0301"
#: Scripts it does not: CJK, Devanagari, Thai (the test font has them).
ELSEWHERE = "对中文 नमस्ते สวัสดี"
#: A code point no font has: unassigned in Unicode.
UNASSIGNED = "\u0378"
#: A character neither DejaVu nor the test font has (Ethiopic).
NOWHERE = "ሰ"


def make_font(path: Path, text: str) -> Path:
    """A small TrueType font with a box for each character of ``text`` (fontTools, which
    matplotlib depends on): the fallback font the tests provide."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    chars = sorted({c for c in text if not c.isspace()})
    names = [".notdef", *(f"uni{ord(c):04X}" for c in chars)]
    builder = FontBuilder(1000, isTTF=True)
    builder.setupGlyphOrder(names)
    builder.setupCharacterMap({ord(c): f"uni{ord(c):04X}" for c in chars})
    glyphs = {}
    for name in names:
        pen = TTGlyphPen(None)
        pen.moveTo((100, 0))
        pen.lineTo((100, 700))
        pen.lineTo((800, 700))
        pen.lineTo((800, 0))
        pen.closePath()
        glyphs[name] = pen.glyph()
    builder.setupGlyf(glyphs)
    builder.setupHorizontalMetrics({name: (900, 100) for name in names})
    builder.setupHorizontalHeader(ascent=800, descent=-200)
    builder.setupNameTable({"familyName": "Monitor Test Fallback", "styleName": "Regular"})
    builder.setupOS2(sTypoAscender=800, usWinAscent=800, usWinDescent=200)
    builder.setupPost()
    builder.save(str(path))
    return path


@pytest.fixture(scope="module")
def fallback(tmp_path_factory) -> Path:
    """The tests' fallback font: the CJK, Devanagari and Thai characters used here."""
    return make_font(tmp_path_factory.mktemp("fonts") / "fallback.ttf", ELSEWHERE + NAME)


@pytest.fixture(autouse=True)
def no_system_fonts(monkeypatch):
    """The machine's own fonts are not asked (a laptop may have a CJK font, CI none)."""
    monkeypatch.setattr(fonts_module, "system_font", lambda code: None)


def with_fonts(service, *files: Path):
    """The same services, the station configured with ``pdf_fonts``."""
    from monitor.services import Service

    config = replace(service.config, pdf_fonts=tuple(str(f) for f in files))
    return Service(service.engine, config, service.clock)


def named_session(service, clock, text: str = NAME, patient: str = "MRN-0042") -> int:
    """A session dosed by a supervisor's override, discharged with an escort, with a note: each
    of the three holds ``text``."""
    clock.set(at(-20))
    sid = service.start_session(patient=patient, protocol="ketamine-im", by="ana")
    clock.set(at(0))
    service.record_dose(sid, by="sam", override_reason=f"baseline by phone, {text}")
    clock.set(at(5))
    service.add_event(sid, kind="note", by="ana", text=f"seen by {text}")
    clock.set(at(15))
    service.record_reading(sid, FULL, by="ana")
    clock.set(at(30))
    service.discharge(
        sid,
        by="ana",
        override_reason="transferred",
        escort=f"partner, {text}",
        instructions_given=True,
        cosign="sam",
    )
    return sid


def pdf_text(path: Path) -> str:
    """The PDF's text as pypdf reads it, without spaces and line breaks (a cell wraps)."""
    from pypdf import PdfReader

    text = "".join(page.extract_text() for page in PdfReader(path).pages)
    return "".join(text.split())


def squeezed(text: str) -> str:
    return "".join(text.split())


def _rtl(char: str) -> bool:
    import unicodedata

    return unicodedata.bidirectional(char) in ("R", "AL")


def assert_printed(text: str, typed: str) -> None:
    """Every character of ``typed`` is in the PDF's ``text``: the left-to-right ones in their
    order, the right-to-left ones (which pypdf reads back reversed) as many times."""
    from collections import Counter

    def ltr(value: str) -> str:
        return "".join(c for c in squeezed(value) if not _rtl(c))

    assert ltr(typed) in ltr(text), typed
    have = Counter(text)
    assert all(have[c] >= n for c, n in Counter(c for c in typed if _rtl(c)).items()), typed


def test_every_script_prints_with_the_fallback_font_the_station_names(
    service, clock, tmp_path, fallback
):
    """The issue's done-when: "Dr Ødegård-Núñez (对)" in an override reads back whole."""
    words = f"{NAME} {IN_DEJAVU} {ELSEWHERE}"
    sid = named_session(service, clock, words)
    out = tmp_path / "record.pdf"
    result = export(with_fonts(service, fallback), Selection(ids=(sid,)), "pdf", out)
    text = pdf_text(out)
    for field in ("baseline by phone, ", "seen by ", "partner, "):
        assert_printed(text, field + words)
    assert "[U+" not in text
    assert result.substituted == ()


def test_without_a_font_each_character_prints_as_its_code_point_and_is_named(
    service, clock, tmp_path
):
    sid = named_session(service, clock)
    out = tmp_path / "record.pdf"
    result = export(service, Selection(ids=(sid,)), "pdf", out)
    text = pdf_text(out)
    assert squeezed("baseline by phone, Dr Ødegård-Núñez ([U+5BF9])") in text
    assert squeezed("seen by Dr Ødegård-Núñez ([U+5BF9])") in text
    assert squeezed("partner, Dr Ødegård-Núñez ([U+5BF9])") in text
    said = "1 character not in any font, printed as [U+5BF9]"
    assert result.substituted == (
        f"session {sid}: dosing override reason: {said}",
        f"session {sid}: escort: {said}",
        f"session {sid}: event 1 at {_clock(at(5))} text: {said}",
    )


def _clock(moment) -> str:
    from monitor.present.record import clock

    return clock(moment)


def test_scripts_dejavu_covers_need_no_fallback_and_give_no_warning(service, clock, tmp_path):
    sid = named_session(service, clock, IN_DEJAVU, patient="Ωμέγα-Привет-مرحبا")
    out = tmp_path / "record.pdf"
    result = export(service, Selection(ids=(sid,)), "pdf", out)
    text = pdf_text(out)
    assert_printed(text, "seen by " + IN_DEJAVU)
    assert_printed(text, "Ωμέγα-Привет-مرحبا")
    assert result.substituted == ()


def test_a_font_found_on_the_system_is_used_when_none_is_configured(
    service, clock, tmp_path, fallback, monkeypatch
):
    asked = []

    def found(code: int):
        asked.append(code)
        return fonts_module.FontFile(fallback) if chr(code) in ELSEWHERE + NAME else None

    monkeypatch.setattr(fonts_module, "system_font", found)
    sid = named_session(service, clock, f"{ELSEWHERE} {NOWHERE}")
    out = tmp_path / "record.pdf"
    result = export(service, Selection(ids=(sid,)), "pdf", out)
    text = pdf_text(out)
    assert squeezed(f"seen by {ELSEWHERE} [U+1230]") in text
    assert len(result.substituted) == 3
    assert all(line.endswith("1 character not in any font, printed as [U+1230]")
               for line in result.substituted)  # fmt: skip
    # One lookup for the first character DejaVu lacks and one for the Ethiopic: none for the
    # others the font found first has, and none again for the same character.
    assert len(asked) == 2 and ord(NOWHERE) in asked


def test_the_machines_own_fonts_have_no_unassigned_code_point(monkeypatch):
    """Whatever this machine holds (fontconfig, or matplotlib's list), a code point that is
    not a character is found in none of its fonts."""
    monkeypatch.setattr(fonts_module, "SYSTEM", fonts_module.SystemFonts())
    assert fonts_module.SYSTEM.font_for(ord(UNASSIGNED)) is None
    dejavu = fonts_module.SYSTEM.font_for(ord("Ω"))
    assert dejavu is None or dejavu.path.suffix.lower() in fonts_module.FONT_SUFFIXES


def test_fontconfig_offers_an_upright_outline_font_never_a_colour_or_last_resort_one(
    tmp_path, monkeypatch
):
    listed = [
        # file, face, style, family, outline, colour, characters
        ("/f/NotoColorEmoji.ttf", "0", "Regular", "Noto Color Emoji", "True", "True", "20 5bf9"),
        ("/f/LastResort.otf", "0", "Regular", "LastResort", "True", "False", "0-10ffff"),
        ("/f/NotoSerifCJK-Bold.ttc", "2", "Bold", "Noto Serif CJK SC", "True", "False", "4e00-9fff"),
        ("/f/NotoSansCJK-Regular.ttc", "2", "Regular", "Noto Sans CJK SC", "True", "False",
         "20-7e 4e00-9fff"),
        ("/f/unifont.pcf", "0", "Regular", "Unifont", "False", "False", "0-ffff"),
    ]  # fmt: skip
    program = tmp_path / "fc-list"
    lines = "".join("\t".join(row) + "\\n" for row in listed)
    program.write_text(f"#!/bin/sh\nprintf '{lines}'\n")
    program.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    fonts = fonts_module.SystemFonts()
    found = fonts.font_for(0x5BF9)
    assert found == fonts_module.FontFile(Path("/f/NotoSansCJK-Regular.ttc"), 2)
    assert fonts.font_for(0x1F600) is None  # only the colour font and the boxes have it
    assert fonts.font_for(0x0E2A) is None  # Thai: only the bitmap font


def test_without_fontconfig_matplotlibs_own_fonts_are_never_offered(monkeypatch):
    """matplotlib ships a "last resort" font (a box for every code point) and math fonts that
    map letters to symbols: neither may stand for a character."""
    import matplotlib

    monkeypatch.setattr(fonts_module, "_fontconfig", lambda: None)
    found = fonts_module.SystemFonts().font_for(0x5BF9)
    own = Path(matplotlib.get_data_path()).resolve()
    assert found is None or not found.path.resolve().is_relative_to(own)


def test_control_characters_surrogates_rtl_and_combining_marks_never_crash(service, clock):
    """Text the services refuse may still be stored (a row written around them): a control
    character or a lone surrogate prints as its code point; right-to-left text and combining
    marks print in the order typed."""
    from monitor.export.pdf import write_records
    from monitor.services.exports import session_views

    sid = named_session(service, clock, "x")
    [view] = session_views(service, [sid])
    odd = "a\x07b\ud800c\r\td\x00 שלום مرحبا a\u0301\u0308 \u200f!"
    view = replace(view, escort=odd, patient="\x1b[31m\x7f")
    out = io.BytesIO()
    said: list[str] = []
    write_records(
        out,
        [([view], {})],
        clinic="Clinic \x85",
        exported_at=service.now(),
        thresholds=service.config.thresholds,
        today=service.today(),
        said=said,
    )
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(out.getvalue()))
    text = "".join("".join(page.extract_text().split()) for page in reader.pages)
    assert_printed(text, "a[U+0007]b[U+D800]c[U+000D][U+0009]d[U+0000] שלום مرحبا a\u0301\u0308")
    assert "[U+001B][31m[U+007F]" in text
    assert "Clinic[U+0085]" in text
    assert said[2] == (
        f"session {sid}: escort: 5 characters not in any font, printed as [U+0000], [U+0007], "
        "[U+0009], [U+000D], [U+D800]"
    )
    assert said[0].startswith("clinic name: 1 character not in any font, printed as [U+0085]")
    assert any(line.startswith(f"session {sid}: patient id: 2 characters") for line in said)


# -- the command line and the station ------------------------------------------------------


@pytest.fixture
def run(db_url) -> Cli:
    return Cli(db_url)


def test_the_command_line_warns_of_each_field(run, service, clock, tmp_path, fallback):
    sid = named_session(service, clock)
    out = tmp_path / "record.pdf"
    done = run("export", str(sid), "--format", "pdf", "-o", str(out))
    assert done.stdout.startswith("exported 1 session (")
    lines = done.stderr.splitlines()
    assert lines == [
        f"warning: session {sid}: dosing override reason: 1 character not in any font, "
        "printed as [U+5BF9]",
        f"warning: session {sid}: escort: 1 character not in any font, printed as [U+5BF9]",
        f"warning: session {sid}: event 1 at {_clock(at(5))} text: 1 character not in any "
        "font, printed as [U+5BF9]",
    ]
    station = tmp_path / "station.toml"
    station.write_text(f'pdf_fonts = ["{fallback.name}"]\n')
    (tmp_path / fallback.name).write_bytes(fallback.read_bytes())  # beside the config file
    done = run("--config", str(station), "export", str(sid), "--format", "pdf", "-o",
               str(out), "--overwrite")  # fmt: skip
    assert done.stderr == ""
    assert squeezed(f"baseline by phone, {NAME}") in pdf_text(out)


def test_a_font_file_that_is_not_a_font_is_one_error_line_and_no_file(
    run, service, clock, tmp_path
):
    sid = str(named_session(service, clock))
    station = tmp_path / "station.toml"
    out = tmp_path / "out.pdf"
    cases = {
        '"missing.ttf"': f"pdf_fonts: font file {tmp_path / 'missing.ttf'} not found",
        f'"{tmp_path}"': "is a folder, not a file",
        '"station.toml"': "is not a TrueType or OpenType font (.ttf, .otf, .ttc)",
        '"/dev/null"': "is a device, not a file",
    }
    for entry, says in cases.items():
        station.write_text(f"pdf_fonts = [{entry}]\n")
        line = run.refused("--config", str(station), "export", sid, "--format", "pdf", "-o",
                           str(out))  # fmt: skip
        assert says in line, line
    station.write_text('pdf_fonts = "one.ttf"\n')
    assert "pdf_fonts must be a list" in run.refused("--config", str(station), "session", "list")
    broken = tmp_path / "broken.ttf"
    broken.write_bytes(b"\x00\x01\x00\x00" + b"\x00" * 64)
    station.write_text(f'pdf_fonts = ["{broken}"]\n')
    assert not (tmp_path / "out.pdf").exists()
    assert run("--config", str(station), "session", "list").returncode == 0  # read when needed
    line = run.refused("--config", str(station), "export", sid, "--format", "pdf", "-o", str(out))
    assert f"the PDF font {broken} (pdf_fonts in the configuration) cannot be read" in line
    assert not out.exists()


def test_the_font_setting_is_the_stations_and_shown_with_its_source(tmp_path, fallback):
    from monitor.config_file import load_config
    from monitor.core.config import describe, rules_from_mapping

    station = tmp_path / "station.toml"
    station.write_text(f'pdf_fonts = ["{fallback}"]\n')
    config = load_config(station)
    assert config.pdf_fonts == (str(fallback),)
    assert ("pdf_fonts", f'["{fallback}"]', str(station)) in describe(config)
    with pytest.raises(ConfigError, match="station's setting"):
        rules_from_mapping({"pdf_fonts": [str(fallback)]}, "rules.toml")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_the_stations_p_says_characters_were_printed_as_code_points(service, clock, tmp_path):
    from textual.widgets import Static

    from tests.station import build_floor, settle, sign_in, station
    from tests.tui.test_station_export import open_detail

    build_floor(service)
    service.start_session(patient="MRN-对", protocol="ketamine-im", by="ana", bay="Bay 6")
    app = station(service)
    app.export_folder = tmp_path / "exports"
    async with app.run_test(size=(100, 24)) as pilot:
        await sign_in(pilot)
        await open_detail(pilot, "MRN-对")
        await pilot.press("p")
        await settle(pilot)
        said = str(app.screen.query_one("#export-line", Static).content)
        [pdf] = list((tmp_path / "exports").iterdir())
        assert said == f"PDF saved: {pdf}; characters no font has printed as [U+code]"


def test_the_export_command_leaves_the_garbage_collector_as_it_found_it(
    run, service, clock, tmp_path
):
    """The command pauses the collector while it loads and freezes what it loaded (a
    short-lived process: docs/benchmarks.md, "Exports"); run in a long-lived process it
    leaves nothing frozen, also when refused."""
    import gc

    sid = named_session(service, clock)
    run("export", str(sid), "--format", "json", "-o", str(tmp_path / "one.jsonl"))
    assert gc.isenabled() and gc.get_freeze_count() == 0
    run.refused("export", "999", "--format", "pdf", "-o", str(tmp_path / "no.pdf"))
    assert gc.isenabled() and gc.get_freeze_count() == 0
