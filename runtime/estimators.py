"""Run-time pieces of gradient estimators and objectives that generated code calls.

- :func:`renyi_bound`: the Renyi variational bound over particles (Li & Turner 2016).
- :func:`leave_one_out`: VIMCO's per-particle baselines (Mnih & Rezende 2016), for any
  Renyi order alpha (alpha = 0 is the IWAE bound VIMCO was written for).
- :func:`mmd`: the unbiased squared maximum mean discrepancy of two samples (Gretton et
  al. 2012), as in InfoVAE (Zhao et al. 2017).
"""
from __future__ import annotations

import math

import torch

KERNELS = ("gaussian", "imq")


def renyi_bound(log_w: torch.Tensor, alpha: float, dim: int = 0) -> torch.Tensor:
    """(1/(1-alpha)) log (1/K) sum_k w_k^(1-alpha) over ``dim`` (Li & Turner 2016, eq. 9).

    ``log_w``: log importance weights log p(x, z_k) - log q(z_k|x), K along ``dim``, in nats.
    alpha = 1 is the limit, the mean of ``log_w`` (the ELBO); alpha = 0 is the IWAE bound
    (Burda et al. 2016, eq. 8). Returns ``log_w`` without ``dim``."""
    k = log_w.shape[dim]
    if alpha == 1.0:
        return log_w.mean(dim)
    s = 1.0 - alpha
    return (torch.logsumexp(s * log_w, dim=dim) - math.log(k)) / s


def leave_one_out(log_w: torch.Tensor, alpha: float = 0.0) -> torch.Tensor:
    """VIMCO baselines: for each particle k, the bound with w_k replaced by the geometric
    mean of the other K - 1 weights (Mnih & Rezende 2016, eqs. 9-10).

    ``log_w``: [K, *batch] log importance weights, K >= 2. Returns [K, *batch]: entry k does
    not depend on particle k, so (bound - entry k) * grad log q(z_k) is an unbiased score-
    function term with a low-variance, per-particle baseline. Memory is K * K * batch.

    Raises ValueError when K < 2 (there are no other particles)."""
    k = log_w.shape[0]
    if k < 2:
        raise ValueError(f"leave-one-out baselines need at least 2 particles, got {k}")
    others = (log_w.sum(0, keepdim=True) - log_w) / (k - 1)  # log of the geometric mean of the others
    eye = torch.eye(k, dtype=torch.bool, device=log_w.device).reshape(k, k, *([1] * (log_w.dim() - 1)))
    # row k of `replaced` is the K log-weights with the k-th one swapped for `others[k]`
    replaced = torch.where(eye, others.unsqueeze(1), log_w.unsqueeze(0))
    return renyi_bound(replaced, alpha, dim=1)


def kernel(sq_dist: torch.Tensor, kind: str, scale: float) -> torch.Tensor:
    """k(a, b) from squared distances: gaussian exp(-|a-b|^2 / c), or inverse multiquadric
    c / (c + |a-b|^2) (Tolstikhin et al. 2018, section 4), with c = ``scale`` > 0."""
    if kind == "gaussian":
        return torch.exp(-sq_dist / scale)
    if kind == "imq":
        return scale / (scale + sq_dist)
    raise ValueError(f"unknown kernel {kind!r}; known: {', '.join(KERNELS)}")


def mmd(a: torch.Tensor, b: torch.Tensor, kind: str = "gaussian", scale: float = 1.0) -> torch.Tensor:
    """Unbiased squared MMD between samples ``a`` [n, D] and ``b`` [m, D] (Gretton et al.
    2012, eq. 3): the mean of k over distinct pairs within a, plus within b, minus twice the
    mean over all pairs across. A 0-d tensor; it may be slightly negative (unbiased).

    With n = 1 (or m = 1) there are no distinct pairs within that sample and its term is 0."""
    n, m = a.shape[0], b.shape[0]
    k_aa = kernel(_sq_dist(a, a), kind, scale)
    k_bb = kernel(_sq_dist(b, b), kind, scale)
    k_ab = kernel(_sq_dist(a, b), kind, scale)
    within_a = (k_aa.sum() - k_aa.diagonal().sum()) / max(n * (n - 1), 1)
    within_b = (k_bb.sum() - k_bb.diagonal().sum()) / max(m * (m - 1), 1)
    return within_a + within_b - 2 * k_ab.mean()


def _sq_dist(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    # exact differences (not |a|^2 + |b|^2 - 2ab) so the distance of a point to itself is 0
    return (a.unsqueeze(1) - b.unsqueeze(0)).pow(2).sum(-1)
