"""Golden transcripts: bad programs' errors, good programs' generated Python and LaTeX."""
import ast
import sys

import pytest

from golden_io import GOLDEN, ROOT, assert_golden
from gmc.cli import main

BAD = sorted((GOLDEN / "bad").glob("*.gm"))
GOOD = sorted((GOLDEN / "good").glob("*.gm")) + sorted((ROOT / "examples").glob("*.gm"))


def _expected(path, suffix):
    prefix = "example_" if path.parent.name == "examples" else ""
    return GOLDEN / "good" / "expected" / f"{prefix}{path.stem}{suffix}"


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_program_transcript(path, capsys, monkeypatch, update_golden):
    monkeypatch.chdir(path.parent)
    assert main(["check", path.name]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Traceback" not in captured.err
    assert_golden(captured.err, path.with_suffix(".err"), update_golden)


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.stem)
def test_good_program_python(path, capsys, monkeypatch, update_golden):
    monkeypatch.chdir(path.parent)
    assert main(["compile", path.name]) == 0
    assert_golden(capsys.readouterr().out, _expected(path, ".py"), update_golden)


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.stem)
def test_good_program_latex(path, capsys, monkeypatch, update_golden):
    monkeypatch.chdir(path.parent)
    assert main(["latex", path.name]) == 0
    assert_golden(capsys.readouterr().out, _expected(path, ".tex"), update_golden)


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.stem)
def test_good_program_derived_latex(path, capsys, monkeypatch, update_golden):
    monkeypatch.chdir(path.parent)
    assert main(["latex", "--derived", path.name]) == 0
    assert_golden(capsys.readouterr().out, _expected(path, ".derived.tex"), update_golden)


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.stem)
def test_good_program_explain(path, capsys, monkeypatch, update_golden):
    monkeypatch.chdir(path.parent)
    assert main(["explain", path.name]) == 0
    assert_golden(capsys.readouterr().out, _expected(path, ".explain"), update_golden)


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.stem)
def test_generated_code_imports_only_torch_and_runtime(path):
    import gmc

    tree = ast.parse(gmc.to_python(path))
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            modules.add(node.module + "." + node.names[0].name)
    assert modules <= {"math", "torch", "torch.nn.functional", "gmc.runtime"}, modules


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.stem)
def test_latex_renders_in_mathtext(path):
    import gmc
    from matplotlib.mathtext import MathTextParser

    parser = MathTextParser("agg")
    for line in gmc.latex(path).splitlines() + gmc.latex(path, derived=True).splitlines():
        parser.parse(f"${line}$", dpi=72)


def test_compilation_is_deterministic():
    import subprocess

    path = ROOT / "examples" / "vae.gm"
    runs = {subprocess.run([sys.executable, "-m", "gmc", "compile", str(path)], capture_output=True, text=True,
                           check=True).stdout for _ in range(2)}
    assert len(runs) == 1
