"""Exact inference in discrete Markov chains (hidden Markov models): what generated code for a
chain ``p(x) = sum_{z} p(z[0]) p(z[t]|z[t-1]) p(x[t]|z[t])`` calls (gmc.compiler.sequences).

All quantities are in log space (nats) and every sum over states is a ``logsumexp``, so long
sequences neither underflow nor overflow. Shapes: ``log_init`` [*b, K] (log p(z[0] = k)),
``log_trans`` [*b, K, K] (entry [i, j] = log p(z[t] = j | z[t-1] = i)), ``log_emit``
[*b, T, K] (log p(x[t] | z[t] = k), summed over the emissions); ``*b`` broadcasts.
Formulas: Rabiner (1989), "A tutorial on hidden Markov models", eqs. 19-21 (forward), 24-25
(backward) and 27 (posterior marginals), written with logsumexp instead of scaling.
"""
from __future__ import annotations

import torch

__all__ = ["chain_log_likelihood", "chain_forward", "chain_posterior_marginals", "sample_chain", "time_steps"]


def time_steps(start: int, stop: int) -> range:
    """The steps ``start .. stop - 1`` a generated sampling loop runs over (``range`` itself: the
    generated module calls it through ``rt`` so that no user name can shadow it)."""
    return range(start, stop)


def chain_forward(log_init: torch.Tensor, log_trans: torch.Tensor, log_emit: torch.Tensor) -> torch.Tensor:
    """The forward variables log alpha_t(k) = log p(x[0..t], z[t] = k): [*b, T, K].

    One loop over time, O(T K^2) work, each step a ``logsumexp`` over the previous state."""
    steps = log_emit.shape[-2]
    alpha = log_init + log_emit[..., 0, :]
    out = [alpha]
    for t in range(1, steps):
        alpha = torch.logsumexp(alpha.unsqueeze(-1) + log_trans, dim=-2) + log_emit[..., t, :]
        out.append(alpha)
    return torch.stack(out, dim=-2)


def chain_log_likelihood(log_init: torch.Tensor, log_trans: torch.Tensor, log_emit: torch.Tensor) -> torch.Tensor:
    """log p(x[0..T-1]) = logsumexp_k log alpha_{T-1}(k): [*b], nats."""
    steps = log_emit.shape[-2]
    alpha = log_init + log_emit[..., 0, :]
    for t in range(1, steps):
        alpha = torch.logsumexp(alpha.unsqueeze(-1) + log_trans, dim=-2) + log_emit[..., t, :]
    return torch.logsumexp(alpha, dim=-1)


def chain_posterior_marginals(log_init: torch.Tensor, log_trans: torch.Tensor,
                              log_emit: torch.Tensor) -> torch.Tensor:
    """p(z[t] = k | x[0..T-1]) by forward-backward: [*b, T, K], each row summing to 1."""
    log_alpha = chain_forward(log_init, log_trans, log_emit)
    steps = log_emit.shape[-2]
    beta = torch.zeros_like(log_alpha[..., -1, :])
    betas = [beta]
    for t in range(steps - 1, 0, -1):
        # log beta_{t-1}(i) = logsumexp_j log a_ij + log b_j(x_t) + log beta_t(j)
        beta = torch.logsumexp(log_trans + (log_emit[..., t, :] + beta).unsqueeze(-2), dim=-1)
        betas.append(beta)
    log_beta = torch.stack(betas[::-1], dim=-2)
    joint = log_alpha + log_beta
    return torch.softmax(joint, dim=-1)


def sample_chain(log_init: torch.Tensor, log_trans: torch.Tensor, batch: tuple[int, ...], steps: int) -> torch.Tensor:
    """Ancestral draws of the latent chain, one-hot: [*batch, steps, K]."""
    k = log_init.shape[-1]
    state = torch.distributions.Categorical(logits=log_init.expand(*batch, k)).sample()
    states = [state]
    for _ in range(1, steps):
        state = torch.distributions.Categorical(logits=log_trans[state]).sample()
        states.append(state)
    return torch.nn.functional.one_hot(torch.stack(states, dim=-1), k).to(log_init.dtype)
