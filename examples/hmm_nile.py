"""A two-state Gaussian hidden Markov model (hmm_nile.gm) on the Nile's annual flow, 1871-1970.

The series is statsmodels' ``nile`` data set (``statsmodels.datasets.nile``, shipped with the
package, no download; pip install -e '.[dev]'): the volume of the Nile at Aswan, 10^8 m^3 per
year, with a known drop around 1898/1899 (Cobb 1978). The model is fitted by maximum
likelihood: Adam on the exact log-likelihood (gmc's forward algorithm over the 2^100 state
paths), on the standardized series, keeping the best of five random starts. It then reports

- the log-likelihood in the data's units, log p(volume) = log p(standardized) - T log(sd),
  and the same log-likelihood from hmmlearn's GaussianHMM with the same parameters;
- the posterior state probabilities by forward-backward (``posterior_marginals``) and the
  regime change they put: the first year from which the low-flow state is the more probable;
- a figure, docs/hmm_nile.png: the series, each year coloured by P(high-flow state | data).

Usage:

    python examples/hmm_nile.py [--figure docs/hmm_nile.png]
"""
from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch

import gmc

ROOT = Path(__file__).resolve().parents[1]


def nile() -> tuple[np.ndarray, np.ndarray]:
    """(years [100], volume [100] in 10^8 m^3) from statsmodels' bundled copy."""
    from statsmodels.datasets import nile as dataset

    frame = dataset.load_pandas().data
    return frame["year"].to_numpy(dtype=np.int64), frame["volume"].to_numpy(dtype=np.float64)


def fit(x: torch.Tensor, seeds=range(5), steps: int = 400, lr: float = 0.05):
    """The best of ``len(seeds)`` maximum-likelihood fits of hmm_nile.gm to x [1, T] (float64):
    (model, its log-likelihood of x in nats)."""
    HMM = gmc.compile_file(Path(__file__).with_name("hmm_nile.gm"))
    best = None
    for seed in seeds:
        torch.manual_seed(seed)
        model = HMM().double()
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        for _ in range(steps):
            optimizer.zero_grad()
            loss = model.loss("loss", x=x)
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            log_lik = float(model.log_prob("p(x)", x=x)[0])
        if best is None or log_lik > best[1]:
            best = (model, log_lik)
    return best


def hmmlearn_model(model, mean: float, sd: float):
    """hmmlearn's GaussianHMM with ``model``'s parameters, mapped to the data's units
    (standardized value v is volume (v * sd + mean))."""
    from hmmlearn.hmm import GaussianHMM

    theirs = GaussianHMM(n_components=2, covariance_type="diag")
    theirs.n_features = 1
    with torch.no_grad():
        theirs.startprob_ = torch.softmax(model.init_logits, -1).numpy()
        theirs.transmat_ = torch.softmax(model.trans_logits, -1).numpy()
        theirs.means_ = (model.mu * sd + mean).numpy()[:, None]
        theirs.covars_ = ((model.log_sd.exp() * sd) ** 2).numpy()[:, None]
    return theirs


def main(figure: Path | None = ROOT / "docs" / "hmm_nile.png") -> dict:
    torch.set_num_threads(1)
    start = time.perf_counter()
    years, volume = nile()
    mean, sd = float(volume.mean()), float(volume.std())
    x = torch.as_tensor((volume - mean) / sd)[None]  # [1, T]
    model, log_lik_std = fit(x)
    seconds = time.perf_counter() - start
    with torch.no_grad():
        marginals = model.posterior_marginals("p(x)", x=x)[0].numpy()  # [T, K]
        means = (model.mu * sd + mean).numpy()
        sds = (model.log_sd.exp() * sd).numpy()
        transition = torch.softmax(model.trans_logits, -1).numpy()
    high = int(np.argmax(means))
    p_high = marginals[:, high]
    low_from = next(i for i in range(len(years)) if (p_high[i:] < 0.5).all())
    log_lik = log_lik_std - len(volume) * math.log(sd)  # nats, volume in 10^8 m^3
    out = {"log_likelihood_nats": log_lik, "seconds": seconds, "regime_change_year": int(years[low_from]),
           "means": means.tolist(), "sds": sds.tolist(), "transition": transition.tolist(),
           "p_high_1898": float(p_high[list(years).index(1898)]), "p_high_1899": float(p_high[list(years).index(1899)])}
    try:
        out["hmmlearn_log_likelihood_nats"] = float(hmmlearn_model(model, mean, sd).score(volume[:, None]))
    except ImportError:
        pass
    if figure is not None:
        _plot(years, volume, p_high, means, figure)
        out["figure"] = str(figure)
    print(json.dumps(out, indent=1))
    return out


def _plot(years, volume, p_high, means, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.2), dpi=120)
    ax.plot(years, volume, color="0.75", lw=1, zorder=1)
    points = ax.scatter(years, volume, c=p_high, cmap="coolwarm_r", vmin=0, vmax=1, s=18, zorder=2)
    for m, style in zip(sorted(means), ("--", ":")):
        ax.axhline(m, color="0.4", lw=0.8, ls=style)
    ax.set_xlabel("year")
    ax.set_ylabel("annual flow at Aswan (10^8 m^3)")
    ax.set_title("Nile flow, coloured by the posterior probability of the high-flow state")
    fig.colorbar(points, ax=ax, label="P(high-flow state | data)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--figure", type=Path, default=ROOT / "docs" / "hmm_nile.png")
    main(parser.parse_args().figure)
