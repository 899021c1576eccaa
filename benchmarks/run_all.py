"""Run every benchmark side by side and write docs/performance.md, docs/performance.png and docs/performance.json.

    pip install -e '.[bench]'          # Pixyz 0.3.3 and Pyro 1.9 (optional contenders)
    python benchmarks/run_all.py       # about 10 minutes on one core; --quick for a smoke run

One thread (torch.set_num_threads(1)), CPU. Contenders run interleaved, rounds rotate who goes
first, and we report medians (ratios: the median over rounds of each round's ratio).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
ROOT = Path(__file__).resolve().parents[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="few rounds, chain up to N=1000")
    ap.add_argument("--no-compile", action="store_true", help="leave out the torch.compile contender")
    ap.add_argument("--rounds", type=int, default=20, help="timing rounds (the small VAE gets twice as many)")
    ap.add_argument("--out", default=str(ROOT / "docs"))
    args = ap.parse_args()

    import torch
    torch.set_num_threads(1)
    import bench_api
    import bench_chain
    import bench_cli
    import bench_train
    import bench_train_process
    import bench_vae
    import report

    started = time.time()
    results = {"machine": report.machine(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    print("VAE steps and IWAE ...", flush=True)
    results["vae"] = bench_vae.run(rounds=5 if args.quick else args.rounds, compiled=not args.no_compile)
    print("chain ...", flush=True)
    results["chain"] = bench_chain.run((10, 100, 1000) if args.quick else (10, 100, 1000, 10000),
                                       rounds=3 if args.quick else 10)
    print("command line ...", flush=True)
    results["cli"] = bench_cli.run(reps=3 if args.quick else 7)
    print("training loop, API, whole gmc train ...", flush=True)
    results["train_loop"] = bench_train.run(rounds=5 if args.quick else 25)
    results["api"] = bench_api.run(n=1000 if args.quick else 10000, rounds=5 if args.quick else 15)
    results["train_process"] = bench_train_process.run(pairs=1 if args.quick else 3, epochs=2 if args.quick else 50)
    print("Markov chain written factor by factor, compile scale ...", flush=True)
    import bench_compile_scale
    import bench_markov_chain
    results["markov_chain"] = bench_markov_chain.run(1000, rounds=5 if args.quick else 15)
    results["compile_scale"] = bench_compile_scale.run((1000,) if args.quick else (1000, 10000), rounds=1 if args.quick else 2)
    results["wall_s"] = time.time() - started
    out = Path(args.out)
    (out / "performance.json").write_text(json.dumps(results, indent=1) + "\n")
    report.write(results, out)
    print(f"wrote {out / 'performance.md'} and performance.png in {results['wall_s']:.0f} s")


if __name__ == "__main__":
    main()
