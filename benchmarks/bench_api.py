"""The public API against the generated method it calls, on the N-factor chain of benchmarks/chain.py.

    python benchmarks/bench_api.py [--n 10000] [--rounds 15]

Contenders, all evaluating the joint log-density of a batch of 128 under ``no_grad``: the
generated method called positionally (the reference), the same method called with one keyword
per variable, ``model.log_prob("p(x0,...)", **values)`` and ``model.loss(**values)``.
Interleaved rounds, CPU time of this process (``time.process_time``); ratios are medians over
rounds of each contender / positional in the same round.
"""
from __future__ import annotations

import argparse
import inspect
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from chain import chain_gm, joint_signature  # noqa: E402
from timing import interleaved, median  # noqa: E402

BATCH = 128


def run(n: int = 10000, rounds: int = 15) -> dict:
    import gmc

    torch.set_num_threads(1)
    model = gmc.compile_source(chain_gm(n))()
    x = torch.randn(BATCH, n).cumsum(1)
    values = {f"x{i}": x[:, i] for i in range(n)}
    sig = joint_signature(n)
    method = getattr(model, type(model).factors[sig].log_prob)
    args = [values[p] for p in inspect.signature(method).parameters]
    contenders = {"generated method, positional": lambda: method(*args),
                  "generated method, keywords": lambda: method(**values),
                  "model.log_prob(sig, **values)": lambda: model.log_prob(sig, **values),
                  "model.loss(**values)": lambda: model.loss(**values)}
    with torch.no_grad():
        times = interleaved(list(contenders.values()), rounds=rounds, inner=1, warmup=1, clock=time.process_time)
    return {"n": n, "batch": BATCH, "clock": "process CPU time",
            "rows": [{"name": k, "median_ms": 1e3 * median(t), "ratio": median(a / b for a, b in zip(t, times[0]))}
                     for k, t in zip(contenders, times)]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    for row in run(args.n, args.rounds)["rows"]:
        print(f"{row['name']:34s} {row['median_ms']:9.2f} ms  {row['ratio']:.3f}x")


if __name__ == "__main__":
    main()
