"""A Markov chain of N scalar Normal factors, as .gm source, Pixyz distributions and hand-written torch.

    x0 ~ Normal(0, 1),   x_i | x_{i-1} ~ Normal(x_{i-1}, 1)   for i = 1 .. N-1

with the joint p(x0, ..., x_{N-1}) = p(x_{N-1}|x_{N-2}) ... p(x1|x0) p(x0). Every variable is
``real`` (event shape []), so a log-density is a sum of N scalar Gaussian terms per example.
"""
from __future__ import annotations

import math

LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def chain_gm(n: int) -> str:
    """The .gm source of the N-factor chain (model ``Chain``, joint factor ``p(x0,...)``)."""
    lines = ["model Chain"]
    lines += [f"var x{i}: real" for i in range(n)]
    lines.append("p(x0) = Normal(0, 1)")
    lines += [f"p(x{i}|x{i - 1}) = Normal(x{i - 1}, 1)" for i in range(1, n)]
    joint = ",".join(f"x{i}" for i in range(n))
    factors = " ".join([f"p(x{i}|x{i - 1})" for i in range(n - 1, 0, -1)] + ["p(x0)"])
    lines.append(f"p({joint}) = {factors}")
    lines.append(f"loss = -mean(log p({joint}))")
    return "\n".join(lines) + "\n"


def joint_signature(n: int) -> str:
    return "p(" + ",".join(f"x{i}" for i in range(n)) + ")"


def straight_line_source(n: int) -> str:
    """Hand-written torch, one statement per factor, as one writes it without loops."""
    body = ["def log_joint(x):", "    # x: [batch, N]", f"    c = {LOG_SQRT_2PI!r}",
            "    lp = -0.5 * x[:, 0] ** 2 - c"]
    body += [f"    lp = lp - 0.5 * (x[:, {i}] - x[:, {i - 1}]) ** 2 - c" for i in range(1, n)]
    body.append("    return lp")
    return "\n".join(body) + "\n"


def straight_line(n: int):
    """``log_joint(x)`` for x [batch, N] -> [batch], hand-written straight-line torch."""
    import torch
    scope = {"torch": torch}
    exec(compile(straight_line_source(n), f"<chain {n}>", "exec"), scope)
    return scope["log_joint"]


def vectorized_log_joint(x):
    """x [batch, N] -> [batch]: the chain's log-density in three tensor ops."""
    import torch
    diffs = torch.cat([x[:, :1], x[:, 1:] - x[:, :-1]], dim=1)
    return (-0.5 * diffs ** 2).sum(-1) - x.shape[1] * LOG_SQRT_2PI


def vectorized_sample(n_samples: int, n: int):
    """Ancestral sampling of the chain vectorized: a cumulative sum of standard normals."""
    import torch
    return torch.randn(n_samples, n).cumsum(dim=1)


def pixyz_chain(n: int):
    """The chain as a Pixyz product of N Normal distributions (the Pixyz 0.3.3 tutorial style)."""
    import torch
    from pixyz.distributions import Normal

    one = torch.tensor(1.0)
    dists = [Normal(loc=torch.tensor(0.0), scale=one, var=["x0"], name="p0")]
    for i in range(1, n):
        dists.append(Normal(loc=f"x{i - 1}", scale=one, var=[f"x{i}"], cond_var=[f"x{i - 1}"], name=f"p{i}"))
    joint = dists[0]
    for d in dists[1:]:
        joint = joint * d
    return joint
