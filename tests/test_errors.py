"""Bad input fails early, with the right exception and a message naming argument and shapes."""

from __future__ import annotations

import re

import numpy as np
import pytest
import scipy.sparse as sp

import gcnlib

rng = np.random.default_rng(0)
A = rng.normal(size=(5, 5))
H0 = rng.normal(size=(5, 3))
Ws = [rng.normal(size=(3, 4)), rng.normal(size=(4, 2))]


def raises(kind, *fragments):
    """pytest.raises(kind) whose message must contain every fragment (literally)."""
    return pytest.raises(kind, match="(?s)" + "".join(f"(?=.*{re.escape(f)})" for f in fragments))


def with_value(X, i, j, value):
    X = X.copy()
    X[i, j] = value
    return X


# --- forward -------------------------------------------------------------------------


def test_non_square_A():
    with raises(ValueError, "A", "square", "5×4"):
        gcnlib.forward(A[:, :4], H0, Ws)


def test_non_square_sparse_A():
    with raises(ValueError, "A", "square", "5×4"):
        gcnlib.forward(sp.csr_matrix(A[:, :4]), H0, Ws)


def test_rows_of_A_and_H0_differ():
    with raises(ValueError, "H0", "4×3", "5×5"):
        gcnlib.forward(A, H0[:4], Ws)


@pytest.mark.parametrize("t", [1, 2])
def test_weight_rows_do_not_match_the_previous_width(t):
    bad = list(Ws)
    bad[t - 1] = rng.normal(size=(7, Ws[t - 1].shape[1]))
    width = 3 if t == 1 else 4
    with raises(ValueError, f"W^{t}", f"7×{Ws[t - 1].shape[1]}", f"H^{t - 1} is 5×{width}", f"{width} rows"):
        gcnlib.forward(A, H0, bad)


def test_empty_weight_list():
    with raises(ValueError, "weights", "empty"):
        gcnlib.forward(A, H0, [])


def test_a_single_array_instead_of_a_list_of_weights():
    with raises(TypeError, "weights", "(3, 4)"):
        gcnlib.forward(A, H0, Ws[0])


def test_weights_not_a_list():
    with raises(TypeError, "weights", "int"):
        gcnlib.forward(A, H0, 3)


@pytest.mark.parametrize(
    "args, name, shape",
    [
        ((A[0], H0, Ws), "A", "(5,)"),
        ((A[None], H0, Ws), "A", "(1, 5, 5)"),
        ((A, H0.ravel(), Ws), "H0", "(15,)"),
        ((A, H0, [Ws[0], Ws[1].ravel()]), "W^2", "(8,)"),
        ((A, 3.0, Ws), "H0", "()"),
    ],
)
def test_not_two_dimensional(args, name, shape):
    with raises(ValueError, name, "2-D", shape):
        gcnlib.forward(*args)


@pytest.mark.parametrize(
    "args, name",
    [
        (([[1, 2], [3]], [[1], [2]], [[[1]]]), "A"),
        (([[1, 0], [0, 1]], [[1, 2], [3]], [[[1]]]), "H0"),
        (([[1, 0], [0, 1]], [[1], [2]], [[[1], [2, 3]]]), "W^1"),
    ],
)
def test_ragged_lists(args, name):
    with raises(ValueError, name, "rectangular"):
        gcnlib.forward(*args)


@pytest.mark.parametrize(
    "args, name",
    [
        ((A.astype(complex), H0, Ws), "A"),
        ((A, H0 + 1j, Ws), "H0"),
        ((A, H0, [Ws[0], Ws[1].astype(np.complex64)]), "W^2"),
    ],
)
def test_complex_input(args, name):
    with raises(TypeError, name, "complex"):
        gcnlib.forward(*args)


@pytest.mark.parametrize(
    "args, name",
    [
        ((np.full((2, 2), "a"), [[1], [2]], [[[1]]]), "A"),
        (([[1, 0], [0, 1]], [[None], [2]], [[[1]]]), "H0"),
        (([[1, 0], [0, 1]], [[1], [2]], [[["x"]]]), "W^1"),
        (([[1, 0], [0, 1]], [[1], [2]], [np.array([[{}]])]), "W^1"),
    ],
)
def test_non_numeric_input(args, name):
    with raises(TypeError, name):
        gcnlib.forward(*args)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", ["A", "sparse A", "H0", "W^1", "W^2", "M^2"])
def test_nan_or_infinity_in_any_input(where, bad):
    args = dict(A=A, H0=H0, weights=list(Ws), masks=None)
    if where == "A":
        args["A"] = with_value(A, 1, 2, bad)
    elif where == "sparse A":
        args["A"] = sp.csr_matrix(with_value(A, 1, 2, bad))
    elif where == "H0":
        args["H0"] = with_value(H0, 0, 0, bad)
    elif where.startswith("W"):
        t = int(where[-1])
        args["weights"][t - 1] = with_value(Ws[t - 1], 0, 1, bad)
    else:
        args["masks"] = [None, with_value(np.ones((5, 4)), 3, 3, bad)]
    name = "A" if where == "sparse A" else where
    with raises(ValueError, name, "NaN or infinity"):
        gcnlib.forward(args["A"], args["H0"], args["weights"], masks=args["masks"])


def test_huge_but_finite_values_are_accepted():
    # 100×100 entries take the path that sums first: the sum overflows, the entries do not
    big = np.full((100, 100), 1e308)
    trace = gcnlib.forward(np.eye(100), big, [np.eye(100) * 1e-300], "identity")
    assert np.isfinite(trace.Z[0]).all()


def test_one_nan_in_a_large_array_is_found():
    H0 = np.ones((100, 100))
    H0[57, 3] = np.nan
    with raises(ValueError, "H0", "100×100", "NaN or infinity"):
        gcnlib.forward(np.eye(100), H0, [np.eye(100)])


def test_unknown_activation_lists_the_valid_names():
    with raises(ValueError, "sigma", "'swish'", "identity", "leaky_relu", "relu", "sigmoid", "softplus", "tanh"):
        gcnlib.forward(A, H0, Ws, sigma="swish")


def test_activation_of_the_wrong_type():
    with raises(TypeError, "sigma", "int"):
        gcnlib.forward(A, H0, Ws, sigma=3)


def test_mask_of_the_wrong_shape():
    with raises(ValueError, "M^2", "5×3", "H^1 is 5×4"):
        gcnlib.forward(A, H0, Ws, masks=[None, np.ones((5, 3))])


def test_mask_is_not_broadcast():
    with raises(ValueError, "M^1", "1×3", "H^0 is 5×3"):
        gcnlib.forward(A, H0, Ws, masks=[np.ones((1, 3)), None])


def test_wrong_number_of_masks():
    with raises(ValueError, "masks", "2 entries", "got 1"):
        gcnlib.forward(A, H0, Ws, masks=[None])


def test_sparse_weight_is_refused():
    with raises(TypeError, "W^1", "sparse", "3×4"):
        gcnlib.forward(A, H0, [sp.csr_matrix(Ws[0]), Ws[1]])


# --- backward ------------------------------------------------------------------------


trace = gcnlib.forward(A, H0, Ws)


@pytest.mark.parametrize("shape", [(5, 3), (4, 2), (2, 5), (1, 2), (5, 1)])
def test_e_T_of_the_wrong_shape(shape):
    with raises(ValueError, "e_T", "×".join(map(str, shape)), "Z^T", "5×2"):
        gcnlib.backward(trace, np.ones(shape))


def test_e_T_is_not_broadcast_from_a_vector():
    with raises(ValueError, "e_T", "2-D", "(2,)"):
        gcnlib.backward(trace, np.ones(2))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_in_e_T(bad):
    with raises(ValueError, "e_T", "5×2", "NaN or infinity"):
        gcnlib.backward(trace, with_value(np.ones((5, 2)), 4, 1, bad))


def test_complex_e_T():
    with raises(TypeError, "e_T", "complex"):
        gcnlib.backward(trace, np.ones((5, 2)) * 1j)


def test_backward_needs_a_trace():
    with raises(TypeError, "trace", "Trace", "dict"):
        gcnlib.backward({"Z": []}, np.ones((5, 2)))


def test_unknown_gradient_in_wrt():
    with raises(ValueError, "wrt", "'B'", "'W'", "'A'", "'H0'"):
        gcnlib.backward(trace, np.ones((5, 2)), wrt=("W", "B"))
