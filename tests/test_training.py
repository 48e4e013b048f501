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
    X = (
        sp.random(50, 40, density=0.2, format="csr", random_state=3)
        + 0.5 * sp.identity(50, format="csr")[:, :40]
    )
    X = sp.csr_matrix(X)
    Xd = gcnlib.sparse_dropout(X, 0.5, np.random.default_rng(2))
    assert (
        Xd.shape == X.shape and np.array_equal(Xd.indices, X.indices) and np.array_equal(Xd.indptr, X.indptr)
    )
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
    history = gcnlib.train(
        A_hat,
        X,
        k.labels,
        [0, 33],
        epochs=7,
        seed=1,
        callback=lambda epoch, trace: seen.append((epoch, trace)),
    )
    for values in (
        history.loss,
        history.train_accuracy,
        history.val_accuracy,
        history.test_accuracy,
        history.val_loss,
    ):
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


# --- train's extensions: against autograd and finite differences ---------------------------

import autograd.numpy as anp  # noqa: E402
from autograd import grad  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def objective(xp, A, X, Ws, bs, labels, train_mask, decay, names):
    """Mean softmax cross-entropy over the training nodes + Σ_t λ_t/2 ‖W^t‖², written afresh."""
    H = X
    for t, W in enumerate(Ws):
        Z = A @ (H @ W)
        if bs is not None:
            Z = Z + bs[t][None, :]
        H = {"relu": lambda Z: xp.maximum(Z, 0.0), "tanh": xp.tanh, "identity": lambda Z: Z}[names[t]](Z)
    rows = np.flatnonzero(train_mask)
    Zr = Z[rows]
    shifted = Zr - xp.max(Zr, axis=1, keepdims=True)
    log_p = shifted - xp.log(xp.sum(xp.exp(shifted), axis=1, keepdims=True))
    onehot = np.eye(Z.shape[1])[labels[rows]]
    ce = -xp.sum(log_p * onehot) / rows.size
    return ce + sum(0.5 * lam * xp.sum(W**2) for W, lam in zip(Ws, decay, strict=True))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    m=st.integers(3, 8),
    F=st.integers(1, 5),
    hidden=st.lists(st.integers(1, 4), max_size=2),
    sparse=st.booleans(),
    float32=st.booleans(),
    with_biases=st.booleans(),
    per_layer_decay=st.booleans(),
)
def test_one_sgd_step_of_train_is_minus_lr_times_the_autograd_gradient(
    seed, m, F, hidden, sparse, float32, with_biases, per_layer_decay
):
    """train's gradient of its objective (loss + weight decay on chosen layers), with biases, on
    dense or sparse A in float32 or float64, is autograd's: one SGD step without momentum
    moves the parameters by exactly −lr · gradient."""
    rng = np.random.default_rng(seed)
    A = gcnlib.normalize_adjacency(gcnlib.random_graph(m, min(2, m - 1), rng=rng))
    A = A if sparse else A.toarray()
    X = rng.normal(size=(m, F))
    labels = rng.integers(0, 3, size=m)
    labels[:3] = [0, 1, 2]
    train_mask = rng.random(m) < 0.6
    train_mask[0] = True
    sizes = [F, *hidden, 3]
    T = len(sizes) - 1
    W0 = [rng.normal(size=(o, n)) for o, n in zip(sizes[:-1], sizes[1:], strict=True)]
    b0 = [rng.normal(size=n) for n in sizes[1:]] if with_biases else None
    decay = list(rng.uniform(0, 0.1, size=T)) if per_layer_decay else 0.05
    names = ["tanh"] * (T - 1) + ["identity"]
    dtype = np.float32 if float32 else np.float64
    cast = lambda Y: Y.astype(dtype)  # noqa: E731
    lr = 1.0  # W_new = W − G: the step recovers G without amplifying the rounding of W_new
    history = gcnlib.train(
        cast(A),
        cast(X),
        labels,
        train_mask,
        weights=[cast(W) for W in W0],
        biases=None if b0 is None else [cast(b) for b in b0],
        epochs=1,
        lr=lr,
        weight_decay=decay,
        dropout=0.0,
        sigma=names,
        optimizer="sgd",
    )
    assert all(W.dtype == dtype for W in history.weights)
    lam = decay if per_layer_decay else [decay] + [0.0] * (T - 1)
    up = lambda Y: cast(Y).astype(np.float64)  # noqa: E731  the oracle sees the same rounded numbers
    A64, X64, W64 = up(A.toarray() if sparse else A), up(X), [up(W) for W in W0]  # autograd needs dense A
    b64 = None if b0 is None else [up(b) for b in b0]
    f = lambda Ws, bs: objective(anp, A64, X64, Ws, bs, labels, train_mask, lam, names)  # noqa: E731
    dW = grad(f, 0)(W64, b64)
    tol = dict(rtol=2e-3, atol=2e-5) if float32 else dict(rtol=1e-8, atol=1e-12)
    for W_new, W_old, G in zip(history.weights, W64, dW, strict=True):
        np.testing.assert_allclose((W_old - W_new.astype(np.float64)) / lr, G, **tol)
    if b0 is not None:
        db = grad(f, 1)(W64, b64)
        for b_new, b_old, G in zip(history.biases, b64, db, strict=True):
            np.testing.assert_allclose((b_old - b_new.astype(np.float64)) / lr, G, **tol)
    if not float32:  # and finite differences of the same objective, for the first weight
        numeric = gcnlib.numerical_gradient(lambda W: f([W, *W64[1:]], b64), W64[0])
        np.testing.assert_allclose((W64[0] - history.weights[0]) / lr, numeric, rtol=1e-5, atol=1e-7)


def test_initial_weights_and_biases_are_used_and_left_alone(club):
    k, A_hat, X = club
    rng = np.random.default_rng(0)
    W0 = [rng.normal(size=(34, 3)), rng.normal(size=(3, 2))]
    b0 = [np.zeros(3), np.ones(2)]
    kept = [W.copy() for W in W0] + [b.copy() for b in b0]
    history = gcnlib.train(A_hat, X, k.labels, [0, 33], weights=W0, biases=b0, epochs=2, dropout=0)
    for given_, before in zip(W0 + b0, kept, strict=True):
        np.testing.assert_array_equal(given_, before)  # train worked on copies
    assert [W.shape for W in history.weights] == [(34, 3), (3, 2)] and len(history.biases) == 2
    assert not np.array_equal(history.biases[1], b0[1])  # the biases were trained too
    zeros = gcnlib.train(A_hat, X, k.labels, [0, 33], widths=(4,), biases=True, epochs=1)
    assert [b.shape for b in zeros.biases] == [(4,), (2,)]
    with pytest.raises(ValueError, match="widths: give either widths or initial weights"):
        gcnlib.train(A_hat, X, k.labels, [0, 33], widths=(3,), weights=W0)
    with pytest.raises(ValueError, match=r"W\^1 has shape \(5, 3\) but X has 34 features"):
        gcnlib.train(A_hat, X, k.labels, [0, 33], weights=[np.ones((5, 3)), np.ones((3, 2))])


def test_sgd_with_momentum_by_hand():
    W = np.array([1.0, -1.0])
    opt = gcnlib.SGD([W], lr=0.1, momentum=0.9)
    for G in ([1.0, 2.0], [0.5, 0.0]):
        opt.step([np.array(G)])
    # v1 = G1 = (1, 2); v2 = 0.9 v1 + G2 = (1.4, 1.8); W = W0 − 0.1 (v1 + v2)
    np.testing.assert_allclose(W, [1.0 - 0.1 * 2.4, -1.0 - 0.1 * 3.8], rtol=1e-15)
    with pytest.raises(ValueError, match="momentum must satisfy 0 <= momentum < 1"):
        gcnlib.SGD([W], momentum=1.0)


def test_train_with_sgd_a_custom_loss_and_per_layer_decay_one_epoch_by_hand(club):
    k, A_hat, X = club
    idx = np.array([0, 1, 32, 33])
    Y = np.eye(2)[k.labels]

    def half_squared_error(Z, labels, mask):  # on the selected nodes only
        L, e_T = gcnlib.squared_error(Z[mask], Y[mask])
        full = np.zeros_like(Z)
        full[mask] = e_T
        return L, full

    history = gcnlib.train(
        A_hat,
        X,
        k.labels,
        idx,
        widths=(5,),
        epochs=1,
        lr=0.05,
        weight_decay=(0.1, 0.2),
        dropout=0.0,
        sigma=["tanh", "identity"],
        seed=3,
        loss=half_squared_error,
        optimizer="sgd",
        momentum=0.9,
    )
    rng = np.random.default_rng(3)
    W1, W2 = gcnlib.glorot_uniform((34, 5), rng), gcnlib.glorot_uniform((5, 2), rng)
    trace = gcnlib.forward(A_hat, X, [W1, W2], ["tanh", "identity"])
    mask = np.isin(np.arange(34), idx)
    L, e_T = half_squared_error(trace.Z[-1], k.labels, mask)
    assert history.loss[0] == pytest.approx(L + 0.05 * np.sum(W1**2) + 0.1 * np.sum(W2**2), rel=1e-14)
    dW1, dW2 = gcnlib.backward(trace, e_T, wrt="W").W
    np.testing.assert_allclose(history.weights[0], W1 - 0.05 * (dW1 + 0.1 * W1), rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(history.weights[1], W2 - 0.05 * (dW2 + 0.2 * W2), rtol=1e-14, atol=1e-16)


def test_an_optimizer_of_ones_own(club):
    k, A_hat, X = club
    made = []

    class Halving:  # W ← W − G/2, whatever lr says
        def __init__(self, params):
            self.params = params
            made.append(self)

        def step(self, grads):
            for W, G in zip(self.params, grads, strict=True):
                W -= 0.5 * G

    history = gcnlib.train(A_hat, X, k.labels, [0, 33], epochs=3, optimizer=Halving, biases=True)
    assert len(made) == 1 and len(made[0].params) == 4  # W^1, W^2, b^1, b^2
    assert made[0].params[0] is history.weights[0]
    with pytest.raises(ValueError, match=r"optimizer: unknown name 'rmsprop'; choose from \['adam', 'sgd'\]"):
        gcnlib.train(A_hat, X, k.labels, [0, 33], optimizer="rmsprop")
    with pytest.raises(ValueError, match="momentum is a setting of optimizer='sgd'"):
        gcnlib.train(A_hat, X, k.labels, [0, 33], momentum=0.9)


def test_restore_best_returns_the_weights_of_the_lowest_validation_loss(club):
    k, A_hat, X = club
    seen = {}
    history = gcnlib.train(
        A_hat,
        X,
        k.labels,
        [0, 33],
        np.arange(1, 33),
        epochs=60,
        lr=0.2,
        seed=2,
        restore_best=True,
        callback=lambda epoch, trace: seen.update({epoch: trace.weights}),
    )
    best = int(np.argmin(history.val_loss))
    assert history.best_epoch == best and 0 < best < 59  # a learning rate this large overshoots
    for W, W_best in zip(history.weights, seen[best], strict=True):
        np.testing.assert_array_equal(W, W_best)
    assert f"epoch {best + 1} of {len(history.loss)}, the best, whose weights are kept: train " in repr(
        history
    )
    with pytest.raises(ValueError, match="restore_best watches the validation loss: give idx_val"):
        gcnlib.train(A_hat, X, k.labels, [0, 33], restore_best=True)


def test_history_repr_is_one_short_line(club):
    k, A_hat, X = club
    history = gcnlib.train(A_hat, X, k.labels, [0, 33], idx_test=np.arange(34), epochs=5)
    text = repr(history)
    assert len(text) < 160 and "\n" not in text, text
    assert text.startswith("History(5 epochs, widths 34→16→2: loss ") and "at the last epoch: train" in text
    assert "test " in text and "val" not in text
