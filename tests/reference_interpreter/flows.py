"""Flow factors in the reference interpreter: torch.distributions' TransformedDistribution.

Element-wise transforms are torch's own (ExpTransform, SigmoidTransform, SoftplusTransform,
TanhTransform, AffineTransform and their ``.inv``), independent of gmc's sympy derivations.
Structured layers (planar, radial, coupling, MAF, IAF, Reverse) are the compiled module's
own layers wrapped as torch transforms, as the interpreter shares nets and weights; their
formulas are checked on their own (tests/flows). Scoring given values runs each layer's
inverse, iterative ones included, so the interpreter can score even what generated code
refuses (it raises NotExact there in exact mode, like generated code's DataError).
"""
from __future__ import annotations

import torch
import torch.distributions as D
from torch.distributions import constraints
from torch.distributions import transforms as T

from gmc.compiler.transforms import TRANSFORMS
from gmc.compiler.transforms.checks import amortized
from gmc.compiler.transforms.codegen import layer_attribute
from gmc.runtime import flows as rt_flows
from gmc.runtime.flows.planar import planar_inverse

_ELEMENTWISE = {"Exp": lambda: T.ExpTransform(), "Log": lambda: T.ExpTransform().inv,
                "Sigmoid": lambda: T.SigmoidTransform(), "Logit": lambda: T.SigmoidTransform().inv,
                "Softplus": lambda: T.SoftplusTransform(), "SoftplusInverse": lambda: T.SoftplusTransform().inv,
                "Tanh": lambda: T.TanhTransform(), "Atanh": lambda: T.TanhTransform().inv}


#: y -> (y, x, log-det) of every layer output drawn so far (by id, the tensors kept to check
#: identity), so a draw scored later (an IWAE particle) skips the iterative inverse and the
#: second forward pass, as generated code does.
_DRAWN: dict[int, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}


class LayerTransform(T.Transform):
    """A runtime flow layer (``forward`` -> (y, log_det), ``inverse``) as a torch transform
    on vectors (event_dim 1)."""

    domain = constraints.independent(constraints.real, 1)
    codomain = constraints.independent(constraints.real, 1)
    bijective = True

    def __init__(self, layer):
        super().__init__(cache_size=0)
        self.layer = layer

    def _call(self, x):
        y, log_det = self.layer(x)
        if len(_DRAWN) > 200_000:
            _DRAWN.clear()
        _DRAWN[id(y)] = (y, x, log_det)
        return y

    def _inverse(self, y):
        drawn = _DRAWN.get(id(y))
        if drawn is not None and drawn[0] is y:
            return drawn[1]
        return self.layer.inverse(y)[0]

    def log_abs_det_jacobian(self, x, y):
        drawn = _DRAWN.get(id(y))
        if drawn is not None and drawn[0] is y and drawn[1] is x:
            return drawn[2]
        return self.layer(x)[1]


class _Given:
    """A planar layer with per-example parameters (amortized), shaped like a runtime layer.
    Its inverse solves for a = w^T z by bisection, as the runtime Planar does."""

    def __init__(self, u, w, b):
        self.u, self.w, self.b = u, w, b

    def __call__(self, z):
        return rt_flows.planar(z, self.u, self.w, self.b)

    def inverse(self, y):
        return planar_inverse(y, self.u, self.w, self.b)


def flow_distribution(base, model, factor, module, event_rank: int, evaluate):
    """``base`` (one example's base distribution, element-wise) pushed through ``factor.flow``;
    ``evaluate`` gives the value of an expression (amortized parameters) for this example."""
    layers = iter(getattr(module, layer_attribute(model, factor), ()))
    transforms = []
    for t in factor.flow:
        spec = TRANSFORMS[t.kind]
        if t.kind == "Affine":
            params = next(layers)
            transforms.append(T.AffineTransform(params.loc, params.log_scale.exp()))
        elif spec.elementwise:
            transforms.append(_ELEMENTWISE[t.kind]())
        elif amortized(t):
            transforms.append(LayerTransform(_Given(*(evaluate(e) for _, e in t.options))))
        else:
            transforms.append(LayerTransform(next(layers)))
    if event_rank:
        base = D.Independent(base, event_rank)
    return D.TransformedDistribution(base, transforms, validate_args=False)
