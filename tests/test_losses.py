"""Losses: values and gradients against HIPS autograd and central finite differences."""

import doctest

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gcnlib.losses
from gcnlib import accuracy, softmax, softmax_cross_entropy, squared_error


def test_docstring_examples():
    assert doctest.testmod(gcnlib.losses).failed == 0


def central_differences(f, Z, eps=1e-6):
    """∂f/∂Z_ij ≈ (f(Z + eps E_ij) − f(Z − eps E_ij)) / 2eps, entry by entry."""
    G = np.zeros_like(Z)
    for index in np.ndindex(*Z.shape):
        step = np.zeros_like(Z)
        step[index] = eps
        G[index] = (f(Z + step) - f(Z - step)) / (2 * eps)
    return G


# --- independent references written with autograd.numpy --------------------------------


def reference_cross_entropy(Z, labels, rows):
    """−mean over rows of log softmax(Z)[i, y_i], written without the max shift."""
    Zs = Z[rows]
    log_P = Zs - anp.log(anp.sum(anp.exp(Zs), axis=1, keepdims=True))
    return -anp.mean(log_P[np.arange(len(rows)), labels[rows]])


def reference_squared_error(Z, Y):
    return 0.5 * anp.sum((Z - Y) ** 2)


# --- squared error -------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(m=st.integers(1, 6), n=st.integers(1, 5), seed=st.integers(0, 2**32 - 1))
def test_squared_error_against_autograd_and_differences(m, n, seed):
    rng = np.random.default_rng(seed)
    Z, Y = rng.standard_normal((m, n)), rng.standard_normal((m, n))
    L, e_T = squared_error(Z, Y)
    assert np.isclose(L, reference_squared_error(Z, Y), rtol=1e-13)
    np.testing.assert_allclose(e_T, autograd.grad(reference_squared_error)(Z, Y), rtol=1e-13)
    np.testing.assert_allclose(
        e_T, central_differences(lambda X: squared_error(X, Y)[0], Z), rtol=1e-6, atol=1e-8
    )


def test_squared_error_keeps_float32():
    Z = np.ones((3, 2), dtype=np.float32)
    L, e_T = squared_error(Z, np.zeros((3, 2), dtype=np.float32))
    assert e_T.dtype == np.float32 and L == 3.0


def test_squared_error_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(3, 2\).*\(2, 3\)"):
        squared_error(np.ones((3, 2)), np.ones((2, 3)))


# --- softmax -------------------------------------------------------------------------


def test_softmax_rows_sum_to_one_and_survive_huge_logits():
    Z = np.array([[1e4, 0.0, -1e4], [1e4, 1e4, 1e4], [-1e4, -1e4 + 1, -1e4]])
    P = softmax(Z)
    assert np.all(np.isfinite(P))
    np.testing.assert_allclose(P.sum(axis=1), 1, rtol=1e-15)
    np.testing.assert_allclose(P[0], [1, 0, 0])
    np.testing.assert_allclose(P[1], [1 / 3] * 3)
    np.testing.assert_allclose(P[2], softmax([[0.0, 1.0, 0.0]])[0])


def test_softmax_is_shift_invariant_and_keeps_float32():
    Z = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    assert softmax(Z).dtype == np.float32
    np.testing.assert_allclose(softmax(Z), softmax(Z + 100), rtol=1e-5)


# --- softmax cross-entropy -----------------------------------------------------------


def masks_for(m, rng):
    """None, a boolean mask, and index arrays (sorted and not; repeated indices are refused, test_errors)."""
    chosen = rng.choice(m, size=max(1, m // 2), replace=False)
    boolean = np.zeros(m, dtype=bool)
    boolean[chosen] = True
    return [None, boolean, np.sort(chosen), np.sort(chosen)[::-1]]


def selected_rows(m, mask):
    """The distinct selected rows, in order: what the mean is taken over."""
    if mask is None:
        return np.arange(m)
    return np.flatnonzero(mask) if mask.dtype == bool else np.unique(mask)


@settings(max_examples=30, deadline=None)
@given(m=st.integers(1, 7), n=st.integers(2, 5), seed=st.integers(0, 2**32 - 1))
def test_cross_entropy_against_autograd_and_differences(m, n, seed):
    rng = np.random.default_rng(seed)
    Z = 3 * rng.standard_normal((m, n))
    labels = rng.integers(0, n, size=m)
    for mask in masks_for(m, rng):
        rows = selected_rows(m, mask)
        L, e_T = softmax_cross_entropy(Z, labels, mask)
        assert np.isclose(L, reference_cross_entropy(Z, labels, rows), rtol=1e-12)
        G = autograd.grad(reference_cross_entropy)(Z, labels, rows)
        np.testing.assert_allclose(e_T, G, rtol=1e-11, atol=1e-15)
        FD = central_differences(lambda X: softmax_cross_entropy(X, labels, mask)[0], Z)
        np.testing.assert_allclose(e_T, FD, rtol=1e-5, atol=1e-8)


def test_cross_entropy_gradient_is_P_minus_Y_over_count_on_the_mask():
    rng = np.random.default_rng(1)
    Z = rng.standard_normal((6, 3))
    labels = np.array([0, 2, 1, 1, 0, 2])
    mask = np.array([True, False, True, False, False, True])
    _, e_T = softmax_cross_entropy(Z, labels, mask)
    Y = np.eye(3)[labels]
    np.testing.assert_allclose(e_T[mask], (softmax(Z) - Y)[mask] / 3, rtol=1e-14)
    assert np.all(e_T[~mask] == 0)


def test_cross_entropy_with_huge_logits_is_finite_and_right():
    Z = np.array([[1e4, 0.0], [0.0, 1e4], [1e4, 1e4]])
    L, e_T = softmax_cross_entropy(Z, np.array([0, 0, 1]))
    # row 0 is certain and right (loss 0), row 1 is certain and wrong (loss 1e4), row 2 is a tie
    assert np.isclose(L, (0 + 1e4 + np.log(2)) / 3, rtol=1e-14)
    assert np.all(np.isfinite(e_T))
    np.testing.assert_allclose(e_T, np.array([[0, 0], [-1, 1], [0.5, -0.5]]) / 3, atol=1e-15)


def test_cross_entropy_keeps_float32_and_agrees_with_float64():
    rng = np.random.default_rng(2)
    Z = rng.standard_normal((10, 4))
    labels = rng.integers(0, 4, size=10)
    L64, e64 = softmax_cross_entropy(Z, labels)
    L32, e32 = softmax_cross_entropy(Z.astype(np.float32), labels)
    assert e32.dtype == np.float32
    assert np.isclose(L32, L64, rtol=1e-6)
    np.testing.assert_allclose(e32, e64, rtol=1e-5, atol=1e-7)


def test_labels_outside_the_mask_are_ignored():
    Z = np.zeros((3, 2))
    L, e_T = softmax_cross_entropy(Z, np.array([1, -1, -1]), mask=[0])
    assert np.isclose(L, np.log(2)) and np.all(e_T[1:] == 0)


@pytest.mark.parametrize(
    "labels, mask, error, pattern",
    [
        (np.array([0, 1, 3]), None, ValueError, r"labels.*\[0, 3\).*\(3, 3\)"),
        (np.array([0, -1, 2]), None, ValueError, r"labels.*\[0, 3\)"),
        (np.array([0, 1]), None, ValueError, r"labels.*\(3,\).*\(2,\)"),
        (np.array([0.0, 1.0, 2.0]), None, TypeError, r"labels.*integer"),
        (np.array([0, 1, 2]), np.zeros(3, dtype=bool), ValueError, r"mask.*no row"),
        (np.array([0, 1, 2]), np.array([], dtype=int), ValueError, r"mask.*no row"),
        (np.array([0, 1, 2]), np.ones(4, dtype=bool), ValueError, r"mask.*\(3,\).*\(4,\)"),
        (np.array([0, 1, 2]), np.array([0, 3]), ValueError, r"mask.*\[0, 3\)"),
        (np.array([0, 1, 2]), np.array([0.5]), TypeError, r"mask"),
    ],
)
def test_cross_entropy_errors_name_argument_and_shapes(labels, mask, error, pattern):
    Z = np.zeros((3, 3))
    with pytest.raises(error, match=pattern):
        softmax_cross_entropy(Z, labels, mask)
    with pytest.raises(error, match=pattern):
        accuracy(Z, labels, mask)


@pytest.mark.parametrize(
    "Z, pattern",
    [(np.zeros(3), r"2-D.*\(3,\)"), (np.array([[0.0, np.nan]]), "NaN"), (np.array([[1j, 0]]), "complex")],
)
def test_bad_scores_are_refused(Z, pattern):
    with pytest.raises((ValueError, TypeError), match=pattern):
        softmax_cross_entropy(Z, np.zeros(len(Z), dtype=int))


# --- accuracy ------------------------------------------------------------------------


def test_accuracy_with_and_without_mask():
    Z = np.array([[2.0, 1.0], [0.0, 3.0], [5.0, 4.0], [1.0, 2.0]])
    labels = np.array([0, 1, 1, 0])
    assert accuracy(Z, labels) == 0.5
    assert accuracy(Z, labels, mask=np.array([True, True, False, False])) == 1.0
    assert accuracy(Z, labels, mask=[2, 3]) == 0.0
    assert isinstance(accuracy(Z, labels), float)
