"""Run NUTS or static HMC on a potential, and report like CmdStan's ``stansummary``.

The sampler is Pyro's (``pyro.infer.mcmc.NUTS`` / ``HMC`` with ``potential_fn``): the No-U-Turn
sampler of Hoffman & Gelman (2014) with multinomial trajectory sampling (Betancourt 2017),
dual-averaging step-size adaptation and a diagonal mass matrix adapted in Stan's windows.
Chains run one after another, each seeded ``seed + chain``, starting from a point drawn
uniformly in (-2, 2) on the unconstrained scale (Stan's default initialization).
Diagnostics come from ArviZ: rank-normalized split R-hat and bulk/tail effective sample size
(Vehtari et al. 2021), Monte-Carlo standard error of the mean.
"""
from __future__ import annotations

import contextlib
import logging
import time
import warnings
from dataclasses import dataclass

import numpy as np
import torch

from gmc.runtime.errors import DataError, UserError

#: The extra that installs the sampler and the diagnostics (pyproject.toml).
INSTALL_HINT = "MCMC needs pyro-ppl and arviz: pip install 'gmc-lang[mcmc]'"


def import_arviz():
    """arviz, imported quietly (0.2x announces its 1.0 refactor with a FutureWarning)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            import arviz
    except ImportError:
        raise UserError(INSTALL_HINT) from None
    return arviz


def _pyro_mcmc():
    try:
        from pyro.infer.mcmc import HMC, MCMC, NUTS
    except ImportError:
        raise UserError(INSTALL_HINT) from None
    return HMC, MCMC, NUTS


@dataclass
class Draws:
    """Unconstrained draws ``name -> [chains, draws, *shape]``, divergences ``[chains, draws]``
    (bool) and the seconds spent in warmup plus sampling."""

    samples: dict[str, torch.Tensor]
    diverging: np.ndarray
    seconds: float


def run_chains(potential, shapes: dict[str, tuple[int, ...]], *, chains: int, draws: int, warmup: int,
               seed: int, kernel: str = "nuts", dtype=torch.float64, max_tree_depth: int = 10,
               target_accept: float = 0.8, step_size: float = 1.0, num_steps: int | None = None,
               progress: bool = False) -> Draws:
    """Sample ``chains`` chains of ``draws`` draws (after ``warmup`` adaptation steps each).

    ``potential(dict name -> tensor) -> 0-d tensor`` is U(u) in nats; ``shapes`` gives each
    unconstrained block's shape. ``kernel``: "nuts" or "hmc" (static HMC: ``num_steps``
    leapfrog steps, default 10, step size adapted). Raises DataError for counts < 1 and a
    non-finite potential at every initial point tried (100 per chain)."""
    for what, value, low in (("chains", chains, 1), ("draws", draws, 1), ("warmup", warmup, 0)):
        if not isinstance(value, int) or value < low:
            raise DataError(f"{what} must be an integer >= {low}, got {value!r}")
    HMC, MCMC, NUTS = _pyro_mcmc()
    import pyro

    per_chain, diverging = [], np.zeros((chains, draws), dtype=bool)
    start = time.perf_counter()
    for chain in range(chains):
        pyro.set_rng_seed(seed + chain)
        init = _initial_point(potential, shapes, dtype)
        if kernel == "nuts":
            k = NUTS(potential_fn=potential, step_size=step_size, adapt_step_size=True, adapt_mass_matrix=True,
                     full_mass=False, max_tree_depth=max_tree_depth, target_accept_prob=target_accept)
        elif kernel == "hmc":
            k = HMC(potential_fn=potential, step_size=step_size, num_steps=num_steps or 10, adapt_step_size=True,
                    adapt_mass_matrix=True, full_mass=False, target_accept_prob=target_accept)
        else:
            raise DataError(f"unknown MCMC kernel '{kernel}'; choose 'nuts' or 'hmc'")
        run = MCMC(k, num_samples=draws, warmup_steps=warmup, initial_params=init, num_chains=1,
                   disable_progbar=not progress)
        run.run()
        per_chain.append(run.get_samples())
        for index in run.diagnostics().get("divergences", {}).get("chain 0", []):
            if 0 <= index < draws:
                diverging[chain, index] = True
    seconds = time.perf_counter() - start
    samples = {name: torch.stack([s[name] for s in per_chain]) for name in shapes}
    return Draws(samples, diverging, seconds)


def _initial_point(potential, shapes, dtype):
    """A point uniform in (-2, 2) per coordinate with a finite potential (Stan's rule)."""
    for _ in range(100):
        point = {name: torch.rand(shape, dtype=dtype) * 4 - 2 for name, shape in shapes.items()}
        with torch.no_grad():
            if torch.isfinite(potential(point)):
                return point
    raise DataError("the log-joint is not finite at any of 100 initial points drawn uniformly in (-2, 2) on the "
                    "unconstrained scale; check the data against the model's supports")


@contextlib.contextmanager
def _quiet_arviz():
    """ArviZ logs a warning for fewer than 2 chains or 4 draws; the table says so by its R-hat (nan)."""
    logger = getattr(import_arviz(), "_log", None) or logging.getLogger("arviz")  # arviz's own Logger object
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def inference_data(posterior: dict[str, np.ndarray], diverging: np.ndarray, attrs: dict):
    """ArviZ InferenceData with groups ``posterior`` (name -> [chain, draw, *event]) and
    ``sample_stats`` (``diverging``)."""
    az = import_arviz()
    with _quiet_arviz():
        return az.from_dict(posterior=posterior, sample_stats={"diverging": diverging}, attrs=attrs)


def summary_rows(idata) -> list[tuple[str, dict[str, float]]]:
    """(label, stats) per scalar of every posterior variable: Mean, MCSE, StdDev, 5%, 50%, 95%,
    ESS_bulk, ESS_tail, R_hat. Labels are ``w[0]``, ``w[1, 2]`` (0-based, as ArviZ prints)."""
    az = import_arviz()
    post = idata.posterior
    with warnings.catch_warnings(), _quiet_arviz():
        warnings.simplefilter("ignore", RuntimeWarning)  # R-hat of a single chain, constant draws
        mcse, bulk, tail, rhat = (az.mcse(post, method="mean"), az.ess(post, method="bulk"),
                                  az.ess(post, method="tail"), az.rhat(post))
    rows = []
    for name in post.data_vars:
        values = post[name].values  # [chain, draw, *event]
        event = values.shape[2:]
        for index in np.ndindex(*event):
            x = values[(slice(None), slice(None), *index)].reshape(-1)
            label = name if not index else f"{name}[{', '.join(map(str, index))}]"
            q5, q50, q95 = np.percentile(x, [5, 50, 95])
            rows.append((label, {
                "Mean": float(x.mean()), "MCSE": float(mcse[name].values[index]), "StdDev": float(x.std(ddof=1)),
                "5%": float(q5), "50%": float(q50), "95%": float(q95),
                "ESS_bulk": float(bulk[name].values[index]), "ESS_tail": float(tail[name].values[index]),
                "R_hat": float(rhat[name].values[index])}))
    return rows


_COLUMNS = ("Mean", "MCSE", "StdDev", "5%", "50%", "95%", "ESS_bulk", "ESS_tail", "R_hat")


def summary_text(idata, title: str) -> str:
    """The stansummary-style table of ``idata``: a header line, one row per scalar, then the
    divergences and the sampling time."""
    rows = summary_rows(idata)
    stats = idata.sample_stats
    diverging = stats["diverging"].values
    chains, draws = diverging.shape
    width = max([len(label) for label, _ in rows] + [4])
    lines = [title, "", " " * width + "".join(f"{c:>10}" for c in _COLUMNS)]
    for label, row in rows:
        cells = []
        for c in _COLUMNS:
            v = row[c]
            cells.append(f"{v:>10.0f}" if c.startswith("ESS") and np.isfinite(v) else f"{v:>10.3g}"
                         if c != "R_hat" else f"{v:>10.3f}")
        lines.append(f"{label:<{width}}" + "".join(cells))
    total = int(diverging.sum())
    lines += ["", f"Divergences: {total} of {chains * draws} draws ({100.0 * total / (chains * draws):.1f}%)"]
    seconds = idata.attrs.get("sampling_seconds")
    if seconds is not None:
        lines.append(f"Sampling took {float(seconds):.1f} s (warmup and draws, all chains).")
    lines.append("ESS: rank-normalized bulk and tail effective sample size; R_hat: rank-normalized split R-hat "
                 "(Vehtari et al. 2021); MCSE: Monte-Carlo standard error of the mean.")
    return "\n".join(lines)


__all__ = ["Draws", "INSTALL_HINT", "import_arviz", "inference_data", "run_chains", "summary_rows", "summary_text"]
