"""Per-step values of a ``param`` during training: ``gmc train ... --schedule C=linear:0:25:2000``.

The capacity schedule of Burgess et al. (2018, section 5) raises the KL target C linearly
from 0 to its final value over a number of steps; any ``param`` of a model can follow such
a schedule. :func:`gmc.runtime.train.fit` passes the values at each step to the loss as
per-call param overrides, so the generated code is unchanged.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from gmc.runtime.errors import DataError

KINDS = ("linear",)


@dataclass(frozen=True)
class Schedule:
    """``param`` goes from ``start`` (step 0) to ``end`` (step ``steps`` and after), linearly."""

    param: str
    start: float
    end: float
    steps: int
    kind: str = "linear"

    def value(self, step: int) -> float:
        """The value at optimizer step ``step`` (0 for the first step of training)."""
        fraction = min(max(step, 0) / self.steps, 1.0)
        return self.start + (self.end - self.start) * fraction

    def __str__(self) -> str:
        return f"{self.param}={self.kind}:{self.start:g}:{self.end:g}:{self.steps}"


def parse_schedule(text: str) -> Schedule:
    """Parse ``NAME=linear:START:END:STEPS`` (STEPS a positive integer).

    Raises DataError, naming the expected form, for anything else."""
    form = f"expected NAME=linear:START:END:STEPS, e.g. C=linear:0:25:2000; got {text!r}"
    name, sep, rest = text.partition("=")
    parts = rest.split(":")
    if not sep or not name.isidentifier() or len(parts) != 4 or parts[0] not in KINDS:
        raise DataError(f"bad --schedule: {form}")
    try:
        start, end, steps = float(parts[1]), float(parts[2]), int(parts[3])
    except ValueError:
        raise DataError(f"bad --schedule: {form}") from None
    if not (math.isfinite(start) and math.isfinite(end)) or steps < 1:
        raise DataError(f"bad --schedule: START and END must be finite and STEPS >= 1; got {text!r}")
    return Schedule(name, start, end, steps, parts[0])


def check_params(schedules, params) -> None:
    """DataError when a schedule names something that is not one of ``params``, or a param twice."""
    seen = set()
    for s in schedules:
        if s.param not in params:
            known = ", ".join(params) or "none"
            raise DataError(f"--schedule {s}: the model has no param '{s.param}' (its params: {known})")
        if s.param in seen:
            raise DataError(f"--schedule: param '{s.param}' is scheduled twice")
        seen.add(s.param)
