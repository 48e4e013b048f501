"""gcnlib.gradcheck on functions whose gradients are known in closed form."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import gcnlib
from gcnlib import directional_check, numerical_gradient, relative_error


def test_gradient_of_a_frobenius_product(rng):
    C = rng.normal(size=(3, 4))
    X = rng.normal(size=(3, 4))
    np.testing.assert_allclose(numerical_gradient(lambda X: np.sum(C * X), X), C, rtol=1e-8)


def test_gradient_of_half_the_squared_norm(rng):
    X = rng.normal(size=(4, 2))
    np.testing.assert_allclose(numerical_gradient(lambda X: 0.5 * np.sum(X**2), X), X, rtol=1e-8)


def test_gradient_of_a_trace_of_a_product(rng):
    # d tr(B X C) / dX = Bᵀ Cᵀ
    B, C = rng.normal(size=(2, 3)), rng.normal(size=(4, 2))
    X = rng.normal(size=(3, 4))
    G = numerical_gradient(lambda X: np.trace(B @ X @ C), X)
    np.testing.assert_allclose(G, B.T @ C.T, rtol=1e-7)


def test_the_point_is_not_modified_and_lists_work(rng):
    X = rng.normal(size=(2, 2))
    X0 = X.copy()
    numerical_gradient(lambda Y: np.sum(np.sin(Y)), X)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_allclose(numerical_gradient(lambda Y: np.sum(Y**2), [[1, 2]]), [[2.0, 4.0]], rtol=1e-8)


def test_sparse_point_is_perturbed_on_its_pattern_only(rng):
    X = sp.random(5, 5, density=0.3, random_state=1, format="csr")
    C = rng.normal(size=(5, 5))
    G = numerical_gradient(lambda Y: float(Y.multiply(C).sum()), X)
    assert sp.issparse(G) and G.nnz == X.nnz
    np.testing.assert_array_equal(G.indices, X.indices)
    np.testing.assert_allclose(G.toarray(), C * (X.toarray() != 0), rtol=1e-8)


def test_directional_check_agrees_for_the_right_gradient_only(rng):
    X = rng.normal(size=(3, 3))
    f = lambda X: np.sum(np.tanh(X) ** 2)  # noqa: E731
    G = 2 * np.tanh(X) * (1 - np.tanh(X) ** 2)
    numeric, analytic = directional_check(f, X, G, rng=rng)
    assert relative_error(numeric, analytic) < 1e-8
    numeric, analytic = directional_check(f, X, G.T, rng=rng)  # a wrong gradient
    assert relative_error(numeric, analytic) > 1e-3


def test_directional_check_on_a_sparse_pattern(rng):
    X = sp.random(6, 6, density=0.4, random_state=2, format="csr")
    f = lambda Y: float((Y.data**3).sum())  # noqa: E731
    G = X.copy()
    G.data = 3 * X.data**2
    numeric, analytic = directional_check(f, X, G, rng=rng)
    assert relative_error(numeric, analytic) < 1e-8


def test_directional_check_refuses_a_gradient_of_another_shape(rng):
    with pytest.raises(ValueError, match="G has shape"):
        directional_check(np.sum, np.ones((2, 3)), np.ones((3, 2)), rng=rng)


def test_relative_error_properties(rng):
    a = rng.normal(size=(3, 3))
    assert relative_error(a, a) == 0.0
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error(a, -a) == pytest.approx(2.0)
    assert relative_error(a, 2 * a) == pytest.approx(0.5)
    assert relative_error(a, 2 * a) == relative_error(2 * a, a)
    assert relative_error(1.0, 1.0 + 1e-12) == pytest.approx(1e-12, rel=1e-3)
    S = sp.csr_matrix(a)
    assert relative_error(S, a) == 0.0
    with pytest.raises(ValueError, match="shape"):
        relative_error(np.ones(2), np.ones(3))


def test_sparse_arrays_keep_their_own_product():
    """For a scipy sparse *array*, ``*`` is element-wise; the checker must not turn it into a matrix."""
    X = sp.csr_array(np.array([[1.0, 0.0], [2.0, 3.0]]))
    G = gcnlib.numerical_gradient(lambda Y: (Y * Y).sum(), X)
    np.testing.assert_allclose(G.toarray(), [[2.0, 0.0], [4.0, 6.0]], rtol=1e-8)


def test_shapes_must_agree_for_sparse_inputs_too():
    X = sp.csr_matrix(np.eye(4))
    with pytest.raises(ValueError, match=r"G has shape \(1, 4\) but X has shape \(4, 4\)"):
        gcnlib.directional_check(lambda Y: 0.0, X, np.ones((1, 4)))
    with pytest.raises(ValueError, match=r"a has shape \(4, 4\) but b has shape \(1, 4\)"):
        gcnlib.relative_error(X, np.ones((1, 4)))


def test_directional_check_is_reproducible_by_default():
    X = np.arange(6.0).reshape(2, 3)
    f = lambda Y: float(np.sum(Y**3))  # noqa: E731
    assert gcnlib.directional_check(f, X, 3 * X**2) == gcnlib.directional_check(f, X, 3 * X**2)
