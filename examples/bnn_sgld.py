"""The Bayesian neural network of bnn.gm by SGLD and pSGLD, next to its variational fit.

Fits bnn.gm's mean-field posterior as examples/bnn.py does (which also learns the noise
scale), then holds the noise scale at the fitted value and samples p(W1, b1, W2, b2 | training
data) with SGLD (Welling & Teh 2011) and pSGLD (Li et al. 2016) from gmc.runtime.sgmcmc: each
step takes the gradient of U = -log p(weights) - N/B sum_minibatch log p(y | x, weights), both
terms from the generated log-densities, on minibatches of 64. Starts at the variational means;
keeps every 10th iterate after a burn-in. Reports on the held-out diabetes split the RMSE of
the posterior-mean prediction and the predictive log-likelihood log (1/S) sum_s p(y | x, w_s)
(nats per held-out example) for q (100 draws), SGLD and pSGLD. Usage:

    python examples/bnn_sgld.py [--epochs 1000] [--steps 20000] [--seed 0]
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
from gmc.runtime.sgmcmc import PSGLD, SGLD

WEIGHTS = ("W1", "b1", "W2", "b2")
LIKELIHOOD = "p(y|x,W1,b1,W2,b2)"


def scores(model, draws: list[dict], x: torch.Tensor, y: torch.Tensor) -> dict:
    """Held-out RMSE of the mean prediction and mean predictive log-likelihood (nats) over
    weight draws (each a dict name -> tensor of the weight's event shape)."""
    with torch.no_grad():
        means = torch.stack([torch.relu(x @ w["W1"] + w["b1"]) @ w["W2"] + w["b2"] for w in draws])
        log_lik = torch.stack([model.log_prob(LIKELIHOOD, y=y, x=x, **w) for w in draws])
        predictive = torch.logsumexp(log_lik, 0) - math.log(len(draws))
    return {"rmse": round(float(((means.mean(0) - y) ** 2).mean().sqrt()), 4),
            "predictive_log_lik": round(float(predictive.mean()), 4), "draws": len(draws)}


def langevin(model, optimizer_class, x, y, steps: int, lr: float, seed: int) -> tuple[list[dict], float]:
    """Weight draws by a stochastic-gradient MCMC optimizer started at q's means."""
    torch.manual_seed(seed)
    weights = {k: torch.nn.Parameter(getattr(model, f"{k}_loc").detach().clone()) for k in WEIGHTS}
    optimizer = optimizer_class(list(weights.values()), lr=lr)
    n, burn_in, kept = len(x), steps // 4, []
    start = time.perf_counter()
    for step in range(steps):
        rows = torch.randint(0, n, (64,))
        prior = sum(model.log_prob(f"p({k})", **{k: w}) for k, w in weights.items())
        likelihood = model.log_prob(LIKELIHOOD, y=y[rows], x=x[rows], **weights).sum()
        optimizer.zero_grad()
        (-(prior + n / 64 * likelihood)).backward()
        optimizer.step()
        if step >= burn_in and step % 10 == 0:
            kept.append({k: w.detach().clone() for k, w in weights.items()})
    return kept, time.perf_counter() - start


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1000, help="variational epochs (as bnn.py)")
    parser.add_argument("--steps", type=int, default=20000, help="SGLD and pSGLD steps (a quarter burn-in)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    ds = data.load_dataset("diabetes")
    x, y, x_test, y_test = ds.train, ds.train_targets, ds.test, ds.test_targets
    BNN = gmc.compile_file(Path(__file__).with_name("bnn.gm"))
    torch.manual_seed(args.seed)
    model = BNN()
    start = time.perf_counter()
    train.fit(model, "loss", {"x": x, "y": y}, {"x": x_test, "y": y_test}, epochs=args.epochs, batch_size=64,
              lr=0.01, seed=args.seed, progress=False, log=None)
    vi_seconds = time.perf_counter() - start
    for p in model.parameters():
        p.requires_grad_(False)
    torch.manual_seed(args.seed + 1)
    q = model.sample("q(W1,b1,W2,b2)", n=100)
    q_draws = [{k: q[k][m] for k in WEIGHTS} for m in range(100)]

    result = {"variational": {**scores(model, q_draws, x_test, y_test), "seconds": round(vi_seconds, 1)}}
    for name, optimizer_class, lr in (("sgld", SGLD, 1e-4), ("psgld", PSGLD, 1e-4)):
        draws, seconds = langevin(model, optimizer_class, x, y, args.steps, lr, args.seed)
        result[name] = {**scores(model, draws, x_test, y_test), "seconds": round(seconds, 1), "lr": lr}
    result["noise_sd"] = round(float(model.log_sigma.exp()), 4)
    result["units"] = "standardized target; predictive log-likelihood in nats per held-out example"
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
