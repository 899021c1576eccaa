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
CHECKED = 3  # parameter sets checked by quadrature and Monte Carlo where torch has no KL
D.Distribution.set_default_validate_args(False)  # log p outside p's support is -inf, not an error
def _rank(case):
    from gmc.compiler.families import FAMILIES

    return FAMILIES[case.family].event_rank


# a KL compares two distributions over one variable, so both have the same event rank
PAIRS = [(q, p) for q in CASES for p in CASES if _rank(q) == _rank(p)]


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
    if derived is None:
        with pytest.raises(NotImplementedError):
            reference.entropy()
        pytest.skip("no closed form in gmc or torch: Monte Carlo")
    value = evaluate(derived.expr, {"q": params})
    if value.dim() and value.shape[-1:] == (1,):
        value = value.squeeze(-1)
    try:
        exact = reference.entropy()
    except NotImplementedError:  # torch has no closed form: Monte Carlo on the first 20 sets
        for i in range(20):
            qi = case.torch_dist({k: v[i] for k, v in params.items()})
            minus_log_q = -qi.log_prob(qi.sample((20000,)))
            standard_error = minus_log_q.std() / minus_log_q.numel() ** 0.5
            assert abs(minus_log_q.mean() - value.expand(N)[i]) <= 5 * standard_error
        return
    torch.testing.assert_close(value.expand(N), exact, rtol=1e-10, atol=1e-10)


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
    value = evaluate(derived.expr, {"q": q_params, "p": p_params})
    if value.dim() == 2 and value.shape[-1] == 1:  # vector families keep a size-1 event axis
        value = value.squeeze(-1)
    value = value.expand(N)
    if reference is not None:
        finite = torch.isfinite(reference)
        assert torch.equal(finite, torch.isfinite(value))
        torch.testing.assert_close(value[finite], reference[finite], rtol=1e-10, atol=1e-10)
        return
    if derived.expr == symbolic.derive.sp.oo:
        assert "+inf" in derived.note
        return
    for i in range(CHECKED):
        qi = q.torch_dist({k: v[i] for k, v in q_params.items()})
        pi = p.torch_dist({k: v[i] for k, v in p_params.items()})
        if value[i].item() == float("inf"):  # q puts mass where p has none
            assert (~pi.support.check(qi.sample((20000,)))).any()
            continue
        mean, variance = _quadrature(qi, pi) if _continuous(q) else (None, None)
        if mean is not None:
            assert abs(mean - value[i].item()) <= 1e-6 * max(1.0, abs(mean)), (i, mean, value[i].item())
        # Monte Carlo: 20,000 draws of log q(X) - log p(X), within 5 standard errors (the true
        # one from quadrature where available: heavy-tailed ratios make the sample one unreliable)
        torch.manual_seed(i)
        x = qi.sample((20000,))
        ratio = qi.log_prob(x) - pi.log_prob(x)
        spread = variance ** 0.5 if variance is not None else ratio.std().item()
        assert abs(ratio.mean().item() - value[i].item()) <= 5 * spread / ratio.numel() ** 0.5 + 1e-12


def _continuous(case) -> bool:
    from gmc.compiler.families import FAMILIES

    return FAMILIES[case.family].support in ("real", "positive", "unit") and FAMILIES[case.family].event_rank == 0


def _quadrature(q, p):
    """(E_q[log q - log p], Var_q[log q - log p]) by adaptive quadrature over q's support."""
    import numpy as np
    from scipy import integrate

    support = q.support
    low = float(getattr(support, "lower_bound", -np.inf)) if hasattr(support, "lower_bound") else -np.inf
    high = float(getattr(support, "upper_bound", np.inf)) if hasattr(support, "upper_bound") else np.inf
    if isinstance(support, D.constraints._GreaterThan) or isinstance(support, D.constraints._GreaterThanEq):
        low, high = float(support.lower_bound), np.inf

    def ratio(x):
        t = torch.tensor(x, dtype=torch.float64)
        with torch.no_grad():
            return (q.log_prob(t) - p.log_prob(t)).item(), q.log_prob(t).exp().item()

    def first(x):
        r, density = ratio(x)
        return density * r if density > 0 else 0.0

    mean = integrate.quad(first, low, high, limit=400, epsabs=1e-13, epsrel=1e-11)[0]
    second = integrate.quad(lambda x: (lambda r, d: d * (r - mean) ** 2 if d > 0 else 0.0)(*ratio(x)),
                            low, high, limit=400, epsabs=1e-13, epsrel=1e-11)[0]
    return mean, second


def test_point_masses_diverge_unless_equal():
    derived = symbolic.kl("Deterministic", generic_params("Deterministic", prefix="q"),
                          "Deterministic", generic_params("Deterministic", prefix="p"))
    value = evaluate(derived.expr, {"q": {"value": torch.tensor([1.0, 2.0], dtype=torch.float64)},
                                    "p": {"value": torch.tensor([1.0, 2.5], dtype=torch.float64)}})
    assert value.tolist() == [0.0, float("inf")]


@pytest.mark.parametrize("case", [c for c in CASES if _continuous(c)], ids=lambda c: c.id)
def test_point_mass_and_density_are_mutually_singular(case):
    """A point mass and a continuous density: KL = +inf both ways (q << p fails; Cover & Thomas
    2006, eq. 8.47), and so does CE; it was E_q[log q] = -H[q] (negative) and -log p(value)."""
    point = generic_params("Deterministic", prefix="d")
    density = generic_params(case.family, prefix="c")
    for derived in (symbolic.kl("Deterministic", point, case.family, density),
                    symbolic.kl(case.family, density, "Deterministic", point),
                    symbolic.cross_entropy("Deterministic", point, case.family, density),
                    symbolic.cross_entropy(case.family, density, "Deterministic", point)):
        assert derived is not None and derived.expr == float("inf"), derived


def test_point_mass_against_itself_is_zero_elementwise():
    """KL[Deterministic(a) || Deterministic(b)] per element: 0 where a == b, +inf elsewhere,
    including at equal infinities' neighbours and signed zeros (-0.0 == 0.0)."""
    derived = symbolic.kl("Deterministic", generic_params("Deterministic", prefix="q"),
                          "Deterministic", generic_params("Deterministic", prefix="p"))
    a = torch.tensor([[0.0, -0.0], [3.0, 1e-300]], dtype=torch.float64)
    b = torch.tensor([[0.0, 0.0], [3.0 + 1e-12, 0.0]], dtype=torch.float64)
    value = evaluate(derived.expr, {"q": {"value": a}, "p": {"value": b}})
    assert value.tolist() == [[0.0, 0.0], [float("inf"), float("inf")]]


@pytest.mark.parametrize("q,p", [(q, p) for q, p in PAIRS if q.family == p.family], ids=lambda c: c.id)
def test_cross_entropy_is_entropy_plus_kl(q, p):
    """CE[q || p] = H[q] + KL[q || p] (Cover & Thomas 2006, eq. 2.90), against torch's pieces."""
    g = torch.Generator().manual_seed(4)
    q_params, p_params = q.draw(N, g), p.draw(N, g)
    derived = symbolic.cross_entropy(q.family, _symbols(q, "q", q_params), p.family, _symbols(p, "p", p_params))
    q_dist, p_dist = q.torch_dist(q_params), p.torch_dist(p_params)
    kl = _torch_kl(q_dist, p_dist)
    try:
        reference = q_dist.entropy() + kl if kl is not None else None
    except NotImplementedError:
        reference = None
    if derived is None or reference is None:
        pytest.skip("no closed form here, or no torch reference")
    value = evaluate(derived.expr, {"q": q_params, "p": p_params})
    if value.dim() == 2 and value.shape[-1] == 1:
        value = value.squeeze(-1)
    torch.testing.assert_close(value.expand(N), reference, rtol=1e-10, atol=1e-10)
