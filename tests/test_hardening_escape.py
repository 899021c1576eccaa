"""No code runs through any text that reaches generated source, and names cannot break it.

The .gm file's name, its source lines (comments included) and its names are pasted into the
generated module. These tests give every entry point (``gmc.compile_file``, ``gmc.to_python``
and importing the output of ``gmc compile -o`` in a fresh interpreter, ``gmc check``,
``gmc train``, ``gmc sample``) hostile file names and comments whose payload would create a
marker file, and assert the marker never appears and the module still imports and runs. Then
every Python keyword, soft keyword, generated-module name and model attribute is tried as each
kind of declaration: it either compiles to a module that runs a loss, a log-density and a
sample under the user's name, or both ``gmc check`` and compilation give the same located error.
"""
import ast
import keyword
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import gmc
from gmc.cli import main
from gmc.compiler import driver
from gmc.compiler.codegen import text as codegen_text
from gmc.compiler.names import GENERATED_NAMES, MODEL_ATTRIBUTES
from gmc.runtime.model import GeneratedModel

ROOT = Path(__file__).parent.parent
MARKER = "PWNED"
PAYLOAD = f'__import__("pathlib").Path("{MARKER}").touch()'

TINY = """\
# a tiny VAE: 2x2 "images", so gmc sample can draw them
var x: real[4]
var z: real[2]
net enc(x) -> (loc: real[2], scale: positive[2]) = MLP(4)
net dec(z) -> real[4] = MLP(4)
q(z|x) = Normal(loc=enc(x).loc, scale=enc(x).scale)
p(x|z) = Normal(dec(z), 1)
p(z) = Normal(0, 1)
p(x,z) = p(x|z) p(z)
loss = mean(-elbo(p(x,z), q(z|x)))
"""

#: File names (without .gm) that would run PAYLOAD if pasted into the module unescaped.
HOSTILE_STEMS = {
    "triple_double_quotes": f'x""";{PAYLOAD};"""',
    "triple_single_quotes": f"x''';{PAYLOAD};'''",
    "single_quote": f"x';{PAYLOAD};'",
    "backslash_quote": f'x\\";{PAYLOAD};#\\',
    "newline": f"x\n{PAYLOAD}\n#",
    "carriage_return": f"x\r{PAYLOAD}\r#",
    "line_separator": f"x\u2028{PAYLOAD}\u2028#",
    "next_line_and_form_feed": f"x\x85{PAYLOAD}\x0c#",
    "hash": f"x#{PAYLOAD}",
    "braces": f"x{{{PAYLOAD}}}{{0}}{{!r}}",
    "very_long": "y" * 180 + f'""";{PAYLOAD}',
    "undecodable_byte": os.fsdecode(b"x\xff\"\"\";") + PAYLOAD,
}

#: Comment text on a source line that would run PAYLOAD if a line break in it were kept.
HOSTILE_COMMENTS = {
    "carriage_return": f"# a\r{PAYLOAD}",
    "line_separator": f"# a\u2028{PAYLOAD}",
    "paragraph_separator": f"# a\u2029{PAYLOAD}",
    "next_line": f"# a\x85{PAYLOAD}",
    "form_feed_vertical_tab": f"# a\x0c\x0b{PAYLOAD}",
    "nul": f"# a\x00{PAYLOAD}",
    "quotes_backslash": f'# """ \\ \'\'\' {PAYLOAD}',
}


def _write(folder: Path, stem: str, source: str = TINY) -> Path:
    path = folder / (stem + ".gm")
    path.write_text(source, encoding="utf-8", errors="surrogateescape")
    return path


def _only_newline_breaks(source: str) -> bool:
    """No line break but ``\\n`` in ``source``: Python's tokenizer and linecache (which
    uses str.splitlines) see the same lines."""
    return source.endswith("\n") and len(source.splitlines()) == source.count("\n")


def _runs(cls) -> None:
    """One loss (with a backward pass), one log-density and one sample of the tiny VAE."""
    m = cls()
    x = torch.randn(3, 4)
    m.loss(x=x).backward()
    assert m.log_prob("p(x|z)", x=x, z=torch.zeros(3, 2)).shape == (3,)
    assert m.sample("p(x,z)", n=2)["x"].shape == (2, 4)


def _import_in_subprocess(paths: list[Path], cwd: Path) -> None:
    """Import each generated file in one fresh interpreter and run a loss of its class."""
    script = ("import importlib.util, sys, torch\n"
              "for path in sys.argv[1:]:\n"
              "    spec = importlib.util.spec_from_file_location('generated', path)\n"
              "    module = importlib.util.module_from_spec(spec)\n"
              "    spec.loader.exec_module(module)\n"
              "    cls = [v for v in vars(module).values() if isinstance(v, type) and v.__module__ == 'generated'][0]\n"
              "    cls().loss(x=torch.zeros(2, 4))\n")
    result = subprocess.run([sys.executable, "-c", script, *map(str, paths)], cwd=cwd, capture_output=True,
                            text=True, errors="replace")
    assert result.returncode == 0, result.stderr


# ---- hostile file names ----------------------------------------------------------------

@pytest.mark.parametrize("stem", HOSTILE_STEMS.values(), ids=HOSTILE_STEMS.keys())
def test_hostile_file_name_compile_file_check_and_to_python(stem, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = _write(tmp_path, stem)
    assert gmc.check(path) == []
    assert main(["check", str(path)]) == 0
    cls = gmc.compile_file(path)
    _runs(cls)
    assert cls.source_file == path.name
    source = gmc.to_python(path)
    assert _only_newline_breaks(source)
    ast.parse(source)
    assert not (tmp_path / MARKER).exists()


def test_hostile_file_names_gmc_compile_output_imports_in_a_fresh_interpreter(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    outputs = []
    for i, stem in enumerate(HOSTILE_STEMS.values()):
        out = tmp_path / f"generated_{i}.py"
        assert main(["compile", str(_write(tmp_path, stem)), "-o", str(out)]) == 0
        outputs.append(out)
    _import_in_subprocess(outputs, tmp_path)
    assert not (tmp_path / MARKER).exists()


@pytest.mark.slow
@pytest.mark.parametrize("stem", HOSTILE_STEMS.values(), ids=HOSTILE_STEMS.keys())
def test_hostile_file_name_train_and_sample(stem, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = _write(tmp_path, stem)
    np.save(tmp_path / "tiny.npy", np.random.default_rng(0).normal(size=(12, 4)))
    run = tmp_path / "run"
    assert main(["train", str(path), "--data", "tiny.npy", "--epochs", "1", "--batch-size", "8", "--quiet",
                 "--out", str(run)]) == 0
    assert main(["sample", str(path), "--checkpoint", str(run / "model.pt"), "-n", "4",
                 "-o", str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").exists()
    assert not (tmp_path / MARKER).exists()


@pytest.mark.slow
def test_hostile_file_name_train_in_a_subprocess(tmp_path):
    """The command line itself (python -m gmc), from the source cache on the second run."""
    path = _write(tmp_path, HOSTILE_STEMS["newline"])
    np.save(tmp_path / "tiny.npy", np.zeros((12, 4)))
    for _ in range(2):
        result = subprocess.run([sys.executable, "-m", "gmc", "train", path.name, "--data", "tiny.npy", "--epochs",
                                 "1", "--quiet", "--out", "run"], cwd=tmp_path, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
    assert not (tmp_path / MARKER).exists()


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=40))
def test_any_file_name_gives_a_module_that_compiles_and_keeps_the_name(filename):
    source = driver.python_source(driver.compile_model(TINY, filename))
    assert _only_newline_breaks(source)
    namespace: dict = {}
    exec(compile(source, "<generated>", "exec"), namespace)
    cls = next(v for v in namespace.values() if isinstance(v, type) and issubclass(v, GeneratedModel)
               and v is not GeneratedModel)
    assert cls.source_file == filename and cls.__name__.isidentifier() and not keyword.iskeyword(cls.__name__)


# ---- hostile comments ------------------------------------------------------------------

@pytest.mark.parametrize("comment", HOSTILE_COMMENTS.values(), ids=HOSTILE_COMMENTS.keys())
def test_hostile_comment_is_inert_and_lines_keep_their_numbers(comment, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    lines = TINY.split("\n")
    lines[6] += "  " + comment  # the p(x|z) line
    path = _write(tmp_path, "commented", "\n".join(lines))
    assert main(["check", str(path)]) == 0
    _runs(gmc.compile_file(path))
    source = gmc.to_python(path)
    assert _only_newline_breaks(source)
    assert "# commented.gm:7  p(x|z) = Normal(dec(z), 1)" in source
    assert "# commented.gm:8  p(z) = Normal(0, 1)" in source
    assert not (tmp_path / MARKER).exists()


def test_hostile_comments_gmc_compile_output_imports_in_a_fresh_interpreter(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    outputs = []
    for i, comment in enumerate(HOSTILE_COMMENTS.values()):
        lines = TINY.split("\n")
        lines[6] += "  " + comment
        out = tmp_path / f"generated_{i}.py"
        assert main(["compile", str(_write(tmp_path, f"commented_{i}", "\n".join(lines))), "-o", str(out)]) == 0
        outputs.append(out)
    _import_in_subprocess(outputs, tmp_path)
    assert not (tmp_path / MARKER).exists()


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_characters="\n"), max_size=30))
def test_any_comment_text_gives_a_module_that_compiles(comment):
    lines = TINY.split("\n")
    lines[6] += " #" + comment
    source = driver.python_source(driver.compile_model("\n".join(lines), "t.gm"))
    assert _only_newline_breaks(source)
    compile(source, "<generated>", "exec")


def test_byte_order_mark_is_skipped(tmp_path):
    path = tmp_path / "bom.gm"
    path.write_bytes(b"\xef\xbb\xbf" + TINY.encode())
    assert gmc.check(path) == []
    _runs(gmc.compile_file(path))
    assert main(["fmt", str(path)]) == 0
    _runs(gmc.compile_source("\ufeff" + TINY))


def test_nul_outside_a_comment_is_a_located_error(tmp_path):
    path = tmp_path / "nul.gm"
    path.write_bytes(TINY.replace("real[2]", "real[2]\x00", 1).encode())
    with pytest.raises(gmc.GmcError) as e:
        gmc.check(path)
    assert all(d.span.line == 3 for d in e.value.diagnostics)


# ---- the escaping rule -----------------------------------------------------------------

@pytest.mark.parametrize("value", ['a"""b', "a\\", "\\N{BULLET}", "a\x00\r\n\u2028\x85\ud800b", "λ ∝ 😀", '"'])
def test_docstring_and_comment_text_is_inert(value):
    doc = codegen_text.docstring(value)
    assert eval(f'"""{doc}"""') == codegen_text.comment(value)
    assert codegen_text.comment(value).isprintable()
    assert ast.parse(f"# {codegen_text.comment(value)}\nx = 1").body[0].targets[0].id == "x"


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), 1.5, -2.0, (1, float("inf")), ("a'\n",), "x"])
def test_literals_evaluate_without_names(value):
    code = codegen_text.literal(value)
    assert not [n for n in ast.walk(ast.parse(code, mode="eval")) if isinstance(n, ast.Name)]
    assert eval(code, {"__builtins__": {}}) == value


def test_nan_literal():
    code = codegen_text.literal(float("nan"))
    assert eval(code, {"__builtins__": {}}) != eval(code, {"__builtins__": {}})


# ---- names -----------------------------------------------------------------------------

_VAE = """\
{model}
{decls}
var {x}: real[4]
var z: real[2]
net {enc}({x}) -> ({loc}: real[2], scale: positive[2]) = MLP(4)
net dec(z) -> real[4] = MLP(4)
q(z|{x}) = Normal(loc={enc}({x}).{loc}, scale={scale})
p({x}|z) = Normal(dec(z), {noise})
{prior}(z) = Normal({prior_loc}, 1)
p({x},z) = p({x}|z) {prior}(z)
loss {loss} = mean(-elbo(p({x},z), q(z|{x})))
"""


def _program(kind: str, name: str) -> str:
    """The tiny VAE with ``name`` declared as ``kind`` and used."""
    slots = {"model": "", "decls": "", "x": "x", "enc": "enc", "loc": "loc", "scale": "enc(x).scale",
             "noise": "1", "prior": "p", "prior_loc": "0", "loss": "main"}
    if kind == "var":
        slots["x"] = name
        slots["scale"] = f"enc({name}).scale"
    elif kind == "model":
        slots["model"] = f"model {name}"
    elif kind in ("param", "const", "let"):
        slots["decls"] = f"{kind} {name} = 1.0"
        slots["noise"] = name
    elif kind == "weight":
        slots["decls"] = f"weight {name}: real[2] = 0.1"
        slots["prior_loc"] = name
    elif kind == "net":
        slots["enc"] = name
        slots["scale"] = f"{name}(x).scale"
    elif kind == "net_output":
        slots["loc"] = name
    elif kind == "factor":
        slots["prior"] = name
    elif kind == "loss":
        slots["loss"] = name
    return _VAE.format(**slots)


NAMES = sorted(set(keyword.kwlist) | set(keyword.softkwlist) | GENERATED_NAMES
               | {"n", "training", "forward", "loss", "sample", "log_prob", "parameters", "compile", "to", "_anchor",
                  "input", "id", "print", "float", "name", "factor", "inf", "nan", "String", "Model",
                  "log_p_z", "loss_main", "sample_q_z_given_x",
                  # names sympy gives a meaning (the closed forms are sympy expressions over these symbols)
                  "E", "I", "S", "N", "O", "Q", "pi", "oo", "zoo", "beta", "gamma", "Symbol", "exp", "log"})
KINDS = ["var", "param", "const", "let", "weight", "net", "net_output", "factor", "model", "loss"]


def _diagnostics(call):
    try:
        call()
    except gmc.GmcError as e:
        return e.diagnostics
    return None


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", NAMES)
def test_reserved_names_compile_or_fail_alike_in_check_and_compile(kind, name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = _write(tmp_path, "names", _program(kind, name))
    checked = _diagnostics(lambda: gmc.check(path))
    compiled = _diagnostics(lambda: gmc.compile_file(path))
    assert checked == compiled, "gmc check and compile disagree"
    if checked is not None:
        assert checked and all(d.span.line > 0 and d.span.column > 0 for d in checked), checked
        assert main(["check", str(path)]) == 1
        return
    cls = gmc.compile_file(path)
    x_name = name if kind == "var" else "x"
    loss = name if kind == "loss" else "main"
    prior = f"{name}(z)" if kind == "factor" else "p(z)"
    m = cls()
    data = {x_name: torch.randn(3, 4)}
    if kind == "param":
        data[name] = 0.5
        assert cls(**{name: 2.0}).param_defaults[name] == 1.0
    m.loss(loss, **data).backward()
    assert m.log_prob(f"p({x_name}|z)", z=torch.zeros(3, 2), **data).shape == (3,)
    assert m.log_prob(prior, z=torch.zeros(3, 2)).shape == (3,)
    assert m.sample(f"p({x_name},z)", n=2)[x_name].shape == (2, 4)
    assert m.sample(f"q(z|{x_name})", **{x_name: data[x_name]})["z"].shape == (3, 2)
    if kind == "model":
        assert cls.__name__ == name


@pytest.mark.parametrize("stem, expected", [("none", "NoneModel"), ("true", "TrueModel"), ("f", "FModel"),
                                            ("my-model", "MyModel"), ("123", "Model"), ("type_error", "TypeErrorModel"),
                                            ("rt", "Rt"), ("lambda", "Lambda")])
def test_model_name_from_the_file_stem_is_a_usable_class_name(stem, expected, tmp_path):
    path = _write(tmp_path, stem)
    cls = gmc.compile_file(path)
    assert cls.__name__ == expected
    _runs(cls)


def test_a_name_argument_that_cannot_name_a_class_is_an_error():
    with pytest.raises(gmc.GmcError, match="not a Python identifier"):
        gmc.compile_source(TINY, name="my-model")
    with pytest.raises(gmc.GmcError, match="keyword"):
        gmc.compile_source(TINY, name="None")


def test_model_attributes_cover_every_public_attribute_of_a_generated_model():
    public = {a for a in set(dir(GeneratedModel)) | set(vars(GeneratedModel())) if not a.startswith("_")}
    assert public <= MODEL_ATTRIBUTES, sorted(public - MODEL_ATTRIBUTES)


def test_generated_names_cover_every_free_name_of_the_generated_modules():
    """Each name a generated golden module reads but never binds (its modules and the
    builtins it calls) is in GENERATED_NAMES, so no user name can shadow it."""
    goldens = sorted((ROOT / "tests" / "golden" / "good" / "expected").glob("*.py"))
    assert len(goldens) >= 10
    for path in goldens:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        loaded = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        bound = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
        bound |= {a.arg for n in ast.walk(tree) if isinstance(n, ast.arguments)
                  for a in n.args + n.kwonlyargs + n.posonlyargs}
        free = loaded - bound
        assert free <= GENERATED_NAMES, (path.name, sorted(free - GENERATED_NAMES))


def test_check_prints_an_undecodable_file_name_without_a_traceback(tmp_path):
    path = _write(tmp_path, HOSTILE_STEMS["undecodable_byte"])
    bad = _write(tmp_path, os.fsdecode(b"bad\xff\x1b[2J"), "var x: real[2]\nloss = 1 +\n")
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    ok = subprocess.run([sys.executable, "-m", "gmc", "check", path.name], cwd=tmp_path, env=env, capture_output=True)
    assert ok.returncode == 0 and b"\\udcff" in ok.stdout and b"Traceback" not in ok.stderr, ok.stderr
    failed = subprocess.run([sys.executable, "-m", "gmc", "check", bad.name], cwd=tmp_path, env=env,
                            capture_output=True)
    assert failed.returncode == 1 and b"Syntax error in 'bad\\udcff\\x1b[2J.gm'" in failed.stderr, failed.stderr
    assert not (tmp_path / MARKER).exists()


def test_non_finite_numbers_are_printed_without_names():
    """``repr`` prints inf and nan as names, which a variable called ``inf`` would capture."""
    import sympy as sp

    from gmc.compiler.symbolic.constants import UndefinedConstant
    from gmc.compiler.symbolic.printer import TorchPrinter

    for value in (sp.Float("inf"), -sp.oo, sp.oo):
        code = TorchPrinter().doprint(value)
        names = {n.id for n in ast.walk(ast.parse(code, mode="eval")) if isinstance(n, ast.Name)}
        assert names <= {"math"}, code
    for value in (sp.nan, sp.zoo):  # no real value: a located error of code generation, never a name
        with pytest.raises(UndefinedConstant):
            TorchPrinter().doprint(value)
    source = driver.python_source(driver.compile_model(
        "var inf: real[2]\nvar nan: real[2]\np(nan|inf) = Normal(inf * 2.5, 1)\nloss = mean(-log p(nan|inf))\n"))
    method = next(n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.FunctionDef) and n.name == "loss_loss")
    assert sum(isinstance(n, ast.Name) and n.id == "inf" for n in ast.walk(method)) == 1  # the variable, once


def test_a_name_of_a_generated_attribute_is_a_located_error():
    """A flow's layer attribute (flow_<factor>) and a game model's class attribute 'games' are
    reserved like the generated methods: naming a weight or a net so is a located error in
    both gmc check and compile (the flow case used to end in a TypeError from torch when
    the model was built)."""
    flow = ("var x: real[2]\nweight flow_p_x: real[2] = 0.0\n"
            "p(x) = Flow(Normal(0, 1), Coupling(mask=half, hidden=8), Affine)\nloss = mean(-log p(x))\n")
    with pytest.raises(gmc.GmcError, match="generated attribute holding the layers of the flow p\\(x\\)") as e:
        gmc.compile_source(flow, "M")
    assert e.value.diagnostics[0].span.line == 2
    game = (ROOT / "examples" / "gan.gm").read_text() + "net games(x) -> real = MLP(8)\n"
    with pytest.raises(gmc.GmcError, match="'games' cannot be used: it is the name of the generated attribute") as e:
        gmc.compile_source(game, "G")
    assert e.value.diagnostics[0].span.line == game.count("\n")
    # the same names are fine where nothing is generated under them
    gmc.compile_source(flow.replace("Flow(Normal(0, 1), Coupling(mask=half, hidden=8), Affine)", "Normal(0, 1)"), "M")
