"""The fuzzers on a few hundred fixed cases each: no exception other than GmcError before
run time, no hang, every generated module imports, and every accepted generated program
runs (``python -m tests.fuzz`` runs the same campaigns at any size)."""
from __future__ import annotations

import random

import pytest

from gmc.compiler import driver

from .campaign import run_campaign
from .minimize import minimize
from .mutate import mutated_case, seed_corpus
from .pipeline import BUG_CLASSES
from .programs import TEMPLATES, generate_program, program_case
from .workers import Pool

MUTATED_CASES = 500
GENERATED_PROGRAMS = 400


def _report(report: dict) -> str:
    lines = [f"{report['mode']} seed {report['seed']}: {report['counts']}; reproduce with "
             f"python -m tests.fuzz {report['mode']} --n {report['n']} --seed {report['seed']}"]
    for group in report["findings"]:
        lines.append(f"{group['count']} x {group['signature']} cases {group['cases'][:10]}")
        lines.append("    " + repr(group.get("minimized", group["input"]))[:300])
    return "\n".join(lines)


@pytest.mark.slow
def test_mutated_sources_fail_only_with_located_errors():
    report = run_campaign("mutate", MUTATED_CASES, seed=0, jobs=2, timeout=2.0, minimize_budget=0)
    assert sum(report["counts"].values()) == MUTATED_CASES
    assert not any(report["counts"].get(c) for c in BUG_CLASSES), _report(report)


@pytest.mark.slow
def test_generated_programs_compile_and_run():
    report = run_campaign("programs", GENERATED_PROGRAMS, seed=0, jobs=2, timeout=10.0, minimize_budget=0)
    assert sum(report["counts"].values()) == GENERATED_PROGRAMS
    assert report["counts"].get("ok", 0) >= GENERATED_PROGRAMS // 2, report["counts"]  # the generator stays useful
    assert not any(report["counts"].get(c) for c in BUG_CLASSES), _report(report)


def test_cases_are_a_function_of_seed_and_index():
    corpus = seed_corpus()
    assert mutated_case(3, 17, corpus) == mutated_case(3, 17, corpus)
    assert mutated_case(3, 17, corpus) != mutated_case(4, 17, corpus)
    assert program_case(1, 5) == program_case(1, 5)
    assert program_case(1, 5).text != program_case(1, 6).text


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_generated_description_matches_the_compiled_model(template):
    program = generate_program(random.Random(template), template)
    assert program.template == template
    model = driver.compile_model(program.text)
    assert set(model.vars) == set(program.variables)
    for name, spec in program.variables.items():
        declared = model.vars[name]
        assert (declared.type.support, declared.type.shape, declared.is_global) == \
            (spec.support, spec.shape, spec.is_global)
    assert set(model.losses) == set(program.losses)
    assert set(program.factors) <= {f.replace(" ", "") for f in model.factors}


def test_a_case_over_the_timeout_is_a_hang_and_the_pool_recovers():
    vae = (seed_corpus()[0][1])
    with Pool(jobs=1, timeout=0.001) as pool:
        assert next(pool.run([(0, "mutate", vae)]))[1]["class"] == "hang"
        pool.timeout = 60.0
        assert next(pool.run([(1, "mutate", "model M\nvar x: reel\n")]))[1]["class"] == "gmc_error"


def test_minimize_keeps_only_what_the_failure_needs():
    text = "".join(f"line {i}\n" for i in range(40)).replace("line 7\n", "line 7 boom\n") + "tail x\n"
    fails = lambda t: "boom" in t and "x" in t  # noqa: E731
    assert minimize(text, fails, budget=400) == "boomx"  # lines first, then tokens (whitespace too)
