"""Adversarial models: data distributions, critic-estimated divergences and min-max games.

Syntax (docs/language.md, "Adversarial models")::

    data p_data(x)
    game gan = min_{gen; lr=2e-4, beta1=0.5} max_{disc; steps=1} JS[p_data(x) || p(x), critic=disc]

``data p_data(x, y)`` names the empirical distribution of the training set over ``x, y``.
A game's objective V is a weighted sum of named losses and adversarial divergences; the
``min`` player's nets minimize V, the ``max`` player's nets (the critics) maximize it. Each
divergence names its critic, a net reading exactly the data distribution's variables and
returning one number per example.

The divergences and the objective each player's step uses:

- ``JS[p_data || p, critic=D]``: the bound of Goodfellow et al. (2014), eq. 1 rescaled,
  JS >= (E_data[log sigmoid(D)] + E_p[log(1 - sigmoid(D))]) / 2 + log 2, D a logit. The critic
  maximizes it; the generator minimizes the non-saturating -E_p[log sigmoid(D)] / 2 (their
  section 3), or the bound itself with ``generator=minimax``.
- ``KL[p || p_data, critic=D]``: the density-ratio estimate E_p[-D] (D trained as JS's
  critic, whose optimum is D = log p_data/p; Mescheder et al. 2017, sec. 3.1; Pixyz's
  ``AdversarialKullbackLeibler``). The model side comes first (only it has a gradient path).
- ``W[p_data || p, critic=f]``: E_data[f] - E_p[f] (Arjovsky et al. 2017), with
  ``penalty=lam`` the gradient penalty lam E[(||grad f(xh)||_2 - 1)^2] at random
  interpolates xh (Gulrajani et al. 2017, eq. 3) or ``clip=c`` weight clipping to [-c, c].

The model side ``p`` is any factor that defines the data variables its conditioning set
does not hold (``p(x)``, ``p(x,z)``, or ``p(x|y)`` for a conditional GAN, whose ``y`` comes from
the data batch). The critic reads a differentiable draw: reparameterized families are
sampled; a Bernoulli or Categorical leaf over a data variable gives its mean (probabilities),
as the generators of GANs on binary images output probabilities.
"""
from __future__ import annotations

from dataclasses import dataclass

from gmc.compiler import diagnostics as diag
from gmc.compiler import ir
from gmc.dsl import ast
from gmc.dsl.ast import NO_SPAN, Span

DIVERGENCES = ("JS", "KL", "W")
DIVERGENCE_OPTIONS = {"JS": ("critic", "generator", "penalty"), "KL": ("critic", "penalty"),
                      "W": ("critic", "penalty", "clip")}
GENERATOR_LOSSES = ("nonsaturating", "minimax")
PLAYER_OPTIONS = ("lr", "beta1", "beta2", "steps")


@dataclass(frozen=True)
class DataDistribution:
    """``data p_data(x, y)``: the empirical distribution of the training set."""

    name: str
    variables: tuple[str, ...]
    span: Span = NO_SPAN

    @property
    def signature(self) -> str:
        return ir.signature(self.name, self.variables, ())


@dataclass(frozen=True)
class Divergence:
    """An adversarial divergence between the data distribution ``data`` and the model factor
    ``model`` (signatures), estimated by the net ``critic``. ``data_first`` records the written
    order (KL is written model first)."""

    kind: str
    data: str
    model: str
    critic: str
    data_first: bool = True
    generator: str = "nonsaturating"
    penalty: float | None = None
    clip: float | None = None
    span: Span = NO_SPAN


@dataclass(frozen=True)
class Term:
    """One term of a game's objective: ``weight * loss`` or ``weight * divergence``
    (``weight`` an expression of numbers, consts and params, None for 1)."""

    weight: ir.Expr | None
    loss: str | None = None
    divergence: Divergence | None = None
    span: Span = NO_SPAN


@dataclass(frozen=True)
class PlayerSpec:
    """One side of a game: its nets, Adam settings and updates per round."""

    kind: str  # "min" or "max"
    nets: tuple[str, ...]
    lr: float | None = None
    betas: tuple[float | None, float | None] = (None, None)
    steps: int = 1
    span: Span = NO_SPAN

    @property
    def name(self) -> str:
        """The player's name: its nets joined by '_' (``gen``, ``enc_dec``)."""
        return "_".join(self.nets)


@dataclass(frozen=True)
class Game:
    name: str
    players: tuple[PlayerSpec, ...]
    terms: tuple[Term, ...]
    span: Span = NO_SPAN
    name_span: Span = NO_SPAN

    def player(self, kind: str) -> PlayerSpec:
        return next(p for p in self.players if p.kind == kind)

    @property
    def divergences(self) -> list[Divergence]:
        return [t.divergence for t in self.terms if t.divergence is not None]


# ---- lowering ----------------------------------------------------------------------------

def lower_adversarial(lowering, statements) -> None:
    """Lower the ``data`` and ``game`` statements of a program (called by
    :class:`gmc.compiler.lower._Lowering` after the losses); errors go to ``lowering.error``."""
    model = lowering.model
    for s in statements:
        if isinstance(s, ast.DataDecl):
            _data(lowering, s)
    for s in statements:
        if isinstance(s, ast.GameDef) and lowering.claim("loss", s.name, s.name_span):
            game = _Game(lowering, s).lower()
            if game is not None:
                model.games[s.name] = game
                check_game(lowering, model, game, s)


def _data(lowering, s: ast.DataDecl) -> None:
    sig = s.signature
    text = ir.signature(sig.name, tuple(n.id for n in sig.outputs), ())
    if sig.given:
        lowering.error(diag.bad_arguments(sig.span, f"data {text}", "the data distribution is conditioned on nothing."))
        return
    if text in lowering.signature_set or text in lowering.model.data_distributions:
        first = lowering.model.data_distributions.get(text) or lowering.model.factors.get(text)
        lowering.error(diag.duplicate_definition(sig.span, "factor", text, first.span.line if first else sig.span.line))
        return
    if lowering.repeated(sig.outputs, f"data {text}") or any(lowering.variable(n) is None for n in sig.outputs):
        return
    lowering.model.data_distributions[text] = DataDistribution(sig.name, tuple(n.id for n in sig.outputs), s.span)


class _Game:
    def __init__(self, lowering, s: ast.GameDef):
        self.lowering, self.s, self.ok = lowering, s, True

    def error(self, d) -> None:
        self.lowering.error(d)
        self.ok = False

    def lower(self) -> Game | None:
        s = self.s
        players = [self.player(p) for p in s.players]
        kinds = [p.kind for p in s.players]
        if sorted(kinds) != ["max", "min"]:
            self.error(diag.bad_arguments(s.span, f"game '{s.name}'",
                                          "write one min_{...} player and one max_{...} player."))
        terms = self.terms(s.value, 1.0)
        if not self.ok or None in players:
            return None
        return Game(s.name, tuple(players), tuple(terms), s.span, s.name_span)

    def player(self, p: ast.Player) -> PlayerSpec | None:
        nets = []
        for n in p.nets:
            if n.id not in self.lowering.model.nets:
                if n.id not in self.lowering.poisoned:
                    self.error(diag.undefined_name(n.span, n.id, self.lowering.model.nets))
                continue
            nets.append(n.id)
        if self.lowering.repeated(p.nets, f"the nets of {p.kind}_{{...}}"):
            self.ok = False
        settings = {"lr": None, "beta1": None, "beta2": None, "steps": 1}
        for option in p.options:
            if not isinstance(option, ast.Keyword) or option.name not in PLAYER_OPTIONS:
                self.error(diag.bad_arguments(option.span, f"{p.kind}_{{...}}",
                                              f"options are {', '.join(o + '=' for o in PLAYER_OPTIONS)}."))
                continue
            if option.name == "steps":
                settings["steps"] = self.lowering.positive_int(option.value, "The number of steps per round")
            else:
                value = self.lowering.constant(option.value, f"The option {option.name}")
                if value is not None and not (0 < value if option.name == "lr" else 0 <= value < 1):
                    self.error(diag.bad_arguments(option.value.span, f"{p.kind}_{{...}}",
                                                  "lr must be positive; beta1 and beta2 within [0, 1)."))
                    value = None
                settings[option.name] = None if value is None else float(value)
        if settings["steps"] is None or len(nets) != len(p.nets):
            self.ok = False
            return None
        return PlayerSpec(p.kind, tuple(nets), settings["lr"], (settings["beta1"], settings["beta2"]),
                          settings["steps"], p.span)

    def terms(self, e: ast.Expr, sign: float, weight: ast.Expr | None = None) -> list[Term]:
        if isinstance(e, ast.BinOp) and e.op in "+-":
            return self.terms(e.left, sign, weight) + self.terms(e.right, sign if e.op == "+" else -sign, weight)
        if isinstance(e, ast.Neg):
            return self.terms(e.operand, -sign, weight)
        if isinstance(e, ast.BinOp) and e.op == "*" and weight is None:
            for factor, rest in ((e.left, e.right), (e.right, e.left)):
                if _is_term(rest, self.lowering) and not _is_term(factor, self.lowering):
                    return self.terms(rest, sign, factor)
        if isinstance(e, ast.Adversarial):
            if sign < 0:  # the critic would minimize its own estimate
                self.error(diag.bad_arguments(e.span, f"{e.name}[...]", "a divergence enters the objective with a "
                                                                        "positive weight; its critic maximizes it."))
                return []
            divergence = self.divergence(e)
            return [] if divergence is None else [Term(self.weight(weight, sign, e.span), divergence=divergence,
                                                       span=e.span)]
        if isinstance(e, ast.Name) and ("loss", e.id) in self.lowering.first_line and e.id in self.lowering.model.losses:
            from gmc.compiler.dataflow import draws_own_batch

            if not all(complete(self.lowering.model, sig) for sig in ir.factor_refs(self.lowering.model.losses[e.id].expr)):
                self.ok = False  # a factor it reads failed, with its own error
                return []

            if draws_own_batch(self.lowering.model, self.lowering.model.losses[e.id].expr):
                self.error(diag.bad_arguments(e.span, f"game '{self.s.name}'", f"loss '{e.id}' reads no data; a "
                                              "game's losses are computed on its data batch."))
                return []
            return [Term(self.weight(weight, sign, e.span), loss=e.id, span=e.span)]
        if isinstance(e, ast.Name) and ("loss", e.id) in self.lowering.first_line:
            self.ok = False  # a loss that failed to lower has its own error
            return []
        self.error(diag.bad_game_term(e.span))
        return []

    def weight(self, weight: ast.Expr | None, sign: float, span: Span) -> ir.Expr | None:
        if weight is None:
            return None if sign > 0 else ir.Num(-1.0, span=span)
        value = self.lowering.expr(weight, None)
        if value is None:
            self.ok = False
            return None
        allowed = (ir.Num, ir.ConstRef, ir.ParamRef, ir.BinOp, ir.Neg, ir.Apply)
        if not all(isinstance(n, allowed) and getattr(n, "func", None) not in ir.REDUCTIONS for n in ir.walk(value)):
            self.error(diag.bad_game_term(weight.span))
            return None
        return value if sign > 0 else ir.Neg(value, span=weight.span)

    def divergence(self, e: ast.Adversarial) -> Divergence | None:
        lw, model = self.lowering, self.lowering.model
        if e.name not in DIVERGENCES:
            self.error(diag.unknown_functional(e.name_span, e.name))
            return None
        options = {}
        for option in e.options:
            if not isinstance(option, ast.Keyword) or option.name not in DIVERGENCE_OPTIONS[e.name]:
                self.error(diag.bad_arguments(option.span, f"{e.name}[...]", "its options are "
                                              + ", ".join(o + "=" for o in DIVERGENCE_OPTIONS[e.name]) + "."))
                return None
            options[option.name] = option
        if "critic" not in options:
            self.error(diag.bad_arguments(e.span, f"{e.name}[...]", "name its critic net, as in critic=disc."))
            return None
        critic_expr = options["critic"].value
        if not isinstance(critic_expr, ast.Name) or critic_expr.id not in model.nets:
            if not (isinstance(critic_expr, ast.Name) and critic_expr.id in lw.poisoned):
                self.error(diag.undefined_name(critic_expr.span, getattr(critic_expr, "id", "?"), model.nets))
            return None
        sides = [self.side(c) for c in (e.first, e.second)]
        if None in sides:
            return None
        data_first = sides[0][0] == "data"
        if {sides[0][0], sides[1][0]} != {"data", "model"}:
            self.error(diag.bad_arguments(e.span, f"{e.name}[...]", "compare the data distribution (data ...) "
                                                                     "with a factor of the model."))
            return None
        if e.name == "KL" and data_first:
            self.error(diag.bad_arguments(e.span, "KL[...]", "write the model first, KL[p(x) || p_data(x), critic=D]: "
                                                             "the adversarial KL is estimated from the model's samples."))
            return None
        data = sides[0][1] if data_first else sides[1][1]
        model_sig = sides[1][1] if data_first else sides[0][1]
        if not self.model_side(e, data, model_sig):
            return None
        generator = "nonsaturating"
        if "generator" in options:
            generator = lw.option_name(options["generator"], f"{e.name}[...]", GENERATOR_LOSSES)
        penalty = clip = None
        for key in ("penalty", "clip"):
            if key in options:
                value = lw.constant(options[key].value, f"The {key} of {e.name}[...]")
                if value is not None and not value > 0:
                    self.error(diag.bad_arguments(options[key].span, f"{e.name}[...]", f"{key} must be positive."))
                    return None
                if value is None:
                    return None
                penalty, clip = (float(value), clip) if key == "penalty" else (penalty, float(value))
        if penalty is not None and clip is not None:
            self.error(diag.bad_arguments(e.span, "W[...]", "choose one of penalty= and clip=."))
            return None
        if generator is None:
            return None
        return Divergence(e.name, data, model_sig, critic_expr.id, data_first, generator, penalty, clip, e.span)

    def side(self, call: ast.Call) -> tuple[str, str] | None:
        model = self.lowering.model
        names = list(call.args) + list(call.given or ())
        if call.keywords or not all(isinstance(a, ast.Name) for a in names):
            self.error(diag.factor_arguments_must_be_variables(call.span))
            return None
        text = ir.signature(call.func, tuple(a.id for a in call.args), tuple(a.id for a in call.given or ()))
        if text in model.data_distributions:
            return "data", text
        if text in self.lowering.signature_set:
            if not complete(model, text):
                self.ok = False  # its own error was reported
                return None
            return "model", text
        self.error(diag.undefined_factor(call.span, text, [*self.lowering.all_signatures,
                                                           *model.data_distributions]))
        return None

    def model_side(self, e: ast.Adversarial, data: str, sig: str) -> bool:
        """The model factor must define every data variable its conditioning set lacks and
        be conditioned on data variables only."""
        model = self.lowering.model
        variables = model.data_distributions[data].variables
        factor = model.factors[sig]
        missing = [v for v in variables if v not in factor.outputs and v not in factor.given]
        outside = [v for v in factor.given if v not in variables]
        if missing or outside:
            detail = (f"{sig} does not define '{missing[0]}'" if missing else
                      f"{sig} is conditioned on '{outside[0]}', which the data distribution does not hold")
            self.error(diag.bad_arguments(e.span, f"{e.name}[...]", detail + "."))
            return False
        return True


def complete(model: ir.Model, sig: str) -> bool:
    """True when ``sig`` and every factor it is a product of were lowered (a failed one has
    its own error, and the game is then not checked further)."""
    stack, seen = [sig], set()
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        factor = model.factors.get(current)
        if factor is None:
            return False
        stack.extend(factor.components)
    return True


def _is_term(e: ast.Expr, lowering) -> bool:
    """True when ``e`` is (a sum of) adversarial divergences or loss names, not a weight."""
    if isinstance(e, ast.Adversarial):
        return True
    if isinstance(e, ast.Name):
        return ("loss", e.id) in lowering.first_line
    if isinstance(e, ast.BinOp):
        return _is_term(e.left, lowering) or _is_term(e.right, lowering)
    if isinstance(e, ast.Neg):
        return _is_term(e.operand, lowering)
    return False


# ---- checks ------------------------------------------------------------------------------

def factor_nets(model: ir.Model, sig: str) -> list[str]:
    """The nets a factor's leaves call, in order of first use."""
    seen: dict[str, None] = {}
    for leaf in ir.leaves(model, sig):
        for _, e in leaf.params:
            for node in ir.walk(e):
                if isinstance(node, ir.NetCall):
                    seen.setdefault(node.net, None)
    return list(seen)


def expr_nets(model: ir.Model, e: ir.Expr) -> list[str]:
    """The nets an expression reads, directly or through the factors it mentions."""
    seen: dict[str, None] = {}
    for node in ir.walk(e):
        if isinstance(node, ir.NetCall):
            seen.setdefault(node.net, None)
    for sig in ir.factor_refs(e):
        if sig in model.factors:
            for net in factor_nets(model, sig):
                seen.setdefault(net, None)
    return list(seen)


def game_nets(model: ir.Model, game: Game) -> list[str]:
    """Every net the game's objective reads: losses, model factors and critics."""
    seen: dict[str, None] = {}
    for term in game.terms:
        if term.loss is not None:
            nets = expr_nets(model, model.losses[term.loss].expr)
        else:
            nets = [*factor_nets(model, term.divergence.model), term.divergence.critic]
        for net in nets:
            seen.setdefault(net, None)
    return list(seen)


def _output_fits(t: ir.Type, kind: str) -> bool:
    one_number = t.shape in ((), (1,))
    if kind == "W":
        return one_number and t.support == "real"
    return one_number and t.support in ("real", "unit")


def check_game(lowering, model: ir.Model, game: Game, s: ast.GameDef) -> None:
    """The located checks of a game (docs/language.md, "Adversarial models")."""
    read = game_nets(model, game)
    owner = {net: p for p in game.players for net in p.nets}
    player_span = {n.id: n.span for p in s.players for n in p.nets}
    both = [n for n in game.players[0].nets if n in game.players[1].nets]
    taken = {f"loss_{name}" for name in model.losses} | set(model.nets) | set(model.params) | set(model.weights)
    methods = [f"draw_{game.name}", *(f"loss_{game.name}_{p.name}" for p in game.players)]
    for method in methods:
        if method in taken:
            lowering.error(diag.bad_arguments(s.name_span, f"game '{game.name}'",
                                              f"its generated method '{method}' is a name the model has already; "
                                              "rename the game."))
    for net in both:
        lowering.error(diag.bad_arguments(player_span[net], f"game '{game.name}'",
                                          f"net '{net}' is listed by both players; each net has one."))
    for net in read:
        if net not in owner:
            lowering.error(diag.untrained_net(s.name_span, net, game.name))
    for p in game.players:
        for net in p.nets:
            if net not in read:
                lowering.error(diag.idle_player_net(player_span[net], net, game.name))
    for d in game.divergences:
        net = model.nets[d.critic]
        if net.named or not _output_fits(net.outputs[0][1], d.kind):
            got = ("named outputs" if net.named else f"{net.outputs[0][1]}")
            needed = ("one real score per example (not a probability)" if d.kind == "W"
                      else "one logit (real) or probability (unit) per example")
            lowering.error(diag.critic_support_mismatch(d.span, d.critic, d.kind, got, needed))
        variables = model.data_distributions[d.data].variables
        for v in variables:
            if v not in net.inputs:
                lowering.error(diag.critic_cannot_see(d.span, d.critic, v, net.inputs))
        for v in net.inputs:
            if v not in variables:
                lowering.error(diag.critic_reads_unknown(d.span, d.critic, v, variables))
        if d.critic in owner and owner[d.critic].kind != "max":
            lowering.error(diag.critic_on_wrong_side(player_span[d.critic], d.critic, game.name, "max_{...}"))


# ---- LaTeX -------------------------------------------------------------------------------

_DIVERGENCE_LATEX = {"JS": r"D_{\mathrm{JS}}", "KL": r"D_{\mathrm{KL}}", "W": r"W_{1}"}


def _factor_latex(sig: str) -> str:
    from gmc.compiler.latex import _var, factor

    name, _, rest = sig.partition("(")
    head, _, tail = name.partition("_")
    if tail and len(head) == 1:  # p_data(x) as p_{data}(x)
        return _var(name) + factor("f(" + rest)[1:]
    return factor(sig)


def data_latex(d: DataDistribution) -> str:
    """``p_{data}(x) = \\frac{1}{N}\\sum_{n=1}^{N} \\delta_{x^{(n)}}(x)``: the empirical distribution."""
    from gmc.compiler.latex import _var

    at = ", ".join(_var(v) + "^{(n)}" for v in d.variables)
    at = at if len(d.variables) == 1 else f"({at})"
    return rf"{_factor_latex(d.signature)} = \frac{{1}}{{N}}\sum_{{n=1}}^{{N}} \delta_{{{at}}}"


def game_latex(model: ir.Model, game: Game) -> str:
    """``\\min_{gen} \\max_{disc} D_{JS}^{disc}[p_data(x) || p(x)]`` as papers write a min-max objective."""
    from gmc.compiler.latex import _escape, expr

    players = " ".join(rf"\{p.kind}_{{" + ", ".join(r"\mathrm{" + _escape(n) + "}" for n in p.nets) + "}"
                       for p in sorted(game.players, key=lambda p: p.kind != "min"))
    parts = []
    for term in game.terms:
        if term.loss is not None:
            body = r"\mathcal{L}" if term.loss == "loss" else r"\mathcal{L}_{\mathrm{" + _escape(term.loss) + "}}"
        else:
            d = term.divergence
            left, right = (d.data, d.model) if d.data_first else (d.model, d.data)
            body = (_DIVERGENCE_LATEX[d.kind] + r"^{\mathrm{" + _escape(d.critic) + r"}}\left["
                    + _factor_latex(left) + r" \,\|\, " + _factor_latex(right) + r"\right]")
        weight = term.weight
        negative = isinstance(weight, ir.Neg) or (isinstance(weight, ir.Num) and weight.value == -1.0)
        if isinstance(weight, ir.Neg):
            weight = weight.operand
        if weight is not None and not (isinstance(weight, ir.Num) and abs(weight.value) == 1.0):
            body = expr(model, weight, 2) + r"\," + body
        parts.append(("- " if negative else "+ ") + body)
    text = " ".join(parts)
    text = text[2:] if text.startswith("+ ") else "-" + text[2:]
    symbol = r"V_{\mathrm{" + _escape(game.name) + "}}"
    return rf"{players}\; {symbol}, \quad {symbol} = {text}"
