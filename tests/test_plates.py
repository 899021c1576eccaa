"""Plates over a data set (``plate data(x, y)``, gmc.compiler.plates): minibatch scaling.

The central property: with the plate's size N given, the gradient of the loss on a random
minibatch of B examples (drawn without replacement) is an unbiased estimate of the gradient
of the same loss on all N examples, checked per coordinate within 5 standard errors; the
unscaled minibatch sum fails the same test (so the test can fail)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

import gmc
from gmc.compiler.diagnostics import GmcError
from gmc.runtime import DataError
from gmc.runtime import train as training
from tests.reference_interpreter.interpreter import Reference

ROOT = Path(__file__).resolve().parents[1]
N, B, ROUNDS = 40, 8, 600


def _model():
    Model = gmc.compile_file(ROOT / "examples" / "bayes_regression.gm")
    torch.manual_seed(0)
    m = Model().double()
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.randn_like(p) * 0.3)
    return m


def _gradient(m, x, y, size, seed=7):
    torch.manual_seed(seed)  # the same draw of the global w in every call: only the batch varies
    loss = m.loss("loss", x=x, y=y, data=size)
    return torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, list(m.parameters()))])


def _z_scores(m, x, y, scaled: bool) -> torch.Tensor:
    full = _gradient(m, x, y, N)
    generator = torch.Generator().manual_seed(1)
    draws = []
    for _ in range(ROUNDS):
        batch = torch.randperm(N, generator=generator)[:B]
        draws.append(_gradient(m, x[batch], y[batch], N if scaled else None))
    draws = torch.stack(draws)
    standard_error = draws.std(0) / ROUNDS ** 0.5
    return (draws.mean(0) - full).abs() / standard_error.clamp_min(1e-12)


def test_plate_scaled_minibatch_gradient_is_unbiased_for_the_full_data_gradient():
    m = _model()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(N, 10, generator=g, dtype=torch.float64)
    y = x @ torch.randn(10, generator=g, dtype=torch.float64) + 0.5 * torch.randn(N, generator=g, dtype=torch.float64)
    assert float(_z_scores(m, x, y, scaled=True).max()) < 5
    # the unscaled batch sum (the plate's size not given) is biased: the KL's share is N / B too large
    assert float(_z_scores(m, x, y, scaled=False).max()) > 5


def test_plate_sum_is_n_times_the_batch_mean_and_the_plain_sum_without_a_size():
    m = _model()
    x, y = torch.randn(5, 10, dtype=torch.float64), torch.randn(5, dtype=torch.float64)
    values = {}
    for size in (None, 5, 442):
        torch.manual_seed(3)
        values[size] = m.loss("loss", x=x, y=y, data=size)
    assert torch.allclose(values[None], values[5], rtol=1e-13)  # N = B: the batch is the data set
    # loss = KL - (N / B) sum: two sizes differ by (N1 - N2) times the batch's mean log-likelihood
    torch.manual_seed(3)
    draw = m.w_loc + torch.nn.functional.softplus(m.w_scale) * torch.randn(10, dtype=torch.float64)
    log_lik = torch.distributions.Normal(x @ draw + m.b, m.log_sigma.exp()).log_prob(y)
    assert torch.allclose(values[5] - values[442], (442 - 5) * log_lik.mean(), rtol=1e-10)


def test_the_constructor_sets_the_plate_size_and_a_call_overrides_it():
    Model = gmc.compile_file(ROOT / "examples" / "bayes_regression.gm")
    m = Model(data=100).double()
    x, y = torch.randn(4, 10, dtype=torch.float64), torch.randn(4, dtype=torch.float64)
    torch.manual_seed(0)
    a = m.loss("loss", x=x, y=y)
    torch.manual_seed(0)
    b = m.loss("loss", x=x, y=y, data=100)
    assert torch.equal(a, b)
    for bad in (0, -3, "many", True):
        with pytest.raises(DataError, match="plate 'data' needs its size"):
            m.loss("loss", x=x, y=y, data=bad)


def test_fit_gives_each_plate_the_training_set_size():
    m = _model()
    seen = []

    def compute(**batch):
        seen.append(batch["data"])
        return torch.zeros(())
    wrapped = training._with_plate_sizes(m, compute, {"x": None, "y": None}, 354)
    wrapped(x=1, y=2)
    assert seen == [354]
    assert training._with_plate_sizes(m, compute, {"z": None}, 354) is compute


def test_reference_interpreter_scales_the_plate_sum_the_same_way():
    text = (ROOT / "examples" / "bayes_regression.gm").read_text()
    model = gmc.compiler.driver.compile_model(text, "bayes_regression.gm")
    m = _model()
    m.data = 30
    x, y = torch.randn(6, 10, dtype=torch.float64), torch.randn(6, dtype=torch.float64)
    reference = Reference(model, m, exact=False)
    torch.manual_seed(5)
    theirs = reference.loss("loss", {"x": x, "y": y})
    torch.manual_seed(5)
    ours = m.loss("loss", x=x, y=y)
    assert torch.allclose(ours, theirs, rtol=1e-10)


def test_plate_round_trips_through_fmt():
    from gmc.dsl.parser import parse
    from gmc.dsl.printer import format_source

    text = (ROOT / "examples" / "bayes_regression.gm").read_text()
    once = format_source(text)
    assert "plate data(x, y)" in once and format_source(once) == once
    assert parse(once) == parse(text)


@pytest.mark.parametrize("program, message", [
    ("var global w: real\nplate data(w)\n", "Variable 'w' is global"),
    ("var x: real\nplate a(x)\nplate b(x)\n", "is in plate 'a' (line 2) already"),
    ("var x: real\nplate a(x, x)\n", "appears more than once"),
    ("var x: real\nplate a(y)\n", "'y' is not defined"),
    ("var x: real\nvar data: real\nplate data(x)\n", "already defined"),
])
def test_plate_declaration_errors(program, message):
    with pytest.raises(GmcError, match=re.escape(message)):
        gmc.compile_source(program + "p(x) = Normal(0, 1)\nloss = -sum(log p(x))\n")
