"""The graphical model picture: panels, arrows, observed/latent and plates, DOT text, files."""
from pathlib import Path

import pytest

import gmc
from gmc.cli import main

ROOT = Path(__file__).parent.parent


def test_vae_has_a_generative_and_an_inference_panel_with_labelled_arrows():
    g = gmc.graph(ROOT / "examples" / "vae.gm")
    p, q = g.panels
    assert (p.family, p.title, set(p.variables), p.edges) == ("p", "generative model p", {"x", "z"},
                                                              (("z", "x", "dec"),))
    assert (q.family, q.edges) == ("q", (("x", "z", "enc"),))
    assert g.observed == {"x"} and g.global_vars == frozenset()


def test_m2_chains_its_factors_and_bayes_regression_puts_w_outside_the_plate():
    m2 = gmc.graph(ROOT / "examples" / "m2.gm")
    assert set(m2.panels[0].edges) == {("y", "x", "dec"), ("z", "x", "dec")}
    assert set(m2.panels[1].edges) == {("x", "y", "cls"), ("x", "z", "enc"), ("y", "z", "enc")}
    assert m2.observed == {"x", "y"}
    bayes = gmc.graph(ROOT / "examples" / "bayes_regression.gm")
    assert bayes.global_vars == {"w"} and set(bayes.panels[0].edges) == {("x", "y", ""), ("w", "y", "")}
    dot = bayes.dot()
    plate = dot[dot.index('subgraph "cluster_p_plate"'):]
    plate = plate[:plate.index("}")]
    assert '"p_x"' in plate and '"p_y"' in plate and '"p_w"' not in plate
    assert '"p_w" -> "p_y";' in dot


def test_dot_marks_observed_variables_and_is_balanced():
    dot = gmc.graph(ROOT / "examples" / "vae.gm").dot()
    assert dot.startswith('digraph "VAE" {') and dot.count("{") == dot.count("}")
    assert '"p_x" [label="x", fillcolor="#b8c7dc"];' in dot and '"p_z" [label="z", fillcolor="#ffffff"];' in dot
    assert '"p_z" -> "p_x" [label="dec"];' in dot and '"q_x" -> "q_z" [label="enc"];' in dot


@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".svg", b"<?xml"), (".dot", b"digraph")])
def test_cli_writes_the_picture_by_extension(tmp_path, suffix, magic, capsys):
    out = tmp_path / f"vae{suffix}"
    assert main(["graph", str(ROOT / "examples" / "vae.gm"), "-o", str(out)]) == 0
    assert out.read_bytes().startswith(magic)
    assert f"wrote {out}" in capsys.readouterr().err


def test_cli_refuses_an_unknown_format(tmp_path, capsys):
    assert main(["graph", str(ROOT / "examples" / "vae.gm"), "-o", str(tmp_path / "v.bmpx")]) == 1
    assert "unknown picture format '.bmpx'" in capsys.readouterr().err


def test_a_class_or_instance_draws_its_own_graph():
    VAE = gmc.compile_file(ROOT / "examples" / "vae.gm")
    assert gmc.graph(VAE()) == gmc.graph(VAE) == gmc.graph(ROOT / "examples" / "vae.gm")
    assert gmc.graph(VAE())._repr_svg_().lstrip().startswith("<?xml")


def test_graph_stays_free_as_a_name_in_a_model():
    source = """
model Named
var graph: real[2]
var z: real[2]
p(z) = Normal(0, 1)
p(graph|z) = Normal(z, 1)
p(graph,z) = p(graph|z) p(z)
loss = -mean(log p(graph, z))
"""
    m = gmc.compile_source(source)()
    assert "graph" in m.variables and not hasattr(type(m), "graph")
    drawn = gmc.graph(m)
    assert ("z", "graph", "") in drawn.panels[0].edges
