"""What the checker knows about each transform of a flow: supports, event rank, options.

A flow ``Flow(Base(...), T1, T2, ...)`` pushes a draw of the base distribution through
T1, then T2, ... (docs/language.md "Flows"). Each transform kind is described by one
:class:`TransformSpec`, registered by its own module (``elementwise.py``, ``planar.py``,
``radial.py``, ``coupling.py``, ``autoregressive.py``, ``permutation.py``). No sympy or
torch here, so ``gmc check`` stays fast; the formulas live in :mod:`.symbolic` (element-wise
transforms, derived by sympy) and in ``gmc.runtime.flows`` (structured ones, closed forms).
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class OptionSpec:
    """A keyword option of a transform: ``kind`` is ``int`` (a positive integer constant),
    ``name`` (one of ``choices``, written as a bare name), or ``vector`` / ``scalar`` (an
    expression with the variable's event shape / with one value per example: parameters
    computed by an inference network)."""

    name: str
    kind: str
    default: object
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class TransformSpec:
    """One transform kind.

    ``domain``: the support its input must lie in; ``codomain``: the support of its output. ``elementwise``
    transforms act on each coordinate and are inlined by the compiler; the others need an
    event of rank 1 (``real[D]``) with at least ``min_size`` coordinates and are runtime
    layers (``runtime_kind`` in ``gmc.runtime.flows.LAYERS``). ``cheap_inverse``: whether
    the log-density of given values (data) costs one pass; ``why_no_inverse`` says why not.
    ``learned``: whether the transform has learned parameters (a runtime module);
    ``permutation``: it only reorders the event (no log-determinant to add)."""

    name: str
    domain: str
    codomain: str
    elementwise: bool
    reference: str
    cheap_inverse: bool = True
    why_no_inverse: str = ""
    min_size: int = 1
    options: tuple[OptionSpec, ...] = field(default=())
    runtime_kind: str | None = None
    learned: bool = False
    latex: str = ""
    #: For a permutation of the event (log |det| = 0): the sampling code, ``{}`` the value
    #: (no log-determinant is accumulated); empty for every other transform.
    permutation: str = ""

    def option(self, name: str) -> OptionSpec | None:
        return next((o for o in self.options if o.name == name), None)

    @property
    def expression_options(self) -> tuple[str, ...]:
        """Options given as expressions: all of them or none (learned parameters) are given."""
        return tuple(o.name for o in self.options if o.kind in ("vector", "scalar"))


TRANSFORMS: dict[str, TransformSpec] = {}


def register(spec: TransformSpec) -> TransformSpec:
    TRANSFORMS[spec.name] = spec
    return spec
