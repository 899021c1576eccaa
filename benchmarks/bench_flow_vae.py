"""Training step of the IAF-posterior VAE (examples/flow_vae.gm) against the same model written
by hand in PyTorch: forward, backward and Adam on a batch of 128 binarized digits, timed
interleaved (benchmarks/timing.py). Target (issue 15): gmc at most 1.05x hand-written.

    python benchmarks/bench_flow_vae.py [--rounds 30]

The hand-written model has the same architecture (ReLU MLP 256-256 encoder and decoder, z of 8,
softplus scale; 4 inverse autoregressive layers, Kingma et al. 2016, eq. 10-11, each a MADE
8-64-64-16 with ReLU, Germain et al. 2015, its last layer zero at the start and its log-scales
soft-clamped to (-log 1e3, log 1e3); the coordinate order reversed between layers) and the same
loss: -ELBO with the base's KL to N(0, I) in closed form and log p(z_K) - log p(z_0) + sum of
log-determinants by Monte Carlo (the ELBO gmc derives, `gmc explain examples/flow_vae.gm`).
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
LOG_SCALE_BOUND = math.log(1e3)


class MaskedLinear(nn.Linear):
    def __init__(self, mask: torch.Tensor, zero: bool = False):
        super().__init__(mask.shape[1], mask.shape[0])
        self.register_buffer("mask", mask.float())
        if zero:
            nn.init.zeros_(self.weight)
            nn.init.zeros_(self.bias)

    def forward(self, x):
        return F.linear(x, self.weight * self.mask, self.bias)


class IAFLayer(nn.Module):
    """z -> z * exp(a(z)) + m(z), a and m from a MADE (output i reads inputs < i)."""

    def __init__(self, d=8, hidden=64):
        super().__init__()
        inputs = torch.arange(1, d + 1)
        hidden_degrees = torch.arange(hidden) % (d - 1) + 1
        outputs = torch.cat([inputs, inputs])
        self.net = nn.Sequential(
            MaskedLinear(hidden_degrees[:, None] >= inputs[None, :]), nn.ReLU(),
            MaskedLinear(hidden_degrees[:, None] >= hidden_degrees[None, :]), nn.ReLU(),
            MaskedLinear(outputs[:, None] > hidden_degrees[None, :], zero=True))

    def forward(self, z):
        shift, raw = self.net(z).chunk(2, dim=-1)
        log_scale = raw / (1 + raw.abs() / LOG_SCALE_BOUND)
        return z * log_scale.exp() + shift, log_scale.sum(-1)


class HandFlowVAE(nn.Module):
    def __init__(self, x_dim=64, z_dim=8, hidden=256, layers=4):
        super().__init__()
        self.enc = nn.Sequential(nn.Linear(x_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, 2 * z_dim))
        self.dec = nn.Sequential(nn.Linear(z_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, x_dim))
        self.flow = nn.ModuleList(IAFLayer(z_dim) for _ in range(layers))

    def loss(self, x):
        loc, raw_scale = self.enc(x).chunk(2, dim=-1)
        scale = F.softplus(raw_scale)
        z0 = loc + scale * torch.randn_like(loc)
        z, log_det = z0, 0.0
        for k, layer in enumerate(self.flow):
            if k:
                z = z.flip(-1)
            z, ld = layer(z)
            log_det = log_det + ld
        kl_base = (0.5 * (loc ** 2 + scale ** 2) - torch.log(scale) - 0.5).sum(-1)
        residual = 0.5 * (z0 ** 2 - z ** 2).sum(-1) + log_det  # log N(z_K) - log N(z_0) + log-dets
        log_p_x = -F.binary_cross_entropy_with_logits(self.dec(z), x, reduction="none").sum(-1)
        return -(log_p_x + residual - kl_base).mean()


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
