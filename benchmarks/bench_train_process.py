"""Whole ``gmc train examples/vae.gm --data digits`` process against the hand-written script
doing the same work (``benchmarks/handwritten_train.py``).

    python benchmarks/bench_train_process.py [--pairs 3] [--epochs 50]

Each command is a fresh process; they run in alternation (gmc, hand-written, gmc, ...) after
one untimed run of each (which also fills gmc's generated-code cache, as any second
``gmc train`` of a file finds it). Per run: wall seconds, CPU seconds (user + system of the
child, from ``os.wait4``) and peak resident memory (the child's ``ru_maxrss``). Ratios are
taken pair by pair; medians are printed.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(cmd: list[str]) -> dict:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited with {proc.returncode}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_mib": usage.ru_maxrss / 1024}


def run(pairs: int = 3, epochs: int = 50) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        example = str(ROOT / "examples" / "vae.gm")
        cmds = {"gmc train": [sys.executable, "-m", "gmc", "train", example, "--data", "digits",
                              "--epochs", str(epochs), "--out", os.path.join(tmp, "gmc"), "--quiet"],
                "hand-written": [sys.executable, str(ROOT / "benchmarks" / "handwritten_train.py"),
                                 "--epochs", str(epochs), "--out", os.path.join(tmp, "hand")]}
        for cmd in cmds.values():
            _run(cmd)
        runs: dict[str, list[dict]] = {k: [] for k in cmds}
        for _ in range(pairs):
            for k, c in cmds.items():
                runs[k].append(_run(c))
    out = {"pairs": pairs, "epochs": epochs}
    for k, rs in runs.items():
        out[k] = {m: statistics.median(r[m] for r in rs) for m in ("wall_s", "cpu_s", "peak_mib")}
    out["ratio"] = {m: statistics.median(a[m] / b[m] for a, b in zip(runs["gmc train"], runs["hand-written"]))
                    for m in ("wall_s", "cpu_s", "peak_mib")}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=50)
    args = ap.parse_args()
    res = run(args.pairs, args.epochs)
    for k in ("gmc train", "hand-written"):
        r = res[k]
        print(f"{k:14s} wall {r['wall_s']:.2f} s  cpu {r['cpu_s']:.2f} s  peak {r['peak_mib']:.0f} MiB")
    r = res["ratio"]
    print(f"ratio          wall {r['wall_s']:.3f}    cpu {r['cpu_s']:.3f}    peak {r['peak_mib']:.3f}")


if __name__ == "__main__":
    main()
