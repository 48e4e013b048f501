"""forward/backward against two independent references.

* HIPS autograd differentiates a plain re-implementation of the forward pass (written
  here, not taken from gcnlib), so it shares no code with gcnlib.backward.
* Central finite differences (gcnlib.numerical_gradient) of the same plain forward pass.

Every gradient is checked: e^t for all t, ∂L/∂W^t, ∂L/∂b^t, ∂L/∂A (dense, and sparse on
A's pattern), ∂L/∂H^0 (dense and sparse H^0), with and without dropout masks and biases,
with one activation for all layers or one per layer, over random shapes, depths and all
activations, in float64 and float32.
"""

from __future__ import annotations

import autograd.numpy as anp
import autograd.scipy.special as asp
import numpy as np
import pytest
import scipy.sparse as sp
import scipy.special
from autograd import grad
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import gcnlib
from gcnlib import numerical_gradient, relative_error

NAMES = ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "elu", "gelu"]


# --- an independent forward pass, for numpy (finite differences) and autograd ---------


def sigma_of(xp, name):
    erf = asp.erf if xp is anp else scipy.special.erf
    return {
        "identity": lambda Z: Z,
        "sigmoid": lambda Z: 1 / (1 + xp.exp(-Z)),
        "tanh": xp.tanh,
        "relu": lambda Z: xp.maximum(Z, 0.0),
        "leaky_relu": lambda Z: xp.where(Z > 0, Z, 0.01 * Z),
        "softplus": lambda Z: xp.log(1 + xp.exp(Z)),
        # exp of where(...), not of minimum(Z, 0): autograd splits minimum's slope at a tie
        "elu": lambda Z: xp.where(Z > 0, Z, xp.exp(xp.where(Z > 0, 0.0, Z)) - 1),
        "gelu": lambda Z: Z * 0.5 * (1 + erf(Z / xp.sqrt(2.0))),
    }[name]


def plain_loss(xp, names, A, H0, Ws, masks, Y, shifts=None, biases=None):
    """L = ½‖Z^T − Y‖²_F, Z^t = A (H^{t-1} ⊙ M^t) W^t + 1 b^tᵀ + D^t (D^t = shifts[t-1]),
    H^t = σ_t(Z^t) with σ_t = names[t-1]."""
    H = dense(H0)  # the reference works on the plain matrix; gcnlib keeps a sparse H0 sparse
    for t, W in enumerate(Ws):
        X = H if masks is None or masks[t] is None else H * masks[t]
        Z = A @ (X @ W)
        if biases is not None and biases[t] is not None:
            Z = Z + biases[t][None, :]
        if shifts is not None:
            Z = Z + shifts[t]
        H = sigma_of(xp, names[t])(Z)
    return 0.5 * xp.sum((Z - Y) ** 2)


# --- random problems ------------------------------------------------------------------


def make_problem(seed, m, widths, name, sparse_A=False, sparse_H0=False, with_masks=False, with_biases=False):
    rng = np.random.default_rng(seed)
    if sparse_A:
        keep = rng.random((m, m)) < 0.5
        np.fill_diagonal(keep, True)
        A = sp.csr_matrix(rng.normal(size=(m, m)) * keep)
    else:
        A = rng.normal(size=(m, m))
    H0 = rng.normal(size=(m, widths[0]))
    if sparse_H0:
        H0 = sp.csr_matrix(H0 * (rng.random(H0.shape) < 0.6))
    Ws = [rng.normal(size=(o, n)) / np.sqrt(o) for o, n in zip(widths[:-1], widths[1:], strict=True)]
    masks = None
    if with_masks:
        masks = [2.0 * (rng.random((m, o)) < 0.7) for o in widths[:-1]]
        masks[rng.integers(len(masks))] = None  # an entry None means "no mask"
    Y = rng.normal(size=(m, widths[-1]))
    if not with_biases:
        return A, H0, Ws, masks, Y
    biases = [rng.normal(size=n) for n in widths[1:]]
    if len(biases) > 1:
        biases[rng.integers(len(biases))] = None  # a layer without a bias
    return A, H0, Ws, masks, Y, biases


def layer_names(sigma, T):
    """The activation name of each layer, from one name or a list of T."""
    return [sigma] * T if isinstance(sigma, str) else list(sigma)


def gcnlib_gradients(A, H0, Ws, masks, Y, sigma, biases=None):
    trace = gcnlib.forward(A, H0, Ws, sigma, masks=masks, biases=biases)
    return trace, gcnlib.backward(trace, trace.Z[-1] - Y)


# relu and leaky_relu have a kink at 0; elu's slope is continuous there but its curvature
# jumps, which makes a central difference whose step crosses 0 accurate to O(ε) only.
KINKED = ("relu", "leaky_relu", "elu")


def away_from_kinks(trace, margin=1e-3):
    """Finite differences need every pre-activation of a relu (or elu) layer away from 0.

    Smooth activations have no kink: their examples are all kept, exact zeros included
    (those come from sparse rows and dropped inputs, where sparse bugs would hide).
    """
    return all(
        np.min(np.abs(Z), initial=np.inf) > margin
        for Z, a in zip(trace.Z, trace.activations, strict=True)
        if a.name in KINKED
    )


def dense(X):
    return X.toarray() if sp.issparse(X) else X


def close(a, b, rtol, atol=1e-13):
    """Norm-wise: ‖a − b‖ ≤ rtol · max(‖a‖, ‖b‖) + atol (exactly zero gradients occur with relu)."""
    a, b = dense(a), dense(b)
    assert a.shape == b.shape
    err = np.linalg.norm(a - b)
    assert err <= rtol * max(np.linalg.norm(a), np.linalg.norm(b)) + atol, (
        f"relative error {relative_error(a, b):.3g}"
    )


def on_pattern(A, G):
    """The entries of the dense matrix G at the stored positions of the sparse A."""
    A = sp.csr_matrix(A)
    rows = np.repeat(np.arange(A.shape[0]), np.diff(A.indptr))
    return sp.csr_matrix((G[rows, A.indices], A.indices, A.indptr), shape=A.shape)


def autograd_gradients(A, H0, Ws, masks, Y, sigma, biases=None):
    """dL/dZ^t (via additive shifts D^t at 0), dL/dW^t, dL/dA (dense), dL/dH^0 (dense), dL/db^t."""
    A_d, H0_d = dense(A), dense(H0)
    m = A_d.shape[0]
    names = layer_names(sigma, len(Ws))
    zeros = [np.zeros((m, W.shape[1])) for W in Ws]
    bs = (
        None
        if biases is None
        else [np.zeros(W.shape[1]) if b is None else b for W, b in zip(Ws, biases, strict=True)]
    )
    L = lambda A_, H0_, Ws_, D_, b_: plain_loss(anp, names, A_, H0_, Ws_, masks, Y, D_, b_)  # noqa: E731
    args = (A_d, H0_d, list(Ws), zeros, bs)
    dA, dH0, dW, e = (grad(L, k)(*args) for k in range(4))
    db = None if biases is None else grad(L, 4)(*args)
    if sp.issparse(A):
        dA = on_pattern(A, dA)
    return e, dW, dA, dH0, db


problems = st.fixed_dictionaries(
    {
        "seed": st.integers(0, 2**32 - 1),
        "m": st.integers(1, 6),
        "widths": st.lists(st.integers(1, 5), min_size=2, max_size=5),
        "names": st.lists(st.sampled_from(NAMES), min_size=4, max_size=4),
        "per_layer": st.booleans(),
        "sparse_A": st.booleans(),
        "sparse_H0": st.booleans(),
        "with_masks": st.booleans(),
        "with_biases": st.booleans(),
    }
)
few = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def unpack(p):
    """The problem of a hypothesis example: inputs, the biases (or None) and sigma."""
    T = len(p["widths"]) - 1
    sigma = p["names"][:T] if p["per_layer"] else p["names"][0]
    args = {k: v for k, v in p.items() if k not in ("names", "per_layer")}
    problem = make_problem(**args, name=sigma)
    biases = problem[5] if p["with_biases"] else None
    return (*problem[:5], biases, sigma)


# --- the oracle tests -----------------------------------------------------------------


@few
@given(problems)
def test_every_gradient_matches_autograd(p):
    A, H0, Ws, masks, Y, biases, sigma = unpack(p)
    trace, g = gcnlib_gradients(A, H0, Ws, masks, Y, sigma, biases)
    assume(away_from_kinks(trace, margin=0.0))  # at exactly 0, relu' is a convention
    e, dW, dA, dH0, db = autograd_gradients(A, H0, Ws, masks, Y, sigma, biases)
    for t in range(len(Ws)):
        close(g.e[t], e[t], 1e-10)
        close(g.W[t], dW[t], 1e-10)
        if biases is not None:
            assert (g.b[t] is None) == (biases[t] is None)
            if biases[t] is not None:
                close(g.b[t], db[t], 1e-10)
    assert (g.b is None) == (biases is None)
    close(g.A, dA, 1e-10)
    close(g.H0, dH0, 1e-10)
    assert sp.issparse(g.A) == p["sparse_A"]


@few
@given(problems)
def test_every_gradient_matches_finite_differences(p):
    A, H0, Ws, masks, Y, biases, sigma = unpack(p)
    names = layer_names(sigma, len(Ws))
    trace, g = gcnlib_gradients(A, H0, Ws, masks, Y, sigma, biases)
    assume(away_from_kinks(trace))

    def loss(A=A, H0=H0, Ws=Ws, D=None, b=biases):
        return plain_loss(np, names, A, H0, Ws, masks, Y, D, b)

    rtol, atol = 1e-5, 1e-7  # central differences: truncation ε² and round-off |L|·1e-16/ε
    close(g.A, numerical_gradient(lambda X: loss(A=X), A), rtol, atol)  # sparse A: on its pattern
    close(g.H0, numerical_gradient(lambda X: loss(H0=X), dense(H0)), rtol, atol)
    zeros = [np.zeros_like(Z) for Z in trace.Z]
    for t in range(len(Ws)):
        replace = lambda items, X: items[:t] + [X] + items[t + 1 :]  # noqa: E731
        close(g.W[t], numerical_gradient(lambda X: loss(Ws=replace(Ws, X)), Ws[t]), rtol, atol)
        close(g.e[t], numerical_gradient(lambda X: loss(D=replace(zeros, X)), zeros[t]), rtol, atol)
        if biases is not None and biases[t] is not None:
            row = numerical_gradient(lambda x: loss(b=replace(biases, x[0])), biases[t][None, :])
            close(g.b[t], row[0], rtol, atol)


@settings(max_examples=60, deadline=None)
@given(problems)
def test_float32_stays_float32_and_matches_float64(p):
    A, H0, Ws, masks, Y, biases, sigma = unpack(p)
    f32 = lambda X: None if X is None else X.astype(np.float32)  # noqa: E731
    masks32 = None if masks is None else [f32(M) for M in masks]
    biases32 = None if biases is None else [f32(b) for b in biases]
    trace = gcnlib.forward(f32(A), f32(H0), [f32(W) for W in Ws], sigma, masks=masks32, biases=biases32)
    assume(away_from_kinks(trace))  # float32 rounding must not move a Z across relu's kink
    g = gcnlib.backward(trace, trace.Z[-1] - f32(Y))
    for X in [*trace.Z, *trace.H[1:], *g.e, *g.W, g.A, g.H0, *(b for b in g.b or [] if b is not None)]:
        assert X.dtype == np.float32
    # the oracle runs in float64 on the very same (float32-rounded) numbers
    up = lambda X: None if X is None else X.astype(np.float64)  # noqa: E731
    masks64 = None if masks is None else [up(f32(M)) for M in masks]
    biases64 = None if biases is None else [up(f32(b)) for b in biases]
    e, dW, dA, dH0, db = autograd_gradients(
        up(f32(A)), up(f32(H0)), [up(f32(W)) for W in Ws], masks64, up(f32(Y)), sigma, biases64
    )
    rtol, atol = 2e-4, 1e-5
    for t in range(len(Ws)):
        close(g.e[t], e[t], rtol, atol)
        close(g.W[t], dW[t], rtol, atol)
        if biases is not None and biases[t] is not None:
            close(g.b[t], db[t], rtol, atol)
    close(g.A, dA, rtol, atol)
    close(g.H0, dH0, rtol, atol)


# --- the contract, example by example ---------------------------------------------------


def test_forward_follows_the_definition(rng):
    A, H0, Ws, masks, Y = make_problem(1, 5, [3, 4, 2], "tanh", with_masks=True)
    trace = gcnlib.forward(A, H0, Ws, "tanh", masks=masks)
    H = H0
    np.testing.assert_array_equal(trace.H[0], H0)
    for t, W in enumerate(Ws):
        X = H if masks[t] is None else H * masks[t]
        Z = A @ X @ W
        H = np.tanh(Z)
        np.testing.assert_allclose(trace.Z[t], Z, rtol=1e-13)
        np.testing.assert_allclose(trace.H[t + 1], H, rtol=1e-13)
    assert len(trace.Z) == 2 and len(trace.H) == 3 and trace.masks is not None


def test_lists_and_integers_become_float64():
    A = [[1, 0], [1, 1]]
    H0 = [[1, 2], [3, 4]]
    W = [[1], [-1]]
    trace = gcnlib.forward(A, H0, [W], "identity")
    g = gcnlib.backward(trace, [[1], [2]])
    assert trace.Z[0].dtype == np.float64 and g.W[0].dtype == np.float64
    np.testing.assert_array_equal(trace.Z[0], [[-1.0], [-2.0]])


def test_wrt_computes_only_what_is_asked_and_the_same_numbers():
    A, H0, Ws, masks, Y = make_problem(2, 6, [4, 5, 3, 2], "sigmoid", sparse_A=True)
    trace = gcnlib.forward(A, H0, Ws, "sigmoid")
    full = gcnlib.backward(trace, trace.Z[-1] - Y)
    for wrt in [("W",), ("A",), ("H0",), ("W", "A"), (), "H0"]:
        part = gcnlib.backward(trace, trace.Z[-1] - Y, wrt=wrt)
        wanted = {wrt} if isinstance(wrt, str) else set(wrt)
        for t in range(3):
            np.testing.assert_array_equal(part.e[t], full.e[t])
        assert (part.W is None) == ("W" not in wanted)
        assert (part.A is None) == ("A" not in wanted)
        assert (part.H0 is None) == ("H0" not in wanted)
        if part.W is not None:
            for a, b in zip(part.W, full.W, strict=True):
                np.testing.assert_array_equal(a, b)
        if part.A is not None:
            np.testing.assert_array_equal(part.A.toarray(), full.A.toarray())
        if part.H0 is not None:
            np.testing.assert_array_equal(part.H0, full.H0)


def test_sparse_A_stays_sparse_and_is_never_densified():
    # m = 200 000: a dense m×m float64 matrix would need 320 GB, so any densification fails.
    m = 200_000
    rng = np.random.default_rng(3)
    i = rng.integers(0, m, size=3 * m)
    j = rng.integers(0, m, size=3 * m)
    A = sp.csr_matrix((rng.random(3 * m), (i, j)), shape=(m, m)) + sp.identity(m, format="csr")
    H0 = rng.normal(size=(m, 3))
    Ws = [rng.normal(size=(3, 2)), rng.normal(size=(2, 2))]
    trace = gcnlib.forward(A, H0, Ws, "tanh")
    g = gcnlib.backward(trace, np.ones((m, 2)))
    assert sp.issparse(trace.A) and sp.issparse(g.A)
    assert g.A.shape == (m, m) and g.A.nnz == trace.A.nnz
    np.testing.assert_array_equal(g.A.indices, trace.A.indices)
    np.testing.assert_array_equal(g.A.indptr, trace.A.indptr)


def test_sparse_array_class_and_format_are_accepted():
    A, H0, Ws, _, Y = make_problem(4, 5, [3, 2], "relu", sparse_A=True)
    for A_in in [sp.csr_array(A), sp.coo_matrix(A), sp.csc_array(A)]:
        trace = gcnlib.forward(A_in, H0, Ws, "softplus")
        g = gcnlib.backward(trace, trace.Z[-1] - Y)
        assert sp.issparse(g.A)
        ref = gcnlib.backward(gcnlib.forward(A.toarray(), H0, Ws, "softplus"), trace.Z[-1] - Y)
        close(g.A, on_pattern(A, ref.A), 1e-12)


def test_float32_sparse_stays_float32_sparse():
    A, H0, Ws, masks, Y = make_problem(
        5, 6, [4, 3, 2], "tanh", sparse_A=True, sparse_H0=True, with_masks=True
    )
    f32 = lambda X: X.astype(np.float32)  # noqa: E731
    trace = gcnlib.forward(
        f32(A), f32(H0), [f32(W) for W in Ws], "tanh", masks=[None if M is None else f32(M) for M in masks]
    )
    g = gcnlib.backward(trace, f32(Y))
    assert sp.issparse(g.A) and g.A.dtype == np.float32
    assert isinstance(g.H0, np.ndarray) and g.H0.dtype == np.float32
    assert all(W.dtype == np.float32 for W in g.W)


def test_a_reader_defined_activation():
    cube = gcnlib.Activation("cube", lambda Z: Z**3, lambda Z, H: 3 * Z**2)
    A, H0, Ws, masks, Y = make_problem(6, 4, [3, 3, 2], "identity")
    trace = gcnlib.forward(A, H0, Ws, cube)
    g = gcnlib.backward(trace, trace.Z[-1] - Y)

    def cube_loss(W1):
        Z1 = A @ H0 @ W1
        Z2 = A @ Z1**3 @ Ws[1]
        return 0.5 * np.sum((Z2 - Y) ** 2)

    close(g.W[0], numerical_gradient(cube_loss, Ws[0]), 1e-6, 1e-8)

    def cube_loss_autograd(W1):
        Z1 = anp.dot(anp.dot(A, H0), W1)
        Z2 = anp.dot(anp.dot(A, Z1**3), Ws[1])
        return 0.5 * anp.sum((Z2 - Y) ** 2)

    close(g.W[0], grad(cube_loss_autograd)(Ws[0]), 1e-10)


def test_inputs_are_not_modified():
    A, H0, Ws, masks, Y = make_problem(7, 5, [3, 4, 2], "relu", with_masks=True)
    copies = [A.copy(), H0.copy(), [W.copy() for W in Ws], Y.copy()]
    trace = gcnlib.forward(A, H0, Ws, "relu", masks=masks)
    e_T = trace.Z[-1] - Y
    e_copy = e_T.copy()
    gcnlib.backward(trace, e_T)
    np.testing.assert_array_equal(A, copies[0])
    np.testing.assert_array_equal(H0, copies[1])
    for W, W0 in zip(Ws, copies[2], strict=True):
        np.testing.assert_array_equal(W, W0)
    np.testing.assert_array_equal(e_T, e_copy)


@pytest.mark.parametrize("perturb", ["e", "W", "b", "A", "H0"])
def test_the_oracle_notices_a_wrong_gradient(perturb):
    """The comparisons above are sharp: a tiny error in any gradient makes them fail."""
    A, H0, Ws, masks, Y, biases = make_problem(8, 5, [3, 4, 2], "tanh", with_masks=True, with_biases=True)
    biases = [np.ones(4), np.ones(2)]
    trace, g = gcnlib_gradients(A, H0, Ws, masks, Y, "tanh", biases)
    e, dW, dA, dH0, db = autograd_gradients(A, H0, Ws, masks, Y, "tanh", biases)
    mine, ref = {
        "e": (g.e[0], e[0]),
        "W": (g.W[0], dW[0]),
        "b": (g.b[0][None, :], db[0][None, :]),
        "A": (g.A, dA),
        "H0": (g.H0, dH0),
    }[perturb]
    close(mine, ref, 1e-10)
    wrong = dense(mine).copy()
    wrong[np.unravel_index(np.argmax(np.abs(wrong)), wrong.shape)] *= 1 + 1e-6  # the largest entry
    with pytest.raises(AssertionError):
        close(wrong, ref, 1e-10)


@pytest.mark.parametrize("sparse_A", [False, True])
def test_directional_check_of_every_gradient(sparse_A, rng):
    """dL ≈ G:V along random directions, on a larger problem than the hypothesis tests."""
    A, H0, Ws, masks, Y, biases = make_problem(
        9, 30, [8, 6, 5, 3], "softplus", sparse_A=sparse_A, with_masks=True, with_biases=True
    )
    sigma = ["softplus", "gelu", "identity"]
    trace, g = gcnlib_gradients(A, H0, Ws, masks, Y, sigma, biases)

    def loss(A=A, H0=H0, Ws=Ws, b=biases):
        return plain_loss(np, sigma, A, H0, Ws, masks, Y, biases=b)

    checks = [(lambda X: loss(A=X), A, g.A), (lambda X: loss(H0=X), H0, g.H0)]
    for t in range(3):
        checks.append((lambda X, t=t: loss(Ws=Ws[:t] + [X] + Ws[t + 1 :]), Ws[t], g.W[t]))
        if biases[t] is not None:
            checks.append(
                (lambda x, t=t: loss(b=biases[:t] + [x[0]] + biases[t + 1 :]), biases[t][None], g.b[t][None])
            )
    assert len(checks) == 7
    for f, X, G in checks:
        numeric, analytic = gcnlib.directional_check(f, X, G, rng=rng)
        assert relative_error(numeric, analytic) < 1e-7


# --- the trace never changes behind backward's back --------------------------------------


def change_in_place(X, how="double"):
    """Change X without replacing the array object, as ``W -= lr * G`` does."""
    values = X.data if sp.issparse(X) else X.reshape(-1)  # a view of the stored numbers
    if how == "double":
        values *= 2
    elif how == "swap":  # two different stored numbers trade places: the plain sum stays the same
        k = np.flatnonzero(values != values[0])[-1]
        values[[0, k]] = values[[k, 0]]
    else:  # one non-zero number moves by one part in 10^12
        values[np.flatnonzero(values)[-1]] *= 1 + 1e-12


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("name", ["W^1", "W^2", "W^3"])
def test_backward_ignores_in_place_changes_of_the_weights(name, sparse):
    """Forward copies the weights: updating them in place (as Adam does) after forward leaves
    backward's result at the weights forward saw. The example of issue 12 is the case W^2."""
    A, H0, Ws, _, Y = make_problem(10, 6, [4, 5, 3, 2], "tanh", sparse_A=sparse, sparse_H0=sparse)
    expected = gcnlib.backward(gcnlib.forward(A, H0, Ws, "tanh"), Y)
    trace = gcnlib.forward(A, H0, Ws, "tanh")
    change_in_place(Ws[int(name[-1]) - 1])
    got = gcnlib.backward(trace, Y)
    for t in range(3):
        np.testing.assert_array_equal(got.e[t], expected.e[t])
        np.testing.assert_array_equal(got.W[t], expected.W[t])
    np.testing.assert_array_equal(dense(got.A), dense(expected.A))
    np.testing.assert_array_equal(got.H0, expected.H0)


@pytest.mark.parametrize("how", ["double", "swap", "one part in 10^12"])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("name", ["A", "H0", "M^1", "M^2", "M^3"])
def test_backward_refuses_a_trace_whose_A_H0_or_mask_changed_in_place(name, sparse, how):
    """A, H^0 and the masks are as large as the graph: forward keeps a fingerprint instead of
    a copy, and backward raises, naming the input and what to do, instead of computing from
    changed numbers."""
    A, H0, Ws, masks, Y = make_problem(
        10, 6, [4, 5, 3, 2], "tanh", sparse_A=sparse, sparse_H0=sparse, with_masks=True
    )
    masks = [
        M if M is not None else np.tile([0.0, 2.0], (6, o))[:, :o].copy()
        for M, o in zip(masks, (4, 5, 3), strict=True)
    ]
    trace = gcnlib.forward(A, H0, Ws, "tanh", masks=masks)
    gcnlib.backward(trace, Y)  # unchanged: fine, as often as wanted
    gcnlib.backward(trace, Y)
    inputs = {"A": A, "H0": H0, **{f"M^{t}": M for t, M in enumerate(masks, 1)}}
    change_in_place(inputs[name], how)
    shown = name if name in ("A", "H0") else f"masks[{int(name[-1]) - 1}] ({name})"
    with raises_with(
        ValueError, shown, "changed in place after gcnlib.forward", "run gcnlib.forward again", ".copy()"
    ):
        gcnlib.backward(trace, Y)


@pytest.mark.parametrize("how", ["double", "swap", "one part in 10^12"])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("name", ["A", "H0", "M^1"])
def test_backward_refuses_changed_inputs_above_the_size_kept_exactly(name, sparse, how):
    """Above 4096 stored numbers the fingerprint is a weighted row sum, not a copy: it still
    catches a swap of two numbers and a change of one part in 10^12."""
    rng = np.random.default_rng(11)
    m = 90
    A = rng.normal(size=(m, m))
    H0 = rng.normal(size=(m, 60))
    if sparse:
        A, H0 = sp.csr_matrix(A * (rng.random((m, m)) < 0.6)), sp.csr_matrix(H0 * (rng.random((m, 60)) < 0.9))
        assert A.nnz > 4096 and H0.nnz > 4096
    masks = [np.tile([0.0, 2.0], (m, 30)), None]
    Ws = [rng.normal(size=(60, 5)), rng.normal(size=(5, 2))]
    trace = gcnlib.forward(A, H0, Ws, "tanh", masks=masks)
    Y = np.ones((m, 2))
    gcnlib.backward(trace, Y)
    change_in_place({"A": A, "H0": H0, "M^1": masks[0]}[name], how)
    with raises_with(ValueError, "masks[0] (M^1)" if name == "M^1" else name, "changed in place"):
        gcnlib.backward(trace, Y)


def raises_with(kind, *fragments):
    """pytest.raises(kind) whose message contains every fragment literally."""
    import re

    return pytest.raises(kind, match="(?s)" + "".join(f"(?=.*{re.escape(f)})" for f in fragments))


def test_the_example_of_issue_12():
    """Doubling W^2 in place after forward once halved dL/dW^1 (the trace held the caller's W^2)."""
    A, H0, Ws, _, Y = make_problem(11, 5, [3, 4, 2], "tanh")
    trace = gcnlib.forward(A, H0, Ws)
    g1 = gcnlib.backward(trace, trace.Z[-1] - Y)
    Ws[1] *= 2
    g2 = gcnlib.backward(trace, trace.Z[-1] - Y)
    np.testing.assert_array_equal(g1.W[0], g2.W[0])


def test_weights_are_copied_only_when_shared():
    """A check that already made a new array (a cast, a list) needs no second copy."""
    from gcnlib.validation import detached

    X = np.ones((3, 3))
    assert detached(X, X) is not X and detached(X, X.tolist()) is X
    assert detached(X[:2], X) is not X[:2]  # a view shares memory: copied
    Y = X.astype(np.float32)
    assert detached(Y, X) is Y
    S = sp.csr_matrix(X)
    assert detached(S, S) is not S and not np.shares_memory(detached(S, S).indices, S.indices)


def test_a_fingerprint_is_the_same_for_equal_matrices_only():
    from gcnlib.validation import fingerprint

    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 60))  # above 4096 numbers: the weighted row sums
    assert fingerprint(X) == fingerprint(X.copy())
    assert fingerprint(np.asfortranarray(X)) == fingerprint(np.asfortranarray(X))
    assert fingerprint(X) != fingerprint(X[:, ::-1].copy()) and fingerprint(X) != fingerprint(X[::-1].copy())
    square = X[:60, :60].copy()
    assert fingerprint(square) != fingerprint(square.T.copy())
    small = X[:10, :10].copy()  # 100 numbers: kept exactly
    assert fingerprint(small) == fingerprint(small.copy()) != fingerprint(small.T.copy())
    S = sp.csr_matrix(X * (X > 0))
    assert fingerprint(S) == fingerprint(S.copy()) != fingerprint(sp.csr_matrix(S.toarray()[::-1]))


# --- biases and one activation per layer, example by example ----------------------------


def test_biases_shift_every_row_and_their_gradient_is_the_column_sum():
    A, H0, Ws, _, Y = make_problem(13, 5, [3, 4, 2], "tanh")
    b = [np.array([0.5, -1.0, 2.0, 0.0]), None]
    plain, shifted = gcnlib.forward(A, H0, Ws), gcnlib.forward(A, H0, Ws, biases=b)
    np.testing.assert_allclose(shifted.Z[0], plain.Z[0] + b[0][None, :], rtol=1e-14)
    g = gcnlib.backward(shifted, Y)
    np.testing.assert_allclose(g.b[0], g.e[0].sum(axis=0), rtol=1e-14)  # ∂L/∂b^t = 1ᵀ e^t
    assert g.b[1] is None and "b" in repr(g) and "biases=yes" in repr(shifted)
    assert gcnlib.backward(shifted, Y, wrt=("W",)).b is None
    assert gcnlib.backward(plain, Y).b is None  # no biases, no bias gradients
    b[0] *= 2  # forward copied the biases
    np.testing.assert_array_equal(gcnlib.backward(shifted, Y).W[0], g.W[0])


def test_one_activation_per_layer():
    A, H0, Ws, _, Y = make_problem(14, 5, [3, 4, 2], "tanh")
    trace = gcnlib.forward(A, H0, Ws, ["relu", "identity"])
    np.testing.assert_array_equal(trace.H[1], np.maximum(trace.Z[0], 0))
    np.testing.assert_array_equal(trace.H[2], trace.Z[1])
    assert [a.name for a in trace.activations] == ["relu", "identity"]
    assert "sigma=relu,identity" in repr(trace)
    with pytest.raises(
        AttributeError, match=r"one activation per layer \(relu, identity\).*activations\[t - 1\]"
    ):
        trace.activation
    same = gcnlib.forward(A, H0, Ws, ["tanh", gcnlib.ACTIVATIONS["tanh"]])
    assert same.activation.name == "tanh" and "sigma=tanh," in repr(same)


def test_the_trace_and_gradients_signatures_show_no_private_fields():
    import inspect

    assert not [p for p in inspect.signature(gcnlib.Trace).parameters if p.startswith("_")]
    assert list(inspect.signature(gcnlib.Gradients).parameters) == ["e", "W", "A", "H0", "b"]


def test_every_python_example_of_the_readme_runs_as_printed():
    """The README's examples run one after the other in one namespace, as a reader pastes them."""
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    examples = re.findall(r"```python\n(.*?)```", readme, re.DOTALL)
    assert len(examples) >= 2
    namespace: dict = {}
    for example in examples:
        exec(compile(example, "README.md", "exec"), namespace)  # noqa: S102
    assert [b.shape for b in namespace["grads"].b] == [(8,), (2,)]
    errors = namespace["errors"]
    assert list(errors) == ["W^1", "W^2", "b^1", "b^2", "A", "H0"] and max(errors.values()) < 1e-6
    # the backward pass the example prints is that of the network it built (biases, relu then identity)
    A, H0, weights, labels = (namespace[k] for k in ("A", "H0", "weights", "graph"))
    sigma, biases, grads = namespace["sigma"], namespace["biases"], namespace["grads"]

    def loss_of_W2(W2):
        Z = gcnlib.forward(A, H0, [weights[0], W2], sigma=sigma, biases=biases).Z[-1]
        return gcnlib.softmax_cross_entropy(Z, labels.labels)[0]

    assert gcnlib.relative_error(grads.W[1], gcnlib.numerical_gradient(loss_of_W2, weights[1])) < 1e-6
