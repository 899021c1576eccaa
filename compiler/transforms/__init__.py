"""Transforms of normalizing flows: one module per kind, registered in :data:`TRANSFORMS`."""
from gmc.compiler.transforms import autoregressive, coupling, elementwise, permutation, planar, radial  # noqa: F401
from gmc.compiler.transforms.registry import OptionSpec, TRANSFORMS, TransformSpec

__all__ = ["OptionSpec", "TRANSFORMS", "TransformSpec"]
