"""The Frobenius and Hadamard identities the book states, on random matrices."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from gcnlib import frobenius, hadamard

sizes = st.integers(min_value=1, max_value=6)
seeds = st.integers(min_value=0, max_value=2**32 - 1)


def random(rng, *shape):
    return rng.standard_normal(shape)


def vec(X):
    """Stack the columns of X into one column (the book's vec)."""
    return X.reshape(-1, order="F")


@settings(max_examples=50, deadline=None)
@given(m=sizes, n=sizes, seed=seeds)
def test_frobenius_is_symmetric_and_transpose_invariant(m, n, seed):
    rng = np.random.default_rng(seed)
    A, B = random(rng, m, n), random(rng, m, n)
    assert np.isclose(frobenius(A, B), frobenius(B, A), rtol=1e-12, atol=1e-12)
    assert np.isclose(frobenius(A, B), frobenius(A.T, B.T), rtol=1e-12, atol=1e-12)


@settings(max_examples=50, deadline=None)
@given(m=sizes, n=sizes, seed=seeds)
def test_frobenius_is_the_trace_of_AT_B(m, n, seed):
    rng = np.random.default_rng(seed)
    A, B = random(rng, m, n), random(rng, m, n)
    assert np.isclose(frobenius(A, B), np.trace(A.T @ B), rtol=1e-12, atol=1e-12)
    assert np.isclose(frobenius(A, A), np.linalg.norm(A, "fro") ** 2, rtol=1e-12)


@settings(max_examples=50, deadline=None)
@given(m=sizes, k=sizes, n=sizes, seed=seeds)
def test_moving_a_factor_across_the_colon(m, k, n, seed):
    # C:(AB) = (C Bᵀ):A = (Aᵀ C):B, with A m×k, B k×n, C m×n
    rng = np.random.default_rng(seed)
    A, B, C = random(rng, m, k), random(rng, k, n), random(rng, m, n)
    lhs = frobenius(C, A @ B)
    assert np.isclose(lhs, frobenius(C @ B.T, A), rtol=1e-10, atol=1e-12)
    assert np.isclose(lhs, frobenius(A.T @ C, B), rtol=1e-10, atol=1e-12)


@settings(max_examples=50, deadline=None)
@given(m=sizes, n=sizes, seed=seeds)
def test_hadamard_moves_across_the_colon(m, n, seed):
    # (A ⊙ B):C = A:(B ⊙ C)
    rng = np.random.default_rng(seed)
    A, B, C = random(rng, m, n), random(rng, m, n), random(rng, m, n)
    assert np.isclose(frobenius(hadamard(A, B), C), frobenius(A, hadamard(B, C)), rtol=1e-10, atol=1e-12)


@settings(max_examples=50, deadline=None)
@given(m=sizes, n=sizes, seed=seeds)
def test_hadamard_is_a_diagonal_matrix_on_vec(m, n, seed):
    # vec(A ⊙ X) = diag(vec A) vec X
    rng = np.random.default_rng(seed)
    A, X = random(rng, m, n), random(rng, m, n)
    np.testing.assert_allclose(vec(hadamard(A, X)), np.diag(vec(A)) @ vec(X), rtol=1e-14)


def test_hadamard_is_entry_by_entry_and_keeps_dtype():
    A = np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32)
    B = np.array([[5.0, 6.0], [7.0, 8.0]], dtype=np.float32)
    H = hadamard(A, B)
    np.testing.assert_array_equal(H, [[5, 12], [21, 32]])
    assert H.dtype == np.float32


def test_sparse_operands_give_the_dense_answer():
    rng = np.random.default_rng(0)
    S = sp.random(7, 5, density=0.3, format="csr", random_state=1)
    D = rng.standard_normal((7, 5))
    expected = np.sum(S.toarray() * D)
    assert np.isclose(frobenius(S, D), expected)
    assert np.isclose(frobenius(D, S), expected)
    H = hadamard(S, D)
    assert sp.issparse(H)
    assert H.nnz <= S.nnz
    np.testing.assert_allclose(H.toarray(), S.toarray() * D)
    np.testing.assert_allclose(hadamard(D, S).toarray(), S.toarray() * D)


@pytest.mark.parametrize("product", [frobenius, hadamard])
@pytest.mark.parametrize(
    "shape_A, shape_B", [((2, 3), (3, 2)), ((2, 3), (1, 3)), ((2, 3), (2, 1)), ((4,), (4, 1))]
)
def test_mismatched_shapes_raise_and_name_both(product, shape_A, shape_B):
    with pytest.raises(ValueError) as info:
        product(np.ones(shape_A), np.ones(shape_B))
    message = str(info.value)
    assert str(shape_A) in message and str(shape_B) in message


@pytest.mark.parametrize("product", [frobenius, hadamard])
def test_non_numeric_input_is_a_type_error(product):
    with pytest.raises(TypeError, match="numeric"):
        product([["a", "b"]], [[1, 2]])


@pytest.mark.parametrize("product", [frobenius, hadamard])
def test_complex_input_is_a_type_error(product):
    with pytest.raises(TypeError, match="complex"):
        product(np.ones((2, 2)) * 1j, np.ones((2, 2)))
