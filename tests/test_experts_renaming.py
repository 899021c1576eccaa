"""Products of Normal experts (``propto``), renamed factors (``[x -> w]``), against float64
references: the PoE mean and scale computed directly (Wu & Goodman 2018: precisions add,
the mean is precision-weighted), torch.distributions.Normal for densities and KLs."""
import pytest
import torch
import torch.distributions as D

import gmc
from gmc.compiler import driver
from gmc.dsl.parser import parse
from gmc.dsl.printer import format_source

POE = """
var z: real[3]
var m1: real[3]
var s1: positive[3]
var m2: real[3]
var s2: positive[3]
p(z) = Normal(0.5, 2.0)
e(z|m1,s1) = Normal(m1, s1)
f(z|m2,s2) = Normal(loc=m2, scale=s2)
q(z|m1,s1,m2,s2) propto p(z) e(z|m1,s1) f(z|m2,s2)
r(z|m1,s1,m2,s2) \u221d e(z|m1,s1) * f(z|m2,s2)
loss kl = sum(KL[q(z|m1,s1,m2,s2) || p(z)])
loss two = sum(log r(z|m1,s1,m2,s2))
"""


pytestmark = pytest.mark.usefixtures("float64")  # tests/conftest.py


def _experts(n, seed):
    g = torch.Generator().manual_seed(seed)
    m1, m2 = torch.randn(n, 3, generator=g) * 3, torch.randn(n, 3, generator=g) * 3
    s1, s2 = torch.rand(n, 3, generator=g) * 2 + 0.05, torch.rand(n, 3, generator=g) * 2 + 0.05
    return m1, s1, m2, s2


def _poe(locs, scales):
    """Direct float64 product of Normals: 1/s^2 = sum 1/s_i^2, m = s^2 sum m_i/s_i^2."""
    precision = sum(1 / s ** 2 for s in scales)
    return sum(m / s ** 2 for m, s in zip(locs, scales)) / precision, precision ** -0.5


def test_product_of_experts_density_and_kl_match_direct_computation():
    model = gmc.compile_source(POE, name="Poe")()
    m1, s1, m2, s2 = _experts(500, 0)
    prior_m, prior_s = torch.full_like(m1, 0.5), torch.full_like(s1, 2.0)
    m, s = _poe([prior_m, m1, m2], [prior_s, s1, s2])
    z = m + s * torch.randn(500, 3, generator=torch.Generator().manual_seed(1)) * 2
    got = model.log_prob("q(z|m1,s1,m2,s2)", z=z, m1=m1, s1=s1, m2=m2, s2=s2)
    torch.testing.assert_close(got, D.Normal(m, s).log_prob(z).sum(-1), rtol=1e-10, atol=1e-9)
    kl = model.loss("kl", m1=m1, s1=s1, m2=m2, s2=s2)
    torch.testing.assert_close(kl, D.kl_divergence(D.Normal(m, s), D.Normal(prior_m, prior_s)).sum(),
                               rtol=1e-10, atol=1e-8)
    mr, sr = _poe([m1, m2], [s1, s2])
    torch.testing.assert_close(model.log_prob("r(z|m1,s1,m2,s2)", z=z, m1=m1, s1=s1, m2=m2, s2=s2),
                               D.Normal(mr, sr).log_prob(z).sum(-1), rtol=1e-10, atol=1e-9)


def test_product_of_experts_samples_have_the_poe_moments():
    model = gmc.compile_source(POE, name="Poe")()
    m1, s1, m2, s2 = (t[:1].expand(20000, 3) for t in _experts(1, 2))
    torch.manual_seed(0)
    z = model.sample("q(z|m1,s1,m2,s2)", m1=m1, s1=s1, m2=m2, s2=s2)["z"]
    m, s = _poe([torch.tensor(0.5), m1[0], m2[0]], [torch.tensor(2.0), s1[0], s2[0]])
    # 5 standard errors of the sample mean and of the sample standard deviation (s / sqrt(2n)).
    assert ((z.mean(0) - m).abs() < 5 * s / 20000 ** 0.5).all()
    assert ((z.std(0) - s).abs() < 5 * s / (2 * 20000) ** 0.5).all()


RENAMED = """
var x: real[4]
var w: real[4]
var v: real[2]
var z: real[2]
net enc(x) -> (loc: real[2], scale: positive[2]) = MLP(8)
q(z|x) = Normal(loc=enc(x).loc, scale=enc(x).scale)
q(z|w) = q(z|x)[x -> w]
p(v|w) = q(z|w)[z -> v]
loss = mean(log q(z|w) + log p(v|w))
"""


def test_renamed_factor_is_the_source_with_variables_substituted():
    model = gmc.compile_source(RENAMED, name="Renamed")()
    g = torch.Generator().manual_seed(3)
    x, z = torch.randn(50, 4, generator=g), torch.randn(50, 2, generator=g)
    source = model.log_prob("q(z|x)", z=z, x=x)
    torch.testing.assert_close(model.log_prob("q(z|w)", z=z, w=x), source, rtol=0, atol=0)
    torch.testing.assert_close(model.log_prob("p(v|w)", v=z, w=x), source, rtol=0, atol=0)
    other = model.log_prob("q(z|w)", z=z, w=x + 1)
    assert not torch.allclose(other, source)


def _errors(source):
    with pytest.raises(gmc.GmcError) as e:
        driver.check_source(source, "t.gm")
    return [(d.kind, d.span.line, d.span.column) for d in e.value.diagnostics]


def test_rename_errors_are_located():
    header = RENAMED.split("q(z|w) =")[0]
    assert _errors(header + "q(z|w) = q(z|x)[y -> w]\nloss = mean(log q(z|w))\n") == [("rename_unknown_variable", 8, 17)]
    assert _errors(header + "q(z|w) = q(z|x)[x -> ww]\nloss = mean(log q(z|w))\n")[0][:2] == ("undefined_name", 8)
    # enc takes real[4]; v is real[2]: the net-input shape check points at v in the rename.
    # (once per net call: enc(v).loc and enc(v).scale)
    assert set(_errors(header + "q(z|v) = q(z|x)[x -> v]\nloss = mean(log q(z|v))\n")) == {("shape_mismatch", 8, 22)}
    assert _errors(header + "q(z|v) = q(z|x)[x -> w]\nloss = mean(log q(z|v))\n")[0][0] == "signature_mismatch"


def test_product_of_experts_errors_are_located():
    header = POE.split("q(z|m1")[0]
    src = header + "g(m1|z) = Normal(z, 1.0)\nb(z|m1) = Laplace(m1, s1)\n"
    assert _errors(src + "q(z|m1,s1) propto p(z) b(z|m1)\nloss = sum(log q(z|m1,s1))\n")[-1][0] == "out_of_scope"
    kinds = [k for k, *_ in _errors(src.replace("Laplace(m1, s1)", "Laplace(m1, 1.0)")
                                     + "q(z|m1) propto p(z) b(z|m1) g(m1|z)\nloss = sum(log q(z|m1))\n")]
    assert kinds == ["expert_not_normal", "experts_over_different_variables"]


@pytest.mark.parametrize("scale", ["0", "0.0", "1e-200"])
def test_an_expert_with_a_zero_or_underflowing_constant_scale_is_checked_not_folded(scale):
    # Folding 1/s^2 at lowering time divided by zero (found by tests/fuzz); the expert's own
    # factor is what reports a scale that is not positive.
    src = ("var x: real[2]\nvar z: real[2]\nnet enc(x) -> (loc: real[2], scale: positive[2]) = MLP(4)\n"
           f"p(z) = Normal(0, {scale})\nq(z|x) = Normal(enc(x).loc, enc(x).scale)\n"
           "r(z|x) propto p(z) q(z|x)\nloss = -mean(log r(z|x))\n")
    if scale == "1e-200":
        driver.compile_model(src)  # positive, so accepted; its precision is left to run time
    else:
        assert ("invalid_constant_parameter", 4) in [(k, line) for k, line, _ in _errors(src)]


def test_fmt_prints_both_forms_and_round_trips():
    for source in (POE, RENAMED):
        text = format_source(source, "t.gm")
        assert parse(text, "t.gm") == parse(source, "t.gm")
        assert format_source(text, "t.gm") == text
    assert "q(z|m1,s1,m2,s2) propto p(z) e(z|m1,s1) f(z|m2,s2)" in format_source(POE)
    assert "r(z|m1,s1,m2,s2) propto e(z|m1,s1) f(z|m2,s2)" in format_source(POE)
    assert "q(z|w) = q(z|x)[x -> w]" in format_source(RENAMED)


def test_an_unreferenced_renamed_factor_is_unused():
    source = RENAMED.replace("loss = mean(log q(z|w) + log p(v|w))", "loss = mean(log q(z|w))")
    _, warnings = driver.check_source(source, "t.gm")
    assert [(d.kind, d.span.line) for d in warnings] == [("unused", 9)]
