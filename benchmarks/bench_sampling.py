"""Ancestral sampling of ``examples/vae.gm``'s ``p(x,z)``: generated method, API, hand-written.

    python benchmarks/bench_sampling.py [--n 10000] [--rounds 15]

Three contenders draw ``n`` pairs (z ~ N(0, I), x ~ Bernoulli(sigmoid(dec(z)))) with the same
decoder weights: the generated ``sample_p_x_z(n)``, the API ``model.sample("p(x,z)", n=n)``,
and the hand-written lines an expert writes (``torch.randn``, the decoder, ``torch.bernoulli``
of ``torch.sigmoid``) with the decoder an ``nn.Sequential`` of the same layers. Interleaved
rounds, rotating order, process CPU time; ratio = median over rounds of contender /
hand-written in the same round.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).parent))
from timing import calibrate, interleaved, median, paired_ratios  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
Z = 8


def contenders(n: int):
    """{name: zero-argument callable drawing n samples}, the hand-written one last."""
    import gmc

    torch.manual_seed(0)
    model = gmc.compile_file(ROOT / "examples" / "vae.gm")().eval()
    linears = [*model.dec.hidden, model.dec.out]
    layers = []
    for i, linear in enumerate(linears):
        copy = nn.Linear(linear.in_features, linear.out_features)
        copy.load_state_dict(linear.state_dict())
        layers += [copy] if i == len(linears) - 1 else [copy, nn.ReLU()]
    dec = nn.Sequential(*layers).eval()

    @torch.no_grad()
    def hand_written():
        z = torch.randn(n, Z)
        return torch.bernoulli(torch.sigmoid(dec(z))), z

    @torch.no_grad()
    def generated():
        return model.sample_p_x_z(n)

    @torch.no_grad()
    def api():
        return model.sample("p(x,z)", n=n)

    return {"gmc generated method": generated, "gmc model.sample": api, "hand-written torch": hand_written}


def run(n: int = 10000, rounds: int = 15) -> dict:
    torch.set_num_threads(1)
    fns = contenders(n)
    names = list(fns)
    inner = max(1, calibrate(fns["hand-written torch"], 0.05))
    times = interleaved(list(fns.values()), rounds=rounds, inner=inner, clock=time.process_time)
    ratios = paired_ratios(times, len(names) - 1)
    return {"n": n, "clock": "process CPU time",
            "rows": [{"name": k, "median_ms": 1e3 * median(t), "ratio": r} for k, t, r in zip(names, times, ratios)]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    for r in run(args.n, args.rounds)["rows"]:
        print(f"{r['name']:24s} {r['median_ms']:8.3f} ms  ratio {r['ratio']:.3f}")


if __name__ == "__main__":
    main()
