"""Figure for docs/examples.md: digits drawn by examples/vrnn.gm row by row.

Loads the checkpoint of ``gmc train examples/vrnn.gm --data digits --epochs 30 --lr 0.003
--out runs/vrnn``, draws 8 digits ancestrally with the generated ``sample`` (one loop over
the 8 rows: z_t ~ p(z_t|h_{t-1}), x_t ~ p(x_t|z_t,h_{t-1}), h_t = GRU(h_{t-1}, x_t, z_t)),
and shows each after 1, 2, ..., 8 rows, one digit per line, as docs/vrnn.png.

    python examples/vrnn_rows.py [--checkpoint runs/vrnn/model.pt] [-o docs/vrnn.png]
"""
import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

import gmc  # noqa: E402
from gmc.runtime.train import load_checkpoint  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default="runs/vrnn/model.pt")
    parser.add_argument("-o", "--output", default=str(ROOT / "docs" / "vrnn.png"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    model = gmc.compile_file(ROOT / "examples" / "vrnn.gm")()
    model.load_state_dict(load_checkpoint(args.checkpoint)["state_dict"])
    torch.manual_seed(args.seed)
    with torch.no_grad():
        x = model.sample("p(x,z)", n=8)["x"]  # [8 digits, 8 rows, 8 pixels]
    fig, axes = plt.subplots(8, 8, figsize=(6, 6.3))
    for i in range(8):
        for rows in range(1, 9):
            shown = torch.full((8, 8), 0.5)
            shown[:rows] = x[i, :rows]
            ax = axes[i, rows - 1]
            ax.imshow(shown, cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(f"t = {rows - 1}", fontsize=8)
    fig.suptitle("VRNN samples, drawn row by row (grey: not drawn yet)", fontsize=9)
    fig.tight_layout()
    fig.savefig(args.output, dpi=80)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
