"""Reference: the VRNN of examples/vrnn.gm written by hand in PyTorch (Chung et al. 2015).

Same data (8x8 digits binarized, each image read as 8 rows of 8 pixels), model (a GRU state
h_t = GRU(h_{t-1}, [x_t, z_t]); prior N(z_t; MLP(h_{t-1})); posterior N(z_t; MLP([x_t, h_{t-1}]));
Bernoulli pixels with logits MLP([z_t, h_{t-1}]); one hidden layer of 64 ReLUs per MLP),
parameters (copied from gmc's module), loss (-ELBO, the per-step Gaussian KL in closed form by
torch.distributions.kl_divergence) and training loop (gmc.runtime.train.fit). Checks that both
compute the same ELBO on the same weights and noise, times one loss-and-gradient step of each
(interleaved, paired median ratio), trains both for --epochs and prints their held-out
-ELBO and IWAE bound (K = --k) in nats per digit.

    python benchmarks/handwritten_vrnn.py [--epochs 100] [--lr 0.003] [--rounds 15] [--k 100]
"""
import argparse
import json
import math
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Bernoulli, Normal, kl_divergence

import gmc
from gmc.runtime.data import load_dataset
from gmc.runtime.train import fit

sys.path.insert(0, str(Path(__file__).parent))
from timing import calibrate, interleaved, median, paired_ratios  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
T, W, Z, H, HIDDEN = 8, 8, 8, 64, 64


def _mlp(inputs, outputs):
    return nn.Sequential(nn.Linear(inputs, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, outputs))


class HandWrittenVRNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.prior = _mlp(H, 2 * Z)
        self.enc = _mlp(W + H, 2 * Z)
        self.dec = _mlp(Z + H, W)
        self.gru = nn.GRUCell(W + Z, H)

    @staticmethod
    def _normal(out):
        loc, scale = out.split(Z, dim=-1)
        return Normal(loc, F.softplus(scale))

    def bound(self, x, k=None):
        """[batch] ELBO (k None, closed-form KL) or [k, batch] log importance weights."""
        batch = x.shape[:1] if k is None else (k, x.shape[0])
        h = x.new_zeros(*batch, H)
        total = x.new_zeros(batch)
        for t in range(T):
            xt = x[:, t].expand(*batch, W)
            q = self._normal(self.enc(torch.cat([xt, h], -1)))
            p = self._normal(self.prior(h))
            z = q.rsample()
            if k is None:
                total = total - kl_divergence(q, p).sum(-1)
            else:
                total = total + p.log_prob(z).sum(-1) - q.log_prob(z).sum(-1)
            total = total + Bernoulli(logits=self.dec(torch.cat([z, h], -1))).log_prob(xt).sum(-1)
            h = self.gru(torch.cat([xt, z], -1).reshape(-1, W + Z), h.reshape(-1, H)).reshape(*batch, H)
        return total

    def loss(self, name, x):
        return -self.bound(x).mean()


def copy_weights(ours, hand):
    """The gmc module's parameters into the hand-written one (same layers, same order)."""
    with torch.no_grad():
        for mine, theirs in ((hand.prior, ours.prior), (hand.enc, ours.enc), (hand.dec, ours.dec)):
            mine[0].load_state_dict(theirs.hidden[0].state_dict())
            mine[2].load_state_dict(theirs.out.state_dict())
        hand.gru.load_state_dict(ours.cell.cell.state_dict())


def heldout(model, x, k, bound):
    """(-ELBO, -IWAE_k) averaged over x, nats per digit, in float64."""
    torch.manual_seed(0)
    with torch.no_grad():
        model = model.double()
        x = x.double()
        elbo, iwae = bound(model, x, None), []
        for chunk in x.split(64):
            w = bound(model, chunk, k)
            iwae.append(torch.logsumexp(w, 0) - math.log(k))
        model.float()
    return -float(elbo.mean()), -float(torch.cat(iwae).mean())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--lr", type=float, default=0.003)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--k", type=int, default=100)
    args = parser.parse_args()
    torch.set_num_threads(1)
    ds = load_dataset("digits")
    train = {"x": ds.train.reshape(-1, T, W)}
    test = {"x": ds.test.reshape(-1, T, W)}
    VRNN = gmc.compile_file(ROOT / "examples" / "vrnn.gm")
    torch.manual_seed(0)
    ours, hand = VRNN(), HandWrittenVRNN()
    copy_weights(ours, hand)
    x = train["x"][:128]
    torch.manual_seed(1)
    a = ours.loss("loss", x=x)
    torch.manual_seed(1)
    b = hand.loss("loss", x=x)
    same = abs(float((a - b).detach()))

    def step(model):
        model.zero_grad()
        model.loss("loss", x=x).backward()
    fns = [lambda: step(ours), lambda: step(hand)]
    times = interleaved(fns, rounds=args.rounds, inner=max(1, calibrate(fns[0])))
    results = {}
    bounds = {"gmc": lambda m, x, k: (-m.loss("loss", x=x) if k is None else None),
              "handwritten": lambda m, x, k: m.bound(x, k)}
    for name, model in (("gmc", ours), ("handwritten", hand)):
        fit(model, "loss", train, test, epochs=args.epochs, batch_size=128, lr=args.lr, progress=False, log=None)
        if name == "gmc":  # its held-out bounds through the generated methods (one loop each)
            def bound(m, xs, k):
                if k is None:
                    return torch.stack([-m.loss("loss", x=c) * len(c) for c in xs.split(64)]).sum() / len(xs)
                return _gmc_weights(m, xs, k)
        else:
            bound = bounds[name]
        results[name] = dict(zip(("neg_elbo", f"neg_iwae_{args.k}"), (round(v, 3) for v in
                                                                      heldout(model, test["x"], args.k, bound))))
    print(json.dumps({"max_abs_difference_of_elbo": same,
                      "step_ms": {"gmc": round(1e3 * median(times[0]), 3), "handwritten": round(1e3 * median(times[1]), 3)},
                      "step_ratio_gmc_over_handwritten": round(paired_ratios(times, 1)[0], 3),
                      "epochs": args.epochs, "lr": args.lr, "heldout_nats_per_digit": results}, indent=1))


def _gmc_weights(m, x, k):
    """[k, batch] log importance weights from gmc's generated sampler and densities."""
    xs = x.expand(k, *x.shape).reshape(-1, T, W)
    z = m.sample("q(z|x)", x=xs)["z"]
    return (m.log_prob("p(x,z)", x=xs, z=z) - m.log_prob("q(z|x)", z=z, x=xs)).reshape(k, -1)


if __name__ == "__main__":
    main()
