"""AST of the .gm language: plain frozen dataclasses, every node carrying its source span.

The parser (:mod:`gmc.dsl.parser`) builds these; the compiler's lowering pass
(:mod:`gmc.compiler.lower`) resolves names and turns them into the graph IR. Nothing here
knows what a name means: ``Call`` covers net calls, function calls, distribution calls and
factor references alike, because telling them apart needs the declarations.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Span:
    """A region of source text: 1-based lines and columns, end column inclusive."""

    line: int
    column: int
    end_line: int
    end_column: int

    def to(self, other: "Span") -> "Span":
        """The span from the start of ``self`` to the end of ``other``."""
        return Span(self.line, self.column, other.end_line, other.end_column)


NO_SPAN = Span(0, 0, 0, 0)


@dataclass(frozen=True)
class Node:
    span: Span = field(default=NO_SPAN, compare=False, repr=False, kw_only=True)


# ---- expressions -------------------------------------------------------------------------

@dataclass(frozen=True)
class Number(Node):
    value: float
    text: str


@dataclass(frozen=True)
class Name(Node):
    id: str


@dataclass(frozen=True)
class Indexed(Name):
    """One step of a sequence variable, ``z[t]``, ``z[t-1]``, ``z[0]`` (gmc.compiler.sequences):
    ``id`` is the variable, ``index`` the time index as canonical text ("t", "t-1", "t+1", "0")."""

    index: str = "t"

    @property
    def text(self) -> str:
        return f"{self.id}[{self.index}]"


@dataclass(frozen=True)
class SequenceDecl(Node):
    """``var z[T]: categorical[K]``: a sequence of ``length`` steps, each of type ``type``."""

    name: str
    length: Expr
    type: TypeSpec


@dataclass(frozen=True)
class Keyword(Node):
    """``name=value`` inside a call's argument list."""

    name: str
    value: "Expr"
    name_span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class Call(Node):
    """``f(a, b, k=v)`` or ``p(x, z | y)``; ``given`` is None when there is no ``|``."""

    func: str
    args: tuple["Expr", ...]
    keywords: tuple[Keyword, ...]
    given: tuple[Name, ...] | None = None
    func_span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class Attribute(Node):
    """``enc(x).loc``: one named output of a net call."""

    value: "Expr"
    attr: str
    attr_span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class BinOp(Node):
    op: str  # one of + - * / @ **
    left: "Expr"
    right: "Expr"


@dataclass(frozen=True)
class Neg(Node):
    operand: "Expr"


@dataclass(frozen=True)
class LogDensity(Node):
    """``log p(x|z)``."""

    factor: Call


@dataclass(frozen=True)
class Expectation(Node):
    """``E_{q(z|x)}[body]`` or ``E_{q(z|x), estimator=reinforce}[body]`` (options as keywords)."""

    factor: Call
    body: "Expr"
    options: tuple["Expr | Keyword", ...] = ()


@dataclass(frozen=True)
class Functional(Node):
    """``KL[a || b]``, ``H[a]``, ``CE[a || b]``: the name is checked by the compiler."""

    name: str
    first: Call
    second: Call | None
    name_span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class Adversarial(Node):
    """``JS[p_data(x) || p(x), critic=disc, ...]``: a divergence estimated by a critic net
    (docs/language.md, "Adversarial models"); the name and options are checked by the compiler."""

    name: str
    first: Call
    second: Call
    options: tuple["Expr | Keyword", ...] = ()
    name_span: Span = field(default=NO_SPAN, compare=False, repr=False)


Expr = Number | Name | Call | Attribute | BinOp | Neg | LogDensity | Expectation | Functional | Adversarial


# ---- declarations ------------------------------------------------------------------------

@dataclass(frozen=True)
class TypeSpec(Node):
    """``real[X, Z]``: a support name and an event shape given as expressions."""

    support: str
    dims: tuple[Expr, ...]


@dataclass(frozen=True)
class ModelDecl(Node):
    name: str


@dataclass(frozen=True)
class ConstDecl(Node):
    name: str
    value: Expr


@dataclass(frozen=True)
class ParamDecl(Node):
    name: str
    value: Expr


@dataclass(frozen=True)
class WeightDecl(Node):
    name: str
    type: TypeSpec
    init: Expr | None


@dataclass(frozen=True)
class VarDecl(Node):
    """``var [global] NAME: TYPE``; a global variable has one value per data set, not per example."""

    name: str
    type: TypeSpec
    is_global: bool = False


@dataclass(frozen=True)
class LetDecl(Node):
    """``let NAME = EXPR``: a deterministic definition, expanded where ``NAME`` is used."""

    name: str
    value: Expr


@dataclass(frozen=True)
class NetOutput(Node):
    name: str | None  # None for a net with a single unnamed output
    type: TypeSpec


@dataclass(frozen=True)
class NetDecl(Node):
    name: str
    inputs: tuple[Name, ...]
    outputs: tuple[NetOutput, ...]
    named_outputs: bool
    body: Call | None  # e.g. MLP(256, 256); None when the user passes the net in


@dataclass(frozen=True)
class Signature(Node):
    """Left side of a factor definition, ``q(z|x)``."""

    name: str
    outputs: tuple[Name, ...]
    given: tuple[Name, ...]


@dataclass(frozen=True)
class FactorDef(Node):
    """``sig = Dist(...)`` (one call), ``sig = f1(...) f2(...)`` (a product of factors), or
    ``sig = sum_{y} f1(...) f2(...)`` (a marginal: the product with ``y`` summed or, with
    ``int_{z}``, integrated out; ``marginal_kind`` is "sum" or "int").

    ``sig propto e1(...) e2(...)`` (``proportional``): a product of Normal experts
    (:mod:`gmc.compiler.experts`). ``sig = f(...)[x -> w]`` (``renames`` the pairs (x, w)):
    factor ``f`` with its variables renamed (:mod:`gmc.compiler.renaming`)."""

    signature: Signature
    terms: tuple[Call, ...]
    marginalized: tuple[Name, ...] = ()
    marginal_kind: str | None = None
    proportional: bool = False
    renames: tuple[tuple[Name, Name], ...] = ()


@dataclass(frozen=True)
class LossDef(Node):
    name: str
    value: Expr
    name_span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class DataDecl(Node):
    """``data p_data(x, y)``: the empirical distribution of the training set over those variables."""

    signature: Signature


@dataclass(frozen=True)
class Player(Node):
    """``min_{gen, enc; lr=2e-4}`` or ``max_{disc; steps=5}``: who trains which nets, and how."""

    kind: str  # "min" or "max"
    nets: tuple[Name, ...]
    options: tuple["Expr | Keyword", ...] = ()


@dataclass(frozen=True)
class GameDef(Node):
    """``game NAME = min_{...} max_{...} EXPR``: a min-max objective and its players."""

    name: str
    players: tuple[Player, ...]
    value: Expr
    name_span: Span = field(default=NO_SPAN, compare=False, repr=False)



@dataclass(frozen=True)
class PlateDecl(Node):
    """``plate data(x, y)``: ``x`` and ``y`` have one value per example of a data set of size
    ``data`` (given at training time); sums over a batch of them estimate sums over the data
    set (:mod:`gmc.compiler.plates`)."""

    name: str
    variables: tuple[Name, ...]


@dataclass(frozen=True)
class RecurrenceDef(Node):
    """``h[t] = cell(h[t-1], x[t], z[t])``: the steps of a deterministic sequence, defined
    from earlier steps (gmc.compiler.recurrence)."""

    target: Indexed
    value: Expr


Statement = (ModelDecl | ConstDecl | ParamDecl | WeightDecl | VarDecl | LetDecl | NetDecl | FactorDef | LossDef
             | DataDecl | GameDef | PlateDecl | SequenceDecl | RecurrenceDef)


@dataclass(frozen=True)
class Program(Node):
    statements: tuple[Statement, ...]
    source: str = field(default="", compare=False, repr=False)
    filename: str = field(default="<string>", compare=False, repr=False)
