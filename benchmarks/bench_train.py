"""``runtime.train.fit`` against a bare training loop over the same generated loss.

    python benchmarks/bench_train.py [--rounds 25]

Both sides train the same generated model (a copy each, same initial weights) for 4 epochs of
16 batches of 128 (synthetic binary data, fixed seed), each followed by one held-out batch:

- ``fit``: ``gmc.runtime.train.fit(model, "loss", ...)`` as ``gmc train`` calls it (no bar,
  no log lines), so its per-step checks, bookkeeping and per-epoch work are included;
- ``bare``: a seeded run with torch's fused Adam (built per call, as ``fit`` does) and the
  loop an expert writes: shuffle, gather, generated ``loss_loss``, zero_grad, backward, step, accumulate
  ``loss.item()``; after each epoch one ``no_grad`` held-out loss.

Models: the small benchmark VAE (64-128-8) and ``examples/vae.gm``. Two independent pairs per
model (where tensors land in memory moves one instance by a few percent), interleaved rounds
with rotating order; the ratio is the median over rounds of fit / bare in the same round.
Times are the CPU time of this (single-threaded) process, ``time.process_time``: on a shared
machine it leaves out the time other jobs held the core, which wall time would add at random.
"""
from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import time

import torch

sys.path.insert(0, str(Path(__file__).parent))
from timing import interleaved, median  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
EPOCHS, STEPS, BATCH = 4, 16, 128


def _model(which: str):
    import gmc
    from vae_contenders import gm_source

    text = gm_source("small") if which == "small" else (ROOT / "examples" / "vae.gm").read_text()
    torch.manual_seed(0)
    return gmc.compile_source(text)()


def contenders(which: str):
    """(fit, bare): zero-argument callables running one epoch each on their own model copy."""
    from gmc.runtime.train import adam, fit

    base = _model(which)
    g = torch.Generator().manual_seed(0)
    train = torch.bernoulli(torch.full((STEPS * BATCH, 64), 0.3), generator=g)
    test = torch.bernoulli(torch.full((BATCH, 64), 0.3), generator=g)
    fit_model, bare_model = copy.deepcopy(base), copy.deepcopy(base)

    def run_fit():
        fit(fit_model, "loss", {"x": train}, {"x": test}, epochs=EPOCHS, batch_size=BATCH, progress=False, log=None)

    def run_bare():
        torch.manual_seed(0)
        params = [p for p in bare_model.parameters() if p.requires_grad]
        opt = adam(params, 1e-3)
        gen = torch.Generator().manual_seed(0)
        for _ in range(EPOCHS):
            perm = torch.randperm(len(train), generator=gen)
            total = 0.0
            for s in range(STEPS):
                x = train[perm[s * BATCH:(s + 1) * BATCH]]
                loss = bare_model.loss_loss(x)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += loss.item()
            bare_model.eval()
            with torch.no_grad():
                total += bare_model.loss_loss(test).item()
            bare_model.train()
    return run_fit, run_bare


def run(rounds: int = 25) -> dict:
    torch.set_num_threads(1)
    out = {"epochs": EPOCHS, "steps_per_epoch": STEPS, "batch": BATCH, "clock": "process CPU time"}
    for which in ("small", "vae.gm"):
        fns = [fn for _ in range(2) for fn in contenders(which)]
        times = _cpu_timed(fns, rounds)
        fit_t, bare_t = times[0] + times[2], times[1] + times[3]
        ratios = [a / b for a, b in zip(fit_t, bare_t)]
        steps = EPOCHS * STEPS
        out[which] = {"fit_step_ms": 1e3 * median(fit_t) / steps, "bare_step_ms": 1e3 * median(bare_t) / steps,
                      "ratio": median(ratios), "ratios": ratios}
    return out


def _cpu_timed(fns, rounds):
    return interleaved(fns, rounds=rounds, inner=1, warmup=2, clock=time.process_time)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=25)
    res = run(ap.parse_args().rounds)
    for which in ("small", "vae.gm"):
        r = res[which]
        print(f"{which:7s} fit {r['fit_step_ms']:.3f} ms/step  bare {r['bare_step_ms']:.3f} ms/step  "
              f"ratio {r['ratio']:.3f}")


if __name__ == "__main__":
    main()
