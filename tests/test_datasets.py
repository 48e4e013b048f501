"""Cora and Citeseer load with the figures their README states, from the files shipped in gcnlib."""

import hashlib
from importlib import resources

import numpy as np
import pytest
import scipy.sparse as sp

import gcnlib

# nodes, edges, features, feature non-zeros, classes, train, val, test (gcnlib/data/README.md)
FIGURES = {
    "cora": (2708, 5278, 1433, 49216, 7, 140, 500, 1000),
    "citeseer": (3327, 4552, 3703, 105165, 6, 120, 500, 1000),
}
SHA256 = {
    "cora": "ccef1d940fb4c333e3484213517f60d7aa506c244204a8e8f57ca2c8a65c9073",
    "citeseer": "20456e9d33f28f0b646523f5cf4bda6cfc024f61b7d83827ef194023655adc18",
}


@pytest.fixture(scope="module", params=sorted(FIGURES))
def data(request):
    return gcnlib.load_planetoid(request.param)


def test_checksum_of_shipped_file(data):
    raw = resources.files("gcnlib").joinpath("data", f"{data.name}.npz").read_bytes()
    assert hashlib.sha256(raw).hexdigest() == SHA256[data.name]


def test_figures(data):
    N, E, F, nnz, c, n_train, n_val, n_test = FIGURES[data.name]
    assert data.A.shape == (N, N) and data.num_nodes == N
    assert data.A.nnz == 2 * E  # each undirected edge stored in both directions
    assert data.X.shape == (N, F) and data.X.nnz == nnz
    assert data.num_classes == c
    assert (data.idx_train.size, data.idx_val.size, data.idx_test.size) == (n_train, n_val, n_test)
    assert data.labels.shape == (N,) and data.labels.dtype == np.int64


def test_graph_is_symmetric_binary_without_self_loops(data):
    A = data.A
    assert sp.isspmatrix_csr(A)
    assert (A != A.T).nnz == 0
    assert np.all(A.data == 1)
    assert A.diagonal().sum() == 0


def test_features_are_binary_and_not_normalised(data):
    assert sp.isspmatrix_csr(data.X)
    assert np.all(data.X.data == 1)


def test_split_is_disjoint_and_labelled(data):
    train, val, test = data.idx_train, data.idx_val, data.idx_test
    assert (
        len(np.intersect1d(train, val))
        == len(np.intersect1d(train, test))
        == len(np.intersect1d(val, test))
        == 0
    )
    for idx in (train, val, test):
        assert np.all((data.labels[idx] >= 0) & (data.labels[idx] < data.num_classes))
    # 20 labelled nodes per class for training
    assert np.all(np.bincount(data.labels[train], minlength=data.num_classes) == 20)


def test_row_normalized_features(data):
    Xn = data.row_normalized_features()
    sums = np.asarray(Xn.sum(axis=1)).ravel()
    nonempty = np.asarray(data.X.sum(axis=1)).ravel() > 0
    np.testing.assert_allclose(sums[nonempty], 1.0)
    assert np.all(sums[~nonempty] == 0)


def test_normalize_rows_dense_and_sparse_agree():
    X = np.array([[1.0, 3.0, 0.0], [0.0, 0.0, 0.0], [2.0, 0.0, 2.0]])
    expected = np.array([[0.25, 0.75, 0.0], [0.0, 0.0, 0.0], [0.5, 0.0, 0.5]])
    np.testing.assert_allclose(gcnlib.normalize_rows(X), expected)
    np.testing.assert_allclose(gcnlib.normalize_rows(sp.csr_matrix(X)).toarray(), expected)


def test_unknown_name_lists_valid_ones():
    with pytest.raises(ValueError, match=r"pubmed.*citeseer.*cora"):
        gcnlib.load_planetoid("pubmed")
    with pytest.raises(TypeError, match="name"):
        gcnlib.load_planetoid(3)


def test_name_is_case_insensitive():
    assert gcnlib.load_planetoid("Cora").name == "cora"


def test_a_file_that_does_not_match_its_figures_is_refused(monkeypatch):
    wrong = gcnlib.PlanetoidFigures(2708, 5278, 1433, 49216, 7, 140, 500, 999)
    monkeypatch.setitem(gcnlib.PLANETOID_FIGURES, "cora", wrong)
    with pytest.raises(ValueError, match="expected figures"):
        gcnlib.load_planetoid("cora")
