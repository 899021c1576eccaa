"""gmc mcmc: bijections against autograd, the latent checks (goldens), HalfCauchy against torch,
data errors, and a short end-to-end run of the command line and of gmc.mcmc.

The statistical checks of the posteriors (conjugate regression, eight schools) are in
tests/test_mcmc_posteriors.py.
"""
import math
import re

import numpy as np
import pytest
import scipy.stats
import sympy as sp
import torch

import gmc
from golden_io import GOLDEN, ROOT, assert_golden
from gmc.cli import main
from gmc.compiler import driver
from gmc.compiler.symbolic.bijections import U, X, bijection, log_det_jacobian
from gmc.compiler.symbolic.functions import log1pexp
from gmc.runtime import log_joint
from gmc.runtime.errors import DataError

pytest.importorskip("pyro")
pytest.importorskip("arviz")

MCMC_BAD = sorted((GOLDEN / "mcmc_bad").glob("*.gm"))
MCMC_KINDS = {"mcmc_discrete_latent", "mcmc_latent_without_density", "mcmc_latent_fixed_by_data",
              "mcmc_local_latent", "mcmc_nothing_to_sample", "mcmc_ambiguous_joint"}


# ---- bijections ------------------------------------------------------------------------------

@pytest.mark.parametrize("support", ["real", "positive", "unit"])
def test_log_det_matches_autograd(support):
    """The sympy-derived log|dx/du| equals the log of autograd's derivative of the printed map
    (within |u| <= 12, where autograd's sigmoid'(u) = y (1 - y) is still accurate to 1e-10)."""
    b = bijection(support)
    t = log_joint.element_wise(b.constrain, b.unconstrain, b.log_det, (7,))
    u = torch.linspace(-12, 12, 7, dtype=torch.float64, requires_grad=True)
    x = t.constrain(u)
    (dx,) = torch.autograd.grad(x.sum(), u)
    log_det = t.log_det(u) if t.log_det is not None else torch.zeros((), dtype=torch.float64)
    torch.testing.assert_close(log_det, torch.log(dx.abs()).sum(), rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(t.unconstrain(x.detach()), u.detach(), rtol=1e-6, atol=1e-6)


def test_unit_log_det_is_stable_far_out():
    """log sigmoid'(u) = -|u| - 2 log(1 + e^-|u|): finite where exp(-u) overflows float64."""
    b = bijection("unit")
    t = log_joint.element_wise(b.constrain, b.unconstrain, b.log_det, (2,))
    u = torch.tensor([-800.0, 800.0], dtype=torch.float64)
    assert torch.isfinite(t.log_det(u)) and abs(t.log_det(u).item() + 1600.0) < 1e-9


@pytest.mark.parametrize("support", ["positive", "unit"])
def test_symbolic_inverse_and_derivation(support):
    b = bijection(support)
    forward = {"positive": sp.exp(U), "unit": 1 / (1 + sp.exp(-U))}[support]
    inverse = {"positive": sp.log(X), "unit": sp.log(X) - sp.log(1 - X)}[support]
    assert sp.simplify(forward.subs(U, inverse) - X) == 0
    expanded = log_det_jacobian(support).replace(log1pexp, lambda a: sp.log(1 + sp.exp(a)))
    assert sp.simplify(sp.exp(expanded) - sp.diff(forward, U)) == 0
    assert b.derivation == log_det_jacobian(support)


def test_stick_breaking_log_det_matches_autograd():
    t = log_joint.stick_breaking((4,))
    assert t.unconstrained_shape == (3,)
    u = torch.tensor([0.3, -1.2, 2.0], dtype=torch.float64)
    jac = torch.autograd.functional.jacobian(lambda v: t.constrain(v)[:-1], u)
    torch.testing.assert_close(t.log_det(u), torch.linalg.slogdet(jac)[1], rtol=1e-10, atol=1e-10)


# ---- checks of the latents: located errors, one golden each ---------------------------------

def _golden_data(path):
    """Data named in the program's first line (``# data: y, w``): ones of each variable's shape
    (three examples for a per-example variable)."""
    model = driver.compile_model(path.read_text(), path.name)
    names = re.match(r"# data: (.*)", path.read_text()).group(1).split(", ")
    return {n: torch.ones(model.vars[n].type.shape if model.vars[n].is_global else (3, *model.vars[n].type.shape))
            for n in names}


@pytest.mark.parametrize("path", MCMC_BAD, ids=lambda p: p.stem)
def test_mcmc_bad_program_transcript(path, update_golden):
    with pytest.raises(gmc.GmcError) as caught:
        gmc.mcmc(path, _golden_data(path), chains=1, draws=1, warmup=0)
    assert all(d.span.line > 0 for d in caught.value.diagnostics)
    assert_golden(caught.value.render() + "\n", path.with_suffix(".err"), update_golden)


def test_every_mcmc_kind_has_a_golden():
    produced = set()
    for path in MCMC_BAD:
        try:
            gmc.mcmc(path, _golden_data(path), chains=1, draws=1, warmup=0)
        except gmc.GmcError as e:
            produced |= {d.kind for d in e.diagnostics}
    assert produced == MCMC_KINDS


def test_cli_reports_a_located_error_without_traceback(tmp_path, capsys):
    path = GOLDEN / "mcmc_bad" / "discrete_latent.gm"
    np.savez(tmp_path / "d.npz", y=np.ones(3))
    assert main(["mcmc", str(path), "--data", str(tmp_path / "d.npz"), "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert "Semantic error in 'discrete_latent.gm', line 3" in err and "Traceback" not in err


# ---- data errors -----------------------------------------------------------------------------

CONJUGATE = ROOT / "examples" / "conjugate_regression.gm"


@pytest.mark.parametrize("data, message", [
    ({"x": torch.ones(4, 3), "y": torch.ones(4), "q": torch.ones(4)}, "'q', which is not a variable"),
    ({"x": torch.ones(4, 2), "y": torch.ones(4)}, "its data must have shape [N, 3]"),
    ({"x": torch.ones(4, 3), "y": torch.ones(5)}, "one number of examples"),
    ({"x": torch.ones(4, 3), "y": torch.full((4,), math.nan)}, "NaN or inf"),
    ("nowhere.npz", "data file not found"),
])
def test_data_errors_are_one_line(data, message):
    with pytest.raises(DataError, match=re.escape(message)):
        gmc.mcmc(CONJUGATE, data, chains=1, draws=1, warmup=0)


def test_unknown_factor_is_a_data_error():
    with pytest.raises(DataError, match="no such factor"):
        gmc.mcmc(CONJUGATE, {"x": torch.ones(4, 3), "y": torch.ones(4)}, factor="p(q)", chains=1, draws=1)


# ---- HalfCauchy (the eight-schools prior) ----------------------------------------------------

HALF_CAUCHY = """
var t: positive[4]
p(t) = HalfCauchy(scale=2.5)
"""


def test_half_cauchy_log_density_matches_torch():
    model = gmc.compile_source(HALF_CAUCHY, name="HC")().double()
    t = torch.tensor([[0.01, 1.0, 2.5, 300.0]], dtype=torch.float64)
    expected = torch.distributions.HalfCauchy(torch.tensor(2.5, dtype=torch.float64)).log_prob(t).sum(-1)
    torch.testing.assert_close(model.log_prob("p(t)", t=t), expected, rtol=1e-12, atol=1e-12)


def test_half_cauchy_sampler_matches_scipy():
    torch.manual_seed(0)
    draws = gmc.compile_source(HALF_CAUCHY, name="HC")().double().sample("p(t)", n=2000)["t"].reshape(-1)
    assert (draws >= 0).all()
    assert scipy.stats.kstest(draws.numpy(), scipy.stats.halfcauchy(scale=2.5).cdf).pvalue > 1e-3


# ---- end to end ------------------------------------------------------------------------------

def _regression_data(n=30, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=g, dtype=torch.float64)
    y = x @ torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64) + 0.5 * torch.randn(n, generator=g,
                                                                                     dtype=torch.float64)
    return x, y


def test_cli_writes_posterior_and_prints_a_stansummary_table(tmp_path, capsys):
    x, y = _regression_data()
    np.savez(tmp_path / "d.npz", x=x.numpy(), y=y.numpy())
    code = main(["mcmc", str(CONJUGATE), "--data", str(tmp_path / "d.npz"), "--chains", "2", "--draws", "60",
                 "--warmup", "60", "--out", str(tmp_path / "run")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "Inference for ConjugateRegression: p(y,w|x) by NUTS, 2 chains x 60 draws" in out
    for column in ("Mean", "MCSE", "StdDev", "5%", "50%", "95%", "ESS_bulk", "ESS_tail", "R_hat"):
        assert column in out
    assert re.search(r"^w\[2\] ", out, re.M) and "Divergences: " in out
    az = pytest.importorskip("arviz")
    idata = az.from_netcdf(tmp_path / "run" / "posterior.nc")
    assert idata.posterior["w"].shape == (2, 60, 3) and idata.sample_stats["diverging"].shape == (2, 60)


def test_same_seed_same_draws_and_static_hmc_runs():
    x, y = _regression_data()
    first = gmc.mcmc(CONJUGATE, {"x": x, "y": y}, chains=1, draws=20, warmup=20, seed=3)
    second = gmc.mcmc(CONJUGATE, {"x": x, "y": y}, chains=1, draws=20, warmup=20, seed=3)
    np.testing.assert_array_equal(first.posterior["w"].values, second.posterior["w"].values)
    hmc = gmc.mcmc(CONJUGATE, {"x": x, "y": y}, chains=1, draws=20, warmup=20, kernel="hmc", num_steps=5)
    assert np.isfinite(hmc.posterior["w"].values).all()


def test_constrained_latents_stay_on_their_support():
    source = """
var y: real
var global s: positive
var global r: unit
p(s) = Gamma(2, 1)
p(r) = Beta(2, 2)
p(y|s,r) = Normal(loc=r, scale=s)
p(y,s,r) = p(y|s,r) p(s) p(r)
"""
    idata = gmc.mcmc(source=source, data={"y": torch.tensor([0.3, -0.2, 1.1])}, chains=1, draws=30, warmup=30)
    assert (idata.posterior["s"].values > 0).all()
    r = idata.posterior["r"].values
    assert ((r > 0) & (r < 1)).all()
