"""Radial layers (Rezende & Mohamed 2015, eq. 14): formulas in ``gmc.runtime.flows.radial``."""
from gmc.compiler.transforms.registry import TransformSpec, register

RADIAL = register(TransformSpec(
    "Radial", "real", "real", False, "Rezende & Mohamed 2015, eq. 14", cheap_inverse=False,
    why_no_inverse="a radial layer is only sampled through (Rezende & Mohamed 2015): gmc generates no inverse",
    runtime_kind="radial", learned=True, latex=r"\mathrm{Radial}"))
