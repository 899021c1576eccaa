"""No crash and no hang in the front end and compiler on any input (found by fuzzing).

Each case of the fuzzing report is one test below: either it compiles and computes the right
value (checked against torch applying the same operations step by step), or it is a located
gmc.GmcError of the stated kind. ``gmc.compile_source`` and ``gmc.check`` let no other Python
exception escape, and ``gmc check`` exits 1 with a located message and no traceback. The
limits are documented in docs/language.md ("Limits") and live in gmc/dsl/limits.py.

Subprocess timeouts below only stop a hang from stalling the suite; no test times anything.
"""
import importlib.util
import subprocess
import sys

import pytest
import torch

import gmc
from gmc.dsl.limits import MAX_CONSTANT_INTEGER, MAX_NESTING, MAX_NODES, MAX_SIZE

pytestmark = pytest.mark.usefixtures("float64")

HANG_GUARD_S = 300  # far above any of these runs; reached only by a hang

#: A model with one data variable and no factors: a loss over x alone.
PLAIN = "var x: real[2]\n"
#: A VAE-like model, so that losses can mix log-densities, expectations and arithmetic.
LATENT = """var x: real[2]
var z: real[2]
net dec(z) -> real[2] = MLP(4)
q(z|x) = Normal(x, 1)
p(x|z) = Normal(dec(z), 1)
p(x) = Normal(0, 1)
p(z) = Normal(0, 1)
"""


def _loss(body: str, head: str = PLAIN) -> str:
    """``loss = mean(sum(body))``: ``sum`` (a batch reduction) adds every element, so the
    loss of ``x`` is the sum of ``body`` over the batch and the event."""
    return head + f"loss = mean(sum({body}))\n"


def _x() -> torch.Tensor:
    return torch.linspace(0.5, 1.5, 8).reshape(4, 2)


def _loss_value(source: str, **inputs) -> torch.Tensor:
    cls = gmc.compile_source(source)
    with torch.no_grad():
        return cls().loss("loss", **inputs)


def _refused(source: str, kind: str, tmp_path) -> gmc.GmcError:
    """``source`` fails with exactly one located diagnostic of ``kind`` in the library (both
    entry points) and on the command line (exit 1, no traceback)."""
    with pytest.raises(gmc.GmcError) as compiled:
        gmc.compile_source(source)
    path = tmp_path / "case.gm"
    path.write_text(source)
    with pytest.raises(gmc.GmcError) as checked:
        gmc.check(path)
    for error in (compiled.value, checked.value):
        assert [d.kind for d in error.diagnostics] == [kind]
        assert error.diagnostics[0].span.line > 0
    result = _gmc("check", path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "Semantic error in 'case.gm', line " in result.stderr
    return compiled.value


def _gmc(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gmc", *map(str, args)], capture_output=True, text=True,
                          timeout=HANG_GUARD_S)


# ---- long chains work (they are not nesting) ---------------------------------------------

def test_thousand_term_sum_of_log_densities():
    source = LATENT + "loss = mean(" + " + ".join(["log p(x)"] * 1000) + ")\n"
    x = _x()
    expected = 1000 * torch.distributions.Normal(0.0, 1.0).log_prob(x).sum(-1).mean()
    got = _loss_value(source, x=x)
    assert torch.allclose(got, expected, rtol=1e-10)


def test_thousand_term_sum_of_values():
    x = _x()
    got = _loss_value(_loss(" + ".join(["x"] * 1000)), x=x)
    expected = torch.zeros_like(x)
    for _ in range(1000):
        expected = expected + x
    assert torch.allclose(got, expected.sum(), rtol=1e-12)


def test_division_chain_prints_and_computes():
    n = 200
    source = _loss(" / ".join(["x"] * n))
    model = _compiled_model(source)
    from gmc.compiler import driver

    assert driver.latex(model).count(r"\frac{") == n - 1
    x = _x()
    expected = x
    for _ in range(n - 1):
        expected = expected / x
    assert torch.allclose(_loss_value(source, x=x), expected.sum(), rtol=1e-9)


@pytest.mark.slow
def test_two_thousand_term_sum_and_division_chain_through_every_command(tmp_path):
    """gmc check, latex, latex --derived, fmt, info, explain and compile on long chains; the
    module written by ``gmc compile`` imports and runs in a fresh interpreter."""
    for name, body, terms in (("sum", " + ".join(["x"] * 2000), 2000), ("div", " / ".join(["x"] * 200), 200)):
        source = LATENT + f"loss = mean(E_{{q(z|x)}}[log p(x|z)] + sum({body}))\n"
        path = tmp_path / f"{name}.gm"
        path.write_text(source)
        for command in (["check"], ["latex"], ["latex", "--derived"], ["info"], ["explain"]):
            result = _gmc(*command, path)
            assert result.returncode == 0, (command, result.stderr[-2000:])
        formatted = _gmc("fmt", path)
        assert formatted.returncode == 0 and formatted.stdout == source
        latex = _gmc("latex", path).stdout
        assert latex.count(r"\frac{") == (terms - 1 if name == "div" else 0)
        assert latex.count(" + x") == (terms - 1 if name == "sum" else 0)
        module = tmp_path / f"{name}.py"
        assert _gmc("compile", path, "-o", module).returncode == 0
        run = subprocess.run([sys.executable, "-c", _IMPORT_AND_RUN, str(module)], capture_output=True, text=True,
                             timeout=HANG_GUARD_S)
        assert run.returncode == 0, run.stderr[-2000:]
        assert float(run.stdout) == pytest.approx(_run_in_process(source), rel=1e-9)


_IMPORT_AND_RUN = """
import importlib.util, sys, torch
torch.manual_seed(0)
spec = importlib.util.spec_from_file_location("generated", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
cls = next(v for v in vars(module).values() if isinstance(v, type) and v.__module__ == "generated")
torch.set_default_dtype(torch.float64)
model = cls()
with torch.no_grad():
    print(repr(float(model.loss("loss", x=torch.linspace(0.5, 1.5, 8).reshape(4, 2)))))
"""


def _run_in_process(source: str) -> float:
    """The value the generated module of ``source`` prints in :data:`_IMPORT_AND_RUN`."""
    cls = gmc.compile_source(source)
    torch.manual_seed(0)
    model = cls()
    with torch.no_grad():
        return float(model.loss("loss", x=_x()))


def _compiled_model(source: str):
    from gmc.compiler import driver

    return driver.compile_model(source)


def test_longest_expression_within_the_node_limit_compiles_and_runs():
    terms = (MAX_NODES - 2) // 2  # mean, sum, and 2 * terms - 1 names and operators
    x = _x()
    got = _loss_value(_loss(" + ".join(["x"] * terms)), x=x)
    assert torch.allclose(got, terms * x.sum(), rtol=1e-9)


def test_expression_over_the_node_limit_is_refused(tmp_path):
    terms = MAX_NODES // 2 + 1
    _refused(_loss(" + ".join(["x"] * terms)), "expression_too_large", tmp_path)


def test_lets_that_double_are_counted_expanded(tmp_path):
    lets = "let h0 = x\n" + "".join(f"let h{i} = h{i - 1} + h{i - 1}\n" for i in range(1, 40))
    error = _refused(PLAIN + lets + "loss = mean(sum(h39))\n", "expression_too_large", tmp_path)
    # h_k has 2**(k+1) - 1 nodes: h14, on line 2 + 14, is the first past 20,000
    assert error.diagnostics[0].span.line == 2 + 14


# ---- nesting: up to MAX_NESTING levels works everywhere, one more is refused ----------------

# In ``mean(sum(E))`` the expression E starts at level 2, so E may nest MAX_NESTING - 2 levels.
_ROOM = MAX_NESTING - 2


def _nested(kind: str, levels: int) -> str:
    return {
        "minus": "-" * levels + "x",
        "calls": "tanh(" * levels + "x" + ")" * levels,
        "brackets": "x - (" * (levels - 1) + "x - x" + ")" * (levels - 1),
        "powers": "x ** " * levels + "x",
    }[kind]


def _nested_reference(kind: str, levels: int, x: torch.Tensor) -> torch.Tensor:
    value = x
    for _ in range(levels):
        value = {"minus": lambda v: -v, "calls": torch.tanh, "brackets": lambda v: x - v,
                 "powers": lambda v: x ** v}[kind](value)
    return value


@pytest.mark.parametrize("kind", ["minus", "calls", "brackets", "powers"])
def test_nesting_at_the_limit_compiles_and_computes(kind):
    x = _x()
    got = _loss_value(_loss(_nested(kind, _ROOM)), x=x)
    assert torch.allclose(got, _nested_reference(kind, _ROOM, x).sum(), rtol=1e-9)


@pytest.mark.parametrize("kind", ["minus", "calls", "brackets", "powers"])
def test_nesting_one_past_the_limit_is_refused(kind, tmp_path):
    _refused(_loss(_nested(kind, _ROOM + 1)), "expression_too_deep", tmp_path)


def test_thousand_unary_minus_signs_are_refused(tmp_path):
    _refused(_loss("-" * 1000 + "x"), "expression_too_deep", tmp_path)


def test_two_hundred_nested_calls_are_refused(tmp_path):
    _refused(_loss("exp(" * 200 + "x" + ")" * 200), "expression_too_deep", tmp_path)


def test_nesting_through_lets_is_counted(tmp_path):
    lets = "let h0 = x\n" + "".join(f"let h{i} = tanh(h{i - 1})\n" for i in range(1, 120))
    error = _refused(PLAIN + lets + "loss = mean(sum(h119))\n", "expression_too_deep", tmp_path)
    assert error.diagnostics[0].span.line == 2 + MAX_NESTING + 1  # the let that goes one level too far


@pytest.mark.slow
def test_nesting_at_the_limit_through_every_command(tmp_path):
    """Deep parameters of a distribution (closed-form KL through sympy) and a deep loss, at
    the limit, through check, latex (plain and derived), fmt, info, explain and compile; the
    written module imports and runs in a fresh interpreter with the default recursion limit."""
    deep_loc = "tanh(" * (MAX_NESTING - 2) + "x" + ")" * (MAX_NESTING - 2)  # Normal(loc=...) is 2 levels
    source = LATENT.replace("q(z|x) = Normal(x, 1)", f"q(z|x) = Normal({deep_loc}, 1)") + \
        "loss = mean(KL[q(z|x) || p(z)] - E_{q(z|x)}[log p(x|z)] + sum(" + _nested("brackets", _ROOM - 1) + "))\n"
    path = tmp_path / "deep.gm"
    path.write_text(source)
    for command in (["check"], ["latex"], ["latex", "--derived"], ["info"], ["explain"]):
        result = _gmc(*command, path)
        assert result.returncode == 0, (command, result.stderr[-2000:])
    formatted = _gmc("fmt", path).stdout  # the same program, its long lines wrapped
    assert "".join(formatted.split()) == "".join(source.split())
    module = tmp_path / "deep.py"
    assert _gmc("compile", path, "-o", module).returncode == 0
    run = subprocess.run([sys.executable, "-c", _IMPORT_AND_RUN, str(module)], capture_output=True, text=True,
                         timeout=HANG_GUARD_S)
    assert run.returncode == 0, run.stderr[-2000:]
    assert float(run.stdout) == pytest.approx(_run_in_process(source), rel=1e-9)


# ---- constants: bounded in magnitude and refused before they are computed ----------------

def test_huge_integer_power_constant_is_refused(tmp_path):
    _refused("const N = 2**20000\n" + _loss("N * x"), "constant_out_of_range", tmp_path)


def test_tower_of_powers_is_refused_without_computing_it(tmp_path):
    # 9**9**9 has 370 million digits; computing it took minutes (the subprocess guard would fire).
    _refused("const X = 9**9**9\n" + _loss("X * x"), "constant_out_of_range", tmp_path)


def test_tower_of_powers_inside_a_loss_is_refused(tmp_path):
    # It used to reach the generated code as Python integer arithmetic and hang at run time.
    _refused(_loss("9**9**9 * x"), "constant_out_of_range", tmp_path)


def test_float_literal_that_overflows_is_refused(tmp_path):
    # It used to become 'inf' in the generated code: NameError at class creation.
    _refused(_loss("1e400 * x"), "number_out_of_range", tmp_path)
    _refused("const C = 1e400\n" + _loss("C * x"), "number_out_of_range", tmp_path)


def test_float_arithmetic_that_overflows_is_refused(tmp_path):
    _refused("const C = 1e300 * 1e300\n" + _loss("C * x"), "constant_out_of_range", tmp_path)


def test_integer_bound_is_int64():
    assert MAX_CONSTANT_INTEGER == 2 ** 63 - 1
    source = f"const N = {MAX_CONSTANT_INTEGER}\nparam big = N\n" + _loss("x / big")
    assert torch.allclose(_loss_value(source, x=_x()), _x().sum() / MAX_CONSTANT_INTEGER)


def test_integer_one_past_the_bound_is_refused(tmp_path):
    _refused(f"const N = {MAX_CONSTANT_INTEGER + 1}\n" + _loss("x"), "constant_out_of_range", tmp_path)
    _refused("const N = 2**63\n" + _loss("x"), "constant_out_of_range", tmp_path)


def test_division_by_zero_of_constants_is_undefined(tmp_path):
    _refused("const K = 2\n" + _loss("1 / (K - 2) * x"), "undefined_arithmetic", tmp_path)


def test_small_powers_still_fold():
    source = "const N = 2**10\nconst M = (-2)**3\nconst H = 0.5**1000\nparam a = N + M + H\n" + _loss("a * x")
    assert torch.allclose(_loss_value(source, x=_x()), (1024 - 8 + 0.5 ** 1000) * _x().sum())


def test_sizes_beyond_the_bound_are_refused_before_allocation(tmp_path):
    # They compiled, then failed in torch's allocator when the model was built.
    _refused(f"const K = {MAX_SIZE + 1}\nvar y: real[K]\np(y) = Normal(0, 1)\nloss = -mean(log p(y))\n",
             "size_too_large", tmp_path)
    _refused("const D = 2**16\nweight w: real[D, D]\n" + _loss("x + sum(w)"), "size_too_large", tmp_path)
    _refused(PLAIN + f"net f(x) -> real[2] = MLP({MAX_SIZE + 1})\nloss = mean(sum(f(x)))\n", "size_too_large",
             tmp_path)


def test_size_at_the_bound_is_accepted():
    model = _compiled_model(f"const K = {MAX_SIZE}\nvar y: real[K]\np(y) = Normal(0, 1)\nloss = -mean(log p(y))\n")
    assert model.vars["y"].type.shape == (MAX_SIZE,)


def test_product_of_experts_with_a_zero_constant_scale_is_an_error_not_a_crash(tmp_path):
    # 1e-400 is 0.0: folding the expert's precision 1/s^2 raised ZeroDivisionError.
    source = PLAIN + "var w: real[2]\nvar z: real[2]\np(z) = Normal(0, 1e-400)\nq(z|x) = Normal(x, 1)\n" \
        "q(z|w) = Normal(w, 1)\nq(z|x,w) propto p(z) q(z|x) q(z|w)\n" \
        "loss = mean(KL[q(z|x,w) || p(z)])\n"
    with pytest.raises(gmc.GmcError) as info:
        gmc.compile_source(source)
    assert "invalid_constant_parameter" in [d.kind for d in info.value.diagnostics]


def test_stages_run_in_the_caller_when_no_worker_thread_can_start(monkeypatch):
    from gmc.compiler import recursion

    def refuse(self):
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(recursion.threading.Thread, "start", refuse)
    x = _x()
    assert torch.allclose(_loss_value(_loss("x + x + x"), x=x), 3 * x.sum())
    assert not getattr(recursion._inside, "active", False)


def test_errors_of_a_stage_reach_the_caller_and_the_recursion_limit_is_restored():
    limit = sys.getrecursionlimit()
    with pytest.raises(gmc.GmcError):
        gmc.compile_source(_loss("-" * 1000 + "x"))
    with pytest.raises(gmc.GmcError):
        gmc.compile_source(PLAIN + "loss = mean(sum(y))\n")
    assert sys.getrecursionlimit() == limit


# ---- generated code that failed at run time (found by random expressions at the nesting limit)

def test_function_of_min_of_numbers_gets_a_tensor():
    # min(1, a) is a Python number in the generated code; relu of it raised TypeError.
    x = _x()
    got = _loss_value("param a = 0.5\n" + _loss("x + relu(min(1, a))"), x=x)
    assert torch.allclose(got, (x + 0.5).sum())


def test_min_max_clamp_align_event_axes_like_binary_operators():
    # s: real is [batch]; min(x, s) paired s's batch axis with x's event axis (RuntimeError).
    x, s = _x(), torch.tensor([0.6, 0.9, 1.2, 1.4])
    source = PLAIN + "var s: real\nloss = mean(sum(min(x, s) + max(s, x) * clamp(x, s, 1.3)))\n"
    column = s.unsqueeze(-1)
    expected = torch.minimum(x, column) + torch.maximum(column, x) * torch.minimum(torch.maximum(x, column),
                                                                                  torch.tensor(1.3))
    assert torch.allclose(_loss_value(source, x=x, s=s), expected.sum())


def test_thousands_of_errors_give_a_short_transcript():
    """10,000 bad statements, or 10,000 errors on one 40,000-character line (found by the
    mutation fuzzer: 600 MB of transcript and a hang): at most 100 errors are shown, long
    lines are cut around the caret, and the rest is counted."""
    from gmc.compiler.diagnostics import MAX_SHOWN

    syntax = "var x: real\n" + "probs=)\n" * 10_000
    with pytest.raises(gmc.GmcError) as error:
        gmc.compile_source(syntax)
    assert len(error.value.diagnostics) == 100 and error.value.diagnostics[-1].span.line == 101
    line = "p(x,z) = p(x|z)" + " p()" * 10_000
    semantic = "var x: real\nvar z: real\np(x|z) = Normal(z, 1)\np(z) = Normal(0, 1)\n" + line + "\n"
    with pytest.raises(gmc.GmcError) as error:
        gmc.compile_source(semantic)
    text = str(error.value)
    assert len(error.value.diagnostics) > MAX_SHOWN
    assert text.endswith(f"... and {len(error.value.diagnostics) - MAX_SHOWN} more errors not shown.")
    assert max(len(t) for t in text.splitlines()) < 260
    lines = text.splitlines()
    carets = [i for i, t in enumerate(lines) if t.strip() and set(t.strip()) == {"^"}]
    for i in carets[:5]:  # each caret sits under an undefined 'p()' of its cut line
        column = lines[i].index("^")
        assert lines[i - 1][column:column + 3] == "p()", (lines[i - 1], lines[i])
