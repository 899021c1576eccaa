"""Interleaved timing: every contender runs once per round, in a rotating order, and we keep medians.

Interleaving means slow drifts of the machine (other processes, thermal state) hit every
contender alike; ratios are taken within a round, then their median over rounds.
"""
from __future__ import annotations

import statistics
import time
from typing import Callable, Sequence


def interleaved(fns: Sequence[Callable[[], object]], *, rounds: int, inner: int, warmup: int = 3,
                clock: Callable[[], float] = time.perf_counter) -> list[list[float]]:
    """Seconds per call of each of ``fns``: ``times[i][r]`` is the mean over ``inner`` calls of
    ``fns[i]`` in round ``r``. Each fn is called ``warmup`` times first (untimed). ``clock``:
    wall time by default; ``time.process_time`` counts only this process's CPU time."""
    for fn in fns:
        for _ in range(warmup):
            fn()
    times = [[] for _ in fns]
    n = len(fns)
    for r in range(rounds):
        for j in range(n):
            i = (r + j) % n  # rotate who goes first
            fn = fns[i]
            t0 = clock()
            for _ in range(inner):
                fn()
            times[i].append((clock() - t0) / inner)
    return times


def median(xs):
    return statistics.median(xs)


def paired_ratios(times: list[list[float]], ref: int) -> list[float]:
    """Median over rounds of times[i][r] / times[ref][r], for each i."""
    return [statistics.median(a / b for a, b in zip(t, times[ref])) for t in times]


def median_ci(values, level: float = 0.95, resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of the median of ``values`` (Efron &
    Tibshirani 1993, ch. 13): how far the reported median could move between reruns on the
    same machine. Deterministic (fixed seed)."""
    import random
    rng = random.Random(seed)
    n = len(values)
    medians = sorted(statistics.median(rng.choices(values, k=n)) for _ in range(resamples))
    tail = (1 - level) / 2
    return medians[int(tail * resamples)], medians[min(resamples - 1, int((1 - tail) * resamples))]


def calibrate(fn: Callable[[], object], target_s: float = 0.02) -> int:
    """How many calls of ``fn`` take about ``target_s`` (at least 1)."""
    fn()
    t0 = time.perf_counter()
    fn()
    dt = max(time.perf_counter() - t0, 1e-7)
    return max(1, int(target_s / dt))
