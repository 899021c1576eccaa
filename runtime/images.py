"""Drawing samples to an image file (``samples.png`` of ``gmc train`` / ``gmc sample``).

Uses :class:`matplotlib.figure.Figure` with the Agg canvas directly, never ``pyplot``, so no
global backend or figure state is touched and nothing needs a display.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.colors import Normalize
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from gmc.runtime.errors import DataError

__all__ = ["save_sample_grid"]

#: Color of the 1-pixel lines between images (and of NaN values), distinct from any gray level.
_SEPARATOR = "#4a6fa5"


def save_sample_grid(samples: torch.Tensor, path: str | os.PathLike, image_shape: tuple[int, int] | None = None,
                     *, title: str | None = None) -> None:
    """Save ``samples`` as a picture at ``path`` (format from the extension, e.g. ``.png``).

    Args:
        samples: tensor (or array) of shape ``[N, D]``, N samples of D features each; any dtype
            and device (it is copied to CPU float). A 1-D ``[D]`` tensor is one sample.
        path: the output file; missing parent folders are created.
        image_shape: ``(h, w)`` with ``h * w == D`` to draw each sample as an h x w image.
            When ``None`` and ``D`` is a perfect square, images are ``sqrt(D) x sqrt(D)``.
        title: optional title drawn above the figure.

    Images are tiled into one near-square mosaic (``ceil(sqrt(N))`` columns, 1-pixel blue lines
    between images) with a gray colormap, no axes, and one shared color scale over all samples
    spanning ``[min(0, min), max(1, max)]`` of the values, so values are shown as given (binary
    samples are black and white, not rescaled per image; NaN pixels show in the line color).
    Otherwise (tabular data) the ``N x D`` sample matrix is drawn as a heatmap, one row per
    sample and one column per feature, with a colorbar of the values.

    Raises:
        DataError: ``samples`` is not 1-D or 2-D or is empty, ``image_shape`` does not match
            ``D``, or matplotlib cannot write a file of that extension.
        OSError: the file cannot be written.
    """
    x = samples.detach().to("cpu", torch.float64).numpy() if isinstance(samples, torch.Tensor) \
        else np.asarray(samples, dtype=np.float64)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2:
        raise DataError(f"samples must have shape [N, D], got {tuple(x.shape)}")
    n, d = x.shape
    if n == 0 or d == 0:
        raise DataError(f"no samples to draw (shape {tuple(x.shape)})")
    if image_shape is not None:
        h, w = (int(v) for v in image_shape)
        if h * w != d:
            raise DataError(f"image shape {h}x{w} has {h * w} pixels but each sample has {d} values")
    else:
        side = math.isqrt(d)
        h = w = side if side * side == d else 0

    finite = x[np.isfinite(x)]
    lo = min(0.0, float(finite.min())) if finite.size else 0.0
    hi = max(1.0, float(finite.max())) if finite.size else 1.0
    title_in = 0.4 if title else 0.0

    if h:
        cols = math.ceil(math.sqrt(n))
        rows = math.ceil(n / cols)
        mosaic = _mosaic(x.reshape(n, h, w), rows, cols)
        # about 1 inch per image for a few, the whole grid at most ~6 inches on its long side
        # (matplotlib draws an image through float buffers of the canvas's size: a 10-inch
        # grid was a 36 MB transient, the peak memory of a whole `gmc train`)
        scale = min(1.0 / max(h, w), 6.0 / max(mosaic.shape))
        fig = Figure(figsize=(max(2.0, mosaic.shape[1] * scale + 0.2), max(2.0, mosaic.shape[0] * scale + 0.2) + title_in))
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0.02, 0.02, 0.96, 0.96 - title_in / fig.get_figheight()))
        ax.set_axis_off()
        cmap = colormaps["gray"].with_extremes(bad=_SEPARATOR)
        # colored here, at the mosaic's own resolution, as 8-bit RGBA: given values, matplotlib
        # resamples them to the canvas as float64 RGBA (26 MB for a 64-image grid), which set
        # the peak memory of a whole `gmc train`; nearest-neighbour drawing shows the same pixels
        rgba = cmap(Normalize(vmin=lo, vmax=hi)(np.ma.masked_invalid(mosaic)), bytes=True)
        ax.imshow(rgba, interpolation="nearest")
    else:
        fig = Figure(figsize=(min(12.0, max(4.0, 0.25 * d + 2.0)), min(12.0, max(3.0, 0.2 * n + 1.0)) + title_in))
        FigureCanvasAgg(fig)
        ax = fig.subplots()
        image = ax.imshow(x, aspect="auto", interpolation="nearest", cmap="viridis")
        ax.set_xlabel("feature (1-based)" if d > 1 else "feature")
        ax.set_ylabel("sample")
        _one_based_ticks(ax, n, d)
        fig.colorbar(image, ax=ax, label="value")
        fig.tight_layout(rect=(0, 0, 1, 1 - title_in / fig.get_figheight()))
    if title:
        fig.suptitle(title)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        fig.savefig(out)
    except ValueError as exc:  # e.g. an extension matplotlib cannot write
        raise DataError(f"{out}: cannot save the samples picture ({exc})") from None


def _mosaic(images: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Tile ``images`` [N, h, w] into one ``[rows*(h+1)-1, cols*(w+1)-1]`` array, NaN between cells."""
    n, h, w = images.shape
    grid = np.full((rows * (h + 1) - 1, cols * (w + 1) - 1), np.nan)
    for i in range(n):
        r, c = divmod(i, cols)
        grid[r * (h + 1): r * (h + 1) + h, c * (w + 1): c * (w + 1) + w] = images[i]
    return grid


def _one_based_ticks(ax, n: int, d: int) -> None:
    """Label heatmap ticks 1..n and 1..d (at most ~10 ticks per axis)."""
    for count, set_ticks in ((d, ax.set_xticks), (n, ax.set_yticks)):
        step = max(1, math.ceil(count / 10))
        where = list(range(0, count, step))
        set_ticks(where, [str(i + 1) for i in where])
