"""The LaTeX gmc prints compiles in a real LaTeX document (amsmath, amssymb).

Needs a ``latex`` binary (Debian: texlive-latex-base); skipped where there is none. The
mathtext check in test_golden.py runs everywhere."""
import shutil
import subprocess
from pathlib import Path

import pytest

import gmc

ROOT = Path(__file__).parent.parent
PROGRAMS = sorted((ROOT / "tests" / "golden" / "good").glob("*.gm")) + sorted((ROOT / "examples").glob("*.gm"))


@pytest.mark.skipif(shutil.which("latex") is None, reason="no latex binary on this machine")
@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: p.stem)
def test_latex_compiles_in_a_document(path, tmp_path):
    lines = gmc.latex(path).splitlines() + gmc.latex(path, derived=True).splitlines()
    equations = "\n".join(f"\\[ {line} \\]" for line in lines)
    document = ("\\documentclass{article}\n\\usepackage{amsmath,amssymb}\n\\begin{document}\n"
                f"{equations}\n\\end{{document}}\n")
    (tmp_path / "doc.tex").write_text(document)
    result = subprocess.run(["latex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:]
