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
    A = np.random.default_rng(0).uniform(0, 1, size=(6, 6))  # a full diagonal: self_loops="add"
    np.testing.assert_allclose(normalize_adjacency(A, self_loops="add"), by_definition(A), rtol=1e-14)


@pytest.mark.parametrize("as_sparse", [False, True])
def test_self_loops_are_added_only_where_missing_by_default(as_sparse):
    A = karate_club().A
    A_with_loops = A + np.eye(34)
    A_some_loops = A.copy()
    A_some_loops[[0, 5, 33], [0, 5, 33]] = [1.0, 2.5, 1.0]  # three nodes have loops already
    convert = sp.csr_matrix if as_sparse else np.asarray
    expected = by_definition(A)
    for given in (A, A_with_loops):  # normalize_adjacency(A + I) no longer doubles the loops
        np.testing.assert_allclose(dense(normalize_adjacency(convert(given))), expected, rtol=1e-14)
    A_tilde = A_some_loops + np.diag((np.diagonal(A_some_loops) == 0).astype(float))
    np.testing.assert_allclose(
        dense(normalize_adjacency(convert(A_some_loops))), by_definition(A_tilde - np.eye(34)), rtol=1e-14
    )
    # "add" is Kipf & Welling's A + I whatever the diagonal holds, "none" adds nothing
    np.testing.assert_allclose(
        dense(normalize_adjacency(convert(A_with_loops), self_loops="add")),
        by_definition(A_with_loops),
        rtol=1e-14,
    )
    np.testing.assert_allclose(
        dense(normalize_adjacency(convert(A_with_loops), self_loops="none")), expected, rtol=1e-14
    )


def test_self_loops_choice_and_its_errors():
    with pytest.raises(
        ValueError, match=r"self_loops: expected one of \['missing', 'add', 'none'\], got 'yes'"
    ):
        normalize_adjacency(np.eye(2), self_loops="yes")
    A = np.zeros((3, 3))
    A[0, 1] = A[1, 0] = 1  # node 2 is isolated: without loops its degree is 0
    with pytest.raises(
        ValueError, match=r"self_loops='none'.*row 2.*degree 0.*isolated node\? use self_loops='missing'"
    ):
        normalize_adjacency(A, self_loops="none")


def dense(X):
    return X.toarray() if sp.issparse(X) else X


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


# --- graphs in a batch -------------------------------------------------------------------


def small_graphs():
    rng = np.random.default_rng(5)
    club = karate_club().A
    return [club[:10, :10], random_graph(7, 2, rng=rng), sp.csr_array(club[20:, 20:])], rng


def test_a_batch_is_block_diagonal_and_normalises_graph_by_graph():
    graphs, _ = small_graphs()
    batch = gcnlib.batch_graphs(graphs)
    assert sp.issparse(batch.A) and batch.A.format == "csr" and batch.offsets.tolist() == [0, 10, 17, 31]
    np.testing.assert_array_equal(
        batch.A.toarray(), sp.block_diag([sp.csr_matrix(A) for A in graphs]).toarray()
    )
    per_graph = sp.block_diag([normalize_adjacency(A) for A in graphs]).toarray()
    np.testing.assert_allclose(normalize_adjacency(batch.A).toarray(), per_graph, rtol=1e-14)
    assert batch.graph_of_node.tolist() == [0] * 10 + [1] * 7 + [2] * 14
    assert repr(batch) == f"GraphBatch(3 graphs, 31 nodes, {batch.A.nnz} stored entries)"


def test_a_batch_computes_every_graphs_own_forward_and_backward():
    """Z and e of the batch are the graphs' own, stacked; ∂L/∂W is the sum over the graphs
    (one shared W), ∂L/∂A is block-diagonal with each graph's ∂L/∂A_g."""
    graphs, rng = small_graphs()
    batch = gcnlib.batch_graphs(graphs)
    A_hats = [normalize_adjacency(sp.csr_matrix(A)) for A in graphs]  # sparse: ∂L/∂A on the pattern
    features = [rng.normal(size=(A.shape[0], 3)) for A in graphs]
    targets = [rng.normal(size=(A.shape[0], 2)) for A in graphs]
    Ws, b = [rng.normal(size=(3, 4)), rng.normal(size=(4, 2))], [rng.normal(size=4), None]

    trace = gcnlib.forward(
        normalize_adjacency(batch.A), np.vstack(features), Ws, ["relu", "identity"], biases=b
    )
    L, e_T = gcnlib.squared_error(trace.Z[-1], np.vstack(targets))  # a sum over nodes: the graphs' sum
    g = gcnlib.backward(trace, e_T)
    each = []
    for A_hat, H0, Y in zip(A_hats, features, targets, strict=True):
        tr = gcnlib.forward(A_hat, H0, Ws, ["relu", "identity"], biases=b)
        each.append(gcnlib.backward(tr, gcnlib.squared_error(tr.Z[-1], Y)[1]))
        np.testing.assert_allclose(batch.split(trace.Z[-1])[len(each) - 1], tr.Z[-1], rtol=1e-13)
    for t in range(2):
        np.testing.assert_allclose(g.W[t], sum(x.W[t] for x in each), rtol=1e-12)
    np.testing.assert_allclose(g.b[0], sum(x.b[0] for x in each), rtol=1e-12)
    np.testing.assert_allclose(
        g.A.toarray(), sp.block_diag([x.A for x in each]).toarray(), rtol=1e-12, atol=1e-14
    )
    for H0_g, x in zip(batch.split(g.H0), each, strict=True):
        np.testing.assert_allclose(H0_g, x.H0, rtol=1e-12, atol=1e-14)


def test_batch_errors_name_the_graph():
    with pytest.raises(ValueError, match=r"adjacencies\[1\]: the adjacency must be square.*2×3"):
        gcnlib.batch_graphs([np.eye(2), np.ones((2, 3))])
    with pytest.raises(ValueError, match="adjacencies: the list is empty"):
        gcnlib.batch_graphs([])
    with pytest.raises(TypeError, match="adjacencies: expected a list"):
        gcnlib.batch_graphs(np.eye(3))
