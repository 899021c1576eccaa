"""SGLD, pSGLD and SGHMC (gmc.runtime.sgmcmc) on the conjugate regression's posterior.

U(w) = -log p(w) - sum_n log p(y_n | x_n, w), computed by the generated code of
examples/conjugate_regression.gm, with minibatches of 25 of the 100 examples scaled by N/B
(an unbiased estimate of the full sum). The posterior is N(m, S), S = (X^T X / sigma^2 +
I / tau^2)^-1 (Bishop 2006, eq. 3.53-3.54). After burn-in, the iterates' mean must lie within
4 Monte-Carlo standard errors (ArviZ ESS) of m and their variances within 25% of diag(S): the
samplers are biased by O(lr) and, with minibatches, by the gradient noise they ignore.
"""
import numpy as np
import pytest
import torch

import gmc
from golden_io import ROOT
from gmc.runtime.sgmcmc import PSGLD, SGHMC, SGLD

az = pytest.importorskip("arviz")


def _problem():
    g = torch.Generator().manual_seed(0)
    n, sigma = 100, 0.5
    x = torch.randn(n, 3, generator=g, dtype=torch.float64)
    y = x @ torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64) + sigma * torch.randn(n, generator=g,
                                                                                       dtype=torch.float64)
    cov = torch.linalg.inv(x.T @ x / sigma ** 2 + torch.eye(3, dtype=torch.float64))
    return x, y, (cov @ x.T @ y / sigma ** 2).numpy(), cov.diagonal().numpy()


@pytest.mark.slow
@pytest.mark.parametrize("make", [lambda p: SGLD(p, lr=4e-4), lambda p: PSGLD(p, lr=5e-3, alpha=0.999),
                                  lambda p: SGHMC(p, lr=2e-5, friction=0.1)], ids=["sgld", "psgld", "sghmc"])
def test_sampler_matches_the_conjugate_posterior(make):
    torch.manual_seed(1)
    x, y, mean, variance = _problem()
    model = gmc.compile_file(ROOT / "examples" / "conjugate_regression.gm")().double()
    w = torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))
    optimizer = make([w])
    n, b, draws = len(y), 25, []
    for step in range(4000):
        rows = torch.randint(0, n, (b,))
        optimizer.zero_grad()
        u = -(model.log_p_w(w) + n / b * model.log_p_y_given_x_w(y[rows], x[rows], w).sum())
        u.backward()
        optimizer.step()
        if step >= 800:
            draws.append(w.detach().clone().numpy())
    draws = np.stack(draws)[None]  # [chain, draw, 3]
    mcse = az.mcse(az.convert_to_dataset({"w": draws}), method="mean")["w"].values
    assert np.all(np.abs(draws.mean((0, 1)) - mean) < 4 * mcse + 1e-12), (draws.mean((0, 1)), mean, mcse)
    np.testing.assert_allclose(draws.var((0, 1)), variance, rtol=0.25)


def test_invalid_settings_are_value_errors():
    w = [torch.nn.Parameter(torch.zeros(2))]
    for make in (lambda: SGLD(w, lr=0), lambda: PSGLD(w, alpha=1.0), lambda: SGHMC(w, friction=0)):
        with pytest.raises(ValueError):
            make()


def test_bnn_example_reports_sgld_next_to_the_variational_fit():
    """examples/bnn_sgld.py end to end on a short run: every posterior gets finite held-out
    scores from its own draws (the full run's figures are in docs/examples.md)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parent.parent / "examples" / "bnn_sgld.py"
    spec = importlib.util.spec_from_file_location("bnn_sgld", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    result = script.main(["--epochs", "3", "--steps", "80"])
    for name in ("variational", "sgld", "psgld"):
        assert result[name]["rmse"] > 0 and result[name]["predictive_log_lik"] < 0, result
    assert result["sgld"]["draws"] == 6  # every 10th of the 60 steps after a quarter burn-in
