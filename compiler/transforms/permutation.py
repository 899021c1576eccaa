"""A fixed permutation of a vector event (the reversal), log-determinant 0; placed between
coupling or autoregressive layers (``gmc.runtime.flows.permutation``)."""
from gmc.compiler.transforms.registry import TransformSpec, register

REVERSE = register(TransformSpec("Reverse", "real", "real", False, "a permutation: log |det| = 0",
                                 runtime_kind="permutation", latex=r"\mathrm{Reverse}",
                                 permutation="{}.flip(-1)"))
