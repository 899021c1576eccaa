"""Structured transforms of normalizing flows, one module per kind, and the registry that
generated code builds them from (``rt.flow_layers``).

Each layer maps ``[*batch, D]`` to ``[*batch, D]`` and returns its log-determinant
``[*batch]`` in nats (:class:`gmc.runtime.flows.base.Transform`). Element-wise transforms
(exp, sigmoid, ...) are inlined by the compiler; only their learned parameters (affine)
live here.
"""
from __future__ import annotations

from torch import nn

from gmc.runtime.flows.affine import AffineParameters
from gmc.runtime.flows.autoregressive import IAF, MADE, MAF
from gmc.runtime.flows.base import Transform, soft_clamp
from gmc.runtime.flows.coupling import AffineCoupling, split_mask
from gmc.runtime.flows.permutation import Permutation
from gmc.runtime.flows.planar import Planar, planar
from gmc.runtime.flows.radial import Radial


def _coupling(shape, mask="alternate", split=None, hidden=(64, 64)):
    size = shape[-1]
    return AffineCoupling(size, split_mask(size, mask, split), tuple(hidden))


#: kind -> builder(event shape, **options) of the layer's module.
LAYERS = {
    "planar": lambda shape: Planar(shape[-1]),
    "radial": lambda shape: Radial(shape[-1]),
    "coupling": _coupling,
    "maf": lambda shape, hidden=(64, 64): MAF(shape[-1], tuple(hidden)),
    "iaf": lambda shape, hidden=(64, 64): IAF(shape[-1], tuple(hidden)),
    "permutation": lambda shape, order=None: Permutation(shape[-1], order),
    "affine": lambda shape: AffineParameters(shape),
}


def flow_layers(shape, layers) -> nn.ModuleList:
    """The modules of one flow factor: ``layers`` is a sequence of (kind, options dict) for
    its structured and parametrized transforms, in order; ``shape`` the event shape."""
    return nn.ModuleList(LAYERS[kind](tuple(shape), **dict(options)) for kind, options in layers)


__all__ = ["AffineCoupling", "AffineParameters", "IAF", "LAYERS", "MADE", "MAF", "Permutation", "Planar",
           "Radial", "Transform", "flow_layers", "planar", "soft_clamp", "split_mask"]
