"""A fixed yardstick for generative models of scikit-learn's 8x8 digits, downloaded from nowhere.

A small classifier (64 -> 128 -> 64 -> 10, ReLU) is trained deterministically (seed 0,
full-batch Adam, 200 steps; once, then loaded from gmc's cache folder: :func:`classifier`), on the training split of ``--data digits`` (the
binarized digits of :func:`gmc.runtime.data.load_dataset`, split with seed 0). Its 64-unit
penultimate layer is the feature space of the Fréchet distance (the FID recipe of Heusel et al.
2017, eq. 6, with this classifier in place of Inception):

    FD = ||mu_1 - mu_2||^2 + Tr(S_1 + S_2 - 2 (S_1 S_2)^(1/2)),

between the features of the held-out digits and of the samples. Its softmax gives the label
entropy of the samples (nats; mean over samples of H[p(label | sample)], low when each sample
looks like one digit) and the class coverage (how many of the 10 digits are the arg-max label
of at least 1% of the samples). Samples must be binary like the data: a model whose draws are
probabilities is sampled (Bernoulli) first (:func:`binarize`).
"""
from __future__ import annotations

import functools
import hashlib
import os
import warnings
from pathlib import Path

import numpy as np
import torch


#: Changes whenever the classifier's recipe below changes, so a cached classifier of an old recipe misses.
_RECIPE = "mlp-64-128-64-10/seed0/adam1e-2/200steps/v1"


@functools.lru_cache(maxsize=1)
def classifier() -> tuple[torch.nn.Module, float]:
    """(the classifier in eval mode, its held-out accuracy).

    Training takes seconds (a minute on a loaded machine), so the trained weights are kept in
    gmc's cache folder (gmc.compiler.source_cache: ``$GMC_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/gmc``, else ``~/.cache/gmc``; ``GMC_NO_CACHE=1`` turns it off) under a
    SHA-256 of the recipe, torch's version and the digits data, and loaded (tensors only,
    ``weights_only``) by later processes. A missing, unreadable or mismatched entry is trained
    again and rewritten."""
    from gmc.runtime.data import load_dataset

    data = load_dataset("digits")
    net = _architecture()
    path = _cache_path(data)
    stored = _load(path, net) if path is not None else None
    if stored is None:
        _train(net, data)
        net.eval()
        with torch.no_grad():
            accuracy = (net(data.test.float()).argmax(-1) == data.test_labels.long()).double().mean().item()
        if path is not None:
            _store(path, net, accuracy)
    else:
        net.eval()
        accuracy = stored
    return net, accuracy


def _architecture() -> torch.nn.Sequential:
    return torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 64), torch.nn.ReLU(),
                               torch.nn.Linear(64, 10))


def _train(net: torch.nn.Sequential, data) -> None:
    """Seed-0 initialization (N(0, 1/fan_in) weights, zero biases), 200 full-batch Adam steps."""
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=generator) * (1.0 / p.shape[-1]) ** 0.5
                    if p.dim() == 2 else torch.zeros_like(p))
    x, y = data.train.float(), data.train_labels.long()
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    with torch.enable_grad():
        for _ in range(200):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(x), y).backward()
            opt.step()


def _cache_path(data) -> Path | None:
    """The cache entry for this recipe, torch version and data, or None when caching is off
    or the folder is not safe to use (not ours, or writable by others)."""
    from gmc.compiler.source_cache import _usable, cache_dir

    folder = cache_dir()
    if folder is None or not _usable(folder):
        return None
    digest = hashlib.sha256(f"{_RECIPE}\0{torch.__version__}\0".encode())
    for t in (data.train, data.train_labels, data.test, data.test_labels):
        array = np.ascontiguousarray(t.detach().cpu().numpy())
        digest.update(f"{array.dtype}{array.shape}".encode() + array.tobytes())
    return folder / f"digits_classifier_{digest.hexdigest()[:32]}.pt"


def _load(path: Path, net: torch.nn.Module) -> float | None:
    """Load the entry's weights into ``net`` and return its accuracy, or None when it cannot."""
    try:
        entry = torch.load(path, map_location="cpu", weights_only=True)
        net.load_state_dict(entry["state"])
        return float(entry["accuracy"])
    except Exception:  # missing, truncated or from another layout: train again
        return None


def _store(path: Path, net: torch.nn.Module, accuracy: float) -> None:
    """Write the entry atomically (a temporary file, then a rename); a failure only costs time."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        torch.save({"state": net.state_dict(), "accuracy": accuracy}, tmp)
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)


def features(x: torch.Tensor) -> np.ndarray:
    """Penultimate-layer features [N, 64] of binary images ``x`` [N, 64]."""
    net, _ = classifier()
    with torch.no_grad():
        return net[:4](x.reshape(len(x), -1).float()).double().numpy()


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to feature sets ``a`` [N, D] and ``b`` [M, D]."""
    from scipy import linalg

    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    with warnings.catch_warnings():  # dead ReLU features make the covariances singular; sqrtm copes
        warnings.simplefilter("ignore")
        root = linalg.sqrtm(s1 @ s2)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * np.real(root)))


def binarize(x: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """Bernoulli draws of probabilities ``x`` (binary values pass unchanged)."""
    return torch.bernoulli(x.double().clamp(0, 1), generator=torch.Generator().manual_seed(seed))


def evaluate_samples(samples: torch.Tensor) -> dict[str, float]:
    """``frechet_distance`` (against the held-out digits), ``label_entropy`` (nats),
    ``class_coverage`` (0..10) and the classifier's ``classifier_accuracy``, for binary samples [N, 64]."""
    from gmc.runtime.data import load_dataset

    net, accuracy = classifier()
    held_out = load_dataset("digits").test
    with torch.no_grad():
        probs = torch.softmax(net(samples.reshape(len(samples), -1).float()).double(), -1)
    entropy = -(torch.xlogy(probs, probs)).sum(-1).mean().item()
    counts = torch.bincount(probs.argmax(-1), minlength=10)
    coverage = int((counts >= 0.01 * len(samples)).sum())
    return {"frechet_distance": frechet_distance(features(held_out), features(samples)),
            "label_entropy": entropy, "class_coverage": coverage, "classifier_accuracy": accuracy}
