"""Affine coupling layers (RealNVP; Dinh et al. 2017, eq. 4-6): formulas in
``gmc.runtime.flows.coupling``. Options: ``mask`` (which coordinates stay: ``alternate``,
``alternate_odd``, ``half``, ``half_last``), ``split`` (for the half masks, how many
coordinates the first part has; default D // 2), ``hidden`` and ``depth`` (the
conditioner MLP's width and number of hidden layers)."""
from gmc.compiler.transforms.registry import OptionSpec, TransformSpec, register

MASKS = ("alternate", "alternate_odd", "half", "half_last")

COUPLING = register(TransformSpec(
    "Coupling", "real", "real", False, "Dinh et al. 2017, eq. 4-6", min_size=2,
    options=(OptionSpec("mask", "name", "alternate", MASKS), OptionSpec("split", "int", None),
             OptionSpec("hidden", "int", 64), OptionSpec("depth", "int", 2)),
    runtime_kind="coupling", learned=True, latex=r"\mathrm{Coupling}"))
