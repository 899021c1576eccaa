"""Monte-Carlo EM (gmc.runtime.mcem): the HMC E-step samples a known Gaussian posterior, and
on a small synthetic corpus the EM loop raises the log-joint and recovers the true topics."""
import importlib.util
from pathlib import Path

import pytest
import torch

import gmc
from gmc.runtime.mcem import monte_carlo_em

ROOT = Path(__file__).parent.parent

CONJUGATE = """
model Conjugate
var x: real
var z: real
weight prior_loc: real = 0.0
p(z) = Normal(prior_loc, 1)
p(x|z) = Normal(z, 0.5)
"""


def _example():
    spec = importlib.util.spec_from_file_location("topic_model_mcem", ROOT / "examples" / "topic_model_mcem.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script


def test_hmc_e_step_reaches_the_conjugate_gaussian_posterior():
    """z ~ N(0, 1), x | z ~ N(z, 0.5^2): z | x ~ N(0.8 x, 0.2) (precision 1 + 4). 2000 chains
    started at 0 (far in the tails for large |x|) with adapted step sizes; with lr=0 the M-step
    leaves the prior fixed. The standardized draws have mean 0 and variance 1 within 5 standard
    errors (1/sqrt(n) and sqrt(2/n))."""
    torch.manual_seed(0)
    model = gmc.compile_source(CONJUGATE, "Conjugate")()
    n = 2000
    x = 3 * torch.randn(n)
    result = monte_carlo_em(model, ["p(z)", "p(x|z)"], {"x": x}, "z", init=torch.zeros(n), em_steps=40,
                            hmc_steps=1, leapfrog=5, step_size=0.3, lr=0.0)
    standardized = (result.latent - 0.8 * x) / 0.2 ** 0.5
    assert abs(float(standardized.mean())) < 5 / n ** 0.5
    assert abs(float(standardized.var()) - 1) < 5 * (2 / n) ** 0.5
    assert 0.4 < result.acceptance[-1] < 0.9
    assert float(model.prior_loc.detach()) == 0.0


def test_invalid_step_counts_are_refused():
    model = gmc.compile_source(CONJUGATE, "Conjugate")()
    with pytest.raises(ValueError, match="at least 1"):
        monte_carlo_em(model, ["p(z)", "p(x|z)"], {"x": torch.zeros(3)}, "z", leapfrog=0)


@pytest.mark.slow
def test_mcem_recovers_topics_of_a_synthetic_corpus():
    """60 documents of 100 words from 5 known topics over 50 words; 100 EM steps. The random
    initialization's matched total-variation distance to the true topics is about 0.75; the fit
    (about 0.15) must bring it below 0.3, and raise the mean log-joint by at least 50 nats per document."""
    script = _example()
    torch.manual_seed(0)
    topics, train_x, _ = script.synthetic_corpus(60, 0, seed=0)
    torch.manual_seed(1)
    model = gmc.compile_file(ROOT / "examples" / "topic_model.gm")()
    initial = torch.softmax(model.beta.detach().clone(), -1)
    result = monte_carlo_em(model, script.FACTORS, {"x": train_x}, "eta", em_steps=100, hmc_steps=1,
                            leapfrog=5, lr=0.1)
    learned = torch.softmax(model.beta.detach(), -1)
    random_tv, fitted_tv = script.matched_tv(initial, topics), script.matched_tv(learned, topics)
    assert random_tv > 0.6, random_tv
    assert fitted_tv < 0.3, (fitted_tv, random_tv)
    assert result.log_joint[-1] > result.log_joint[0] + 50, result.log_joint
