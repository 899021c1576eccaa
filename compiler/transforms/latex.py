"""LaTeX and plain text of a flow: the base distribution pushed forward through the composed
transforms, as the papers write it, (f_K o ... o f_1)_# q_0 (Rezende & Mohamed 2015, section 3).
A run of K equal transforms prints as one with a composition power: Planar^{o 4}."""
from __future__ import annotations

from gmc.compiler import ir
from gmc.compiler.info import expr_text
from gmc.compiler.transforms.registry import TRANSFORMS


def _runs(flow: tuple[ir.Transform, ...]) -> list[tuple[ir.Transform, int]]:
    runs: list[tuple[ir.Transform, int]] = []
    for t in flow:
        if runs and runs[-1][0].kind == t.kind and runs[-1][0].options == t.options:
            runs[-1] = (t, runs[-1][1] + 1)
        else:
            runs.append((t, 1))
    return runs


def flow_latex(base: str, flow: tuple[ir.Transform, ...]) -> str:
    """``base`` (the base distribution's LaTeX) pushed forward through ``flow``: the last
    transform is written first, as in a composition."""
    parts = []
    for t, count in reversed(_runs(flow)):
        name = TRANSFORMS[t.kind].latex
        parts.append(name + (rf"^{{\circ {count}}}" if count > 1 else ""))
    return r"\left(" + r" \circ ".join(parts) + r"\right)_{\#}\," + base


def flow_text(flow: tuple[ir.Transform, ...]) -> list[str]:
    """Each transform as written (``4 * Planar``, ``Coupling(mask=half, hidden=32, depth=2)``)."""
    out = []
    for t, count in _runs(flow):
        spec = TRANSFORMS[t.kind]
        changed = [f"{k}={expr_text(v) if isinstance(v, ir.Expr) else v}"
                   for (k, v), o in zip(t.options, spec.options) if v != o.default]
        one = t.kind + (f"({', '.join(changed)})" if changed else "")
        out.append(f"{count} * {one}" if count > 1 else one)
    return out
