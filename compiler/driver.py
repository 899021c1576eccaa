"""The pipeline, one pass per line (DESIGN.md section 1).

    parse -> lower -> check -> simplify -> latex / codegen -> load

Each stage is a pure function of the previous one's output; ``compile_model`` stops at the
checked IR, so ``gmc check`` never imports sympy or torch.
"""
from __future__ import annotations

import functools
import gc
from pathlib import Path

from gmc.compiler import ir


def read_source(path: str | Path) -> tuple[str, str]:
    """(text, display name) of a .gm file; raises GmcError when it cannot be read."""
    from gmc.compiler import diagnostics as diag

    p = Path(path)
    try:
        return p.read_text(encoding="utf-8"), p.name
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise diag.GmcError([diag.Diagnostic("Error", diag.NO_SPAN, f"Cannot read '{path}': {reason}.")],
                            "", str(path)) from None


def _gc_paused(stage):
    """Run ``stage`` with Python's cyclic garbage collector paused (then restored).

    A pass allocates many small objects (parse trees, IR, sympy terms) that all stay alive
    until it ends, so every automatic collection rescans a growing heap: at 10,000 factors
    half of parsing was collection. Nothing is leaked: cycles made meanwhile are collected
    after the stage, by the next automatic collection."""
    @functools.wraps(stage)
    def run(*args, **kwargs):
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return stage(*args, **kwargs)
        finally:
            if was_enabled:
                gc.enable()
    return run


@_gc_paused
def compile_model(text: str, filename: str = "<string>", name: str | None = None) -> ir.Model:
    """Source text to a checked IR model; raises GmcError on any error."""
    from gmc.compiler.checks import check
    from gmc.compiler.lower import lower
    from gmc.dsl.parser import parse

    program = parse(text, filename)
    model = lower(program)
    if name is not None:
        model.name = name
    return check(model)


def latex(model: ir.Model) -> str:
    from gmc.compiler.latex import model_latex

    return model_latex(model)


@_gc_paused
def python_source(model: ir.Model) -> str:
    """Generated module source for a checked model (objectives simplified first)."""
    from gmc.compiler.codegen.module import generate
    from gmc.compiler.simplify import simplify

    return generate(simplify(model), latex(model))


@_gc_paused
def load(source: str, model: ir.Model) -> type:
    from gmc.runtime.loader import load_class

    return load_class(source, model.name, model.filename)
