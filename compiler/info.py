"""``gmc info``: what a checked program declares and how each loss term will be computed.

:func:`model_info` returns plain data (dicts, lists, strings, numbers) ready for
``json.dumps(..., sort_keys=True)``; :func:`info_text` renders the same data for people.
Each term of a loss is listed after the objective rewrites of :mod:`gmc.compiler.simplify`
(so ``elbo`` shows as its decomposition when that applies), with its method:
``exact`` (a log-density), ``closed-form`` or ``monte-carlo`` (one reparameterized or
score-free sample; ``k`` particles for ``iwae``). Whether a KL or entropy is closed-form is
decided in one place, :func:`closed_form`, so a later derivation engine replaces one function.
"""
from __future__ import annotations

import json

from gmc.compiler import ir
from gmc.compiler.dataflow import data_inputs
from gmc.compiler.families import FAMILIES
from gmc.compiler.recursion import deep_stack


def closed_form(model: ir.Model, term: ir.Expr) -> bool:
    """True when ``term`` (KL, H or CE) has a closed form the code generator inlines (the
    derivation engine, :mod:`gmc.compiler.symbolic.derive`, finds one)."""
    from gmc.compiler.symbolic.report import derive_term

    return derive_term(model, term) is not None


@deep_stack
def model_info(model: ir.Model, warnings=()) -> dict:
    """Everything ``gmc info`` reports about a checked model (see the module docstring)."""
    from gmc.compiler.simplify import simplify

    simplified = simplify(model)
    extra = {"plates": {p.name: list(p.variables) for p in model.plates.values()}} if model.plates else {}
    return {**extra,
        "model": model.name,
        "file": model.filename,
        "consts": {c.name: c.value for c in model.consts.values()},
        "params": {p.name: p.default for p in model.params.values()},
        "weights": {w.name: {**_type(w.type), "init": w.init} for w in model.weights.values()},
        "variables": {v.name: _type(v.type) for v in model.vars.values()},
        "nets": {n.name: _net(n) for n in model.nets.values()},
        "factors": {sig: _factor(model, f) for sig, f in model.factors.items()},
        "losses": {name: _loss(model, simplified.losses[name], loss) for name, loss in model.losses.items()},
        "warnings": [w.message for w in warnings],
        **({"games": {name: _game(game) for name, game in model.games.items()}} if model.games else {}),
    }


def _game(game) -> dict:
    """A game's players and divergences (compiler/adversarial.py)."""
    players = [{"kind": p.kind, "nets": list(p.nets), "lr": p.lr, "betas": list(p.betas), "steps": p.steps}
               for p in game.players]
    terms = [{"loss": t.loss} if t.loss is not None else
             {"divergence": t.divergence.kind, "data": t.divergence.data, "model": t.divergence.model,
              "critic": t.divergence.critic, "generator": t.divergence.generator,
              "penalty": t.divergence.penalty, "clip": t.divergence.clip} for t in game.terms]
    return {"players": players, "terms": terms}


def _type(t: ir.Type) -> dict:
    return {"support": t.support, "shape": list(t.shape)}


def _net(n: ir.Net) -> dict:
    outputs = [{"name": name, **_type(t)} for name, t in n.outputs]
    body = "user-supplied" if n.hidden is None else "MLP(" + ", ".join(map(str, n.hidden)) + ")"
    body = f"{n.cell}()" if n.cell is not None else body
    return {"inputs": list(n.inputs), "outputs": outputs, "body": body}


def _factor(model: ir.Model, f: ir.Factor) -> dict:
    leaves = ir.leaves(model, f.signature)
    out = {"outputs": list(f.outputs), "given": list(f.given),
           "reparameterized": all(FAMILIES[leaf.family].reparameterized for leaf in leaves)}
    if f.signature in model.chains:  # gmc.compiler.sequences
        chain = model.chains[f.signature]
        out["chain"] = {"latent": chain.latent, "length": chain.length, "initial": chain.initial,
                        "transition": chain.transition, "emissions": list(chain.emissions),
                        "computed_as": "forward algorithm (exact)"}
        out["reparameterized"] = False  # the latent path is discrete
    elif f.signature in model.step_products:
        product = model.step_products[f.signature]
        out["product"] = [*product.initial, *product.order]
        out["reparameterized"] = all(FAMILIES[model.steps[s].factor.family].reparameterized for s in out["product"])
    elif f.is_product:
        out["product"] = list(f.components)
    else:
        out["family"] = f.family
        out["parameters"] = {name: expr_text(e) for name, e in f.params}
        if f.flow:
            from gmc.compiler.transforms.latex import flow_text

            out["flow"] = flow_text(f.flow)
    return out


def _loss(model: ir.Model, simplified: ir.Loss, original: ir.Loss) -> dict:
    return {"expression": expr_text(original.expr), "computed_as": expr_text(simplified.expr),
            "data": list(data_inputs(model, original.expr)), "terms": _terms(model, simplified.expr)}


def _terms(model: ir.Model, e: ir.Expr) -> list[dict]:
    terms = []
    for node in ir.walk(e):
        kind = _TERM_KINDS.get(type(node))
        if kind is None:
            continue
        if kind == "log":
            method = "exact"
        elif isinstance(node, ir.FlowBaseKL):  # the base distribution's KL (rewrites/elbo.py)
            method = "closed-form"
        elif kind in ("KL", "H", "CE"):
            method = "closed-form" if closed_form(model, node) else "monte-carlo"
        else:
            method = "monte-carlo"
        if kind in ("elbo", "iwae") and node.joint in model.step_products and model.recurrences:
            from gmc.compiler.recurrence import loop_method

            method = loop_method(model, node)
        term = {"term": _head(node), "kind": kind, "method": method}
        if isinstance(node, ir.Iwae):
            term["samples"] = node.k
        terms.append(term)
    return terms


_TERM_KINDS = {ir.LogProb: "log", ir.Expect: "E", ir.KL: "KL", ir.Entropy: "H", ir.CrossEntropy: "CE",
               ir.Elbo: "elbo", ir.Iwae: "iwae", ir.FlowBaseKL: "KL", ir.FlowResidual: "log"}
_LEVEL = {"+": 1, "-": 1, "*": 2, "/": 2, "@": 2, "**": 4}


def _head(e: ir.Expr) -> str:
    """A term without the body of its expectation: ``E_{q(z|x)}[...]``."""
    return f"E_{{{e.factor}}}[...]" if isinstance(e, ir.Expect) else expr_text(e)


def expr_text(e: ir.Expr, level: int = 0) -> str:
    """Compact .gm-like text of an IR expression, parenthesized only where needed."""
    text, own = _text(e)
    return f"({text})" if own < level else text


def _text(e: ir.Expr) -> tuple[str, int]:
    if isinstance(e, ir.Num):
        return f"{e.value:g}", 5
    if isinstance(e, (ir.ConstRef, ir.ParamRef, ir.WeightRef, ir.VarRef)):
        return e.name, 5
    if isinstance(e, ir.NetCall):
        call = f"{e.net}({', '.join(expr_text(a) for a in e.args)})" + (f".{e.output}" if e.output else "")
        return (f"logit({call})" if e.pre_activation else call), 5
    if isinstance(e, ir.Apply):
        return f"{e.func}({', '.join(expr_text(a) for a in e.args)})", 5
    if isinstance(e, ir.Neg):
        return "-" + expr_text(e.operand, 3), 3
    if isinstance(e, ir.BinOp):
        level = _LEVEL[e.op]
        if e.op == "**":
            return f"{expr_text(e.left, 5)} ** {expr_text(e.right, 3)}", 4
        return f"{expr_text(e.left, level)} {e.op} {expr_text(e.right, level + 1 if level == 1 else 3)}", level
    if isinstance(e, ir.LogProb):
        return f"log {e.factor}", 5
    if isinstance(e, ir.Expect):
        return f"E_{{{e.factor}}}[{expr_text(e.body)}]", 5
    if isinstance(e, ir.KL):
        return f"KL[{e.first} || {e.second}]", 5
    if isinstance(e, ir.FlowBaseKL):
        return f"KL[base of {e.first} || {e.second}]", 5
    if isinstance(e, ir.FlowResidual):
        return f"(log {e.second} at z_K - log {e.second} at z_0 + log-dets of {e.first})", 5
    if isinstance(e, ir.CrossEntropy):
        return f"CE[{e.first} || {e.second}]", 5
    if isinstance(e, ir.Entropy):
        return f"H[{e.factor}]", 5
    if isinstance(e, ir.Elbo):
        return f"elbo({e.joint}, {e.posterior})", 5
    if isinstance(e, ir.Iwae):
        return f"iwae({e.joint}, {e.posterior}, k={e.k})", 5
    if isinstance(e, ir.Renyi):
        return f"renyi({e.joint}, {e.posterior}, alpha={e.alpha:g}, k={e.k})", 5
    if isinstance(e, ir.Mmd):
        return f"mmd({e.first}, {e.second})", 5
    raise TypeError(f"no text for {type(e).__name__}")


def info_json(info: dict) -> str:
    """Stable JSON: sorted keys, two-space indent."""
    return json.dumps(info, sort_keys=True, indent=2)


def info_text(info: dict) -> str:
    """The report for people: one section per kind of declaration."""
    lines = [f"model {info['model']} ({info['file']})"]

    def section(title: str, rows: list[str]) -> None:
        if rows:
            lines.append("")
            lines.append(title + ":")
            lines.extend("  " + r for r in rows)

    def typ(t: dict) -> str:
        return t["support"] + (f"[{', '.join(map(str, t['shape']))}]" if t["shape"] else "")

    section("consts", [f"{k} = {v}" for k, v in info["consts"].items()])
    section("params", [f"{k} = {v:g}" for k, v in info["params"].items()])
    section("weights", [f"{k}: {typ(w)} (init {w['init']:g})" for k, w in info["weights"].items()])
    section("variables", [f"{k}: {typ(v)}" for k, v in info["variables"].items()])
    section("plates", [f"{k}({', '.join(v)}): sums over them are scaled to the data set's size, given as {k}=N"
                       for k, v in info.get("plates", {}).items()])
    section("nets", [f"{k}({', '.join(n['inputs'])}) -> "
                     + ", ".join((f"{o['name']}: " if o["name"] else "") + typ(o) for o in n["outputs"])
                     + f" = {n['body']}" for k, n in info["nets"].items()])
    rows = []
    for sig, f in info["factors"].items():
        if "chain" in f:
            c = f["chain"]
            rows.append(f"{sig} = sum_{{{c['latent']}}} {' '.join([c['initial'], c['transition'], *c['emissions']])}"
                        f"  [{c['length']} steps; {c['computed_as']}]")
            continue
        how = " ".join(f["product"]) if "product" in f else \
            f"{f['family']}(" + ", ".join(f"{k}={v}" for k, v in f["parameters"].items()) + ")"
        if "flow" in f:
            how = f"Flow({how}, {', '.join(f['flow'])})"
        rows.append(f"{sig} = {how}  [{'reparameterized' if f['reparameterized'] else 'not reparameterized'}]")
    section("factors", rows)
    for name, loss in info["losses"].items():
        rows = [f"= {loss['expression']}"]
        if loss["computed_as"] != loss["expression"]:
            rows.append(f"computed as {loss['computed_as']}")
        rows.append("data: " + (", ".join(loss["data"]) or "none"))
        rows += [f"{t['term']}: {t['method']}" + (f" ({t['samples']} samples)" if "samples" in t else "")
                 for t in loss["terms"]]
        section(f"loss {name}", rows)
    for name, game in info.get("games", {}).items():
        rows = [f"{p['kind']} {', '.join(p['nets'])}: lr {p['lr'] if p['lr'] is not None else 'default'}, "
                f"{p['steps']} update(s) per round" for p in game["players"]]
        rows += [f"loss {t['loss']}" if "loss" in t else
                 f"{t['divergence']}[{t['data']} || {t['model']}] by critic {t['critic']}"
                 + (f", penalty {t['penalty']:g}" if t["penalty"] else "") + (f", clip {t['clip']:g}" if t["clip"] else "")
                 for t in game["terms"]]
        section(f"game {name}", rows)
    section("warnings", info["warnings"])
    return "\n".join(lines)
