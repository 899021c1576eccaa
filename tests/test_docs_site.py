"""The documentation site (mkdocs.yml, docs/) builds with --strict: no broken link, anchor or
missing page; the diagnostics catalogue is generated from tests/golden/bad."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


def test_mkdocs_builds_strictly(tmp_path):
    pytest.importorskip("mkdocs", reason="mkdocs is not installed (pip install -e '.[docs]')")
    pytest.importorskip("material", reason="the Material theme is not installed (pip install -e '.[docs]')")
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
                            cwd=ROOT, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    catalogue = (tmp_path / "site" / "diagnostics" / "index.html").read_text(encoding="utf-8")
    bad = sorted(p.stem for p in (ROOT / "tests" / "golden" / "bad").glob("*.gm")
                 if p.with_suffix(".err").is_file())
    assert bad and all(f'id="{name.replace("_", "-")}"' in catalogue or f'id="{name}"' in catalogue for name in bad)
    assert (tmp_path / "site" / "images" / "vae_graph.png").is_file()
