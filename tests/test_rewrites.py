"""The simplification pass: ELBO decomposition over hierarchies (and where it must not apply),
stable rewrites, and that rewritten losses keep their value."""
from __future__ import annotations

import math
import pathlib

import pytest
import torch

import gmc
from gmc.compiler import ir
from gmc.compiler.driver import compile_model
from gmc.compiler.latex import expr as latex_expr
from gmc.compiler.simplify import simplify_with_trace

_HEAD = """
var x: real[3]
var z1: real[2]
var z2: real[2]
weight A: real[2, 3] = 0.3
weight B: real[2, 2] = 0.5
p(z2) = Normal(0, 1)
p(z1|z2) = Normal(z2 @ B, 0.8)
p(x|z1) = Normal(z1 @ A, 0.5)
p(x,z1,z2) = p(x|z1) p(z1|z2) p(z2)
weight C: real[3, 2] = 0.2
weight E: real[2, 2] = 0.1
"""

TOP_DOWN = _HEAD + """
q(z2|x) = Normal(x @ C, 0.9)
q(z1|z2,x) = Normal(z2 @ E + x @ C, 0.7)
q(z1,z2|x) = q(z2|x) q(z1|z2,x)
loss elbo = -mean(elbo(p(x,z1,z2), q(z1,z2|x)))
loss mc = -mean(E_{q(z1,z2|x)}[log p(x,z1,z2) - log q(z1,z2|x)])
"""

BOTTOM_UP = _HEAD + """
q(z1|x) = Normal(x @ C, 0.9)
q(z2|z1) = Normal(z1 @ E, 0.7)
q(z1,z2|x) = q(z1|x) q(z2|z1)
loss elbo = -mean(elbo(p(x,z1,z2), q(z1,z2|x)))
loss mc = -mean(E_{q(z1,z2|x)}[log p(x,z1,z2) - log q(z1,z2|x)])
"""


def _simplified(source: str, loss: str = "elbo"):
    model, trace = simplify_with_trace(compile_model(source))
    return model, model.losses[loss].expr, trace


def _kls(e: ir.Expr) -> list[tuple[str, str, bool]]:
    """(first, second, inside an expectation) for every KL node."""
    out = []

    def visit(node, inside):
        if isinstance(node, ir.KL):
            out.append((node.first, node.second, inside))
        for child in ir.children(node):
            visit(child, inside or isinstance(node, ir.Expect))
    visit(e, False)
    return out


def test_top_down_hierarchy_gives_one_kl_per_latent():
    model, e, trace = _simplified(TOP_DOWN)
    assert sorted(_kls(e)) == [("q(z1|z2,x)", "p(z1|z2)", True), ("q(z2|x)", "p(z2)", False)]
    assert [f.rule for f in trace] == ["elbo-decomposition"]


def test_rule_refuses_a_prior_that_depends_on_a_later_latent():
    # q draws z1 first, then z2 | z1; p(z1|z2) depends on z2, drawn after z1 inside the same
    # expectation, so KL[q(z1|x) || p(z1|z2)] is not a closed form: that term stays Monte Carlo.
    model, e, trace = _simplified(BOTTOM_UP)
    assert _kls(e) == [("q(z2|z1)", "p(z2)", True)]
    log_probs = {n.factor for n in ir.walk(e) if isinstance(n, ir.LogProb)}
    assert {"p(z1|z2)", "q(z1|x)", "p(x|z1)"} <= log_probs


@pytest.mark.parametrize("source", [TOP_DOWN, BOTTOM_UP], ids=["top_down", "bottom_up"])
def test_decomposed_elbo_has_the_same_expected_value(source):
    torch.manual_seed(0)
    model = gmc.compile_source(source, name="H")().double()
    x = torch.randn(1, 3, dtype=torch.float64).expand(40000, 3)
    with torch.no_grad():
        per_example = {}
        for name in ("elbo", "mc"):
            per_example[name] = model.loss(name, x=x).item()
        draws = model.sample("q(z1,z2|x)", x=x)
        ratio = model.log_prob("p(x,z1,z2)", x=x, **draws) - model.log_prob("q(z1,z2|x)", x=x, **draws)
    se = ratio.std().item() / math.sqrt(len(ratio))
    assert abs(per_example["elbo"] - per_example["mc"]) < 5 * se * math.sqrt(2)


STABLE = """
var x: binary[4]
var z: real[2]
net dec(z) -> real[4] = MLP(8)
weight w: positive[4] = 0.5
p(z) = Normal(0, 1)
p(x|z) = Bernoulli(probs=sigmoid(dec(z)))
loss a = mean(log p(x|z))
loss b = sum(log(sigmoid(w * 0 - 800)))
loss c = sum(log(1 + w * 1e-12))
loss d = sum(w * log(w))
loss e = log(sum(exp(w * 0 + 800)))
"""


def test_stable_rewrites_fire_and_stay_finite():
    model, _, trace = _simplified(STABLE, "a")
    assert [f.rule for f in trace] == ["probs-to-logits", "log-sigmoid", "log1p", "xlogx", "logsumexp"]
    assert dict(model.factors["p(x|z)"].params).keys() == {"logits"}
    m = gmc.compile_source(STABLE, name="S")().double()
    assert m.loss("b").item() == pytest.approx(-800 * 4, rel=1e-12)
    assert m.loss("c").item() == pytest.approx(4 * 0.5e-12, rel=1e-9)
    assert m.loss("d").item() == pytest.approx(4 * 0.5 * math.log(0.5), rel=1e-12)
    assert m.loss("e").item() == pytest.approx(800 + math.log(4), rel=1e-12)


def test_rewritten_functions_have_latex():
    model, _, _ = _simplified(STABLE, "a")
    texts = [latex_expr(model, model.losses[n].expr) for n in "bcde"]
    assert r"\log\left(1 + " in texts[1] and r"\log\sum\exp" in texts[3]


def test_vae_step_calls_the_encoder_once_and_samples_once():
    source = gmc.to_python(pathlib.Path(__file__).parents[1] / "examples" / "vae.gm")
    step = source.split("def loss_loss")[1].split("\n    def ")[0]
    assert step.count("self.enc(") == 1 and step.count("self.dec(") == 1
    assert step.count("torch.randn") == 1
