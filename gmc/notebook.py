"""Models and losses as rendered math: in Jupyter (``_repr_latex_``) and with matplotlib.

    VAE = gmc.compile_file("examples/vae.gm")
    VAE                                   # a notebook cell shows the factorizations and losses
    gmc.equations(VAE, loss="iw")         # one loss
    gmc.equations("examples/vae.gm").save("vae_math.png")   # mathtext, no LaTeX install needed

Jupyter renders ``_repr_latex_`` with MathJax; :meth:`Equations.figure` renders each
equation with matplotlib's own TeX subset (mathtext), which every equation gmc writes
parses in (``tests/test_notebook.py`` checks the examples).
"""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["Equations", "equations", "display", "model_html"]


class Equations:
    """Equations in LaTeX, one per line (``lines``), shown as math by Jupyter and matplotlib."""

    def __init__(self, lines: list[str], title: str | None = None):
        self.lines = [line for line in lines if line.strip()]
        self.title = title

    @property
    def latex(self) -> str:
        """The equations, one per line (what ``gmc latex`` prints)."""
        return "\n".join(self.lines)

    def __str__(self) -> str:
        return self.latex

    def __repr__(self) -> str:
        return f"Equations({len(self.lines)} lines{', ' + self.title if self.title else ''})"

    def _repr_latex_(self) -> str | None:
        """Display math for Jupyter: the equations stacked, left-aligned, in one ``array``."""
        if not self.lines:
            return None
        return "$$\\begin{array}{l}\n" + " \\\\\n".join(self.lines) + "\n\\end{array}$$"

    def figure(self, fontsize: float = 12.0):
        """A :class:`matplotlib.figure.Figure` with one equation per row, rendered by mathtext
        (sized to fit the widest equation). Raises ValueError when mathtext cannot parse an
        equation."""
        from matplotlib.figure import Figure
        from matplotlib.font_manager import FontProperties
        from matplotlib.mathtext import MathTextParser

        parser, prop = MathTextParser("path"), FontProperties(size=fontsize)
        sizes = [parser.parse(f"${line}$", dpi=72, prop=prop)[:3] for line in self.lines]
        pad = fontsize * 0.8
        rows = [height + depth + pad for _, height, depth in sizes]
        width = max((w for w, _, _ in sizes), default=0.0) + 2 * pad
        height = sum(rows) + pad + (fontsize * 1.6 if self.title else 0.0)
        fig = Figure(figsize=(max(width, 72.0) / 72, max(height, 36.0) / 72))
        top = height - pad / 2
        if self.title:
            fig.text(pad / width, 1 - (fontsize * 1.2) / height, self.title, fontsize=fontsize, weight="bold")
            top -= fontsize * 1.6
        for (line, (_, h, d), row) in zip(self.lines, sizes, rows):
            top -= row
            fig.text(pad / width, (top + d + pad / 2) / height, f"${line}$", fontsize=fontsize)
        return fig

    def save(self, path: str | os.PathLike, dpi: int = 150) -> Path:
        """Write :meth:`figure` to ``path`` (format from its extension: .png, .svg, .pdf)."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        fig = self.figure()
        FigureCanvasAgg(fig)
        fig.savefig(path, dpi=dpi)
        return Path(path)


def equations(model, loss: str | None = None, *, derived: bool = False) -> Equations:
    """The factorizations and losses of ``model`` as :class:`Equations`, or only the loss ``loss``.

    ``model``: a ``.gm`` path, a compiled class or one of its instances. ``derived=True``
    (paths only) gives the losses after simplification, as ``gmc latex --derived``.
    Raises :class:`gmc.runtime.errors.DataError` for an unknown loss (naming the model's
    losses) and :class:`gmc.GmcError` for a bad ``.gm`` file."""
    from gmc.runtime.errors import DataError

    if isinstance(model, (str, os.PathLike)):
        from gmc.compiler import driver
        from gmc.compiler.latex import loss_latex

        model_ir = driver.compile_model(*driver.read_source(model))
        text = driver.derived_latex(model_ir) if derived else driver.latex(model_ir)
        lines, names, title = text.splitlines(), list(model_ir.losses), Path(model).name
        _known(loss, names, title)
        if loss is None:
            return Equations(lines, title)
        return Equations(_block(lines, loss_latex(model_ir, loss).split(" = ")[0]), f"{title}: {loss}")
    cls = model if isinstance(model, type) else type(model)
    if derived:
        raise DataError("derived=True needs the .gm path (the simplified losses are not kept in the class)")
    lines, names, title = cls.latex_source.splitlines(), list(cls.losses), cls.__name__
    _known(loss, names, title)
    if loss is None:
        return Equations(lines, title)
    # model_latex writes every factor, then one line per loss in the order of cls.losses
    return Equations([lines[len(lines) - len(names) + names.index(loss)]], f"{title}: {loss}")


def _known(loss, names, title) -> None:
    from gmc.runtime.errors import DataError

    if loss is not None and loss not in names:
        raise DataError(f"no loss named '{loss}'; {title} has: {', '.join(names) or 'none'}")


def _block(lines: list[str], symbol: str) -> list[str]:
    """The line defining the loss ``symbol`` and the lines after it up to the next loss (derived
    LaTeX continues a loss over several lines)."""
    out, inside = [], False
    for line in lines:
        if line.startswith(r"\mathcal{L}"):
            inside = line.split(" = ")[0] == symbol
        if inside:
            out.append(line)
    return out


def display(model, loss: str | None = None, *, derived: bool = False) -> None:
    """Show :func:`equations` as rendered math in Jupyter/IPython; print the LaTeX elsewhere."""
    shown = equations(model, loss, derived=derived)
    try:
        from IPython import get_ipython
        from IPython.display import display as ipython_display
    except ImportError:
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None:
        ipython_display(shown)
    else:
        print(shown.latex)


def model_html(cls) -> str:
    """An HTML summary of a compiled class (what ``_repr_html_`` shows in Jupyter): a table of
    its variables (support, event shape), factors (the variables each draws and is given) and
    losses (the data each reads), its equations as display math (MathJax typesets ``$$`` in
    HTML outputs, and notebooks prefer HTML to LaTeX, so the math must be in it too) and the
    graphical model as inline SVG (:mod:`gmc.graphical`; left out, with a note, when the
    class's source is unknown)."""
    from html import escape

    rows = [("variable", name, f"{support}{list(shape) if shape else ''}", "")
            for name, (support, shape) in cls.variables.items()]
    rows += [("factor", sig, ", ".join(info.outputs), ", ".join(info.given))
             for sig, info in cls.factors.items()]
    rows += [("loss", name, "", ", ".join(info.inputs) if not info.batch_from_n else "(draws its own batch of n)")
             for name, info in cls.losses.items()]
    body = "".join(f"<tr><td>{escape(kind)}</td><td><code>{escape(name)}</code></td><td>{escape(a)}</td>"
                   f"<td>{escape(b)}</td></tr>" for kind, name, a, b in rows)
    table = ('<table><thead><tr><th></th><th>name</th><th>support / draws</th><th>given / reads</th></tr>'
             f"</thead><tbody>{body}</tbody></table>")
    math = equations(cls)._repr_latex_() or ""
    try:
        from gmc.graphical import graph

        picture = graph(cls)._repr_svg_()
        picture = picture[picture.find("<svg"):]  # inline: without the XML prolog and DOCTYPE
    except TypeError as err:  # a class not made by gmc.compile_*: no source to draw from
        picture = f"<p><em>{escape(str(err))}</em></p>"
    return (f'<div class="gmc-model"><h4>{escape(cls.__name__)}</h4>{table}'
            f"<div>{escape(math)}</div>{picture}</div>")
