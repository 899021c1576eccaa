"""Whole-process latency of ``gmc check``, ``gmc latex`` and ``gmc compile`` on examples/vae.gm.

    python benchmarks/bench_cli.py [--reps 7]

Each command is a fresh ``python -m gmc ...`` process (interpreter start and imports included),
run in rotation with the others; medians over ``reps``.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "vae.gm"


def commands(out_py: str) -> dict[str, list[str]]:
    py = [sys.executable, "-m", "gmc"]
    return {"python -c pass (interpreter start)": [sys.executable, "-c", "pass"],
            "gmc check": py + ["check", str(EXAMPLE)],
            "gmc latex": py + ["latex", str(EXAMPLE)],
            "gmc compile": py + ["compile", str(EXAMPLE), "-o", out_py]}


def run(reps: int = 7) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        cmds = commands(os.path.join(tmp, "vae.py"))
        times = {k: [] for k in cmds}
        for k, c in cmds.items():  # warm the file cache once
            subprocess.run(c, check=True, capture_output=True)
        for r in range(reps):
            keys = list(cmds)
            for j in range(len(keys)):
                k = keys[(r + j) % len(keys)]
                t = time.perf_counter()
                subprocess.run(cmds[k], check=True, capture_output=True)
                times[k].append(time.perf_counter() - t)
    return {k: sorted(v)[len(v) // 2] for k, v in times.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=7)
    for k, v in run(ap.parse_args().reps).items():
        print(f"{k:40s} {v:.3f} s")


if __name__ == "__main__":
    main()
