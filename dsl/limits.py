"""Size limits on expressions, checked once right after parsing (docs/language.md, "Limits").

Every later pass (lowering, checks, LaTeX, ``gmc fmt``, sympy, code generation) walks
expressions recursively, so the trees they may see are bounded here:

- **nesting** at most :data:`MAX_NESTING` levels: brackets around a right operand, calls,
  unary signs, ``**`` (right-associative), keyword values. The left operand of a binary
  operator continues a chain and does not nest, so ``a + b - c * d + ...`` of any length
  has nesting 2;
- **size** at most :data:`MAX_NODES` nodes (names, numbers, operators, calls) per
  expression, with every ``let`` counted at each use, since lowering expands it there (a
  chain of lets that each use the previous one twice would otherwise double per line);
- **numbers**: every literal is a finite float (``1e400`` is an error, not ``inf``).

The walks here use explicit stacks, so any parsed tree can be measured. The bounds on
values, :data:`MAX_CONSTANT_INTEGER` and :data:`MAX_SIZE`, are defined here with the others
and enforced where constants are evaluated, in :mod:`gmc.compiler.lower`.
"""
from __future__ import annotations

import dataclasses
import functools
import math

from gmc.compiler import diagnostics as diag
from gmc.dsl import ast

#: Most levels of genuine nesting in one expression (a chain's left operands do not count).
MAX_NESTING = 100
#: Most nodes in one expression, each ``let`` counted with its full size at every use.
MAX_NODES = 20_000
#: Largest dimension, hidden-layer size and sample count ``k``, and most elements of one type
#: (``real[D1, D2]`` has D1 * D2), within 32-bit indices. Enforced by lowering.
MAX_SIZE = 2 ** 31 - 1
#: Largest magnitude of an integer constant (``const``, dimensions, ``k=``, the arithmetic of numbers
#: in any expression; int64's range); floats must be finite. Enforced while constants are folded
#: (:meth:`gmc.compiler.lower._Lowering.folded`).
MAX_CONSTANT_INTEGER = 2 ** 63 - 1


def check_limits(program: ast.Program) -> list[diag.Diagnostic]:
    """One located diagnostic per statement part that breaks a limit, in source order."""
    errors: list[diag.Diagnostic] = []
    # let name -> (nesting, nodes) of its body; None for a let that broke a limit, whose uses
    # are not measured again (an error is reported once, where it is written).
    lets: dict[str, tuple[int, int] | None] = {}
    for statement in program.statements:
        for part in _children(statement):
            size = _measure(part, lets)
            if isinstance(size, diag.Diagnostic):
                errors.append(size)
            if isinstance(statement, ast.LetDecl) and statement.name not in lets:
                lets[statement.name] = size if isinstance(size, tuple) else None
    return errors


def _measure(root: ast.Node, lets: dict[str, tuple[int, int] | None]):
    """(nesting, nodes) of the expression ``root``, or the first diagnostic (depth first), or
    None when it uses a let that broke a limit."""
    deepest, nodes = 0, 0
    stack = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        nodes += 1
        if isinstance(node, ast.Name) and node.id in lets:
            if lets[node.id] is None:
                return None
            let_nesting, let_nodes = lets[node.id]
            depth += let_nesting
            nodes += let_nodes - 1
        if depth > MAX_NESTING:
            return diag.expression_too_deep(node.span, MAX_NESTING)
        if nodes > MAX_NODES:  # located at the start of the expression, not under all of it
            start = ast.Span(root.span.line, root.span.column, root.span.line, root.span.column)
            return diag.expression_too_large(start, MAX_NODES)
        if isinstance(node, ast.Number) and not math.isfinite(node.value):
            return diag.number_out_of_range(node.span, node.text)
        deepest = max(deepest, depth)
        for child in reversed(_children(node)):  # leftmost first
            continues_chain = isinstance(node, ast.BinOp) and child is node.left and isinstance(child, ast.BinOp)
            stack.append((child, depth if continues_chain else depth + 1))
    return deepest, nodes


def _children(node: ast.Node) -> list[ast.Node]:
    """The AST nodes directly inside ``node`` (through tuples, as in a rename's pairs)."""
    out: list[ast.Node] = []
    pending = [getattr(node, name) for name in _node_fields(type(node))]
    while pending:
        value = pending.pop()
        if isinstance(value, ast.Node):
            out.append(value)
        elif isinstance(value, tuple):
            pending.extend(value)
    out.reverse()
    return out


@functools.cache
def _node_fields(kind: type) -> tuple[str, ...]:
    """Names of the fields of an AST node type that may hold nodes (spans and texts excluded)."""
    return tuple(f.name for f in dataclasses.fields(kind) if f.compare and f.name not in ("span",))
