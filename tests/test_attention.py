"""Graph attention (gcnlib.attention) against two independent references.

* HIPS autograd differentiates a plain re-implementation of the GAT layer, written here
  from the paper's definition (one head at a time, a dense masked softmax), so it shares
  no code with gcnlib's hand-derived backward pass.
* Central finite differences (gcnlib.numerical_gradient) of the same plain layer.

Every gradient is checked (W, both halves of the attention vectors, the biases, the layer
input H, and the intermediates Ā, R̄, S̄), over random shapes and numbers of heads, for
concatenated and averaged heads, dense and sparse graphs, dense and sparse inputs, with
and without dropout masks, in float64; float32 is checked to stay float32.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tracemalloc
from pathlib import Path

import autograd.numpy as anp
import numpy as np
import pytest
import scipy.sparse as sp
from autograd import grad
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import gcnlib
from gcnlib import attention, numerical_gradient, relative_error
from gcnlib.__main__ import main

SLOPE = 0.2


# --- an independent GAT layer, for numpy (finite differences) and autograd ----------------


def plain_layer(xp, P, H, W, a1, a2, b, combine, M=None, MA=None, slope=SLOPE):
    """Z of one GAT layer, head by head, from the definition (P: the m×m 0/1 pattern)."""
    K, n = a1.shape
    X = H if M is None else H * M
    heads = []
    for k in range(K):
        U = xp.dot(X, W[:, k * n : (k + 1) * n])
        S = xp.dot(U, a1[k])[:, None] + xp.dot(U, a2[k])[None, :]  # a_1ᵀ W h_i + a_2ᵀ W h_j
        R = xp.where(S > 0, S, slope * S)
        E = xp.exp(R - xp.max(R)) * P  # the shift cancels in the ratio
        A = E / xp.sum(E, axis=1, keepdims=True)
        if MA is not None:
            A = A * MA[k]
        Z = xp.dot(A, U)
        heads.append(Z if b is None else Z + b[k])
    return xp.concatenate(heads, axis=1) if combine == "concat" else sum(heads) / K


def dense(X):
    return X.toarray() if sp.issparse(X) else np.asarray(X)


def close(a, b, rtol, atol=1e-12):
    """Norm-wise: ‖a − b‖ ≤ rtol · max(‖a‖, ‖b‖) + atol."""
    a, b = dense(a), dense(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    err = np.linalg.norm(a - b)
    bound = rtol * max(np.linalg.norm(a), np.linalg.norm(b)) + atol
    assert err <= bound, f"relative error {relative_error(a, b):.3g}"


# --- random problems ----------------------------------------------------------------------


def make_problem(seed, m, o, K, n, combine, sparse_A, sparse_H, with_masks, with_bias):
    rng = np.random.default_rng(seed)
    P = (rng.random((m, m)) < 0.5) | np.eye(m, dtype=bool)
    A = sp.csr_matrix(P * rng.uniform(0.5, 2.0, (m, m))) if sparse_A else P * 1.0  # values are ignored
    H = rng.standard_normal((m, o))
    if sparse_H:
        H = sp.csr_matrix(H * (rng.random(H.shape) < 0.6))
    W = rng.standard_normal((o, K * n))
    a1, a2 = rng.standard_normal((2, K, n))
    b = rng.standard_normal((K, n)) if with_bias else None
    M = MA = None
    if with_masks:
        M = 2.0 * (rng.random((m, o)) < 0.6)
        MA = 2.5 * (rng.random((K, m, m)) < 0.7)
    Y = rng.standard_normal((m, K * n if combine == "concat" else n))
    return dict(P=P, A=A, H=H, W=W, a1=a1, a2=a2, b=b, M=M, MA=MA, Y=Y, combine=combine)


def gcnlib_layer(p, A=None):
    """gcnlib's forward and backward on problem p (with A's own mask layout)."""
    A = p["A"] if A is None else A
    MA = p["MA"]
    if MA is not None and sp.issparse(A):
        MA = MA[:, p["P"]]  # one value per stored entry, in CSR (row-major) order
    trace = attention.attention_forward(A, p["H"], p["W"], p["a1"], p["a2"], p["b"], combine=p["combine"],
                                        input_mask=p["M"], attention_mask=MA)  # fmt: skip
    return trace, attention.attention_backward(trace, trace.Z - p["Y"])


def plain_loss(xp, p, H, W, a1, a2, b):
    Z = plain_layer(xp, p["P"], H, W, a1, a2, b, p["combine"], p["M"], p["MA"])
    return 0.5 * xp.sum((Z - p["Y"]) ** 2)


PARAMETERS = ("H", "W", "a1", "a2", "b")


def reference_gradients(p):
    """autograd's dL/dH, dL/dW, dL/da1, dL/da2, dL/db (None for an absent bias)."""
    args = [dense(p["H"]), p["W"], p["a1"], p["a2"], p["b"]]
    out = {}
    for i, name in enumerate(PARAMETERS):
        if args[i] is None:
            out[name] = None
            continue
        out[name] = grad(lambda *xs: plain_loss(anp, p, *xs), i)(*args)
    return out


def scores_away_from_kink(p, margin=1e-3):
    """Finite differences need every score S_ij on the pattern away from LeakyReLU's kink at 0."""
    K, n = p["a1"].shape
    X = dense(p["H"]) if p["M"] is None else dense(p["H"]) * p["M"]
    for k in range(K):
        U = X @ p["W"][:, k * n : (k + 1) * n]
        S = (U @ p["a1"][k])[:, None] + (U @ p["a2"][k])[None, :]
        if np.min(np.abs(S[p["P"]])) <= margin:
            return False
    return True


problems = st.fixed_dictionaries(
    {
        "seed": st.integers(0, 2**32 - 1),
        "m": st.integers(1, 6),
        "o": st.integers(1, 4),
        "K": st.integers(1, 3),
        "n": st.integers(1, 3),
        "combine": st.sampled_from(["concat", "mean"]),
        "sparse_A": st.booleans(),
        "sparse_H": st.booleans(),
        "with_masks": st.booleans(),
        "with_bias": st.booleans(),
    }
)
few = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- the oracle tests -------------------------------------------------------------------------


@few
@given(problems)
def test_every_gradient_matches_autograd(spec):
    p = make_problem(**spec)
    trace, grads = gcnlib_layer(p)
    Z = plain_layer(
        np, p["P"], dense(p["H"]), p["W"], p["a1"], p["a2"], p["b"], p["combine"], p["M"], p["MA"]
    )
    np.testing.assert_allclose(trace.Z, Z, rtol=1e-12, atol=1e-12)
    reference = reference_gradients(p)
    # ā_1 can be tiny next to the loss (a shift of a row of scores only acts through the
    # LeakyReLU), so the absolute tolerance scales with the loss: round-off is relative to it
    scale = max(1.0, plain_loss(np, p, dense(p["H"]), p["W"], p["a1"], p["a2"], p["b"]))
    for name in PARAMETERS:
        mine = getattr(grads, name)
        if reference[name] is None:
            assert mine is None
            continue
        close(mine, reference[name], rtol=1e-10, atol=1e-13 * scale)


@few
@given(problems)
def test_every_gradient_matches_finite_differences(spec):
    p = make_problem(**spec)
    assume(scores_away_from_kink(p))
    _, grads = gcnlib_layer(p)
    args = {"H": dense(p["H"]), "W": p["W"], "a1": p["a1"], "a2": p["a2"], "b": p["b"]}
    # a central difference with step 1e-6 carries round-off of about 1e-16·|L|/1e-6 per entry
    scale = max(1.0, plain_loss(np, p, **args))
    for name in PARAMETERS:
        if args[name] is None:
            continue

        def L(X, name=name):
            return plain_loss(np, p, **{**args, name: X})

        G = numerical_gradient(L, args[name])
        close(getattr(grads, name), G, rtol=1e-6, atol=1e-8 * scale * np.sqrt(G.size))


@few
@given(problems)
def test_dense_and_sparse_graphs_give_the_same_layer(spec):
    p = make_problem(**spec)
    P = p["P"] * 1.0
    dense_trace, dense_grads = gcnlib_layer(p, A=P)
    sparse_trace, sparse_grads = gcnlib_layer(p, A=sp.csr_matrix(P))
    close(sparse_trace.Z, dense_trace.Z, rtol=1e-13)
    for name in PARAMETERS:
        if getattr(dense_grads, name) is not None:
            close(getattr(sparse_grads, name), getattr(dense_grads, name), rtol=1e-12)
    for name in ("A", "R", "S"):  # on E: K×nnz against the K×m×m arrays at the pattern
        on_E = getattr(dense_grads, name)[:, p["P"]]
        close(getattr(sparse_grads, name), on_E, rtol=1e-12, atol=1e-14)
    close(sparse_grads.U, dense_grads.U, rtol=1e-12)


def test_the_intermediates_match_autograd():
    """Ā, R̄ and S̄: autograd of L as a function of A, of R and of S (the later steps replayed)."""
    p = make_problem(3, m=7, o=4, K=2, n=3, combine="concat", sparse_A=False, sparse_H=False,
                     with_masks=True, with_bias=True)  # fmt: skip
    trace, grads = gcnlib_layer(p)
    U = [trace.U[:, k] for k in range(2)]
    P = p["P"]

    def loss_from_attention(A_all):  # A_all: K×m×m attention, then Z and the loss
        Z = anp.concatenate([anp.dot(A_all[k] * p["MA"][k], U[k]) + p["b"][k] for k in range(2)], axis=1)
        return 0.5 * anp.sum((Z - p["Y"]) ** 2)

    def attention_from_rectified(R_all):
        E = anp.exp(R_all) * P
        return E / anp.sum(E, axis=2, keepdims=True)

    def leaky(S_all):
        return anp.where(S_all > 0, S_all, SLOPE * S_all)

    S = trace.S
    R = leaky(S)
    A_bar = grad(loss_from_attention)(trace.A) * P
    R_bar = grad(lambda R_: loss_from_attention(attention_from_rectified(R_)))(R) * P
    S_bar = grad(lambda S_: loss_from_attention(attention_from_rectified(leaky(S_))))(S) * P
    close(grads.A, A_bar, rtol=1e-12)
    close(grads.R, R_bar, rtol=1e-12)
    close(grads.S, S_bar, rtol=1e-12)
    # the rows of R̄ sum to zero: the softmax does not see a shift of its row
    # (to round-off in the sum of the terms A_ij Ā_ij it is made of)
    assert np.all(np.abs(grads.R.sum(axis=2)) <= 1e-13 * np.abs(trace.A * grads.A).sum(axis=2))


# --- the two-layer network --------------------------------------------------------------------


@pytest.mark.parametrize("sparse_A", [False, True])
def test_gat_backward_matches_autograd_through_elu_and_dropout(sparse_A):
    rng = np.random.default_rng(11)
    m, F, c = 9, 5, 3
    P = (rng.random((m, m)) < 0.3) | np.eye(m, dtype=bool)
    A = sp.csr_matrix(P * 1.0) if sparse_A else P * 1.0
    X = rng.standard_normal((m, F))
    layers = attention.gat_parameters(F, c, rng, heads=3, hidden=2, output_heads=2)
    for layer in layers:
        layer.b[:] = rng.standard_normal(layer.b.shape)
    trace = attention.gat_forward(
        A, X, layers, dropout=0.3, attention_dropout=0.3, rng=np.random.default_rng(5)
    )
    labels = rng.integers(0, c, m)
    train = np.array([0, 2, 3, 7])
    _, e = gcnlib.softmax_cross_entropy(trace.Z, labels, train)
    grads = attention.gat_backward(trace, e)

    def mask_of(layer_trace):  # the dense K×m×m attention mask of a layer
        MA = layer_trace.attention_mask
        if sp.issparse(A):
            full = np.zeros((MA.shape[0], m, m))
            full[:, P] = MA
            return full
        return MA

    t1, t2 = trace.layers

    def loss(*flat):
        W1, a11, a21, b1, W2, a12, a22, b2 = flat
        Z1 = plain_layer(anp, P, X, W1, a11, a21, b1, "concat", t1.input_mask, mask_of(t1))
        H1 = anp.where(Z1 > 0, Z1, anp.exp(anp.minimum(Z1, 0)) - 1)
        Z2 = plain_layer(anp, P, H1, W2, a12, a22, b2, "mean", t2.input_mask, mask_of(t2))
        log_P = Z2 - anp.log(anp.sum(anp.exp(Z2), axis=1, keepdims=True))
        return -anp.mean(log_P[train, labels[train]])

    flat = [X_ for layer in layers for X_ in layer.arrays()]
    assert np.isclose(loss(*flat), gcnlib.softmax_cross_entropy(trace.Z, labels, train)[0], rtol=1e-12)
    mine = [G for layer_grads in grads for G in layer_grads]
    for i, G in enumerate(mine):
        close(G, grad(loss, i)(*flat), rtol=1e-10)


def test_train_gat_learns_the_karate_club_and_follows_the_early_stopping_rule():
    club = gcnlib.karate_club()
    X = np.eye(34)
    train, rest = np.array([0, 33, 1, 32]), np.arange(2, 32)
    history = attention.train_gat(club.A, X, club.labels, train, rest, rest, heads=2, hidden=4,
                                  epochs=400, patience=30, lr=0.01, seed=0)  # fmt: skip
    k = history.kept_epoch
    acc, loss = np.array(history.val_accuracy), np.array(history.val_loss)
    assert np.all(acc[k] >= acc[:k]) and np.all(loss[k] <= loss[:k])  # a new best in both
    assert history.kept_test_accuracy >= 0.85
    stopped = len(history.loss)
    assert stopped < 400
    best_acc, best_loss = np.maximum.accumulate(acc), np.minimum.accumulate(loss)
    improved = (acc[1:] >= best_acc[:-1]) | (loss[1:] <= best_loss[:-1])  # resets of the counter
    last_reset = 1 + np.flatnonzero(improved)[-1] if improved.any() else 0
    assert stopped - 1 - last_reset == 30  # patience epochs without a reset, then stop
    again = attention.train_gat(club.A, X, club.labels, train, rest, rest, heads=2, hidden=4,
                                epochs=400, patience=30, lr=0.01, seed=0)  # fmt: skip
    assert again.val_loss == history.val_loss  # seeded: equal runs


# --- sizes, dtypes, errors --------------------------------------------------------------------


def test_a_large_sparse_graph_never_forms_an_m_by_m_matrix():
    m = 20_000  # a dense m×m float64 matrix would take 3.2 GB
    rng = np.random.default_rng(0)
    A = gcnlib.random_graph(m, 5, rng=rng) + sp.eye(m, format="csr")
    H = rng.standard_normal((m, 3))
    W, a1, a2 = rng.standard_normal((3, 4)), rng.standard_normal((2, 2)), rng.standard_normal((2, 2))
    tracemalloc.start()
    trace = attention.attention_forward(A, H, W, a1, a2)
    grads = attention.attention_backward(trace, np.ones_like(trace.Z))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert grads.S.shape == (2, A.nnz)
    assert peak < 100e6, f"peak {peak / 1e6:.0f} MB"


def test_float32_stays_float32():
    rng = np.random.default_rng(1)
    m = 6
    A = sp.csr_matrix(np.eye(m) + (rng.random((m, m)) < 0.4))
    f32 = lambda *shape: rng.standard_normal(shape).astype(np.float32)  # noqa: E731
    trace = attention.attention_forward(A, f32(m, 3), f32(3, 4), f32(2, 2), f32(2, 2), f32(2, 2),
                                        attention_mask=np.ones((2, A.nnz), np.float32))  # fmt: skip
    grads = attention.attention_backward(trace, np.ones((m, 4), np.float32))
    assert trace.Z.dtype == np.float32
    for X in (grads.W, grads.a1, grads.a2, grads.b, grads.H, grads.A, grads.R, grads.S, grads.U):
        assert X.dtype == np.float32
    history = attention.train_gat(A, f32(m, 3), np.arange(m) % 2, [0, 1], [2, 3], epochs=3, heads=2, hidden=2)
    assert history.layers[0].W.dtype == np.float32


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
# spread 30: within SOFTMAX_SHIFT_RANGE of a row's first entry; 500: far beyond it
@pytest.mark.parametrize("spread", [30.0, 500.0])
def test_the_row_softmax_is_exact_for_scores_of_any_size(dtype, spread):
    """The softmax on E shifts each row by its first entry, or by its maximum when an entry lies far above
    the first: either way no exp overflows, and the result is the softmax of a float64 reference."""
    rng = np.random.default_rng(3)
    m, K = 40, 3
    P = np.eye(m) + (rng.random((m, m)) < 0.2)
    R = rng.uniform(-spread, spread, (K, m, m))
    R[:, :, 0] -= 2 * spread  # rows whose first entry on E is far below the others ...
    R[:, ::2, 0] += 4 * spread  # ... and rows whose first entry is far above the others
    expected = np.where(P > 0, R, -np.inf)
    expected = np.exp(expected - expected.max(axis=2, keepdims=True))
    expected /= expected.sum(axis=2, keepdims=True)
    R = R.astype(dtype)
    dense_edges, sparse_edges = attention._edges(P), attention._edges(sp.csr_matrix(P))
    rows, cols = sp.csr_matrix(P).nonzero()
    with np.errstate(over="raise", invalid="raise"):
        dense_result = dense_edges.row_softmax(np.where(P > 0, R, 0).astype(dtype))
        sparse_result = sparse_edges.row_softmax(R[:, rows, cols])
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    assert dense_result.dtype == sparse_result.dtype == dtype
    np.testing.assert_allclose(dense_result, expected, atol=tolerance)
    np.testing.assert_allclose(sparse_result, expected[:, rows, cols], atol=tolerance)


def small():
    rng = np.random.default_rng(2)
    return dict(A=np.eye(4) + np.diag(np.ones(3), 1), H=rng.standard_normal((4, 3)),
                W=rng.standard_normal((3, 6)), a1=np.ones((2, 3)), a2=np.ones((2, 3)))  # fmt: skip


@pytest.mark.parametrize(
    "change, error, words",
    [
        ({"W": np.ones((3, 5))}, ValueError, ["W", "3×5", "3×6"]),
        ({"W": np.ones((2, 6))}, ValueError, ["W", "2×6", "H", "4×3"]),
        ({"a2": np.ones((3, 2))}, ValueError, ["a2", "3×2", "2×3"]),
        ({"H": np.ones((5, 3))}, ValueError, ["H", "5×3", "4×4"]),
        ({"A": np.ones((4, 3))}, ValueError, ["A", "4×3"]),
        ({"A": np.diag([1.0, 1, 0, 1])}, ValueError, ["row 2", "self loops"]),
        ({"b": np.ones((2, 2))}, ValueError, ["b", "2×2", "2×3"]),
        ({"combine": "sum"}, ValueError, ["combine", "sum"]),
        ({"slope": 1.5}, ValueError, ["slope", "1.5"]),
        ({"input_mask": np.ones((4, 2))}, ValueError, ["input_mask", "4×2", "4×3"]),
        ({"attention_mask": np.ones((2, 3))}, ValueError, ["attention_mask", "(2, 3)", "(2, 4, 4)"]),
        ({"H": [[1, 2], [3]]}, ValueError, ["H"]),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(change, error, words):
    args = {**small(), **change}
    with pytest.raises(error) as info:
        attention.attention_forward(**args)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_backward_refuses_a_wrong_gradient_or_trace():
    trace = attention.attention_forward(**small())
    with pytest.raises(ValueError, match="e has shape 4×5 but Z is 4×6"):
        attention.attention_backward(trace, np.ones((4, 5)))
    with pytest.raises(TypeError, match="AttentionTrace"):
        attention.attention_backward(gcnlib.forward(np.eye(2), np.eye(2), [np.eye(2)]), np.ones((4, 6)))
    with pytest.raises(
        ValueError, match=r"wrt: unknown gradient\(s\) \['A'\]; choose from \['W', 'a', 'b', 'H'\]"
    ):
        attention.attention_backward(trace, np.ones((4, 6)), wrt=("A",))
    sparse_mask = attention.attention_forward(**{**small(), "A": sp.csr_matrix(small()["A"])})
    with pytest.raises(ValueError, match=r"\(2, 7\)"):
        attention.attention_forward(sparse_mask.edges, small()["H"], small()["W"], small()["a1"],
                                    small()["a2"], attention_mask=np.ones((2, 4)))  # fmt: skip


# --- the command line: python -m gcnlib gat -------------------------------------------------

SUMMARY = re.compile(r"^(cora|citeseer): test accuracy (\d+\.\d) ± (\d+\.\d) % over (\d+) seeds?$")


def test_gat_command_prints_progress_and_the_summary_line(capsys):
    args = ["gat", "--dataset", "citeseer", "--seeds", "2", "--epochs", "3", "--heads", "2", "--hidden", "4"]
    assert main(args) == 0
    captured = capsys.readouterr()
    match = SUMMARY.match(captured.out.strip())
    assert match and match.group(1) == "citeseer" and match.group(4) == "2", captured.out
    assert captured.err.count("seed 0:") == 1 and captured.err.count("seed 1:") == 1
    assert "float32" in captured.err


def test_gat_command_explains_its_options_and_refuses_bad_values(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["gat", "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    for option in ("--dataset", "--seeds", "--epochs", "--patience", "--lr", "--heads", "--hidden",
                   "--output-heads", "--dropout", "--attention-dropout", "--weight-decay", "--float64"):  # fmt: skip
        assert option in text
    for option, value in [("--heads", "0"), ("--attention-dropout", "1"), ("--patience", "x")]:
        with pytest.raises(SystemExit) as exit_:
            main(["gat", option, value])
        assert exit_.value.code == 2
        assert option in capsys.readouterr().err


def test_the_benchmark_script_runs_and_prints_its_table():
    """benchmarks/bench_gat.py is run by hand; its timings are not tested, only that it works."""
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_gat.py"
    result = subprocess.run([sys.executable, str(script), "--dtype", "float32", "--rounds", "1", "--epochs", "2"],
                            capture_output=True, text=True, timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines() if line.startswith("float32")]
    assert len(rows) == 1, result.stdout
    gat_over_gcn, gat_over_products = float(rows[0][7]), float(rows[0][8])
    assert gat_over_gcn > 0 and gat_over_products > 0
