"""Differential testing of random well-typed programs against the reference interpreter (issue 12).

A Hypothesis strategy draws programs from the fuzzers' generator (tests/fuzz/programs.py: every
family of the catalogue, hierarchies, products, conditionals through built-in and user nets,
params and weights, lets and arithmetic, log, E, KL, H, CE, elbo, iwae, renyi and mmd with
every estimator option, marginals over discrete variables, experts and renamed factors). For
each, the checker must accept it and :func:`fuzz.differential.compare_program` must find the
generated module and the interpreter in agreement: log-densities, exact losses and their
gradients to 1e-9 in float64, stochastic losses in mean and samplers in distribution within 5
standard errors. ``python -m tests.fuzz differential --n 20000`` runs the same check at scale;
shrunk disagreements are kept as programs in tests/golden/differential/ (run by
tests/test_reference_interpreter.py).
"""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz.differential import compare_program
from fuzz.pipeline import compile_case
from fuzz.programs import generate_program

programs = st.randoms(use_true_random=False).map(generate_program)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(programs)
def test_generated_programs_agree_with_the_reference_interpreter(program):
    result, model, cls = compile_case(program.text)
    assert result["class"] == "ok", f"{result}\n{program.text}"
    compare_program(model, cls, seed=0)
