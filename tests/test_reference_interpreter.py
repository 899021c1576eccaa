"""Differential tests: generated code against the reference interpreter (tests/reference_interpreter).

For every shipped program (examples/ and the good, info and warn goldens), in float64, at
batch sizes 1 and 7:
- every factor's generated log-density equals the interpreter's to 1e-9;
- every loss whose value needs no sample (log-densities, closed forms torch.distributions
  also has, exact sums over discrete variables) equals the interpreter's to 1e-9.
Stochastic losses are compared in distribution by tests/test_reference_sampling.py.
"""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from gmc.compiler.driver import compile_class
from reference_interpreter.interpreter import NotExact, Reference

ROOT = Path(__file__).parent.parent
PROGRAMS = sorted([*ROOT.glob("examples/*.gm"), *ROOT.glob("tests/golden/good/*.gm"),
                   *ROOT.glob("tests/golden/info/*.gm"), *ROOT.glob("tests/golden/warn/*.gm")])

pytestmark = pytest.mark.usefixtures("float64")


def random_value(support: str, shape: tuple[int, ...], batch: tuple[int, ...], gen: torch.Generator):
    """A random value of ``support`` with shape [*batch, *shape] (float64)."""
    full = batch + shape
    if support == "real":
        return torch.randn(full, generator=gen)
    if support == "positive":
        return torch.exp(torch.randn(full, generator=gen))
    if support == "unit":
        return torch.sigmoid(torch.randn(full, generator=gen))
    if support == "binary":
        return torch.bernoulli(torch.full(full, 0.5), generator=gen)
    if support == "count":
        return torch.poisson(torch.full(full, 2.0), generator=gen)
    if support == "categorical":
        k = shape[-1]
        index = torch.randint(k, full[:-1], generator=gen)
        return torch.nn.functional.one_hot(index, k).to(torch.float64)
    if support == "simplex":
        return torch.softmax(torch.randn(full, generator=gen), -1)
    raise AssertionError(support)


def inputs_for(model, names, batch: int, gen) -> dict:
    out = {}
    for name in names:
        var = model.vars[name]
        out[name] = random_value(var.type.support, var.type.shape, () if var.is_global else (batch,), gen)
    return out


class StandIn(torch.nn.Module):
    """A user-supplied net for a net declared without a body: one linear map of the flattened,
    concatenated inputs; positive outputs through exp, unit through sigmoid, simplex through softmax."""

    def __init__(self, net):
        super().__init__()
        self.net = net
        self.sizes = [math.prod(t.shape) for _, t in net.outputs]
        self.inner = None

    def forward(self, *inputs):
        flat = [x.reshape(x.shape[0], -1) if x.dim() > 1 else x.reshape(-1, 1) for x in inputs]
        h = torch.cat(flat, -1)
        if self.inner is None:
            torch.manual_seed(1)
            self.inner = torch.nn.Linear(h.shape[-1], sum(self.sizes)).to(h.dtype)
        outs = []
        for (name, t), part in zip(self.net.outputs, self.inner(h).split(self.sizes, -1)):
            part = part.reshape(h.shape[0], *t.shape)
            part = {"positive": torch.exp, "unit": torch.sigmoid,
                    "simplex": lambda v: torch.softmax(v, -1)}.get(t.support, lambda v: v)(part)
            outs.append(part)
        return dict(zip([n for n, _ in self.net.outputs], outs)) if self.net.named else outs[0]


def compiled(path: Path):
    model, cls = compile_class(path.read_text(), path.name)
    torch.manual_seed(0)
    user = {name: StandIn(net) for name, net in model.nets.items() if net.hidden is None}
    module = cls(**user).double()
    return model, module


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: f"{p.parent.name}/{p.stem}")
@pytest.mark.parametrize("batch", [1, 7])
def test_log_densities_agree(path, batch):
    model, module = compiled(path)
    ref = Reference(model, module)
    gen = torch.Generator().manual_seed(batch)
    for sig, factor in model.factors.items():
        if factor.marginalized and len(factor.marginalized) > 1:
            continue
        values = inputs_for(model, factor.outputs + factor.given, batch, gen)
        try:
            expected = ref.log_prob(sig, values)
        except NotExact:
            continue
        actual = module.log_prob(sig, **values)
        torch.testing.assert_close(actual, expected, rtol=1e-9, atol=1e-9, msg=lambda m: f"log {sig}: {m}")


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_exact_losses_agree(path):
    model, module = compiled(path)
    ref = Reference(model, module)
    gen = torch.Generator().manual_seed(1)
    checked = 0
    for name in model.losses:
        info = module.losses[name]
        values = inputs_for(model, info.inputs, 7, gen)
        try:
            expected = ref.loss(name, values)
        except NotExact:
            continue
        actual = module.loss(name, **values)
        torch.testing.assert_close(actual, expected, rtol=1e-9, atol=1e-9, msg=lambda m: f"loss {name}: {m}")
        checked += 1
    if checked == 0:
        pytest.skip("every loss of this program needs a sample")
