"""Differential tests of every shipped program against the reference interpreter.

Every program of examples/ and of the good, info, warn and differential goldens goes through
:func:`fuzz.differential.compare_program` in float64: log-densities at batch sizes 1 and 7,
exact losses and their gradients to 1e-9, stochastic losses in mean and samplers in
distribution within 5 standard errors (tests/reference_interpreter is the oracle).
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from fuzz.differential import compare_program
from gmc.compiler.driver import compile_class

ROOT = Path(__file__).parent.parent
PROGRAMS = sorted([*ROOT.glob("examples/*.gm"), *ROOT.glob("tests/golden/good/*.gm"),
                   *ROOT.glob("tests/golden/info/*.gm"), *ROOT.glob("tests/golden/warn/*.gm"),
                   *ROOT.glob("tests/golden/differential/*.gm")])


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_shipped_program_agrees_with_the_reference_interpreter(path):
    text = path.read_text()
    model, cls = compile_class(text, path.name)
    # a regression program runs at the seed it failed at in the fuzzer (its index)
    found = re.search(r"generated program (\d+) of seed", text)
    counts = compare_program(model, cls, seed=int(found.group(1)) if found else 0)
    assert counts["log_densities"] > 0 or not model.factors
