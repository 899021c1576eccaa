"""Gradient estimators against exact gradients by enumeration, in float64.

A tiny model with a Bernoulli latent z (binary[2], 4 states) and a Gaussian observation lets
every expectation be computed exactly by summing over z; autograd of that sum is the exact
gradient. The generated score-function (REINFORCE) and VIMCO estimators must match it within
4 standard errors over many independent draws, and baselines must lower the variance.
"""
import itertools
import math

import pytest
import torch

import gmc
from gmc.compiler import driver

torch.set_num_threads(1)

DISCRETE = """
var x: real[1]
var z: binary[2]
weight W: real[2] = 0.0
weight V: real[2, 1] = 0.0
q(z) = Bernoulli(logits=W)
p(z) = Bernoulli(probs=0.5)
p(x|z) = Normal(loc=z @ V, scale=1)
p(x,z) = p(x|z) p(z)
loss plain = -mean(E_{q(z), baseline=none}[log p(x|z)])
loss average = -mean(E_{q(z)}[log p(x|z)])
loss learned = -mean(E_{q(z), baseline=learned}[log p(x|z)])
loss vimco = -mean(iwae(p(x,z), q(z), k=3))
loss iw_reinforce = -mean(iwae(p(x,z), q(z), k=3, estimator=reinforce, baseline=none))
loss kl = mean(KL[q(z) || p(z)])
"""
W0 = torch.tensor([0.4, -0.7], dtype=torch.float64)
V0 = torch.tensor([[1.5], [-0.8]], dtype=torch.float64)
X0 = 2.5  # far from every z @ V, so f = log p(x|z) is large and negative: baselines matter
STATES = torch.tensor(list(itertools.product([0.0, 1.0], repeat=2)), dtype=torch.float64)


def _model():
    model = gmc.compile_source(DISCRETE, name="Discrete")().double()
    with torch.no_grad():
        model.W.copy_(W0)
        model.V.copy_(V0)
    return model


def _log_q(w, z):
    return (z * w - torch.nn.functional.softplus(w)).sum(-1)


def _log_lik(v, z):
    return torch.distributions.Normal(z @ v, 1.0).log_prob(torch.tensor([X0], dtype=torch.float64)).sum(-1)


def _exact_gradient(objective):
    """d objective(W, V) / d(W, V) at (W0, V0), by autograd of an exact enumeration."""
    w, v = W0.clone().requires_grad_(), V0.clone().requires_grad_()
    value = objective(w, v)
    gw, gv = torch.autograd.grad(value, (w, v))
    return value.detach(), torch.cat([gw, gv.flatten()])


def _draws(model, loss, repeats, batch):
    """Gradients of (the mean over ``batch`` examples of) the loss, ``repeats`` times: [repeats, 4]."""
    x = torch.full((batch, 1), X0, dtype=torch.float64)
    grads = []
    for _ in range(repeats):
        model.zero_grad()
        model.loss(loss, x=x).backward()
        grads.append(torch.cat([model.W.grad.clone(), model.V.grad.flatten().clone()]))
    return torch.stack(grads)


def _assert_unbiased(draws, exact, sigmas=4.0):
    mean = draws.mean(0)
    se = draws.std(0) / math.sqrt(len(draws))
    assert torch.all((mean - exact).abs() <= sigmas * se + 1e-9), (mean, exact, se)


def _expected_loglik(w, v):
    return -(torch.exp(_log_q(w, STATES)) * _log_lik(v, STATES)).sum()


def test_bernoulli_expectation_uses_the_score_function_in_generated_code():
    source = driver.python_source(driver.compile_model(DISCRETE))
    body = source.split("def loss_average")[1].split("def ")[0]
    assert "- log_q_z.detach())" in body and "lerp_" in body
    assert "register_buffer('baseline_average_expect_q'" in source


@pytest.mark.slow
@pytest.mark.parametrize("loss", ["plain", "average", "learned"])
def test_score_function_gradient_matches_enumeration(loss):
    torch.manual_seed(0)
    model = _model()
    model.train()
    if loss != "plain":  # let the baseline settle (the moving average and the learned net train on the draws)
        learned = [p for n, p in model.named_parameters() if n.startswith("baseline")]
        for _ in range(150):
            model.zero_grad()
            model.loss(loss, x=torch.full((16, 1), X0, dtype=torch.float64)).backward()
            with torch.no_grad():
                for p in learned:
                    if p.grad is not None:
                        p -= 0.05 * p.grad
    _, exact = _exact_gradient(_expected_loglik)
    _assert_unbiased(_draws(model, loss, 400, 8), exact)


@pytest.mark.slow
def test_baselines_lower_the_variance():
    torch.manual_seed(1)
    model = _model()
    model.train()
    x = torch.full((16, 1), X0, dtype=torch.float64)
    for _ in range(100):
        model.loss("average", x=x).backward()
    plain = _draws(model, "plain", 300, 1)[:, :2].var(0)
    average = _draws(model, "average", 300, 1)[:, :2].var(0)
    assert torch.all(average < 0.5 * plain), (average, plain)


@pytest.mark.slow
@pytest.mark.parametrize("loss", ["vimco", "iw_reinforce"])
def test_multi_sample_gradients_match_enumeration(loss):
    # E over K = 3 particles of the IWAE bound: 4^3 joint states of (z_1, z_2, z_3)
    def expected_bound(w, v):
        idx = torch.tensor(list(itertools.product(range(4), repeat=3)))
        zs = STATES[idx]  # [64, 3, 2]
        log_w = _log_lik(v, zs) + math.log(0.25) - _log_q(w, zs)
        prob = torch.exp(_log_q(w, zs).sum(-1))
        return -(prob * (torch.logsumexp(log_w, dim=1) - math.log(3))).sum()

    torch.manual_seed(2)
    model = _model()
    value, exact = _exact_gradient(expected_bound)
    draws = _draws(model, loss, 400, 8)
    _assert_unbiased(draws, exact)
    if loss == "vimco":
        reinforce = _draws(model, "iw_reinforce", 400, 8)
        assert torch.all(draws[:, :2].var(0) < reinforce[:, :2].var(0))


def test_closed_form_kl_has_the_exact_gradient():
    model = _model()
    model.loss("kl").backward()
    _, exact = _exact_gradient(lambda w, v: (torch.exp(_log_q(w, STATES)) * (_log_q(w, STATES) - 2 * math.log(0.5)))
                               .sum() + 0 * v.sum())
    assert torch.allclose(model.W.grad, exact[:2])


@pytest.mark.slow
def test_forced_reinforce_on_a_normal_latent_is_unbiased():
    source = """
var x: real[1]
var z: real[1]
weight m: real[1] = 0.3
q(z) = Normal(loc=m, scale=0.8)
p(x|z) = Normal(loc=z, scale=1)
loss sf = -mean(E_{q(z), estimator=reinforce}[log p(x|z)])
loss rp = -mean(E_{q(z)}[log p(x|z)])
"""
    text = driver.python_source(driver.compile_model(source))
    assert "z_sg = z.detach()" in text.split("def loss_sf")[1]
    torch.manual_seed(3)
    model = gmc.compile_source(source, name="Forced")().double()
    x = torch.full((8, 1), 1.0, dtype=torch.float64)
    grads = []
    for _ in range(400):
        model.zero_grad()
        model.loss("sf", x=x).backward()
        grads.append(model.m.grad.clone())
    draws = torch.stack(grads)
    # -E[log N(1; z, 1)] with z ~ N(m, 0.8^2) = const + ((1 - m)^2 + 0.64) / 2, so d/dm = m - 1
    _assert_unbiased(draws, torch.tensor([0.3 - 1.0], dtype=torch.float64))


def test_estimators_leave_the_value_of_the_loss_unchanged():
    model = _model()
    x = torch.full((6, 1), X0, dtype=torch.float64)
    values = []
    for loss in ("plain", "average", "learned"):
        torch.manual_seed(5)
        values.append(model.loss(loss, x=x).item())
    torch.manual_seed(5)
    with torch.no_grad():
        z = model.sample("q(z)", n=6)["z"]
        direct = -model.log_prob("p(x|z)", x=x, z=z).mean().item()
    assert values == pytest.approx([direct] * 3, abs=1e-12)


def test_moving_average_baseline_updates_only_in_training_with_gradients():
    model = _model()
    x = torch.full((6, 1), X0, dtype=torch.float64)
    buffer = model.baseline_average_expect_q
    model.eval()
    model.loss("average", x=x)
    assert buffer.item() == 0.0
    model.train()
    with torch.no_grad():
        model.loss("average", x=x)
    assert buffer.item() == 0.0
    torch.manual_seed(6)
    model.loss("average", x=x)
    torch.manual_seed(6)
    with torch.no_grad():
        z = model.sample("q(z)", n=6)["z"]
        f = model.log_prob("p(x|z)", x=x, z=z).mean().item()
    assert buffer.item() == pytest.approx(0.1 * f)  # b <- b + 0.1 (mean f - b), from b = 0
    assert "baseline_average_expect_q" in model.state_dict()


def test_an_integrand_with_event_dimensions_gets_per_element_score_terms():
    source = """
var x: real[3]
var z: binary[3]
net enc(x) -> real[3] = MLP(8)
q(z|x) = Bernoulli(logits=enc(x))
loss = mean(E_{q(z|x), baseline=learned}[z * x])
"""
    model = gmc.compile_source(source, name="Events")().double()
    x = torch.randn(5, 3, dtype=torch.float64)
    torch.manual_seed(7)
    value = model.loss("loss", x=x)
    value.backward()
    torch.manual_seed(7)
    z = model.sample("q(z|x)", x=x)["z"]
    assert value.item() == pytest.approx((z * x).mean().item())
    assert all(p.grad is not None for p in model.parameters())
