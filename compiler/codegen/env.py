"""Where values live while a method is emitted: :class:`Env`.

Kept apart from :mod:`gmc.compiler.codegen.emitter` so that the per-kind lowering modules
(:mod:`gmc.compiler.codegen.factor_kinds` and what it dispatches to) can build environments
without importing the emitter they are called from.
"""
from __future__ import annotations

from collections.abc import Mapping, Set as AbstractSet
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Env:
    """Where values live while emitting: variable -> Python name, plus shape information.

    ``batch`` is code for the batch shape; ``ref`` names a tensor with the right dtype and
    device; ``particles`` is K inside ``iwae`` and ``particle_vars`` the variables that carry
    the leading K dimension. ``global_batch`` is the batch shape of global variables
    (``var global w``): ``()`` inside losses, where they are drawn once per data set."""

    names: Mapping[str, str]
    batch: str
    ref: str
    particles: int | None = None
    particle_vars: AbstractSet[str] = frozenset()
    global_batch: str = "()"
    plate: str | None = None  # the plate whose size scales this loss's sums (gmc.compiler.plates)

    def name(self, var: str) -> str:
        return self.names[var]

    def bind(self, var: str, name: str, with_particles: bool) -> "Env":
        return self.bind_all(((var, name, with_particles),))

    def bind_all(self, items) -> "Env":
        """This env with each ``(variable, python name, carries particles)`` of ``items`` bound
        (later items win), in one copy."""
        names, carried = dict(self.names), set(self.particle_vars)
        for var, name, with_particles in items:
            names[var] = name
            (carried.add if with_particles else carried.discard)(var)
        return replace(self, names=names, particle_vars=frozenset(carried))

    def key(self, variables) -> tuple:
        b = self.names
        return tuple((v, b.get(v)) for v in variables) + (self.particles,)
