"""Shared machinery of the per-family tests (imported by the test modules of this folder).

``family_model`` compiles a one-factor program whose parameters are per-example variables;
``evaluate`` prints a sympy expression with gmc's printer and runs it on tensors;
``expectation`` is a test-local stand-in for the lead's derivation engine
(``compiler/symbolic/derive.py``): it splits an expression into additive terms, factors
each as (coefficient free of X) x (statistic) and looks the statistic up in the family's
moment table, first non-None value wins, exactly as that engine is specified. It lets
these tests check entropies and cross-family KLs implied by the moment tables against
torch.distributions and numerical integration.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import scipy.stats
import sympy as sp
import torch

import gmc
from gmc import runtime as rt
from gmc.compiler.families import FAMILIES
from gmc.compiler.symbolic import FORMULAS, to_torch
from gmc.compiler.symbolic.registry import X

EVENT = 4  # event size of every test variable


def family_model(family: str, params: dict[str, str], name: str = "Family"):
    """Compile ``var y: SUPPORT[EVENT]`` with ``p(y|...) = family(param=var, ...)``.

    ``params`` maps each parameter to the support of the variable that feeds it; the
    variable is named after the parameter. Returns the generated class; its factor is
    ``signature(family, params)``."""
    support = FAMILIES[family].support
    lines = [f"var y: {support}[{EVENT}]"]
    lines += [f"var {p}: {s}[{EVENT}]" for p, s in params.items()]
    args = ", ".join(f"{p}={p}" for p in params)
    lines.append(f"{signature(params)} = {family}({args})")
    lines.append(f"loss = mean(log {signature(params)})")
    return gmc.compile_source("\n".join(lines) + "\n", name=name)


def signature(params) -> str:
    return f"p(y|{','.join(params)})" if params else "p(y)"


def evaluate(expr: sp.Expr, values: dict[str, torch.Tensor]) -> torch.Tensor:
    """Run the torch code gmc prints for ``expr`` with its symbols bound to ``values``."""
    code = to_torch(sp.sympify(expr))
    return eval(code, {"torch": torch, "math": math, "rt": rt, **values})  # noqa: S307 (our own printer's output)


def symbols(family: str) -> dict[str, sp.Symbol]:
    """The family's parameters as sympy symbols named after them (tensors in evaluate)."""
    return {p: sp.Symbol(p) for p in FAMILIES[family].param_names}


def expectation(family: str, params: dict, expr: sp.Expr) -> sp.Expr | None:
    """E[expr] for X ~ family(params) from its moment table, or None (see module docstring)."""
    total = sp.Integer(0)
    for term in sp.Add.make_args(expr):
        coefficient, statistic = term.as_independent(X, as_Add=False)
        if statistic == 1:
            total += coefficient
            continue
        for moment in FORMULAS[family].moments:
            bindings = statistic.match(moment.pattern)
            if bindings is None:
                continue
            value = moment.value(params, bindings)
            if value is not None:
                total += coefficient * value
                break
        else:
            return None
    return total


def entropy(family: str, params: dict) -> sp.Expr | None:
    """H[q] = -E_q[log q(X)] (nats per element)."""
    value = expectation(family, params, FORMULAS[family].log_density.build(X, params))
    return None if value is None else -value


def kl(first: str, first_params: dict, second: str, second_params: dict) -> sp.Expr | None:
    """KL[q || p] = E_q[log q(X) - log p(X)] (nats per element)."""
    log_q = FORMULAS[first].log_density.build(X, first_params)
    log_p = FORMULAS[second].log_density.build(X, second_params)
    return expectation(first, first_params, log_q - log_p)


# ---- checks shared by the per-group test modules --------------------------------------



@dataclass
class Spec:
    """One family under test.

    ``params``: parameter -> support of the variable feeding it. ``draw(g, n)``: random
    parameters, tensors [n, EVENT]. ``scipy(params)``: the frozen scipy.stats reference
    (numpy arrays in). ``torch``: the torch.distributions reference or None. ``extreme``:
    parameter rows (one value per parameter, broadcast over the event) at the edges of
    the valid range. ``moments``: parameters for the sampling test, one value per event
    column (needs a finite fourth moment)."""

    family: str
    params: dict[str, str]
    draw: Callable[[torch.Generator, int], dict[str, torch.Tensor]]
    scipy: Callable[[dict[str, np.ndarray]], object]
    torch: Callable[..., object] | None
    extreme: list[dict[str, float]]
    moments: dict[str, list[float]]
    log_density: Callable[[dict[str, torch.Tensor], torch.Tensor], torch.Tensor] | None = None
    explicit: tuple[str, ...] = ()  # parameters whose sample gradient a fixed seed makes deterministic
    _model: object = field(default=None, repr=False)

    @property
    def model(self):
        if self._model is None:
            self._model = family_model(self.family, self.params, name=self.family + "Test")()
        return self._model

    @property
    def factor(self) -> str:
        return signature(self.params)

    def reference_log_density(self, params, y):
        """The reference log-density, element-wise [n, EVENT]: torch where it has the family,
        else the spec's own or scipy."""
        if self.log_density is not None:
            return self.log_density(params, y)
        if self.torch is not None:
            return self.torch(**params).log_prob(y)
        np_params = {k: v.numpy() for k, v in params.items()}
        return torch.from_numpy(self.scipy(np_params).logpdf(y.numpy()))


def uniform_in(g, n, low, high, log=False):
    """[n, EVENT] values uniform in (low, high), or log-uniform when ``log``."""
    u = torch.rand(n, EVENT, generator=g, dtype=torch.float64)
    if log:
        return torch.exp(math.log(low) + u * (math.log(high) - math.log(low)))
    return low + u * (high - low)


def rows(spec: Spec, values: list[dict[str, float]]) -> dict[str, torch.Tensor]:
    """Parameter tensors [len(values), EVENT], each row one dict of ``values``."""
    return {p: torch.tensor([[v[p]] * EVENT for v in values], dtype=torch.float64) for p in spec.params}


def check_log_density(spec: Spec, seed: int = 0, n: int = 400):
    """Generated log p against the reference in float64, random and extreme parameters, at
    values drawn from the family (scipy) — to 1e-9 absolute or 1e-12 relative."""
    g = torch.Generator().manual_seed(seed)
    params = spec.draw(g, n)
    extreme = rows(spec, spec.extreme)
    params = {p: torch.cat([params[p], extreme[p]]) for p in spec.params}
    np_params = {k: v.numpy() for k, v in params.items()}
    y = torch.from_numpy(np.asarray(spec.scipy(np_params).rvs(random_state=np.random.default_rng(seed)),
                                    dtype=np.float64))
    y = _inside(spec, y)
    got = spec.model.log_prob(spec.factor, y=y, **params)
    expected = spec.reference_log_density(params, y).sum(-1)
    assert got.shape == expected.shape == (len(y),)
    assert torch.isfinite(got).all()
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-9)


def _inside(spec: Spec, y: torch.Tensor) -> torch.Tensor:
    """Values moved off the support's edges, where scipy's draws can land in float64."""
    support = FAMILIES[spec.family].support
    tiny = torch.finfo(torch.float64).tiny
    if support == "positive":
        return y.clamp(min=tiny)
    if support == "unit":
        return y.clamp(min=tiny, max=1 - 2 ** -53)
    return y


def check_sampling_moments(spec: Spec, seed: int = 1, n: int = 20000):
    """Sample mean and variance of the generated sampler within 5 standard errors of
    scipy's, per event column; and a Kolmogorov-Smirnov test (p > 1e-6) per column."""
    torch.manual_seed(seed)
    values = [{p: spec.moments[p][j] for p in spec.params} for j in range(EVENT)]
    columns = {p: torch.tensor([v[p] for v in values], dtype=torch.float64).expand(n, EVENT) for p in spec.params}
    y = spec.model.sample(spec.factor, **columns)["y"]
    assert y.shape == (n, EVENT) and y.dtype == torch.float64 and torch.isfinite(y).all()
    for j, v in enumerate(values):
        ref = spec.scipy({p: np.float64(x) for p, x in v.items()})
        column = y[:, j]
        se_mean = column.std().item() / math.sqrt(n)
        assert abs(column.mean().item() - ref.mean()) < 5 * se_mean, (j, v)
        centered = (column - column.mean()) ** 2
        se_var = centered.std().item() / math.sqrt(n)
        assert abs(column.var().item() - ref.var()) < 5 * se_var, (j, v)
        assert scipy.stats.kstest(column.numpy(), ref.cdf).pvalue > 1e-6, (j, v)


def check_sample_gradcheck(spec: Spec, seed: int = 2):
    """torch.autograd.gradcheck of the reparameterized sample in its explicit parameters,
    with the noise fixed by a manual seed inside the function."""
    g = torch.Generator().manual_seed(seed)
    params = spec.draw(g, 2)
    explicit = {p: params[p].clone().requires_grad_() for p in spec.explicit}
    fixed = {p: params[p] for p in spec.params if p not in spec.explicit}

    def sampled(*tensors):
        torch.manual_seed(0)
        return spec.model.sample(spec.factor, **fixed, **dict(zip(explicit, tensors)))["y"]

    assert torch.autograd.gradcheck(sampled, tuple(explicit.values()))


def scalar_log_density(family: str, p: dict[str, float]) -> Callable[[float], float]:
    """log p(x) for one float x, written out with ``math`` for numerical integration
    (scipy's frozen logpdfs cost ~50 us a call and underflow in the far tails, e.g. the
    Laplace at |x - loc|/scale > 745); -inf outside the support. Checked against
    scipy.stats in test_moment_tables."""
    lg, log, inf = math.lgamma, math.log, -math.inf
    if family == "Normal":
        return lambda x: -((x - p["loc"]) / p["scale"]) ** 2 / 2 - log(p["scale"]) - log(2 * math.pi) / 2
    if family == "Laplace":
        return lambda x: -abs(x - p["loc"]) / p["scale"] - log(2 * p["scale"])
    if family == "Logistic":
        def logistic(x):
            z = -abs(x - p["loc"]) / p["scale"]
            return z - 2 * math.log1p(math.exp(z)) - log(p["scale"])
        return logistic
    if family == "StudentT":
        df = p["df"]
        return lambda x: (lg((df + 1) / 2) - lg(df / 2) - log(df * math.pi) / 2 - log(p["scale"])
                          - (df + 1) / 2 * math.log1p(((x - p["loc"]) / p["scale"]) ** 2 / df))
    if family == "Uniform":
        return lambda x: -log(p["high"] - p["low"]) if p["low"] <= x < p["high"] else inf
    if family == "Exponential":
        return lambda x: log(p["rate"]) - p["rate"] * x if x >= 0 else inf
    if family == "Gamma":
        a, rate = p["concentration"], p["rate"]
        return lambda x: a * log(rate) + (a - 1) * log(x) - rate * x - lg(a) if x > 0 else inf
    if family == "LogNormal":
        return lambda x: (-((log(x) - p["loc"]) / p["scale"]) ** 2 / 2 - log(x * p["scale"]) - log(2 * math.pi) / 2
                          if x > 0 else inf)
    if family == "Weibull":
        k, lam = p["concentration"], p["scale"]
        return lambda x: log(k / lam) + (k - 1) * log(x / lam) - (x / lam) ** k if x > 0 else inf
    if family == "Beta":
        a, b = p["concentration1"], p["concentration0"]
        return lambda x: ((a - 1) * log(x) + (b - 1) * math.log1p(-x) + lg(a + b) - lg(a) - lg(b)
                          if 0 < x < 1 else inf)
    if family == "Kumaraswamy":
        a, b = p["concentration1"], p["concentration0"]
        return lambda x: log(a * b) + (a - 1) * log(x) + (b - 1) * math.log1p(-x ** a) if 0 < x < 1 else inf
    raise KeyError(family)
