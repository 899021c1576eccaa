"""gmc visualize: encoder/decoder discovery, mean estimates against the encoder's own mean,
row shapes of each view, and the command writing its pictures."""
from pathlib import Path

import pytest
import torch

import gmc
from gmc import visualize
from gmc.cli import main
from gmc.compiler import driver
from gmc.runtime.errors import DataError

ROOT = Path(__file__).parent.parent


def _vae():
    text, filename = driver.read_source(ROOT / "examples" / "vae.gm")
    model_ir, cls = driver.compile_class(text, filename)
    torch.manual_seed(0)
    return model_ir, cls().eval(), text


def test_finds_the_encoder_and_decoder_or_says_what_is_missing():
    model_ir, _, _ = _vae()
    assert visualize.latent_pair(model_ir, "x") == visualize.LatentPair("q(z|x)", "p(x|z)", "x", "z")
    hvae = driver.compile_model(*driver.read_source(ROOT / "examples" / "hvae.gm"))
    assert visualize.latent_pair(hvae, "x").z == "z1"
    cvae = driver.compile_model(*driver.read_source(ROOT / "examples" / "cvae.gm"))
    with pytest.raises(DataError, match=r"need an encoder q\(z\|x\) of a real latent z and a decoder p\(x\|z\)"):
        visualize.latent_pair(cvae, "x")


def test_encoded_mean_matches_the_encoders_location():
    model_ir, m, _ = _vae()
    pair = visualize.latent_pair(model_ir, "x")
    x = torch.bernoulli(torch.full((3, 64), 0.5))
    with torch.no_grad():
        loc, scale = m.enc(x)
        estimate = visualize.encode(m, pair, x, draws=4000)
    # the mean of 4000 Normal draws is within 5 standard errors of loc
    assert torch.all((estimate - loc).abs() <= 5 * scale / 4000 ** 0.5)


def test_each_view_has_the_rows_asked_for():
    model_ir, m, _ = _vae()
    pair = visualize.latent_pair(model_ir, "x")
    x = torch.bernoulli(torch.full((6, 64), 0.5))
    with torch.no_grad():
        recon = visualize.reconstructions(m, pair, x, per_row=3, draws=4)
        assert [r.shape for r in recon] == [(3, 64)] * 4 and torch.equal(recon[0], x[:3])
        assert all(float(r.min()) >= 0 and float(r.max()) <= 1 for r in recon[1::2])  # Bernoulli means
        assert [r.shape for r in visualize.interpolations(m, pair, x, steps=5, draws=4)] == [(5, 64)] * 3
        assert [r.shape for r in visualize.path(m, pair, x[:4], steps=5, draws=4)] == [(5, 64)] * 3
        walks = visualize.random_walks(m, ("p(z)",), pair, rows=2, steps=6, step_size=0.5, draws=4)
        assert [r.shape for r in walks] == [(6, 64)] * 2


def test_the_command_writes_every_view_next_to_the_checkpoint(tmp_path, capsys):
    from gmc.runtime.train import save_checkpoint

    model_ir, m, text = _vae()
    ckpt = tmp_path / "model.pt"
    save_checkpoint(ckpt, m, source=text, source_path="vae.gm", class_name="VAE", history=None,
                    extra={"data": "digits", "loss": "loss"})
    for kind in visualize.KINDS:
        assert main(["visualize", str(ROOT / "examples" / "vae.gm"), "--checkpoint", str(ckpt), "--kind", kind,
                     "--draws", "2", "--rows", "2", "--steps", "3"]) == 0, capsys.readouterr().err
        assert (tmp_path / f"{kind}.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["visualize", str(ROOT / "examples" / "vae.gm"), "--checkpoint", str(ckpt), "--steps", "1"]) == 1
    assert "--steps 1: must be at least 2" in capsys.readouterr().err
