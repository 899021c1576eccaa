"""Tests of gmc.runtime.images.save_sample_grid."""
import matplotlib.image
import pytest
import torch

from gmc.runtime.errors import DataError
from gmc.runtime.images import save_sample_grid

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _check_png(path):
    assert path.read_bytes()[:8] == PNG_MAGIC
    pixels = matplotlib.image.imread(path)
    assert pixels.ndim == 3 and pixels.shape[0] > 10 and pixels.shape[1] > 10
    return pixels


def test_square_grid(tmp_path):
    samples = (torch.rand(10, 64) > 0.5).float()
    out = tmp_path / "sub" / "samples.png"
    save_sample_grid(samples, out, title="10 samples")
    pixels = _check_png(out)
    assert pixels[..., :3].std() > 0  # not a blank picture


def test_given_non_square_image_shape(tmp_path):
    out = tmp_path / "rect.png"
    save_sample_grid(torch.rand(5, 24), out, (4, 6))
    _check_png(out)


def test_heatmap_for_non_square_dim(tmp_path):
    out = tmp_path / "heat.png"
    save_sample_grid(torch.randn(7, 5), out)
    _check_png(out)


def test_errors(tmp_path):
    with pytest.raises(DataError, match="image shape 3x3 has 9 pixels but each sample has 10"):
        save_sample_grid(torch.rand(2, 10), tmp_path / "x.png", (3, 3))
    with pytest.raises(DataError, match=r"\[N, D\]"):
        save_sample_grid(torch.rand(2, 3, 4), tmp_path / "x.png")
