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
    with raises(
        ValueError, "sigma", "'swish'", "identity", "leaky_relu", "relu", "sigmoid", "softplus", "tanh"
    ):
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


# --- mistakes whose message names the fix ---------------------------------------------


def test_backward_given_the_whole_loss_pair():
    labels = np.array([0, 1, 0, 1, 1])
    with raises(TypeError, "e_T", "pair (L, e_T)", "pass only the gradient", "L, e_T = "):
        gcnlib.backward(trace, gcnlib.softmax_cross_entropy(trace.Z[-1], labels))


@pytest.mark.parametrize("check", ["numerical_gradient", "directional_check"])
def test_gradient_checks_given_a_function_that_returns_the_loss_pair(check):
    Y = np.ones((5, 2))
    f = lambda Z: gcnlib.squared_error(Z, Y)  # noqa: E731  returns (L, e_T)
    args = (f, np.zeros((5, 2))) if check == "numerical_gradient" else (f, np.zeros((5, 2)), np.zeros((5, 2)))
    with raises(TypeError, "f must return the scalar L alone", "tuple of 2 items", "lambda X: loss(X)[0]"):
        getattr(gcnlib, check)(*args)
    with raises(TypeError, "f must return a scalar L", "shape (5, 2)"):
        gcnlib.numerical_gradient(lambda Z: Z * 2, np.zeros((5, 2)))


def test_a_one_by_one_array_counts_as_a_scalar():
    x = np.array([[1.0], [2.0]])
    G = gcnlib.numerical_gradient(lambda A_: x.T @ A_ @ x, np.eye(2))  # xᵀ A x is 1×1
    np.testing.assert_allclose(G, x @ x.T, rtol=1e-8)


@pytest.fixture(scope="module")
def club():
    k = gcnlib.karate_club()
    return k.labels, gcnlib.normalize_adjacency(k.A), np.eye(34)


def test_train_with_an_int_for_widths(club):
    labels, A_hat, X = club
    with raises(TypeError, "widths", "the int 16", "widths=(16,)"):
        gcnlib.train(A_hat, X, labels, [0, 33], widths=16)


@pytest.mark.parametrize("widths", [(0,), (16, -2), (2.5,)])
def test_train_with_a_width_that_is_not_a_positive_integer(club, widths):
    labels, A_hat, X = club
    with raises(ValueError, "widths", "positive integer", str(widths)):
        gcnlib.train(A_hat, X, labels, [0, 33], widths=widths)


def test_train_with_a_negative_early_stopping_window(club):
    labels, A_hat, X = club
    with raises(ValueError, "early_stopping", "positive number of epochs", "None", "-5"):
        gcnlib.train(A_hat, X, labels, [0, 33], np.arange(2, 30), early_stopping=-5)


@pytest.mark.parametrize("empty", [[], np.array([], dtype=int), np.zeros(34, dtype=bool)])
def test_train_with_no_training_node(club, empty):
    labels, A_hat, X = club
    with raises(ValueError, "idx_train", "selects no node", "34 nodes"):
        gcnlib.train(A_hat, X, labels, empty, epochs=1)


def test_train_accepts_boolean_masks_as_the_losses_do(club):
    labels, A_hat, X = club
    as_mask = lambda idx: np.isin(np.arange(34), idx)  # noqa: E731
    runs = [
        gcnlib.train(
            A_hat,
            X,
            labels,
            split([0, 33]),
            split(np.arange(2, 20)),
            split(np.arange(20, 30)),
            epochs=3,
            seed=1,
        )
        for split in (np.asarray, as_mask)
    ]
    np.testing.assert_array_equal(runs[0].loss, runs[1].loss)
    np.testing.assert_array_equal(runs[0].test_accuracy, runs[1].test_accuracy)
    with raises(ValueError, "idx_val", "boolean mask", "(34,)", "(33,)"):
        gcnlib.train(A_hat, X, labels, [0, 33], np.ones(33, dtype=bool), epochs=1)


def test_a_0_1_integer_mask_is_refused_not_read_as_indices(club):
    """np.zeros(m, int) with ones at the labelled rows is a mask to a student but indices to NumPy."""
    labels, A_hat, X = club
    mask = np.zeros(34, dtype=int)
    mask[[0, 33]] = 1
    with raises(ValueError, "idx_train", "index 0 appears 32 times", "idx_train.astype(bool)"):
        gcnlib.train(A_hat, X, labels, mask, epochs=1)
    with raises(ValueError, "mask", "appears 32 times", "mask.astype(bool)"):
        gcnlib.softmax_cross_entropy(np.zeros((34, 2)), labels, mask)
    with raises(ValueError, "mask", "row index 3 appears 2 times", "distinct"):
        gcnlib.accuracy(np.zeros((34, 2)), labels, [3, 5, 3])
    as_bool = gcnlib.softmax_cross_entropy(np.eye(34)[:, :2], labels, mask.astype(bool))
    as_indices = gcnlib.softmax_cross_entropy(np.eye(34)[:, :2], labels, [0, 33])
    assert as_bool[0] == as_indices[0]


def test_weights_given_as_a_dict_or_wrt_as_a_number():
    with raises(TypeError, "weights", "dict", "list(weights.values())"):
        gcnlib.forward(A, H0, {"W1": Ws[0], "W2": Ws[1]})
    with raises(TypeError, "biases", "dict", "list(biases.values())"):
        gcnlib.forward(A, H0, Ws, biases={"b1": np.zeros(4), "b2": np.zeros(2)})
    with raises(TypeError, "weights", "dict", "list(weights.values())"):
        gcnlib.train(A, H0, np.arange(5) % 2, [0, 1], weights={"W1": Ws[0], "W2": Ws[1]}, epochs=1)
    with raises(TypeError, "wrt", "int", "'W'"):
        gcnlib.backward(gcnlib.forward(A, H0, Ws), np.ones((5, 2)), wrt=5)


def test_check_gradients_checks_biases_and_masks_as_forward_does():
    with raises(TypeError, "biases", "list of 2", "bool"):
        gcnlib.check_gradients(A, H0, Ws, biases=True)
    with raises(ValueError, "biases[0] (b^1)", "(3,)", "length 4"):
        gcnlib.check_gradients(A, H0, Ws, biases=[np.zeros(3), None])
    with raises(TypeError, "masks[0] (M^1)", "scipy.sparse", "toarray"):
        gcnlib.check_gradients(A, H0, Ws, masks=[sp.csr_matrix(np.ones((5, 3))), None])
    with raises(ValueError, "masks[0] (M^1)", "5×4", "5×3"):
        gcnlib.check_gradients(A, H0, Ws, masks=[np.ones((5, 4)), None])


def test_integer_seeds_wherever_a_generator_is_taken():
    same = lambda a, b: np.testing.assert_array_equal(a, b)  # noqa: E731
    gen = np.random.default_rng
    same(gcnlib.glorot_uniform((3, 3), 0), gcnlib.glorot_uniform((3, 3), gen(0)))
    same(gcnlib.dropout_mask((3, 4), 0.5, 7), gcnlib.dropout_mask((3, 4), 0.5, gen(7)))
    X = sp.csr_matrix(np.arange(12.0).reshape(3, 4))
    same(gcnlib.sparse_dropout(X, 0.5, 3).toarray(), gcnlib.sparse_dropout(X, 0.5, gen(3)).toarray())
    f = lambda Y: float(np.sum(Y**2))  # noqa: E731
    assert gcnlib.directional_check(
        f, np.ones((2, 2)), 2 * np.ones((2, 2)), rng=5
    ) == gcnlib.directional_check(f, np.ones((2, 2)), 2 * np.ones((2, 2)), rng=gen(5))
    assert (gcnlib.random_graph(10, 3, rng=4) != gcnlib.random_graph(10, 3, rng=gen(4))).nnz == 0


@pytest.mark.parametrize(
    "bad, kind, fragment", [("0", TypeError, "str"), (1.5, TypeError, "float"), (-1, ValueError, "≥ 0")]
)
def test_a_bad_seed_names_the_argument(bad, kind, fragment):
    with raises(kind, "rng", fragment):
        gcnlib.glorot_uniform((3, 3), bad)
    with raises(kind, "rng", fragment):
        gcnlib.dropout_mask((3, 3), 0.5, bad)


@pytest.mark.parametrize("loss", [gcnlib.softmax_cross_entropy, gcnlib.accuracy])
def test_an_empty_graph(loss):
    with raises(ValueError, "Z has shape (0, 2)", "no rows", "empty graph", "at least one node"):
        loss(np.zeros((0, 2)), np.zeros(0, int))


def test_adam_given_gradients_that_wrt_left_out():
    weights = [W.copy() for W in Ws]
    adam = gcnlib.Adam(weights)
    grads = gcnlib.backward(gcnlib.forward(A, H0, weights), np.ones((5, 2)), wrt=("H0",))
    with raises(TypeError, "grads is None", "wrt", 'wrt=("W",)'):
        adam.step(grads.W)
    with raises(TypeError, "grads[1] is None", "add it to wrt", "leave its parameter out"):
        adam.step([np.zeros((3, 4)), None])
    assert adam.k == 0  # nothing was updated


@pytest.mark.parametrize("make", [sp.csr_array, sp.csr_matrix, sp.coo_array, sp.coo_matrix])
def test_sparse_dropout_keeps_the_kind_of_sparse_input(make):
    X = make(np.arange(12.0).reshape(3, 4))
    D = gcnlib.sparse_dropout(X, 0.5, 0)
    assert D.format == "csr" and isinstance(D, sp.sparray) == isinstance(X, sp.sparray)


def test_sparse_dropout_of_a_dense_array_says_what_to_use():
    with raises(TypeError, "X", "scipy.sparse", "(3, 4)", "dropout_mask"):
        gcnlib.sparse_dropout(np.ones((3, 4)), 0.5, 0)


# --- biases and per-layer activations ---------------------------------------------------


@pytest.mark.parametrize(
    "biases, kind, fragments",
    [
        ([np.ones(3), None], ValueError, ["biases[0] (b^1)", "(3,)", "length 4"]),
        ([np.ones((1, 4)), None], ValueError, ["biases[0] (b^1)", "(1, 4)", "1-D vector of length 4"]),
        ([None, [1.0, np.nan]], ValueError, ["biases[1] (b^2)", "NaN"]),
        ([None, np.ones(2) * 1j], TypeError, ["b^2", "complex"]),
        ([np.ones(4)], ValueError, ["biases", "2 entries", "got 1"]),
        (np.ones(4), TypeError, ["biases", "list of 2", "one array"]),
    ],
)
def test_bad_biases(biases, kind, fragments):
    with raises(kind, *fragments):
        gcnlib.forward(A, H0, Ws, biases=biases)


def test_per_layer_activations_of_the_wrong_number():
    with raises(ValueError, "sigma", "T = 2", "list of 3"):
        gcnlib.forward(A, H0, Ws, sigma=["relu", "tanh", "identity"])
    with raises(ValueError, "sigma", "'swish'"):
        gcnlib.forward(A, H0, Ws, sigma=["relu", "swish"])


def test_bias_gradients_without_biases():
    with raises(ValueError, "wrt", "'b'", "no biases", "biases=[b^1, ..., b^T]"):
        gcnlib.backward(trace, np.ones((5, 2)), wrt=("W", "b"))
