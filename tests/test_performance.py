"""Performance features that must not change results: compile=True, template memo, fit's direct call.

Timings themselves live in benchmarks/ (never in tests); here we check the fast paths compute
the same numbers as the slow ones.
"""
from __future__ import annotations

import math
import sys
import warnings
from pathlib import Path

import pytest
import sympy as sp
import torch

import gmc
from gmc.compiler.symbolic import registry
from gmc.compiler.symbolic.functions import Scalar
from gmc.compiler.symbolic import printer
from gmc.compiler.symbolic.printer import to_torch
from gmc.runtime.compiled import CompileFallbackWarning

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from chain import chain_gm, joint_signature  # noqa: E402

VAE = """
var x: binary[6]
var z: real[2]
net enc(x) -> (loc: real[2], scale: positive[2]) = MLP(8)
net dec(z) -> real[6] = MLP(8)
q(z|x) = Normal(loc=enc(x).loc, scale=enc(x).scale)
p(x|z) = Bernoulli(logits=dec(z))
p(z) = Normal(0, 1)
loss = mean(KL[q(z|x) || p(z)] - E_{q(z|x)}[log p(x|z)])
"""


@pytest.fixture(scope="module")
def vae_class():
    return gmc.compile_source(VAE, name="Tiny")


def _same_loss(model_a, model_b, x):
    torch.manual_seed(3)
    a = model_a.loss_loss(x)
    torch.manual_seed(3)
    b = model_b.loss_loss(x)
    return a, b


def test_compile_falls_back_with_a_warning_when_torch_compile_refuses(vae_class, monkeypatch):
    def refuse(fn, **kw):
        raise RuntimeError("no compiler here")
    monkeypatch.setattr(torch, "compile", refuse)
    torch.manual_seed(0)
    eager = vae_class()
    with pytest.warns(CompileFallbackWarning, match="no compiler here"):
        compiled = vae_class(compile=True)
    compiled.load_state_dict(eager.state_dict())
    x = torch.bernoulli(torch.full((5, 6), 0.5))
    a, b = _same_loss(eager, compiled, x)
    assert torch.equal(a, b)


def test_compile_falls_back_when_the_compiled_call_fails(vae_class, monkeypatch):
    def broken(fn, **kw):
        def call(*args, **kwargs):
            raise RuntimeError("inductor: C++ compile failed")
        return call
    monkeypatch.setattr(torch, "compile", broken)
    torch.manual_seed(0)
    eager, compiled = vae_class(), vae_class(compile=True)
    compiled.load_state_dict(eager.state_dict())
    x = torch.bernoulli(torch.full((5, 6), 0.5))
    with pytest.warns(CompileFallbackWarning, match="C\\+\\+ compile failed"):
        a, b = _same_loss(eager, compiled, x)
    assert torch.equal(a, b)
    with warnings.catch_warnings():  # warned once; later calls are plain eager
        warnings.simplefilter("error")
        compiled.loss("loss", x=x)


def test_compile_keeps_genuine_errors(vae_class, monkeypatch):
    monkeypatch.setattr(torch, "compile", lambda fn, **kw: fn)
    model = vae_class(compile=True)
    with pytest.raises(RuntimeError, match="shapes"), pytest.warns(CompileFallbackWarning):
        model.loss_loss(torch.zeros(5, 7))  # wrong width: fails eagerly too


def test_default_construction_does_not_compile(vae_class, monkeypatch):
    monkeypatch.setattr(torch, "compile", lambda fn, **kw: pytest.fail("compiled without compile=True"))
    model = vae_class()
    assert "loss_loss" not in vars(model)


@pytest.mark.slow
def test_compiled_loss_equals_eager(vae_class, monkeypatch):
    # Dynamo traces the generated method for real; the 'eager' backend keeps the test fast
    # (inductor's C++ build takes minutes on a shared CPU; benchmarks/ times that path).
    real = torch.compile
    monkeypatch.setattr(torch, "compile", lambda fn, **kw: real(fn, backend="eager"))
    torch.manual_seed(0)
    eager, compiled = vae_class(), vae_class(compile=True)
    compiled.load_state_dict(eager.state_dict())
    x = torch.bernoulli(torch.full((5, 6), 0.5))
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompileFallbackWarning)
        a, b = _same_loss(eager, compiled, x)
        b.backward()
    assert torch.allclose(a, b, rtol=1e-6, atol=1e-6)


# ---- template memo: identical output to direct sympy work ----------------------------------

def _names():
    # Names that sort in different orders relative to each other and to "x".
    return [("a_loc", "zz_scale", "x"), ("zz", "b", "x"), ("x_loc", "x_scale", "x")]


@pytest.mark.parametrize("loc,scale,value", _names())
def test_memoized_normal_density_prints_as_direct_work(loc, scale, value):
    params = {"loc": sp.Symbol(loc), "scale": sp.Symbol(scale)}
    expr, _ = registry.log_density("Normal", sp.Symbol(value), params)
    direct = registry.FORMULAS["Normal"].log_density.build(sp.Symbol(value), params)
    assert to_torch(expr) == to_torch.__wrapped__(direct)
    assert sp.simplify(expr - direct) == 0


def test_memo_keeps_scalar_params_as_math():
    params = {"loc": Scalar("mu"), "scale": sp.Integer(2)}
    expr, _ = registry.log_density("Normal", sp.Symbol("x"), params)
    assert to_torch(expr) == to_torch.__wrapped__(registry.FORMULAS["Normal"].log_density.build(sp.Symbol("x"), params))
    assert to_torch(sp.log(Scalar("s"))) == "math.log(s)"
    assert to_torch(sp.log(sp.Symbol("s"))) == "torch.log(s)"


def test_memoized_log_density_matches_direct():
    for names in (("x", "m1", "s1"), ("z", "a", "b")):
        value = sp.Symbol(names[0])
        params = {"loc": sp.Symbol(names[1]), "scale": sp.Symbol(names[2], positive=True)}
        expr, _ = registry.log_density("Normal", value, params)
        direct = registry.FORMULAS["Normal"].log_density.build(value, params)
        assert to_torch(expr) == to_torch.__wrapped__(direct)


def test_terms_sharing_a_power_of_two_coefficient_print_grouped():
    a, b, c = sp.symbols("a b c")
    expr = a**2 / 2 + b**2 / 2 - sp.log(b) - sp.Rational(1, 2) - c / 3 - a * b / 3
    code = to_torch(expr)
    assert "0.5*(a**2 + b**2)" in code  # one scaling for the pair, a multiplication
    assert "/2" not in code.replace("- 1/2", "") and code.count("0.5*") == 1
    assert code.count("/3") == 2  # 1/3 is not exact in binary: left as it was
    g = torch.Generator().manual_seed(0)
    env = {"a": torch.randn(1000, generator=g, dtype=torch.float64),
           "b": torch.rand(1000, generator=g, dtype=torch.float64) + 0.1,
           "c": torch.randn(1000, generator=g, dtype=torch.float64), "torch": torch, "math": math}
    reference = eval(printer.TorchPrinter().doprint(printer.fold_floats(expr)), env)
    # each group is exact; only the order of the sum's additions may differ (a few ulp)
    torch.testing.assert_close(eval(code, env), reference, rtol=1e-15, atol=1e-15)
    pair = printer.group_scaled_terms(a**2 / 2 + b**2 / 2)
    assert torch.equal(eval(printer.TorchPrinter().doprint(pair), env), env["a"]**2 / 2 + env["b"]**2 / 2)


def test_grouping_leaves_single_and_constant_terms_alone():
    x, y = sp.symbols("x y")
    assert to_torch(x / 2 - y / 4 + sp.Rational(1, 2)) == printer.TorchPrinter().doprint(x / 2 - y / 4 + sp.Rational(1, 2))
    assert to_torch(-x**2 / 2 - y**2 / 2) == "-0.5*(x**2 + y**2)"


# ---- the chain benchmark model: right numbers, straight from the generated module ---------

def test_chain_log_density_matches_reference_in_float64():
    n = 30
    cls = gmc.compile_source(chain_gm(n))
    model = cls().double()
    x = torch.randn(7, n, dtype=torch.float64).cumsum(1)
    values = {f"x{i}": x[:, i] for i in range(n)}
    got = model.log_prob(joint_signature(n), **values)
    ref = torch.distributions.Normal(torch.zeros(()), 1.0).log_prob(x[:, 0]).double()
    for i in range(1, n):
        ref = ref + torch.distributions.Normal(x[:, i - 1], 1.0).log_prob(x[:, i])
    assert torch.allclose(got, ref, rtol=1e-12, atol=1e-12)
    assert math.isclose(float(model.loss(x0=x[:, 0], **{k: v for k, v in values.items() if k != "x0"})),
                        float(-ref.mean()), rel_tol=1e-12)


def test_chain_product_cycle_still_detected():
    text = chain_gm(5).replace("p(x0) = Normal(0, 1)", "p(x0|x4) = Normal(x4, 1)").replace("p(x0)", "p(x0|x4)")
    with pytest.raises(gmc.GmcError, match="(?i)cycl|recurs"):
        gmc.compile_source(text)


# ---- fit calls the generated method, validating once ---------------------------------------

def test_fit_calls_the_generated_method_not_the_api(vae_class, monkeypatch):
    from gmc.runtime.train import fit

    model = vae_class()
    x = torch.bernoulli(torch.full((40, 6), 0.5))
    monkeypatch.setattr(type(model), "loss", lambda *a, **k: pytest.fail("per-step API call"))
    hist = fit(model, "loss", {"x": x[:30]}, {"x": x[30:]}, epochs=2, batch_size=8, progress=False, log=None)
    assert len(hist.test_loss) == 2 and all(math.isfinite(v) for v in hist.train_loss)


def test_fit_still_validates_data_up_front(vae_class):
    from gmc.runtime.errors import DataError
    from gmc.runtime.train import fit

    with pytest.raises(DataError, match="expected a tensor of shape"):
        fit(vae_class(), "loss", {"x": torch.zeros(10, 5)}, {"x": torch.zeros(4, 5)}, epochs=1, progress=False, log=None)


def test_train_cli_accepts_compile_flag():
    from gmc.cli import _parser

    args = _parser().parse_args(["train", "m.gm", "--data", "digits", "--compile"])
    assert args.compile is True
    assert _parser().parse_args(["train", "m.gm", "--data", "digits"]).compile is False


def test_stacked_group_matches_per_factor_densities_for_vector_events():
    # Ten observations y_i ~ Normal(x, 2) of one real[3] variable x: a plate of identical factors.
    n = 10
    lines = ["var x: real[3]"] + [f"var y{i}: real[3]" for i in range(n)] + ["p(x) = Normal(0, 1)"]
    lines += [f"p(y{i}|x) = Normal(x, 2)" for i in range(n)]
    ys = ",".join(f"y{i}" for i in range(n))
    lines += [f"p(x,{ys}) = " + " ".join([f"p(y{i}|x)" for i in range(n)] + ["p(x)"]),
              f"loss = -mean(log p(x,{ys}))"]
    from gmc.compiler import driver

    text = "\n".join(lines) + "\n"
    assert "torch.stack((y0, y1," in driver.python_source(driver.compile_model(text))
    cls = gmc.compile_source(text)
    model = cls().double()
    x = torch.randn(5, 3, dtype=torch.float64)
    y = {f"y{i}": x + 2 * torch.randn(5, 3, dtype=torch.float64) for i in range(n)}
    got = model.log_prob(f"p(x,{ys})", x=x, **y)
    ref = torch.distributions.Normal(0.0, 1.0).log_prob(x).sum(-1)
    for v in y.values():
        ref = ref + torch.distributions.Normal(x, 2.0).log_prob(v).sum(-1)
    assert torch.allclose(got, ref, rtol=1e-12, atol=1e-12)


def test_compile_reaches_subclasses_of_generated_models(vae_class, monkeypatch):
    calls = []
    monkeypatch.setattr(torch, "compile", lambda fn, **kw: calls.append(fn) or fn)

    class Plain(vae_class):
        pass

    class WithInit(vae_class):
        def __init__(self, **kw):
            super().__init__(**kw)

    Plain(compile=True)
    WithInit(compile=True)
    WithInit()
    assert len(calls) == 2


def test_broadcast_parameters_are_not_stacked():
    # y_i: real[3] with a scalar loc variable m only broadcasts: stacking would misalign it.
    from gmc.compiler import driver

    n = 9
    lines = ["var m: real"] + [f"var y{i}: real[3]" for i in range(n)] + ["p(m) = Normal(0, 1)"]
    lines += [f"p(y{i}|m) = Normal(m, 1)" for i in range(n)]
    ys = ",".join(f"y{i}" for i in range(n))
    lines += [f"p(m,{ys}) = " + " ".join([f"p(y{i}|m)" for i in range(n)] + ["p(m)"]),
              f"loss = -mean(log p(m,{ys}))"]
    source = driver.python_source(driver.compile_model("\n".join(lines) + "\n"))
    assert "torch.stack" not in source


def test_fit_uses_an_adam_that_matches_the_reference_update():
    """fit's optimizer (torch's fused Adam where available) runs the same update rule as the
    default Adam: 200 steps with identical float64 gradients agree to 1e-12."""
    from gmc.runtime.train import adam

    generator = torch.Generator().manual_seed(0)
    start = torch.randn(50, 20, dtype=torch.float64, generator=generator)
    ours, reference = torch.nn.Parameter(start.clone()), torch.nn.Parameter(start.clone())
    optimizer, reference_optimizer = adam([ours], 1e-2), torch.optim.Adam([reference], lr=1e-2)
    for _ in range(200):
        grad = torch.randn(50, 20, dtype=torch.float64, generator=generator)
        ours.grad, reference.grad = grad.clone(), grad.clone()
        optimizer.step()
        reference_optimizer.step()
    assert optimizer.defaults.get("fused")
    assert torch.allclose(ours, reference, rtol=0, atol=1e-12)
    assert not torch.equal(ours, start)


def test_adam_falls_back_for_parameters_the_fused_kernel_cannot_take():
    from gmc.runtime.train import adam

    parameters = [torch.nn.Parameter(torch.zeros(3)), torch.nn.Parameter(torch.zeros(3, device="meta"))]
    assert not adam(parameters, 1e-3).defaults.get("fused")
