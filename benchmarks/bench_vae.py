"""VAE training step (forward, backward, Adam) and IWAE k=50 evaluation, all contenders side by side.

    python benchmarks/bench_vae.py [--rounds 20]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from timing import calibrate, interleaved, median, paired_ratios  # noqa: E402
from vae_contenders import BATCH, IWAE_K, SIZES, Batches, make_contenders  # noqa: E402

REFERENCE = "hand-written torch"


def _table(names, times, ref):
    ratios = paired_ratios(times, ref)
    return [{"name": n, "median_ms": 1e3 * median(t), "ratio": r, "rounds": len(t)}
            for n, t, r in zip(names, times, ratios)]


def vae_steps(size: str, rounds: int, with_compiled: bool, notes: list, copies: int = 2,
              with_fused: bool = True) -> list[dict]:
    """Median step time per contender (ms) and its median per-round ratio to hand-written torch.

    ``copies`` independent sets of contenders (each set starting from identical weights) run
    interleaved and are pooled: where a model's tensors happen to land in memory moves a
    single instance's step time by several percent, which one copy would report as a
    difference between contenders."""
    sets = [make_contenders(size, with_compiled=with_compiled, with_fused=with_fused, notes=notes)
            for _ in range(copies)]
    data = Batches(size)
    for contenders in sets:
        for c in contenders:  # torch.compile builds its kernels here, not in the timed rounds
            if "compile" in c.name:
                for _ in range(3):
                    c.step(data.next())
    flat = [c for contenders in sets for c in contenders]
    fns = [(lambda c=c: c.step(data.next())) for c in flat]
    names = [c.name for c in sets[0]]
    inner = calibrate(fns[names.index(REFERENCE)], 0.05)
    times = interleaved(fns, rounds=rounds, inner=inner, warmup=3)
    k = len(names)
    ref = names.index(REFERENCE)
    rows = []
    for i, name in enumerate(names):
        mine = [t for s in range(copies) for t in times[s * k + i]]
        ratios = [a / b for s in range(copies) for a, b in zip(times[s * k + i], times[s * k + ref])]
        rows.append({"name": name, "median_ms": 1e3 * median(mine), "ratio": median(ratios), "rounds": len(mine),
                     "ratios": ratios})
    return rows


def forward_backward(rounds: int) -> list[dict]:
    """Loss forward and backward only (no optimizer), small VAE: where torch.compile acts."""
    contenders = [c for c in make_contenders("small", with_compiled=True, notes=[])
                  if c.name in ("gmc", REFERENCE, "gmc (torch.compile)")]
    data = Batches("small")

    def fwd_bwd(c):
        loss = c.loss(data.next())
        loss.backward()
    fns = [(lambda c=c: fwd_bwd(c)) for c in contenders]
    inner = calibrate(fns[1], 0.05)
    times = interleaved(fns, rounds=rounds, inner=inner, warmup=5)
    names = [c.name for c in contenders]
    return _table(names, times, names.index(REFERENCE))


def iwae_eval(rounds: int, notes: list) -> list[dict]:
    """IWAE bound with k=50 particles on the small VAE, under no_grad (evaluation)."""
    contenders = [c for c in make_contenders("small", notes=[]) if c.iwae is not None]
    data = Batches("small")

    def evaluate(c):
        with torch.no_grad():
            return c.iwae(data.next())
    fns = [(lambda c=c: evaluate(c)) for c in contenders]
    inner = calibrate(fns[1], 0.05)
    times = interleaved(fns, rounds=rounds, inner=inner)
    notes.append("IWAE: Pixyz 0.3.3 and Pyro are left out of the IWAE row (no like-for-like k-particle "
                 "bound with the same nets in a few lines).")
    names = [c.name for c in contenders]
    return _table(names, times, names.index(REFERENCE))


def run(rounds: int = 20, compiled: bool = True) -> dict:
    torch.set_num_threads(1)
    notes: list[str] = []
    out = {"batch": BATCH, "sizes": {k: list(v) for k, v in SIZES.items()}, "iwae_k": IWAE_K}
    out["steps"] = {"small": vae_steps("small", 2 * rounds, compiled, notes),
                    "mnist": vae_steps("mnist", max(5, rounds // 2), False, notes)}
    if compiled:
        out["forward_backward_small"] = forward_backward(rounds)
    out["iwae"] = iwae_eval(rounds, notes)
    out["notes"] = sorted(set(notes))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--no-compile", action="store_true")
    args = ap.parse_args()
    res = run(args.rounds, not args.no_compile)
    for key, rows in list(res["steps"].items()) + [("iwae", res["iwae"])]:
        for r in rows:
            print(f"{key:6s} {r['name']:32s} {r['median_ms']:9.3f} ms  {r['ratio']:.3f}x")


if __name__ == "__main__":
    main()
