"""The renormalised adjacency, the karate club against networkx, random sparse graphs."""

import doctest

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

import gcnlib.graphs
from gcnlib import KarateClub, karate_club, normalize_adjacency, random_graph


def test_docstring_examples():
    assert doctest.testmod(gcnlib.graphs).failed == 0


# --- normalize_adjacency -------------------------------------------------------------


def by_definition(A):
    """D̃^{-1/2} (A + I) D̃^{-1/2} with explicit diagonal matrices."""
    A_tilde = A + np.eye(len(A))
    D_inv_sqrt = np.diag(1 / np.sqrt(A_tilde.sum(axis=1)))
    return D_inv_sqrt @ A_tilde @ D_inv_sqrt


def test_dense_matches_the_definition_on_the_karate_club():
    A = karate_club().A
    A_hat = normalize_adjacency(A)
    assert isinstance(A_hat, np.ndarray)
    np.testing.assert_allclose(A_hat, by_definition(A), rtol=1e-14)
    np.testing.assert_allclose(A_hat, A_hat.T, rtol=1e-14)  # symmetric in, symmetric out


def test_dense_without_symmetry_uses_row_sums():
    A = np.random.default_rng(0).uniform(0, 1, size=(6, 6))
    np.testing.assert_allclose(normalize_adjacency(A), by_definition(A), rtol=1e-14)


@pytest.mark.parametrize("kind", [sp.csr_matrix, sp.csc_matrix, sp.coo_matrix, sp.csr_array])
def test_sparse_in_gives_csr_out_equal_to_dense(kind):
    A = random_graph(60, 4, rng=1)
    A_hat = normalize_adjacency(kind(A))
    assert sp.issparse(A_hat) and A_hat.format == "csr"
    assert A_hat.nnz == A.nnz + 60  # the pattern of A plus the diagonal
    np.testing.assert_allclose(A_hat.toarray(), by_definition(A.toarray()), rtol=1e-14)


def test_sparse_input_is_never_densified(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("densified")

    A = random_graph(50, 3, rng=2)
    monkeypatch.setattr(type(A), "toarray", refuse)
    monkeypatch.setattr(type(A), "todense", refuse)
    assert sp.issparse(normalize_adjacency(A))


def test_dtypes():
    A = karate_club().A
    assert normalize_adjacency(A.astype(np.float32)).dtype == np.float32
    assert normalize_adjacency(sp.csr_matrix(A, dtype=np.float32)).dtype == np.float32
    assert normalize_adjacency(A.astype(int)).dtype == np.float64
    assert normalize_adjacency(A.astype(bool)).dtype == np.float64
    assert normalize_adjacency(A.astype(int).tolist()).dtype == np.float64


def test_isolated_node_keeps_its_own_feature():
    A = np.zeros((3, 3))
    A[0, 1] = A[1, 0] = 1
    A_hat = normalize_adjacency(A)
    assert A_hat[2, 2] == 1.0 and A_hat[2, :2].sum() == 0


@pytest.mark.parametrize(
    "shape, pattern", [((3, 4), "square.*3×4"), ((3,), r"2-D.*\(3,\)"), ((2, 2, 2), r"2-D.*\(2, 2, 2\)")]
)
def test_non_square_is_a_value_error_naming_the_shape(shape, pattern):
    with pytest.raises(ValueError, match=pattern):
        normalize_adjacency(np.ones(shape))


def test_non_square_sparse_is_a_value_error():
    with pytest.raises(ValueError, match="square.*3×4"):
        normalize_adjacency(sp.csr_matrix(np.ones((3, 4))))


@pytest.mark.parametrize("as_sparse", [False, True])
def test_non_positive_degree_is_a_value_error(as_sparse):
    A = np.array([[0.0, -1.0], [1.0, 0.0]])  # row 0 of A + I sums to 0
    with pytest.raises(ValueError, match="row 0"):
        normalize_adjacency(sp.csr_matrix(A) if as_sparse else A)


def test_nan_and_complex_and_text_are_refused():
    with pytest.raises(ValueError, match="NaN"):
        normalize_adjacency(np.array([[0.0, np.nan], [1.0, 0.0]]))
    with pytest.raises(TypeError, match="complex"):
        normalize_adjacency(np.eye(2) * 1j)
    with pytest.raises(TypeError, match="real numbers"):
        normalize_adjacency([["a", "b"], ["c", "d"]])


# --- the karate club -----------------------------------------------------------------


def test_karate_club_matches_networkx():
    G = nx.karate_club_graph()
    club = karate_club()
    assert isinstance(club, KarateClub)
    assert club.edges.shape == (78, 2)
    assert {tuple(e) for e in club.edges.tolist()} == {tuple(sorted(e)) for e in G.edges()}
    np.testing.assert_array_equal(club.A, nx.to_numpy_array(G, nodelist=range(34), weight=None))
    assert [club.factions[y] for y in club.labels] == [G.nodes[i]["club"] for i in range(34)]


def test_karate_club_shapes_and_types():
    club = karate_club()
    assert club.A.shape == (34, 34) and club.A.dtype == np.float64
    assert set(np.unique(club.A)) == {0.0, 1.0}
    np.testing.assert_array_equal(club.A, club.A.T)
    assert np.all(np.diag(club.A) == 0)
    assert club.A.sum() == 2 * 78
    assert club.labels.shape == (34,) and np.issubdtype(club.labels.dtype, np.integer)
    assert club.labels[0] == 0 and club.labels[33] == 1  # the instructor and the officer
    assert np.all(club.edges[:, 0] < club.edges[:, 1])
    assert np.bincount(club.labels).tolist() == [17, 17]


def test_karate_club_repr_is_one_short_line():
    assert repr(karate_club()) == "KarateClub(34 members, 78 friendships; Mr. Hi: 17, Officer: 17)"


def test_karate_club_is_a_fresh_copy_each_time():
    club = karate_club()
    club.A[0, 1] = 5
    assert karate_club().A[0, 1] == 1


# --- random graphs -------------------------------------------------------------------


@pytest.mark.parametrize("m, degree", [(2, 1), (10, 3), (500, 7.5), (2000, 12), (30, 29), (40, 0)])
def test_random_graph_is_symmetric_01_without_loops(m, degree):
    A = random_graph(m, degree, rng=np.random.default_rng(3))
    assert sp.isspmatrix_csr(A) and A.shape == (m, m)
    assert A.nnz == 2 * round(m * degree / 2)
    assert (A != A.T).nnz == 0
    assert np.all(A.data == 1)
    assert A.diagonal().sum() == 0


def test_random_graph_is_reproducible_from_a_seed():
    assert (random_graph(300, 5, rng=7) != random_graph(300, 5, rng=7)).nnz == 0
    assert (random_graph(300, 5, rng=7) != random_graph(300, 5, rng=8)).nnz > 0


def test_random_graph_dtype():
    assert random_graph(20, 3, rng=0, dtype=np.float32).dtype == np.float32


@pytest.mark.parametrize("m, degree", [(1, 0), (10, 10), (10, -1), (2.5, 1)])
def test_random_graph_refuses_impossible_sizes(m, degree):
    with pytest.raises(ValueError):
        random_graph(m, degree, rng=0)
