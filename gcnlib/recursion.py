r"""The forward and backward recursion of a graph convolutional network, in matrix form.

Forward, for :math:`t = 1, \dots, T`, with :math:`M^t` an optional dropout mask (all ones
if absent), :math:`b^t` an optional bias (zero if absent) and :math:`\sigma_t` the
activation of layer :math:`t`:

.. math::

   Z^t = A\,(H^{t-1} \odot M^t)\,W^t + \mathbf{1}\,(b^t)^\top, \qquad H^t = \sigma_t(Z^t).

Backward, with :math:`e^t = \partial L/\partial Z^t` and :math:`e^T` given by the loss, and
:math:`\tilde H^{t-1} = H^{t-1} \odot M^t` the input of layer :math:`t`:

.. math::

   e^{t-1} &= \bigl((A^\top e^t (W^t)^\top) \odot M^t\bigr) \odot \sigma_{t-1}'(Z^{t-1}), \\
   \partial L/\partial W^t &= (A \tilde H^{t-1})^\top e^t, \qquad
   \partial L/\partial b^t = \mathbf{1}^\top e^t \quad\text{(the column sums of } e^t\text{)}, \\
   \partial L/\partial A &= \textstyle\sum_t e^t\,(\tilde H^{t-1} W^t)^\top, \qquad
   \partial L/\partial H^0 = (A^\top e^1 (W^1)^\top) \odot M^1.

Shapes: ``A`` m×m, ``H^{t-1}`` m×o_t, ``W^t`` o_t×n_t, ``b^t`` of length n_t, ``Z^t``, ``H^t``
and ``e^t`` m×n_t (so o_{t+1} = n_t). Without masks and biases these are the formulas
of the chapter "The recursion".

:func:`backward` runs the recursion one layer at a time and writes each formula above on
a line of its own; ``_layer_gradients`` holds the two products of a layer,
``∂L/∂W^t`` and ``Aᵀ e^t (W^t)ᵀ``. Only matrix products and element-wise operations
appear, and each product is taken in the cheaper of its two orders:

* forward: ``A (H̃ W)`` when n_t ≤ o_t, else ``(A H̃) W``;
* backward: ``P = Aᵀ e^t`` serves both ``∂L/∂W^t = H̃ᵀ P`` and ``P (W^t)ᵀ``; after a
  forward ``(A H̃) W`` the cached ``A H̃`` gives ``∂L/∂W^t`` and ``Aᵀ (e^t (W^t)ᵀ)`` is the
  cheaper propagation;
* ``∂L/∂A``: for a dense ``A``, one product of the stacked ``[e^1 … e^T]`` and
  ``[H̃^0 W^1 … H̃^{T-1} W^T]``; for a sparse ``A``, only the entries on ``A``'s pattern,
  layer by layer (dot products of rows), never an m×m dense matrix.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike

from .activations import Activation, get_activation
from .validation import (
    Matrix,
    _shape,
    as_adjacency,
    as_list,
    as_matrix,
    as_names,
    as_vector,
    detached,
    fingerprint,
    float_dtype,
)

__all__ = ["Trace", "Gradients", "forward", "backward"]

Array = np.ndarray
WRT = ("W", "b", "A", "H0")


@dataclass(eq=False)
class Trace:
    """What the forward pass keeps for the backward pass.

    Attributes
    ----------
    A : ndarray or scipy.sparse CSR matrix
        The (checked) adjacency, m×m.
    Z : list of ndarray
        ``[Z^1, ..., Z^T]``, Z^t is m×n_t.
    H : list of ndarray
        ``[H^0, H^1, ..., H^T]``, H^t = σ_t(Z^t) is m×n_t; H^0 (m×o_1) may be sparse.
    weights : list of ndarray
        ``[W^1, ..., W^T]``, W^t is o_t×n_t (copies of the caller's weights).
    activations : list of Activation
        ``[σ_1, ..., σ_T]``, the activation of each layer.
    masks : list or None
        ``[M^1, ..., M^T]`` (each m×o_t or None), or None for no dropout at all.
    biases : list or None
        ``[b^1, ..., b^T]`` (each of length n_t or None; copies), or None for no biases.
    """

    A: Any
    Z: list
    H: list
    weights: list
    activations: list
    masks: list | None = None
    biases: list | None = None
    # Per layer, private: the layer input X = H̃^{t-1} = H^{t-1} ⊙ M^t; AX = A H̃^{t-1} if the
    # forward pass computed it (it gives ∂L/∂W^t); XW = H̃^{t-1} W^t, kept for ∂L/∂A only for
    # a dense A (next to the m×m A it is small; for a sparse A, recomputing it is cheaper
    # than holding m×n numbers per layer). And the fingerprints of A, H^0 and the masks.
    _X: list = field(default_factory=list, init=False, repr=False)
    _XW: list = field(default_factory=list, init=False, repr=False)
    _AX: list = field(default_factory=list, init=False, repr=False)
    _fingerprints: list = field(default_factory=list, init=False, repr=False)

    @property
    def activation(self) -> Activation:
        """The activation σ shared by every layer (a network with one per layer has none)."""
        first = self.activations[0]
        if any(a is not first for a in self.activations):
            names = ", ".join(a.name for a in self.activations)
            raise AttributeError(
                f"this trace has one activation per layer ({names}): use trace.activations[t - 1] for layer t"
            )
        return first

    def __repr__(self) -> str:
        widths = "→".join(str(w) for w in [self.weights[0].shape[0]] + [W.shape[1] for W in self.weights])
        kind = "sparse" if sp.issparse(self.A) else "dense"
        names = [a.name for a in self.activations]
        sigma = names[0] if len(set(names)) == 1 else ",".join(names)
        biases = ", biases=yes" if self.biases is not None else ""
        return (
            f"Trace(T={len(self.Z)}, m={self.A.shape[0]}, widths {widths}, "
            f"sigma={sigma}, {self.Z[0].dtype}, {kind} A, "
            f"masks={'yes' if self.masks else 'no'}{biases})"
        )


@dataclass(eq=False)
class Gradients:
    """The result of :func:`backward`.

    Attributes
    ----------
    e : list of ndarray
        ``[e^1, ..., e^T]``, e^t = ∂L/∂Z^t (m×n_t); always computed.
    W : list of ndarray or None
        ``[∂L/∂W^1, ..., ∂L/∂W^T]`` (o_t×n_t), if asked for.
    A : ndarray, scipy.sparse CSR matrix or None
        ∂L/∂A (m×m), if asked for; for a sparse A, a sparse matrix on A's pattern.
    H0 : ndarray or None
        ∂L/∂H^0 (m×o_1, dense even for a sparse H^0), if asked for.
    b : list or None
        ``[∂L/∂b^1, ..., ∂L/∂b^T]`` (each of length n_t), if the forward pass had biases and
        they were asked for; the entry of a layer without a bias is None.
    """

    e: list
    W: list | None = None
    A: Any = None
    H0: Array | None = None
    b: list | None = None

    def __repr__(self) -> str:
        have = [name for name in WRT if getattr(self, name) is not None]
        return f"Gradients(e: {len(self.e)} layers, with {', '.join(have) or 'no other gradients'})"


# --- checking the input ------------------------------------------------------------


def _check_weights(weights: Any) -> list:
    weights = as_list(
        weights, "weights", "a list [W^1, ..., W^T] of matrices", array_hint="; wrap a single layer as [W]"
    )
    if not weights:
        raise ValueError("weights: the list is empty; a network needs at least W^1")
    # private copies: an optimiser may update the caller's weights in place after forward
    return [detached(as_matrix(W, f"W^{t}"), W) for t, W in enumerate(weights, start=1)]


def _check_widths(m: int, H0: Any, Ws: list) -> None:
    if H0.shape[0] != m:
        raise ValueError(f"H0 has shape {_shape(H0)} but A is {m}×{m}: H0 needs one row per node ({m} rows)")
    o = H0.shape[1]
    for t, W in enumerate(Ws, start=1):
        if W.shape[0] != o:
            source = "H0" if t == 1 else f"W^{t - 1}"
            raise ValueError(
                f"W^{t} has shape {_shape(W)} but H^{t - 1} is {m}×{o} (width set by {source}): "
                f"W^{t} needs {o} rows"
            )
        o = W.shape[1]


def _per_layer(values: Any, T: int, name: str, what: str) -> list:
    """A list of T entries (one per layer) from a list, refusing a single array or another length."""
    values = as_list(values, name, f"a list of {T} {what} (one per layer, None for none)")
    if len(values) != T:
        raise ValueError(f"{name}: expected {T} entries (one per layer, None for none), got {len(values)}")
    return values


def _check_masks(masks: Any, H0: Any, Ws: list, dtype: np.dtype) -> list | None:
    if masks is None:
        return None
    masks = _per_layer(masks, len(Ws), "masks", "masks [M^1, ..., M^T]")
    m = H0.shape[0]
    checked = []
    for t, (M, W) in enumerate(zip(masks, Ws, strict=True), start=1):
        if M is not None:
            M = as_matrix(M, f"masks[{t - 1}] (M^{t})", dtype=dtype)
            if M.shape != (m, W.shape[0]):
                raise ValueError(
                    f"masks[{t - 1}] (M^{t}) has shape {_shape(M)} but H^{t - 1} is "
                    f"{m}×{W.shape[0]}: a mask must have exactly the shape of the layer input"
                )
        checked.append(M)
    return checked if any(M is not None for M in checked) else None


def _check_biases(biases: Any, Ws: list, dtype: np.dtype) -> list | None:
    if biases is None:
        return None
    biases = _per_layer(biases, len(Ws), "biases", "vectors [b^1, ..., b^T]")
    checked = []
    for t, (b, W) in enumerate(zip(biases, Ws, strict=True), start=1):
        if b is not None:
            b = detached(as_vector(b, f"biases[{t - 1}] (b^{t})", W.shape[1], dtype=dtype), b)
        checked.append(b)
    return checked if any(b is not None for b in checked) else None


def _check_activations(sigma: Any, T: int) -> list:
    """One activation per layer, from one activation for all or a list of T."""
    if isinstance(sigma, (str, Activation)):
        return [get_activation(sigma)] * T
    if isinstance(sigma, Sequence):
        if len(sigma) != T:
            raise ValueError(
                f"sigma: expected one activation for every layer or a list of T = {T} (one per "
                f"layer), got a list of {len(sigma)}"
            )
        return [get_activation(s) for s in sigma]
    return [get_activation(sigma)]  # raises a TypeError that names sigma


def _check_wrt(wrt: str | Iterable[str] | None, has_biases: bool) -> frozenset:
    if wrt is None:
        return frozenset(WRT) if has_biases else frozenset(WRT) - {"b"}
    wanted = as_names(wrt, WRT)
    if "b" in wanted and not has_biases:
        raise ValueError(
            "wrt: 'b' asks for the bias gradients, but the forward pass had no biases "
            "(give forward biases=[b^1, ..., b^T])"
        )
    return wanted


# --- the forward pass --------------------------------------------------------------


def forward(
    A: Matrix,
    H0: Matrix,
    weights: Sequence[ArrayLike],
    sigma: str | Activation | Sequence[str | Activation] = "tanh",
    *,
    masks: Sequence[ArrayLike | None] | None = None,
    biases: Sequence[ArrayLike | None] | None = None,
) -> Trace:
    r"""Run the forward recursion :math:`Z^t = A (H^{t-1} \odot M^t) W^t + \mathbf{1} (b^t)^\top`, :math:`H^t = \sigma_t(Z^t)`.

    Parameters
    ----------
    A : array_like or scipy.sparse matrix, m×m
        The (normalised) adjacency. A sparse A stays sparse.
    H0 : array_like or scipy.sparse matrix, m×o_1
        The node features H^0.
    weights : list of array_like
        ``[W^1, ..., W^T]``, W^t of shape o_t×n_t with o_{t+1} = n_t.
    sigma : str, Activation, or a list of T of them
        The activation of every layer (a name in ``ACTIVATIONS`` or an Activation), or
        one per layer, e.g. ``["relu", "identity"]`` for a classifier whose last layer
        is linear.
    masks : list, optional
        ``[M^1, ..., M^T]``, M^t of shape m×o_t (the shape of H^{t-1}) or None.
    biases : list, optional
        ``[b^1, ..., b^T]``, b^t a vector of length n_t or None (no bias in that layer).
        ``1 (b^t)ᵀ`` adds b^t to every row of Z^t, as a bias does in PyTorch Geometric's
        ``GCNConv``.

    Returns
    -------
    Trace
        ``trace.Z = [Z^1..Z^T]``, ``trace.H = [H^0..H^T]``, and what backward needs.
        float32 if A, H0 and every W^t are float32 (biases and masks are then used in
        float32 too), else float64. The trace holds copies of the
        weights and biases, so updating them in place afterwards (as an optimiser does)
        does not change what :func:`backward` computes from it. ``A``, ``H0`` and the
        masks are as large as the graph and are not copied: the trace keeps a fingerprint
        (a checksum, exact for small arrays) of each, and :func:`backward` raises if one of
        them was changed in place in the meantime.

    Raises
    ------
    TypeError, ValueError
        For malformed input; the message names the argument and the shapes.
    """
    A = as_adjacency(A)
    H0 = as_matrix(H0, "H0", sparse_ok=True)
    Ws = _check_weights(weights)
    activations = _check_activations(sigma, len(Ws))
    _check_widths(A.shape[0], H0, Ws)
    dtype = float_dtype(A.dtype, H0.dtype, *(W.dtype for W in Ws))
    A, H0 = A.astype(dtype, copy=False), H0.astype(dtype, copy=False)
    Ws = [W.astype(dtype, copy=False) for W in Ws]
    masks = _check_masks(masks, H0, Ws, dtype)
    biases = _check_biases(biases, Ws, dtype)

    trace = Trace(A=A, Z=[], H=[H0], weights=Ws, activations=activations, masks=masks, biases=biases)
    sparse_A = sp.issparse(A)
    H = H0
    for t, (W, sigma_t) in enumerate(zip(Ws, activations, strict=True)):
        M = masks[t] if masks else None
        b = biases[t] if biases else None
        X = H if M is None else (H.multiply(M).tocsr() if sp.issparse(H) else H * M)  # H̃ = H ⊙ M
        XW = AX = None
        if sp.issparse(X) or W.shape[1] <= W.shape[0]:
            XW = X @ W  # A (H̃ W): the cheaper order when the layer narrows, n_t ≤ o_t
            Z = A @ XW
        else:
            AX = A @ X  # (A H̃) W: the cheaper order when the layer widens
            Z = AX @ W
        if b is not None:
            Z += b  # + 1 (b^t)ᵀ: b^t added to every row
        if sparse_A and XW is not None and XW.shape == Z.shape:
            H = _apply_in_place(sigma_t.f, Z, out=XW)  # XW is no longer needed: reuse it
        else:
            H = sigma_t.f(Z)
        trace.Z.append(Z)
        trace.H.append(H)
        trace._X.append(X)
        trace._XW.append(None if sparse_A else XW)
        trace._AX.append(AX)
    trace._fingerprints = [fingerprint(X) for _, X in _large_inputs(trace)]
    return trace


def _large_inputs(trace: Trace) -> list:
    """The inputs the trace shares with the caller and does not copy: A, H^0, the masks.

    They are as large as the graph, so forward only takes their fingerprints and backward
    checks that they are unchanged (the weights and biases, which are small, forward copies).
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


def backward(trace: Trace, e_T: ArrayLike, *, wrt: str | Iterable[str] | None = None) -> Gradients:
    r"""Run the backward recursion from :math:`e^T = \partial L / \partial Z^T`.

    Parameters
    ----------
    trace : Trace
        The result of :func:`forward`.
    e_T : array_like, m×n_T
        ∂L/∂Z^T, the gradient of the loss with respect to the last pre-activation (the
        second item of what the losses of gcnlib return).
    wrt : str or tuple of str, optional
        Which gradients besides ``e`` to compute: any of ``"W"``, ``"b"``, ``"A"``,
        ``"H0"``. By default all that the network has (``"b"`` only if the forward pass
        had biases). Training on a fixed graph needs only ``("W",)`` or ``("W", "b")``.

    Returns
    -------
    Gradients
        ``e = [e^1..e^T]`` (m×n_t); ``W = [∂L/∂W^1..∂L/∂W^T]`` (o_t×n_t);
        ``b = [∂L/∂b^1..∂L/∂b^T]`` (length n_t); ``A`` = ∂L/∂A (m×m, sparse on A's
        pattern if A is sparse); ``H0`` = ∂L/∂H^0 (m×o_1, dense). Gradients not asked
        for are None.

    Raises
    ------
    TypeError, ValueError
        If ``trace`` is not a Trace, ``e_T`` is malformed (or the pair ``(L, e_T)``) or
        not of the shape of Z^T, or ``wrt`` names an unknown gradient (or ``"b"`` without
        biases); a ValueError also if ``A``, ``H0`` or a mask was changed in place after
        :func:`forward` made the trace (run forward again).
    """
    if not isinstance(trace, Trace):
        raise TypeError(f"trace: expected the Trace returned by gcnlib.forward, got {type(trace).__name__}")
    wanted = _check_wrt(wrt, trace.biases is not None)
    e_T = _check_e_T(e_T, trace)
    _check_unchanged(trace)

    T = len(trace.Z)
    AT = trace.A.T
    want_W, want_H0 = "W" in wanted, "H0" in wanted
    e: list = [None] * T
    dW: list | None = [None] * T if want_W else None
    db: list | None = [None] * T if "b" in wanted else None
    dH0 = None
    e_t = e_T
    for t in range(T, 0, -1):  # layer t sits at index t - 1 of every list
        e[t - 1] = e_t
        if db is not None and trace.biases[t - 1] is not None:
            db[t - 1] = e_t.sum(axis=0)  # ∂L/∂b^t = 1ᵀ e^t
        propagate = t > 1 or want_H0
        dW_t, G = _layer_gradients(trace, t, e_t, AT, want_W, propagate)  # G = Aᵀ e^t (W^t)ᵀ
        if want_W:
            dW[t - 1] = dW_t  # ∂L/∂W^t = (A H̃^{t-1})ᵀ e^t
        if not propagate:
            break
        M = trace.masks[t - 1] if trace.masks else None
        if t == 1:
            dH0 = _hadamard_in_place(G, M)  # ∂L/∂H^0 = G ⊙ M^1
        else:  # e^{t-1} = (G ⊙ M^t) ⊙ σ'_{t-1}(Z^{t-1}), written into G
            e_t = _hadamard_in_place(G, M, trace.activations[t - 2].df, trace.Z[t - 2], trace.H[t - 1])

    dA = _gradient_A(trace, e) if "A" in wanted else None  # ∂L/∂A = Σ_t e^t (H̃^{t-1} W^t)ᵀ
    return Gradients(e=e, W=dW, A=dA, H0=dH0, b=db)


def _check_e_T(e_T: Any, trace: Trace) -> Array:
    Z_T = trace.Z[-1]
    if isinstance(e_T, tuple) and len(e_T) == 2 and np.ndim(e_T[0]) == 0:
        raise TypeError(
            "e_T: got a pair (L, e_T), as gcnlib's losses return; pass only the gradient: "
            "L, e_T = gcnlib.softmax_cross_entropy(...), then gcnlib.backward(trace, e_T)"
        )
    e_T = as_matrix(e_T, "e_T", dtype=Z_T.dtype)
    if e_T.shape != Z_T.shape:
        raise ValueError(
            f"e_T has shape {_shape(e_T)} but Z^T (T={len(trace.Z)}) is {_shape(Z_T)}: "
            f"e_T = dL/dZ^T must have exactly the shape of Z^T"
        )
    return e_T


def _layer_gradients(trace: Trace, t: int, e_t: Array, AT: Any, want_W: bool, propagate: bool) -> tuple:
    """The two products of layer t in the backward pass, given ``e^t``.

    Returns ``∂L/∂W^t = (A H̃^{t-1})ᵀ e^t`` (or None if not wanted) and
    ``G = Aᵀ e^t (W^t)ᵀ``, the gradient with respect to the layer input ``H̃^{t-1}`` (or
    None). Each product runs in the cheaper order: if the forward pass computed ``A H̃``,
    that gives ``∂L/∂W^t``; otherwise one product ``P = Aᵀ e^t`` serves both.
    """
    W, X, AX = trace.weights[t - 1], trace._X[t - 1], trace._AX[t - 1]
    if AX is not None:
        dW = AX.T @ e_t if want_W else None  # (A H̃^{t-1})ᵀ e^t
        G = AT @ (e_t @ W.T) if propagate else None  # Aᵀ (e^t (W^t)ᵀ)
        return dW, G
    P = AT @ e_t  # Aᵀ e^t
    dW = X.T @ P if want_W else None  # (H̃^{t-1})ᵀ (Aᵀ e^t) = (A H̃^{t-1})ᵀ e^t
    G = P @ W.T if propagate else None  # (Aᵀ e^t) (W^t)ᵀ
    return dW, G  # P is freed here, before the next layer allocates its own


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
    if M is None and df is None:
        return G
    step = max(1, block // max(1, G.shape[1]))
    for s in range(0, G.shape[0], step):
        k = slice(s, s + step)
        if M is not None:
            G[k] *= M[k]
        if df is not None:
            G[k] *= df(Z[k], H[k])
    return G


def _gradient_A(trace: Trace, e: list):
    """∂L/∂A = Σ_t e^t (H̃^{t-1} W^t)ᵀ.

    For a dense A: one product of the stacked factors, [e^1 … e^T] [U^1 … U^T]ᵀ with
    U^t = H̃^{t-1} W^t. For a sparse A: the entries on A's pattern only, layer by layer
    (one U^t at a time, without stacking: large temporaries are slow to allocate).
    """
    layers = zip(e, trace._XW, trace._X, trace.weights, strict=True)
    if sp.issparse(trace.A):
        A = trace.A
        data = sum(_sampled_values(A, e_t, X @ W) for e_t, _, X, W in layers)
        return type(A)((data, A.indices.copy(), A.indptr.copy()), shape=A.shape)
    U = [XW if XW is not None else X @ W for _, XW, X, W in layers]
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
