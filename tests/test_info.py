"""``gmc info``: declarations and how each loss term is computed; stable JSON."""
import json

import pytest

from golden_io import GOLDEN, ROOT, assert_golden
from gmc.cli import main
from gmc.compiler import driver
from gmc.compiler.info import closed_form, info_json, model_info

VAE = ROOT / "examples" / "vae.gm"
PROGRAMS = sorted((GOLDEN / "good").glob("*.gm")) + [VAE]


def _info(text, filename="m.gm"):
    return model_info(*driver.check_source(text, filename))


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: p.stem)
def test_info_json_golden(path, capsys, monkeypatch, update_golden):
    monkeypatch.chdir(path.parent)
    assert main(["info", path.name, "--json"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out)  # valid JSON
    assert_golden(out, GOLDEN / "info" / f"{path.stem}.json", update_golden)


def test_vae_info_content():
    info = _info(VAE.read_text(), "vae.gm")
    assert info["variables"] == {"x": {"support": "binary", "shape": [64]}, "z": {"support": "real", "shape": [8]}}
    assert info["nets"]["enc"]["outputs"][1] == {"name": "scale", "support": "positive", "shape": [8]}
    assert info["nets"]["dec"]["body"] == "MLP(256, 256)"
    assert info["factors"]["q(z|x)"]["reparameterized"] is True
    assert info["factors"]["p(x|z)"]["reparameterized"] is False
    assert info["factors"]["p(x,z)"]["product"] == ["p(x|z)", "p(z)"]
    loss = info["losses"]["loss"]
    assert loss["data"] == ["x"]
    assert {t["term"]: t["method"] for t in loss["terms"]} == {
        "KL[q(z|x) || p(z)]": "closed-form", "E_{q(z|x)}[...]": "monte-carlo", "log p(x|z)": "exact"}
    assert info["losses"]["iw"]["terms"] == [
        {"term": "iwae(p(x,z), q(z|x), k=50)", "kind": "iwae", "method": "monte-carlo", "samples": 50}]


def test_closed_form_kl_cross_entropy_and_entropy():
    text = ("var x: binary[3]\nvar z: real[2]\nq(z|x) = Normal(0, 1)\np(z) = Normal(0, 2)\n"
            "r(z) = Normal(1, 1)\nloss = mean(KL[q(z|x) || p(z)] + CE[q(z|x) || r(z)] + H[q(z|x)])\n")
    methods = {t["term"]: t["method"] for t in _info(text)["losses"]["loss"]["terms"]}
    assert methods == {"KL[q(z|x) || p(z)]": "closed-form", "CE[q(z|x) || r(z)]": "closed-form",
                       "H[q(z|x)]": "closed-form"}


def test_a_pair_without_closed_form_is_monte_carlo():
    text = ("var x: real[3]\nvar z: real[2]\nq(z|x) = Normal(0, 1)\np(z) = StudentT(3.0, 0, 1)\n"
            "loss = mean(KL[q(z|x) || p(z)])\n")
    methods = {t["term"]: t["method"] for t in _info(text)["losses"]["loss"]["terms"]}
    assert methods == {"KL[q(z|x) || p(z)]": "monte-carlo"}


def test_kl_against_a_product_is_monte_carlo():
    text = ("var x: real\nvar z: real\nq(x,z) = q(x) q(z)\nq(x) = Normal(0, 1)\nq(z) = Normal(0, 1)\n"
            "p(x,z) = p(x) p(z)\np(x) = Normal(0, 2)\np(z) = Normal(0, 2)\nloss = mean(KL[q(x,z) || p(x,z)])\n")
    model, _ = driver.check_source(text, "m.gm")
    kl = model.losses["loss"].expr.args[0]
    assert closed_form(model, kl) is False


def test_elbo_shows_its_decomposition():
    info = _info((GOLDEN / "good" / "elbo.gm").read_text(), "elbo.gm")
    loss = info["losses"]["loss"]
    assert loss["expression"] == "-mean(elbo(p(x,z), q(z|x)))"
    assert loss["computed_as"] == "-mean(E_{q(z|x)}[log p(x|z)] - KL[q(z|x) || p(z)])"


def test_json_is_stable_and_sorted():
    info = _info(VAE.read_text(), "vae.gm")
    text = info_json(info)
    assert text == json.dumps(json.loads(text), sort_keys=True, indent=2)
    assert text == info_json(_info(VAE.read_text(), "vae.gm"))


def test_info_lists_warnings(tmp_path, capsys):
    f = tmp_path / "w.gm"
    f.write_text("param unused = 2.0\nvar x: binary[2]\np(x) = Bernoulli(probs=0.5)\nloss = mean(-log p(x))\n")
    assert main(["info", str(f)]) == 0
    out = capsys.readouterr().out
    assert "warnings:\n  The param 'unused' is never used." in out
    assert "p(x) = Bernoulli(probs=0.5)  [not reparameterized]" in out
    assert "log p(x): exact" in out


def test_info_on_bad_file_is_a_located_error(tmp_path, capsys):
    f = tmp_path / "bad.gm"
    f.write_text("var x: binary[2]\np(x) = Bernoulli(prob=0.5)\nloss = mean(-log p(x))\n")
    assert main(["info", str(f), "--json"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Semantic error in 'bad.gm', line 2" in captured.err and "Traceback" not in captured.err


def test_check_prints_warnings_and_exits_0(tmp_path, capsys):
    f = tmp_path / "w.gm"
    f.write_text("const K = 3\nvar x: binary[2]\np(x) = Bernoulli(probs=0.5)\nloss = mean(-log p(x))\n")
    assert main(["check", str(f)]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip().endswith("(1 variables, 1 factors, 1 losses, 1 warning)")
    assert captured.err.startswith("Warning in 'w.gm', line 1, column 1 to column 11:")
    assert "The const 'K' is never used." in captured.err


def test_compile_prints_warnings_on_stderr_only(tmp_path, capsys):
    f = tmp_path / "w.gm"
    f.write_text("const K = 3\nvar x: binary[2]\np(x) = Bernoulli(probs=0.5)\nloss = mean(-log p(x))\n")
    assert main(["compile", str(f)]) == 0
    captured = capsys.readouterr()
    assert "class W" in captured.out and "Warning" not in captured.out
    assert "The const 'K' is never used." in captured.err


@pytest.mark.parametrize("example, summary", [
    ("gan", "ok (2 variables, 3 factors, 1 game)"),  # a game-only file: no '0 losses'
    ("vaegan", "ok (2 variables, 4 factors, 1 losses, 1 game)"),
    ("vae", "ok (2 variables, 4 factors, 2 losses)"),
])
def test_check_summary_counts_games(example, summary, capsys):
    path = ROOT / "examples" / f"{example}.gm"
    assert main(["check", str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: {summary}\n"
