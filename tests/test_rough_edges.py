"""Issue 18's rough edges: --version, fmt --check over the examples, example scripts' --help,
progress output, data errors citing the file's line, sampling plans and --given hints,
gmc sample's default output path, latex --loss listing the losses."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import gmc
from gmc.cli import main
from gmc.compiler import driver
from gmc.sampling_plan import plan

ROOT = Path(__file__).parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.gm"))
SCRIPTS = sorted((ROOT / "examples").glob("*.py"))


def _ir(name):
    return driver.compile_model(*driver.read_source(ROOT / "examples" / f"{name}.gm"))


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"gmc {gmc.__version__}"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_is_in_canonical_form(path, capsys):
    assert main(["fmt", "--check", str(path)]) == 0, capsys.readouterr().err


def test_fmt_check_names_a_file_that_is_not_canonical(tmp_path, capsys):
    f = tmp_path / "m.gm"
    f.write_text("var x: binary[4]\np(x)   = Bernoulli(probs=0.5)\n")
    assert main(["fmt", "--check", str(f)]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "m.gm: not in canonical form" in captured.err
    assert f.read_text().startswith("var x")  # --check never writes


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_example_scripts_answer_help_without_running(script):
    result = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage:") and "Traceback" not in result.stderr


def test_latex_unknown_loss_lists_the_losses(capsys):
    assert main(["latex", str(ROOT / "examples" / "vae.gm"), "--loss", "nope"]) == 1
    assert "--loss nope: vae.gm has no such loss (its losses: loss, iw)" in capsys.readouterr().err


def test_progress_lines_are_not_written_onto_the_bar(capsys):
    from gmc.runtime.train import fit

    model = gmc.compile_file(ROOT / "examples" / "vae.gm")()
    x = torch.bernoulli(torch.full((16, 64), 0.5))
    fit(model, "loss", {"x": x}, {"x": x[:4]}, epochs=2, batch_size=8, progress=True,
        log=lambda line: print(line, file=sys.stderr))
    err = capsys.readouterr().err
    lines = [piece.rsplit("\r", 1)[-1] for piece in err.split("\n") if "nats per example" in piece]
    assert len(lines) == 2 and all(line.startswith("epoch ") for line in lines), repr(err)


def test_a_data_error_cites_the_line_of_the_csv_file(tmp_path):
    from gmc.runtime.data import load_dataset
    from gmc.runtime.errors import DataError
    from gmc.training import observed_tensors

    x = np.random.default_rng(0).integers(0, 2, size=(40, 64)).astype(float)
    x[29, 4] = 0.5  # data row 30, after a header: line 31
    path = tmp_path / "d.csv"
    path.write_text(",".join(f"c{i}" for i in range(64)) + "\n"
                    + "\n".join(",".join(f"{v:g}" for v in row) for row in x) + "\n")
    with pytest.raises(DataError, match=r"has 0.5 at line 31, column 5$"):
        observed_tensors(_ir("vae"), "loss", load_dataset(str(path)), "--data d.csv")


def test_plans_chain_factors_and_name_what_must_be_given():
    m2 = _ir("m2")
    assert plan(m2, "x").steps == ("p(y)", "p(z)", "p(x|y,z)")
    assert plan(m2, "x", ("y",)).steps == ("p(z)", "p(x|y,z)")
    assert plan(_ir("cvae"), "x").missing == ("y",)
    assert plan(_ir("cvae"), "x", ("y",)).steps == ("p(x,z|y)",)
    assert plan(_ir("vae"), "x").steps == ("p(x,z)",)
    assert plan(_ir("bayes_regression"), "y").missing == ("x",)
    assert plan(_ir("bayes_regression"), "y", ("x",)).steps == ("p(w)", "p(y|x,w)")


def _checkpoint(name, folder: Path) -> Path:
    from gmc.runtime.train import save_checkpoint

    text, filename = driver.read_source(ROOT / "examples" / f"{name}.gm")
    model_ir, cls = driver.compile_class(text, filename)
    torch.manual_seed(0)
    path = folder / "model.pt"
    save_checkpoint(path, cls(), source=text, source_path=filename, class_name=model_ir.name, history=None,
                    extra={"loss": next(iter(model_ir.losses))})
    return path


def test_sample_suggests_given_for_a_conditional_model(tmp_path, capsys):
    ckpt = _checkpoint("cvae", tmp_path)
    assert main(["sample", str(ROOT / "examples" / "cvae.gm"), "--checkpoint", str(ckpt)]) == 1
    assert "drawing 'x' needs 'y', which no factor draws; give a value, e.g. --given y=3" in capsys.readouterr().err


@pytest.mark.parametrize("name, given", [("m2", ["--given", "y=3"]), ("m2", []),
                                         ("bayes_regression", ["--given", "x=0.5"])])
def test_sample_writes_next_to_the_checkpoint_not_into_the_current_folder(name, given, tmp_path, monkeypatch,
                                                                          capsys):
    run, cwd = tmp_path / "run", tmp_path / "cwd"
    run.mkdir()
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    ckpt = _checkpoint(name, run)
    assert main(["sample", str(ROOT / "examples" / f"{name}.gm"), "--checkpoint", str(ckpt), "-n", "4", *given]) == 0
    assert list(cwd.iterdir()) == []
    assert (run / "sampled.png").read_bytes()[:4] == b"\x89PNG"
    assert f"to {run / 'sampled.png'}" in capsys.readouterr().err
