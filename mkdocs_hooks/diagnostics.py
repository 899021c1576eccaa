"""MkDocs hook: a "Diagnostics" page generated at build time from tests/golden/bad.

Each bad golden program (``NAME.gm``, whose first comment line says what is wrong) is listed
with the transcript gmc prints for it (``NAME.err``), so the catalogue always shows the
messages the tests check, never a hand-copied version of them.
"""
from __future__ import annotations

from pathlib import Path

from mkdocs.structure.files import File

BAD = Path(__file__).resolve().parent.parent / "tests" / "golden" / "bad"


def catalogue() -> str:
    """The page's Markdown: one section per bad golden, sorted by name."""
    parts = ["# Diagnostics catalogue", "",
             "Every error gmc reports for a bad `.gm` file, one example each, generated from the golden "
             "files of `tests/golden/bad` when this site is built (the tests check these transcripts "
             "verbatim).", ""]
    for program in sorted(BAD.glob("*.gm")):
        transcript = program.with_suffix(".err")
        if not transcript.is_file():
            continue
        first = program.read_text(encoding="utf-8", errors="replace").splitlines()[:1]
        summary = first[0].lstrip("# ").strip() if first and first[0].startswith("#") else program.stem
        parts += [f"## {program.stem}", "", summary, "", "```text",
                  transcript.read_text(encoding="utf-8", errors="replace").rstrip("\n"), "```", ""]
    return "\n".join(parts)


def on_files(files, config):
    files.append(File.generated(config, "diagnostics.md", content=catalogue()))
    return files
