"""Planar layers (Rezende & Mohamed 2015, eq. 10-12): formulas in ``gmc.runtime.flows.planar``."""
from gmc.compiler.transforms.registry import TransformSpec, register

PLANAR = register(TransformSpec(
    "Planar", "real", "real", False, "Rezende & Mohamed 2015, eq. 10-12", cheap_inverse=False,
    why_no_inverse="a planar layer's inverse has no closed form (Rezende & Mohamed 2015 only sample with it)",
    runtime_kind="planar", learned=True, latex=r"\mathrm{Planar}"))
