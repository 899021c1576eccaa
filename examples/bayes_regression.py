"""Bayesian linear regression (bayes_regression.gm) on scikit-learn's diabetes data.

Trains the mean-field Normal posterior q(w) by minimizing the data-set ELBO (the plate 'data' scales
each minibatch's log-likelihood by N / B, with N the training set's size), then reports the
held-out RMSE of the posterior-mean prediction x . E_q[w] + b next to scikit-learn's
BayesianRidge fitted to the same standardized split. Usage:

    python examples/bayes_regression.py
"""
import argparse
import json
import sys
import time
from pathlib import Path

import torch

import gmc
from gmc.runtime import data, train


def main() -> dict:
    torch.set_num_threads(1)
    start = time.perf_counter()
    ds = data.load_dataset("diabetes")
    BayesRegression = gmc.compile_file(Path(__file__).with_name("bayes_regression.gm"))
    torch.manual_seed(0)
    model = BayesRegression()  # fit gives the plate 'data' its size, the training set's
    train_data = {"x": ds.train, "y": ds.train_targets}
    test_data = {"x": ds.test, "y": ds.test_targets}
    history = train.fit(model, "loss", train_data, test_data, epochs=300, batch_size=64, lr=0.01,
                        progress=False, log=None)
    with torch.no_grad():
        prediction = ds.test @ model.w_loc + model.b
        rmse = float(((prediction - ds.test_targets) ** 2).mean().sqrt())
        posterior_sd = torch.nn.functional.softplus(model.w_scale)
        noise_sd = float(model.log_sigma.exp())
    seconds = time.perf_counter() - start

    from sklearn.linear_model import BayesianRidge

    ridge = BayesianRidge().fit(ds.train.numpy(), ds.train_targets.numpy())
    ridge_rmse = float((((ridge.predict(ds.test.numpy()) - ds.test_targets.numpy()) ** 2).mean()) ** 0.5)
    result = {"heldout_rmse": round(rmse, 4), "bayesian_ridge_rmse": round(ridge_rmse, 4),
              "heldout_loss_nats_per_dataset": round(history.test_loss[-1], 4),
              "noise_sd": round(noise_sd, 4),
              "posterior_sd_mean": round(float(posterior_sd.mean()), 4), "seconds": round(seconds, 1),
              "units": "standardized target (training-split standard deviation = 1)"}
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                            formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    sys.exit(0 if main() else 1)
