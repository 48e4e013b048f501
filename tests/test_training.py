"""Glorot initialisation, dropout, Adam and the training loop of Kipf & Welling's GCN."""

import numpy as np
import pytest
import scipy.sparse as sp

import gcnlib
from gcnlib.training import _should_stop


@pytest.fixture(scope="module")
def club():
    k = gcnlib.karate_club()
    return k, gcnlib.normalize_adjacency(k.A), np.eye(34)


# --- Glorot --------------------------------------------------------------------------


def test_glorot_uniform_bounds_shape_dtype():
    rng = np.random.default_rng(0)
    W = gcnlib.glorot_uniform((300, 100), rng)
    r = np.sqrt(6 / (300 + 100))
    assert W.shape == (300, 100) and W.dtype == np.float64
    assert np.abs(W).max() <= r and np.abs(W).max() > 0.99 * r
    np.testing.assert_allclose(W.var(), r**2 / 3, rtol=0.02)  # variance of U(-r, r) = 2/(o + n)
    assert gcnlib.glorot_uniform((3, 2), rng, dtype=np.float32).dtype == np.float32


def test_glorot_uniform_is_deterministic_given_the_generator():
    a = gcnlib.glorot_uniform((5, 4), np.random.default_rng(7))
    b = gcnlib.glorot_uniform((5, 4), np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)


# --- dropout -------------------------------------------------------------------------


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_mask_statistics(p):
    M = gcnlib.dropout_mask((400, 500), p, np.random.default_rng(1))
    values = np.unique(M)
    np.testing.assert_allclose(values, [0.0, 1 / (1 - p)])
    # 200 000 independent draws: the fraction dropped is within 4 standard deviations of p
    assert abs(np.mean(M == 0) - p) < 4 * np.sqrt(p * (1 - p) / M.size)
    assert abs(M.mean() - 1) < 0.02  # E[M] = 1: H ⊙ M is unbiased


def test_dropout_mask_p0_is_all_ones_and_dtype_is_kept():
    np.testing.assert_array_equal(gcnlib.dropout_mask((3, 4), 0.0, np.random.default_rng(0)), np.ones((3, 4)))
    M = gcnlib.dropout_mask((3, 4), 0.5, np.random.default_rng(0), dtype=np.float32)
    assert M.dtype == np.float32 and set(np.unique(M)) <= {0.0, 2.0}


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5])
def test_dropout_probability_out_of_range(p):
    with pytest.raises(ValueError, match="p"):
        gcnlib.dropout_mask((2, 2), p, np.random.default_rng(0))
    with pytest.raises(ValueError, match="p"):
        gcnlib.sparse_dropout(sp.identity(3, format="csr"), p, np.random.default_rng(0))


def test_sparse_dropout_is_a_hadamard_mask_on_the_non_zeros():
    X = sp.random(50, 40, density=0.2, format="csr", random_state=3) + 0.5 * sp.identity(50, format="csr")[:, :40]
    X = sp.csr_matrix(X)
    Xd = gcnlib.sparse_dropout(X, 0.5, np.random.default_rng(2))
    assert Xd.shape == X.shape and np.array_equal(Xd.indices, X.indices) and np.array_equal(Xd.indptr, X.indptr)
    ratio = Xd.data / X.data  # each stored entry is dropped (0) or scaled by 1/(1-p) = 2
    assert set(np.unique(ratio)) == {0.0, 2.0}
    M = np.zeros(X.shape)  # the mask as a dense matrix: X_d = X ⊙ M
    M[X.nonzero()] = ratio
    np.testing.assert_allclose(Xd.toarray(), X.toarray() * M)


def test_the_gradient_through_dropout_is_the_mask(club):
    """∂L/∂H^0 through H^0 ⊙ M is the gradient at the dropped input times the same mask M."""
    k, A_hat, _ = club
    rng = np.random.default_rng(5)
    H0 = rng.standard_normal((34, 3))
    weights = [gcnlib.glorot_uniform((3, 4), rng), gcnlib.glorot_uniform((4, 2), rng)]
    M1, M2 = gcnlib.dropout_mask((34, 3), 0.5, rng), gcnlib.dropout_mask((34, 4), 0.5, rng)

    def loss(H):
        Z = gcnlib.forward(A_hat, H, weights, "tanh", masks=[M1, M2]).Z[-1]
        return gcnlib.softmax_cross_entropy(Z, k.labels)

    trace = gcnlib.forward(A_hat, H0, weights, "tanh", masks=[M1, M2])
    dH0 = gcnlib.backward(trace, loss(H0)[1], wrt=("H0",)).H0
    # the same network fed the dropped input H0 ⊙ M1 directly, without a first mask
    dropped = gcnlib.forward(A_hat, H0 * M1, weights, "tanh", masks=[None, M2])
    d_dropped = gcnlib.backward(dropped, loss(H0)[1], wrt=("H0",)).H0
    np.testing.assert_allclose(dH0, d_dropped * M1, atol=1e-15)
    assert np.all(dH0[M1 == 0] == 0)  # dropped entries get no gradient
    numeric = gcnlib.numerical_gradient(lambda H: loss(H)[0], H0)
    assert gcnlib.relative_error(dH0, numeric) < 1e-7


# --- Adam ----------------------------------------------------------------------------


def test_adam_two_steps_by_hand():
    """Two Adam steps (lr 0.1, β₁ 0.9, β₂ 0.999), worked out by hand entry by entry.

    Entry 1: W = 1, gradients 0.5 then 1.
      step 1: m = 0.05, v = 0.00025, m̂ = 0.5, v̂ = 0.25,      W = 1 − 0.1·0.5/0.5 = 0.9
      step 2: m = 0.9·0.05 + 0.1·1 = 0.145, v = 0.999·0.00025 + 0.001·1 = 0.00124975,
              m̂ = 0.145/0.19 = 0.7631579, v̂ = 0.00124975/0.001999 = 0.6251876,
              W = 0.9 − 0.1·0.7631579/√0.6251876 = 0.8034818
    Entry 2: W = −2, gradients 4 then −1.
      step 1: W = −2 − 0.1·4/4 = −2.1
      step 2: m = 0.36 − 0.1 = 0.26, v = 0.999·0.016 + 0.001 = 0.016984,
              m̂ = 1.3684211, v̂ = 8.4962481, W = −2.1 − 0.1·1.3684211/2.9148324 = −2.1469468
    """
    W = np.array([[1.0, -2.0]])
    adam = gcnlib.Adam([W], lr=0.1)
    adam.step([np.array([[0.5, 4.0]])])
    np.testing.assert_allclose(W, [[0.9, -2.1]], atol=1e-8)  # ε = 1e-8 shifts the 9th digit
    adam.step([np.array([[1.0, -1.0]])])
    np.testing.assert_allclose(W, [[0.8034818, -2.1469468]], atol=1e-7)


def test_adam_updates_in_place_and_minimises_a_quadratic():
    rng = np.random.default_rng(0)
    C1, C2 = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    W1, W2 = np.zeros((3, 4)), np.zeros((4, 2))
    adam = gcnlib.Adam([W1, W2], lr=0.05)
    for _ in range(1000):  # L = ½‖W1 − C1‖² + ½‖W2 − C2‖², gradients W − C
        adam.step([W1 - C1, W2 - C2])
    np.testing.assert_allclose(W1, C1, atol=1e-3)
    np.testing.assert_allclose(W2, C2, atol=1e-3)


def test_adam_rejects_mismatched_gradients():
    adam = gcnlib.Adam([np.zeros((2, 3))])
    with pytest.raises(ValueError, match=r"\(3, 2\).*\(2, 3\)"):
        adam.step([np.zeros((3, 2))])
    with pytest.raises(ValueError, match="grads"):
        adam.step([np.zeros((2, 3)), np.zeros((2, 3))])
    with pytest.raises(TypeError, match="params"):
        gcnlib.Adam([[1.0, 2.0]])


# --- train ---------------------------------------------------------------------------


def test_one_epoch_equals_the_update_by_hand(club):
    """train's update is Adam on gcnlib.backward's weight gradients plus λW on the first layer only."""
    k, A_hat, X = club
    idx = np.array([0, 1, 32, 33])
    lam, seed = 0.1, 3
    history = gcnlib.train(A_hat, X, k.labels, idx, widths=(5,), epochs=1, lr=0.01, weight_decay=lam,
                           dropout=0.0, sigma="relu", seed=seed)  # fmt: skip

    rng = np.random.default_rng(seed)
    W1, W2 = gcnlib.glorot_uniform((34, 5), rng), gcnlib.glorot_uniform((5, 2), rng)
    trace = gcnlib.forward(A_hat, X, [W1, W2], "relu")
    L, e_T = gcnlib.softmax_cross_entropy(trace.Z[-1], k.labels, idx)
    assert history.loss[0] == pytest.approx(L + lam / 2 * np.sum(W1**2), rel=1e-14)
    dW1, dW2 = gcnlib.backward(trace, e_T, wrt=("W",)).W
    gcnlib.Adam([W1, W2], lr=0.01).step([dW1 + lam * W1, dW2])

    np.testing.assert_allclose(history.weights[0], W1, atol=1e-15)
    np.testing.assert_allclose(history.weights[1], W2, atol=1e-15)


def test_karate_club_four_labels_separate_the_factions(club):
    k, A_hat, X = club
    history = gcnlib.train(A_hat, X, k.labels, [0, 1, 32, 33], idx_test=np.arange(34), epochs=100, seed=0)
    assert history.test_accuracy[-1] > 0.85
    assert history.train_accuracy[-1] == 1.0
    assert history.loss[-1] < history.loss[0]


def test_history_lengths_callback_and_missing_splits(club):
    k, A_hat, X = club
    seen = []
    history = gcnlib.train(A_hat, X, k.labels, [0, 33], epochs=7, seed=1, callback=lambda epoch, trace: seen.append((epoch, trace)))
    for values in (history.loss, history.train_accuracy, history.val_accuracy, history.test_accuracy, history.val_loss):
        assert len(values) == 7
    assert np.all(np.isnan(history.val_accuracy)) and np.all(np.isnan(history.test_accuracy))
    assert [epoch for epoch, _ in seen] == list(range(7))
    trace = seen[-1][1]  # the evaluation pass: no dropout, the final weights
    assert trace.H[1].shape == (34, 16) and trace.Z[-1].shape == (34, 2)
    np.testing.assert_array_equal(trace.Z[-1], gcnlib.forward(A_hat, X, history.weights, "relu").Z[-1])
    assert [W.shape for W in history.weights] == [(34, 16), (16, 2)]


def test_train_is_deterministic_given_the_seed(club):
    k, A_hat, X = club
    runs = [gcnlib.train(A_hat, X, k.labels, [0, 33], epochs=5, seed=s) for s in (4, 4, 5)]
    np.testing.assert_array_equal(runs[0].loss, runs[1].loss)
    np.testing.assert_array_equal(runs[0].weights[1], runs[1].weights[1])
    assert runs[0].loss != runs[2].loss


def test_deeper_network_and_dense_dropout(club):
    k, A_hat, X = club
    history = gcnlib.train(A_hat, X, k.labels, [0, 1, 32, 33], widths=(8, 4), epochs=3, seed=0)
    assert [W.shape for W in history.weights] == [(34, 8), (8, 4), (4, 2)]


def test_bad_node_indices(club):
    k, A_hat, X = club
    with pytest.raises(ValueError, match="idx_train.*34"):
        gcnlib.train(A_hat, X, k.labels, [0, 34], epochs=1)
    with pytest.raises(TypeError, match="idx_test.*integer"):
        gcnlib.train(A_hat, X, k.labels, [0, 1], idx_test=[0.0, 1.0], epochs=1)


def test_early_stopping_rule():
    """Stop once the last validation loss exceeds the mean of the window before it."""
    assert not _should_stop([3.0, 2.0, 2.6], window=2)  # 2.6 > 2.5, but too few epochs yet (as in their code)
    assert not _should_stop([3.0, 2.0, 1.0, 0.5], window=2)
    assert _should_stop([3.0, 2.0, 1.0, 1.6], window=2)  # 1.6 > mean(2, 1) = 1.5


def test_early_stopping_stops_and_needs_validation_nodes(club):
    k, A_hat, X = club
    rest = np.arange(2, 32)
    # a learning rate far too large makes the validation loss jump about: the rule fires early
    history = gcnlib.train(A_hat, X, k.labels, [0, 33], rest, epochs=200, lr=5.0, seed=0, early_stopping=3)
    assert 5 <= len(history.loss) < 200
    with pytest.raises(ValueError, match="idx_val"):
        gcnlib.train(A_hat, X, k.labels, [0, 33], epochs=5, early_stopping=3)


def test_short_cora_run_is_clearly_better_than_chance():
    cora = gcnlib.load_planetoid("cora")
    A_hat = gcnlib.normalize_adjacency(cora.A)
    history = gcnlib.train(A_hat, cora.row_normalized_features(), cora.labels, cora.idx_train, cora.idx_val,
                           cora.idx_test, epochs=50, seed=0)  # fmt: skip
    assert history.test_accuracy[-1] > 0.70  # chance is about 0.3 (the largest class)
    assert history.loss[-1] < 0.8 * history.loss[0]


def test_train_keeps_float32():
    k = gcnlib.karate_club()
    A_hat = gcnlib.normalize_adjacency(k.A.astype(np.float32))
    history = gcnlib.train(A_hat, np.eye(34, dtype=np.float32), k.labels, [0, 33], epochs=3)
    assert all(W.dtype == np.float32 for W in history.weights)


def test_sparse_dropout_scales_integer_input_and_leaves_its_input_alone():
    X = sp.csr_matrix(np.array([[1, 0, 2], [0, 3, 0]]))  # integers
    before = X.toarray().copy()
    D = gcnlib.sparse_dropout(X, 0.6, np.random.default_rng(1))
    kept = D.data != 0
    np.testing.assert_allclose(D.data[kept], X.data[kept] / 0.4)  # not truncated to integers
    D.data[:] = 0
    D.eliminate_zeros()  # editing the result in place ...
    np.testing.assert_array_equal(X.toarray(), before)  # ... leaves X as it was
    assert X.nnz == 3
