"""Generated methods of a game (:mod:`gmc.compiler.adversarial`): per game ``g``

- ``draw_g(self, <data>)``: the generator's forward pass, the draws the critics read
  (one per example of the data batch), as a tuple;
- ``loss_g_<player>(self, <data>, fake=None)`` for each player: the objective that player's
  step minimizes (the max player's is minus its part of V, plus its gradient penalties).

One ``fake`` tuple from ``draw_g`` serves both players within a step: the critic's method
reads it detached (its step must not move the generator), the generator's method reads it
as it is, so the generator's forward pass runs once per step (Radford et al. 2016's loop).

Formulas (D a critic's logit or score on a batch; means over the batch):

- JS, critic: -[(mean log sigmoid D(x_data) + mean log sigmoid -D(x_model)) / 2 + log 2]
  (Goodfellow et al. 2014, eq. 1, as a bound on JS); generator, non-saturating (their
  section 3): -mean log sigmoid D(x_model) / 2; ``generator=minimax``: the bound itself.
- KL[p || p_data]: critic as JS's (logistic regression, optimum D = log p_data/p);
  generator mean(-D(x_model)) (Mescheder et al. 2017, sec. 3.1).
- W: critic -(mean f(x_data) - mean f(x_model)) + penalty * mean (||grad f(x_hat)||_2 - 1)^2,
  x_hat = e x_data + (1 - e) x_model, e ~ U(0, 1) per example (Gulrajani et al. 2017, alg. 1);
  generator -mean f(x_model) (Arjovsky et al. 2017, alg. 1).
"""
from __future__ import annotations

import math
from dataclasses import replace

from gmc.compiler import ir, symbolic
from gmc.compiler.adversarial import Divergence, Game
from gmc.compiler.codegen import text
from gmc.compiler.codegen.builder import FunctionBuilder
from gmc.compiler.codegen.emitter import Emitter, Env
from gmc.compiler.dataflow import data_inputs

#: Discrete families a critic reads as their mean (probabilities) when a net sets their parameters.
_MEANS = {
    ("Bernoulli", "logits"): "torch.sigmoid({})", ("Bernoulli", "probs"): "{}",
    ("Categorical", "logits"): "torch.softmax({}, -1)", ("Categorical", "probs"): "{}",
}


def game_inputs(model: ir.Model, game: Game) -> tuple[str, ...]:
    """The data variables a game's methods take: those of its data distributions, then those
    its named losses read, in order of first use."""
    seen: dict[str, None] = {}
    for term in game.terms:
        if term.divergence is not None:
            for v in model.data_distributions[term.divergence.data].variables:
                seen.setdefault(v, None)
        else:
            for v in data_inputs(model, model.losses[term.loss].expr):
                seen.setdefault(v, None)
    return tuple(seen)


def fakes(model: ir.Model, game: Game) -> list[tuple[str, str]]:
    """(model factor, variable) of every draw ``draw_<game>`` returns, in order."""
    out: list[tuple[str, str]] = []
    for d in game.divergences:
        factor = model.factors[d.model]
        for v in model.data_distributions[d.data].variables:
            if v in factor.outputs and (d.model, v) not in out:
                out.append((d.model, v))
    return out


def player_method(game: Game, kind: str) -> str:
    return f"loss_{game.name}_{game.player(kind).name}"


def game_methods(model: ir.Model, lines: list[str]) -> list[str]:
    """Rendered methods of every game, in source order."""
    out = []
    for game in model.games.values():
        out.append(_draw_method(model, game, lines).render())
        for kind in ("max", "min"):
            out.append(_player_method(model, game, kind, lines).render())
    return out


def class_attribute(model: ir.Model) -> str | None:
    """``games = {...}``: what the training loop needs to know of each game (rt.GameInfo)."""
    if not model.games:
        return None
    lit = text.literal
    rows = ["games = {"]
    for name, game in model.games.items():
        players = []
        for p in sorted(game.players, key=lambda p: p.kind != "max"):
            clip = tuple((d.critic, d.clip) for d in game.divergences if d.clip is not None and d.critic in p.nets)
            players.append(f"rt.PlayerInfo({lit(p.kind)}, {lit(p.name)}, {lit(p.nets)}, {lit(player_method(game, p.kind))}, "
                           f"{lit(p.lr)}, {lit(p.betas)}, {lit(p.steps)}, {lit(clip)})")
        drawn = fakes(model, game)
        rows.append(f"    {lit(name)}: rt.GameInfo({lit('draw_' + name)}, {lit(game_inputs(model, game))}, "
                    f"({', '.join(players)},), {lit(tuple(v for _, v in drawn))}),")
    rows.append("}")
    return "\n".join(rows)


def _builder(model, name, args, doc, lines) -> FunctionBuilder:
    return FunctionBuilder(name, list(args), list(model.params), doc, model.filename, lines)


def _env(model: ir.Model, inputs: tuple[str, ...]) -> Env:
    first = inputs[0]
    rank = len(model.vars[first].type.shape)
    batch = f"{first}.shape[:-{rank}]" if rank else f"{first}.shape"
    return Env({v: v for v in inputs}, batch, first)


def _draw_method(model: ir.Model, game: Game, lines) -> FunctionBuilder:
    inputs = game_inputs(model, game)
    drawn = fakes(model, game)
    doc = (f"The generator's forward pass of game '{game.name}': "
           f"{', '.join(f'{v} from {sig}' for sig, v in drawn)}, one per example of the batch (a tuple).")
    fb = _builder(model, f"draw_{game.name}", inputs, doc, lines)
    emitter = Emitter(model, fb)
    env = _env(model, inputs)
    names = []
    for sig in dict.fromkeys(sig for sig, _ in drawn):
        bound = _draw(emitter, model, sig, env, {v for s, v in drawn if s == sig})
        names += [bound[v] for s, v in drawn if s == sig]
    fb.emit(f"return ({', '.join(names)},)")
    return fb


def _draw(emitter: Emitter, model: ir.Model, sig: str, env: Env, critic_reads: set[str]) -> dict[str, str]:
    """Emit a draw of ``sig``'s leaves (ancestral order, given variables from ``env``); a
    Bernoulli or Categorical leaf over a variable the critic reads, whose parameters a net
    sets, gives its mean. Returns variable -> Python name."""
    factor = model.factors[sig]
    names = dict(env.names)
    growing = replace(env, names=names)
    for leaf in ir.ancestral_order(model, sig):
        var = leaf.outputs[0]
        if var in factor.given:
            continue
        pname = next((p for p, _ in leaf.params if (leaf.family, p) in _MEANS), None)
        reads_net = any(isinstance(n, ir.NetCall) for _, e in leaf.params for n in ir.walk(e))
        if var in critic_reads and pname is not None and reads_net:
            code = symbolic.to_torch(emitter.params(leaf, growing)[pname])
            names[var] = emitter.fb.assign(f"{var}_model", _MEANS[leaf.family, pname].format(code), leaf.span,
                                           "the mean: the critic reads probabilities")
        else:
            names[var] = emitter.sample_leaf(leaf, growing)[1]
    return names


def _critic_call(emitter: Emitter, model: ir.Model, d: Divergence, values: dict[str, str], base: str) -> str:
    """Name of the critic's logit or score on ``values`` (variable -> code), [batch]."""
    net = model.nets[d.critic]
    t = net.outputs[0][1]
    method = ".pre_activation" if t.support == "unit" else ""  # a probability is read as its logit
    squeeze = ".squeeze(-1)" if t.shape == (1,) else ""
    args = ", ".join(values[v] for v in net.inputs)
    return emitter.fb.assign(base, f"self.{d.critic}{method}({args}){squeeze}", d.span)


def _player_method(model: ir.Model, game: Game, kind: str, lines) -> FunctionBuilder:
    inputs = game_inputs(model, game)
    player = game.player(kind)
    what = ("minimizes (minus its part of the objective, plus penalties)" if kind == "max" else "minimizes")
    doc = (f"Objective player {'/'.join(player.nets)} of game '{game.name}' {what}: a scalar, in nats "
           f"(scores for W). 'fake' is draw_{game.name}'s tuple (drawn here when None).")
    fb = _builder(model, player_method(game, kind), (*inputs, "fake"), doc, lines)
    fb.args[-1] = "fake=None"
    emitter = Emitter(model, fb)
    env = _env(model, inputs)
    drawn = fakes(model, game)
    fb.emit(f"if fake is None:")
    fb.emit(f"    fake = self.draw_{game.name}({', '.join(inputs)}" + "".join(f", {p}={p}" for p in model.params) + ")")
    fake_names = {}
    for i, (sig, v) in enumerate(drawn):
        detach = ".detach()" if kind == "max" else ""
        fake_names[sig, v] = fb.assign(f"{v}_fake", f"fake[{i}]{detach}")
    terms = []
    for term in game.terms:
        weight = None if term.weight is None else emitter.value(term.weight, env)[0]
        if term.loss is not None:
            if kind == "max":
                continue  # the critic's nets are not read by losses (checked): no gradient to take
            info_inputs = data_inputs(model, model.losses[term.loss].expr)
            args = [*info_inputs, *(f"{p}={emitter.param(p)}" for p in model.params)]
            code = fb.assign(f"loss_{term.loss}", f"self.loss_{term.loss}({', '.join(args)})", term.span)
        else:
            code = _divergence(emitter, model, term.divergence, kind, fake_names, env)
        terms.append(code if weight is None else f"{_paren(weight)} * {_paren(code)}")
    fb.emit(f"return {' + '.join(terms) if terms else '0.0'}", game.span)
    return fb


def _paren(code: str) -> str:
    return code if code.replace(".", "").replace("_", "").isalnum() else f"({code})"


def _divergence(emitter: Emitter, model: ir.Model, d: Divergence, kind: str, fake_names, env: Env) -> str:
    fb = emitter.fb
    variables = model.data_distributions[d.data].variables
    real = {v: env.name(v) for v in variables}
    fake = {v: fake_names.get((d.model, v), env.name(v)) for v in variables}
    on_fake = _critic_call(emitter, model, d, fake, f"{d.critic}_fake")
    if kind == "min":
        if d.kind == "JS" and d.generator == "nonsaturating":
            return fb.assign("js_generator", f"-F.logsigmoid({on_fake}).mean() / 2", d.span,
                             "non-saturating (Goodfellow et al. 2014, sec. 3)")
        if d.kind == "JS":
            return fb.assign("js_generator", f"F.logsigmoid(-{on_fake}).mean() / 2 + {math.log(2)!r}", d.span,
                             "minimax: the JS bound's model term")
        if d.kind == "KL":
            return fb.assign("kl_generator", f"-{on_fake}.mean()", d.span, "density ratio: D = log p_data/p")
        return fb.assign("w_generator", f"-{on_fake}.mean()", d.span, "Wasserstein: minus the critic's mean score")
    on_real = _critic_call(emitter, model, d, real, f"{d.critic}_data")
    if d.kind in ("JS", "KL"):
        value = fb.assign("js_critic", f"(F.logsigmoid({on_real}).mean() + F.logsigmoid(-{on_fake}).mean()) / 2 "
                                       f"+ {math.log(2)!r}", d.span, "JS bound (Goodfellow et al. 2014, eq. 1)")
    else:
        value = fb.assign("w_critic", f"{on_real}.mean() - {on_fake}.mean()", d.span,
                          "Wasserstein estimate (Arjovsky et al. 2017)")
    if d.penalty is None:
        return f"-{value}"
    penalty = _gradient_penalty(emitter, model, d, real, fake, env)
    return f"{d.penalty!r} * {penalty} - {value}"


def _gradient_penalty(emitter: Emitter, model: ir.Model, d: Divergence, real, fake, env: Env) -> str:
    """Gulrajani et al. (2017), algorithm 1: interpolate each variable the model draws, per
    example, and penalize the critic's gradient norm's distance from 1 there."""
    fb = emitter.fb
    drawn = [v for v in model.data_distributions[d.data].variables if real[v] != fake[v]]
    rank = len(model.vars[drawn[0]].type.shape)
    ones = "(" + "1, " * rank + ")" if rank != 1 else "(1,)"
    shape = f"{real[drawn[0]]}.shape[:{-rank}] + {ones.replace(', )', ',)')}" if rank else f"{real[drawn[0]]}.shape"
    eps = fb.assign("eps", f"torch.rand({shape}, dtype={env.ref}.dtype, device={env.ref}.device)", d.span,
                    "one interpolation weight per example")
    hat = dict(real)
    for v in drawn:
        hat[v] = fb.assign(f"{v}_hat", f"({eps} * {real[v]} + (1 - {eps}) * {fake[v]}).requires_grad_(True)")
    on_hat = _critic_call(emitter, model, d, hat, f"{d.critic}_hat")
    grads = fb.ns.fresh("grads")
    fb.emit(f"{grads} = torch.autograd.grad({on_hat}.sum(), [{', '.join(hat[v] for v in drawn)}], create_graph=True)")
    flat = ", ".join(f"{grads}[{i}].flatten(1)" for i in range(len(drawn)))
    norm = f"{grads}[0].flatten(1)" if len(drawn) == 1 else f"torch.cat([{flat}], 1)"
    return fb.assign("penalty", f"(({norm}.norm(2, dim=1) - 1) ** 2).mean()", d.span,
                     "gradient penalty (Gulrajani et al. 2017, eq. 3)")
