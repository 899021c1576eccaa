"""Hardening of numerics: constants written in the source fold as robustly as the tensor path,
generated code runs for every program `gmc check` accepts, and extreme values stay finite.

References are float64 torch.distributions and 50-digit mpmath.
"""
from __future__ import annotations

import math

import mpmath as mp
import pytest
import sympy as sp
import torch
from torch import distributions as D

import gmc
from gmc.compiler import driver
from gmc.compiler.symbolic.constants import UndefinedConstant
from gmc.compiler.symbolic.printer import to_torch
from gmc.runtime.errors import DataError

mp.mp.dps = 50


def _model(source: str):
    return gmc.compile_source(source, name="Hard")().double()


def _t(*values) -> torch.Tensor:
    return torch.tensor([[v] for v in values], dtype=torch.float64)


def _close(actual: torch.Tensor, expected, rel: float = 1e-9) -> None:
    actual = torch.as_tensor(actual, dtype=torch.float64).reshape(-1)
    expected = torch.as_tensor(expected, dtype=torch.float64).reshape(-1)
    assert torch.isfinite(actual).all(), actual
    assert torch.allclose(actual, expected, rtol=rel, atol=rel), (actual, expected)


# ---- constants written in the source ---------------------------------------------------

@pytest.mark.parametrize("h", [-800.0, -710.0, -40.0, 0.5, 40.0, 710.0, 800.0])
def test_constant_bernoulli_logits_any_size(h):
    model = _model(f"var x: binary[1]\np(x) = Bernoulli(logits={h})\nloss l = -mean(log p(x))\n")
    x = _t(0.0, 1.0)
    exact = [-mp.log1p(mp.exp(mp.mpf(h))), -mp.log1p(mp.exp(-mp.mpf(h)))]
    _close(model.log_prob("p(x)", x=x), [float(e) for e in exact])
    assert torch.isfinite(model.loss(x=x))
    drawn = model.sample("p(x)", n=64)["x"]
    assert set(drawn.unique().tolist()) <= {0.0, 1.0}


def test_constant_bernoulli_kl():
    model = _model("var x: binary[1]\np(x) = Bernoulli(probs=0.3)\nq(x) = Bernoulli(probs=0.6)\n"
                   "r(x) = Bernoulli(logits=2.0)\nloss k = sum(KL[q(x) || p(x)])\nloss k2 = sum(KL[r(x) || p(x)])\n")
    p = D.Bernoulli(probs=torch.tensor(0.3, dtype=torch.float64))
    _close(model.loss("k"), D.kl_divergence(D.Bernoulli(probs=torch.tensor(0.6, dtype=torch.float64)), p))
    _close(model.loss("k2"), D.kl_divergence(D.Bernoulli(logits=torch.tensor(2.0, dtype=torch.float64)), p))


def test_gamma_and_beta_with_large_constants():
    model = _model("var z: positive[1]\nvar u: unit[1]\np(z) = Gamma(10000.0, 2.0)\nq(z) = Gamma(3.0, 2.0)\n"
                   "p(u) = Beta(1000.0, 1000.0)\nq(u) = Beta(3.0, 2.0)\n"
                   "loss k = sum(KL[q(z) || p(z)])\nloss kb = sum(KL[q(u) || p(u)])\nloss kb2 = sum(KL[p(u) || q(u)])\n")
    f64 = torch.float64
    gamma_p = D.Gamma(torch.tensor(10000.0, dtype=f64), torch.tensor(2.0, dtype=f64))
    z = _t(4000.0, 5000.0)
    _close(model.log_prob("p(z)", z=z), gamma_p.log_prob(z).squeeze(-1))
    _close(model.loss("k"), D.kl_divergence(D.Gamma(torch.tensor(3.0, dtype=f64), torch.tensor(2.0, dtype=f64)),
                                            gamma_p), rel=1e-8)
    beta_p = D.Beta(torch.tensor(1000.0, dtype=f64), torch.tensor(1000.0, dtype=f64))
    beta_q = D.Beta(torch.tensor(3.0, dtype=f64), torch.tensor(2.0, dtype=f64))
    u = _t(0.49, 0.5)
    _close(model.log_prob("p(u)", u=u), beta_p.log_prob(u).squeeze(-1))
    _close(model.loss("kb"), D.kl_divergence(beta_q, beta_p), rel=1e-8)
    _close(model.loss("kb2"), D.kl_divergence(beta_p, beta_q), rel=1e-8)


@pytest.mark.parametrize("df", [340.0, 1e6, 1e30])
def test_student_t_with_large_degrees_of_freedom(df):
    model = _model(f"var y: real[1]\np(y) = StudentT(df={df})\nloss l = -mean(log p(y))\n")
    y = _t(-1.5, 0.0, 2.0)
    exact = [float(mp.loggamma((mp.mpf(df) + 1) / 2) - mp.loggamma(mp.mpf(df) / 2) - mp.log(mp.mpf(df) * mp.pi) / 2
                   - (mp.mpf(df) + 1) / 2 * mp.log1p(mp.mpf(v) ** 2 / mp.mpf(df))) for v in (-1.5, 0.0, 2.0)]
    _close(model.log_prob("p(y)", y=y), exact, rel=1e-8)


def test_large_constants_print_as_floats():
    source = driver.python_source(driver.compile_model("var y: real[1]\np(y) = Normal(1e30, 2.0)\n"
                                                       "loss l = -mean(log p(y))\n"))
    assert "1000000000000000019884624838656" not in source and "1e+30" in source
    model = _model("var y: real[1]\np(y) = Normal(1e30, 2.0)\nloss l = -mean(log p(y))\n")
    y = _t(1e30, 1.00000001e30)
    reference = D.Normal(torch.tensor(1e30, dtype=torch.float64), torch.tensor(2.0, dtype=torch.float64))
    _close(model.log_prob("p(y)", y=y), reference.log_prob(y).squeeze(-1))


def test_constants_that_cancel_are_folded_exactly():
    y = sp.Symbol("y")
    code = to_torch(sp.loggamma(sp.Rational(1000001, 2), evaluate=False) - sp.loggamma(500000, evaluate=False) + y)
    exact = mp.loggamma(mp.mpf(1000001) / 2) - mp.loggamma(500000)
    assert "lgamma" not in code, code  # math.lgamma(500000.5) - math.lgamma(500000) loses 6 digits
    assert eval(code, {"y": 0.0}) == float(exact), code


def test_undefined_constants_never_print():
    with pytest.raises(UndefinedConstant):
        to_torch(sp.log(sp.Integer(0)) + sp.Symbol("y"))
    with pytest.raises(UndefinedConstant):
        to_torch(sp.log(sp.Integer(-2)) + sp.Symbol("y"))


def test_undefined_constant_is_located(monkeypatch):
    """An undefined constant that reaches code generation is a located error, not a NameError."""
    from gmc.compiler.codegen import emitter

    def undefined(*args, **kwargs):
        raise UndefinedConstant(sp.zoo)

    monkeypatch.setattr(emitter.symbolic, "log_density_code", undefined)
    model = driver.compile_model("var y: real[1]\n\np(y) = Normal(0, 1)\nloss l = -mean(log p(y))\n")
    with pytest.raises(gmc.GmcError) as error:
        driver.python_source(model)
    [d] = error.value.diagnostics
    assert d.kind == "undefined_constant" and d.span.line == 3 and "division by zero" in d.message


@pytest.mark.parametrize("params,kind", [("Uniform(1.0, 1.0 + 0.0)", "empty_interval"),
                                         ("Normal((-1.0) ** 0.5, 1)", "undefined_arithmetic"),
                                         ("Normal(1.0 / 0.0, 1)", "undefined_arithmetic"),
                                         ("Normal(0, 1.0 - 1.0)", "invalid_constant_parameter")])
def test_undefined_constant_arithmetic_is_a_check_error(params, kind):
    """Arithmetic of numbers is folded and checked before code generation: no math domain
    error at run time, and nothing the checker accepts fails later."""
    with pytest.raises(gmc.GmcError) as error:
        driver.compile_model(f"var y: real[1]\np(y) = {params}\nloss l = -mean(log p(y))\n")
    assert [(d.kind, d.span.line) for d in error.value.diagnostics] == [(kind, 2)]


def test_constant_arithmetic_parameters_fold():
    model = _model("var y: real[1]\np(y) = Normal(1.0 / 3.0, 2 ** -0.5)\nloss l = -mean(log p(y))\n")
    y = _t(-1.0, 0.5)
    reference = D.Normal(torch.tensor(1 / 3, dtype=torch.float64), torch.tensor(2 ** -0.5, dtype=torch.float64))
    _close(model.log_prob("p(y)", y=y), reference.log_prob(y).squeeze(-1))


def test_uniform_with_empty_interval_is_a_check_error():
    with pytest.raises(gmc.GmcError) as error:
        driver.compile_model("var y: real[1]\np(y) = Uniform(1.0, 1.0)\nloss l = -mean(log p(y))\n")
    assert [d.kind for d in error.value.diagnostics] == ["empty_interval"]


@pytest.mark.parametrize("probs,ok", [("0.5", False), ("0.3333333333333333", True), ("1.0", False)])
def test_constant_categorical_probs_must_be_one_over_k(probs, ok):
    source = f"var c: categorical[3]\np(c) = Categorical(probs={probs})\nloss l = -mean(log p(c))\n"
    if not ok:
        with pytest.raises(gmc.GmcError) as error:
            driver.compile_model(source)
        assert "1/3" in error.value.diagnostics[0].message
        return
    model = _model(source)
    c = torch.eye(3, dtype=torch.float64)
    _close(model.log_prob("p(c)", c=c), [-math.log(3)] * 3)


# ---- params inside generated code ------------------------------------------------------

@pytest.mark.parametrize("a", [0.5, -800.0, 800.0])
def test_param_bernoulli_logits_in_a_conditional_factor(a):
    model = _model("param a = 0.5\nvar x: binary[1]\nvar y: binary[1]\np(x|y) = Bernoulli(logits=a)\n"
                   "loss l = -mean(log p(x|y))\n")
    x, y = _t(0.0, 1.0), _t(1.0, 0.0)
    reference = D.Bernoulli(logits=torch.tensor(a, dtype=torch.float64)).log_prob(x).squeeze(-1)
    _close(model.log_prob("p(x|y)", x=x, y=y, a=a), reference)
    assert model.log_prob("p(x|y)", x=x, y=y, a=a).dtype == torch.float64
    drawn = model.sample("p(x|y)", y=y, a=a)["x"]
    assert drawn.shape == (2, 1) and drawn.dtype == torch.float64


def test_param_bernoulli_probs_kl():
    model = _model("param a = 0.3\nparam b = 0.6\nvar x: binary[1]\np(x) = Bernoulli(probs=a)\n"
                   "q(x) = Bernoulli(probs=b)\nloss k = sum(KL[q(x) || p(x)])\n")
    f64 = torch.float64
    expected = D.kl_divergence(D.Bernoulli(probs=torch.tensor(0.6, dtype=f64)), D.Bernoulli(probs=torch.tensor(0.3, dtype=f64)))
    _close(model.loss("k"), expected)


# ---- extreme values --------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_normal_with_tiny_scale_is_finite_at_its_mean(dtype):
    model = gmc.compile_source("var y: real[1]\nvar m: real[1]\np(y|m) = Normal(m, 1e-30)\n"
                               "loss l = -mean(log p(y|m))\n")().to(dtype)
    m = torch.tensor([[0.25], [-3.0]], dtype=dtype, requires_grad=True)
    got = model.log_prob("p(y|m)", y=m.detach().clone(), m=m)
    exact = float(-mp.log(mp.mpf("1e-30")) - mp.log(2 * mp.pi) / 2)
    assert torch.allclose(got.detach().double(), torch.full((2,), exact, dtype=torch.float64), rtol=1e-6)
    got.sum().backward()
    assert torch.equal(m.grad, torch.zeros_like(m))  # the density's peak: d/dm = (y - m)/s^2 = 0


# ---- API misuse ------------------------------------------------------------------------

VAE_LIKE = "var x: real[2]\nvar m: real[2]\np(x|m) = Normal(m, 1)\nloss l = -mean(log p(x|m))\n"


def test_empty_batch_is_a_data_error():
    model = gmc.compile_source(VAE_LIKE)()
    with pytest.raises(DataError, match="empty batch"):
        model.loss(x=torch.zeros(0, 2), m=torch.zeros(0, 2))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_is_a_data_error(dtype):
    model = gmc.compile_source(VAE_LIKE)()
    with pytest.raises(DataError, match="'x' is a .*float32 or float64"):
        model.loss(x=torch.zeros(3, 2, dtype=dtype), m=torch.zeros(3, 2))


# ---- logits of -inf (impossible categories) --------------------------------------------

CATEGORICAL = """var c: categorical[3]
var k: count[3]
var h: real[3]
var g: real[3]
q(c|h) = Categorical(logits=h)
r(c|g) = Categorical(logits=g)
m(k|h) = Multinomial(4, logits=h)
loss kl = mean(KL[q(c|h) || r(c|g)])
"""
NEG_INF = -math.inf


@pytest.mark.parametrize("logits", [[0.0, NEG_INF, 1.0], [NEG_INF, NEG_INF, 2.0], [0.3, -0.2, 1.5]])
def test_categorical_mass_with_minus_inf_logits(logits):
    model = _model(CATEGORICAL)
    h = torch.tensor([logits] * 3, dtype=torch.float64)
    c = torch.eye(3, dtype=torch.float64)
    got = model.log_prob("q(c|h)", c=c, h=h)
    expected = D.OneHotCategorical(logits=h).log_prob(c)
    assert torch.equal(torch.isinf(got), torch.isinf(expected)) and not torch.isnan(got).any()
    finite = torch.isfinite(expected)
    _close(got[finite], expected[finite])
    counts = torch.tensor([[4.0, 0.0, 0.0], [2.0, 0.0, 2.0]], dtype=torch.float64)
    got = model.log_prob("m(k|h)", k=counts, h=h[:2])
    expected = D.Multinomial(4, logits=h[:2]).log_prob(counts)
    assert not torch.isnan(got).any()
    assert torch.allclose(got, expected, rtol=1e-9, atol=1e-9) or torch.equal(got, expected)


def test_categorical_kl_with_minus_inf_logits():
    model = _model(CATEGORICAL)
    h = torch.tensor([[0.0, NEG_INF, 1.0]], dtype=torch.float64, requires_grad=True)
    same = model.loss("kl", h=h, g=h)
    assert same.item() == 0.0
    same.backward()
    assert torch.isfinite(h.grad).all()
    g = torch.tensor([[0.5, 2.0, NEG_INF]], dtype=torch.float64)
    finite_g = torch.tensor([[0.5, 2.0, -1.0]], dtype=torch.float64)
    for q_logits, p_logits in ((h, g), (g, h), (h, finite_g)):
        expected = D.kl_divergence(D.Categorical(logits=q_logits), D.Categorical(logits=p_logits))
        got = model.loss("kl", h=q_logits, g=p_logits)
        assert got.item() == expected.item() or abs(got.item() - expected.item()) <= 1e-12, (got, expected)


def test_xmul_gradients():
    from gmc.runtime.stable import xmul

    x = torch.tensor([0.0, 0.25, 1.0], dtype=torch.float64, requires_grad=True)
    h = torch.tensor([NEG_INF, 2.0, -3.0], dtype=torch.float64, requires_grad=True)
    (xmul(x, h).sum()).backward()
    assert x.grad.tolist() == [0.0, 2.0, -3.0] and h.grad.tolist() == [0.0, 0.25, 1.0]
    finite = torch.tensor([0.5, -1.0, 3.0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(xmul, (x.detach().requires_grad_(), finite))
