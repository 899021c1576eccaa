"""Compiling the N-factor chain (benchmarks/chain.py) stage by stage, with time and peak memory,
each run in a fresh interpreter; ``--before`` switches off chain recognition and piecewise
loading, so both sides are timed interleaved in one session (issue 19's compiler scale).

    python benchmarks/bench_compile_scale.py [--n 1000 10000] [--rounds 2]

Per run: process CPU seconds of parse, lower, check, generate (simplify, LaTeX, codegen) and
load (exec of the generated module), and the peak resident memory of the process (MiB) after
imports and one small compile, and at the end. The stages are timed one by one, so each
stage's output stays alive to the end; separate runs time ``gmc.compile_source`` as a whole
(CPU seconds and peak RSS), the way users compile.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

_RUN = """
import json, resource, sys, time
sys.path.insert(0, {here!r})
from chain import chain_gm
import gmc
from gmc.compiler import driver, recursion
from gmc.compiler.checks import check
from gmc.compiler.lower import lower
from gmc.dsl.parser import parse
if {before}:
    from gmc.compiler.codegen import markov_chain
    from gmc.runtime import piecewise
    markov_chain.MIN_RUN = piecewise.THRESHOLD = 10 ** 12
gmc.compile_source(chain_gm(20))
peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
out = {{"rss_start": peak()}}
text = chain_gm({n})

@recursion.deep_stack
@driver._gc_paused
def stages():
    t = time.process_time(); program = parse(text, "chain.gm"); out["parse"] = time.process_time() - t
    t = time.process_time(); model = lower(program); out["lower"] = time.process_time() - t
    t = time.process_time(); model = check(model); out["check"] = time.process_time() - t
    t = time.process_time(); source = driver.python_source(model); out["generate"] = time.process_time() - t
    t = time.process_time(); driver.load(source, model); out["load"] = time.process_time() - t

if {whole}:  # the pipeline as users run it: nothing of a stage kept alive past it
    t = time.process_time(); gmc.compile_source(text, filename="chain.gm"); out["whole"] = time.process_time() - t
    out["rss_peak"] = peak()
    print(json.dumps(out))
    raise SystemExit(0)
stages()
out["total"] = sum(out[k] for k in ("parse", "lower", "check", "generate", "load"))
out["rss_peak"] = peak()
print(json.dumps(out))
"""


def one(n: int, before: bool, whole: bool = False) -> dict:
    """One fresh-interpreter run: stage times and peak RSS, or (``whole``) the CPU time and
    peak RSS of ``gmc.compile_source`` alone, which keeps no stage's output past its use."""
    code = _RUN.format(here=str(HERE), n=n, before=before, whole=whole)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


KEYS = ("parse", "lower", "check", "generate", "load", "total", "rss_start", "rss_peak")
SHOWN = KEYS + ("compile_source", "rss_peak_compile_source")


def run(ns=(1000, 10000), rounds: int = 2) -> dict:
    """Medians per (N, before/after) of ``rounds`` fresh-interpreter runs, interleaved (round r
    runs before-then-after for even r, after-then-before for odd r)."""
    runs = {(n, b): [] for n in ns for b in (True, False)}
    for r in range(rounds):
        for n in ns:
            for before in ((True, False) if r % 2 == 0 else (False, True)):
                runs[(n, before)].append(one(n, before))
    wholes = {(n, b): [] for n in ns for b in (True, False)}
    for r in range(rounds):
        for n in ns:
            for before in ((True, False) if r % 2 == 0 else (False, True)):
                wholes[(n, before)].append(one(n, before, whole=True))
    rows = [{"n": n, "code": "before" if before else "after",
             **{k: statistics.median(r[k] for r in rs) for k in KEYS},
             "compile_source": statistics.median(r["whole"] for r in wholes[(n, before)]),
             "rss_peak_compile_source": statistics.median(r["rss_peak"] for r in wholes[(n, before)])}
            for (n, before), rs in runs.items()]
    return {"rounds": rounds, "load": list(os.getloadavg()), "rows": rows}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    result = run(args.n, args.rounds)
    print(f"load average at the end: {result['load']}")
    print("| N | code | " + " | ".join(SHOWN) + " |")
    print("|---:|---|" + "---:|" * len(SHOWN))
    for row in result["rows"]:
        print(f"| {row['n']} | {row['code']} | " + " | ".join(
            f"{row[k]:.0f}" if k.startswith("rss") else f"{row[k]:.2f}" for k in SHOWN) + " |")


if __name__ == "__main__":
    main()
