"""The gradient through Â = D̃^{-1/2}(A + I)D̃^{-1/2}: finite differences, autograd, sparse, errors."""

import doctest

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
import scipy.sparse as sp

import gcnlib
import gcnlib.renormalization
from gcnlib import normalize_adjacency, normalize_adjacency_backward, undirected_edge_gradient


def test_docstring_examples():
    assert doctest.testmod(gcnlib.renormalization).failed == 0


def weighted_graph(rng, m=7, density=0.4, symmetric=False):
    """Positive edge weights on a random pattern (no self-loops); symmetric if asked."""
    A = rng.uniform(0.5, 2.0, size=(m, m)) * (rng.random((m, m)) < density)
    np.fill_diagonal(A, 0.0)
    return np.triu(A) + np.triu(A, 1).T if symmetric else A


def normalize_autograd(A):
    """Â written in autograd.numpy, independently of gcnlib."""
    A_tilde = A + anp.eye(A.shape[0])
    d = anp.sum(A_tilde, axis=1)
    return A_tilde / anp.sqrt(anp.outer(d, d))


def smooth_loss(A_hat, C):
    """A non-linear scalar function of Â, so that G = ∂ℓ/∂Â varies with Â."""
    return anp.sum(anp.tanh(anp.dot(A_hat, C)) ** 2)


def G_of(A_hat, C):
    return autograd.grad(smooth_loss)(A_hat, C)


@pytest.mark.parametrize("symmetric", [False, True])
def test_dense_against_finite_differences_and_autograd(symmetric):
    rng = np.random.default_rng(1 + symmetric)
    A = weighted_graph(rng, symmetric=symmetric)
    C = rng.standard_normal((7, 3))
    G = G_of(normalize_adjacency(A), C)
    dA = normalize_adjacency_backward(A, G)

    L = lambda A_: smooth_loss(normalize_autograd(A_), C)
    np.testing.assert_allclose(dA, autograd.grad(L)(A), rtol=1e-11, atol=1e-13)
    assert gcnlib.relative_error(dA, gcnlib.numerical_gradient(L, A)) < 1e-7


def test_every_entry_is_a_weight_in_the_dense_case():
    # the gradient is non-zero off the pattern too: adding an edge would change the loss
    rng = np.random.default_rng(3)
    A = weighted_graph(rng)
    G = G_of(normalize_adjacency(A), rng.standard_normal((7, 2)))
    dA = normalize_adjacency_backward(A, G)
    assert np.count_nonzero(dA[A == 0]) > 0


def test_the_formula_entry_by_entry():
    rng = np.random.default_rng(4)
    A = weighted_graph(rng, m=5)
    A_hat = normalize_adjacency(A)
    G = rng.standard_normal((5, 5))
    d = A.sum(axis=1) + 1
    r, c = (G * A_hat).sum(axis=1), (G * A_hat).sum(axis=0)
    dA = normalize_adjacency_backward(A, G)
    for k in range(5):
        for l in range(5):
            assert dA[k, l] == pytest.approx(G[k, l] / np.sqrt(d[k] * d[l]) - (r[k] + c[k]) / (2 * d[k]))


def test_sparse_A_gives_the_dense_gradient_on_its_pattern():
    rng = np.random.default_rng(5)
    A = weighted_graph(rng, m=9, density=0.3)
    A_sparse = sp.csr_matrix(A)
    C = rng.standard_normal((9, 2))
    G = G_of(normalize_adjacency(A), C)
    dense = normalize_adjacency_backward(A, G)
    for G_input in (G, sp.csr_matrix(np.where(normalize_adjacency(A) != 0, G, 0.0))):
        sparse = normalize_adjacency_backward(A_sparse, G_input)
        assert sp.issparse(sparse) and sparse.nnz == A_sparse.nnz
        np.testing.assert_array_equal(sparse.indices, A_sparse.indices)
        np.testing.assert_allclose(sparse.toarray(), np.where(A != 0, dense, 0.0), rtol=1e-13, atol=1e-15)


def test_sparse_against_finite_differences_on_the_stored_entries():
    rng = np.random.default_rng(6)
    A_sparse = sp.csr_matrix(weighted_graph(rng, m=8, density=0.3))
    C = rng.standard_normal((8, 2))

    def L(A_):
        return smooth_loss(normalize_adjacency(A_).toarray(), C)

    G = sp.csr_matrix(G_of(normalize_adjacency(A_sparse).toarray(), C))
    dA = normalize_adjacency_backward(A_sparse, G)
    numeric = gcnlib.numerical_gradient(L, A_sparse)  # perturbs the stored entries only
    assert gcnlib.relative_error(dA.toarray(), numeric.toarray()) < 1e-7


def test_off_pattern_entries_of_G_cannot_matter():
    rng = np.random.default_rng(7)
    A = weighted_graph(rng, m=6, density=0.3)
    A_hat = normalize_adjacency(A)
    G = rng.standard_normal((6, 6))
    G_noisy = G + np.where(A_hat == 0, rng.standard_normal((6, 6)), 0.0)
    on = normalize_adjacency_backward(sp.csr_matrix(A), G)
    noisy = normalize_adjacency_backward(sp.csr_matrix(A), G_noisy)
    np.testing.assert_allclose(on.toarray(), noisy.toarray(), rtol=1e-14)


def test_end_to_end_with_the_recursion():
    # L(A) = ½‖Z^T − Y‖² of a GCN on Â(A): gcnlib.backward gives ∂L/∂Â, then one more step
    rng = np.random.default_rng(8)
    A = weighted_graph(rng, m=6, symmetric=True)
    H0, Y = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    weights = [rng.standard_normal((3, 4)), rng.standard_normal((4, 2))]
    trace = gcnlib.forward(normalize_adjacency(A), H0, weights, sigma="tanh")
    _, e_T = gcnlib.squared_error(trace.Z[-1], Y)
    dA = normalize_adjacency_backward(A, gcnlib.backward(trace, e_T, wrt=("A",)).A)

    def L(A_):
        H = H0
        for W in weights:
            Z = anp.dot(anp.dot(normalize_autograd(A_), H), W)
            H = anp.tanh(Z)
        return 0.5 * anp.sum((Z - Y) ** 2)

    np.testing.assert_allclose(dA, autograd.grad(L)(A), rtol=1e-10, atol=1e-12)
    # one weight per undirected edge
    w_grad = undirected_edge_gradient(dA)

    def L_of_edge(w):  # w on the upper triangle, mirrored
        return L(anp.triu(w) + anp.transpose(anp.triu(w, 1)))

    np.testing.assert_allclose(np.triu(w_grad), np.triu(autograd.grad(L_of_edge)(A)), rtol=1e-10, atol=1e-12)


def test_float32_is_kept():
    rng = np.random.default_rng(9)
    A = weighted_graph(rng, m=5).astype(np.float32)
    G = rng.standard_normal((5, 5)).astype(np.float32)
    assert normalize_adjacency_backward(A, G).dtype == np.float32
    assert normalize_adjacency_backward(sp.csr_matrix(A), G).dtype == np.float32
    assert normalize_adjacency_backward(A, G.astype(np.float64)).dtype == np.float64


def test_A_hat_may_be_passed_in():
    rng = np.random.default_rng(10)
    A = weighted_graph(rng, m=5)
    G = rng.standard_normal((5, 5))
    np.testing.assert_array_equal(
        normalize_adjacency_backward(A, G), normalize_adjacency_backward(A, G, A_hat=normalize_adjacency(A))
    )


def test_undirected_edge_gradient():
    G = np.arange(9.0).reshape(3, 3)
    S = undirected_edge_gradient(G)
    np.testing.assert_array_equal(S, [[0, 4, 8], [4, 4, 12], [8, 12, 8]])
    np.testing.assert_array_equal(undirected_edge_gradient(sp.csr_matrix(G)).toarray(), S)


def test_errors_name_the_argument_and_shapes():
    A = np.ones((3, 3))
    with pytest.raises(ValueError, match=r"G = ∂L/∂Â.*3×3.*3×4"):
        normalize_adjacency_backward(A, np.ones((3, 4)))
    with pytest.raises(ValueError, match=r"A_hat.*3×3.*2×2"):
        normalize_adjacency_backward(A, np.ones((3, 3)), A_hat=np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"square.*3×4"):
        normalize_adjacency_backward(np.ones((3, 4)), np.ones((3, 3)))
    with pytest.raises(ValueError, match="degree"):
        normalize_adjacency_backward([[0.0, -3.0], [1.0, 0.0]], np.ones((2, 2)))
    with pytest.raises(ValueError, match="NaN"):
        normalize_adjacency_backward(A, np.full((3, 3), np.nan))
    with pytest.raises(TypeError, match="G"):
        normalize_adjacency_backward(A, [["a", "b", "c"]] * 3)
    with pytest.raises(ValueError, match=r"square.*2×3"):
        undirected_edge_gradient(np.ones((2, 3)))


def normalize_autograd_loops(A, self_loops):
    """Â for each choice of self-loops, in autograd.numpy; the loops added where the diagonal
    of A is 0 ("missing") are fixed constants, as in gcnlib."""
    m = A.shape[0]
    if self_loops == "none":
        A_tilde = A
    elif self_loops == "add":
        A_tilde = A + anp.eye(m)
    else:
        A_tilde = A + anp.diag((np.diag(np.asarray(getattr(A, "_value", A))) == 0).astype(float))
    d = anp.sum(A_tilde, axis=1)
    return A_tilde / anp.sqrt(anp.outer(d, d))


@pytest.mark.parametrize("self_loops", ["missing", "add", "none"])
@pytest.mark.parametrize("sparse", [False, True])
def test_self_loops_follow_normalize_adjacency(self_loops, sparse):
    # a graph with loops on some nodes: each choice of self_loops normalises another Ã,
    # and the gradient must follow the one that made Â
    rng = np.random.default_rng(11)
    A = weighted_graph(rng) + np.diag([0.7, 0, 1.3, 0, 2.0, 0.4, 0.9])
    A[1, 3] = A[3, 1] = 1.0  # nodes 1 and 3 (no loop) keep a positive degree for "none"
    C = rng.standard_normal((7, 3))
    A_in = sp.csr_matrix(A) if sparse else A
    A_hat = normalize_adjacency(A_in, self_loops=self_loops)
    G = G_of(np.asarray(A_hat.todense()) if sparse else A_hat, C)
    dA = normalize_adjacency_backward(A_in, G, self_loops=self_loops)

    L = lambda A_: smooth_loss(normalize_autograd_loops(A_, self_loops), C)
    expected = autograd.grad(L)(A)
    fd = gcnlib.numerical_gradient(L, A)
    weights = A != 0  # the stored entries of a sparse A; where "missing" is differentiable
    got = dA.toarray() if sparse else dA
    np.testing.assert_allclose(got[weights], expected[weights], rtol=1e-11, atol=1e-13)
    assert gcnlib.relative_error(got[weights], fd[weights]) < 1e-7
    if not sparse:
        np.testing.assert_allclose(dA, expected, rtol=1e-11, atol=1e-13)
