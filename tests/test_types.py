"""Static types (support, event shape, batch structure) and the per-example meaning of '@' and
the event reductions, against float64 references written with explicit batch axes."""
import pytest
import torch
import torch.distributions as D
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gmc
from gmc.compiler import ir
from gmc.compiler.driver import compile_model
from gmc.compiler.types import BATCH, CONSTANT, EXAMPLE, GLOBAL, expr_type

pytestmark = pytest.mark.usefixtures("float64")  # tests/conftest.py

SOURCE = """
var x: real[3]
var y: real[3]
var s: real
var A: real[2, 3]
var B: real[3, 4]
var T: real[5, 2, 3]
var z: real[2]
var global g: real[3]
weight W: real[3, 2] = 0.5
weight M: real[2, 3] = 0.25
weight K: real[5, 3, 4] = Normal(0, 1)
param c = 2.0
p(z|A,x) = Normal(A @ x, 1)
q(g) = Normal(0, 1)
var w: real[3]
r(w|x) = Normal(x, 2)
loss matmul = mean(x @ y)
loss dotted = mean(dot(x, y))
loss summed = mean(sum_event(x * y))
loss averaged = mean(mean_event(x * y))
loss row_weight = mean(sum_event(x @ W))
loss weight_column = mean(sum_event(M @ x))
loss matrix_vector = mean(sum_event(A @ x))
loss vector_matrix = mean(sum_event(x @ B))
loss matrix_matrix = mean(sum_event(A @ B))
loss stacked = mean(sum_event(T @ x))
loss weight_matrix = mean(sum_event(M @ B))
loss vector_stack = mean(sum_event(x @ K))
loss scaled_dot = mean(dot(s * x, y))
loss density = mean(log p(z|A,x))
loss expected = mean(dot(E_{r(w|x)}[w], y))
loss global_dot = E_{q(g)}[mean(dot(x, g)) + 0 * sum_event(M @ g)]
"""
MODEL = gmc.compile_source(SOURCE, name="Typed")


def _inputs(n, seed):
    g = torch.Generator().manual_seed(seed)
    shapes = {"x": (3,), "y": (3,), "s": (), "A": (2, 3), "B": (3, 4), "T": (5, 2, 3), "z": (2,)}
    return {k: torch.randn(n, *shape, generator=g) for k, shape in shapes.items()}


def _references(v, m):
    x, y, s, A, B, T, z = (v[k] for k in ("x", "y", "s", "A", "B", "T", "z"))
    mean_a_x = torch.einsum("bij,bj->bi", A, x)
    return {
        "matmul": (x * y).sum(-1).mean(),
        "dotted": (x * y).sum(-1).mean(),
        "summed": (x * y).sum(-1).mean(),
        "averaged": (x * y).mean(-1).mean(),
        "row_weight": torch.einsum("bi,ij->bj", x, m.W).sum(-1).mean(),
        "weight_column": torch.einsum("ij,bj->bi", m.M, x).sum(-1).mean(),
        "matrix_vector": mean_a_x.sum(-1).mean(),
        "vector_matrix": torch.einsum("bi,bij->bj", x, B).sum(-1).mean(),
        "matrix_matrix": torch.einsum("bij,bjk->bik", A, B).sum((-2, -1)).mean(),
        "stacked": torch.einsum("bkij,bj->bki", T, x).sum((-2, -1)).mean(),
        "weight_matrix": torch.einsum("ij,bjk->bik", m.M, B).sum((-2, -1)).mean(),
        "vector_stack": torch.einsum("bj,kjl->bkl", x, m.K).sum((-2, -1)).mean(),
        "scaled_dot": (s[:, None] * x * y).sum(-1).mean(),
        "density": D.Normal(mean_a_x, 1.0).log_prob(z).sum(-1).mean(),
    }


@pytest.mark.parametrize("n", [1, 3, 5, 7])
def test_event_operators_act_per_example(n):
    """mean(x @ y) is the mean of per-example dot products: with a batch of 3 it was a matrix
    product across the batch (0.672 where 1.456 is right), with 5 a RuntimeError."""
    m = MODEL()
    v = _inputs(n, n)
    for name, reference in _references(v, m).items():
        inputs = {k: v[k] for k in m.losses[name].inputs}
        torch.testing.assert_close(m.loss(name, **inputs), reference, rtol=1e-12, atol=1e-12, msg=name)


def test_a_global_vector_contracts_with_each_example():
    m = MODEL()
    v = _inputs(4, 0)
    torch.manual_seed(1)
    value = m.loss("global_dot", x=v["x"])
    torch.manual_seed(1)
    g = torch.randn(3)  # the one draw of q(g) per loss evaluation
    torch.testing.assert_close(value, (v["x"] @ g).mean(), rtol=1e-12, atol=1e-12)


def test_an_expectation_keeps_the_event_shape_of_its_body():
    """E_{r(w|x)}[w] is real[3] per example (it was typed as one number, so dot(...) rejected it)."""
    m = MODEL()
    v = _inputs(6, 2)
    torch.manual_seed(4)
    value = m.loss("expected", x=v["x"], y=v["y"])
    torch.manual_seed(4)
    w = v["x"] + 2 * torch.randn(6, 3)
    torch.testing.assert_close(value, (w * v["y"]).sum(-1).mean(), rtol=1e-12, atol=1e-12)


def _loss_type(name):
    model = compile_model(SOURCE)
    expr = model.losses[name].expr
    return model, expr


@pytest.mark.parametrize("name,inner,expected", [
    ("matmul", lambda e: e.args[0], ("real", (), EXAMPLE)),
    ("stacked", lambda e: e.args[0].args[0], ("real", (5, 2), EXAMPLE)),
    ("row_weight", lambda e: e.args[0].args[0].right, ("real", (3, 2), GLOBAL)),
    ("averaged", lambda e: e, ("real", (), BATCH)),
    ("global_dot", lambda e: e.body.left.args[0], ("real", (), EXAMPLE)),
    ("global_dot", lambda e: e.body.right.right.args[0], ("real", (2,), GLOBAL)),
    ("global_dot", lambda e: e, ("real", (), BATCH)),
])
def test_expression_types(name, inner, expected):
    model, expr = _loss_type(name)
    t = expr_type(model, inner(expr))
    assert (t.support, t.shape, t.batch) == expected


def test_constants_have_no_batch_structure():
    model = compile_model(SOURCE)
    t = expr_type(model, ir.BinOp("*", ir.ParamRef("c"), ir.Num(2.0)))
    assert (t.support, t.shape, t.batch) == ("positive", (), CONSTANT)


@st.composite
def _matmul_operands(draw):
    """Event shapes a, b that numpy's matmul accepts (each of rank 1 to 3), and whether each
    operand is per example (a var) or not (a weight)."""
    n, m, k = (draw(st.integers(1, 3)) for _ in range(3))
    stack = draw(st.sampled_from([(), (2,)]))
    a = draw(st.sampled_from([(n,), (m, n), stack + (m, n)]))
    b = draw(st.sampled_from([(n,), (n, k), stack + (n, k)]))
    return a, b, draw(st.booleans()), draw(st.booleans())


def _pair_model(term: str, operands, n: int):
    """(model, values, inputs) of ``loss = mean(term)`` over operands a and b, each a
    per-example variable or a weight (``operands``: shapes and whether each is batched);
    ``values`` holds each operand as the model sees it, ``inputs`` what loss() takes."""
    a, b, a_batched, b_batched = operands
    dims = lambda shape: ", ".join(map(str, shape))  # noqa: E731
    declare = lambda name, shape, batched: (f"var {name}: real[{dims(shape)}]" if batched  # noqa: E731
                                            else f"weight {name}: real[{dims(shape)}] = Normal(0, 1)")
    anchor = "var u: real\np(u) = Normal(0, 1)\n" if not (a_batched or b_batched) else ""
    source = "\n".join([declare("a", a, a_batched), declare("b", b, b_batched), anchor,
                        f"loss = mean({term}){' + 0 * mean(log p(u))' if anchor else ''}"])
    model = gmc.compile_source(source, name="Pair")()
    g = torch.Generator().manual_seed(n)
    values = {"a": torch.randn(n, *a, generator=g) if a_batched else model.a.detach(),
              "b": torch.randn(n, *b, generator=g) if b_batched else model.b.detach()}
    inputs = {k: v for k, v in values.items() if k in model.losses["loss"].inputs}
    if anchor:
        inputs["u"] = torch.zeros(n)
    return model, values, inputs


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_matmul_operands(), st.sampled_from([1, 2, 7]))
def test_matmul_contracts_event_axes_of_each_example(float64, operands, n):
    """a @ b for every combination of vector, matrix and stacked-matrix event shapes, each
    operand per example or a weight: the generated code equals torch.matmul applied to each
    example's event values on their own."""
    a, b, a_batched, b_batched = operands
    result = torch.matmul(torch.zeros(a), torch.zeros(b)).shape
    model, values, inputs = _pair_model("a @ b" if not result else "sum_event(a @ b)", operands, n)
    per_example = torch.stack([torch.matmul(values["a"][i] if a_batched else values["a"],
                                            values["b"][i] if b_batched else values["b"]) for i in range(n)])
    reference = per_example.reshape(n, -1).sum(-1).mean()
    torch.testing.assert_close(model.loss("loss", **inputs), reference, rtol=1e-12, atol=1e-12)


@st.composite
def _broadcast_operands(draw):
    """Event shapes a, b (rank 1 to 3) that broadcast, and whether each is per example."""
    full = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))

    def part():
        rank = draw(st.integers(1, len(full)))
        return tuple(d if draw(st.booleans()) else 1 for d in full[len(full) - rank:])
    return part(), part(), draw(st.booleans()), draw(st.booleans())


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_broadcast_operands(), st.sampled_from(["dot", "*", "-"]), st.sampled_from([1, 2, 7]))
def test_elementwise_and_dot_pair_event_axes_per_example(float64, operands, op, n):
    """a * b, a - b and dot(a, b) with event shapes of different ranks, each operand per
    example or a weight: equal to the operation on each example's event values."""
    a, b, a_batched, b_batched = operands
    term = "dot(a, b)" if op == "dot" else f"a {op} b"
    result_rank = len(torch.broadcast_shapes(a, b)) - (op == "dot")
    model, values, inputs = _pair_model(f"sum_event({term})" if result_rank else term, operands, n)
    apply = {"dot": lambda x, y: (x * y).sum(-1), "*": torch.mul, "-": torch.sub}[op]
    per_example = [apply(values["a"][i] if a_batched else values["a"], values["b"][i] if b_batched else values["b"])
                   for i in range(n)]
    reference = torch.stack([v.sum() for v in per_example]).mean()
    torch.testing.assert_close(model.loss("loss", **inputs), reference, rtol=1e-12, atol=1e-12)
