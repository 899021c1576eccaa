"""Recurrent sequences (gmc.compiler.recurrence, codegen/recurrent): a VRNN's one loop over time.

The generated ELBO, IWAE bound, log-densities and draws of examples/vrnn.gm are compared in
float64 with a direct hand-written torch computation of the same VRNN (Chung et al. 2015,
eq. 11) on the same weights and the same noise: the per-step KL by
torch.distributions.kl_divergence, the densities by torch.distributions."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from torch.distributions import Bernoulli, Normal, kl_divergence

import gmc

ROOT = Path(__file__).parent.parent
T, W, Z, H = 8, 8, 8, 64


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return gmc.compile_file(ROOT / "examples" / "vrnn.gm")().double()


def _data(batch=5, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.bernoulli(torch.full((batch, T, W), 0.4, dtype=torch.float64), generator=g)


def _reference(m, x, k=None, kl=True):
    """sum_t E_q[log p(x_t|z_t,h_{t-1})] - KL[q(z_t|x_t,h_{t-1}) || p(z_t|h_{t-1})] at one
    draw per step (kl), or sum_t log p(x_t, z_t|h_{t-1}) - log q(z_t|x_t,h_{t-1}) over k
    particles; the noise drawn in the generated code's order (one standard normal per step)."""
    batch = x.shape[:-2] if k is None else (k, *x.shape[:-2])
    h = torch.zeros(*batch, H, dtype=x.dtype)
    total = torch.zeros(batch, dtype=x.dtype)
    for t in range(T):
        xt = x[..., t, :]
        q_loc, q_scale = m.enc(xt, h)
        z = q_loc + q_scale * torch.randn_like(q_loc)
        p_loc, p_scale = m.prior(h)
        q, p = Normal(q_loc, q_scale), Normal(p_loc, p_scale)
        if kl:
            total = total - kl_divergence(q, p).sum(-1)
        else:
            total = total + p.log_prob(z).sum(-1) - q.log_prob(z).sum(-1)
        total = total + Bernoulli(logits=m.dec(z, h)).log_prob(xt).sum(-1)
        h = m.cell.cell(torch.cat([xt, z.expand(*batch, Z) if k is None else z], -1).reshape(-1, W + Z)
                        if k is None else torch.cat([xt.expand(k, *xt.shape), z], -1).reshape(-1, W + Z),
                        h.reshape(-1, H)).reshape(*batch, H)
    return total


def test_elbo_loop_equals_hand_written_vrnn(model):
    x = _data()
    torch.manual_seed(3)
    got = -model.loss("loss", x=x)
    torch.manual_seed(3)
    want = _reference(model, x).mean()
    assert abs(got.item() - want.item()) < 1e-10
    got.backward()  # reparameterized through time: every net gets a gradient
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def test_iwae_loop_equals_hand_written_vrnn(model):
    x = _data(batch=3)
    torch.manual_seed(4)
    got = -model.loss("iw", x=x)
    torch.manual_seed(4)
    w = _reference(model, x, k=50, kl=False)
    want = (torch.logsumexp(w, 0) - math.log(50)).mean()
    assert abs(got.item() - want.item()) < 1e-10


def test_log_densities_equal_hand_written(model):
    x = _data(batch=4)
    z = torch.randn(4, T, Z, dtype=torch.float64)
    h = torch.zeros(4, H, dtype=torch.float64)
    log_p = log_q = torch.zeros(4, dtype=torch.float64)
    for t in range(T):
        xt, zt = x[:, t], z[:, t]
        p_loc, p_scale = model.prior(h)
        q_loc, q_scale = model.enc(xt, h)
        log_p = log_p + Normal(p_loc, p_scale).log_prob(zt).sum(-1) + Bernoulli(logits=model.dec(zt, h)).log_prob(xt).sum(-1)
        log_q = log_q + Normal(q_loc, q_scale).log_prob(zt).sum(-1)
        h = model.cell.cell(torch.cat([xt, zt], -1), h)
    torch.testing.assert_close(model.log_prob("p(x,z)", x=x, z=z), log_p, rtol=0, atol=1e-10)
    torch.testing.assert_close(model.log_prob("q(z|x)", z=z, x=x), log_q, rtol=0, atol=1e-10)


def test_closed_form_step_kl_matches_torch_kl_divergence(model):
    """The loop's KL term: the ELBO at a fixed draw equals the Monte Carlo log-ratio form
    minus (log q - log p) plus torch's KL, step by step; checked through the whole bound."""
    x = _data(batch=6, seed=7)
    torch.manual_seed(5)
    closed = -model.loss("loss", x=x)
    torch.manual_seed(5)
    mc = _reference(model, x, kl=False).mean()
    torch.manual_seed(5)
    with_torch_kl = _reference(model, x, kl=True).mean()
    assert abs(closed.item() - with_torch_kl.item()) < 1e-10
    assert abs(closed.item() - mc.item()) > 1e-6  # the closed form is not the one-sample estimate


def test_ancestral_samples_have_sequence_shapes(model):
    draw = model.sample("p(x,z)", n=7)
    assert draw["x"].shape == (7, T, W) and draw["z"].shape == (7, T, Z)
    assert set(draw["x"].unique().tolist()) <= {0.0, 1.0}
    posterior = model.sample("q(z|x)", x=_data(batch=3))
    assert posterior["z"].shape == (3, T, Z)


LSTM = """
const T = 3
var x[T]: real[2]
var h[T]: real[6]
net cell(h, x) -> real[6] = LSTM()
weight w: real[6] = Normal(0, 1)
h[t] = cell(h[t-1], x[t])
p(x[t]|h[t-1]) = Normal(loc=sum_event(w * h[t-1]), scale=1)
p(x) = p(x[t]|h[t-1])
loss = -mean(log p(x))
"""


def test_lstm_state_is_h_and_c():
    torch.manual_seed(0)
    m = gmc.compile_source(LSTM, name="L")().double()
    x = torch.randn(4, 3, 2, dtype=torch.float64)
    h = c = torch.zeros(4, 3, dtype=torch.float64)
    want = torch.zeros(4, dtype=torch.float64)
    for t in range(3):
        loc = (m.w * torch.cat([h, c], -1)).sum(-1, keepdim=True)
        want = want + Normal(loc, 1.0).log_prob(x[:, t]).sum(-1)
        h, c = m.cell.cell(x[:, t], (h, c))
    torch.testing.assert_close(m.log_prob("p(x)", x=x), want, rtol=0, atol=1e-10)


def test_generated_module_has_one_loop_per_method_never_t_copies():
    text = gmc.to_python(ROOT / "examples" / "vrnn.gm")
    # log p(x,z), sample p(x,z), log q(z|x), sample q(z|x), the ELBO and the IWAE bound
    assert text.count("in rt.time_steps(0, 8):") == 6
    assert text.count("self.cell(") == 6


def _errors(source):
    with pytest.raises(gmc.GmcError) as error:
        gmc.compile_source(source, name="M")
    return str(error.value)


def test_elbo_needs_a_posterior_over_the_models_latents():
    model = (ROOT / "examples" / "vrnn.gm").read_text()
    wrong = model.replace("loss = -mean(elbo(p(x,z), q(z|x)))", "loss = -mean(elbo(q(z|x), p(x,z)))")
    assert "elbo(q(z|x), p(x,z)) is not supported" in _errors(wrong)


def test_an_lstm_state_has_an_even_size():
    text = LSTM.replace("real[6]", "real[5]")
    assert "cannot be an LSTM cell: its output, the next state, must be real[2*S]" in _errors(text)
