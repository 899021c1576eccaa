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


def test_grid_layout_and_values_shown_as_given(tmp_path):
    # a 2x2 grid of 8x8 images: black, white / white, black (no rescaling per image)
    samples = torch.stack([torch.zeros(64), torch.ones(64), torch.ones(64), torch.zeros(64)])
    out = tmp_path / "grid.png"
    save_sample_grid(samples, out)
    pixels = _check_png(out)
    height, width = pixels.shape[:2]
    assert width >= 100 and 0.8 <= height / width <= 1.25  # near-square picture
    gray = pixels[..., :3].mean(axis=2)
    cy, lx, rx = height // 4, width // 4, 3 * width // 4  # centers of the top two cells
    assert gray[cy - 5:cy + 5, lx - 5:lx + 5].mean() < 0.05
    assert gray[cy - 5:cy + 5, rx - 5:rx + 5].mean() > 0.95


def test_heatmap_has_colors(tmp_path):
    out = tmp_path / "heat.png"
    save_sample_grid(torch.randn(12, 5, generator=torch.Generator().manual_seed(0)), out, title="tabular")
    pixels = _check_png(out)
    spread = pixels[..., :3].max(axis=2) - pixels[..., :3].min(axis=2)
    assert (spread > 0.3).mean() > 0.05  # a colormapped matrix, not a gray picture
