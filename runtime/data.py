"""Loading training data for ``gmc train --data SPEC`` (docs/design.md section 4).

A data set is a float32 matrix of shape ``[N, D]`` (one row per example, one column per
feature) split once into a training part and a held-out test part. ``SPEC`` is either the name
of a bundled data set (``digits``, ``iris`` or ``diabetes``) or a path to a ``.npz``, ``.npy`` or ``.csv`` file.

Every user mistake (missing file, unreadable value, NaN, too little data) raises
:class:`gmc.runtime.errors.DataError` with a message naming the file and, where it applies, the
row and column (1-based).
"""
from __future__ import annotations

import dataclasses
import csv
import importlib.util
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gmc.runtime.errors import DataError

__all__ = ["Dataset", "load_dataset", "BUILTIN_DATASETS", "FILE_EXTENSIONS"]

#: Names accepted by :func:`load_dataset` in place of a path.
BUILTIN_DATASETS = ("digits", "iris", "diabetes")
#: File extensions accepted by :func:`load_dataset`.
FILE_EXTENSIONS = (".npz", ".npy", ".csv")

_ACCEPTED = "accepted: 'digits', 'iris', 'diabetes' or a path to a .npz, .npy or .csv file"


@dataclass(frozen=True)
class Dataset:
    """A data set split into training and held-out examples.

    Attributes:
        name: ``"digits"`` or the stem of the file name (``data/mnist.npz`` -> ``"mnist"``).
        train: float32 tensor of shape ``[N, D]``.
        test: float32 tensor of shape ``[M, D]`` (same ``D``).
        train_labels: int64 tensor of shape ``[N]``, or ``None`` when the data has no labels.
        test_labels: int64 tensor of shape ``[M]``, or ``None``.
        image_shape: ``(height, width)`` with ``height * width == D`` when the examples are
            images (given as ``[N, H, W]`` arrays, or a flat ``D`` that is a perfect square
            >= 16), else ``None``.
        train_targets: float32 tensor ``[N]`` of real-valued regression targets (``diabetes``),
            or ``None``.
        test_targets: float32 tensor ``[M]``, or ``None``.
        train_rows: where each training example comes from in its source, 1-based: the
            line of the file for CSV, the example's index in the array otherwise (``[N]``
            ints; ``None`` for data sets built in memory). Errors cite these, not the
            position after the split's shuffle.
        test_rows: the same for the held-out examples (``[M]``).
        row_unit: ``"line"`` when ``*_rows`` are file lines, else ``"example"``.
    """

    name: str
    train: torch.Tensor
    test: torch.Tensor
    train_labels: torch.Tensor | None
    test_labels: torch.Tensor | None
    image_shape: tuple[int, int] | None
    train_targets: torch.Tensor | None = None
    test_targets: torch.Tensor | None = None
    train_rows: tuple[int, ...] | None = None
    test_rows: tuple[int, ...] | None = None
    row_unit: str = "example"

    @property
    def dim(self) -> int:
        """``D``, the number of features per example."""
        return int(self.train.shape[1])


def load_dataset(spec: str, *, test_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """Load the data set named by ``spec`` and split it into train and test examples.

    Args:
        spec: ``"digits"`` (scikit-learn's bundled 8x8 digits, 1797 examples x 64 pixels,
            binarized as ``pixel >= 8`` -> 1.0 else 0.0, labels 0..9 kept, image shape (8, 8)),
            or a path to
            ``.npz`` (the array named ``x``, else the first array; an optional array ``y`` of
            integer labels, one per example), ``.npy`` (one array), or ``.csv`` (numbers
            separated by commas, one example per line; a first line of non-numeric column names
            is skipped). A 1-D array ``[N]`` becomes ``[N, 1]``; arrays with more dimensions are
            flattened to ``[N, D]``.
        test_fraction: share of the examples held out, in (0, 1). The test set gets
            ``round(N * test_fraction)`` examples, at least 1 and at most ``N - 1``.
        seed: seed of ``numpy.random.default_rng`` whose permutation of the examples fixes the
            split: the last ``n_test`` indices of the permutation are the test set. The same
            ``spec``, ``test_fraction`` and ``seed`` always give the same split.

    Returns:
        A :class:`Dataset` with float32 examples and, when known, int64 labels.

    Raises:
        DataError: the file does not exist; the extension or data set name is not one of
            those accepted; the data is empty or not numeric (a CSV cell that is not a number is
            reported by row and column, 1-based, counting lines of the file); it contains NaN or
            inf (the count and the first row and column are reported); it has fewer than 2
            examples; the labels do not match the examples; ``test_fraction`` is not in (0, 1).
    """
    if not isinstance(spec, (str, os.PathLike)):
        raise DataError(f"data must be a data set name or a file path, got {type(spec).__name__}; {_ACCEPTED}")
    if not (isinstance(test_fraction, (int, float)) and 0.0 < float(test_fraction) < 1.0):
        raise DataError(f"test_fraction must be a number strictly between 0 and 1, got {test_fraction!r}")
    spec_str = os.fspath(spec)

    if spec_str in _STANDARDIZED:
        return _standardized(spec_str, float(test_fraction), seed)
    if spec_str in BUILTIN_DATASETS:
        name = spec_str
        x, y, image_shape = _load_digits()
        where = "data set 'digits'"
    else:
        path = Path(spec_str).expanduser()
        suffix = path.suffix.lower()
        if suffix not in FILE_EXTENSIONS:
            if not suffix and not path.exists():
                raise DataError(f"unknown data set name '{spec_str}'; {_ACCEPTED}")
            raise DataError(f"{spec_str}: unknown data file extension '{path.suffix}'; {_ACCEPTED}")
        if not path.exists():
            raise DataError(f"{spec_str}: data file not found")
        if not path.is_file():
            raise DataError(f"{spec_str}: not a file")
        name = path.stem
        where = spec_str
        if suffix == ".csv":
            x, row_lines = _read_csv(path, spec_str)
            y = None
        else:
            x, y = _read_numpy(path, spec_str, suffix)
            row_lines = None
        x, image_shape = _to_matrix(x, where, row_lines)
        y = _check_labels(y, x.shape[0], where)
        split = _split(name, x, y, image_shape, float(test_fraction), seed)
        lines = np.asarray(row_lines if row_lines is not None else range(1, x.shape[0] + 1))
        train_idx, test_idx = _split_indices(x.shape[0], float(test_fraction), seed)
        return dataclasses.replace(split, train_rows=tuple(int(v) for v in lines[train_idx]),
                                   test_rows=tuple(int(v) for v in lines[test_idx]),
                                   row_unit="line" if row_lines is not None else "example")

    return _split(name, x, y, image_shape, float(test_fraction), seed)


# ------------------------------------------------------------------------------------------
# sources


def _bundled(filename: str) -> Path | None:
    """The data file ``filename`` that scikit-learn ships in ``sklearn/datasets/data``, found
    without importing scikit-learn (2 s, most of it scipy, against 10 ms to read the file);
    None where it is not there, and the callers fall back on scikit-learn's loaders. Each fast
    path is checked against its loader, value for value, in ``tests/runtime/test_data.py``."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / filename
    return path if path.is_file() else None


def _load_digits():
    path = _bundled("digits.csv.gz")
    if path is not None:  # 64 pixel columns (0..16) and the label, as sklearn's load_digits reads it
        table = np.loadtxt(path, delimiter=",")
        pixels, labels = table[:, :-1], table[:, -1]
    else:
        from sklearn.datasets import load_digits

        digits = load_digits()
        pixels, labels = digits.data, digits.target
    x = (np.asarray(pixels) >= 8).astype(np.float32)  # [1797, 64], values 0..16 -> {0, 1}
    y = np.asarray(labels).astype(np.int64)
    return x, y, (8, 8)


def _load_iris():
    """scikit-learn's iris: 150 flowers x 4 measurements (cm), species labels 0..2."""
    path = _bundled("iris.csv")
    if path is not None:  # a header line (counts and class names), then 4 measurements and the label
        table = np.loadtxt(path, delimiter=",", skiprows=1)
        return table[:, :4].astype(np.float64), table[:, 4].astype(np.int64), None
    from sklearn.datasets import load_iris

    iris = load_iris()
    return np.asarray(iris.data, dtype=np.float64), np.asarray(iris.target, dtype=np.int64), None


def _load_diabetes():
    """scikit-learn's diabetes: 442 patients x 10 baseline variables, real target (disease
    progression after one year); loaded unscaled so standardization uses the training split."""
    data, target = _bundled("diabetes_data_raw.csv.gz"), _bundled("diabetes_target.csv.gz")
    if data is not None and target is not None:
        return np.loadtxt(data).astype(np.float64), None, np.loadtxt(target).astype(np.float64)
    from sklearn.datasets import load_diabetes

    d = load_diabetes(scaled=False)
    return np.asarray(d.data, dtype=np.float64), None, np.asarray(d.target, dtype=np.float64)


#: Small tabular data sets, standardized with the training split's mean and standard deviation.
_STANDARDIZED = {"iris": _load_iris, "diabetes": _load_diabetes}


def _standardized(name: str, test_fraction: float, seed: int) -> Dataset:
    """``iris`` (features only; labels kept) or ``diabetes`` (features and target): split as
    every data set is, then each column shifted and scaled to mean 0 and standard deviation 1
    over the training examples (the held-out part uses the same shift and scale)."""
    if name == "iris":
        x, y, _ = _load_iris()
        target = None
    else:
        x, y, target = _load_diabetes()
    split = _split(name, x, y, None, test_fraction, seed)
    train_idx, test_idx = _split_indices(x.shape[0], test_fraction, seed)
    mean, std = x[train_idx].mean(0), x[train_idx].std(0)

    def scaled(a, m, s):
        return torch.from_numpy(np.ascontiguousarray((a - m) / s, dtype=np.float32))

    train, test = scaled(x[train_idx], mean, std), scaled(x[test_idx], mean, std)
    tt = ts = None
    if target is not None:
        tm, tsd = target[train_idx].mean(), target[train_idx].std()
        tt, ts = scaled(target[train_idx], tm, tsd), scaled(target[test_idx], tm, tsd)
    return Dataset(name, train, test, split.train_labels, split.test_labels, None, tt, ts)


def _read_numpy(path: Path, where: str, suffix: str):
    """Return ``(x, y)`` arrays from a .npy or .npz file (``y`` may be ``None``)."""
    try:
        loaded = np.load(path, allow_pickle=False)
    except Exception as exc:  # corrupt file, pickled objects, wrong format
        raise DataError(f"{where}: cannot read as a {suffix} file ({exc})") from None
    if suffix == ".npy":
        if not isinstance(loaded, np.ndarray):
            raise DataError(f"{where}: not a .npy array file")
        return loaded, None
    with loaded as archive:
        names = list(archive.files)
        if not names:
            raise DataError(f"{where}: the .npz file contains no arrays (expected an array named 'x')")
        if "x" in names:
            x_name = "x"
        else:
            others = [n for n in names if n != "y"]
            if not others:
                raise DataError(f"{where}: the .npz file holds only labels 'y'; expected an array named 'x'")
            x_name = others[0]
        try:
            x = archive[x_name]
            y = archive["y"] if "y" in names else None
        except Exception as exc:
            raise DataError(f"{where}: cannot read array '{x_name}' ({exc})") from None
    return x, y


def _read_csv(path: Path, where: str):
    """Return ``(x, row_lines)``: a float64 ``[N, D]`` array and the file line number of each row."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = [(i, row) for i, row in enumerate(csv.reader(f), start=1)]
    except UnicodeDecodeError:
        raise DataError(f"{where}: not a text CSV file (cannot decode as UTF-8)") from None
    except (OSError, csv.Error) as exc:
        raise DataError(f"{where}: cannot read CSV ({exc})") from None
    # blank lines (including a trailing newline) carry no example
    rows = [(i, [c.strip() for c in row]) for i, row in rows if any(c.strip() for c in row)]
    if not rows:
        raise DataError(f"{where}: the file contains no data")

    def is_number(cell: str) -> bool:
        try:
            float(cell)
            return True
        except ValueError:
            return False

    _, first = rows[0]
    if not any(is_number(c) for c in first):  # a header of column names
        rows = rows[1:]
        if not rows:
            raise DataError(f"{where}: the file has a header line but no data rows")
    width = len(rows[0][1])
    values = np.empty((len(rows), width), dtype=np.float64)
    for r, (line, row) in enumerate(rows):
        if len(row) != width:
            raise DataError(f"{where}: row {line} has {len(row)} columns, expected {width} like row {rows[0][0]}")
        try:
            values[r] = [float(cell) for cell in row]
        except ValueError:
            c = next(c for c, cell in enumerate(row) if not is_number(cell))
            shown = row[c] if row[c] else "(empty)"
            raise DataError(f"{where}: row {line}, column {c + 1}: cannot read '{shown}' as a number") from None
    return values, [line for line, _ in rows]


# ------------------------------------------------------------------------------------------
# checks


def _to_matrix(x, where: str, row_lines):
    """Validate a numeric array and flatten it to float32 ``[N, D]``; return it and the image shape.

    ``row_lines`` maps data rows to file line numbers for CSV (a list); ``None`` reports
    1-based example indices as rows.
    """
    x = np.asarray(x)
    if x.dtype == object or not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_):
        raise DataError(f"{where}: data must be numeric, got an array of dtype {x.dtype}")
    if np.iscomplexobj(x):
        raise DataError(f"{where}: data must be real numbers, got complex dtype {x.dtype}")
    if x.ndim == 0 or x.size == 0:
        raise DataError(f"{where}: the data is empty (array shape {tuple(x.shape)})")
    image_shape = None
    if x.ndim == 1:
        x = x.reshape(-1, 1)
    elif x.ndim >= 3:
        h, w = int(x.shape[-2]), int(x.shape[-1])
        if math.prod(x.shape[1:]) == h * w:  # [N, H, W] or [N, 1, H, W]
            image_shape = (h, w)
        x = x.reshape(x.shape[0], -1)
    n, d = x.shape
    with np.errstate(over="ignore", invalid="ignore"):
        x = x.astype(np.float32)
    bad = ~np.isfinite(x)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        row = row_lines[r] if row_lines is not None else int(r) + 1
        raise DataError(
            f"{where}: {int(bad.sum())} value(s) are NaN or infinite (or too large for float32); "
            f"the first is at row {row}, column {int(c) + 1}")
    if n < 2:
        raise DataError(f"{where}: need at least 2 examples to hold some out for testing, got {n}")
    if image_shape is None:
        image_shape = square_image_shape(d)
    return x, image_shape


def square_image_shape(d: int) -> tuple[int, int] | None:
    """(side, side) when ``d`` values per example are a square image of side >= 4, else None."""
    side = math.isqrt(d)
    return (side, side) if d >= 16 and side * side == d else None


def _check_labels(y, n: int, where: str):
    if y is None:
        return None
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != n:
        raise DataError(f"{where}: labels 'y' must have shape [{n}] (one per example), got {tuple(y.shape)}")
    if not (np.issubdtype(y.dtype, np.number) or y.dtype == np.bool_) or np.iscomplexobj(y):
        raise DataError(f"{where}: labels 'y' must be integers, got dtype {y.dtype}")
    if np.issubdtype(y.dtype, np.floating):
        if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
            raise DataError(f"{where}: labels 'y' must be whole numbers")
    return y.astype(np.int64)


def _split_indices(n: int, test_fraction: float, seed: int):
    """(train indices, test indices): the last ``n_test`` of a seeded permutation are held out."""
    n_test = min(max(1, round(n * test_fraction)), n - 1)
    perm = np.random.default_rng(seed).permutation(n)
    return perm[: n - n_test], perm[n - n_test:]


def _split(name, x, y, image_shape, test_fraction: float, seed: int) -> Dataset:
    train_idx, test_idx = _split_indices(x.shape[0], test_fraction, seed)
    xt = torch.from_numpy(np.ascontiguousarray(x[train_idx], dtype=np.float32))
    xs = torch.from_numpy(np.ascontiguousarray(x[test_idx], dtype=np.float32))
    yt = ys = None
    if y is not None:
        yt = torch.from_numpy(np.ascontiguousarray(y[train_idx]))
        ys = torch.from_numpy(np.ascontiguousarray(y[test_idx]))
    return Dataset(name=name, train=xt, test=xs, train_labels=yt, test_labels=ys, image_shape=image_shape)
