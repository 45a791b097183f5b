"""The code keeps its shape (issue #18): small modules, each story told once, every rule in the
core. The import contracts (pyproject.toml, checked by tests/project/test_layering.py) keep the
layers and forbid import cycles; these checks keep the rest."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: The longest a module of the product may be.
MODULE_LINES = 600
SOURCES = sorted(p for folder in ("monitor", "tui") for p in (ROOT / folder).rglob("*.py"))
FACES = sorted(
    p for folder in ("tui", "monitor/export", "monitor/cli") for p in (ROOT / folder).rglob("*.py")
)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_is_over_600_lines(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MODULE_LINES, f"{path.relative_to(ROOT)} has {lines} lines"


#: What a face must not decide again: whether a session is discharged by the text of a message,
#: whether a refusal was the PIN's by its text, and the late-entry rule by its number of seconds.
RE_DECIDED = {
    "the text 'not discharged'": re.compile(r"[\"']not discharged[\"']"),
    "a refusal's text searched for 'PIN'": re.compile(r"[\"']PIN[\"']\s+in\s+str"),
    "a late entry's 600 s": re.compile(r"(total_seconds\(\)|seconds)\s*[<>]=?\s*600\b"),
}


@pytest.mark.parametrize("path", FACES, ids=lambda p: str(p.relative_to(ROOT)))
def test_faces_do_not_decide_rules_again(path):
    text = path.read_text(encoding="utf-8")
    found = [what for what, pattern in RE_DECIDED.items() if pattern.search(text)]
    assert not found, f"{path.relative_to(ROOT)} decides again: {', '.join(found)}"


def test_the_code_cites_its_own_documents():
    """Comments cite docs/ in this repository (pages that exist), not specifications kept
    outside it."""
    cite = re.compile(r"([\w./-]*?)\b(\w+)\.md\b")
    wrong = []
    for folder in ("monitor", "tui", "migrations", "benchmarks", "tests"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                for prefix, name in cite.findall(line):
                    if name == "README":
                        continue
                    if prefix != "docs/" or not (ROOT / "docs" / f"{name}.md").is_file():
                        wrong.append(f"{path.relative_to(ROOT)}:{n}: {prefix}{name}.md")
    assert not wrong, wrong[:20]


def _headings(page: Path) -> set[str]:
    return {
        line.lstrip("#").strip().replace("`", "")
        for line in page.read_text(encoding="utf-8").splitlines()
        if line.startswith("#")
    }


def test_a_cited_section_exists():
    """A comment citing a section of a page of docs/ names a heading of that page (a page's
    headings change with the page: the citations follow)."""
    cited = re.compile(r"docs/(\w+)\.md, \"([^\"]+)\"")
    wrong = []
    for folder in ("monitor", "tui", "migrations", "benchmarks", "tests"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            lines = path.read_text(encoding="utf-8").splitlines()
            # A citation may wrap onto the next comment or docstring line.
            text = " ".join(line.strip().lstrip("#:").strip() for line in lines)
            for page, section in cited.findall(text):
                doc = ROOT / "docs" / f"{page}.md"
                wanted = section.replace("`", "")
                if not doc.is_file() or not any(h.startswith(wanted) for h in _headings(doc)):
                    wrong.append(f'{path.relative_to(ROOT)}: docs/{page}.md, "{section}"')
    assert not wrong, wrong
