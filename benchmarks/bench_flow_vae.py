"""Training step of the planar-flow VAE (examples/flow_vae.gm) against the same model written
by hand in PyTorch: forward, backward and Adam on a batch of 128 binarized digits, timed
interleaved (benchmarks/timing.py). Target (issue 15): gmc at most 1.05x hand-written.

    python benchmarks/bench_flow_vae.py [--rounds 30]

The hand-written model has the same architecture (ReLU MLP 256-256 encoder and decoder, z of 8,
softplus scale, 4 planar layers whose u, w, b the encoder outputs per digit, with the
invertibility constraint of Rezende & Mohamed 2015, appendix A.1) and loss (-ELBO with log q
accumulated through the log-determinants).
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

import gmc
from gmc.runtime.data import load_dataset

sys.path.insert(0, str(Path(__file__).parent))
from timing import calibrate, interleaved, median  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BATCH = 128


def planar(z, u, w, b):
    """One planar layer with per-example u, w [batch, D] and b [batch] (appendix A.1 constraint)."""
    wu = (w * u).sum(-1, keepdim=True)
    u_hat = u + (F.softplus(wu) - 1 - wu) * w / (w * w).sum(-1, keepdim=True)
    h = torch.tanh((z * w).sum(-1) + b)
    return z + h.unsqueeze(-1) * u_hat, torch.log1p((1 - h * h) * (w * u_hat).sum(-1))


class HandFlowVAE(nn.Module):
    def __init__(self, x_dim=64, z_dim=8, hidden=256, layers=4):
        super().__init__()
        self.z_dim, self.layers = z_dim, layers
        self.enc = nn.Sequential(nn.Linear(x_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, 2 * z_dim + layers * (2 * z_dim + 1)))
        self.dec = nn.Sequential(nn.Linear(z_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, x_dim))

    def loss(self, x):
        d = self.z_dim
        out = self.enc(x).split([d, d] + [d, d, 1] * self.layers, dim=-1)
        loc, scale = out[0], F.softplus(out[1])
        eps = torch.randn_like(loc)
        z = loc + scale * eps
        log_q = (-0.5 * eps ** 2 - torch.log(scale) - 0.5 * math.log(2 * math.pi)).sum(-1)
        for k in range(self.layers):
            u, w, b = out[2 + 3 * k], out[3 + 3 * k], out[4 + 3 * k].squeeze(-1)
            z, log_det = planar(z, u, w, b)
            log_q = log_q - log_det
        log_p_z = (-0.5 * z ** 2 - 0.5 * math.log(2 * math.pi)).sum(-1)
        log_p_x = -F.binary_cross_entropy_with_logits(self.dec(z), x, reduction="none").sum(-1)
        return -(log_p_x + log_p_z - log_q).mean()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    data = load_dataset("digits").train
    batches = [data[i:i + BATCH] for i in range(0, len(data) - BATCH + 1, BATCH)]
    generated = gmc.compile_file(ROOT / "examples" / "flow_vae.gm")()
    hand = HandFlowVAE()
    contenders = {"hand-written torch": (hand, hand.loss), "gmc flow_vae.gm": (generated, generated.loss_loss)}
    position = [0]

    def step_fn(module, loss_fn):
        optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)

        def step():
            x = batches[position[0] % len(batches)]
            position[0] += 1
            optimizer.zero_grad(set_to_none=True)
            loss_fn(x).backward()
            optimizer.step()
        return step

    fns = [step_fn(*c) for c in contenders.values()]
    inner = calibrate(fns[0], 0.05)
    times = interleaved(fns, rounds=args.rounds, inner=inner, warmup=5)
    ratios = [a / b for a, b in zip(times[1], times[0])]
    for name, t in zip(contenders, times):
        print(f"{name:>20}: {1e3 * median(t):.3f} ms per step (median of {len(t)} rounds)")
    print(f"gmc / hand-written: {median(ratios):.3f} (median of per-round ratios; target <= 1.05)")


if __name__ == "__main__":
    main()
