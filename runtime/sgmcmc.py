"""Stochastic-gradient MCMC as torch optimizers: SGLD, pSGLD and SGHMC.

Each ``step()`` moves the parameters like an optimizer step on the loss U(theta) (the
negative log-posterior, or an unbiased minibatch estimate of it: the prior once plus N/B
times the minibatch log-likelihood), and injects Gaussian noise so that, for a small step
size, the iterates are approximately draws from p(theta | D) proportional to exp(-U). Collect
the parameters after a burn-in to form the posterior sample.

- SGLD (Welling & Teh 2011, eq. 4): theta <- theta - (lr/2) grad U + N(0, lr).
- pSGLD (Li et al. 2016, Algorithm 1): RMSprop's preconditioner
  V <- alpha V + (1 - alpha) g*g, G = 1 / (eps + sqrt(V)),
  theta <- theta - (lr/2) G grad U + N(0, lr G) (the Gamma correction term is dropped, as
  the authors recommend for alpha near 1).
- SGHMC (Chen et al. 2014, eq. 15, in the "lr, momentum decay" parametrization of their
  section 3.3): v <- (1 - friction) v - lr grad U + N(0, 2 friction lr); theta <- theta + v
  (the gradient-noise estimate B-hat is taken as 0).

Units: ``lr`` is the step size in units of theta^2 per unit of U (nats); parameters keep
their shapes. Errors: ValueError for a non-positive lr, friction outside (0, 1], alpha outside
(0, 1) or a negative eps.
"""
from __future__ import annotations

import math

import torch


class SGLD(torch.optim.Optimizer):
    """Stochastic-gradient Langevin dynamics (Welling & Teh 2011)."""

    def __init__(self, params, lr: float = 1e-4):
        if not lr > 0:
            raise ValueError(f"lr must be positive, got {lr}")
        super().__init__(params, {"lr": lr})

    @torch.no_grad()
    def step(self, closure=None):
        loss = None if closure is None else _with_grad(closure)
        for group in self.param_groups:
            lr = group["lr"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                p.add_(p.grad, alpha=-lr / 2).add_(torch.randn_like(p), alpha=math.sqrt(lr))
        return loss


class PSGLD(torch.optim.Optimizer):
    """Preconditioned SGLD with an RMSprop preconditioner (Li et al. 2016)."""

    def __init__(self, params, lr: float = 1e-4, alpha: float = 0.99, eps: float = 1e-5):
        if not lr > 0:
            raise ValueError(f"lr must be positive, got {lr}")
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {alpha}")
        if eps < 0:
            raise ValueError(f"eps must be >= 0, got {eps}")
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps})

    @torch.no_grad()
    def step(self, closure=None):
        loss = None if closure is None else _with_grad(closure)
        for group in self.param_groups:
            lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if "square_avg" not in state:
                    state["square_avg"] = torch.zeros_like(p)  # V_0 = 0, as RMSprop (Li et al. 2016, Alg. 1)
                v = state["square_avg"].mul_(alpha).addcmul_(p.grad, p.grad, value=1 - alpha)
                precondition = 1.0 / (eps + v.sqrt())
                p.addcmul_(precondition, p.grad, value=-lr / 2)
                p.add_(torch.randn_like(p) * (lr * precondition).sqrt())
        return loss


class SGHMC(torch.optim.Optimizer):
    """Stochastic-gradient Hamiltonian Monte Carlo with friction (Chen et al. 2014)."""

    def __init__(self, params, lr: float = 1e-4, friction: float = 0.1):
        if not lr > 0:
            raise ValueError(f"lr must be positive, got {lr}")
        if not 0 < friction <= 1:
            raise ValueError(f"friction must be in (0, 1], got {friction}")
        super().__init__(params, {"lr": lr, "friction": friction})

    @torch.no_grad()
    def step(self, closure=None):
        loss = None if closure is None else _with_grad(closure)
        for group in self.param_groups:
            lr, friction = group["lr"], group["friction"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                v = state.setdefault("velocity", torch.zeros_like(p))
                v.mul_(1 - friction).add_(p.grad, alpha=-lr).add_(torch.randn_like(p),
                                                                  alpha=math.sqrt(2 * friction * lr))
                p.add_(v)
        return loss


def _with_grad(closure):
    with torch.enable_grad():
        return closure()


__all__ = ["PSGLD", "SGHMC", "SGLD"]
