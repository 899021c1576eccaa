"""Every transform's log-determinant against slogdet of its autograd Jacobian (float64, 1e-9),
and every inverse round trip (1e-9): runtime layers (planar, radial, coupling, MAF, IAF,
permutation) and the element-wise transforms derived by sympy (compiled from their printed code)."""
from __future__ import annotations

import math

import mpmath
import pytest
import torch

from gmc.compiler.transforms import symbolic
from gmc.runtime import flows

D = 5
TOL = 1e-9


def _randomize(module: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Non-trivial parameters: the conditioners start at zero (the identity), which would test nothing."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.7)
    return module


LAYERS = {
    "planar": lambda: flows.Planar(D),
    "radial": lambda: flows.Radial(D),
    "coupling_alternate": lambda: flows.AffineCoupling(D, flows.split_mask(D, "alternate"), (16, 16)),
    "coupling_half_last": lambda: flows.AffineCoupling(D, flows.split_mask(D, "half_last", 2), (16,)),
    "maf": lambda: flows.MAF(D, (16, 16)),
    "iaf": lambda: flows.IAF(D, (16, 16)),
    "permutation": lambda: flows.Permutation(D),
    "permutation_given": lambda: flows.Permutation(D, [2, 0, 4, 1, 3]),
}


def _jacobian_log_det(fn, x: torch.Tensor) -> torch.Tensor:
    """log |det J| per row of x [n, D], from the autograd Jacobian of one row at a time."""
    out = []
    for row in x:
        jac = torch.autograd.functional.jacobian(lambda v: fn(v.unsqueeze(0))[0].squeeze(0), row)
        sign, logabs = torch.linalg.slogdet(jac)
        assert sign != 0
        out.append(logabs)
    return torch.stack(out)


@pytest.fixture(params=sorted(LAYERS))
def layer(request):
    torch.manual_seed(0)
    return _randomize(LAYERS[request.param]().double(), seed=sorted(LAYERS).index(request.param))


def test_forward_log_det_is_slogdet_of_jacobian(layer):
    x = torch.randn(6, D, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    y, log_det = layer(x)
    assert y.shape == x.shape and log_det.shape == (6,)
    torch.testing.assert_close(log_det, _jacobian_log_det(layer, x), rtol=0, atol=TOL)


def test_inverse_round_trips_and_negates_log_det(layer):
    x = torch.randn(6, D, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    y, log_det = layer(x)
    back, inverse_log_det = layer.inverse(y)
    torch.testing.assert_close(back, x, rtol=0, atol=TOL)
    torch.testing.assert_close(inverse_log_det, -log_det, rtol=0, atol=TOL)


def test_layers_broadcast_over_leading_axes(layer):
    x = torch.randn(3, 4, D, dtype=torch.float64)
    y, log_det = layer(x)
    flat_y, flat_log_det = layer(x.reshape(12, D))
    assert log_det.shape == (3, 4)
    torch.testing.assert_close(y.reshape(12, D), flat_y, rtol=0, atol=1e-12)
    torch.testing.assert_close(log_det.reshape(12), flat_log_det, rtol=0, atol=1e-12)


@pytest.mark.parametrize("kind", ["maf", "iaf"])
def test_made_jacobian_is_triangular(kind):
    layer = _randomize(LAYERS[kind]().double(), 3)
    one_pass = layer.one_pass
    jac = torch.autograd.functional.jacobian(lambda v: one_pass(v.unsqueeze(0))[0].squeeze(0),
                                             torch.randn(D, dtype=torch.float64))
    assert torch.count_nonzero(torch.triu(jac, diagonal=1)) == 0
    assert torch.all(torch.diagonal(jac) > 0)


def test_planar_constraint_keeps_it_invertible():
    layer = flows.Planar(D).double()
    with torch.no_grad():  # u pointing against w: w^T u = -50, far past the -1 the paper's bound allows
        layer.w.copy_(torch.ones(D, dtype=torch.float64))
        layer.u.copy_(-10 * torch.ones(D, dtype=torch.float64))
    assert float((layer.w @ layer.u_hat()).detach()) > -1
    _, log_det = layer(torch.randn(100, D, dtype=torch.float64))
    assert torch.isfinite(log_det).all()


def test_coupling_mask_must_split():
    with pytest.raises(ValueError):
        flows.AffineCoupling(D, torch.ones(D, dtype=torch.bool))


# ---- element-wise transforms, derived by sympy --------------------------------------------------

#: Inputs inside each transform's domain.
DOMAINS = {"Affine": (-3, 3), "Exp": (-3, 3), "Log": (0.05, 4), "Sigmoid": (-6, 6), "Logit": (0.02, 0.98),
           "Softplus": (-5, 5), "SoftplusInverse": (0.05, 5), "Tanh": (-3, 3), "Atanh": (-0.95, 0.95)}


def _compiled(expr, loc, log_scale):
    source = symbolic.code(expr, "x", "loc", "log_scale")
    return lambda x: eval(source, {"torch": torch, "math": math, "rt": __import__("gmc.runtime", fromlist=["rt"]),
                                   "F": torch.nn.functional}, {"x": x, "loc": loc, "log_scale": log_scale})


@pytest.mark.parametrize("name", sorted(symbolic.DEFINITIONS))
def test_elementwise_log_det_is_slogdet_of_jacobian(name):
    assert set(DOMAINS) == set(symbolic.DEFINITIONS)
    derived = symbolic.derive(name)
    g = torch.Generator().manual_seed(4)
    loc, log_scale = torch.randn(D, dtype=torch.float64, generator=g), torch.randn(D, dtype=torch.float64, generator=g)
    forward = _compiled(derived.forward, loc, log_scale)
    log_det = _compiled(derived.log_det, loc, log_scale)
    inverse = _compiled(derived.inverse, loc, log_scale)
    low, high = DOMAINS[name]
    x = low + (high - low) * torch.rand(6, D, dtype=torch.float64, generator=g)
    per_element = log_det(x) + torch.zeros_like(x)
    expected = _jacobian_log_det(lambda v: (forward(v), None), x)
    torch.testing.assert_close(per_element.sum(-1), expected, rtol=0, atol=TOL)
    torch.testing.assert_close(inverse(forward(x)), x, rtol=0, atol=TOL)


@pytest.mark.parametrize("name,x", [("Sigmoid", 60.0), ("Sigmoid", -60.0), ("Softplus", -60.0), ("Softplus", 60.0),
                                    ("Tanh", 30.0), ("Tanh", -30.0), ("Logit", 1e-12), ("SoftplusInverse", 1e-12),
                                    ("SoftplusInverse", 50.0)])
def test_elementwise_log_det_is_stable(name, x):
    """The derived forms stay accurate where the textbook ones are -inf (log(1 - tanh^2) at 30)."""
    derived = symbolic.derive(name)
    value = float(_compiled(derived.log_det, None, None)(torch.tensor(x, dtype=torch.float64)))
    mpmath.mp.dps = 50
    xm = mpmath.mpf(x)
    exact = {"Sigmoid": lambda: mpmath.log(mpmath.exp(-xm) / (1 + mpmath.exp(-xm)) ** 2),
             "Softplus": lambda: mpmath.log(mpmath.exp(xm) / (1 + mpmath.exp(xm))),
             "Tanh": lambda: mpmath.log(1 - mpmath.tanh(xm) ** 2),
             "Logit": lambda: -mpmath.log(xm * (1 - xm)),
             "SoftplusInverse": lambda: mpmath.log(mpmath.exp(xm) / (mpmath.exp(xm) - 1))}[name]()
    assert math.isfinite(value)
    assert abs(value - float(exact)) <= 1e-12 * max(1.0, abs(float(exact)))


def test_amortized_planar_has_slogdet_log_det_and_inverse():
    """rt.planar with one (u, w, b) per example, as an encoder gives them (Rezende & Mohamed 2015, 4.2)."""
    from gmc.runtime.flows.planar import planar_inverse

    g = torch.Generator().manual_seed(5)
    u, w = (torch.randn(6, D, dtype=torch.float64, generator=g) for _ in range(2))
    b = torch.randn(6, dtype=torch.float64, generator=g)
    z = torch.randn(6, D, dtype=torch.float64, generator=g)
    y, log_det = flows.planar(z, u, w, b)
    for i in range(6):
        jac = torch.autograd.functional.jacobian(lambda v: flows.planar(v, u[i], w[i], b[i])[0], z[i])
        assert abs(float(torch.linalg.slogdet(jac)[1] - log_det[i])) < TOL
    back, inverse_log_det = planar_inverse(y, u, w, b)
    torch.testing.assert_close(back, z, rtol=0, atol=TOL)
    torch.testing.assert_close(inverse_log_det, -log_det, rtol=0, atol=TOL)
