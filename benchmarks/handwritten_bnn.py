"""Reference: the Bayesian neural network of examples/bnn.gm written by hand in PyTorch.

Same data and split (gmc.runtime.data), architecture (10 -> 50 ReLU -> 1, N(0, 1) priors,
mean-field Normal posteriors with softplus scales, learned noise scale), loss (closed-form KLs
counted once, minus N / B times the minibatch log-likelihood sum), optimizer and loop
(gmc.runtime.train.fit), evaluation (M posterior draws). Prints the held-out RMSE, predictive
log-likelihood and seconds of both, interleaved in one process so the times compare.

    python benchmarks/handwritten_bnn.py [--epochs 1000] [--draws 100]
"""
import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from gmc.runtime.data import load_dataset
from gmc.runtime.train import fit

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))


class HandWrittenBNN(nn.Module):
    def __init__(self, n_train: int, d=10, hidden=50):
        super().__init__()
        self.n_train = n_train
        shapes = {"W1": (d, hidden), "b1": (hidden,), "W2": (hidden,), "b2": ()}
        self.loc = nn.ParameterDict({k: nn.Parameter(torch.zeros(s)) for k, s in shapes.items()})
        self.raw_scale = nn.ParameterDict({k: nn.Parameter(torch.full(s, -5.0)) for k, s in shapes.items()})
        with torch.no_grad():
            self.loc["W1"].normal_(0, 0.3)
            self.loc["W2"].normal_(0, 0.1)
        self.log_sigma = nn.Parameter(torch.zeros(()))

    def draw(self):
        return {k: self.loc[k] + F.softplus(self.raw_scale[k]) * torch.randn_like(self.loc[k]) for k in self.loc}

    def mean(self, x, w):
        return torch.relu(x @ w["W1"] + w["b1"]) @ w["W2"] + w["b2"]

    def log_lik(self, x, y, w):
        return torch.distributions.Normal(self.mean(x, w), self.log_sigma.exp()).log_prob(y)

    def loss(self, name, x, y):
        kl = sum((0.5 * (F.softplus(self.raw_scale[k]) ** 2 + self.loc[k] ** 2) - torch.log(F.softplus(self.raw_scale[k]))
                  - 0.5).sum() for k in self.loc)
        return kl - self.n_train * self.log_lik(x, y, self.draw()).mean()


def evaluate(model, x, y, draws):
    with torch.no_grad():
        ws = [model.draw() for _ in range(draws)]
        mean = torch.stack([model.mean(x, w) for w in ws]).mean(0)
        log_lik = torch.logsumexp(torch.stack([model.log_lik(x, y, w) for w in ws]), 0) - math.log(draws)
    return float(((mean - y) ** 2).mean().sqrt()), float(log_lik.mean())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1000)
    parser.add_argument("--draws", type=int, default=100)
    args = parser.parse_args()
    torch.set_num_threads(1)
    ds = load_dataset("diabetes")
    train = {"x": ds.train, "y": ds.train_targets}
    test = {"x": ds.test, "y": ds.test_targets}
    start = time.perf_counter()
    torch.manual_seed(0)
    model = HandWrittenBNN(len(ds.train))
    fit(model, "loss", train, test, epochs=args.epochs, batch_size=64, lr=0.01, progress=False, log=None)
    torch.manual_seed(1)
    rmse, log_lik = evaluate(model, ds.test, ds.test_targets, args.draws)
    hand = {"heldout_rmse": round(rmse, 4), "heldout_log_likelihood": round(log_lik, 4),
            "seconds": round(time.perf_counter() - start, 1)}
    import bnn

    generated = bnn.main(["--epochs", str(args.epochs), "--draws", str(args.draws)])
    print(json.dumps({"handwritten": hand, "gmc": {k: generated[k] for k in hand}}, indent=1))


if __name__ == "__main__":
    main()
