"""Held-out losses of a trained checkpoint, averaged over repeated passes (docs/examples.md).

Every loss of the model that reads only the observed variable is evaluated on the held-out
split of ``--data`` (the split ``gmc train`` used), in eval mode without gradients, and
averaged over ``--passes`` passes so the Monte Carlo noise of one-sample terms shrinks
(its standard error is printed). Nats per example.

    python benchmarks/heldout_losses.py examples/discrete_vae.gm runs/discrete_vae/model.pt [--data digits]
"""
import argparse
import math

import torch

from gmc.compiler import driver
from gmc.compiler.dataflow import data_inputs
from gmc.runtime import data, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("checkpoint")
    parser.add_argument("--data", default="digits")
    parser.add_argument("--passes", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    model_ir = driver.compile_model(*driver.read_source(args.file))
    model = driver.load(driver.python_source(model_ir), model_ir)()
    model.load_state_dict(train.load_checkpoint(args.checkpoint)["state_dict"])
    model.eval()
    observed = None
    for name, loss in model_ir.losses.items():
        inputs = data_inputs(model_ir, loss.expr)
        if len(inputs) != 1:
            continue
        variable = inputs[0]
        var = model_ir.vars[variable]
        if observed is None:
            test = data.load_dataset(args.data).test
            observed = test.reshape(test.shape[0], *var.type.shape)
        torch.manual_seed(args.seed)
        with torch.no_grad():
            values = torch.tensor([model.loss(name, **{variable: observed}).item()
                                   for _ in range(args.passes)])
        se = values.std().item() / math.sqrt(args.passes) if args.passes > 1 else float("nan")
        print(f"{name:>12}  {values.mean().item():.3f}  (+- {se:.3f})  nats per example")


if __name__ == "__main__":
    main()
