"""Rendered math for notebooks: _repr_latex_ on compiled classes and instances, gmc.equations /
gmc.display for one loss, and matplotlib mathtext parsing every example's LaTeX."""
import types
from pathlib import Path

import pytest
from matplotlib.mathtext import MathTextParser

import gmc
from gmc.runtime.errors import DataError

ROOT = Path(__file__).parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.gm"))


def test_class_and_instance_show_their_equations_as_display_math():
    VAE = gmc.compile_file(ROOT / "examples" / "vae.gm")
    # IPython asks a class only for a bound method (IPython.utils.dir2.get_real_method)
    assert isinstance(VAE._repr_latex_, types.MethodType)
    shown = VAE._repr_latex_()
    assert shown == VAE()._repr_latex_()
    assert shown.startswith("$$\\begin{array}{l}\n") and shown.endswith("\n\\end{array}$$")
    body = shown.removeprefix("$$\\begin{array}{l}\n").removesuffix("\n\\end{array}$$")
    assert body.split(" \\\\\n") == gmc.latex(ROOT / "examples" / "vae.gm").splitlines()


def test_one_loss_from_a_class_an_instance_or_a_path():
    VAE = gmc.compile_file(ROOT / "examples" / "vae.gm")
    expected = [line for line in gmc.latex(ROOT / "examples" / "vae.gm").splitlines()
                if line.startswith(r"\mathcal{L}_{\mathrm{iw}} = ")]
    assert len(expected) == 1
    for source in (VAE, VAE(), ROOT / "examples" / "vae.gm"):
        assert gmc.equations(source, "iw").lines == expected
    derived = gmc.equations(ROOT / "examples" / "vae.gm", "loss", derived=True).lines
    assert derived[0].startswith(r"\mathcal{L} = ") and len(derived) > 1
    assert not any(line.startswith(r"\mathcal{L}_{\mathrm{iw}}") for line in derived)
    with pytest.raises(DataError, match="no loss named 'nope'; VAE has: loss, iw"):
        gmc.equations(VAE, "nope")


def test_display_prints_latex_outside_ipython(capsys):
    gmc.display(ROOT / "examples" / "vae.gm", "iw")
    assert capsys.readouterr().out.startswith(r"\mathcal{L}_{\mathrm{iw}} = ")


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_mathtext_parses_every_equation_of_every_example(path):
    parser = MathTextParser("path")
    for derived in (False, True):
        for line in gmc.latex(path, derived=derived).splitlines():
            parser.parse(f"${line}$")  # raises ValueError on what mathtext cannot typeset


def test_equations_render_to_a_png(tmp_path):
    out = gmc.equations(ROOT / "examples" / "m2.gm").save(tmp_path / "m2.png")
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_readme_shows_the_true_repr_latex_output():
    readme = (ROOT / "README.md").read_text()
    VAE = gmc.compile_file(ROOT / "examples" / "vae.gm")
    assert f">>> print(VAE._repr_latex_()[:64])\n{VAE._repr_latex_()[:64]}\n```" in readme


def test_class_and_instance_show_a_table_math_and_the_graph_as_html():
    import xml.etree.ElementTree as ET

    VAE = gmc.compile_file(ROOT / "examples" / "vae.gm")
    page = VAE._repr_html_()
    assert page[:page.index("<svg")] == VAE()._repr_html_()[:page.index("<svg")]  # the SVG's ids are random
    assert "<td>variable</td><td><code>z</code></td><td>real[8]</td>" in page
    assert "<td>factor</td><td><code>q(z|x)</code></td><td>z</td><td>x</td>" in page
    assert "<td>loss</td><td><code>loss</code></td><td></td><td>x</td>" in page
    assert "$$\\begin{array}{l}" in page  # notebooks prefer HTML to LaTeX: the math is in it
    svg = page[page.index("<svg"):page.index("</svg>") + len("</svg>")]
    ET.fromstring(svg)  # well-formed inline SVG
    assert ET.fromstring(page.replace("&nbsp;", " ")).tag == "div"  # the whole view is well-formed


def test_a_class_without_source_still_has_its_html_table():
    from gmc.notebook import model_html
    from gmc.runtime.model import GeneratedModel

    class Bare(GeneratedModel):
        variables = {"x": ("real", (2,))}

    page = model_html(Bare)
    assert "<code>x</code>" in page and "source is unknown" in page and "<svg" not in page
