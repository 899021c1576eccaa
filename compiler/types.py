"""Type inference for IR expressions: support, event shape and batch structure.

Used by :mod:`gmc.compiler.checks` (which reports what does not fit) and by code generation
(which aligns axes from these types). Every expression has

- a **support**, conservative: ``exp(h)`` is positive, ``sigmoid(h)`` is unit, a sum of
  positives is positive, anything unknown is real;
- an **event shape**: the axes of one example's value (``real[3]`` has event shape (3,));
- a **batch structure** (:data:`BATCH_LEVELS`): ``constant`` (numbers, consts, params),
  ``global`` (weights, global variables and terms over them only: one value per data set),
  ``batch`` (one value per batch: ``mean``, ``sum``, ``logsumexp``, ``mmd``) or ``example``
  (one value per example: data, latents, nets and functionals over them). Only ``example``
  values carry batch (and particle) axes in generated code, always in front of the event axes.

Rules (the table in docs/language.md): element-wise operators broadcast event shapes against
each other (numpy's right-aligned rule) and batch axes against batch axes, never one kind
against the other; ``@`` contracts event axes only (numpy's matmul rule on event shapes); the
event reductions ``sum_event``, ``mean_event`` and ``dot`` remove event axes and keep the
batch; ``mean`` and ``sum`` reduce everything to one number per batch.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from gmc.compiler import ir

#: Batch structures, from the one that broadcasts most freely to the one that carries batch axes.
CONSTANT, GLOBAL, BATCH, EXAMPLE = "constant", "global", "batch", "example"
BATCH_LEVELS = (CONSTANT, GLOBAL, BATCH, EXAMPLE)

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


def folded_value(e: ir.Expr) -> float | None:
    """The value of arithmetic (``+ - * / **``, negation) of numbers and consts, in float64 as
    code generation folds it; None for anything else, or when the value is not a finite real
    (that case is a located error of lowering or code generation)."""
    value = constant_value(e)
    if value is not None or not isinstance(e, ir.BinOp) or e.op == "@":
        return value
    left, right = folded_value(e.left), folded_value(e.right)
    if left is None or right is None:
        return None
    try:
        result = {"+": left + right, "-": left - right, "*": left * right}.get(e.op)
        if result is None:
            result = left / right if e.op == "/" else left ** right
    except (ZeroDivisionError, OverflowError):
        return None
    return float(result) if isinstance(result, (int, float)) and math.isfinite(result) else None


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
    """numpy's matmul rule on two event shapes, or None when they do not fit: a vector
    contracts its only axis; matrices contract a's last axis with b's second-to-last, and
    their leading (stacked) axes broadcast."""
    if not a or not b:
        return None
    contracted = b[0] if len(b) == 1 else b[-2]
    if a[-1] != contracted:
        return None
    if len(b) == 1:
        return a[:-1]
    if len(a) == 1:
        return b[:-2] + b[-1:]
    stacked = broadcast(a[:-2], b[:-2])
    return None if stacked is None else stacked + (a[-2], b[-1])


class ShapeError(Exception):
    """Raised by :func:`infer` with the offending node and its operand shapes."""

    def __init__(self, node: ir.BinOp, left: tuple[int, ...], right: tuple[int, ...]):
        super().__init__(node.op)
        self.node, self.left, self.right = node, left, right


class EventAxisError(ShapeError):
    """Raised by :func:`infer` for a function that acts on event axes (``softmax``, ``dot``,
    ``sum_event``, the operands of ``@``) given a value without any: its only axes would be
    batch axes. ``operand`` is the offending argument."""

    def __init__(self, node: ir.Expr, what: str, operand: ir.Expr):
        Exception.__init__(self, what)
        self.node, self.what, self.operand = node, what, operand
        self.left = self.right = ()


@dataclass(frozen=True)
class ExprType:
    """The static type of an expression: support, event shape and batch structure."""

    support: str
    shape: tuple[int, ...]
    batch: str

    def __str__(self) -> str:
        return f"{ir.Type(self.support, self.shape)} ({self.batch})"


def expr_type(model: ir.Model, e: ir.Expr) -> ExprType:
    """Support, event shape and batch structure of ``e``; raises :class:`ShapeError`."""
    t = infer(model, e)
    return ExprType(t.support, t.shape, batch_of(model, e))


def batch_of(model: ir.Model, e: ir.Expr) -> str:
    """The batch structure of ``e``, one of :data:`BATCH_LEVELS` (see the module docstring)."""
    if isinstance(e, (ir.Num, ir.ConstRef, ir.ParamRef)):
        return CONSTANT
    if isinstance(e, ir.WeightRef):
        return GLOBAL
    if isinstance(e, ir.VarRef):
        return GLOBAL if model.vars[e.name].is_global else EXAMPLE
    if isinstance(e, ir.Apply) and (e.func in ir.REDUCTIONS or e.func == "logsumexp") or isinstance(e, ir.Mmd):
        return BATCH
    if isinstance(e, (ir.Elbo, ir.Iwae, ir.Renyi)):
        return EXAMPLE
    if isinstance(e, (ir.LogProb, ir.Expect, ir.KL, ir.Entropy, ir.CrossEntropy, ir.FlowBaseKL, ir.FlowResidual)):
        variables = {v for sig in ir.factor_refs(e) for v in model.factors[sig].variables}
        if any(not model.vars[v].is_global for v in variables):
            return EXAMPLE
        return batch_of(model, e.body) if isinstance(e, ir.Expect) else GLOBAL
    levels = [batch_of(model, c) for c in ir.children(e)]
    return max(levels, key=BATCH_LEVELS.index) if levels else CONSTANT


def infer(model: ir.Model, e: ir.Expr, cache: dict | None = None) -> ir.Type:
    """The support and event shape of an expression (of a functional: its value per example).

    ``cache`` (id of a node -> (node, type); the node is kept so its id stays unique) lets a
    caller that asks about every node of a tree, as the checks do, type each node once.
    Raises :class:`ShapeError` for operands that do not fit (:class:`EventAxisError` for a
    function of event axes given a value with none)."""
    if cache is None:
        cache = {}
    key = id(e)
    if key not in cache:
        cache[key] = (e, _infer_node(model, e, cache))
    return cache[key][1]


def _infer_node(model: ir.Model, e: ir.Expr, cache: dict) -> ir.Type:
    """:func:`infer` of one node, its operands typed through ``cache``."""
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
        return ir.Type("real", infer(model, e.operand, cache).shape)
    if isinstance(e, ir.Apply) and e.func in ir.ELEMENTWISE_N:
        return _infer_elementwise_n(model, e, cache)
    if isinstance(e, ir.Apply) and e.func in ir.EVENT_REDUCTIONS:
        return _infer_event_reduction(model, e, cache)
    if isinstance(e, ir.Apply):
        arg = infer(model, e.args[0], cache)
        if e.func in ir.LAST_AXIS_FUNCTIONS and not arg.shape:
            raise EventAxisError(e, f"{e.func}(...) normalizes over the last event axis", e.args[0])
        if e.func == "detach":
            return arg
        if e.func in ir.REDUCTIONS or e.func == "logsumexp":
            return ir.Type("real", ())
        if e.func == "xlogy":
            return ir.Type("real", broadcast(arg.shape, infer(model, e.args[1], cache).shape) or arg.shape)
        if e.func == "sqrt" and ir.within(arg.support, "positive"):
            return ir.Type("positive", arg.shape)
        return ir.Type(_RESULT_SUPPORT.get(e.func, "real"), arg.shape)
    if isinstance(e, ir.BinOp):
        left, right = infer(model, e.left, cache), infer(model, e.right, cache)
        if e.op == "@":
            for operand, t in ((e.left, left), (e.right, right)):
                if not t.shape:
                    raise EventAxisError(e, "'@' contracts event axes", operand)
        shape = matmul_shape(left.shape, right.shape) if e.op == "@" else broadcast(left.shape, right.shape)
        if shape is None:
            raise ShapeError(e, left.shape, right.shape)
        return ir.Type(_binary_support(e.op, left.support, right.support), shape)
    if isinstance(e, ir.Expect):  # E_q[body] has the body's type (values averaged over draws of q)
        body = infer(model, e.body, cache)
        return ir.Type(body.support if ir.within(body.support, "positive") else "real", body.shape)
    # other functionals: one real value per example
    return ir.Type("real", ())


def _infer_elementwise_n(model: ir.Model, e: ir.Apply, cache: dict) -> ir.Type:
    """min(a, b), max(a, b), clamp(x, lo, hi): broadcast shapes; positive when every argument is."""
    types = [infer(model, a, cache) for a in e.args]
    shape = types[0].shape
    for arg, t in zip(e.args[1:], types[1:]):
        joined = broadcast(shape, t.shape)
        if joined is None:
            raise ShapeError(ir.BinOp(e.func, e.args[0], arg, span=e.span), shape, t.shape)
        shape = joined
    positive = all(ir.within(t.support, "positive") for t in types)
    return ir.Type("positive" if positive else "real", shape)


def _infer_event_reduction(model: ir.Model, e: ir.Apply, cache: dict) -> ir.Type:
    """sum_event(e), mean_event(e): event shape (); dot(a, b): the broadcast event shape of a
    and b without its last axis, which both must have."""
    types = [infer(model, a, cache) for a in e.args]
    for arg, t in zip(e.args, types):
        if not t.shape:
            what = "dot(a, b) contracts the last event axis" if e.func == "dot" else \
                f"{e.func}(...) reduces event axes"
            raise EventAxisError(e, what, arg)
    if e.func == "dot":
        joined = broadcast(types[0].shape, types[1].shape)
        if joined is None:
            raise ShapeError(ir.BinOp("dot", e.args[0], e.args[1], span=e.span), types[0].shape, types[1].shape)
        return ir.Type("real", joined[:-1])
    positive = ir.within(types[0].support, "positive")
    return ir.Type("positive" if positive else "real", ())


def _binary_support(op: str, a: str, b: str) -> str:
    both_positive = ir.within(a, "positive") and ir.within(b, "positive")
    if op in ("+", "/") and both_positive:
        return "positive"
    if op == "*" and both_positive:
        return "unit" if ir.within(a, "unit") and ir.within(b, "unit") else "positive"
    if op == "**" and ir.within(a, "positive"):
        return "positive"
    return "real"


def per_example(e: ir.Expr, model: ir.Model) -> bool:
    """True when ``e`` has one value per example (batch structure ``example``)."""
    return batch_of(model, e) == EXAMPLE
