"""Diagnostics: warnings, one golden per kind, every message located.

``tests/golden/bad/*.gm`` hold one invalid program per error kind (``gmc check`` exits 1);
``tests/golden/warn/*.gm`` hold programs with warnings only (exit 0, warnings on stderr).
"""
import pytest

import gmc
from golden_io import GOLDEN, ROOT, assert_golden
from gmc.cli import main
from gmc.compiler import diagnostics as diag
from gmc.compiler import driver

BAD = sorted((GOLDEN / "bad").glob("*.gm"))
WARN = sorted((GOLDEN / "warn").glob("*.gm"))
GOOD = sorted((GOLDEN / "good").glob("*.gm")) + sorted((ROOT / "examples").glob("*.gm"))

#: Kinds no .gm file can produce, with the test that covers them instead.
NOT_FROM_A_FILE = {"cannot_read": "tests/test_cli.py::test_check_missing_file_is_a_clear_error",
                   "undefined_constant": "tests/test_hardening_numerics.py::test_undefined_constant_is_located",
                   # MCMC's checks need the data's names (tests/golden/mcmc_bad holds one golden each)
                   **{kind: "tests/test_mcmc.py::test_every_mcmc_kind_has_a_golden" for kind in (
                       "mcmc_discrete_latent", "mcmc_latent_without_density", "mcmc_latent_fixed_by_data",
                       "mcmc_local_latent", "mcmc_nothing_to_sample", "mcmc_ambiguous_joint")}}


def _diagnostics(path):
    """Every diagnostic of one file (errors, or the warnings of a valid program)."""
    try:
        return driver.check_source(*driver.read_source(path))[1]
    except gmc.GmcError as e:
        return e.diagnostics


@pytest.mark.parametrize("path", WARN, ids=lambda p: p.stem)
def test_warning_transcript(path, capsys, monkeypatch, update_golden):
    monkeypatch.chdir(path.parent)
    assert main(["check", path.name]) == 0
    captured = capsys.readouterr()
    assert "ok" in captured.out and "warning" in captured.out
    assert_golden(captured.err, path.with_suffix(".err"), update_golden)


def test_every_diagnostic_kind_has_a_golden():
    produced = {d.kind for path in BAD + WARN for d in _diagnostics(path)}
    missing = set(diag.KINDS) - produced - set(NOT_FROM_A_FILE)
    assert not missing, f"no golden program in tests/golden/bad or warn produces: {sorted(missing)}"


def test_kinds_are_every_public_constructor():
    assert len(diag.KINDS) >= 30
    assert "unused" in diag.KINDS and "undefined_name" in diag.KINDS
    assert diag.undefined_name(diag.NO_SPAN, "x", []).kind == "undefined_name"


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_every_error_is_located(path):
    for d in _diagnostics(path):
        assert d.is_error and d.span.line > 0 and d.span.column > 0, (d.kind, d.message)


def test_bad_goldens_are_one_per_kind_at_least_thirty():
    assert len(BAD) >= 30
    assert all(path.with_suffix(".err").exists() for path in BAD)


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.stem)
def test_good_programs_have_no_warnings(path):
    assert gmc.check(path) == []


def test_check_api_returns_warnings_without_raising():
    warnings = gmc.check(WARN[0])
    assert warnings and all(not w.is_error and w.severity == "warning" for w in warnings)
    kinds = [w.message.split("'")[0] for w in warnings]
    assert {"The const ", "The param ", "The weight ", "The variable ", "The net ", "The factor "} <= set(kinds)


def test_warning_header_is_stanc_style(tmp_path):
    f = tmp_path / "w.gm"
    f.write_text("const K = 3\nvar x: binary[2]\np(x) = Bernoulli(probs=0.5)\nloss = mean(-log p(x))\n")
    [w] = gmc.check(f)
    assert w.render(f.read_text(), "w.gm").startswith("Warning in 'w.gm', line 1, column 1 to column 11:")


def test_joint_used_only_for_sampling_is_not_unused(tmp_path):
    f = tmp_path / "j.gm"
    f.write_text("var x: real\nvar z: real\np(z) = Normal(0, 1)\np(x|z) = Normal(z, 1)\np(x,z) = p(x|z) p(z)\n"
                 "loss = mean(-log p(x|z) - log p(z))\n")
    assert gmc.check(f) == []


def test_errors_hide_warnings(tmp_path):
    f = tmp_path / "e.gm"
    f.write_text("const K = 3\nvar x: binary[2]\np(x) = Bernoulli(prob=0.5)\nloss = mean(-log p(x))\n")
    with pytest.raises(gmc.GmcError) as e:
        gmc.check(f)
    assert [d.kind for d in e.value.diagnostics] == ["unknown_parameter"]


def test_a_variable_drawn_in_one_loss_may_be_data_in_another(tmp_path):
    # semi-supervised style: y observed in one loss, inferred in the other
    f = tmp_path / "s.gm"
    f.write_text("var x: real\nvar y: real\nq(y|x) = Normal(x, 1)\np(x|y) = Normal(y, 1)\np(y) = Normal(0, 1)\n"
                 "loss sup = -mean(log p(x|y) + log p(y))\n"
                 "loss unsup = mean(KL[q(y|x) || p(y)] - E_{q(y|x)}[log p(x|y)])\n")
    assert gmc.check(f) == []


def test_latent_read_inside_its_expectation_is_fine(tmp_path):
    f = tmp_path / "ok.gm"
    f.write_text("var x: real\nvar z: real\nvar w: real\nq(w|x) = Normal(x, 1)\nq(z|x,w) = Normal(x + w, 1)\n"
                 "p(x|z) = Normal(z, 1)\nloss = -mean(E_{q(w|x)}[E_{q(z|x,w)}[log p(x|z) + z * w]])\n")
    assert gmc.check(f) == []


def test_resolution_and_semantic_errors_are_reported_together(tmp_path):
    f = tmp_path / "two.gm"
    f.write_text("var x: binary[4]\nvar z: real[2]\np(x|z) = Bernoulli(logitz=z)\np(z) = Normal(0, -1)\n"
                 "q(z|x) = Normal(0, 1)\nloss = mean(-log p(x|z))\nloss b = mean(KL[q(z|x) || p(z)] - log p(z))\n")
    with pytest.raises(gmc.GmcError) as e:
        gmc.check(f)
    assert [(d.kind, d.span.line) for d in e.value.diagnostics] == [
        ("unknown_parameter", 3), ("invalid_constant_parameter", 4), ("unsupplied_variable", 7)]


def test_several_syntax_errors_are_reported(tmp_path):
    f = tmp_path / "s.gm"
    f.write_text("var x binary[4]\nvar z: real[2]\nloss = mean(-log p(x)))\n")
    with pytest.raises(gmc.GmcError) as e:
        gmc.check(f)
    assert [(d.kind, d.span.line) for d in e.value.diagnostics] == [("syntax_error", 1), ("syntax_error", 3)]


def test_cycle_precheck_agrees_with_networkx():
    """ir.find_cycle_edges decides whether networkx is imported to find and report a cycle."""
    import itertools
    import random

    import networkx as nx

    from gmc.compiler.ir import find_cycle_edges

    assert find_cycle_edges([("x", "x")]) and not find_cycle_edges([("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")])
    rng = random.Random(0)
    for _ in range(300):
        nodes = "abcdef"[:rng.randint(1, 6)]
        edges = [e for e in itertools.product(nodes, nodes) if rng.random() < 0.2]
        assert find_cycle_edges(edges) == (not nx.is_directed_acyclic_graph(nx.DiGraph(edges)))
