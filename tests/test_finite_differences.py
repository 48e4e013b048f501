"""gcnlib.finite_differences: the one-matrix checks on functions whose gradients are known in
closed form, and check_gradients on whole networks, right and deliberately wrong."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import gcnlib
import gcnlib.finite_differences
from gcnlib import directional_check, numerical_gradient, relative_error


def test_docstring_examples():
    assert doctest.testmod(gcnlib.finite_differences).failed == 0


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


# --- check_gradients: the whole network ------------------------------------------------

SMOOTH = ["identity", "sigmoid", "tanh", "softplus", "gelu"]  # (elu's curvature jumps at 0)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    m=st.integers(1, 6),
    widths=st.lists(st.integers(1, 4), min_size=2, max_size=4),
    names=st.lists(st.sampled_from(SMOOTH), min_size=3, max_size=3),
    sparse_A=st.booleans(),
    float32=st.booleans(),
    with_biases=st.booleans(),
    with_masks=st.booleans(),
)
def test_check_gradients_passes_every_gradient_of_a_right_network(
    seed, m, widths, names, sparse_A, float32, with_biases, with_masks
):
    rng = np.random.default_rng(seed)
    T = len(widths) - 1
    # entries of size 0.2 to 1 (or 0): a gradient far smaller than the loss drowns in the round-off of
    # the central differences, |L|·1e-16/ε, a property of the estimate rather than of backward
    A = rng.uniform(0.2, 1, size=(m, m)) * rng.choice([-1, 1], size=(m, m)) * (rng.random((m, m)) < 0.6)
    A = sp.csr_matrix(A) if sparse_A else A
    H0 = rng.normal(size=(m, widths[0]))
    Ws = [rng.normal(size=(o, n)) / np.sqrt(o) for o, n in zip(widths[:-1], widths[1:], strict=True)]
    if float32:  # check_gradients works in float64 whatever it is given
        A, H0, Ws = A.astype(np.float32), H0.astype(np.float32), [W.astype(np.float32) for W in Ws]
    biases = [rng.normal(size=n) / 2 for n in widths[1:]] if with_biases else None
    masks = [2.0 * (rng.random((m, o)) < 0.7) for o in widths[:-1]] if with_masks else None
    Y = rng.normal(size=(m, widths[-1]))  # (a squared error: a saturated softmax would leave the
    errors = gcnlib.check_gradients(
        A,
        H0,
        Ws,
        sigma=names[:T],
        biases=biases,
        masks=masks,  # estimate
        loss=lambda Z: gcnlib.squared_error(Z, Y),
    )  # mostly round-off)
    expected = [f"W^{t}" for t in range(1, T + 1)] + [f"b^{t}" for t in range(1, T + 1) if with_biases]
    assert list(errors) == expected + ["A", "H0"]
    assert max(errors.values()) < 1e-5, errors


def test_check_gradients_finds_a_wrong_derivative_where_it_matters():
    """A wrong σ' in layer 1 spoils e^1, hence ∂L/∂W^1, ∂L/∂b^1, ∂L/∂A and ∂L/∂H^0, but not the
    gradients of layer 2, which come before e^1 in the backward pass."""
    rng = np.random.default_rng(0)
    A, H0 = rng.normal(size=(6, 6)), rng.normal(size=(6, 3))
    Ws, biases = [rng.normal(size=(3, 4)), rng.normal(size=(4, 2))], [rng.normal(size=4), rng.normal(size=2)]
    wrong = gcnlib.Activation("tanh with σ' = 1 − H", np.tanh, lambda Z, H: 1 - H)
    errors = gcnlib.check_gradients(A, H0, Ws, sigma=[wrong, "identity"], biases=biases)
    assert all(errors[name] > 1e-2 for name in ("W^1", "b^1", "A", "H0")), errors
    assert errors["W^2"] < 1e-7 and errors["b^2"] < 1e-7, errors
    right = gcnlib.check_gradients(A, H0, Ws, sigma=["tanh", "identity"], biases=biases)
    assert max(right.values()) < 1e-7, right


def test_check_gradients_along_random_directions_on_a_larger_graph():
    rng = np.random.default_rng(1)
    A = gcnlib.normalize_adjacency(gcnlib.random_graph(2000, 6, rng=rng))
    H0, Ws = rng.normal(size=(2000, 20)), [rng.normal(size=(20, 8)) / 4, rng.normal(size=(8, 3)) / 3]
    with pytest.raises(ValueError, match=r"H0 has 40,000 entries.*max_entries = 20,000.*directions=10"):
        gcnlib.check_gradients(A, H0, Ws)
    errors = gcnlib.check_gradients(A, H0, Ws, sigma="gelu", biases=[None, np.ones(3)], directions=3, rng=2)
    assert list(errors) == ["W^1", "W^2", "b^2", "A", "H0"] and max(errors.values()) < 1e-6, errors


def test_check_gradients_refuses_a_loss_that_does_not_return_the_pair():
    with pytest.raises(
        TypeError, match=r"loss must return the pair \(L, e_T\).*softmax_cross_entropy.*float"
    ):
        gcnlib.check_gradients(np.eye(2), np.ones((2, 1)), [np.ones((1, 1))], loss=lambda Z: float(Z.sum()))
    with pytest.raises(TypeError, match="loss: expected a function"):
        gcnlib.check_gradients(np.eye(2), np.ones((2, 1)), [np.ones((1, 1))], loss="cross-entropy")


def test_the_names_a_pytorch_user_tries():
    """torch.autograd.gradcheck is a function; gcnlib's is check_gradients, and says so."""
    import subprocess
    import sys

    tried = subprocess.run(
        [sys.executable, "-c", "import gcnlib; gcnlib.gradcheck"], capture_output=True, text=True
    )
    assert "AttributeError" in tried.stderr and "gcnlib.check_gradients(A, H0, weights" in tried.stderr
    import gcnlib.gradcheck as old  # the module's former name still imports

    assert old.numerical_gradient is gcnlib.numerical_gradient
