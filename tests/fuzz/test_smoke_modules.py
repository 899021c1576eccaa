"""Every good golden and every example imports and runs: each loss forward and backward,
each factor's log-density and sampler, on random values of the declared shapes."""
from __future__ import annotations

import pytest

from gmc.compiler import driver

from .inputs import smoke_run
from .mutate import ROOT

PROGRAMS = sorted((ROOT / "tests" / "golden" / "good").glob("*.gm")) + sorted((ROOT / "examples").glob("*.gm"))


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_generated_module_runs(path):
    model, cls = driver.compile_class(*driver.read_source(path))
    smoke_run(model, cls, seed=0)
