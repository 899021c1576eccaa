"""Random values of declared shapes and the smoke run of a generated module.

Everything is read from the checked IR (supports, event shapes, global variables, the
family that defines each variable), so the smoke run needs no description from whoever
wrote the program: goldens, examples and generated programs go through the same code.
"""
from __future__ import annotations

import math

import torch

from gmc.compiler import ir
from gmc.compiler.transforms.checks import uninvertible

BATCH = 3
#: Families whose log-density is not informative at arbitrary values of their support
#: (Uniform: outside [low, high); Deterministic: away from its point), so nothing built on
#: them is required to be finite.
UNCHECKED_FAMILIES = frozenset({"Uniform", "Deterministic"})


class SmokeFailure(AssertionError):
    """A generated module ran but broke a promise (a non-finite loss, a misshaped sample)."""


class NonFinite(SmokeFailure):
    """A loss, gradient or log-density that should be finite was not. In float32 a model can
    leave the dtype's range by itself (softplus of a very negative net output is 0, exp of a
    heavy-tailed draw is inf), so a program counts as failing only if float64 fails too."""


def _total_count(model: ir.Model, var: str) -> int | None:
    for factor in model.factors.values():
        if factor.family == "Multinomial" and var in factor.outputs:
            value = dict(factor.params).get("total_count")
            return int(getattr(value, "value", 1)) if value is not None else 1
    return None


def random_value(model: ir.Model, name: str, generator: torch.Generator, batch: int = BATCH) -> torch.Tensor:
    """A value of variable ``name`` inside its support: [batch, *event] ([*event] when global)."""
    var = model.vars[name]
    event = var.type.shape
    shape = event if var.is_global else (batch, *event)
    support = var.type.support
    uniform = torch.rand(shape, generator=generator)
    if support == "real":
        return torch.randn(shape, generator=generator)
    if support == "positive":
        return 0.2 + 2.0 * uniform
    if support == "unit":
        return 0.1 + 0.8 * uniform
    if support == "binary":
        return (uniform < 0.5).to(torch.get_default_dtype())
    if support in ("categorical", "simplex"):
        logits = torch.randn(shape, generator=generator)
        if support == "simplex":
            return torch.softmax(logits, dim=-1)
        return torch.nn.functional.one_hot(logits.argmax(-1), event[-1]).to(torch.get_default_dtype())
    if support == "count":
        total = _total_count(model, name)
        if total is not None and event:
            flat = torch.multinomial(torch.full((math.prod(shape[:-1]) or 1, event[-1]), 1.0), total,
                                     replacement=True, generator=generator)
            counts = torch.nn.functional.one_hot(flat, event[-1]).sum(-2)
            return counts.reshape(shape).to(torch.get_default_dtype())
        return torch.poisson(2.0 * torch.ones(shape), generator=generator)
    raise ValueError(f"no random values for support {support!r}")


def stand_in_nets(model: ir.Model) -> dict:
    """An MLP for every net declared without a body, as a user would pass one."""
    from gmc.runtime.nets import MLP

    return {name: MLP(tuple(model.vars[v].type.shape for v in net.inputs), (8,),
                      tuple((o, t.shape, t.support) for o, t in net.outputs))
            for name, net in model.nets.items() if net.hidden is None}


def finite_expected(model: ir.Model) -> bool:
    """Whether every loss and log-density of ``model`` must be finite at values in the supports."""
    return not any(f.family in UNCHECKED_FAMILIES for f in model.factors.values())


def _require(condition: bool, message: str, error=SmokeFailure) -> None:
    if not condition:
        raise error(message)


def smoke_run(model: ir.Model, cls: type, seed: int = 0, batch: int = BATCH) -> None:
    """Instantiate ``cls`` and run every loss (forward and backward), every factor's
    log-density and every factor's sampler on random values of the declared shapes.

    Raises whatever the generated code raises, or :class:`SmokeFailure` for a non-finite loss,
    gradient or log-density where :func:`finite_expected`, or a misshaped result."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    values: dict[str, torch.Tensor] = {}

    def value(name):
        if name not in values:
            values[name] = random_value(model, name, generator, batch)
        return values[name]

    finite = finite_expected(model)
    instance = cls(**stand_in_nets(model))
    for name, info in cls.losses.items():
        instance.zero_grad()
        out = instance.loss(name, **{v: value(v) for v in info.inputs})
        _require(out.shape == (), f"loss {name!r} has shape {list(out.shape)}, not a scalar")
        _require(not finite or bool(torch.isfinite(out)), f"loss {name!r} is {out.item()}", NonFinite)
        if out.requires_grad:
            out.backward()
            for p_name, p in instance.named_parameters():
                _require(not finite or p.grad is None or bool(torch.isfinite(p.grad).all()),
                         f"loss {name!r}: gradient of {p_name} is not finite", NonFinite)
    from gmc.compiler.marginals import exact_marginal

    for name, game in getattr(cls, "games", {}).items():  # adversarial games: the draw and each player
        data = {v: value(v) for v in game.inputs}
        fake = getattr(instance, game.draw)(**data)
        for player in game.players:
            instance.zero_grad()
            out = getattr(instance, player.method)(**data, fake=fake)
            _require(out.shape == (), f"game {name!r}, player {player.name}: shape {list(out.shape)}")
            _require(not finite or bool(torch.isfinite(out)), f"game {name!r}: {player.name} is {out.item()}",
                     NonFinite)
            out.backward(retain_graph=True)
    with torch.no_grad():
        for signature, info in cls.factors.items():
            if exact_marginal(model, signature) is not None:
                continue  # a continuous marginal (int_{z}) has no log-density to call, by design
            # a flow without a cheap inverse refuses given values by design (a DataError)
            density = (instance.log_prob(signature, **{v: value(v) for v in info.outputs + info.given})
                       if not uninvertible(model, signature) else torch.zeros(()))
            _require(not finite or bool(torch.isfinite(density).all()), f"log {signature} is not finite: {density}",
                     NonFinite)
            drawn = (instance.sample(signature, n=batch) if not info.given
                     else instance.sample(signature, **{v: value(v) for v in info.given}))
            for out_name in info.outputs:
                _require(out_name in drawn, f"sampling {signature} did not return {out_name}")
                event = model.vars[out_name].type.shape
                shape = tuple(drawn[out_name].shape)
                _require(shape[len(shape) - len(event):] == event,
                         f"sampling {signature}: {out_name} has shape {list(shape)}, event {list(event)}")


def run_program(text: str, seed: int = 0) -> dict:
    """Compile ``text``; if the checker accepts it, import and smoke-run it. Classified as in
    :mod:`.pipeline`, with ``run_failure`` for any exception after acceptance."""
    from .pipeline import compile_case, describe_exception, forget_generated_sources, generated_sources

    known = generated_sources()
    result, model, cls = compile_case(text)
    if result["class"] != "ok":
        return result
    try:
        try:
            smoke_run(model, cls, seed)
        except NonFinite:
            in_float64(smoke_run, model, cls, seed)  # float32's range, or a real NaN?
            return {**result, "note": "non-finite in float32 only"}
    except Exception as error:  # noqa: BLE001  (every failure after acceptance is a finding)
        return {"class": "run_failure", "stage": "run", **describe_exception(error)}
    finally:
        forget_generated_sources(known)
    return result


def in_float64(run, *args):
    """``run(*args)`` with float64 as the default dtype (restored after)."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        return run(*args)
    finally:
        torch.set_default_dtype(previous)


def run_generated(seed: int, index: int) -> dict:
    """Generate program ``index`` of ``seed`` and run it (:func:`run_program`); the result
    carries the text."""
    from .programs import program_case

    program = program_case(seed, index)
    return {**run_program(program.text, seed=index), "text": program.text}
