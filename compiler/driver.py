"""The pipeline, one pass per line (docs/design.md section 1).

    parse -> lower -> check -> simplify -> latex / codegen -> load

Each stage is a pure function of the previous one's output; ``compile_model`` stops at the
checked IR, so ``gmc check`` never imports sympy or torch.
"""
from __future__ import annotations

import functools
import gc
from pathlib import Path

from gmc.compiler import ir
from gmc.compiler.recursion import deep_stack


def read_source(path: str | Path) -> tuple[str, str]:
    """(text, display name) of a .gm file; raises GmcError when it cannot be read or is not UTF-8.

    A UTF-8 byte-order mark at the start (some Windows editors write one) is skipped."""
    from gmc.compiler import diagnostics as diag
    from gmc.dsl.ast import Span

    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise diag.GmcError([diag.cannot_read(str(path), e.strerror or str(e))], "", str(path)) from None
    try:
        return data.decode("utf-8").removeprefix(_BOM), p.name
    except UnicodeDecodeError as e:
        before = data[:e.start].decode("utf-8", errors="replace")
        line = before.count("\n") + 1
        column = len(before) - (before.rfind("\n") + 1) + 1
        span = Span(line, column, line, column)
        raise diag.GmcError([diag.not_utf8(span, data[e.start])], data.decode("utf-8", errors="replace"),
                            p.name) from None


_BOM = "\ufeff"


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


@deep_stack
@_gc_paused
def compile_model(text: str, filename: str = "<string>", name: str | None = None) -> ir.Model:
    """Source text to a checked IR model; raises GmcError on any error."""
    return check_source(text, filename, name)[0]


@deep_stack
def check_source(text: str, filename: str = "<string>", name: str | None = None):
    """(checked IR model, warnings) for source text; raises GmcError on any error.

    Warnings (:func:`gmc.compiler.unused.unused_warnings`) are computed only for programs
    without errors, so an error transcript never mixes in warnings."""
    from gmc.compiler import diagnostics as diag
    from gmc.compiler.checks import check, check_errors
    from gmc.compiler.lower import lower_partial
    from gmc.compiler.unused import unused_warnings
    from gmc.dsl.parser import parse

    text = text.removeprefix(_BOM)
    program = parse(text, filename)
    model, errors = lower_partial(program)
    if errors:
        # Check what did resolve too, so independent semantic errors are reported together.
        errors = sorted(errors + check_errors(model), key=lambda d: (d.span.line, d.span.column))
        raise diag.GmcError(errors, text, filename)
    if name is not None:
        model.name = name
    check(model)
    return model, unused_warnings(program)


@deep_stack
def latex(model: ir.Model) -> str:
    from gmc.compiler.latex import model_latex

    return model_latex(model)


@deep_stack
def derived_latex(model: ir.Model) -> str:
    """LaTeX of the losses after simplification, closed forms expanded (``gmc latex --derived``)."""
    from gmc.compiler.simplify import simplify
    from gmc.compiler.symbolic.report import derived_latex as render

    return render(simplify(model))


@deep_stack
def explain(model: ir.Model) -> str:
    """The rewrites and derivations applied to ``model`` (``gmc explain``)."""
    from gmc.compiler.explain import explain as report

    return report(model)


@deep_stack
@_gc_paused
def python_source(model: ir.Model) -> str:
    """Generated module source for a checked model (objectives simplified first)."""
    from gmc.compiler import diagnostics as diag
    from gmc.compiler.codegen.module import generate
    from gmc.compiler.simplify import simplify
    from gmc.compiler.symbolic.constants import UndefinedConstant

    try:
        return generate(simplify(model), latex(model))
    except UndefinedConstant as e:  # a constant checks could not see (log 0 of folded bounds)
        span = e.span if e.span is not None else next(iter(model.factors.values())).span
        raise diag.GmcError([diag.undefined_constant(span, str(e.expr))],
                            model.source, model.filename) from None


@deep_stack
@_gc_paused
def compile_class(text: str, filename: str = "<string>", name: str | None = None, *,
                  cached: bool = False) -> tuple[ir.Model, type]:
    """(checked IR, generated class) for source text: the whole pipeline with the collector
    paused throughout, so no collection rescans one stage's objects between stages.

    ``cached``: reuse the generated source from the on-disk cache of
    :mod:`gmc.compiler.source_cache` (the command line's `train` and `sample`); parsing and
    checking run either way."""
    model = compile_model(text, filename, name)
    if cached:
        from gmc.compiler.source_cache import cached_source

        source = cached_source(text, filename, name, lambda: python_source(model))
        try:
            return model, load(source, model)
        except SyntaxError:  # a damaged cache entry (edited by hand): made again
            source = cached_source(text, filename, name, lambda: python_source(model), refresh=True)
    else:
        source = python_source(model)
    return model, load(source, model)


@deep_stack
@_gc_paused
def load(source: str, model: ir.Model) -> type:
    from gmc.runtime.loader import load_class
    from gmc.runtime.pickling import register

    cls = load_class(source, model.name, model.filename)
    register(cls, model.source, model.filename, model.name)
    return cls
