"""The graphical model of a ``.gm`` program, as a picture (``gmc graph``, ``gmc.graph(m)``).

One panel per factor family letter, the generative model (``p``) first, then the inference
model (``q``) and any other: a node per variable, an arrow from each conditioning variable
to each variable a distribution factor draws, labelled with the nets its parameters call.
Variables some loss reads from data are observed (shaded); the others are latent (clear).
Per-example variables sit inside a plate labelled N (one copy per example); ``var global``
ones sit outside it (Bishop 2006, section 8.1.1, for the notation).

Two renderings, each from a well-kept library: :meth:`ModelGraph.dot` writes Graphviz DOT
text (render it with ``dot -Tsvg``, or paste it into any Graphviz viewer), and
:meth:`ModelGraph.figure` draws the panels with networkx's layout helpers and matplotlib,
which need nothing beyond pip. ``gmc graph FILE.gm -o model.png|svg|pdf|dot`` picks by the
extension.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from gmc.compiler import ir

__all__ = ["ModelGraph", "Panel", "model_graph", "graph"]

_OBSERVED_FILL = "#b8c7dc"
_LATENT_FILL = "#ffffff"


@dataclass(frozen=True)
class Panel:
    """One model's variables and arrows: ``edges`` are (parent, child, nets label)."""

    family: str
    title: str
    variables: tuple[str, ...]
    edges: tuple[tuple[str, str, str], ...]


@dataclass(frozen=True)
class ModelGraph:
    """The graphical model of one program: its panels and which variables are observed/global."""

    name: str
    panels: tuple[Panel, ...]
    observed: frozenset[str]
    global_vars: frozenset[str]

    def dot(self) -> str:
        """Graphviz DOT text: one cluster per panel, each with a plate cluster ``N`` around its
        per-example variables; node names are ``<family>_<variable>``."""
        lines = [f'digraph "{_quoted(self.name)}" {{', "  rankdir=TB;", '  node [shape=circle, style=filled];']
        for panel in self.panels:
            lines.append(f'  subgraph "cluster_{panel.family}" {{')
            lines.append(f'    label="{_quoted(panel.title)}"; color=white;')
            local = [v for v in panel.variables if v not in self.global_vars]
            if local:
                lines.append(f'    subgraph "cluster_{panel.family}_plate" {{')
                lines.append('      label="N"; labeljust=r; labelloc=b; style=rounded;')
                lines += [f"      {self._dot_node(panel, v)}" for v in local]
                lines.append("    }")
            lines += [f"    {self._dot_node(panel, v)}" for v in panel.variables if v in self.global_vars]
            for a, b, label in panel.edges:
                attr = f' [label="{_quoted(label)}"]' if label else ""
                lines.append(f'    "{panel.family}_{a}" -> "{panel.family}_{b}"{attr};')
            lines.append("  }")
        lines.append("}")
        return "\n".join(lines) + "\n"

    def _dot_node(self, panel: Panel, var: str) -> str:
        fill = _OBSERVED_FILL if var in self.observed else _LATENT_FILL
        return f'"{panel.family}_{var}" [label="{_quoted(var)}", fillcolor="{fill}"];'

    def figure(self):
        """A :class:`matplotlib.figure.Figure` with the panels side by side (networkx layout:
        parents above children, one row per topological generation)."""
        from matplotlib.figure import Figure

        panels = self.panels or (Panel("p", "(no factors)", (), ()),)
        fig = Figure(figsize=(3.6 * len(panels), 3.8))
        for i, panel in enumerate(panels):
            ax = fig.add_subplot(1, len(panels), i + 1)
            self._draw(ax, panel)
        fig.suptitle(self.name)
        fig.tight_layout()
        return fig

    def _draw(self, ax, panel: Panel) -> None:
        import networkx as nx
        from matplotlib.patches import FancyBboxPatch

        g = nx.DiGraph()
        g.add_nodes_from(panel.variables)
        g.add_edges_from((a, b, {"label": label}) for a, b, label in panel.edges)
        pos = _layered(g, self.global_vars)
        ax.set_title(panel.title, fontsize=10)
        ax.set_axis_off()
        local = [v for v in panel.variables if v not in self.global_vars]
        if local:
            xs, ys = [pos[v][0] for v in local], [pos[v][1] for v in local]
            ax.add_patch(FancyBboxPatch((min(xs) - 0.45, min(ys) - 0.5), max(xs) - min(xs) + 0.9,
                                        max(ys) - min(ys) + 0.9, boxstyle="round,pad=0.02,rounding_size=0.1",
                                        fill=False, linewidth=1.0, edgecolor="#555555"))
            ax.text(max(xs) + 0.38, min(ys) - 0.45, "N", ha="right", va="bottom", fontsize=9)
        colors = [_OBSERVED_FILL if v in self.observed else _LATENT_FILL for v in g.nodes]
        nx.draw_networkx_nodes(g, pos, ax=ax, node_color=colors, edgecolors="black", node_size=900)
        nx.draw_networkx_labels(g, pos, ax=ax, font_size=11)
        nx.draw_networkx_edges(g, pos, ax=ax, arrows=True, arrowsize=14, node_size=900)
        labels = {(a, b): label for a, b, label in panel.edges if label}
        if labels:
            nx.draw_networkx_edge_labels(g, pos, edge_labels=labels, ax=ax, font_size=8)
        xs = [x for x, _ in pos.values()] or [0.0]
        ys = [y for _, y in pos.values()] or [0.0]
        ax.set_xlim(min(xs) - 1.0, max(xs) + 1.0)
        ax.set_ylim(min(ys) - 1.0, max(ys) + 0.8)

    def save(self, path: str | os.PathLike, dpi: int = 150) -> Path:
        """Write the picture to ``path``: DOT text for ``.dot``/``.gv``, else :meth:`figure` in
        the format of the extension (``.png``, ``.svg``, ``.pdf``). Raises ValueError for an
        extension matplotlib cannot write."""
        path = Path(path)
        if path.suffix.lower() in (".dot", ".gv"):
            path.write_text(self.dot(), encoding="utf-8")
            return path
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        fig = self.figure()
        FigureCanvasAgg(fig)
        fig.savefig(path, dpi=dpi)
        return path

    def _repr_svg_(self) -> str:
        """Jupyter shows the picture."""
        import io

        from matplotlib.backends.backend_svg import FigureCanvasSVG

        buffer = io.StringIO()
        fig = self.figure()
        FigureCanvasSVG(fig)
        fig.savefig(buffer, format="svg")
        return buffer.getvalue()


def model_graph(model: ir.Model) -> ModelGraph:
    """The :class:`ModelGraph` of a checked IR model."""
    from gmc.compiler.dataflow import data_inputs

    observed = {v for loss in model.losses.values() for v in data_inputs(model, loss.expr)}
    families: dict[str, list[ir.Factor]] = {}
    for f in model.factors.values():
        if not f.is_product:
            families.setdefault(f.name, []).append(f)
    order = sorted(families, key=lambda n: (n != "p", n != "q", n))
    panels = []
    for family in order:
        edges, seen = [], []
        for f in families[family]:
            nets = ", ".join(dict.fromkeys(n.net for _, e in f.params for n in ir.walk(e)
                                           if isinstance(n, ir.NetCall)))
            for out in f.outputs:
                edges += [(given, out, nets) for given in f.given]
            seen += [*f.given, *f.outputs]
        variables = tuple(v for v in model.vars if v in seen)
        title = {"p": "generative model p", "q": "inference model q"}.get(family, f"model {family}")
        panels.append(Panel(family, title, variables, tuple(edges)))
    return ModelGraph(model.name, tuple(panels), frozenset(observed),
                      frozenset(v.name for v in model.vars.values() if v.is_global))


def graph(model) -> ModelGraph:
    """The :class:`ModelGraph` of ``model``: a ``.gm`` path, or a compiled class or instance
    (recompiled from the source it was made from). Raises :class:`gmc.GmcError` for a bad file."""
    from gmc.compiler import driver

    if isinstance(model, (str, os.PathLike)):
        return model_graph(driver.compile_model(*driver.read_source(model)))
    cls = model if isinstance(model, type) else type(model)
    from gmc.runtime.pickling import ORIGIN

    origin = getattr(cls, ORIGIN, None)
    if origin is None:
        raise TypeError(f"{cls.__name__} was not made by gmc.compile_file/compile_source, so its source is unknown")
    text, filename, name = origin
    return model_graph(driver.compile_model(text, filename, name))


def _layered(g, global_vars) -> dict:
    """Positions: one row per topological generation (parents above), each row centred;
    global variables moved one column left of the rest."""
    import networkx as nx

    try:
        generations = [sorted(gen, key=list(g.nodes).index) for gen in nx.topological_generations(g)]
    except nx.NetworkXUnfeasible:  # a cycle cannot occur in one family; keep a sane fallback
        generations = [list(g.nodes)]
    pos = {}
    for depth, row in enumerate(generations):
        local = [v for v in row if v not in global_vars]
        for i, v in enumerate(local):
            pos[v] = (i - (len(local) - 1) / 2, -float(depth))
    width = max((abs(x) for x, _ in pos.values()), default=0.0)
    for depth, row in enumerate(generations):
        for j, v in enumerate(v for v in row if v in global_vars):
            pos[v] = (-width - 1.4 - j, -float(depth))
    return pos


def _quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')
