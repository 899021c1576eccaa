"""Every command of docs/cli.md runs on every example without a traceback: exit 0, or exit 1
with one clear message (a conditional model's sample asks for --given, which is then given;
a model without an encoder/decoder pair says so for visualize)."""
import re
from pathlib import Path

import pytest

from gmc.cli import main

ROOT = Path(__file__).parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.gm"))
DATA = {"gmm": "iris", "bayes_regression": "diabetes", "conjugate_regression": "diabetes", "bnn": "diabetes",
        "eight_schools": "examples/eight_schools.npz", "eight_schools_centered": "examples/eight_schools.npz"}

#: examples fitted by their script on data the CLI's --data does not load: hmm_nile.gm is one
#: 100-year sequence (statsmodels' Nile), which no train/test split of examples can take
SCRIPT_ONLY = {"hmm_nile": "examples/hmm_nile.py"}

#: the commands this test runs, each with the arguments after FILE
STATIC = {"check": [[]], "fmt": [[], ["--check"]], "info": [[], ["--json"]], "latex": [[], ["--derived"]],
          "explain": [[]], "compile": [[]], "graph": [["-o", "{tmp}/graph.svg"]]}
TRAINED = ("train", "sample", "visualize", "evaluate", "mcmc")


def test_this_test_covers_every_command_of_the_cli_page():
    table = (ROOT / "docs" / "cli.md").read_text().split("| command | prints | exit |")[1].split("\n\n")[0]
    documented = set(re.findall(r"^\| `gmc (\w[\w-]*)", table, flags=re.M))
    assert documented and documented <= set(STATIC) | set(TRAINED)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_static_commands(path, tmp_path, capsys):
    for command, variants in STATIC.items():
        for extra in variants:
            args = [command, str(path), *(a.format(tmp=tmp_path) for a in extra)]
            assert main(args) == 0, (args, capsys.readouterr().err)


@pytest.mark.slow
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_train_sample_visualize(path, tmp_path, capsys):
    if path.stem in SCRIPT_ONLY:
        pytest.skip(f"trained by {SCRIPT_ONLY[path.stem]} (tests/test_{path.stem}.py checks it)")
    out = tmp_path / "run"
    code = main(["train", str(path), "--data", str(ROOT / DATA.get(path.stem, "digits")) if "/" in DATA.get(path.stem, "")
                 else DATA.get(path.stem, "digits"), "--epochs", "1", "--batch-size", "512", "--quiet", "--out", str(out)])
    err = capsys.readouterr().err
    if code == 1 and "defines no loss" in err:  # an MCMC model: nothing to train, sample or visualize
        return
    assert code == 0, err
    assert (out / "metrics.png").read_bytes()[:4] == b"\x89PNG"
    if path.stem in ("vae", "beta_vae", "hvae"):
        assert (out / "reconstructions.png").read_bytes()[:4] == b"\x89PNG"
        assert (out / "walk.png").read_bytes()[:4] == b"\x89PNG"
    ckpt = str(out / "model.pt")
    capsys.readouterr()
    sample = ["sample", str(path), "--checkpoint", ckpt, "-n", "4"]
    if main(sample) != 0:
        err = capsys.readouterr().err
        given = re.findall(r"--given (\w+=[\w.]+)", err)
        assert given, err  # the only refusal allowed: a value that must be given, with a hint
        sample += [a for g in given for a in ("--given", g)]
        assert main(sample) == 0, capsys.readouterr().err
    assert (out / "sampled.png").is_file()
    code = main(["visualize", str(path), "--checkpoint", ckpt, "--draws", "2", "--rows", "2", "--steps", "3"])
    err = capsys.readouterr().err
    assert code == 0 or (code == 1 and "latent pictures need an encoder" in err), err

    code = main(["evaluate", str(path), "--checkpoint", ckpt, "--method", "iwae", "-k", "4", "--limit", "4"])
    err = capsys.readouterr().err
    assert code == 0 or (code == 1 and "error" in err and "Traceback" not in err), err


@pytest.mark.slow
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_mcmc(path, tmp_path, capsys):
    data = DATA.get(path.stem, "digits")
    data = str(ROOT / data) if "/" in data else data
    code = main(["mcmc", str(path), "--data", data, "--chains", "1", "--draws", "10", "--warmup", "10", "--max-tree-depth", "4",
                 "--out", str(tmp_path / "mcmc")])
    err = capsys.readouterr().err
    # the only refusals allowed: a located error for a latent MCMC cannot sample, or data that does not fit
    assert code == 0 or (code == 1 and err.strip() and "Traceback" not in err), err
    if path.stem.startswith("eight_schools"):
        assert code == 0 and (tmp_path / "mcmc" / "posterior.nc").is_file(), err
