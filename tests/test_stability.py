"""Generated log-densities and KLs at extreme parameters, against 50-digit references (mpmath).

Logits of +-800 (sigmoid underflows or rounds to 1), probabilities of 1e-12 (1 - p rounds) and
means of 1e8 (expanded squares cancel catastrophically): the generated float64 code must
stay finite and agree with the exact value to a relative 1e-9 where the value is finite.
"""
from __future__ import annotations

import mpmath as mp
import pytest
import torch

import gmc

mp.mp.dps = 50

SOURCE = """
var x: binary[1]
var h: real[1]
var g: real[1]
var a: unit[1]
var b: unit[1]
var y: real[1]
var m: real[1]
var n: real[1]
p(x|h) = Bernoulli(logits=h)
r(x|g) = Bernoulli(logits=g)
s(x|a) = Bernoulli(probs=a)
t(x|b) = Bernoulli(probs=b)
p(y|m) = Normal(m, 1.5)
r(y|n) = Normal(n, 0.5)
loss kl_logits = sum(KL[p(x|h) || r(x|g)])
loss kl_probs = sum(KL[s(x|a) || t(x|b)])
loss kl_normal = sum(KL[p(y|m) || r(y|n)])
"""


@pytest.fixture(scope="module")
def model():
    return gmc.compile_source(SOURCE, name="Extreme")().double()


def _t(value: float) -> torch.Tensor:
    return torch.tensor([[value]], dtype=torch.float64)


def _close(actual: torch.Tensor, exact) -> None:
    value = actual.item()
    assert value == value and abs(value) != float("inf"), value
    assert abs(value - float(exact)) <= 1e-9 * max(1.0, abs(float(exact))), (value, float(exact))


def _log_sigmoid(h):
    return -mp.log1p(mp.exp(-h))


@pytest.mark.parametrize("h", [-800.0, -40.0, 0.0, 40.0, 800.0])
@pytest.mark.parametrize("x", [0.0, 1.0])
def test_bernoulli_logits_log_mass(model, h, x):
    exact = _log_sigmoid(mp.mpf(h)) if x else _log_sigmoid(-mp.mpf(h))
    _close(model.log_prob("p(x|h)", x=_t(x), h=_t(h)), exact)


@pytest.mark.parametrize("p", [1e-12, 1e-6, 0.5, 1 - 1e-6])
@pytest.mark.parametrize("x", [0.0, 1.0])
def test_bernoulli_probs_log_mass(model, p, x):
    p_exact = mp.mpf(p)
    exact = mp.log(p_exact) if x else mp.log1p(-p_exact)
    _close(model.log_prob("s(x|a)", x=_t(x), a=_t(p)), exact)


def _bernoulli_kl(p, q):
    return p * (mp.log(p) - mp.log(q)) + (1 - p) * (mp.log1p(-p) - mp.log1p(-q))


@pytest.mark.parametrize("h,g", [(800.0, -800.0), (-800.0, 800.0), (-800.0, -799.0), (30.0, 31.0), (0.5, -0.25)])
def test_bernoulli_logits_kl(model, h, g):
    h, g = mp.mpf(h), mp.mpf(g)
    # in log space throughout: log p = log sigmoid(h), log(1 - p) = log sigmoid(-h)
    exact = mp.exp(_log_sigmoid(h)) * (_log_sigmoid(h) - _log_sigmoid(g)) \
        + mp.exp(_log_sigmoid(-h)) * (_log_sigmoid(-h) - _log_sigmoid(-g))
    _close(model.loss("kl_logits", h=_t(float(h)), g=_t(float(g))), exact)


@pytest.mark.parametrize("a,b", [(1e-12, 1e-10), (1e-12, 0.5), (0.3, 1e-12), (0.5, 0.5 + 1e-9)])
def test_bernoulli_probs_kl(model, a, b):
    _close(model.loss("kl_probs", a=_t(a), b=_t(b)), _bernoulli_kl(mp.mpf(a), mp.mpf(b)))


@pytest.mark.parametrize("m,n", [(1e8, 1e8 + 1), (-1e8, -1e8 + 0.25), (1e8, 1e8)])
def test_normal_kl_at_large_means(model, m, n):
    sq, sp_ = mp.mpf(1.5), mp.mpf(0.5)
    exact = mp.log(sp_ / sq) + (sq ** 2 + (mp.mpf(m) - mp.mpf(n)) ** 2) / (2 * sp_ ** 2) - mp.mpf(1) / 2
    _close(model.loss("kl_normal", m=_t(m), n=_t(n)), exact)


@pytest.mark.parametrize("y,m", [(1e8 + 0.5, 1e8), (-1e8, -1e8 - 3.0)])
def test_normal_log_density_at_large_means(model, y, m):
    exact = -((mp.mpf(y) - mp.mpf(m)) / mp.mpf(1.5)) ** 2 / 2 - mp.log(mp.mpf(1.5)) - mp.log(2 * mp.pi) / 2
    _close(model.log_prob("p(y|m)", y=_t(y), m=_t(m)), exact)
