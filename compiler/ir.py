"""The graph IR: a resolved, typed model, plus a networkx graph of how its parts depend.

networkx is imported only where a graph object is asked for (``Model.graph``) or a cycle is
reported: the checks themselves use the plain linear-time walks at the end of this file, so
``gmc check`` starts without importing networkx.

Lowering (:mod:`gmc.compiler.lower`) builds a :class:`Model` from the AST; checks,
symbolic simplification, LaTeX and code generation read it. Every name here is resolved:
expressions refer to variables, nets, consts, params, weights and factors by kind.

Shapes are event shapes (tuples of ints); the batch dimension is implicit. A factor is keyed
by its canonical signature string, e.g. ``"p(x|z)"``, ``"p(x,z)"``, ``"p(z)"``.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from gmc.dsl.ast import NO_SPAN, Span

# ---- supports ----------------------------------------------------------------------------

#: Each support's nearest superset; ``within`` walks this chain.
SUPPORT_PARENT = {
    "real": None, "positive": "real", "unit": "positive", "count": "real",
    "binary": "count", "categorical": "binary", "simplex": "real",
}
SUPPORTS = tuple(SUPPORT_PARENT)


def within(support: str, required: str) -> bool:
    """True when every value of ``support`` is a value of ``required`` (unit within positive...)."""
    current: str | None = support
    while current is not None:
        if current == required:
            return True
        current = SUPPORT_PARENT[current]
    return False


@dataclass(frozen=True)
class Type:
    """A support and an event shape, e.g. ``binary[64]``; shape ``()`` is a scalar event."""

    support: str
    shape: tuple[int, ...] = ()

    @property
    def size(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    def __str__(self) -> str:
        return self.support + ("[" + ", ".join(map(str, self.shape)) + "]" if self.shape else "")


# ---- declarations ------------------------------------------------------------------------

@dataclass(frozen=True)
class Var:
    """A random variable. ``is_global`` (``var global w``): one value per data set, drawn
    without a batch dimension, its log-density one number rather than one per example."""

    name: str
    type: Type
    span: Span = NO_SPAN
    is_global: bool = False


@dataclass(frozen=True)
class Const:
    name: str
    value: float | int
    span: Span = NO_SPAN


@dataclass(frozen=True)
class Param:
    """A hyperparameter: a float default, overridable at construction and per call."""

    name: str
    default: float
    span: Span = NO_SPAN


@dataclass(frozen=True)
class Weight:
    """A learned tensor (``nn.Parameter``) of the given type, initialized to ``init`` (or 0),
    plus ``init_scale`` times standard normal noise (``= Normal(init, init_scale)``)."""

    name: str
    type: Type
    init: float = 0.0
    span: Span = NO_SPAN
    init_scale: float = 0.0


@dataclass(frozen=True)
class Net:
    """A neural net: formal input variables, outputs by name (``None`` for a single output).

    ``hidden`` holds the built-in MLP's hidden sizes, or is None for a user-supplied module.
    """

    name: str
    inputs: tuple[str, ...]
    outputs: tuple[tuple[str | None, Type], ...]
    hidden: tuple[int, ...] | None
    span: Span = NO_SPAN
    cell: str | None = None  # a built-in recurrent cell, "GRU" or "LSTM" (gmc.compiler.recurrence)

    @property
    def named(self) -> bool:
        return self.outputs[0][0] is not None

    def output_type(self, name: str | None) -> Type:
        return dict(self.outputs)[name]


# ---- expressions -------------------------------------------------------------------------

@dataclass(frozen=True)
class Expr:
    span: Span = field(default=NO_SPAN, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True)
class Num(Expr):
    value: float


@dataclass(frozen=True)
class ConstRef(Expr):
    name: str
    value: float


@dataclass(frozen=True)
class ParamRef(Expr):
    name: str


@dataclass(frozen=True)
class WeightRef(Expr):
    name: str


@dataclass(frozen=True)
class VarRef(Expr):
    name: str


@dataclass(frozen=True)
class NetCall(Expr):
    """One output (``output`` None for a single-output net) of ``net`` applied to ``args``.

    ``pre_activation``: the built-in MLP's output before its map to the output's support
    (the h of sigmoid(h) for a ``unit`` output, of softmax(h) for a ``simplex`` one); only
    rewrites create it (:mod:`gmc.compiler.rewrites.logits`)."""

    net: str
    args: tuple[Expr, ...]
    output: str | None
    pre_activation: bool = False


@dataclass(frozen=True)
class Apply(Expr):
    """An element-wise function (exp, softplus, ...) or a batch reduction (mean, sum)."""

    func: str
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class BinOp(Expr):
    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Neg(Expr):
    operand: Expr


@dataclass(frozen=True)
class LogProb(Expr):
    """``log p(x|z)``: one value per example, in nats, summed over event dimensions."""

    factor: str


@dataclass(frozen=True)
class Estimation:
    """How a Monte Carlo gradient is formed (see :mod:`gmc.compiler.estimation`).

    ``method``: ``auto`` (reparameterized when every sampled family allows it, else the
    score function, with VIMCO for multi-sample bounds), ``reparam``, ``reinforce`` or
    ``vimco``. ``baseline`` (score function only): ``auto``, ``none``, ``average`` (moving
    average) or ``learned`` (an input-dependent net)."""

    method: str = "auto"
    baseline: str = "auto"


AUTO = Estimation()


@dataclass(frozen=True)
class Expect(Expr):
    """``E_{q(z|x)}[body]``, estimated with one sample of q (``estimator``: how its gradient is formed)."""

    factor: str
    body: Expr
    estimator: Estimation = AUTO


@dataclass(frozen=True)
class KL(Expr):
    first: str
    second: str


@dataclass(frozen=True)
class Entropy(Expr):
    factor: str


@dataclass(frozen=True)
class CrossEntropy(Expr):
    first: str
    second: str


@dataclass(frozen=True)
class FlowBaseKL(Expr):
    """KL[q0 || p] in closed form, q0 the base distribution of the flow ``first``, p = ``second``:
    one value per example, nats. Made only by the ELBO rewrite (:mod:`gmc.compiler.rewrites.elbo`)."""

    first: str
    second: str


@dataclass(frozen=True)
class FlowResidual(Expr):
    """log p(z_K) - log p(z_0) + sum_k log |det dz_k/dz_(k-1)| at the current draw z_K of the flow
    ``first`` (z_0 its base draw), p = ``second``: one value per example, nats. Made only by the
    ELBO rewrite, inside the expectation over that flow."""

    first: str
    second: str


@dataclass(frozen=True)
class Elbo(Expr):
    """``elbo(p, q)`` = E_q[log p - log q] per example (Kingma & Welling 2014, eq. 3)."""

    joint: str
    posterior: str
    estimator: Estimation = AUTO


@dataclass(frozen=True)
class Iwae(Expr):
    """``iwae(p, q, k=K)`` = log (1/K) sum_k p/q over K samples of q (Burda et al. 2016, eq. 8)."""

    joint: str
    posterior: str
    k: int
    estimator: Estimation = AUTO


@dataclass(frozen=True)
class Renyi(Expr):
    """``renyi(p, q, alpha=a, k=K)`` = 1/(1-a) log (1/K) sum_k (p/q)^(1-a) (Li & Turner 2016, eq. 9);
    a = 0 is IWAE, a = 1 (the limit) the ELBO averaged over the K particles."""

    joint: str
    posterior: str
    k: int
    alpha: float
    estimator: Estimation = AUTO


@dataclass(frozen=True)
class Mmd(Expr):
    """``mmd(q(z|x), p(z))``: squared maximum mean discrepancy between the batch's samples of
    ``first`` and as many samples of ``second`` (Gretton et al. 2012, eq. 3, unbiased; InfoVAE,
    Zhao et al. 2017). A batch-level scalar. ``kernel`` is ``gaussian`` or ``imq``; ``scale``
    the kernel's scale c (None: 2 * event size)."""

    first: str
    second: str
    kernel: str = "gaussian"
    scale: float | None = None


ELEMENTWISE = ("exp", "log", "softplus", "sigmoid", "tanh", "relu", "softmax", "log_softmax", "sqrt", "abs",
               "detach")
REDUCTIONS = ("mean", "sum")
#: Element-wise functions of several arguments, by arity: min(a, b), max(a, b), clamp(x, lo, hi).
ELEMENTWISE_N = {"min": 2, "max": 2, "clamp": 3}
#: Per-example reductions over event axes, by arity (not over the batch, unlike REDUCTIONS):
#: sum_event(e) and mean_event(e) over every event axis, dot(a, b) over the last one.
EVENT_REDUCTIONS = {"sum_event": 1, "mean_event": 1, "dot": 2}
#: Functions that act along the last event axis, so their argument needs one.
LAST_AXIS_FUNCTIONS = ("softmax", "log_softmax")


def children(expr: Expr) -> tuple[Expr, ...]:
    """The direct sub-expressions of ``expr`` (factor references are not expressions)."""
    if isinstance(expr, (NetCall, Apply)):
        return expr.args
    if isinstance(expr, BinOp):
        return (expr.left, expr.right)
    if isinstance(expr, Neg):
        return (expr.operand,)
    if isinstance(expr, Expect):
        return (expr.body,)
    return ()


def walk(expr: Expr):
    """Every node of ``expr``, parents before children (depth first, children in order).

    An explicit stack, not nested generators: a chain of N terms costs O(N), not O(N^2), and
    no Python recursion."""
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(children(node)))


def factor_refs(expr: Expr) -> list[str]:
    """The factor signatures ``expr`` mentions, in order of first appearance."""
    seen: dict[str, None] = {}
    for node in walk(expr):
        for attr in ("factor", "first", "second", "joint", "posterior"):
            sig = getattr(node, attr, None)
            if isinstance(sig, str):
                seen.setdefault(sig, None)
    return list(seen)


# ---- factors and losses ------------------------------------------------------------------

@dataclass(frozen=True)
class Transform:
    """One invertible transform of a flow (``Flow(Normal(...), Planar, Coupling(hidden=32))``):
    its kind (a name in :data:`gmc.compiler.transforms.TRANSFORMS`) and its options with
    defaults filled in, as (name, int or str) pairs in the spec's order."""

    kind: str
    options: tuple[tuple[str, object], ...] = ()
    span: Span = NO_SPAN


def signature(name: str, outputs: tuple[str, ...], given: tuple[str, ...]) -> str:
    """Canonical text of a factor: ``p(x,z)``, ``q(z|x)``."""
    return f"{name}({','.join(outputs)}" + (f"|{','.join(given)})" if given else ")")


@dataclass(frozen=True)
class Factor:
    """A factor definition. Exactly one of ``family`` (a distribution) and ``components``
    (a product of other factors, in written order) is set. ``marginalized`` lists the
    variables a product defines but sums or integrates out (``p(x) = sum_{y} p(x|y) p(y)``);
    ``marginal_kind`` is "sum" or "int" as written. A Normal written as a product of experts
    lists them in ``experts``; a renamed factor records ``renamed_from`` = (source, pairs);
    both are provenance only (for LaTeX): ``family``/``params`` are complete. A flow
    (``Flow(Base(...), T1, T2, ...)``) keeps its base distribution in ``family``/``params``
    and its transforms, in the order they are applied, in ``flow``."""

    name: str
    outputs: tuple[str, ...]
    given: tuple[str, ...]
    family: str | None = None
    params: tuple[tuple[str, Expr], ...] = ()
    components: tuple[str, ...] = ()
    span: Span = NO_SPAN
    marginalized: tuple[str, ...] = ()
    marginal_kind: str | None = None
    experts: tuple[str, ...] = ()
    renamed_from: tuple[str, tuple[tuple[str, str], ...]] | None = None
    flow: tuple[Transform, ...] = ()

    @property
    def signature(self) -> str:
        return signature(self.name, self.outputs, self.given)

    @property
    def variables(self) -> tuple[str, ...]:
        return self.outputs + self.given

    @property
    def is_product(self) -> bool:
        return self.family is None


@dataclass(frozen=True)
class Loss:
    name: str
    expr: Expr
    span: Span = NO_SPAN


@dataclass
class Model:
    """A whole resolved program. Dicts keep the order of the source."""

    name: str
    filename: str
    source: str
    consts: dict[str, Const] = field(default_factory=dict)
    params: dict[str, Param] = field(default_factory=dict)
    weights: dict[str, Weight] = field(default_factory=dict)
    vars: dict[str, Var] = field(default_factory=dict)
    nets: dict[str, Net] = field(default_factory=dict)
    factors: dict[str, Factor] = field(default_factory=dict)
    losses: dict[str, Loss] = field(default_factory=dict)
    name_span: Span = NO_SPAN  # the ``model NAME`` line; none when the name comes from the file
    # adversarial models (compiler/adversarial.py): data distributions by signature, games by name
    data_distributions: dict = field(default_factory=dict)
    games: dict = field(default_factory=dict)
    plates: dict[str, "Plate"] = field(default_factory=dict)  # gmc.compiler.plates.Plate, by name
    # gmc.compiler.sequences: sequence variables, step factors (by indexed signature), chains
    sequences: dict[str, "Sequence"] = field(default_factory=dict)
    steps: dict[str, "Step"] = field(default_factory=dict)
    chains: dict[str, "Chain"] = field(default_factory=dict)
    step_products: dict[str, "StepProduct"] = field(default_factory=dict)
    recurrences: dict[str, "Recurrence"] = field(default_factory=dict)  # gmc.compiler.recurrence, h[t] = ...

    def edges(self) -> list[tuple[tuple[str, str], tuple[str, str], str]]:
        """The dependency edges (source node, target node, role) that :meth:`graph` holds."""
        out = []
        for n, net in self.nets.items():
            for i in net.inputs:
                out.append((("var", i), ("net", n), "input"))
        for sig, f in self.factors.items():
            node = ("factor", sig)
            for v in f.given:
                out.append((("var", v), node, "given"))
            for v in f.outputs:
                out.append((node, ("var", v), "defines"))
            for c in f.components:
                out.append((("factor", c), node, "component"))
            for _, e in f.params:
                for n in walk(e):
                    if isinstance(n, NetCall):
                        out.append((("net", n.net), node, "net"))
        for name, loss in self.losses.items():
            for sig in factor_refs(loss.expr):
                out.append((("factor", sig), ("loss", name), "term"))
        return out

    def graph(self) -> "nx.DiGraph":
        """The dependency graph: ``("var", x)``, ``("factor", sig)``, ``("net", n)``,
        ``("loss", n)`` nodes; edges point from what is used to what uses it, with a ``role``:
        given (variable -> factor), defines (factor -> variable), component (factor -> product),
        input (variable -> net), net (net -> factor), term (factor -> loss)."""
        import networkx as nx

        g = nx.DiGraph()
        g.add_nodes_from(self._known_nodes())
        for a, b, role in self.edges():
            g.add_edge(a, b, role=role)
        return g

    def _known_nodes(self) -> list[tuple[str, str]]:
        return ([("var", v) for v in self.vars] + [("net", n) for n in self.nets]
                + [("factor", f) for f in self.factors] + [("loss", n) for n in self.losses])

    def lint(self) -> list[str]:
        """Internal consistency of a checked model; returns problems (empty when sound).

        A valid program's IR always passes: this guards the passes, not the user."""
        problems = []
        edges = self.edges()
        known = set(self._known_nodes())
        seen = set(known)
        for a, b, _ in edges:
            for node in (a, b):
                if node not in seen:
                    seen.add(node)
                    problems.append(f"reference to undefined {node[0]} '{node[1]}'")
        if find_cycle_edges([(a, b) for a, b, r in edges if r == "component"]):
            problems.append("a factor is defined in terms of itself")
        for sig, f in self.factors.items():
            if f.is_product and product_cycle(self, f):
                problems.append(f"product {sig} is cyclic")
        return problems


def leaves(model: Model, sig: str) -> list[Factor]:
    """The distribution factors a (possibly nested) product expands to, in written order."""
    f = model.factors[sig]
    if not f.is_product:
        return [f]
    return [leaf for c in f.components for leaf in leaves(model, c)]


def _product_edges(model: Model, product: Factor) -> list[tuple[str, str, str]]:
    """(given, output, factor) for each component of a product, in written order."""
    return [(given, out, leaf.signature) for leaf in leaves(model, product.signature)
            for out in leaf.outputs for given in leaf.given]


def product_dependencies(model: Model, product: Factor) -> "nx.DiGraph":
    """Variable graph of a product: edge given -> output for each component, with its factor."""
    import networkx as nx

    g = nx.DiGraph()
    for leaf in leaves(model, product.signature):
        for out in leaf.outputs:
            g.add_node(out)
            for given in leaf.given:
                g.add_edge(given, out, factor=leaf.signature)
    return g


def product_cycle(model: Model, product: Factor) -> list[tuple[str, str, str]]:
    """A cycle among a product's variables as (given, output, factor) triples, or []."""
    if not find_cycle_edges([(a, b) for a, b, _ in _product_edges(model, product)]):
        return []  # the common case, in linear time and without networkx
    import networkx as nx

    # networkx picks the cycle reported to the user (the wording is golden-tested).
    g = product_dependencies(model, product)
    return [(a, b, g.edges[a, b]["factor"]) for a, b in nx.find_cycle(g)]


def ancestral_order(model: Model, sig: str) -> list[Factor]:
    """The leaves of a factor ordered so each comes after the factors defining its inputs.

    Among the leaves ready at each point, the one written first goes first (a lexicographic
    topological order, as networkx's ``lexicographical_topological_sort`` gives)."""
    parts = leaves(model, sig)
    by_output = {out: i for i, leaf in enumerate(parts) for out in leaf.outputs}
    after: list[list[int]] = [[] for _ in parts]
    waiting = [0] * len(parts)
    for i, leaf in enumerate(parts):
        for given in leaf.given:
            if given in by_output and by_output[given] != i:
                after[by_output[given]].append(i)
                waiting[i] += 1
    ready = [i for i, w in enumerate(waiting) if w == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        i = heapq.heappop(ready)
        order.append(parts[i])
        for j in after[i]:
            waiting[j] -= 1
            if waiting[j] == 0:
                heapq.heappush(ready, j)
    return order


def find_cycle_edges(edges) -> bool:
    """Whether the directed graph with these (a, b) edges has a cycle (Kahn's algorithm, linear)."""
    succ: dict = {}
    indegree: dict = {}
    for a, b in edges:
        succ.setdefault(a, []).append(b)
        succ.setdefault(b, [])
        indegree[b] = indegree.get(b, 0) + 1
        indegree.setdefault(a, 0)
    ready = [n for n, d in indegree.items() if d == 0]
    removed = 0
    while ready:
        n = ready.pop()
        removed += 1
        for m in succ[n]:
            indegree[m] -= 1
            if indegree[m] == 0:
                ready.append(m)
    return removed != len(indegree)
