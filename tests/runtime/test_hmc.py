"""The shared HMC transition (gmc.runtime.hmc, Neal 2011 section 5.2): it leaves its target
invariant, moves every block of a multi-block state, and carries the auxiliary value of the
accepted point."""
import torch

from gmc.runtime.hmc import hmc_transition


def _correlated_gaussian(state):
    """log N((a, c); 0, Sigma) up to a constant, Sigma^-1 = [[2, 1], [1, 2]] per row; aux = a + c."""
    a, c = state["a"], state["c"]
    return -(a ** 2 + a * c + c ** 2), a + c


def test_transitions_leave_a_correlated_gaussian_invariant():
    """Start 4000 chains at exact draws of the target (Sigma = [[2, -1], [-1, 2]] / 3) and apply 20
    transitions: the variances (2/3) and the covariance (-1/3) stay within 5 standard errors
    (the sample variance's sd is sqrt(2/n) sigma^2, the covariance's below 0.02 here)."""
    torch.manual_seed(0)
    n = 4000
    sigma = torch.tensor([[2.0, -1.0], [-1.0, 2.0]], dtype=torch.float64) / 3
    draws = torch.distributions.MultivariateNormal(torch.zeros(2, dtype=torch.float64), sigma).sample((n,))
    state = {"a": draws[:, 0].clone(), "c": draws[:, 1].clone()}
    step = torch.full((n,), 0.4, dtype=torch.float64)
    accepted = 0.0
    for _ in range(20):
        move = hmc_transition(_correlated_gaussian, state, step, leapfrog=5)
        assert torch.equal(move.aux, move.state["a"] + move.state["c"])
        state = move.state
        accepted += float(move.accept.double().mean())
    cov = torch.cov(torch.stack([state["a"], state["c"]]))
    assert abs(float(cov[0, 0]) - 2 / 3) < 5 * (2 / n) ** 0.5 * 2 / 3
    assert abs(float(cov[1, 1]) - 2 / 3) < 5 * (2 / n) ** 0.5 * 2 / 3
    assert abs(float(cov[0, 1]) + 1 / 3) < 5 * 0.02
    assert 0.5 < accepted / 20 < 1.0


def test_a_nan_density_is_always_rejected():
    """A proposal whose density is nan is never accepted: the state does not move."""
    torch.manual_seed(0)
    state = {"z": torch.zeros(50, 3)}
    move = hmc_transition(lambda s: (s["z"] * float("nan")).sum(-1), state, torch.full((50,), 0.1), leapfrog=3)
    assert not move.accept.any()
    assert torch.equal(move.state["z"], state["z"])
    assert move.aux is None
