"""NUTS effective samples per second: gmc's compiled log-joint vs Pyro's trace-based model.

    pip install -e '.[mcmc]' && python benchmarks/bench_mcmc.py [--rounds 3] [--draws 500] [--warmup 500]

The model is the conjugate Bayesian linear regression on scikit-learn's diabetes data (training
split, 353 examples x 10 standardized features): w ~ N(0, 1), y ~ N(x.w, 0.7). Both contenders
use the same sampler, Pyro's NUTS (max tree depth 10, target acceptance 0.8, step size and
diagonal mass adapted, float64, no JIT), one chain of W warmup + N draws from a uniform
(-2, 2) start; they differ only in the potential: gmc passes ``potential_fn`` built from the
generated ``log_p_w`` and ``log_p_y_given_x_w``; Pyro traces the model at every gradient.
Reported: min over the 10 coordinates of the bulk ESS (ArviZ) per second of wall time
(warmup and draws), per round; contenders alternate, the first rotating per round; medians and
the median of per-round ratios. One thread (torch.set_num_threads(1)).
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings

import numpy as np
import torch

SIGMA, TAU = 0.7, 1.0

GM = f"""
model DiabetesRegression
const D = 10
param sigma = {SIGMA}
param tau = {TAU}
var x: real[D]
var y: real
var global w: real[D]
p(w)     = Normal(0, tau)
p(y|x,w) = Normal(loc=x @ w, scale=sigma)
p(y,w|x) = p(y|x,w) p(w)
"""


def _data():
    from gmc.runtime import data

    ds = data.load_dataset("diabetes")
    return ds.train.double(), ds.train_targets.double()


def _min_bulk_ess(draws: np.ndarray) -> float:
    """draws [chain, draw, D] -> min bulk ESS over D."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import arviz as az
    return float(az.ess(az.convert_to_dataset({"w": draws}), method="bulk")["w"].min())


def run_gmc(x, y, draws, warmup, seed):
    import gmc

    start = time.perf_counter()
    idata = gmc.mcmc(source=GM, data={"x": x, "y": y}, chains=1, draws=draws, warmup=warmup, seed=seed)
    seconds = time.perf_counter() - start
    return _min_bulk_ess(idata.posterior["w"].values), seconds


def run_pyro(x, y, draws, warmup, seed):
    import pyro
    import pyro.distributions as dist
    from pyro.infer.mcmc import MCMC, NUTS

    def model(x, y):
        w = pyro.sample("w", dist.Normal(torch.zeros(10, dtype=torch.float64), TAU).to_event(1))
        with pyro.plate("data", x.shape[0]):
            pyro.sample("y", dist.Normal(x @ w, SIGMA), obs=y)

    pyro.set_rng_seed(seed)
    start = time.perf_counter()
    kernel = NUTS(model, adapt_step_size=True, adapt_mass_matrix=True, full_mass=False, max_tree_depth=10,
                  target_accept_prob=0.8, jit_compile=False)
    run = MCMC(kernel, num_samples=draws, warmup_steps=warmup, num_chains=1, disable_progbar=True)
    run.run(x, y)
    seconds = time.perf_counter() - start
    return _min_bulk_ess(run.get_samples()["w"].unsqueeze(0).numpy()), seconds


def run(rounds: int = 3, draws: int = 500, warmup: int = 500) -> dict:
    torch.set_num_threads(1)
    x, y = _data()
    contenders = {"gmc": run_gmc, "pyro": run_pyro}
    rows = {name: [] for name in contenders}
    for r in range(rounds):
        order = list(contenders) if r % 2 == 0 else list(contenders)[::-1]
        for name in order:
            ess, seconds = contenders[name](x, y, draws, warmup, seed=r)
            rows[name].append({"min_bulk_ess": ess, "seconds": seconds, "ess_per_s": ess / seconds})
            print(f"round {r} {name:5s} min bulk ESS {ess:7.1f} in {seconds:6.1f} s = {ess / seconds:7.1f}/s",
                  flush=True)
    ratios = [g["ess_per_s"] / p["ess_per_s"] for g, p in zip(rows["gmc"], rows["pyro"])]
    time_ratios = [p["seconds"] / g["seconds"] for g, p in zip(rows["gmc"], rows["pyro"])]
    result = {"rounds": rows, "settings": {"draws": draws, "warmup": warmup, "chains": 1, "threads": 1},
              "median_ess_per_s": {n: statistics.median(v["ess_per_s"] for v in rows[n]) for n in rows},
              "median_ratio_ess_per_s": statistics.median(ratios),
              "median_speedup_wall": statistics.median(time_ratios)}
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--draws", type=int, default=500)
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    result = run(args.rounds, args.draws, args.warmup)
    print(json.dumps({k: v for k, v in result.items() if k != "rounds"}, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
