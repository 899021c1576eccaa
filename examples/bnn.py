"""Bayesian neural network (bnn.gm) on scikit-learn's diabetes data, after ZhuSuan's BNN tutorial.

Trains the mean-field Normal posterior of every weight by minimizing the negative ELBO of the
training set (the plate 'data' scales each minibatch's log-likelihood by N / B), then reports,
over M draws of the weights from the posterior, the held-out RMSE of the predictive mean and
the held-out predictive log-likelihood log (1/M) sum_m p(y | x, w_m) per example, next to
scikit-learn's BayesianRidge on the same standardized split (its predictive log-likelihood from
its Gaussian predictive distribution). Usage:

    python examples/bnn.py [--epochs 1000] [--draws 100]
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


def predictive(model, x: torch.Tensor, y: torch.Tensor, draws: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(predictive mean [T], predictive log-likelihood per example [T] in nats) over ``draws``
    posterior draws of the global weights."""
    with torch.no_grad():
        w = model.sample("q(W1,b1,W2,b2)", n=draws)
        means, log_liks = [], []
        for m in range(draws):
            weights = {k: v[m] for k, v in w.items()}
            means.append(torch.relu(x @ weights["W1"] + weights["b1"]) @ weights["W2"] + weights["b2"])
            log_liks.append(model.log_prob("p(y|x,W1,b1,W2,b2)", y=y, x=x, **weights))
        log_lik = torch.logsumexp(torch.stack(log_liks), 0) - math.log(draws)
        return torch.stack(means).mean(0), log_lik


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1000)
    parser.add_argument("--draws", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    start = time.perf_counter()
    ds = data.load_dataset("diabetes")
    BNN = gmc.compile_file(Path(__file__).with_name("bnn.gm"))
    torch.manual_seed(args.seed)
    model = BNN()  # fit gives the plate 'data' its size, the number of training examples
    train_data = {"x": ds.train, "y": ds.train_targets}
    test_data = {"x": ds.test, "y": ds.test_targets}
    history = train.fit(model, "loss", train_data, test_data, epochs=args.epochs, batch_size=64, lr=0.01,
                        seed=args.seed, progress=False, log=None)
    torch.manual_seed(args.seed + 1)
    mean, log_lik = predictive(model, ds.test, ds.test_targets, args.draws)
    rmse = float(((mean - ds.test_targets) ** 2).mean().sqrt())
    seconds = time.perf_counter() - start

    from sklearn.linear_model import BayesianRidge

    ridge = BayesianRidge().fit(ds.train.numpy(), ds.train_targets.numpy())
    r_mean, r_sd = (torch.as_tensor(a) for a in ridge.predict(ds.test.numpy(), return_std=True))
    r_rmse = float(((r_mean - ds.test_targets) ** 2).mean().sqrt())
    r_log_lik = torch.distributions.Normal(r_mean, r_sd).log_prob(ds.test_targets)
    result = {"heldout_rmse": round(rmse, 4), "bayesian_ridge_rmse": round(r_rmse, 4),
              "rmse_ratio": round(rmse / r_rmse, 4),
              "heldout_log_likelihood": round(float(log_lik.mean()), 4),
              "bayesian_ridge_log_likelihood": round(float(r_log_lik.mean()), 4),
              "noise_sd": round(float(model.log_sigma.detach().exp()), 4),
              "final_train_loss_nats_per_dataset": round(history.train_loss[-1], 2),
              "epochs": args.epochs, "posterior_draws": args.draws, "seconds": round(seconds, 1),
              "units": "standardized target (training-split standard deviation = 1); log-likelihood in nats "
                       "per held-out example"}
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
