"""Categorical (one-hot) and Multinomial: generated log-masses, samplers and moments.

References: torch.distributions.OneHotCategorical / Multinomial in float64, and
torch.nn.functional.cross_entropy for a classifier loss.
"""
import pytest
import torch
import torch.distributions as D
import torch.nn.functional as F

import gmc
from gmc.compiler.symbolic.functions import xlogy
from gmc.compiler.symbolic.registry import A, X
from famb_helpers import assert_close_64, assert_mean_and_variance, assert_mean_within_5_se, moment

K = 5
CATEGORICAL = gmc.compile_source(f"""
var y: categorical[{K}]
var h: real[{K}]
var p: simplex[{K}]
p(y|h) = Categorical(logits=h)
q(y|p) = Categorical(probs=p)
u(y) = Categorical(logits=0)
loss = mean(log p(y|h))
""", name="Categoricals")

MULTINOMIAL = gmc.compile_source(f"""
var c: count[{K}]
var h: real[{K}]
var p: simplex[{K}]
p(c|h) = Multinomial(12, logits=h)
q(c|p) = Multinomial(total_count=12, probs=p)
b(c|p) = Multinomial(probs=p)
loss = mean(log p(c|h))
""", name="Multinomials")


pytestmark = pytest.mark.usefixtures("float64")  # tests/conftest.py


def _logits(n, scale, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, K, generator=g) * scale


@pytest.mark.parametrize("scale", [1.0, 30.0, 800.0])
def test_categorical_logits_log_mass_matches_torch(scale):
    h = _logits(2000, scale, 0)
    y = F.one_hot(torch.randint(0, K, (2000,), generator=torch.Generator().manual_seed(1)), K).double()
    got = CATEGORICAL().log_prob("p(y|h)", y=y, h=h)
    assert got.shape == (2000,)
    assert_close_64(got, D.OneHotCategorical(logits=h).log_prob(y), atol=1e-9 * max(1.0, scale))


def test_categorical_probs_and_constant_logits_match_torch():
    p = torch.softmax(_logits(1000, 2.0, 2), -1)
    y = D.OneHotCategorical(probs=p).sample()
    model = CATEGORICAL()
    assert_close_64(model.log_prob("q(y|p)", y=y, p=p), D.OneHotCategorical(probs=p).log_prob(y))
    uniform = model.log_prob("u(y)", y=y)
    assert_close_64(uniform, D.OneHotCategorical(logits=torch.zeros(K)).log_prob(y))


def test_categorical_samples_are_one_hot_with_the_right_frequencies():
    torch.manual_seed(3)
    h = _logits(1, 1.5, 4).expand(40000, K)
    y = CATEGORICAL().sample("p(y|h)", h=h)["y"]
    assert y.shape == (40000, K) and y.dtype == torch.float64
    assert ((y == 0) | (y == 1)).all() and (y.sum(-1) == 1).all()
    p = torch.softmax(h[0], -1)
    assert_mean_and_variance(y, p, p * (1 - p))


def test_categorical_constant_logits_sample_uniformly():
    torch.manual_seed(5)
    y = CATEGORICAL().sample("u(y)", n=20000)["y"]
    assert y.shape == (20000, K) and (y.sum(-1) == 1).all()
    assert_mean_and_variance(y, torch.full((K,), 1 / K), torch.full((K,), (1 / K) * (1 - 1 / K)))


def test_categorical_mean_moment_matches_torch():
    h = _logits(50, 3.0, 6)
    torch.testing.assert_close(moment("Categorical", X, {"logits": h}), D.OneHotCategorical(logits=h).mean,
                               rtol=1e-12, atol=1e-15)
    p = torch.softmax(h, -1)
    torch.testing.assert_close(moment("Categorical", X, {"probs": p}), p)
    extreme = moment("Categorical", X, {"logits": _logits(50, 800.0, 7)})
    assert torch.isfinite(extreme).all()
    torch.testing.assert_close(extreme.sum(-1), torch.ones(50))


def test_xlogy_moments_match_monte_carlo():
    """E[xlogy(X, c)], the term of the probs-form mass that KLs need, against samples."""
    torch.manual_seed(16)
    h = _logits(1, 1.0, 17)[0]
    c = torch.softmax(_logits(1, 1.0, 18)[0], -1)
    for family, law in (("Categorical", D.OneHotCategorical(logits=h)), ("Multinomial", D.Multinomial(12, logits=h))):
        params = {"logits": h} if family == "Categorical" else {"total_count": 12.0, "logits": h}
        closed = moment(family, xlogy(X, A), params, {A: c})
        assert_mean_within_5_se(torch.xlogy(law.sample((20000,)), c), closed, family)


def test_classifier_with_categorical_label():
    """A net producing logits for a one-hot label: the loss is cross-entropy."""
    source = """
    var x: real[6]
    var y: categorical[4]
    net clf(x) -> real[4] = MLP(16)
    p(y|x) = Categorical(logits=clf(x))
    loss = -mean(log p(y|x))
    """
    model = gmc.compile_source("\n".join(line.strip() for line in source.splitlines()), name="Clf")()
    torch.manual_seed(8)
    x = torch.randn(32, 6)
    labels = torch.randint(0, 4, (32,))
    y = F.one_hot(labels, 4).double()
    assert model.log_prob("p(y|x)", y=y, x=x).shape == (32,)
    assert model.sample("p(y|x)", x=x)["y"].shape == (32, 4)
    loss = model.loss("loss", x=x, y=y)
    assert loss.shape == ()
    torch.testing.assert_close(loss, F.cross_entropy(model.clf(x), labels), rtol=1e-12, atol=1e-12)
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


@pytest.mark.parametrize("scale", [1.0, 30.0, 800.0])
def test_multinomial_logits_log_mass_matches_torch(scale):
    h = _logits(1500, scale, 10)
    c = D.Multinomial(12, logits=_logits(1500, 1.0, 11)).sample()
    got = MULTINOMIAL().log_prob("p(c|h)", c=c, h=h)
    assert got.shape == (1500,)
    assert_close_64(got, D.Multinomial(12, logits=h).log_prob(c), atol=1e-9 * max(1.0, scale))


def test_multinomial_probs_and_default_total_count_match_torch():
    p = torch.softmax(_logits(1000, 2.0, 12), -1)
    model = MULTINOMIAL()
    c = D.Multinomial(12, probs=p).sample()
    assert_close_64(model.log_prob("q(c|p)", c=c, p=p), D.Multinomial(12, probs=p).log_prob(c))
    one = D.Multinomial(probs=p).sample()
    assert_close_64(model.log_prob("b(c|p)", c=one, p=p), D.Multinomial(probs=p).log_prob(one))


def test_multinomial_samples_have_the_right_moments():
    torch.manual_seed(13)
    p = torch.softmax(_logits(1, 1.0, 14), -1).expand(20000, K)
    c = MULTINOMIAL().sample("q(c|p)", p=p)["c"]
    assert c.shape == (20000, K) and (c.sum(-1) == 12).all() and (c == c.round()).all()
    assert_mean_and_variance(c, 12 * p[0], 12 * p[0] * (1 - p[0]))


def test_multinomial_mean_moment_matches_torch():
    h = _logits(40, 3.0, 15)
    expected = D.Multinomial(12, logits=h).mean
    torch.testing.assert_close(moment("Multinomial", X, {"total_count": 12.0, "logits": h}), expected)
    p = torch.softmax(h, -1)
    torch.testing.assert_close(moment("Multinomial", X, {"total_count": 12.0, "probs": p}), expected)


def test_generated_code_is_straight_line_torch(tmp_path):
    path = tmp_path / "cat.gm"
    path.write_text(f"var y: categorical[{K}]\nvar h: real[{K}]\np(y|h) = Categorical(logits=h)\n"
                    "loss = mean(log p(y|h))\n")
    text = gmc.to_python(path)
    # x h with 0 * (-inf) = 0 (rt.xmul), so a logit of -inf leaves the other categories finite
    assert "(rt.xmul(y, h)).sum(-1, keepdim=True)" in text and "torch.logsumexp(h, -1, keepdim=True)" in text
    assert "distributions" not in text
