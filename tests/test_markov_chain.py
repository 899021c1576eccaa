"""Markov chains written factor by factor (gmc.compiler.codegen.markov_chain): recognised,
emitted as one stacked log-density, and equal in float64 to torch.distributions and to the
straight-line code the compiler emits without the rewrite."""
import pytest
import torch

import gmc
from gmc.compiler import driver
from gmc.compiler.codegen import markov_chain, vectorize


def chain_text(n: int, step: str = "Normal(x{prev}, 1)", head: str = "Normal(0, 1)", shared: bool = False) -> str:
    """x0 ~ head, x_i | x_{i-1} (, m) ~ step (``{prev}`` is i-1), one joint product and a loss;
    ``shared``: every step is also given m ~ Normal(0, 2)."""
    lines = ["model Chain"] + [f"var x{i}: real" for i in range(n)]
    lines += ["var m: real", "p(m) = Normal(0, 2)"] if shared else []
    lines.append(f"p(x0) = {head}")
    for i in range(1, n):
        given = f"x{i - 1}" + (",m" if shared else "")
        lines.append(f"p(x{i}|{given}) = " + step.format(prev=i - 1))
    names = ",".join(f"x{i}" for i in range(n)) + (",m" if shared else "")
    factors = [f"p(x{i}|x{i - 1}{',m' if shared else ''})" for i in range(n - 1, 0, -1)] + ["p(x0)"]
    if shared:
        factors.append("p(m)")
    lines += [f"p({names}) = " + " ".join(factors), f"loss = -mean(log p({names}))"]
    return "\n".join(lines) + "\n"


def _log_prob(text: str, values: dict) -> torch.Tensor:
    model = gmc.compile_source(text)().double()
    sig = next(s for s in type(model).factors if s.count(",") >= len(values) - 1 and "|" not in s)
    return model.log_prob(sig, **values)


def _straight_line(text: str, values: dict, monkeypatch) -> torch.Tensor:
    with monkeypatch.context() as patch:
        patch.setattr(markov_chain, "MIN_RUN", 10 ** 9)
        patch.setattr(vectorize, "MIN_GROUP", 10 ** 9)
        source = driver.python_source(driver.compile_model(text))
        assert "torch.stack" not in source
        return _log_prob(text, values)


def normal(loc, scale) -> torch.distributions.Normal:
    """A float64 reference (python-float parameters would make float32 tensors: log 2 in float32)."""
    f64 = torch.float64
    return torch.distributions.Normal(torch.as_tensor(loc, dtype=f64), torch.as_tensor(scale, dtype=f64))


def _values(n: int, batch: int = 6, seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, n, generator=g, dtype=torch.float64).cumsum(1)
    return {f"x{i}": x[:, i].contiguous() for i in range(n)}


def test_a_chain_written_factor_by_factor_is_one_stacked_density(monkeypatch):
    n = 30
    text = chain_text(n)
    source = driver.python_source(driver.compile_model(text))
    body = source.split("def log_p_x0_x1")[1].split("\n    def ")[0]
    assert body.count("torch.stack") == 1 and "a Markov chain of 29 Normal factors" in body
    assert "x0_chain[:-1]" in body and "p_x5_given_x4" not in body
    values = _values(n)
    got = _log_prob(text, values)
    ref = normal(0.0, 1.0).log_prob(values["x0"])
    for i in range(1, n):
        ref = ref + normal(values[f"x{i - 1}"], 1.0).log_prob(values[f"x{i}"])
    assert got.dtype == torch.float64 and got.shape == (6,)
    torch.testing.assert_close(got, ref, rtol=1e-13, atol=1e-12)
    torch.testing.assert_close(got, _straight_line(text, values, monkeypatch), rtol=1e-13, atol=1e-12)


def test_parameters_that_are_expressions_of_the_previous_variable_and_a_shared_one(monkeypatch):
    # AR(1) with a drift m shared by every step: x_i | x_{i-1}, m ~ Normal(0.5 x_{i-1} + m, exp(m / 10))
    n = 12
    text = chain_text(n, step="Normal(0.5 * x{prev} + m, exp(0.1 * m))", shared=True)
    source = driver.python_source(driver.compile_model(text))
    assert "a Markov chain of 11 Normal factors" in source
    values = _values(n, seed=1)
    values["m"] = torch.linspace(-1, 1, 6, dtype=torch.float64)
    got = _log_prob(text, values)
    ref = normal(0.0, 1.0).log_prob(values["x0"]) + normal(0.0, 2.0).log_prob(values["m"])
    for i in range(1, n):
        ref = ref + normal(0.5 * values[f"x{i - 1}"] + values["m"], torch.exp(0.1 * values["m"])).log_prob(values[f"x{i}"])
    torch.testing.assert_close(got, _straight_line(text, values, monkeypatch), rtol=1e-13, atol=1e-12)
    torch.testing.assert_close(got, ref, rtol=1e-13, atol=1e-12)


def test_a_change_of_parameters_splits_the_chain_into_runs():
    n = 24
    text = chain_text(n, step="Normal(x{prev}, 1)")
    text = text.replace("p(x12|x11) = Normal(x11, 1)", "p(x12|x11) = Normal(x11, 3)")
    source = driver.python_source(driver.compile_model(text))
    assert "a Markov chain of 11 Normal factors" in source  # x1 .. x11
    assert "a Markov chain of 12 Normal factors" not in source
    assert "p(x12|x11) = Normal(x11, 3)" in source  # the odd factor keeps its own line
    values = _values(n, seed=2)
    got = _log_prob(text, values)
    ref = normal(0.0, 1.0).log_prob(values["x0"])
    for i in range(1, n):
        ref = ref + normal(values[f"x{i - 1}"], 3.0 if i == 12 else 1.0).log_prob(values[f"x{i}"])
    torch.testing.assert_close(got, ref, rtol=1e-13, atol=1e-12)


def test_short_chains_and_branches_keep_straight_line_code():
    short = driver.python_source(driver.compile_model(chain_text(markov_chain.MIN_RUN)))
    assert "Markov chain" not in short and "torch.stack" not in short
    # x1..x9 all follow x0 (a star, not a chain): no run
    n = 10
    lines = [f"var x{i}: real" for i in range(n)] + ["p(x0) = Normal(0, 1)"]
    lines += [f"p(x{i}|x0) = Normal(x0, 1)" for i in range(1, n)]
    names = ",".join(f"x{i}" for i in range(n))
    lines += [f"p({names}) = " + " ".join(f"p(x{i}|x0)" for i in range(1, n)) + " p(x0)", f"loss = -mean(log p({names}))"]
    assert "Markov chain" not in driver.python_source(driver.compile_model("\n".join(lines) + "\n"))


def test_gradients_flow_to_every_value_of_a_chain():
    n = 10
    model = gmc.compile_source(chain_text(n))().double()
    values = {k: v.requires_grad_() for k, v in _values(n, batch=3).items()}
    model.log_prob("p(" + ",".join(f"x{i}" for i in range(n)) + ")", **values).sum().backward()
    x = torch.stack([values[f"x{i}"].detach() for i in range(n)])
    # d/dx_i of sum_j -(x_j - x_{j-1})^2 / 2 - x_0^2 / 2
    expected = torch.zeros_like(x)
    expected[0] -= x[0]
    expected[1:] -= x[1:] - x[:-1]
    expected[:-1] += x[1:] - x[:-1]
    for i in range(n):
        torch.testing.assert_close(values[f"x{i}"].grad, expected[i], rtol=1e-13, atol=1e-12)


def test_a_chain_of_vector_variables_sums_over_steps_and_event(monkeypatch):
    n = 9
    text = chain_text(n, step="Normal(x{prev}, 0.5)").replace(": real\n", ": real[2]\n")
    assert "a Markov chain of 8 Normal factors" in driver.python_source(driver.compile_model(text))
    g = torch.Generator().manual_seed(3)
    values = {f"x{i}": torch.randn(4, 2, generator=g, dtype=torch.float64) for i in range(n)}
    got = _log_prob(text, values)
    ref = normal(0.0, 1.0).log_prob(values["x0"]).sum(-1)
    for i in range(1, n):
        ref = ref + normal(values[f"x{i - 1}"], 0.5).log_prob(values[f"x{i}"]).sum(-1)
    assert got.shape == (4,)
    torch.testing.assert_close(got, ref, rtol=1e-13, atol=1e-12)
    torch.testing.assert_close(got, _straight_line(text, values, monkeypatch), rtol=1e-13, atol=1e-12)
