"""Differential tests in distribution: stochastic losses against the reference interpreter.

A loss with a Monte Carlo term (an expectation, ELBO, IWAE, Renyi, MMD, or a KL without a
closed form in torch.distributions) is one random estimate per call. For every loss of every
shipped program, R independent evaluations of the generated loss and R of the interpreter's
(float64, the same inputs, the same nets) must have equal means: the difference of the two
sample means lies within 5 standard errors (a false alarm about once in 1.7 million pairs).
"""
from __future__ import annotations

import pytest
import torch

from reference_interpreter.interpreter import Reference
from test_reference_interpreter import PROGRAMS, compiled, inputs_for

pytestmark = [pytest.mark.usefixtures("float64"), pytest.mark.slow]

ROUNDS = 60


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_stochastic_losses_agree_in_mean(path):
    model, module = compiled(path)
    module.eval()
    ref = Reference(model, module, exact=False)
    gen = torch.Generator().manual_seed(3)
    torch.manual_seed(3)
    for name in model.losses:
        values = inputs_for(model, module.losses[name].inputs, 5, gen)
        with torch.no_grad():
            ours = torch.stack([module.loss(name, **values) for _ in range(ROUNDS)])
            theirs = torch.stack([ref.loss(name, values) for _ in range(ROUNDS)])
        if not (ours.std() > 0 or theirs.std() > 0):
            torch.testing.assert_close(ours.mean(), theirs.mean(), rtol=1e-9, atol=1e-9)
            continue
        se = (ours.var() / ROUNDS + theirs.var() / ROUNDS).sqrt()
        gap = (ours.mean() - theirs.mean()).abs()
        assert gap <= 5 * se, (f"loss {name}: generated mean {ours.mean():.6g}, reference mean "
                               f"{theirs.mean():.6g}, difference {gap:.3g} > 5 standard errors ({se:.3g})")
