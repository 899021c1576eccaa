"""Sequences and exact sums over discrete chains (gmc.compiler.sequences, codegen/forward_algorithm).

A hidden Markov model written with step factors compiles to the forward algorithm; its
log-likelihood and forward-backward posterior marginals are compared in float64 with hmmlearn
(the same parameters, to 1e-8) and with brute-force enumeration of every latent path."""
from __future__ import annotations

import itertools
import math

import pytest
import torch

import gmc
from gmc.runtime import chains

HMM = """
const T = {T}
const K = {K}
const D = 2
var z[T]: categorical[K]
var x[T]: real[D]
weight init_logits: real[K] = Normal(0, 1)
weight trans_logits: real[K, K] = Normal(0, 1)
weight mu: real[K, D] = Normal(0, 1)
weight log_sd: real[K, D] = Normal(0, 0.3)

p(z[0]) = Categorical(logits=init_logits)
p(z[t]|z[t-1]) = Categorical(logits=z[t-1] @ trans_logits)
p(x[t]|z[t]) = Normal(loc=z[t] @ mu, scale=exp(z[t] @ log_sd))
p(x) = sum_{{z}} p(z[0]) p(z[t]|z[t-1]) p(x[t]|z[t])
loss = -mean(log p(x))
"""


def _hmm(T: int, K: int, seed: int = 0):
    torch.manual_seed(seed)
    return gmc.compile_source(HMM.format(T=T, K=K), name="HMM")().double()


def _brute_force(m, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(log p(x) [batch], p(z[t] = k | x) [batch, T, K]) summing over all K^T paths with
    torch.distributions."""
    d = torch.distributions
    K, T = m.init_logits.shape[0], x.shape[1]
    init = d.Categorical(logits=m.init_logits)
    trans = d.Categorical(logits=m.trans_logits)
    emit = d.Normal(m.mu, m.log_sd.exp())  # [K, D]
    log_emit = emit.log_prob(x.unsqueeze(-2)).sum(-1)  # [batch, T, K]
    paths = list(itertools.product(range(K), repeat=T))
    logs = []
    for path in paths:
        p = torch.tensor(path)
        log = init.log_prob(p[0]) + sum(trans.log_prob(p[t])[p[t - 1]] for t in range(1, T))
        logs.append(log + log_emit[:, torch.arange(T), p].sum(-1))
    logs = torch.stack(logs, -1)  # [batch, paths]
    total = torch.logsumexp(logs, -1)
    weights = (logs - total.unsqueeze(-1)).exp()
    one_hot = torch.nn.functional.one_hot(torch.tensor(paths), K).double()  # [paths, T, K]
    return total, torch.einsum("bp,ptk->btk", weights, one_hot)


def test_hmm_log_likelihood_and_marginals_equal_brute_force_enumeration():
    m = _hmm(T=5, K=3)
    x = torch.randn(4, 5, 2, dtype=torch.float64)
    expected, marginals = _brute_force(m, x)
    got = m.log_prob("p(x)", x=x)
    assert got.shape == (4,)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-10)
    torch.testing.assert_close(m.posterior_marginals("p(x)", x=x), marginals, rtol=0, atol=1e-10)
    torch.testing.assert_close(m.loss("loss", x=x), -expected.mean(), rtol=0, atol=1e-10)


def test_hmm_log_likelihood_and_marginals_equal_hmmlearn():
    hmm = pytest.importorskip("hmmlearn.hmm")
    T, K = 60, 4
    m = _hmm(T=T, K=K, seed=1)
    model = hmm.GaussianHMM(n_components=K, covariance_type="diag")
    model.startprob_ = torch.softmax(m.init_logits, -1).detach().numpy()
    model.transmat_ = torch.softmax(m.trans_logits, -1).detach().numpy()
    model.means_ = m.mu.detach().numpy()
    model.covars_ = (2 * m.log_sd).exp().detach().numpy()
    model.n_features = 2
    x = m.sample("p(x)", n=3)["x"].detach()
    assert x.shape == (3, T, 2)
    ours = m.log_prob("p(x)", x=x).detach()
    marginals = m.posterior_marginals("p(x)", x=x).detach()
    for b in range(3):
        theirs = model.score(x[b].numpy())
        assert abs(float(ours[b]) - theirs) < 1e-8 * max(1.0, abs(theirs))
        assert float((marginals[b] - torch.as_tensor(model.predict_proba(x[b].numpy()))).abs().max()) < 1e-8


def test_generated_code_has_one_loop_over_time_not_t_copies():
    from gmc.compiler import driver

    sources = [driver.python_source(driver.compile_model(HMM.format(T=T, K=3), "hmm.gm")) for T in (5, 1000)]
    assert len(sources[1]) - len(sources[0]) < 20  # only the length constant differs
    assert "rt.chain_log_likelihood" in sources[1]


def test_gradients_of_the_forward_algorithm():
    torch.manual_seed(0)
    args = (torch.randn(3, dtype=torch.float64, requires_grad=True),
            torch.randn(3, 3, dtype=torch.float64, requires_grad=True),
            torch.randn(2, 4, 3, dtype=torch.float64, requires_grad=True))
    assert torch.autograd.gradcheck(chains.chain_log_likelihood, args)
    assert torch.autograd.gradcheck(chains.chain_posterior_marginals, args)


def test_sampled_paths_follow_the_transition_matrix():
    m = _hmm(T=3, K=2, seed=2)
    torch.manual_seed(0)
    log_init = torch.log_softmax(m.init_logits.detach(), -1)
    log_trans = torch.log_softmax(m.trans_logits.detach(), -1)
    paths = chains.sample_chain(log_init, log_trans, (20000,), 3).argmax(-1)
    first = (paths[:, 0] == 0).double().mean()
    p0 = math.exp(float(log_init[0]))
    assert abs(float(first) - p0) < 5 * math.sqrt(p0 * (1 - p0) / 20000)
    after_zero = paths[paths[:, 1] == 0][:, 2]
    q = math.exp(float(log_trans[0, 1]))
    rate = (after_zero == 1).double().mean()
    assert abs(float(rate) - q) < 5 * math.sqrt(q * (1 - q) / len(after_zero))


@pytest.mark.parametrize("program, message", [
    ("p(z[t]|z[t+1]) = Categorical(logits=z[t+1])\n", "depends on z[t+1], a future step"),
    ("p(z[t]|z[t-1]) = Categorical(logits=z[t+1])\n", "depends on z[t+1], a future step"),
    ("p(z[t]|z[t]) = Categorical(logits=z[t])\n", "recursive through time"),
    ("p(x[t]|w[t]) = Normal(0, 1)\n", "different lengths"),
    ("p(z[t]|z[t-1]) = Categorical(logits=z[t-2])\n", "not in the conditioning set"),
    ("loss = -mean(log p(z[t]))\n", "not defined"),
])
def test_sequence_errors(program, message):
    head = "const K = 2\nvar z[5]: categorical[K]\nvar x[5]: real\nvar w[6]: real\n"
    with pytest.raises(gmc.GmcError, match=message.replace("[", r"\[").replace("]", r"\]").replace("+", r"\+")):
        gmc.compile_source(head + program)


WALK = """
const T = {T}
param s = 0.5
var x[T]: real
var y[T]: real[2]
weight w: real[2] = Normal(0, 1)
p(x[0]) = Normal(0, 1)
p(x[t]|x[t-1]) = Normal(0.9 * x[t-1], s)
p(y[t]|x[t]) = Normal(loc=x[t] * w, scale=1)
p(x,y) = p(x[0]) p(x[t]|x[t-1]) p(y[t]|x[t])
loss = -mean(log p(x,y))
"""


def test_product_over_time_equals_the_sum_of_its_steps():
    torch.manual_seed(0)
    m = gmc.compile_source(WALK.format(T=7))().double()
    x, y = torch.randn(3, 7, dtype=torch.float64), torch.randn(3, 7, 2, dtype=torch.float64)
    N = torch.distributions.Normal
    expected = N(0.0, 1.0).log_prob(x[:, 0])
    for t in range(1, 7):
        expected = expected + N(0.9 * x[:, t - 1], 0.5).log_prob(x[:, t])
    for t in range(7):
        expected = expected + N(x[:, t, None] * m.w, 1.0).log_prob(y[:, t]).sum(-1)
    torch.testing.assert_close(m.log_prob("p(x,y)", x=x, y=y), expected, rtol=0, atol=1e-10)
    torch.testing.assert_close(m.log_prob("p(x,y)", x=x, y=y, s=2.0) - m.log_prob("p(x,y)", x=x, y=y),
                               sum(N(0.9 * x[:, t - 1], 2.0).log_prob(x[:, t]) - N(0.9 * x[:, t - 1], 0.5).log_prob(x[:, t])
                                   for t in range(1, 7)), rtol=0, atol=1e-10)


def test_product_over_time_samples_the_autoregression():
    m = gmc.compile_source(WALK.format(T=6))().double()
    torch.manual_seed(0)
    n = 20000
    draws = m.sample("p(x,y)", n=n)
    assert draws["x"].shape == (n, 6) and draws["y"].shape == (n, 6, 2)
    variance = 1.0
    for _ in range(5):
        variance = 0.81 * variance + 0.25  # Var x[t] = 0.9^2 Var x[t-1] + s^2
    last = draws["x"][:, -1]
    standard_error = variance * math.sqrt(2 / (n - 1))
    assert abs(float(last.var()) - variance) < 5 * standard_error
    lag_covariance = float((draws["x"][:, -1] * draws["x"][:, -2]).mean())
    assert abs(lag_covariance - 0.9 * (variance - 0.25) / 0.81) < 0.05


def test_product_over_time_has_the_same_code_for_any_length():
    from gmc.compiler import driver

    sources = [driver.python_source(driver.compile_model(WALK.format(T=T), "walk.gm")) for T in (5, 1000)]
    assert len(sources[1]) - len(sources[0]) < 40
