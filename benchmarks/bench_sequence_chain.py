"""Markov chain of N Normal factors written once as a sequence: compile time and log-density
of gmc against hand-vectorized torch (the issue-14 goals: within 2x of vectorized torch and
compiled in under 1 s at N = 1,000).

    var x[N]: real
    p(x[0]) = Normal(0, 1)
    p(x[t]|x[t-1]) = Normal(x[t-1], 1)
    p(x) = p(x[0]) p(x[t]|x[t-1])

The same chain written factor by factor (x0, ..., x{N-1}, one line each) is
benchmarks/bench_chain.py. Times are medians of interleaved rounds (benchmarks/timing.py);
compile is ``gmc.compile_source`` from text to loaded class in a fresh interpreter (after
imports and one small compile).

    python benchmarks/bench_sequence_chain.py [--n 10 100 1000 10000]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from chain import vectorized_log_joint, vectorized_sample  # noqa: E402
from timing import calibrate, interleaved, median, paired_ratios  # noqa: E402

BATCH = 128


def sequence_gm(n: int) -> str:
    return (f"model SequenceChain\nvar x[{n}]: real\np(x[0]) = Normal(0, 1)\n"
            "p(x[t]|x[t-1]) = Normal(x[t-1], 1)\np(x) = p(x[0]) p(x[t]|x[t-1])\nloss = -mean(log p(x))\n")


_COMPILE_ONCE = """
import sys, time
sys.path.insert(0, {here!r})
from bench_sequence_chain import sequence_gm
import gmc
gmc.compile_source(sequence_gm(20))
text = sequence_gm({n})
start = time.perf_counter()
gmc.compile_source(text, filename="sequence{n}.gm")
print(time.perf_counter() - start)
"""


def compile_seconds(n: int, reps: int = 3) -> float:
    code = _COMPILE_ONCE.format(here=str(Path(__file__).parent), n=n)
    runs = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
                  .stdout.strip().splitlines()[-1]) for _ in range(reps)]
    return statistics.median(runs)


def row(n: int, rounds: int) -> dict:
    import gmc

    model = gmc.compile_source(sequence_gm(n))()
    torch.manual_seed(0)
    x = torch.randn(BATCH, n).cumsum(1)
    ours = model.log_p_x
    assert torch.allclose(ours(x), vectorized_log_joint(x), rtol=1e-5, atol=1e-3 * n ** 0.5)
    fns = [lambda: ours(x), lambda: vectorized_log_joint(x),
           lambda: model.sample_p_x(BATCH), lambda: vectorized_sample(BATCH, n)]
    inner = max(1, min(calibrate(f) for f in fns[:2]))
    with torch.no_grad():
        times = interleaved(fns[:2], rounds=rounds, inner=inner)
        sample_times = interleaved(fns[2:], rounds=max(3, rounds // 3), inner=max(1, calibrate(fns[2]) // 2))
    return {"n": n, "compile_s": compile_seconds(n), "gmc_ms": 1e3 * median(times[0]),
            "vectorized_ms": 1e3 * median(times[1]), "ratio": paired_ratios(times, 1)[0],
            "sample_gmc_ms": 1e3 * median(sample_times[0]), "sample_vectorized_ms": 1e3 * median(sample_times[1])}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[10, 100, 1000, 10000])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print("| N | gmc compile (s) | log-density gmc (ms) | vectorized torch (ms) | ratio (paired median) "
          "| sampling gmc (ms) | vectorized (ms) |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for n in args.n:
        r = row(n, args.rounds)
        print(f"| {n} | {r['compile_s']:.3f} | {r['gmc_ms']:.3f} | {r['vectorized_ms']:.3f} | {r['ratio']:.2f} "
              f"| {r['sample_gmc_ms']:.3f} | {r['sample_vectorized_ms']:.3f} |", flush=True)


if __name__ == "__main__":
    main()
