"""JMVAE (jmvae.gm) on 8x8 digits and labels: trains the JMVAE-kl objective, then reports the
held-out loss and how well the image-only encoder carries the label: the accuracy of
argmax p(y|z) at z = the mean of q(z|x). Usage:

    python examples/jmvae.py [--epochs 20]
"""
import argparse
import json
import time
from pathlib import Path

import torch

import gmc
from gmc.runtime import data, train


def main(epochs: int = 20, seed: int = 0) -> dict:
    torch.set_num_threads(1)
    start = time.perf_counter()
    ds = data.load_dataset("digits")

    def one_hot(labels):
        return torch.nn.functional.one_hot(labels, 10).float()

    JMVAE = gmc.compile_file(Path(__file__).with_name("jmvae.gm"))
    torch.manual_seed(seed)
    model = JMVAE()
    history = train.fit(model, "loss", {"x": ds.train, "y": one_hot(ds.train_labels)},
                        {"x": ds.test, "y": one_hot(ds.test_labels)}, epochs=epochs, batch_size=64, lr=1e-3,
                        seed=seed, progress=False, log=None)
    model.eval()
    with torch.no_grad():
        z_loc, _ = model.enc_x(ds.test)
        accuracy = float((model.dec_y(z_loc).argmax(-1) == ds.test_labels).float().mean())
    result = {"heldout_loss_nats": round(history.test_loss[-1], 3), "heldout_accuracy_y_from_x": round(accuracy, 4),
              "epochs": epochs, "seconds": round(time.perf_counter() - start, 1)}
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    main(args.epochs, args.seed)
