"""Type inference for IR expressions: support and event shape, and per-example versus scalar.

Used by :mod:`gmc.compiler.checks`. Supports are conservative: ``exp(h)`` is positive,
``sigmoid(h)`` is unit, a sum of positives is positive, anything unknown is real.
"""
from __future__ import annotations

from gmc.compiler import ir

_RESULT_SUPPORT = {"exp": "positive", "softplus": "positive", "sigmoid": "unit", "softmax": "simplex"}


def number_support(value: float) -> str:
    if 0 < value < 1:
        return "unit"
    return "positive" if value > 0 else "real"


def constant_value(e: ir.Expr) -> float | None:
    """The value of a number or const, possibly negated; None for anything else."""
    if isinstance(e, (ir.Num, ir.ConstRef)):
        return float(e.value)
    if isinstance(e, ir.Neg):
        inner = constant_value(e.operand)
        return None if inner is None else -inner
    return None


def broadcast(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...] | None:
    """numpy broadcasting of two event shapes, or None when they do not broadcast."""
    out = []
    for i in range(1, max(len(a), len(b)) + 1):
        x = a[-i] if i <= len(a) else 1
        y = b[-i] if i <= len(b) else 1
        if x != y and 1 not in (x, y):
            return None
        out.append(max(x, y))
    return tuple(reversed(out))


def matmul_shape(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...] | None:
    if not a or not b:
        return None
    if len(b) == 1:
        return a[:-1] if a[-1] == b[0] else None
    if a[-1] != b[-2]:
        return None
    batch = broadcast(a[:-1] if len(a) > 1 else (), b[:-2])
    if batch is None:
        return None
    return batch + (b[-1],) if len(a) > 1 else b[:-2] + (b[-1],)


class ShapeError(Exception):
    """Raised by :func:`infer` with the offending node and its operand shapes."""

    def __init__(self, node: ir.BinOp, left: tuple[int, ...], right: tuple[int, ...]):
        super().__init__(node.op)
        self.node, self.left, self.right = node, left, right


def infer(model: ir.Model, e: ir.Expr) -> ir.Type:
    """The support and event shape of a value expression (not of functionals).

    Raises :class:`ShapeError` for operands that do not broadcast."""
    if isinstance(e, ir.Num):
        return ir.Type(number_support(e.value))
    if isinstance(e, ir.ConstRef):
        return ir.Type(number_support(e.value))
    if isinstance(e, ir.ParamRef):
        return ir.Type(number_support(model.params[e.name].default))
    if isinstance(e, ir.WeightRef):
        return model.weights[e.name].type
    if isinstance(e, ir.VarRef):
        return model.vars[e.name].type
    if isinstance(e, ir.NetCall):
        declared = model.nets[e.net].output_type(e.output)
        return ir.Type("real", declared.shape) if e.pre_activation else declared
    if isinstance(e, ir.Neg):
        return ir.Type("real", infer(model, e.operand).shape)
    if isinstance(e, ir.Apply) and e.func in ir.ELEMENTWISE_N:
        return _infer_elementwise_n(model, e)
    if isinstance(e, ir.Apply):
        arg = infer(model, e.args[0])
        if e.func == "detach":
            return arg
        if e.func in ir.REDUCTIONS or e.func == "logsumexp":
            return ir.Type("real", ())
        if e.func == "xlogy":
            return ir.Type("real", broadcast(arg.shape, infer(model, e.args[1]).shape) or arg.shape)
        if e.func == "sqrt" and ir.within(arg.support, "positive"):
            return ir.Type("positive", arg.shape)
        return ir.Type(_RESULT_SUPPORT.get(e.func, "real"), arg.shape)
    if isinstance(e, ir.BinOp):
        left, right = infer(model, e.left), infer(model, e.right)
        shape = matmul_shape(left.shape, right.shape) if e.op == "@" else broadcast(left.shape, right.shape)
        if shape is None:
            raise ShapeError(e, left.shape, right.shape)
        return ir.Type(_binary_support(e.op, left.support, right.support), shape)
    # functionals: one real value per example
    return ir.Type("real", ())


def _infer_elementwise_n(model: ir.Model, e: ir.Apply) -> ir.Type:
    """min(a, b), max(a, b), clamp(x, lo, hi): broadcast shapes; positive when every argument is."""
    types = [infer(model, a) for a in e.args]
    shape = types[0].shape
    for arg, t in zip(e.args[1:], types[1:]):
        joined = broadcast(shape, t.shape)
        if joined is None:
            raise ShapeError(ir.BinOp(e.func, e.args[0], arg, span=e.span), shape, t.shape)
        shape = joined
    positive = all(ir.within(t.support, "positive") for t in types)
    return ir.Type("positive" if positive else "real", shape)


def _binary_support(op: str, a: str, b: str) -> str:
    both_positive = ir.within(a, "positive") and ir.within(b, "positive")
    if op in ("+", "/") and both_positive:
        return "positive"
    if op == "*" and both_positive:
        return "unit" if ir.within(a, "unit") and ir.within(b, "unit") else "positive"
    if op == "**" and ir.within(a, "positive"):
        return "positive"
    return "real"


def per_example(e: ir.Expr, model: ir.Model | None = None) -> bool:
    """True when ``e`` has one value per example (it mentions data or a functional outside
    a batch reduction); False for batch-level scalars.

    With ``model``, a term that involves only global variables (``var global w``), such as
    ``KL[q(w) || p(w)]`` or ``log p(w)``, is one number for the data set, not per example."""
    if isinstance(e, ir.Apply) and (e.func in ir.REDUCTIONS or e.func == "logsumexp"):
        return False
    if model is not None:
        if isinstance(e, ir.VarRef):
            return not model.vars[e.name].is_global
        if isinstance(e, ir.NetCall):
            return any(per_example(a, model) for a in e.args)
        if isinstance(e, (ir.LogProb, ir.Expect, ir.KL, ir.Entropy, ir.CrossEntropy)):
            variables = {v for sig in ir.factor_refs(e) for v in model.factors[sig].variables}
            if any(not model.vars[v].is_global for v in variables):
                return True
            return isinstance(e, ir.Expect) and per_example(e.body, model)
    if isinstance(e, (ir.VarRef, ir.NetCall, ir.LogProb, ir.Expect, ir.KL, ir.Entropy, ir.CrossEntropy,
                      ir.Elbo, ir.Iwae, ir.Renyi)):
        return True
    return any(per_example(c, model) for c in ir.children(e))
