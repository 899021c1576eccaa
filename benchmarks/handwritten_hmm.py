"""Reference: the hidden Markov model of examples/hmm_digits.gm written by hand in PyTorch.

Same data (8x8 digits binarized, each image read as 8 rows of 8 pixels), model (K states,
homogeneous transitions, independent Bernoulli pixels per row given the row's state),
parameters, loss (exact negative log-likelihood by the forward algorithm) and training loop
(gmc.runtime.train.fit). Checks that both compute the same log-likelihood on the same
parameters, times one loss-and-gradient step of each (interleaved, paired median ratio), and
trains both for --epochs, printing their held-out losses in nats per digit.

    python benchmarks/handwritten_hmm.py [--epochs 30] [--rounds 15]
"""
import argparse
import json
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

import gmc
from gmc.runtime.data import load_dataset
from gmc.runtime.train import fit

sys.path.insert(0, str(Path(__file__).parent))
from timing import calibrate, interleaved, median, paired_ratios  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


class HandWrittenHMM(nn.Module):
    def __init__(self, k=32, width=8):
        super().__init__()
        self.init_logits = nn.Parameter(torch.zeros(k))
        self.trans_logits = nn.Parameter(0.1 * torch.randn(k, k))
        self.emit_logits = nn.Parameter(torch.randn(k, width))

    def log_likelihood(self, x):  # x: [batch, T, W]
        log_emit = -F.binary_cross_entropy_with_logits(
            self.emit_logits.expand(*x.shape[:2], *self.emit_logits.shape),
            x.unsqueeze(-2).expand(*x.shape[:2], *self.emit_logits.shape), reduction="none").sum(-1)  # [B, T, K]
        log_trans = torch.log_softmax(self.trans_logits, -1)
        alpha = torch.log_softmax(self.init_logits, -1) + log_emit[:, 0]
        for t in range(1, x.shape[1]):
            alpha = torch.logsumexp(alpha.unsqueeze(-1) + log_trans, dim=-2) + log_emit[:, t]
        return torch.logsumexp(alpha, -1)

    def loss(self, name, x):
        return -self.log_likelihood(x).mean()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    torch.set_num_threads(1)
    ds = load_dataset("digits")
    train = {"x": ds.train.reshape(-1, 8, 8)}
    test = {"x": ds.test.reshape(-1, 8, 8)}
    HMMDigits = gmc.compile_file(ROOT / "examples" / "hmm_digits.gm")
    torch.manual_seed(0)
    ours, hand = HMMDigits(), HandWrittenHMM()
    hand.load_state_dict({k: getattr(ours, k).detach().clone() for k in hand.state_dict()})
    x = train["x"][:128]
    same = float((ours.log_prob("p(x)", x=x) - hand.log_likelihood(x)).abs().max())

    def step(model):
        model.zero_grad()
        model.loss("loss", x=x).backward()
    fns = [lambda: step(ours), lambda: step(hand)]
    times = interleaved(fns, rounds=args.rounds, inner=max(1, calibrate(fns[0])))
    held_out = {}
    for name, model in (("gmc", ours), ("handwritten", hand)):
        history = fit(model, "loss", train, test, epochs=args.epochs, batch_size=128, lr=0.05, progress=False,
                      log=None)
        held_out[name] = round(history.test_loss[-1], 3)
    print(json.dumps({"max_abs_difference_of_log_likelihood": same,
                      "step_ms": {"gmc": round(1e3 * median(times[0]), 3), "handwritten": round(1e3 * median(times[1]), 3)},
                      "step_ratio_gmc_over_handwritten": round(paired_ratios(times, 1)[0], 3),
                      "epochs": args.epochs, "heldout_nats_per_digit": held_out}, indent=1))


if __name__ == "__main__":
    main()
