"""Flow log-densities against an independent flow library, zuko (dev extra), given the same
parameters, in float64 to 1e-9: an affine coupling flow (RealNVP) and a MAF. Planar layers are
in neither zuko nor nflows, so the planar flow is checked against a hand-written float64
reference: the paper's map (Rezende & Mohamed 2015, eq. 10) with its log-determinant taken
from slogdet of the autograd Jacobian, not from the closed form.

The generated model and zuko's flow share weights: each test copies the model's conditioner
weights (and MADE masks) into zuko's networks. zuko's transforms map data to noise, so the
coupling flow is compared with ``NormalizingFlow(T.inv, base)``, T the coupling transform
in gmc's sampling direction, and the MAF with zuko's own direction (MAF scores data in one pass).
"""
from __future__ import annotations

import pytest
import torch
import torch.distributions as td

import gmc

zuko = pytest.importorskip("zuko")

TOL = 1e-9
D = 5


def _model(flow: str):
    source = f"var z: real[{D}]\np(z) = Flow(Normal(0, 1), {flow})\n"
    torch.manual_seed(0)
    m = gmc.compile_source(source, name="OneFlow")().double()
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(0.5 * torch.randn_like(p))
    return m


def _base():
    return td.Independent(td.Normal(torch.zeros(D, dtype=torch.float64), torch.ones(D, dtype=torch.float64)), 1)


def _interleave(weight: torch.Tensor) -> torch.Tensor:
    """gmc's [shift block | log-scale block] rows as zuko's (shift_i, log-scale_i) pairs."""
    shift, scale = weight.chunk(2, dim=0)
    return torch.stack([shift, scale], dim=1).reshape(weight.shape)


def test_coupling_flow_matches_zuko():
    m = _model("Coupling(mask=alternate, hidden=16)")
    layer = m.flow_p_z[0]
    mask = torch.zeros(D, dtype=torch.bool)
    mask[layer.kept] = True
    lazy = zuko.flows.GeneralCouplingTransform(features=D, mask=mask, hidden_features=(16, 16)).double()
    mine = [mod for mod in layer.conditioner if isinstance(mod, torch.nn.Linear)]
    theirs = [mod for mod in lazy.hyper if hasattr(mod, "weight")]
    assert len(mine) == len(theirs) == 3
    with torch.no_grad():
        for a, b in zip(mine, theirs):
            last = a is mine[-1]
            b.weight.copy_(_interleave(a.weight) if last else a.weight)
            b.bias.copy_(_interleave(a.bias) if last else a.bias)
    flow = zuko.distributions.NormalizingFlow(lazy().inv, _base())
    z = torch.randn(9, D, dtype=torch.float64) * 1.5
    torch.testing.assert_close(m.log_prob("p(z)", z=z), flow.log_prob(z), rtol=0, atol=TOL)


def test_maf_matches_zuko():
    m = _model("MAF(hidden=16)")
    made = m.flow_p_z[0].made
    lazy = zuko.flows.MaskedAutoregressiveTransform(features=D, hidden_features=(16, 16)).double()
    theirs = [mod for mod in lazy.hyper if hasattr(mod, "weight")]
    assert len(theirs) == len(made.layers) == 3
    with torch.no_grad():
        for a, b in zip(made.layers, theirs):
            last = a is made.layers[-1]
            b.weight.copy_(_interleave(a.weight) if last else a.weight)
            b.bias.copy_(_interleave(a.bias) if last else a.bias)
            b.mask = (_interleave(a.mask) if last else a.mask).bool()
    flow = zuko.distributions.NormalizingFlow(lazy(), _base())
    x = torch.randn(9, D, dtype=torch.float64) * 1.5
    torch.testing.assert_close(m.log_prob("p(z)", z=x), flow.log_prob(x), rtol=0, atol=TOL)
    # and sampling (D passes) inverts zuko's one-pass map
    torch.manual_seed(1)
    sample = m.sample("p(z)", n=4)["z"]
    noise = lazy()(sample)
    torch.manual_seed(1)
    torch.testing.assert_close(noise, torch.randn(4, D, dtype=torch.float64), rtol=0, atol=TOL)


def test_planar_flow_matches_hand_written_reference():
    source = f"""var x: binary[3]
var z: real[{D}]
net enc(x) -> (loc: real[{D}], scale: positive[{D}]) = MLP(8)
q(z|x) = Flow(Normal(loc=enc(x).loc, scale=enc(x).scale), 3 * Planar)
loss = sum(E_{{q(z|x)}}[log q(z|x)])
"""
    torch.manual_seed(0)
    m = gmc.compile_source(source, name="P")().double()
    with torch.no_grad():
        for p in m.flow_q_z_given_x.parameters():
            p.copy_(torch.randn_like(p))
    x = torch.bernoulli(torch.full((4, 3), 0.5, dtype=torch.float64))
    torch.manual_seed(7)
    generated = m.loss("loss", x=x)
    torch.manual_seed(7)
    loc, scale = m.enc(x)
    z = loc + scale * torch.randn_like(loc)
    total = td.Normal(loc, scale).log_prob(z).sum(-1)
    for layer in m.flow_q_z_given_x:
        u, w, b = layer.u.detach(), layer.w.detach(), layer.b.detach()
        wu = w @ u
        u_hat = u + (torch.log1p(torch.exp(wu)) - 1 - wu) * w / (w @ w)  # appendix A.1
        def planar(v, u_hat=u_hat, w=w, b=b):
            return v + u_hat * torch.tanh(v @ w + b).unsqueeze(-1)
        jac_log_det = torch.stack([torch.linalg.slogdet(torch.autograd.functional.jacobian(planar, row))[1]
                                   for row in z.detach()])
        total = total - jac_log_det
        z = planar(z)
    torch.testing.assert_close(generated, total.sum(), rtol=0, atol=TOL)
