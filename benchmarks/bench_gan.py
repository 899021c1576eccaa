"""gmc's GAN against the hand-written one, and the VAE-GAN against the VAE (issue 16).

1. Quality: the Fréchet distance (gmc.runtime.digits_eval: features of a fixed digits
   classifier, held-out digits against 1,000 binarized draws) of examples/gan.gm trained by
   gmc and of benchmarks/handwritten_gan.py, same nets, optimizers, batches and steps, mean of
   --seeds seeds each.
2. Speed: seconds per training step (one discriminator and one generator update, batch 128),
   gmc's round (runtime.adversarial.round_) against the hand-written step, in interleaved
   blocks of 5 steps; the ratio of the medians and the median of the paired block ratios.
3. The VAE-GAN (examples/vaegan.gm) against the VAE (examples/vae.gm), same epochs: the
   Fréchet distance of 1,000 binarized draws of x (the VAE's Bernoulli draws from p(x,z)).

    python benchmarks/bench_gan.py [--epochs 100] [--seeds 3] [--blocks 60] [--skip-quality]
"""
import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import gmc  # noqa: E402
from gmc.runtime import adversarial, digits_eval  # noqa: E402
from gmc.runtime.data import load_dataset  # noqa: E402

import handwritten_gan  # noqa: E402


def train_gmc_game(path: str, game: str, epochs: int, seed: int):
    cls = gmc.compile_file(ROOT / "examples" / path)
    data = load_dataset("digits")
    torch.manual_seed(seed)
    model = cls()
    adversarial.fit_game(model, game, {"x": data.train}, {"x": data.test[:128]}, epochs=epochs, batch_size=128,
                         seed=seed)
    return model


def gmc_fd(model, game: str, seed: int) -> float:
    torch.manual_seed(seed)
    drawn = adversarial.draw(model, game, {"x": torch.zeros(1000, 64)})[0]
    return digits_eval.evaluate_samples(digits_eval.binarize(drawn, seed))["frechet_distance"]


def handwritten_fd(epochs: int, seed: int) -> float:
    model = handwritten_gan.train(epochs, seed)
    torch.manual_seed(seed)
    with torch.no_grad():
        drawn = model.draw(1000)
    return digits_eval.evaluate_samples(digits_eval.binarize(drawn, seed))["frechet_distance"]


def vae_fd(epochs: int, seed: int) -> float:
    from gmc.runtime.train import fit

    cls = gmc.compile_file(ROOT / "examples" / "vae.gm")
    data = load_dataset("digits")
    torch.manual_seed(seed)
    model = cls()
    fit(model, "loss", {"x": data.train}, {"x": data.test}, epochs=epochs, batch_size=128, lr=1e-3, seed=seed,
        progress=False)
    torch.manual_seed(seed)
    with torch.no_grad():
        drawn = model.sample("p(x,z)", n=1000)["x"]
    return digits_eval.evaluate_samples(drawn)["frechet_distance"]


def step_times(blocks: int, steps: int = 5) -> dict:
    data = load_dataset("digits").train
    torch.manual_seed(0)
    cls = gmc.compile_file(ROOT / "examples" / "gan.gm")
    ours = cls()
    info = cls.games["gan"]
    opts = adversarial.optimizers(ours, info)
    theirs = handwritten_gan.HandWrittenGAN()
    opt_d, opt_g = handwritten_gan.optimizers(theirs)
    x = data[:128]

    def batches():
        while True:
            yield {"x": x}

    stream = batches()
    timings = {"gmc": [], "handwritten": []}
    for block in range(blocks):
        for name in (("gmc", "handwritten") if block % 2 == 0 else ("handwritten", "gmc")):
            start = time.perf_counter()
            for _ in range(steps):
                if name == "gmc":
                    adversarial.round_(ours, info, stream, opts, {})
                else:
                    handwritten_gan.step(theirs, opt_d, opt_g, x)
            timings[name].append((time.perf_counter() - start) / steps)
    gmc_s, hand_s = statistics.median(timings["gmc"]), statistics.median(timings["handwritten"])
    paired = statistics.median(a / b for a, b in zip(timings["gmc"], timings["handwritten"]))
    return {"gmc_ms": 1e3 * gmc_s, "handwritten_ms": 1e3 * hand_s, "ratio": gmc_s / hand_s,
            "median_paired_ratio": paired}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--blocks", type=int, default=60)
    parser.add_argument("--skip-quality", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    result = {"epochs": args.epochs, "steps": args.epochs * 12, "step_time": step_times(args.blocks)}
    print(json.dumps(result["step_time"]), flush=True)
    if not args.skip_quality:
        seeds = range(args.seeds)
        result["gan_fd_gmc"] = [gmc_fd(train_gmc_game("gan.gm", "gan", args.epochs, s), "gan", s) for s in seeds]
        print("gmc", result["gan_fd_gmc"], flush=True)
        result["gan_fd_handwritten"] = [handwritten_fd(args.epochs, s) for s in seeds]
        print("handwritten", result["gan_fd_handwritten"], flush=True)
        result["vaegan_fd"] = [gmc_fd(train_gmc_game("vaegan.gm", "vaegan", args.epochs, s), "vaegan", s)
                               for s in seeds]
        result["vae_fd"] = [vae_fd(args.epochs, s) for s in seeds]
        for key in ("gan_fd_gmc", "gan_fd_handwritten", "vaegan_fd", "vae_fd"):
            result[key + "_mean"] = statistics.mean(result[key])
        result["gan_fd_relative_difference"] = (result["gan_fd_gmc_mean"] / result["gan_fd_handwritten_mean"] - 1)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
