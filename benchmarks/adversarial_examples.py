"""Train the four adversarial examples from the command line and draw their samples in one figure.

For each of examples/gan.gm, cgan.gm, vaegan.gm and wgan_gp.gm: ``gmc train FILE --data digits
--epochs E --out runs/adversarial/NAME --quiet`` in a fresh process, timed (wall-clock, the
whole process, and its CPU seconds, user + system, which a loaded machine inflates less), then its metrics.json's evaluation (gmc.runtime.digits_eval: Fréchet distance,
label entropy, class coverage of 1,000 binarized draws). Writes docs/adversarial.png (each
model's samples.png side by side) and prints a JSON summary.

    python benchmarks/adversarial_examples.py [--epochs 100] [--only gan cgan] [--threads 1]
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ("gan", "cgan", "vaegan", "wgan_gp")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--out", default=str(ROOT / "runs" / "adversarial"))
    parser.add_argument("--figure", default=str(ROOT / "docs" / "adversarial.png"))
    parser.add_argument("--only", nargs="*", default=EXAMPLES, help="train only these (the figure reads every run)")
    parser.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS of each run (default 1)")
    args = parser.parse_args()
    summary = {}
    for name in EXAMPLES:
        out = Path(args.out) / name
        if name not in args.only:
            metrics = json.loads((out / "metrics.json").read_text())
            summary[name] = {**metrics["evaluation"], **{f"final_{k}": v[-1] for k, v in metrics["players"].items()}}
            continue
        start, used = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([sys.executable, "-m", "gmc", "train", str(ROOT / "examples" / f"{name}.gm"), "--data", "digits",
                        "--epochs", str(args.epochs), "--out", str(out), "--quiet"], check=True,
                       stdout=subprocess.DEVNULL, env={**os.environ, "OMP_NUM_THREADS": str(args.threads)})
        seconds = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime
        metrics = json.loads((out / "metrics.json").read_text())
        summary[name] = {"seconds": round(seconds, 1), "cpu_seconds": round(cpu, 1), **metrics["evaluation"],
                         **{f"final_{k}": v[-1] for k, v in metrics["players"].items()}}
        print(name, json.dumps(summary[name]), flush=True)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.image as mpimg
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(EXAMPLES), figsize=(4 * len(EXAMPLES), 4.4))
    for ax, name in zip(axes, EXAMPLES):
        ax.imshow(mpimg.imread(Path(args.out) / name / "samples.png"))
        ax.set_title(f"{name}.gm: FD {summary[name]['frechet_distance']:.1f}")
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(args.figure, dpi=80)
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
