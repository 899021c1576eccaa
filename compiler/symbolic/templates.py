"""Memoize symbolic work by *template*: the expression with its symbols renamed canonically.

A chain of 1,000 ``Normal(x_{i-1}, 1)`` factors asks for the same log-density 1,000 times
with different symbol names. Building and printing it with sympy costs milliseconds each,
so compile time was dominated by repeating it. Here the free symbols are renamed to
placeholders ``_gmcT000000_``, ``_gmcT000001_``, ... numbered in the order of their original
names (sympy orders terms by symbol name, so the printed layout of a template is exactly the
layout of every expression it stands for), the work is done once per template, and the
result is mapped back (:func:`memoize_symbolic`: rebuilding the expression with the original
symbols; :func:`memoize_printer` and :func:`memoize_printed`, which code generation uses:
substituting the original names for the placeholders in the printed text). Placeholders keep the class of the
symbol they replace (:class:`~gmc.compiler.symbolic.functions.Scalar` or tensor symbol), so
printing still chooses ``math`` or ``torch`` the same way. Output is unchanged and
deterministic; only repeated work is skipped.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import sympy as sp

_PLACEHOLDER = re.compile(r"_gmcT(\d{6})_")
#: Entries kept per memoized function before its cache is emptied (bounds a long session).
_MAX_ENTRIES = 4096


def _placeholder(i: int, like: sp.Symbol) -> sp.Symbol:
    # same class and assumptions (positive scales, real log-scales): sympy simplifies alike
    return type(like)(f"_gmcT{i:06d}_", **like._assumptions_orig)


def canonical(exprs) -> tuple[tuple, list[sp.Symbol]]:
    """(the expressions with placeholders, the original symbols by placeholder number)."""
    symbols = set()
    for e in exprs:
        if isinstance(e, sp.Basic):
            symbols |= e.free_symbols
    ordered = sorted(symbols, key=lambda s: (s.name, type(s).__name__))
    mapping = {s: _placeholder(i, s) for i, s in enumerate(ordered)}
    return tuple(_rename(e, mapping) if isinstance(e, sp.Basic) else e for e in exprs), ordered


def _rename(expr: sp.Basic, mapping: dict) -> sp.Basic:
    """``expr`` with symbols replaced by symbols that sort alike; no re-evaluation.

    Renaming that preserves the order of names leaves every canonical argument order as it
    is, so rebuilding unevaluated gives the same tree as evaluating would, without repeating
    sympy's flattening and sorting (which dominated compile time of long chains). (sympy's
    ``evaluate(False)`` context is not used: entering it clears sympy's caches.)"""
    if isinstance(expr, sp.Symbol):
        return mapping.get(expr, expr)
    if not expr.args:
        return expr
    args = tuple(_rename(a, mapping) for a in expr.args)
    try:
        return expr.func(*args, evaluate=False)
    except TypeError:  # a class without the keyword
        return expr.func(*args)


def memoize_printer(print_fn):
    """``print_fn(expr) -> str`` computed once per template of ``expr``. A lone symbol prints
    as its name."""
    cache: dict[sp.Expr, str] = {}

    @functools.wraps(print_fn)
    def printed(expr):
        if isinstance(expr, sp.Symbol):
            return expr.name
        (template,), symbols = canonical((expr,))
        text = cache.get(template)
        if text is None:
            if len(cache) >= _MAX_ENTRIES:
                cache.clear()
            text = cache[template] = print_fn(template)
        if not symbols:
            return text
        return _PLACEHOLDER.sub(lambda m: symbols[int(m.group(1))].name, text)
    return printed


def _on_template(fn, cache: dict, args) -> tuple[object, list[sp.Symbol]]:
    """(``fn``'s result for the template of ``args``, computed once per template; the
    original symbols by placeholder number)."""
    flat, shape = [], []
    for a in args:
        if isinstance(a, dict):
            keys = tuple(a)
            shape.append(("dict", keys))
            flat += [a[k] for k in keys]
        else:
            shape.append(("value", None))
            flat.append(a)
    templates, symbols = canonical(flat)
    key = (tuple(shape), templates)
    if key not in cache:
        if len(cache) >= _MAX_ENTRIES:
            cache.clear()
        rebuilt, it = [], iter(templates)
        for kind, keys in shape:
            rebuilt.append({k: next(it) for k in keys} if kind == "dict" else next(it))
        cache[key] = fn(*rebuilt)
    return cache[key], symbols


def memoize_symbolic(fn):
    """``fn(str..., value or params dict...) -> (sympy expr, reference) | None`` once per template.

    Arguments are family names (str), sympy expressions and dicts of parameter name -> sympy
    expression; the result's expression is mapped back to the caller's symbols."""
    cache: dict[tuple, object] = {}

    @functools.wraps(fn)
    def memoized(*args):
        result, symbols = _on_template(fn, cache, args)
        if result is None or not symbols:
            return result
        back = {_placeholder(i, s): s for i, s in enumerate(symbols)}
        expr, reference = result
        return _rename(expr, back), reference
    return memoized


@dataclass(frozen=True)
class Printed:
    """A derived expression as code: its Python source, reference, whether it mentions a
    tensor symbol, and the names of its free symbols."""

    code: str
    reference: str
    tensor: bool
    names: frozenset[str]
    #: (code of the tensor terms, the constant terms as a template expression, placeholder
    #: number -> name) when the expression is a sum of both, else None: see :meth:`hoisted`
    split: "tuple[str, sp.Expr, dict[int, str]] | None" = None

    def hoisted(self, count: int, print_fn) -> "tuple[str, str] | None":
        """(code of the tensor terms, code of ``count`` times the constant terms) for summing
        ``count`` elements with the constant added once rather than per element
        (``(-0.5*z**2).sum(-1) - 4*math.log(2*math.pi)``); None when nothing splits off."""
        if self.split is None:
            return None
        tensor_code, constant, names = self.split
        constant_code = print_fn(sp.Integer(count) * constant)
        if names:
            constant_code = _PLACEHOLDER.sub(lambda m: names[int(m.group(1))], constant_code)
        return tensor_code, constant_code


def memoize_printed(fn, print_fn, is_tensor):
    """``fn`` (arguments as for :func:`memoize_symbolic`) derived, printed with ``print_fn``
    and inspected once per template; each call only substitutes names into the text. For
    code generation, which needs the text rather than the expression: mapping a template's
    expression back to the caller's symbols was a third of generating a long chain."""
    cache: dict[tuple, object] = {}

    @functools.wraps(fn)
    def printed(*args):
        entry, symbols = _on_template(lambda *a: _printed_template(fn(*a), print_fn, is_tensor), cache, args)
        text, reference, tensor, used, split = entry
        name = {i: s.name for i, s in enumerate(symbols)}
        code = _PLACEHOLDER.sub(lambda m: name[int(m.group(1))], text) if symbols else text
        if split is not None:
            tensor_text, constant = split
            tensor_code = _PLACEHOLDER.sub(lambda m: name[int(m.group(1))], tensor_text) if symbols else tensor_text
            split = (tensor_code, constant, name)
        return Printed(code, reference, tensor, frozenset(name[i] for i in used), split)
    return printed


def _printed_template(result, print_fn, is_tensor):
    expr, reference = result
    used = tuple(int(m.group(1)) for s in expr.free_symbols for m in [_PLACEHOLDER.fullmatch(s.name)] if m)
    split = None
    if expr.is_Add:
        constant = [term for term in expr.args if not is_tensor(term)]
        if constant and len(constant) < len(expr.args):
            tensor_terms = [term for term in expr.args if is_tensor(term)]
            split = (print_fn(sp.Add(*tensor_terms)), sp.Add(*constant))
    return print_fn(expr), reference, is_tensor(expr), used, split
