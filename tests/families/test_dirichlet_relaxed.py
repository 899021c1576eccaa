"""Dirichlet, RelaxedBernoulli (binary Concrete) and RelaxedCategorical (Gumbel-softmax).

References: torch.distributions in float64 (log-densities, means, variances, samples),
mpmath at 50 digits where torch itself overflows (logits of +-800), scipy quadrature,
torch.autograd.gradcheck of the reparameterized samplers with the noise fixed by a seed, and
the closed-form gradient of E[X] for Dirichlet's implicit reparameterization.
"""
import math

import mpmath
import pytest
import scipy.integrate
import sympy as sp
import torch
import torch.distributions as D

import gmc
from famb_helpers import assert_close_64, assert_mean_and_variance, assert_mean_within_5_se, moment
from gmc.compiler.symbolic.registry import X

K = 4
MODEL = gmc.compile_source(f"""
var a: positive[{K}]
var s: simplex[{K}]
var h: real[{K}]
var t: positive[1]
var p: simplex[{K}]
var r: unit[3]
var hb: real[3]
var tb: positive[3]
var pb: unit[3]
param tau = 0.5
p(s|a) = Dirichlet(a)
u(s) = Dirichlet(1)
c(s|h,t) = RelaxedCategorical(t, logits=h)
cp(s|p) = RelaxedCategorical(temperature=tau, probs=p)
b(r|hb,tb) = RelaxedBernoulli(tb, logits=hb)
bp(r|pb) = RelaxedBernoulli(tau, probs=pb)
loss = mean(log p(s|a))
""", name="Relaxed")


pytestmark = pytest.mark.usefixtures("float64")  # tests/conftest.py


def _gen(seed):
    return torch.Generator().manual_seed(seed)


# ---- Dirichlet ---------------------------------------------------------------------------

def test_dirichlet_log_density_matches_torch():
    a = torch.rand(2000, K, generator=_gen(0)) * 5 + 0.05
    s = D.Dirichlet(a).sample()
    model = MODEL()
    got = model.log_prob("p(s|a)", s=s, a=a)
    assert got.shape == (2000,)
    assert_close_64(got, D.Dirichlet(a).log_prob(s), atol=1e-8)
    assert_close_64(model.log_prob("u(s)", s=s), D.Dirichlet(torch.ones(K)).log_prob(s))


def test_dirichlet_samples_have_torch_mean_and_variance():
    torch.manual_seed(1)
    a = torch.tensor([0.3, 1.0, 2.5, 7.0])
    s = MODEL().sample("p(s|a)", a=a.expand(30000, K))["s"]
    assert s.shape == (30000, K)
    torch.testing.assert_close(s.sum(-1), torch.ones(30000))
    assert_mean_and_variance(s, D.Dirichlet(a).mean, D.Dirichlet(a).variance)
    uniform = MODEL().sample("u(s)", n=100)["s"]
    assert uniform.shape == (100, K) and (uniform > 0).all()


def test_dirichlet_implicit_gradient_is_unbiased():
    """d/da E[w . X]: per-sample gradients average to the gradient of w . a / sum(a)."""
    torch.manual_seed(2)
    a = torch.tensor([0.5, 1.5, 3.0, 0.8])
    w = torch.tensor([1.0, -2.0, 0.5, 3.0])
    rows = a.expand(20000, K).clone().requires_grad_()  # one copy of a per sample
    s = MODEL().sample("p(s|a)", a=rows)["s"]
    per_sample = torch.autograd.grad((s @ w).sum(), rows)[0]
    a.requires_grad_()
    exact = torch.autograd.grad((w * a / a.sum()).sum(), a)[0]
    assert_mean_within_5_se(per_sample, exact, "gradient of E[w . X]")


def test_dirichlet_moments_match_torch_and_monte_carlo():
    a = torch.rand(30, K, generator=_gen(3)) * 4 + 0.2
    torch.testing.assert_close(moment("Dirichlet", X, {"concentration": a}), D.Dirichlet(a).mean)
    mean_log = moment("Dirichlet", sp.log(X), {"concentration": a})
    torch.manual_seed(4)
    logs = torch.log(D.Dirichlet(a).sample((20000,)))
    assert_mean_within_5_se(logs, mean_log, "E[log X]")
    assert moment("Dirichlet", X, {"concentration": 2.0}) is None  # K unknown without a tensor


# ---- RelaxedCategorical ------------------------------------------------------------------

@pytest.mark.parametrize("temperature", [0.3, 1.0, 2.5])
def test_relaxed_categorical_log_density_matches_torch(temperature):
    h = torch.randn(2000, K, generator=_gen(5)) * 2
    t = torch.full((2000, 1), temperature)
    s = D.RelaxedOneHotCategorical(t[0, 0], logits=h).sample()
    got = MODEL().log_prob("c(s|h,t)", s=s, h=h, t=t)
    assert got.shape == (2000,)
    expected = D.RelaxedOneHotCategorical(t[0, 0], logits=h).log_prob(s)  # torch needs a scalar temperature
    assert_close_64(got, expected, atol=1e-9 * expected.abs().max().item())


def test_relaxed_categorical_probs_and_param_temperature_match_torch():
    p = torch.softmax(torch.randn(1000, K, generator=_gen(6)), -1)
    s = D.RelaxedOneHotCategorical(torch.tensor(0.5), probs=p).sample()
    model = MODEL()
    assert_close_64(model.log_prob("cp(s|p)", s=s, p=p), D.RelaxedOneHotCategorical(torch.tensor(0.5), probs=p).log_prob(s),
                    atol=1e-8)
    other = model.log_prob("cp(s|p)", s=s, p=p, tau=1.7)
    assert_close_64(other, D.RelaxedOneHotCategorical(torch.tensor(1.7), probs=p).log_prob(s), atol=1e-8)


def test_relaxed_categorical_extreme_logits_stay_finite():
    h = torch.randn(500, K, generator=_gen(7)) * 800
    s = torch.softmax(torch.randn(500, K, generator=_gen(8)), -1)
    t = torch.full((500, 1), 0.7)
    got = MODEL().log_prob("c(s|h,t)", s=s, h=h, t=t)
    expected = D.RelaxedOneHotCategorical(t[0, 0], logits=h).log_prob(s)  # torch needs a scalar temperature
    assert torch.isfinite(got).all()
    assert_close_64(got, expected, atol=1e-12 * expected.abs().max().item())


def test_relaxed_categorical_samples_match_torch_samples():
    torch.manual_seed(9)
    h = torch.tensor([0.5, -1.0, 2.0, 0.0])
    t = torch.tensor([0.6])
    n = 30000
    ours = MODEL().sample("c(s|h,t)", h=h.expand(n, K), t=t.expand(n, 1))["s"]
    assert ours.shape == (n, K)
    torch.testing.assert_close(ours.sum(-1), torch.ones(n))
    theirs = D.RelaxedOneHotCategorical(t, logits=h).sample((n,))
    # two independent samples: the difference of means has SE sqrt(se1^2 + se2^2)
    assert_mean_within_5_se(ours - theirs, torch.zeros(K), "difference of means")
    assert_mean_within_5_se((ours - ours.mean(0)) ** 2 - (theirs - theirs.mean(0)) ** 2, torch.zeros(K),
                            "difference of variances")


def test_relaxed_categorical_sample_gradcheck():
    model = MODEL()

    def draw(h, t):
        torch.manual_seed(10)
        return model.sample("c(s|h,t)", h=h, t=t)["s"]

    h = torch.randn(3, K, generator=_gen(11), requires_grad=True)
    t = (torch.rand(3, 1, generator=_gen(12)) + 0.5).requires_grad_()
    assert torch.autograd.gradcheck(draw, (h, t))


# ---- RelaxedBernoulli --------------------------------------------------------------------

def _binary_concrete_mp(x, h, lam):
    """log density of the binary Concrete at 50 digits, straight from Maddison et al. 2017, eq. 26."""
    with mpmath.workdps(50):
        x, h, lam = mpmath.mpf(x), mpmath.mpf(h), mpmath.mpf(lam)
        alpha = mpmath.exp(h)
        density = lam * alpha * x ** (-lam - 1) * (1 - x) ** (-lam - 1) / (alpha * x ** -lam + (1 - x) ** -lam) ** 2
        return float(mpmath.log(density))


@pytest.mark.parametrize("temperature", [0.3, 1.0, 2.5])
def test_relaxed_bernoulli_log_density_matches_torch(temperature):
    hb = torch.randn(2000, 3, generator=_gen(13)) * 2
    tb = torch.full((2000, 3), temperature)
    r = D.RelaxedBernoulli(tb, logits=hb).sample()
    got = MODEL().log_prob("b(r|hb,tb)", r=r, hb=hb, tb=tb)
    assert got.shape == (2000,)
    expected = D.RelaxedBernoulli(tb, logits=hb).log_prob(r).sum(-1)
    assert_close_64(got, expected, atol=1e-9 * expected.abs().max().item())


def test_relaxed_bernoulli_probs_matches_torch():
    pb = torch.rand(1000, 3, generator=_gen(14)) * 0.98 + 0.01
    r = D.RelaxedBernoulli(torch.tensor(0.5), probs=pb).sample()
    got = MODEL().log_prob("bp(r|pb)", r=r, pb=pb)
    assert_close_64(got, D.RelaxedBernoulli(torch.tensor(0.5), probs=pb).log_prob(r).sum(-1), atol=1e-8)


def test_relaxed_bernoulli_extreme_logits_match_high_precision():
    hb = torch.tensor([[800.0, -800.0, 35.0], [-40.0, 600.0, -799.0]])
    tb = torch.tensor([[0.5, 1.0, 2.0], [0.7, 0.1, 3.0]])
    r = torch.tensor([[0.3, 0.9, 0.01], [0.999, 0.5, 0.2]])
    got = MODEL().log_prob("b(r|hb,tb)", r=r, hb=hb, tb=tb)
    expected = torch.tensor([sum(_binary_concrete_mp(r[i, j].item(), hb[i, j].item(), tb[i, j].item())
                                 for j in range(3)) for i in range(2)])
    assert torch.isfinite(got).all()
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-9)


@pytest.mark.slow
def test_relaxed_bernoulli_sample_mean_and_variance_match_quadrature():
    torch.manual_seed(15)
    h, lam, n = 0.7, 0.8, 40000
    reference = D.RelaxedBernoulli(torch.tensor(lam), logits=torch.tensor(h))

    def density(x):
        return math.exp(reference.log_prob(torch.tensor(x)).item())

    mean = scipy.integrate.quad(lambda x: x * density(x), 0, 1, limit=200)[0]
    variance = scipy.integrate.quad(lambda x: (x - mean) ** 2 * density(x), 0, 1, limit=200)[0]
    r = MODEL().sample("b(r|hb,tb)", hb=torch.full((n, 3), h), tb=torch.full((n, 3), lam))["r"]
    assert r.shape == (n, 3) and ((r > 0) & (r < 1)).all()
    assert_mean_and_variance(r, torch.full((3,), mean), torch.full((3,), variance))


def test_relaxed_bernoulli_sample_gradcheck():
    model = MODEL()

    def draw(hb, tb):
        torch.manual_seed(16)
        return model.sample("b(r|hb,tb)", hb=hb, tb=tb)["r"]

    hb = torch.randn(2, 3, generator=_gen(17), requires_grad=True)
    tb = (torch.rand(2, 3, generator=_gen(18)) + 0.5).requires_grad_()
    assert torch.autograd.gradcheck(draw, (hb, tb))
