"""Instances of compiled classes pickle (pickle, copy.deepcopy, torch.save) and unpickle in
this process and in a fresh one, computing the same values as the original."""
import copy
import io
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import torch

import gmc

ROOT = Path(__file__).parent.parent


def _model_and_batch():
    torch.manual_seed(0)
    model = gmc.compile_file(ROOT / "examples" / "vae.gm")(beta=0.5)
    x = torch.bernoulli(torch.full((5, 64), 0.3))
    z = torch.randn(5, 8)
    return model, x, z


def _values(model, x, z):
    return torch.stack([model.log_prob("p(x|z)", x=x, z=z), model.log_prob("q(z|x)", z=z, x=x)])


def test_pickle_round_trip_keeps_parameters_params_and_outputs():
    model, x, z = _model_and_batch()
    again = pickle.loads(pickle.dumps(model))
    assert type(again).__name__ == "VAE" and again.beta == 0.5
    assert torch.equal(_values(model, x, z), _values(again, x, z))
    torch.manual_seed(1)
    a = model.loss(x=x)
    torch.manual_seed(1)
    assert torch.equal(a, again.loss(x=x))


def test_torch_save_and_deepcopy():
    model, x, z = _model_and_batch()
    buffer = io.BytesIO()
    torch.save(model, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=False)
    assert torch.equal(_values(model, x, z), _values(loaded, x, z))
    twin = copy.deepcopy(model)
    assert torch.equal(_values(model, x, z), _values(twin, x, z))
    assert twin.enc is not model.enc and type(twin) is type(model)


def test_a_renamed_class_pickles_under_its_name():
    cls = gmc.compile_source((ROOT / "examples" / "vae.gm").read_text(), name="Digits")
    assert type(pickle.loads(pickle.dumps(cls()))).__name__ == "Digits"


def test_unpickles_in_a_fresh_process(tmp_path):
    model, x, z = _model_and_batch()
    torch.save({"model": model, "x": x, "z": z, "expected": _values(model, x, z)}, tmp_path / "m.pt")
    script = textwrap.dedent(f"""
        import torch
        saved = torch.load({str(tmp_path / 'm.pt')!r}, weights_only=False)
        m, x, z = saved["model"], saved["x"], saved["z"]
        got = torch.stack([m.log_prob("p(x|z)", x=x, z=z), m.log_prob("q(z|x)", z=z, x=x)])
        assert torch.equal(got, saved["expected"]), (got, saved["expected"])
        print("same", type(m).__name__)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                            cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "same VAE"
