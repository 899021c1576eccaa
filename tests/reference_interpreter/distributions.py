"""The reference interpreter's distributions: one torch.distributions object per example.

Every family of docs/language.md maps to the torch.distributions class its documentation
names (or, where torch has none, to a composition of torch.distributions pieces), built for
ONE example: parameters are unbatched event tensors already broadcast to the variable's event
shape. Nothing here is shared with the code generator.
"""
from __future__ import annotations


import torch
from torch import distributions as D

#: Families whose log-density couples the last event axis (one torch event of size K).
VECTOR_FAMILIES = ("Categorical", "Dirichlet", "Multinomial", "RelaxedCategorical")


class PointMass:
    """Deterministic(value): sampling returns ``value``; the log-density is 0 (docs/language.md)."""

    def __init__(self, value: torch.Tensor):
        self.value = value

    def sample(self, sample_shape=()) -> torch.Tensor:
        return self.value.expand(torch.Size(sample_shape) + self.value.shape)

    rsample = sample

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(x)


class FlatUniform:
    """Uniform(low, high) as gmc documents it: density 1/(high - low) everywhere (support not checked)."""

    def __init__(self, low: torch.Tensor, high: torch.Tensor):
        self.low, self.high = low, high
        self.inner = D.Uniform(low, high, validate_args=False)

    def sample(self, sample_shape=()) -> torch.Tensor:
        return self.inner.sample(sample_shape)

    def rsample(self, sample_shape=()) -> torch.Tensor:
        return self.inner.rsample(sample_shape)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        return -torch.log(self.high - self.low).expand_as(x)


class Kumaraswamy(D.Kumaraswamy):
    """torch's Kumaraswamy with its density written out (Jones 2009, eq. 1):
    log a + log b + (a - 1) log x + (b - 1) log(1 - x^a). torch evaluates it through the
    inverse of its transforms, which gives +inf at draws that round to within 1e-16 of 1
    (found by the 20,000-program run, case 7121). 1 - x^a is written -expm1(a log x): near
    x = 1, x^a rounds to 1 where 1 - x^a is still about a (1 - x) (case 11245); ``xlogy``
    keeps b = 1 exact. Draws are kept inside the open interval: a draw within 2^-53 of 1 (or
    below the smallest normal number) rounds onto the boundary, where the log-density is
    infinite though it is finite at every point of (0, 1); the clamp moves such a draw by less
    than the rounding did, far less than a Monte Carlo average's standard error."""

    def rsample(self, sample_shape=torch.Size()) -> torch.Tensor:
        x = super().rsample(sample_shape)
        info = torch.finfo(x.dtype)
        return x.clamp(info.tiny, 1 - info.eps / 2)

    def sample(self, sample_shape=torch.Size()) -> torch.Tensor:
        with torch.no_grad():
            return self.rsample(sample_shape)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.concentration1, self.concentration0
        return torch.log(a) + torch.log(b) + torch.xlogy(a - 1, x) + torch.xlogy(b - 1, -torch.expm1(a * torch.log(x)))


def logistic(loc: torch.Tensor, scale: torch.Tensor) -> D.Distribution:
    """scipy.stats.logistic(loc, scale): the logit of a uniform, scaled and shifted."""
    base = D.Uniform(torch.zeros_like(loc), torch.ones_like(loc), validate_args=False)
    return D.TransformedDistribution(base, [D.SigmoidTransform().inv, D.AffineTransform(loc, scale)],
                                     validate_args=False)


def _shared(value: torch.Tensor) -> torch.Tensor:
    """A shared parameter (temperature, total_count): one number for the whole event."""
    return value.reshape(-1)[0] if value.dim() else value


def build(family: str, params: dict[str, torch.Tensor]):
    """The distribution of one example: ``params`` maps torch parameter names to tensors of the
    variable's event shape (shared parameters may be 0-d). Element-wise families return an
    object whose ``log_prob`` is element-wise; vector families one over the last axis."""
    p = params
    kw = {"validate_args": False}
    if family == "Normal":
        return D.Normal(p["loc"], p["scale"], **kw)
    if family == "Bernoulli":
        return D.Bernoulli(probs=p["probs"], **kw) if "probs" in p else D.Bernoulli(logits=p["logits"], **kw)
    if family == "Categorical":
        return (D.OneHotCategorical(probs=p["probs"], **kw) if "probs" in p
                else D.OneHotCategorical(logits=p["logits"], **kw))
    if family == "Dirichlet":
        return D.Dirichlet(p["concentration"], **kw)
    if family == "Multinomial":
        n = int(_shared(p["total_count"]))
        return (D.Multinomial(n, probs=p["probs"], **kw) if "probs" in p
                else D.Multinomial(n, logits=p["logits"], **kw))
    if family == "Poisson":
        return D.Poisson(p["rate"], **kw)
    if family == "RelaxedBernoulli":
        t = _shared(p["temperature"])
        return (D.RelaxedBernoulli(t, probs=p["probs"], **kw) if "probs" in p
                else D.RelaxedBernoulli(t, logits=p["logits"], **kw))
    if family == "RelaxedCategorical":
        t = _shared(p["temperature"])
        return (D.RelaxedOneHotCategorical(t, probs=p["probs"], **kw) if "probs" in p
                else D.RelaxedOneHotCategorical(t, logits=p["logits"], **kw))
    if family == "Deterministic":
        return PointMass(p["value"])
    if family == "Laplace":
        return D.Laplace(p["loc"], p["scale"], **kw)
    if family == "Logistic":
        return logistic(p["loc"], p["scale"])
    if family == "StudentT":
        return D.StudentT(p["df"], p["loc"], p["scale"], **kw)
    if family == "Uniform":
        return FlatUniform(p["low"], p["high"])
    if family == "HalfCauchy":
        return D.HalfCauchy(p["scale"], **kw)
    if family == "Exponential":
        return D.Exponential(p["rate"], **kw)
    if family == "Gamma":
        return D.Gamma(p["concentration"], p["rate"], **kw)
    if family == "LogNormal":
        return D.LogNormal(p["loc"], p["scale"], **kw)
    if family == "Weibull":
        return D.Weibull(p["scale"], p["concentration"], **kw)
    if family == "Beta":
        return D.Beta(p["concentration1"], p["concentration0"], **kw)
    if family == "Kumaraswamy":
        return Kumaraswamy(p["concentration1"], p["concentration0"], **kw)
    raise NotImplementedError(f"the reference interpreter has no {family}")


def log_density(family: str, dist, value: torch.Tensor) -> torch.Tensor:
    """log p(value) of one example summed over its event axes, a 0-d tensor in nats."""
    return dist.log_prob(value).sum()


def draw(family: str, dist) -> torch.Tensor:
    """One sample (reparameterized where torch can)."""
    if getattr(dist, "has_rsample", False) or isinstance(dist, (PointMass, FlatUniform)):
        return dist.rsample()
    return dist.sample()

