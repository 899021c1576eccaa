"""Posterior of bayes_regression.gm's weights by SGLD and NUTS, next to the variational fit.

Fits the mean-field q(w) of examples/bayes_regression.gm as examples/bayes_regression.py does
(which also learns the prior scale, bias and noise scale by type-II maximum likelihood), then
holds those three at the fitted values and samples p(w | training data) two ways:
SGLD (gmc.runtime.sgmcmc.SGLD, minibatches of 64 scaled by N/64) and NUTS (gmc.mcmc, the
same generated log-densities). Reports on the held-out split: RMSE of the posterior-mean
prediction and the mean predictive log-likelihood log (1/S) sum_s p(y | x, w_s) (nats per
example), for q(w) (S = 1000 draws), SGLD and NUTS. Usage:

    python examples/bayes_regression_sgld.py
"""
import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch

import gmc
from gmc.runtime import data, train
from gmc.runtime.sgmcmc import SGLD

HERE = Path(__file__).parent


def _scores(model, w_draws, x, y):
    """(RMSE of the mean prediction, mean predictive log-likelihood) for draws w [S, D]."""
    with torch.no_grad():
        log_lik = torch.stack([model.log_p_y_given_x_w(y, x, w) for w in w_draws])  # [S, M]
        predictive = (torch.logsumexp(log_lik, 0) - math.log(len(w_draws))).mean()
        prediction = x @ w_draws.mean(0) + model.b
        rmse = ((prediction - y) ** 2).mean().sqrt()
    return round(float(rmse), 4), round(float(predictive), 4)


def main(argv=None) -> dict:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    ds = data.load_dataset("diabetes")
    x, y = ds.train.double(), ds.train_targets.double()
    x_test, y_test = ds.test.double(), ds.test_targets.double()
    BayesRegression = gmc.compile_file(HERE / "bayes_regression.gm")
    model = BayesRegression().double()  # fit fills the plate size with the training-set size
    start = time.perf_counter()
    train.fit(model, "loss", {"x": x, "y": y}, {"x": x_test, "y": y_test}, epochs=300, batch_size=64, lr=0.01,
              progress=False, log=None)
    vi_seconds = time.perf_counter() - start
    for p in model.parameters():
        p.requires_grad_(False)
    q_draws = model.sample("q(w)", n=1000)["w"]

    w = torch.nn.Parameter(model.w_loc.detach().clone())
    optimizer, n, draws = SGLD([w], lr=2e-4), len(x), []
    start = time.perf_counter()
    for step in range(6000):
        rows = torch.randint(0, n, (64,))
        optimizer.zero_grad()
        (-(model.log_p_w(w) + n / 64 * model.log_p_y_given_x_w(y[rows], x[rows], w).sum())).backward()
        optimizer.step()
        if step >= 1000 and step % 5 == 0:
            draws.append(w.detach().clone())
    sgld_seconds = time.perf_counter() - start

    start = time.perf_counter()
    idata = gmc.mcmc(HERE / "bayes_regression.gm", {"x": x, "y": y}, model=model, chains=1, draws=500, warmup=500)
    nuts_seconds = time.perf_counter() - start
    nuts_draws = torch.as_tensor(idata.posterior["w"].values[0])

    result = {"variational": dict(zip(("rmse", "predictive_log_lik"), _scores(model, q_draws, x_test, y_test)),
                                  seconds=round(vi_seconds, 1)),
              "sgld": dict(zip(("rmse", "predictive_log_lik"), _scores(model, torch.stack(draws), x_test, y_test)),
                           seconds=round(sgld_seconds, 1)),
              "nuts": dict(zip(("rmse", "predictive_log_lik"), _scores(model, nuts_draws, x_test, y_test)),
                           seconds=round(nuts_seconds, 1)),
              "units": "standardized target; predictive log-likelihood in nats per held-out example"}
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
