"""Cold and cached time of each derived KL and entropy (issue target: under 20 ms cold).

Run: python benchmarks/derive_time.py  (prints a table of median milliseconds per pair).
"""
from __future__ import annotations

import itertools
import statistics
import time

from gmc.compiler import symbolic
from gmc.compiler.symbolic import derive
from gmc.compiler.symbolic.registry import FORMULAS


def _cold(first: str, second: str, repeat: int = 5) -> float:
    times = []
    for i in range(repeat):
        q = derive.generic_params(first, prefix=f"q{i}_{time.perf_counter_ns()}")
        p = derive.generic_params(second, prefix=f"p{i}_{time.perf_counter_ns()}")
        start = time.perf_counter()
        symbolic.kl(first, q, second, p)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main() -> None:
    families = sorted(FORMULAS)
    print(f"{'KL[q || p]':40} {'cold ms':>8}  closed")
    worst = 0.0
    for first, second in itertools.product(families, families):
        ms = _cold(first, second)
        worst = max(worst, ms)
        closed = derive.has_closed_kl(first, second)
        print(f"{first + ' || ' + second:40} {ms:8.2f}  {'yes' if closed else 'no (Monte Carlo)'}")
    print(f"worst cold derivation: {worst:.2f} ms")


if __name__ == "__main__":
    main()
