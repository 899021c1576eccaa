"""Tests of gmc.runtime.data.load_dataset: bundled digits, .npz/.npy/.csv files, errors."""
import numpy as np
import pytest
import torch

from gmc.runtime.data import Dataset, load_dataset
from gmc.runtime.errors import DataError


# ---------------------------------------------------------------------------- digits

def test_digits_shapes_binarization_labels():
    from sklearn.datasets import load_digits

    raw = load_digits()
    ds = load_dataset("digits")
    assert isinstance(ds, Dataset) and ds.name == "digits"
    n_test = round(1797 * 0.2)
    assert ds.train.shape == (1797 - n_test, 64) and ds.test.shape == (n_test, 64)
    assert ds.train.dtype == torch.float32 and ds.train_labels.dtype == torch.int64
    assert ds.image_shape == (8, 8)
    assert set(ds.train.unique().tolist()) == {0.0, 1.0}
    # the split is the documented permutation: last n_test indices of default_rng(0).permutation
    perm = np.random.default_rng(0).permutation(1797)
    train_idx, test_idx = perm[:-n_test], perm[-n_test:]
    expect = (raw.data >= 8).astype(np.float32)
    np.testing.assert_array_equal(ds.train.numpy(), expect[train_idx])
    np.testing.assert_array_equal(ds.test.numpy(), expect[test_idx])
    np.testing.assert_array_equal(ds.train_labels.numpy(), raw.target[train_idx])
    np.testing.assert_array_equal(ds.test_labels.numpy(), raw.target[test_idx])


@pytest.mark.parametrize("loader", ["digits", "iris", "diabetes"])
def test_bundled_files_read_directly_match_scikit_learns_loaders(loader, monkeypatch):
    """The fast paths read scikit-learn's data files without importing it; with the files
    not found they fall back on scikit-learn's loaders. Both give the same arrays."""
    from gmc.runtime import data

    read = getattr(data, f"_load_{loader}")
    direct = read()
    monkeypatch.setattr(data, "_bundled", lambda filename: None)
    through_sklearn = read()
    for a, b in zip(direct, through_sklearn):
        if a is None or isinstance(a, tuple):
            assert a == b
        else:
            assert a.dtype == b.dtype and a.shape == b.shape
            np.testing.assert_array_equal(a, b)


def test_split_is_deterministic_and_seeded():
    a, b = load_dataset("digits"), load_dataset("digits")
    assert torch.equal(a.train, b.train) and torch.equal(a.test, b.test)
    assert torch.equal(a.test_labels, b.test_labels)
    c = load_dataset("digits", seed=1)
    assert not torch.equal(a.test_labels, c.test_labels)
    d = load_dataset("digits", test_fraction=0.5)
    assert d.test.shape[0] == round(1797 * 0.5)


# ---------------------------------------------------------------------------- files

def test_npz_with_x_and_labels(tmp_path):
    x = np.arange(20 * 3, dtype=np.float64).reshape(20, 3)
    y = np.arange(20) % 4
    path = tmp_path / "toy.npz"
    np.savez(path, y=y, x=x)
    ds = load_dataset(str(path))
    assert ds.name == "toy" and ds.train.shape == (16, 3) and ds.test.shape == (4, 3)
    assert ds.image_shape is None
    # rows and labels stay paired: row i is [3i, 3i+1, 3i+2] with label i % 4
    rows = torch.cat([ds.train, ds.test])
    labels = torch.cat([ds.train_labels, ds.test_labels])
    idx = (rows[:, 0] / 3).long()
    assert torch.equal(labels, idx % 4)
    assert sorted(idx.tolist()) == list(range(20))


def test_npz_first_array_when_no_x_and_images(tmp_path):
    path = tmp_path / "imgs.npz"
    np.savez(path, images=np.zeros((10, 5, 7), dtype=np.uint8))
    ds = load_dataset(str(path))
    assert ds.train.shape == (8, 35) and ds.image_shape == (5, 7) and ds.train_labels is None


def test_npy_one_dim_and_square(tmp_path):
    p1 = tmp_path / "one.npy"
    np.save(p1, np.linspace(0, 1, 10))
    ds = load_dataset(str(p1))
    assert ds.train.shape == (8, 1) and ds.test.shape == (2, 1) and ds.image_shape is None
    p2 = tmp_path / "sq.npy"
    np.save(p2, np.ones((6, 16), dtype=bool))
    assert load_dataset(str(p2)).image_shape == (4, 4)
    p3 = tmp_path / "small.npy"
    np.save(p3, np.ones((6, 9)))  # 9 is a square but < 16
    assert load_dataset(str(p3)).image_shape is None


def test_csv_with_and_without_header(tmp_path):
    data = np.arange(12, dtype=float).reshape(6, 2)
    plain = tmp_path / "plain.csv"
    plain.write_text("\n".join(f"{a},{b}" for a, b in data) + "\n")
    header = tmp_path / "header.csv"
    header.write_text("height, weight\n" + "\n".join(f"{a}, {b}" for a, b in data) + "\n\n")
    for path in (plain, header):
        ds = load_dataset(str(path))
        assert ds.train.shape == (5, 2) and ds.test.shape == (1, 2)
        got = torch.cat([ds.train, ds.test]).numpy()
        np.testing.assert_array_equal(got[np.argsort(got[:, 0])], data)


# ---------------------------------------------------------------------------- errors

def _raises(spec, *fragments, **kw):
    with pytest.raises(DataError) as info:
        load_dataset(spec, **kw)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_missing_file(tmp_path):
    _raises(str(tmp_path / "nope.npz"), "nope.npz", "not found")


def test_unknown_name_and_extension(tmp_path):
    _raises("mnist", "unknown data set name 'mnist'", "digits", ".npz", ".npy", ".csv")
    bad = tmp_path / "data.txt"
    bad.write_text("1,2\n")
    _raises(str(bad), "unknown data file extension '.txt'", "digits", ".csv")


def test_empty_data(tmp_path):
    p = tmp_path / "empty.npy"
    np.save(p, np.zeros((0, 3)))
    _raises(str(p), "empty")
    c = tmp_path / "empty.csv"
    c.write_text("\n\n")
    _raises(str(c), "empty.csv", "no data")
    h = tmp_path / "only_header.csv"
    h.write_text("a,b\n")
    _raises(str(h), "header", "no data")


def test_non_numeric_csv_cell(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("a,b,c\n1,2,3\n4,five,6\n")
    _raises(str(p), "bad.csv", "row 3, column 2", "'five'")


def test_ragged_csv(tmp_path):
    p = tmp_path / "ragged.csv"
    p.write_text("1,2\n3\n")
    _raises(str(p), "row 2 has 1 columns, expected 2")


def test_nan_and_inf(tmp_path):
    x = np.zeros((5, 3))
    x[1, 2] = np.nan
    x[3, 0] = np.inf
    p = tmp_path / "nan.npy"
    np.save(p, x)
    _raises(str(p), "2 value(s)", "NaN or infinite", "row 2, column 3")
    c = tmp_path / "nan.csv"
    c.write_text("a,b\n1,2\n3,nan\n")
    _raises(str(c), "1 value(s)", "row 3, column 2")  # file line numbers for CSV


def test_too_few_examples(tmp_path):
    p = tmp_path / "one.npy"
    np.save(p, np.ones((1, 4)))
    _raises(str(p), "at least 2 examples", "got 1")


def test_non_numeric_array_and_bad_labels(tmp_path):
    p = tmp_path / "s.npy"
    np.save(p, np.array([["a", "b"], ["c", "d"]]))
    _raises(str(p), "numeric")
    q = tmp_path / "lab.npz"
    np.savez(q, x=np.ones((4, 2)), y=np.arange(3))
    _raises(str(q), "labels", "[4]")


def test_bad_test_fraction():
    _raises("digits", "test_fraction", test_fraction=1.0)
