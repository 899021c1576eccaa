"""Planar layers (Rezende & Mohamed 2015, eq. 10-12): formulas in ``gmc.runtime.flows.planar``.

Without options a layer learns its u, w (vectors) and b; with ``u=``, ``w=``, ``b=`` (all three)
they are expressions, typically an inference network's outputs, one set per example
(the amortized flows of Rezende & Mohamed 2015, section 4.2)."""
from gmc.compiler.transforms.registry import OptionSpec, TransformSpec, register

PLANAR = register(TransformSpec(
    "Planar", "real", "real", False, "Rezende & Mohamed 2015, eq. 10-12", cheap_inverse=False,
    why_no_inverse="a planar layer's inverse has no closed form (Rezende & Mohamed 2015 only sample with it)",
    options=(OptionSpec("u", "vector", None), OptionSpec("w", "vector", None), OptionSpec("b", "scalar", None)),
    runtime_kind="planar", learned=True, latex=r"\mathrm{Planar}"))
