"""Common subexpressions of parameters: a factor's parameter code (``softplus(s)``) used by its
closed-form KL and by its draw in one loss method is computed once (examples/bnn.gm), and the
loss is unchanged (torch.distributions reference, float64)."""
import torch
import torch.nn.functional as F

import gmc
from gmc.compiler.driver import compile_model, python_source

SOURCE = """
var x: real[3]
var y: real
var global w: real[3]
weight w_loc: real[3] = 0.5
weight w_scale: real[3] = -1.0
q(w) = Normal(loc=w_loc, scale=softplus(w_scale))
p(w) = Normal(0, 1)
p(y|x,w) = Normal(loc=x @ w, scale=1)
loss = KL[q(w) || p(w)] - sum(E_{q(w)}[log p(y|x,w)])
"""


def _loss_method(source: str) -> str:
    text = python_source(compile_model(source, "cse.gm", "Cse"))
    return text[text.index("def loss_loss"):]


def test_a_parameter_shared_by_a_kl_and_a_draw_is_computed_once():
    assert _loss_method(SOURCE).count("F.softplus(self.w_scale)") == 1


def test_the_loss_matches_torch_distributions(float64):
    model = gmc.compile_source(SOURCE, "Cse")()
    x, y = torch.randn(5, 3), torch.randn(5)
    torch.manual_seed(3)
    loss = model.loss(x=x, y=y)
    torch.manual_seed(3)
    q = torch.distributions.Normal(model.w_loc.detach(), F.softplus(model.w_scale.detach()))
    kl = torch.distributions.kl_divergence(q, torch.distributions.Normal(0.0, 1.0)).sum()
    w = q.loc + q.scale * torch.randn(3)
    expected = kl - torch.distributions.Normal(x @ w, 1.0).log_prob(y).sum()
    torch.testing.assert_close(loss.detach(), expected, rtol=1e-12, atol=1e-12)


WALK = """
const T = 4
var x[T]: real
var y[T]: real
p(x[0]) = Normal(0, 1)
p(x[t]|x[t-1]) = Normal(softplus(x[t-1]), 1e-6)
p(y[t]|x[t]) = Normal(softplus(x[t]), 1e-6)
p(x,y) = p(x[0]) p(x[t]|x[t-1]) p(y[t]|x[t])
loss = -mean(log p(x,y))
"""


def test_a_step_loop_does_not_reuse_code_computed_before_it(float64):
    """Before the loop softplus(x) is y[0]'s location; in the loop the same code means
    softplus(x[t-1]) as the loop rebinds x, so it is computed again: with scales of 1e-6,
    x[t] = softplus(x[t-1]) and y[t] = softplus(x[t]) to 1e-4 at every step."""
    torch.manual_seed(0)
    draw = gmc.compile_source(WALK, "Walk")().sample("p(x,y)", n=50)
    x, y = draw["x"], draw["y"]
    torch.testing.assert_close(x[:, 1:], F.softplus(x[:, :-1]), rtol=0, atol=1e-4)
    torch.testing.assert_close(y, F.softplus(x), rtol=0, atol=1e-4)

