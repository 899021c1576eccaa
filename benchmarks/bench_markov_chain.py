"""A 1,000-factor Markov chain written factor by factor: gmc's log-density against hand-vectorized
torch, and against gmc's code before chains were recognised (issue 14).

    x0 ~ Normal(0, 1),   x_i | x_{i-1} ~ Normal(x_{i-1}, 1)        (benchmarks/chain.py)

Contenders, interleaved in one process (benchmarks/timing.py; process CPU time, one thread):

- gmc: the generated joint log-density, called positionally with one tensor per variable
  (its interface: N inputs of shape [batch]); the chain is stacked once and scored in one pass
  (gmc.compiler.codegen.markov_chain);
- gmc before: the same model compiled with chain recognition switched off, i.e. the grouped
  form of gmc.compiler.codegen.vectorize (values and previous values stacked separately);
- hand-vectorized: ``x [batch, N]`` already in one tensor, three tensor ops (chain.py);
- hand-vectorized from N tensors: the same after ``torch.stack(columns).T`` (the cheap stack,
  on a leading axis, read transposed) of the N inputs, i.e. the
  hand-written code given what gmc's method is given.

The inputs are either N contiguous tensors (what a data set of N variables yields) or the N
columns of one [batch, N] tensor (strided views: stacking them costs about twice as much).
Compile: ``gmc.compile_source`` text to loaded class, in this process, after a warm-up compile.

    python benchmarks/bench_markov_chain.py [--n 1000] [--rounds 15]
"""
from __future__ import annotations

import argparse
import inspect
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from chain import chain_gm, joint_signature, vectorized_log_joint  # noqa: E402
from timing import calibrate, interleaved, median, paired_ratios  # noqa: E402

BATCH = 128


def _method(text: str, n: int, recognise: bool):
    import gmc
    from gmc.compiler.codegen import markov_chain

    saved = markov_chain.MIN_RUN
    markov_chain.MIN_RUN = saved if recognise else 10 ** 9
    try:
        start = time.perf_counter()
        model = gmc.compile_source(text)()
        seconds = time.perf_counter() - start
    finally:
        markov_chain.MIN_RUN = saved
    fn = getattr(model, type(model).factors[joint_signature(n)].log_prob)
    return fn, list(inspect.signature(fn).parameters), seconds


def run(n: int, rounds: int) -> dict:
    torch.set_num_threads(1)
    import gmc
    gmc.compile_source(chain_gm(20))  # imports and parser tables
    text = chain_gm(n)
    ours, order, compile_s = _method(text, n, True)
    before, _, _ = _method(text, n, False)
    torch.manual_seed(0)
    x = torch.randn(BATCH, n).cumsum(1)
    out = {"n": n, "batch": BATCH, "rounds": rounds, "compile_s": compile_s, "load": os.getloadavg()}
    for layout, columns in (("contiguous", [x[:, i].contiguous() for i in range(n)]),
                            ("columns", [x[:, i] for i in range(n)])):
        values = dict(zip((f"x{i}" for i in range(n)), columns))
        args = [values[p] for p in order]
        assert torch.allclose(ours(*args), vectorized_log_joint(x), rtol=1e-5, atol=1e-3 * n ** 0.5)
        fns = {"gmc": lambda: ours(*args), "gmc before": lambda: before(*args),
               "hand-vectorized": lambda: vectorized_log_joint(x),
               "hand-vectorized from N tensors": lambda: vectorized_log_joint(torch.stack(columns).T)}
        inner = calibrate(fns["gmc"], 0.02)
        with torch.no_grad():
            times = interleaved(list(fns.values()), rounds=rounds, inner=inner, clock=time.process_time)
        ms = {k: 1e3 * median(t) for k, t in zip(fns, times)}
        ratios = dict(zip(fns, paired_ratios(times, 2)))  # over hand-vectorized
        out[layout] = {"ms": ms, "ratio_to_vectorized": ratios,
                       "ratio_to_vectorized_from_n": dict(zip(fns, paired_ratios(times, 3)))}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    r = run(args.n, args.rounds)
    print(f"N = {r['n']}, batch {r['batch']}, compile {r['compile_s']:.3f} s, load average {r['load']}")
    print("| inputs | contender | ms | / hand-vectorized | / hand-vectorized from N tensors |")
    print("|---|---|---:|---:|---:|")
    for layout in ("contiguous", "columns"):
        res = r[layout]
        for k, ms in res["ms"].items():
            print(f"| {layout} | {k} | {ms:.3f} | {res['ratio_to_vectorized'][k]:.2f} "
                  f"| {res['ratio_to_vectorized_from_n'][k]:.2f} |")


if __name__ == "__main__":
    main()
