"""Index notation: the 4th-order Jacobians and the backward pass built from them."""

import doctest
import time

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
import scipy.sparse as sp

import gcnlib
import gcnlib.index_notation
from gcnlib import Activation, backward, backward_index, dH_dZ, dZ_dH, dZ_dW, forward

ACTIVATION_NAMES = ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus"]


def test_docstring_examples():
    assert doctest.testmod(gcnlib.index_notation).failed == 0


def small_network(rng, m=6, widths=(3, 4, 2), dtype=np.float64):
    """A dense adjacency, features and weights: widths = (o_1, n_1, ..., n_T).

    A is deliberately not symmetric, so that a formula with A where Aᵀ belongs fails.
    """
    A = rng.uniform(0, 1, size=(m, m)) * (rng.random((m, m)) < 0.5)
    H0 = rng.standard_normal((m, widths[0]))
    weights = [rng.standard_normal((o, n)) for o, n in zip(widths[:-1], widths[1:], strict=True)]
    return A.astype(dtype), H0.astype(dtype), [W.astype(dtype) for W in weights]


def jacobian_by_differences(f, X, eps=1e-6):
    """J[..., k, l] = ∂f(X)/∂X_kl by central differences; f returns an array."""
    columns = {}
    for index in np.ndindex(*X.shape):
        step = np.zeros_like(X)
        step[index] = eps
        columns[index] = (f(X + step) - f(X - step)) / (2 * eps)
    J = np.zeros(columns[(0, 0)].shape + X.shape)
    for index, column in columns.items():
        J[(...,) + index] = column
    return J


# --- the Jacobians -------------------------------------------------------------------


def test_dZ_dH_against_differences_and_autograd():
    rng = np.random.default_rng(0)
    A, H, (W,) = small_network(rng, m=5, widths=(3, 4))
    J = dZ_dH(A, W)
    assert J.shape == (5, 4, 5, 3)  # (m, n, m, o)
    np.testing.assert_allclose(J, jacobian_by_differences(lambda X: A @ X @ W, H), atol=1e-9)
    np.testing.assert_allclose(J, autograd.jacobian(lambda X: anp.dot(anp.dot(A, X), W))(H), atol=1e-14)


def test_dZ_dH_entries_are_A_ik_W_lj():
    rng = np.random.default_rng(1)
    A, _, (W,) = small_network(rng, m=4, widths=(2, 3))
    J = dZ_dH(A, W)
    for i, j, k, l in np.ndindex(*J.shape):
        assert J[i, j, k, l] == A[i, k] * W[l, j]


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_dH_dZ_against_differences(name):
    rng = np.random.default_rng(2)
    Z = rng.standard_normal((4, 3))
    act = gcnlib.ACTIVATIONS[name]
    J = dH_dZ(Z, name)
    assert J.shape == (4, 3, 4, 3)  # (m, n, m, n)
    np.testing.assert_allclose(J, jacobian_by_differences(act.f, Z), atol=1e-8)
    np.testing.assert_array_equal(J, dH_dZ(Z, act, act.f(Z)))  # passing H changes nothing


def test_dH_dZ_is_diagonal_with_sigma_prime_on_the_diagonal():
    Z = np.random.default_rng(3).standard_normal((3, 2))
    J = dH_dZ(Z, "tanh")
    np.testing.assert_allclose(J.reshape(6, 6), np.diag((1 - np.tanh(Z) ** 2).ravel()), rtol=1e-15)
    np.testing.assert_allclose(J, autograd.jacobian(anp.tanh)(Z), atol=1e-15)


def test_dH_dZ_accepts_a_readers_own_activation():
    cube = Activation("cube", lambda Z: Z**3, lambda Z, H: 3 * Z**2)
    Z = np.random.default_rng(4).standard_normal((2, 3))
    np.testing.assert_allclose(dH_dZ(Z, cube), jacobian_by_differences(cube.f, Z), atol=1e-8)


def test_dZ_dW_against_differences_and_gives_the_weight_gradient():
    rng = np.random.default_rng(5)
    A, H, (W,) = small_network(rng, m=5, widths=(3, 2))
    J = dZ_dW(A, H, W.shape[1])
    assert J.shape == (5, 2, 3, 2)  # (m, n, o, n)
    np.testing.assert_allclose(J, jacobian_by_differences(lambda V: A @ H @ V, W), atol=1e-9)
    e = rng.standard_normal((5, 2))
    np.testing.assert_allclose(np.einsum("ij,ijkl->kl", e, J), (A @ H).T @ e, rtol=1e-13)


# --- the backward pass ---------------------------------------------------------------


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
@pytest.mark.parametrize("widths", [(3, 2), (3, 4, 2), (2, 5, 3, 4), (4, 3, 3, 2, 3)])
def test_backward_index_equals_backward(name, widths):
    rng = np.random.default_rng(len(widths) * 10 + len(name))
    A, H0, weights = small_network(rng, m=6, widths=widths)
    trace = forward(A, H0, weights, sigma=name)
    e_T = rng.standard_normal(trace.Z[-1].shape)
    by_index = backward_index(trace, e_T)
    by_matrix = backward(trace, e_T).e
    assert len(by_index) == len(widths) - 1
    for t, (a, b) in enumerate(zip(by_index, by_matrix, strict=True), start=1):
        assert a.shape == b.shape, f"e^{t}"
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14, err_msg=f"e^{t}")


def autograd_e(trace, e_T):
    """e^t = ∂L/∂Z^t for L = e_T : Z^T, by HIPS autograd on a plain re-run of the layers after t."""
    sigma = {
        "identity": lambda Z: Z,
        "sigmoid": lambda Z: 1 / (1 + anp.exp(-Z)),
        "tanh": anp.tanh,
        "relu": lambda Z: anp.maximum(Z, 0.0),
        "leaky_relu": lambda Z: anp.where(Z > 0, Z, 0.01 * Z),
        "softplus": lambda Z: anp.log(1 + anp.exp(Z)),
    }[trace.activation.name]
    A, weights = trace.A, trace.weights

    def loss_from_layer(i):
        def loss(Z):
            for W in weights[i + 1 :]:
                Z = anp.dot(anp.dot(A, sigma(Z)), W)
            return anp.sum(e_T * Z)

        return loss

    return [autograd.grad(loss_from_layer(i))(Z) for i, Z in enumerate(trace.Z)]


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_backward_index_matches_autograd(name):
    rng = np.random.default_rng(40 + len(name))
    A, H0, weights = small_network(rng, m=6, widths=(3, 4, 3, 2))
    trace = forward(A, H0, weights, sigma=name)
    e_T = rng.standard_normal(trace.Z[-1].shape)
    for t, (a, b) in enumerate(zip(backward_index(trace, e_T), autograd_e(trace, e_T), strict=True), start=1):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13, err_msg=f"e^{t}")


def test_backward_index_weight_gradients_by_the_index_route():
    rng = np.random.default_rng(6)
    A, H0, weights = small_network(rng, m=5, widths=(3, 4, 2))
    trace = forward(A, H0, weights, sigma="sigmoid")
    e_T = rng.standard_normal(trace.Z[-1].shape)
    e = backward_index(trace, e_T)
    grads = backward(trace, e_T)
    for t, W in enumerate(weights, start=1):
        dW = np.einsum("ij,ijkl->kl", e[t - 1], dZ_dW(A, trace.H[t - 1], W.shape[1]))
        np.testing.assert_allclose(dW, grads.W[t - 1], rtol=1e-12, atol=1e-14)


def test_two_contractions_equal_the_double_sum_written_at_once():
    rng = np.random.default_rng(7)
    A, H0, weights = small_network(rng, m=4, widths=(2, 3, 2))
    trace = forward(A, H0, weights, sigma="softplus")
    e_T = rng.standard_normal(trace.Z[-1].shape)
    e_1 = np.einsum("ij,ijkl,klpq->pq", e_T, dZ_dH(A, weights[1]), dH_dZ(trace.Z[0], "softplus", trace.H[1]))
    np.testing.assert_allclose(backward_index(trace, e_T)[0], e_1, rtol=1e-13)


def test_backward_index_keeps_float32():
    rng = np.random.default_rng(8)
    A, H0, weights = small_network(rng, m=5, widths=(3, 4, 2), dtype=np.float32)
    trace = forward(A, H0, weights, sigma="tanh")
    e_T = rng.standard_normal(trace.Z[-1].shape).astype(np.float32)
    by_index = backward_index(trace, e_T)
    assert all(e.dtype == np.float32 for e in by_index)
    for a, b in zip(by_index, backward(trace, e_T).e, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


# --- the size guard and the errors ---------------------------------------------------


def test_the_guard_fires_before_any_work_with_sizes_and_shapes_in_the_message():
    start = time.perf_counter()
    with pytest.raises(ValueError) as info:
        dZ_dH(np.eye(300), np.ones((40, 40)))  # 300·40·300·40 numbers, 1.1 GiB
    assert time.perf_counter() - start < 1
    message = str(info.value)
    assert "300×40×300×40" in message and "1,098.6 MiB" in message and "256.0 MiB" in message


@pytest.mark.parametrize(
    "call",
    [
        lambda: dH_dZ(np.zeros((300, 20)), "tanh"),  # 275 MiB
        lambda: dZ_dW(np.eye(300), np.zeros((300, 20)), 100),  # 458 MiB
    ],
)
def test_the_guard_protects_every_tensor(call):
    with pytest.raises(ValueError, match="MiB"):
        call()


def test_the_guard_of_backward_index_names_both_jacobians_and_the_limit():
    rng = np.random.default_rng(9)
    A, H0, weights = small_network(rng, m=6, widths=(3, 4, 2))
    trace = forward(A, H0, weights)
    e_T = np.ones(trace.Z[-1].shape)
    with pytest.raises(ValueError) as info:
        backward_index(trace, e_T, max_bytes=1000)
    message = str(info.value)
    assert "6×2×6×4" in message and "6×4×6×4" in message  # ∂Z^2/∂H^1 and ∂H^1/∂Z^1
    assert "MiB" in message and "1,000 bytes" in message and "max_bytes" in message
    assert len(backward_index(trace, e_T, max_bytes=100_000)) == 2  # a larger limit is obeyed


def test_backward_index_refuses_a_sparse_A():
    rng = np.random.default_rng(10)
    A, H0, weights = small_network(rng, m=5, widths=(3, 2))
    trace = forward(sp.csr_matrix(A), H0, weights)
    with pytest.raises(TypeError, match=r"dense A.*\(5, 5\)"):
        backward_index(trace, np.ones((5, 2)))
    with pytest.raises(TypeError, match="dense A"):
        dZ_dH(sp.csr_matrix(A), weights[0])


def test_backward_index_refuses_masks_bad_e_T_and_non_traces():
    rng = np.random.default_rng(11)
    A, H0, weights = small_network(rng, m=5, widths=(3, 4, 2))
    masked = forward(A, H0, weights, masks=[None, np.ones((5, 4))])
    with pytest.raises(ValueError, match="masks"):
        backward_index(masked, np.ones((5, 2)))
    trace = forward(A, H0, weights)
    with pytest.raises(ValueError, match=r"\(5, 3\).*\(5, 2\)"):
        backward_index(trace, np.ones((5, 3)))
    with pytest.raises(TypeError, match="Trace"):
        backward_index({"Z": []}, np.ones((5, 2)))


def test_jacobian_argument_errors():
    with pytest.raises(ValueError, match=r"square.*\(3, 4\)"):
        dZ_dH(np.ones((3, 4)), np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"\(3, 2\)"):
        dH_dZ(np.ones((2, 3)), "tanh", H=np.ones((3, 2)))
    with pytest.raises(ValueError, match="valid names"):
        dH_dZ(np.ones((2, 3)), "swish")
    with pytest.raises(ValueError, match=r"\(4, 2\).*\(3, 3\)"):
        dZ_dW(np.eye(3), np.ones((4, 2)), 2)
    with pytest.raises(TypeError, match="n"):
        dZ_dW(np.eye(3), np.ones((3, 2)), 2.0)
    with pytest.raises(ValueError, match="≥ 1"):
        dZ_dW(np.eye(3), np.ones((3, 2)), 0)
