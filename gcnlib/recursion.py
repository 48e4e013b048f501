"""The forward and backward recursion of a graph convolutional network, in matrix form.

Forward, for t = 1..T (``M^t`` an optional dropout mask, all ones if absent)::

    Z^t = A (H^{t-1} ⊙ M^t) W^t,        H^t = sigma(Z^t)

Backward, with ``e^t = dL/dZ^t`` and ``e^T`` given by the loss::

    e^t      = ((A^T e^{t+1} W^{t+1 T}) ⊙ M^{t+1}) ⊙ sigma'(Z^t)
    dL/dW^t  = (A H̃^{t-1})^T e^t                  where H̃^{t-1} = H^{t-1} ⊙ M^t
    dL/dA    = sum_t e^t (H̃^{t-1} W^t)^T
    dL/dH^0  = (A^T e^1 W^{1 T}) ⊙ M^1

Shapes: ``A`` m×m, ``H^{t-1}`` m×o_t, ``W^t`` o_t×n_t, ``Z^t``, ``H^t`` and ``e^t`` m×n_t
(so o_{t+1} = n_t).

Only matrix products and element-wise operations appear, and each product is taken in
the cheaper of its two orders:

* forward: ``A (H̃ W)`` when n_t ≤ o_t, else ``(A H̃) W``;
* backward: ``P = A^T e^t`` serves both ``dL/dW^t = H̃^T P`` and ``P W^T``; after a
  forward ``(A H̃) W`` the cached ``A H̃`` gives ``dL/dW^t`` and ``A^T (e^t W^T)`` is the
  cheaper propagation;
* ``dL/dA``: for a dense ``A``, one product of the stacked ``[e^1 … e^T]`` and
  ``[H̃^0 W^1 … H̃^{T-1} W^T]``; for a sparse ``A``, only the entries on ``A``'s pattern,
  layer by layer (dot products of rows), never an m×m dense matrix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np
import scipy.sparse as sp

from .activations import Activation, get_activation
from .validation import _shape, as_adjacency, as_matrix, detached, fingerprint, float_dtype

__all__ = ["Trace", "Gradients", "forward", "backward"]

Array = np.ndarray
WRT = ("W", "A", "H0")


@dataclass
class Trace:
    """What the forward pass keeps for the backward pass.

    Attributes
    ----------
    A : ndarray or scipy.sparse CSR matrix
        The (checked) adjacency, m×m.
    Z : list of ndarray
        ``[Z^1, ..., Z^T]``, Z^t is m×n_t.
    H : list of ndarray
        ``[H^0, H^1, ..., H^T]``, H^t = sigma(Z^t) is m×n_t; H^0 (m×o_1) may be sparse.
    weights : list of ndarray
        ``[W^1, ..., W^T]``, W^t is o_t×n_t.
    activation : Activation
        The sigma of every layer.
    masks : list or None
        ``[M^1, ..., M^T]`` (each m×o_t or None), or None for no dropout at all.
    """

    A: Any
    Z: list
    H: list
    weights: list
    activation: Activation
    masks: list | None = None
    # Per layer, private: the layer input H̃^{t-1} = H^{t-1} ⊙ M^t; S = A H̃^{t-1} if the
    # forward pass computed it (it gives dL/dW^t); U = H̃^{t-1} W^t, kept for dL/dA only for
    # a dense A (next to the m×m A it is small; for a sparse A, recomputing it is cheaper
    # than holding m×n numbers per layer).
    _X: list = field(default_factory=list, repr=False)
    _U: list = field(default_factory=list, repr=False)
    _S: list = field(default_factory=list, repr=False)
    _fingerprints: list = field(default_factory=list, repr=False)

    def __repr__(self) -> str:
        widths = "→".join(str(w) for w in [self.weights[0].shape[0]] + [W.shape[1] for W in self.weights])
        kind = "sparse" if sp.issparse(self.A) else "dense"
        return (
            f"Trace(T={len(self.Z)}, m={self.A.shape[0]}, widths {widths}, "
            f"sigma={self.activation.name}, {self.Z[0].dtype}, {kind} A, "
            f"masks={'yes' if self.masks else 'no'})"
        )


@dataclass
class Gradients:
    """The result of :func:`backward`.

    Attributes
    ----------
    e : list of ndarray
        ``[e^1, ..., e^T]``, e^t = dL/dZ^t (m×n_t); always computed.
    W : list of ndarray or None
        ``[dL/dW^1, ..., dL/dW^T]`` (o_t×n_t), if asked for.
    A : ndarray, scipy.sparse CSR matrix or None
        dL/dA (m×m), if asked for; for a sparse A, a sparse matrix on A's pattern.
    H0 : ndarray or None
        dL/dH^0 (m×o_1, dense even for a sparse H^0), if asked for.
    """

    e: list
    W: list | None = None
    A: Any = None
    H0: Array | None = None

    def __repr__(self) -> str:
        have = [name for name in WRT if getattr(self, name) is not None]
        return f"Gradients(e: {len(self.e)} layers, with {', '.join(have) or 'no other gradients'})"


# --- checking the input ------------------------------------------------------------


def _check_weights(weights: Any) -> list:
    if isinstance(weights, np.ndarray) or sp.issparse(weights):
        raise TypeError(
            f"weights: expected a list [W^1, ..., W^T] of matrices, got one array of shape "
            f"{weights.shape}; wrap a single layer as [W]"
        )
    try:
        weights = list(weights)
    except TypeError:
        raise TypeError(f"weights: expected a list [W^1, ..., W^T], got {type(weights).__name__}") from None
    if not weights:
        raise ValueError("weights: the list is empty; a network needs at least W^1")
    return [detached(as_matrix(W, f"W^{t}"), W) for t, W in enumerate(weights, start=1)]


def _check_widths(m: int, H0: Any, Ws: list) -> None:
    if H0.shape[0] != m:
        raise ValueError(
            f"H0 has shape {_shape(H0)} but A is {m}×{m}: H0 needs one row per node ({m} rows)"
        )
    o = H0.shape[1]
    for t, W in enumerate(Ws, start=1):
        if W.shape[0] != o:
            source = "H0" if t == 1 else f"W^{t - 1}"
            raise ValueError(
                f"W^{t} has shape {_shape(W)} but H^{t - 1} is {m}×{o} (width set by {source}): "
                f"W^{t} needs {o} rows"
            )
        o = W.shape[1]


def _check_masks(masks: Any, H0: Any, Ws: list, dtype: np.dtype) -> list | None:
    if masks is None:
        return None
    if isinstance(masks, np.ndarray) or sp.issparse(masks):
        raise TypeError("masks: expected a list [M^1, ..., M^T] (entries may be None), got one array")
    masks = list(masks)
    if len(masks) != len(Ws):
        raise ValueError(f"masks: expected {len(Ws)} entries (one per layer, None for no mask), got {len(masks)}")
    m = H0.shape[0]
    checked = []
    for t, (M, W) in enumerate(zip(masks, Ws), start=1):
        if M is not None:
            M = as_matrix(M, f"masks[{t - 1}] (M^{t})", dtype=dtype)
            if M.shape != (m, W.shape[0]):
                raise ValueError(
                    f"masks[{t - 1}] (M^{t}) has shape {_shape(M)} but H^{t - 1} is "
                    f"{m}×{W.shape[0]}: a mask must have exactly the shape of the layer input"
                )
        checked.append(M)
    return checked if any(M is not None for M in checked) else None


def _check_wrt(wrt: str | Iterable[str]) -> frozenset:
    wanted = frozenset((wrt,) if isinstance(wrt, str) else wrt)
    unknown = wanted - set(WRT)
    if unknown:
        raise ValueError(f"wrt: unknown gradient(s) {sorted(unknown)}; choose from {list(WRT)}")
    return wanted


# --- the forward pass --------------------------------------------------------------


def forward(
    A: Any,
    H0: Any,
    weights: Sequence[Any],
    sigma: str | Activation = "tanh",
    *,
    masks: Sequence[Any | None] | None = None,
) -> Trace:
    """Run the forward recursion ``Z^t = A (H^{t-1} ⊙ M^t) W^t``, ``H^t = sigma(Z^t)``.

    Parameters
    ----------
    A : array_like or scipy.sparse matrix, m×m
        The (normalised) adjacency. A sparse A stays sparse.
    H0 : array_like or scipy.sparse matrix, m×o_1
        The node features H^0.
    weights : list of array_like
        ``[W^1, ..., W^T]``, W^t of shape o_t×n_t with o_{t+1} = n_t.
    sigma : str or Activation
        The activation of every layer, a name in ``ACTIVATIONS`` or an Activation.
    masks : list, optional
        ``[M^1, ..., M^T]``, M^t of shape m×o_t (the shape of H^{t-1}) or None.

    Returns
    -------
    Trace
        ``trace.Z = [Z^1..Z^T]``, ``trace.H = [H^0..H^T]``, and what backward needs.
        float32 if every input is float32, else float64. The trace holds copies of the
        weights, so updating them in place afterwards (as an optimiser does) does not
        change what :func:`backward` computes from it. ``A``, ``H0`` and the masks are as
        large as the graph and are not copied: the trace keeps a fingerprint of each, and
        :func:`backward` raises if one of them was changed in place in the meantime.

    Raises
    ------
    TypeError, ValueError
        For malformed input; the message names the argument and the shapes.
    """
    activation = get_activation(sigma)
    A = as_adjacency(A)
    H0 = as_matrix(H0, "H0", sparse_ok=True)
    Ws = _check_weights(weights)  # private copies: an optimiser may update the caller's in place
    _check_widths(A.shape[0], H0, Ws)
    dtype = float_dtype(A.dtype, H0.dtype, *(W.dtype for W in Ws))
    A, H0 = A.astype(dtype, copy=False), H0.astype(dtype, copy=False)
    Ws = [W.astype(dtype, copy=False) for W in Ws]
    masks = _check_masks(masks, H0, Ws, dtype)

    trace = Trace(A=A, Z=[], H=[H0], weights=Ws, activation=activation, masks=masks)
    sparse_A = sp.issparse(A)
    H = H0
    for t, W in enumerate(Ws):
        M = masks[t] if masks else None
        X = H if M is None else (H.multiply(M).tocsr() if sp.issparse(H) else H * M)
        U = S = None
        if sp.issparse(X) or W.shape[1] <= W.shape[0]:
            U = X @ W  # A (H̃ W): the cheaper order when the layer narrows, n_t ≤ o_t
            Z = A @ U
        else:
            S = A @ X  # (A H̃) W: the cheaper order when the layer widens
            Z = S @ W
        if sparse_A and U is not None and U.shape == Z.shape:
            H = _apply_in_place(activation.f, Z, out=U)  # U is no longer needed: reuse it
        else:
            H = activation.f(Z)
        trace.Z.append(Z)
        trace.H.append(H)
        trace._X.append(X)
        trace._U.append(None if sparse_A else U)
        trace._S.append(S)
    trace._fingerprints = [fingerprint(X) for _, X in _large_inputs(trace)]
    return trace


def _large_inputs(trace: Trace) -> list:
    """The inputs the trace shares with the caller and does not copy: A, H^0, the masks.

    They are as large as the graph, so forward only takes their fingerprints and backward
    checks that they are unchanged (the weights, which are small, forward copies).
    """
    inputs = [("A", trace.A), ("H0", trace.H[0])]
    for t, M in enumerate(trace.masks or [], start=1):
        if M is not None:
            inputs.append((f"masks[{t - 1}] (M^{t})", M))
    return inputs


def _check_unchanged(trace: Trace) -> None:
    """Raise if A, H^0 or a mask changed in place since the forward pass that made the trace."""
    for (name, X), before in zip(_large_inputs(trace), trace._fingerprints, strict=True):
        if fingerprint(X) != before:
            raise ValueError(
                f"{name} ({_shape(X)}) was changed in place after gcnlib.forward made this trace, "
                f"so the trace no longer matches it: run gcnlib.forward again after changing {name}, "
                f"or give forward a copy ({name.split(' ')[0]}.copy()) if you change the array later"
            )


# --- the backward pass -------------------------------------------------------------


def backward(trace: Trace, e_T: Any, *, wrt: str | Iterable[str] = WRT) -> Gradients:
    """Run the backward recursion from ``e^T = dL/dZ^T``.

    Parameters
    ----------
    trace : Trace
        The result of :func:`forward`.
    e_T : array_like, m×n_T
        dL/dZ^T, the gradient of the loss with respect to the last pre-activation.
    wrt : tuple of str
        Which gradients besides ``e`` to compute: any of ``"W"``, ``"A"``, ``"H0"``
        (default all). Training on a fixed graph needs only ``("W",)``.

    Returns
    -------
    Gradients
        ``e = [e^1..e^T]`` (m×n_t); ``W = [dL/dW^1..dL/dW^T]`` (o_t×n_t); ``A`` = dL/dA
        (m×m, sparse on A's pattern if A is sparse); ``H0`` = dL/dH^0 (m×o_1, dense).
        Gradients not in ``wrt`` are None.

    Raises
    ------
    TypeError, ValueError
        If ``trace`` is not a Trace, ``e_T`` is malformed or not of the shape of Z^T, or
        ``wrt`` names an unknown gradient; a ValueError also if ``A``, ``H0`` or a mask
        was changed in place after :func:`forward` made the trace (run forward again).
    """
    if not isinstance(trace, Trace):
        raise TypeError(f"trace: expected the Trace returned by gcnlib.forward, got {type(trace).__name__}")
    wanted = _check_wrt(wrt)
    _check_unchanged(trace)
    T = len(trace.Z)
    Z_T = trace.Z[-1]
    if isinstance(e_T, tuple) and len(e_T) == 2 and np.ndim(e_T[0]) == 0:
        raise TypeError(
            "e_T: got a pair (L, e_T), as gcnlib's losses return; pass only the gradient: "
            "L, e_T = gcnlib.softmax_cross_entropy(...), then gcnlib.backward(trace, e_T)"
        )
    e_T = as_matrix(e_T, "e_T", dtype=Z_T.dtype)
    if e_T.shape != Z_T.shape:
        raise ValueError(
            f"e_T has shape {_shape(e_T)} but Z^T (T={T}) is {_shape(Z_T)}: "
            f"e_T = dL/dZ^T must have exactly the shape of Z^T"
        )

    AT = trace.A.T
    df = trace.activation.df
    want_W, want_H0 = "W" in wanted, "H0" in wanted
    e: list = [None] * T
    dW: list | None = [None] * T if want_W else None
    dH0 = None
    e_t = e_T
    for i in reversed(range(T)):  # i = t - 1
        e[i] = e_t
        W, X, S = trace.weights[i], trace._X[i], trace._S[i]
        propagate = i > 0 or want_H0
        G = None
        if S is not None:  # the forward pass ran (A H̃) W: reuse S = A H̃
            if want_W:
                dW[i] = S.T @ e_t
            if propagate:
                G = AT @ (e_t @ W.T)
        elif want_W or propagate:
            P = AT @ e_t  # one product with A serves both gradients
            if want_W:
                dW[i] = X.T @ P
            if propagate:
                G = P @ W.T
            del P  # free it before the next layer allocates its own: a big graph reuses the pages
        if G is None:
            break
        M = trace.masks[i] if trace.masks else None
        if i == 0:
            dH0 = G if M is None else _hadamard_in_place(G, M)
        else:  # e^{t-1} = (G ⊙ M^t) ⊙ sigma'(Z^{t-1}), written into G
            e_t = _hadamard_in_place(G, M, df, trace.Z[i - 1], trace.H[i])

    dA = _gradient_A(trace, e) if "A" in wanted else None
    return Gradients(e=e, W=dW, A=dA, H0=dH0)


def _apply_in_place(f, Z: Array, out: Array, block: int = 1 << 18) -> Array:
    """``out = f(Z)`` into an existing array of Z's shape.

    On a big graph this spares allocating (and first touching) one more m×n array per
    layer, which costs more than the arithmetic of f. A NumPy ufunc such as ``np.tanh``
    writes into ``out`` directly; any other f runs on blocks of about ``block`` numbers,
    so that its temporaries stay small.
    """
    if isinstance(f, np.ufunc):
        return f(Z, out=out)
    step = max(1, block // max(1, Z.shape[1]))
    for s in range(0, Z.shape[0], step):
        out[s : s + step] = f(Z[s : s + step])
    return out


def _hadamard_in_place(G: Array, M: Array | None, df=None, Z=None, H=None, block: int = 1 << 18) -> Array:
    """``G ⊙ M ⊙ df(Z, H)`` written into G, a block of rows at a time.

    Working on blocks of about ``block`` numbers (2 MB in float64) keeps the temporaries
    of ``df`` small enough for the allocator to reuse them (a fresh large array is slow
    to touch) while keeping the number of Python-level calls low; ``M`` and ``df`` may
    be None.
    """
    step = max(1, block // max(1, G.shape[1]))
    for s in range(0, G.shape[0], step):
        k = slice(s, s + step)
        if M is not None:
            G[k] *= M[k]
        if df is not None:
            G[k] *= df(Z[k], H[k])
    return G


def _gradient_A(trace: Trace, e: list):
    """dL/dA = sum_t e^t (H̃^{t-1} W^t)^T.

    For a dense A: one product of the stacked factors, [e^1 … e^T] [U^1 … U^T]^T with
    U^t = H̃^{t-1} W^t. For a sparse A: the entries on A's pattern only, layer by layer
    (one U^t at a time, without stacking: large temporaries are slow to allocate).
    """
    layers = zip(e, trace._U, trace._X, trace.weights)
    if sp.issparse(trace.A):
        A = trace.A
        data = sum(_sampled_values(A, e_t, X @ W) for e_t, _, X, W in layers)
        return type(A)((data, A.indices.copy(), A.indptr.copy()), shape=A.shape)
    U = [u if u is not None else X @ W for _, u, X, W in layers]
    E = e[0] if len(e) == 1 else np.concatenate(e, axis=1)
    U = U[0] if len(U) == 1 else np.concatenate(U, axis=1)
    return E @ U.T


def _sampled_values(A: Any, E: Array, U: Array, block: int = 1 << 17) -> Array:
    """The entries of ``E Uᵀ`` on the sparsity pattern of the CSR matrix ``A``, as A.data.

    Entry (i, j) of ``E Uᵀ`` is the dot product of row i of E with row j of U; it is
    computed for the stored (i, j) of A only, a block of A's rows at a time (about
    ``block`` numbers per block): row i of E is repeated once per stored entry of row i
    of A, the rows j of U are gathered, and the pairs are multiplied and summed.
    """
    indptr, cols = A.indptr, A.indices
    m, k = E.shape
    data = np.empty(cols.size, dtype=np.result_type(E, U))
    per_row = np.diff(indptr)
    step = max(1, block * m // max(1, k * cols.size))  # rows per block
    for r0 in range(0, m, step):
        r1 = min(m, r0 + step)
        nz = slice(indptr[r0], indptr[r1])
        E_rows = np.repeat(E[r0:r1], per_row[r0:r1], axis=0)
        np.einsum("ij,ij->i", E_rows, U[cols[nz]], out=data[nz])
    return data
