"""Derived entropies and KL divergences against torch.distributions and Monte Carlo, float64.

Every pair of cases in family_cases.CASES is checked: where torch has the KL (or entropy),
to 1e-10 (relative to max(1, |value|)) on 2,000 random parameter sets; where it does not and
a closed form was derived, against a Monte-Carlo estimate of E_q[log q - log p] within 5
standard errors; where the supports differ, the derivation must say +inf.
"""
from __future__ import annotations

import pytest
import torch
import torch.distributions as D

from family_cases import CASES, evaluate
from gmc.compiler import symbolic
from gmc.compiler.symbolic.derive import generic_params

N = 2000
PAIRS = [(q, p) for q in CASES for p in CASES]


def _symbols(case, prefix, draw):
    return generic_params(case.family, frozenset(draw), prefix)


def _torch_kl(q, p):
    try:
        return D.kl_divergence(q, p)
    except NotImplementedError:
        return None


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_entropy_matches_torch(case):
    params = case.draw(N, torch.Generator().manual_seed(1))
    derived = symbolic.entropy(case.family, _symbols(case, "q", params))
    reference = case.torch_dist(params)
    assert derived is not None, f"no closed-form entropy for {case.id}"
    value = evaluate(derived.expr, {"q": params})
    if value.dim() and value.shape[-1:] == (1,):
        value = value.squeeze(-1)
    if reference is None:
        pytest.skip("torch has no reference distribution")
    torch.testing.assert_close(value.expand(N), reference.entropy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("q,p", PAIRS, ids=lambda c: c.id)
def test_kl_matches_torch_or_monte_carlo(q, p):
    g = torch.Generator().manual_seed(2)
    q_params, p_params = q.draw(N, g), p.draw(N, g)
    derived = symbolic.kl(q.family, _symbols(q, "q", q_params), p.family, _symbols(p, "p", p_params))
    q_dist, p_dist = q.torch_dist(q_params), p.torch_dist(p_params)
    reference = None if q_dist is None or p_dist is None else _torch_kl(q_dist, p_dist)
    if derived is None:
        assert reference is None, f"torch has KL[{q.id} || {p.id}] but gmc derived none"
        pytest.skip("no closed form: gmc falls back to Monte Carlo")
    value = evaluate(derived.expr, {"q": q_params, "p": p_params}).expand(N)
    if reference is not None:
        finite = torch.isfinite(reference)
        assert torch.equal(finite, torch.isfinite(value))
        torch.testing.assert_close(value[finite], reference[finite], rtol=1e-10, atol=1e-10)
        return
    if derived.expr.has(symbolic.derive.sp.oo):
        assert "+inf" in derived.note
        return
    # Monte Carlo: 20,000 draws of log q(X) - log p(X) for the first 20 parameter sets
    for i in range(20):
        qi = q.torch_dist({k: v[i] for k, v in q_params.items()})
        pi = p.torch_dist({k: v[i] for k, v in p_params.items()})
        x = qi.sample((20000,))
        ratio = qi.log_prob(x) - pi.log_prob(x)
        standard_error = ratio.std() / ratio.numel() ** 0.5
        assert abs(ratio.mean() - value[i]) <= 5 * standard_error + 1e-12


def test_numeric_parameters_keep_the_closed_form():
    """sympy distributes 1/1.5 into (X - m); the moment lookup must still see (X - m)^2."""
    m, n = symbolic.derive.sp.symbols("m n", real=True)
    floats = symbolic.kl("Normal", {"loc": m, "scale": symbolic.derive.sp.Float(1.5)},
                         "Normal", {"loc": n, "scale": symbolic.derive.sp.Float(0.5)})
    assert floats is not None
    value = evaluate(floats.expr.subs({m: 2.0, n: -1.0}), {})
    exact = D.kl_divergence(D.Normal(torch.tensor(2.0, dtype=torch.float64), 1.5),
                            D.Normal(torch.tensor(-1.0, dtype=torch.float64), 0.5))
    torch.testing.assert_close(value, exact, rtol=1e-12, atol=1e-12)
