"""M2 semi-supervised VAE (m2.gm) on 8x8 digits with 10% of the training labels.

Each step adds the labeled loss on a batch of labeled digits and the unlabeled loss (which
sums over the ten labels exactly) on a batch of unlabeled ones; reports the held-out
classification accuracy of argmax q(y|x). Usage:

    python examples/m2.py [--epochs 20]
"""
import argparse
import json
import time
from pathlib import Path

import torch

import gmc
from gmc.runtime import data


def main(epochs: int = 20, labeled_fraction: float = 0.1, seed: int = 0) -> dict:
    torch.set_num_threads(1)
    start = time.perf_counter()
    ds = data.load_dataset("digits")
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(ds.train), generator=g)
    n_labeled = round(labeled_fraction * len(ds.train))
    labeled, unlabeled = order[:n_labeled], order[n_labeled:]
    x_l = ds.train[labeled]
    y_l = torch.nn.functional.one_hot(ds.train_labels[labeled], 10).float()
    x_u = ds.train[unlabeled]

    M2 = gmc.compile_file(Path(__file__).with_name("m2.gm"))
    torch.manual_seed(seed)
    model = M2()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    batch = 64
    for epoch in range(epochs):
        perm = torch.randperm(len(x_u), generator=g)
        for i in range(0, len(x_u), batch):
            u = x_u[perm[i:i + batch]]
            pick = torch.randint(len(x_l), (batch,), generator=g)
            loss = model.loss("labeled", x=x_l[pick], y=y_l[pick]) + model.loss("unlabeled", x=u)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        predicted = model.cls(ds.test).argmax(-1)
        accuracy = float((predicted == ds.test_labels).float().mean())
        test_unlabeled = float(model.loss("unlabeled", x=ds.test))
    result = {"heldout_accuracy": round(accuracy, 4), "labeled_examples": n_labeled,
              "unlabeled_examples": len(x_u), "heldout_unlabeled_loss_nats": round(test_unlabeled, 3),
              "epochs": epochs, "seconds": round(time.perf_counter() - start, 1)}
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    main(args.epochs, seed=args.seed)
