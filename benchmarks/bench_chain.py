"""Markov chain of N Normal factors: compile time, log-density and ancestral sampling, gmc vs Pixyz and torch.

    python benchmarks/bench_chain.py [--n 10 100 1000 10000]
"""
from __future__ import annotations

import argparse
import inspect
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from chain import chain_gm, joint_signature, pixyz_chain, straight_line, vectorized_log_joint, vectorized_sample  # noqa: E402,E501
from timing import calibrate, interleaved, median  # noqa: E402

BATCH = 128
PIXYZ_BUDGET_S = 30.0  # stop building larger Pixyz chains once one takes longer than this


_COMPILE_ONCE = """
import sys, time
sys.path.insert(0, {here!r})
from chain import chain_gm
import gmc
gmc.compile_source(chain_gm(20))  # imports, parser tables, every code path: not part of the time
text = chain_gm({n})
start = time.perf_counter()
gmc.compile_source(text, filename="chain{n}.gm")
print(time.perf_counter() - start)
"""


def _compile_once(n: int) -> float:
    """Seconds of ``gmc.compile_source`` (text to loaded class) for the N-chain, in a fresh
    interpreter: in this process the heap left by the other benchmarks (Pixyz's objects among
    them) slowed the largest N by 10-30%."""
    code = _COMPILE_ONCE.format(here=str(Path(__file__).parent), n=n)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def compile_times(ns, reps: int = 5, reps_large: int = 3) -> dict[int, list[float]]:
    """Fresh-interpreter compile times for each N, interleaved: round r compiles every N once
    (an N of 10,000 or more only in the first ``reps_large`` rounds), so a slow phase of the
    shared machine hits all N alike instead of the N that happened to run then; the growth
    with N is read from these."""
    runs = {n: reps_large if n >= 10000 else reps for n in ns}
    times: dict[int, list[float]] = {n: [] for n in ns}
    for r in range(max(runs.values())):
        for n in ns:
            if r < runs[n]:
                times[n].append(_compile_once(n))
    return times


def chain_row(n: int, pixyz_ok: bool, rounds: int, compile_runs: list[float]) -> dict:
    import gmc

    row = {"n": n}
    # median of 5 (3 at N >= 10,000): single runs vary by 10-40% on a shared machine
    row["gmc_compile_runs_s"] = compile_runs
    row["gmc_compile_s"] = median(compile_runs)
    model = gmc.compile_source(chain_gm(n))()
    x = torch.randn(BATCH, n).cumsum(1)
    values = {f"x{i}": x[:, i] for i in range(n)}
    name = type(model).factors[joint_signature(n)]
    log_joint, sample = getattr(model, name.log_prob), getattr(model, name.sample)
    hand = straight_line(n)
    # Positional arguments, in the generated signature's order: CPython matches keyword
    # arguments by a linear scan of the parameter names, quadratic at N = 10,000 keywords.
    args = [values[p] for p in inspect.signature(log_joint).parameters]
    contenders = {
        "gmc": lambda: log_joint(*args),
        "gmc log_prob API": lambda: model.log_prob(joint_signature(n), **values),
        "hand-written straight-line": lambda: hand(x),
        "hand-written vectorized": lambda: vectorized_log_joint(x),
    }
    samplers = {"gmc": lambda: sample(n=BATCH), "hand-written vectorized": lambda: vectorized_sample(BATCH, n)}
    if pixyz_ok:
        t = time.perf_counter()
        joint = pixyz_chain(n)
        row["pixyz_build_s"] = time.perf_counter() - t
        pvalues = dict(values)
        contenders["Pixyz 0.3.3"] = lambda: joint.get_log_prob(pvalues)
        samplers["Pixyz 0.3.3"] = lambda: joint.sample(batch_n=BATCH)
    assert torch.allclose(log_joint(**values), vectorized_log_joint(x), rtol=1e-4, atol=1e-2)
    with torch.no_grad():
        for label, group in (("log_density_ms", contenders), ("sample_ms", samplers)):
            fns = list(group.values())
            inner = calibrate(fns[0], 0.02)
            times = interleaved(fns, rounds=rounds if n < 10000 else 3, inner=inner, warmup=1)
            row[label] = {k: 1e3 * median(t) for k, t in zip(group, times)}
    return row


def run(ns=(10, 100, 1000, 10000), rounds: int = 10) -> dict:
    torch.set_num_threads(1)
    import gmc

    gmc.compile_source(chain_gm(3))  # imports and parser tables: not part of any N's time
    try:
        import pixyz  # noqa: F401
        pixyz_ok = True
    except ImportError:
        pixyz_ok = False
    runs = compile_times(ns)
    rows = []
    for n in ns:
        try:
            row = chain_row(n, pixyz_ok, rounds, runs[n])
        except (RecursionError, MemoryError) as exc:
            rows.append({"n": n, "error": f"{type(exc).__name__}: {exc}"})
            print(rows[-1], flush=True)
            break
        rows.append(row)
        print(row, flush=True)
        if row.get("pixyz_build_s", 0) > PIXYZ_BUDGET_S / 10:
            pixyz_ok = False  # super-linear: the next N (10x) would blow the budget
    return {"batch": BATCH, "rows": rows}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[10, 100, 1000, 10000])
    ap.add_argument("--rounds", type=int, default=10)
    args = ap.parse_args()
    run(args.n, args.rounds)


if __name__ == "__main__":
    main()
