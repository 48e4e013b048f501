"""Graph attention (GAT): a layer whose propagation matrix is computed from its own input.

In the book's recursion ``Z = A H W`` the matrix ``A`` is data. A graph attention layer
(Veličković et al., 2018) computes it: on the edges E of the graph (self loops included),
each node i weighs its neighbours j by a softmax over its neighbourhood of the scores
``LeakyReLU(a_1ᵀ W_kᵀ h_i + a_2ᵀ W_kᵀ h_j)``, and K heads do this independently.

Forward, for head k = 1..K (``H̃ = H ⊙ M`` the layer input after dropout; rows are nodes)::

    U_k = H̃ W_k                                  m×n   the messages
    s_1k = U_k a_1k,   s_2k = U_k a_2k            m     the two halves of the scores
    S_k = Π_E(s_1k 1ᵀ + 1 s_2kᵀ)                  on E  S_ij = (s_1k)_i + (s_2k)_j
    R_k = φ(S_k)                                  on E  LeakyReLU with slope 0.2
    A_k = softmax_E(R_k)                          on E  row by row, over each neighbourhood
    Z_k = Ã_k U_k + 1 b_kᵀ,   Ã_k = A_k ⊙ M_Ak     m×n   M_Ak: dropout on the attention

and the layer's output is ``Z = [Z_1 … Z_K]`` (heads concatenated, m×Kn) or
``Z = (1/K) Σ_k Z_k`` (heads averaged, m×n). ``Π_E`` keeps the entries on E and zeroes
the others; "on E" means a matrix that is zero off E.

Backward, from ``e_k = ∂L/∂Z_k`` (a block of ``e = ∂L/∂Z``, or ``e/K`` when averaged),
writing ``X̄ = ∂L/∂X`` for every intermediate X::

    Ā_k  = M_Ak ⊙ Π_E(e_k U_kᵀ)                    sampled product: one dot product per edge
    R̄_k  = A_k ⊙ Ā_k − diag((A_k ⊙ Ā_k) 1) A_k     the row softmax, its Jacobian never formed
    S̄_k  = φ'(S_k) ⊙ R̄_k                           LeakyReLU: a Hadamard product
    s̄_1k = S̄_k 1,   s̄_2k = S̄_kᵀ 1                  row and column sums
    ā_1k = U_kᵀ s̄_1k,   ā_2k = U_kᵀ s̄_2k
    Ū_k  = Ã_kᵀ e_k + s̄_1k a_1kᵀ + s̄_2k a_2kᵀ       the two paths to the messages
    b̄_k  = e_kᵀ 1
    W̄    = H̃ᵀ [Ū_1 … Ū_K],   H̄ = ([Ū_1 … Ū_K] Wᵀ) ⊙ M

The chapter "Graph attention" derives each line. Everything that lives on E is stored
as one number per edge and head when ``A`` is sparse (arrays K×nnz, in the CSR order of
``A``'s entries), so the work is O(K (nnz + m o) n) and no m×m matrix is ever formed; for
a dense ``A`` the same formulas run on K×m×m arrays, zero off the pattern.

:func:`train_gat` trains the two-layer GAT of the paper on Cora or Citeseer with these
gradients (no automatic differentiation).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from . import losses
from .activations import Activation
from .training import Adam, glorot_uniform, sparse_dropout
from .validation import _shape, as_adjacency, as_matrix, as_names, as_selection, float_dtype

__all__ = [
    "ATTENTION_SLOPE",
    "leaky_relu_with_slope",
    "AttentionTrace",
    "AttentionGradients",
    "attention_forward",
    "attention_backward",
    "GATLayer",
    "gat_parameters",
    "GATTrace",
    "gat_forward",
    "gat_backward",
    "GATHistory",
    "train_gat",
]

Array = np.ndarray
COMBINE = ("concat", "mean")
WRT = ("W", "a", "b", "H")

ATTENTION_SLOPE = 0.2
"""The slope of GAT's LeakyReLU for negative scores (Veličković et al., 2018), not the 0.01 of ``leaky_relu``."""


def leaky_relu_with_slope(slope: float) -> Activation:
    """LeakyReLU ``φ(s) = s`` for ``s > 0``, else ``slope · s``, beside its derivative.

    Parameters
    ----------
    slope : float
        The slope for negative arguments, ``0 ≤ slope ≤ 1`` (GAT uses 0.2; 1 gives the identity).

    Returns
    -------
    Activation
        ``f(S) = φ(S)`` and ``df(S, R) = φ'(S)`` (1 or ``slope``), both keeping S's dtype.
    """
    if not (isinstance(slope, (int, float, np.floating)) and 0 <= slope <= 1):
        raise ValueError(f"slope: the LeakyReLU slope must be a number with 0 <= slope <= 1, got {slope!r}")
    slope = float(slope)
    return Activation(
        f"leaky_relu({slope:g})",
        lambda S: np.maximum(S, slope * S),  # for 0 ≤ slope ≤ 1: S where S > 0, else slope·S
        # φ'(S) = 1 where S > 0, else slope: max(sign(S), slope), exact, and free of np.where, which
        # mispredicts a branch per entry when the signs are random (about ten times slower here)
        lambda S, R: np.maximum(np.sign(S), slope),
    )


_GAT_PHI = leaky_relu_with_slope(ATTENTION_SLOPE)


# --- the graph's pattern E: the operations on "matrices on E", dense or sparse ------------

SOFTMAX_SHIFT_RANGE = 60.0
"""How far above the first entry of its row an entry may lie before the row softmax shifts by the row's maximum.

The softmax of a row does not change when one number c is subtracted from all its entries; it
is computed as ``exp(R − c) / Σ exp(R − c)``. The usual c is the row's maximum, which keeps
every ``exp`` at most 1. Both patterns take the row's first entry on E instead, which is at hand
without a maximum per row and head (with the sparse layout, ``np.maximum.reduceat`` was the
costliest step of the layer): its term is exactly 1, so the sum is at least 1, and as long as no
entry lies more than 60 above its row's first, no term exceeds e^60 ≈ 1e26, far from overflow in
float32 (3e38). Beyond 60 the row's maximum is used (``tests/test_attention.py`` checks both
branches against a float64 softmax). Rounding: the exponent ``R − c`` of a term that matters is
off by at most a few units of its last place, up to 60 ε absolutely, which is the size of the
rounding error that R itself carries when two of its entries lie that far apart. (The largest
gap seen while training on Cora and Citeseer was about 33.)
"""


class _DenseEdges:
    """E as an m×m boolean mask; a matrix on E is a K×m×m array (one m×m matrix per head), zero off E."""

    def __init__(self, mask: Array) -> None:
        self.mask, self.m, self.nnz = mask, mask.shape[0], int(mask.sum())
        self.first_of_row = mask.argmax(axis=1)  # the column of each row's first entry on E

    def values_shape(self, K: int) -> tuple:
        return (K, self.m, self.m)

    def in_layout(self, V: Array) -> Array:  # V as this pattern stores it: as it is
        return V

    def outer_sum(self, s1: Array, s2: Array) -> Array:  # Π_E(s_1k 1ᵀ + 1 s_2kᵀ), s1 and s2 K×m
        return np.where(self.mask, s1[:, :, None] + s2[:, None, :], 0).astype(s1.dtype, copy=False)

    def row_softmax(self, R: Array) -> Array:  # softmax over the entries on E of each row
        first = R[:, np.arange(self.m), self.first_of_row][:, :, None]  # the first entry on E of each row
        D = np.where(self.mask, R - first, -np.inf)
        if D.max() > SOFTMAX_SHIFT_RANGE:  # an entry far above its row's first: shift by the maximum
            D = np.where(self.mask, R, -np.inf)
            D -= D.max(axis=2, keepdims=True)
        P = np.exp(D)
        return P / P.sum(axis=2, keepdims=True)

    def times(self, V: Array, U: Array) -> Array:  # [V_k U_k]_k, U and the result m×K×n
        return (V @ U.transpose(1, 0, 2)).transpose(1, 0, 2)

    def transpose_times(self, V: Array, G: Array) -> Array:  # [V_kᵀ G_k]_k
        return (V.transpose(0, 2, 1) @ G.transpose(1, 0, 2)).transpose(1, 0, 2)

    def sampled(self, G: Array, U: Array) -> Array:  # Π_E(G_k U_kᵀ)
        return np.einsum("ikn,jkn->kij", G, U) * self.mask

    def row_sums(self, V: Array) -> Array:  # V_k 1, K×m
        return V.sum(axis=2)

    def column_sums(self, V: Array) -> Array:  # V_kᵀ 1, K×m
        return V.sum(axis=1)

    def scale_rows(self, d: Array, V: Array) -> Array:  # diag(d_k) V_k
        return d[:, :, None] * V

    def to_matrices(self, V: Array) -> list:
        return list(V)


class _SparseEdges:
    """E as CSR index arrays; a matrix on E is a K×nnz array: one number per head and edge.

    Edge number ``e`` is the e-th stored entry of A in CSR order, at row ``rows[e]`` and
    column ``cols[e]``. The K×nnz arrays are stored edge by edge: ``V.T`` is a C-contiguous
    nnz×K array, the K numbers of an edge side by side (``in_layout`` puts an array there).
    The operations over neighbourhoods then move K numbers at a time, and that is what makes
    them cheap: spreading a number per node over its edges is one ``np.take`` of whole rows,
    and the sums over the rows or the columns of E are one product with a fixed m×nnz 0/1
    matrix. Head by head, ``np.add.reduceat`` pays a call per row and head, and gathering
    along the long axis is slow: each was 5 to 10 times slower on Cora's 13 264 edges and 8 heads.

    The products ``[V_k U_k]_k`` of all K heads are one sparse product: with U stored
    m×K×n, i.e. as the (mK)×n matrix whose row ``j K + k`` is row j of U_k, they are the
    product with the (mK)×(mK) matrix ``Σ_k V_k ⊗ e_k e_kᵀ`` (entry ``(i K + k, j K + k)``
    is ``(V_k)_ij``), which has K·nnz entries. Its index arrays, and the order in which the
    K·nnz values fill them, are computed once per K; so are the 0/1 matrices, once per dtype.
    Everything here that depends only on E is computed once, and E is fixed while a GAT trains.
    """

    BLOCK = 1 << 16  # numbers per gathered block in `sampled`: small blocks stay in cache

    def __init__(self, A: sp.csr_matrix) -> None:
        self.m, self.nnz = A.shape[0], A.nnz
        self.indptr, self.cols = A.indptr, A.indices
        self.rows = np.repeat(np.arange(self.m), np.diff(self.indptr))
        self.first_of_row = self.indptr[self.rows]  # per edge (i, j): the first edge of row i
        self.by_column = np.argsort(self.cols, kind="stable")  # the edges ordered by column
        self._stacked: dict = {}
        self._summing: dict = {}

    def values_shape(self, K: int) -> tuple:
        return (K, self.nnz)

    def in_layout(self, V: Array) -> Array:  # V, K×nnz, stored edge by edge (a copy only if needed)
        return np.ascontiguousarray(V.T).T

    def outer_sum(self, s1: Array, s2: Array) -> Array:
        S = np.take(np.ascontiguousarray(s1.T), self.rows, axis=0)  # (s_1k)_i on edge (i, j)
        S += np.take(np.ascontiguousarray(s2.T), self.cols, axis=0)  # + (s_2k)_j
        return S.T

    def row_softmax(self, R: Array) -> Array:
        R = np.ascontiguousarray(R.T)  # nnz×K
        D = R - np.take(R, self.first_of_row, axis=0)  # each entry minus the first of its row
        if D.max() > SOFTMAX_SHIFT_RANGE:  # an entry far above its row's first: shift by the row's maximum
            D = R - np.take(np.maximum.reduceat(R, self.indptr[:-1], axis=0), self.rows, axis=0)
        P = np.exp(D, out=D)
        P /= np.take(self._summed(P, "rows"), self.rows, axis=0)  # each row's sum, on its edges
        return P.T

    def _summing_matrix(self, which: str, dtype) -> sp.csr_matrix:
        """The m×nnz 0/1 matrix whose product with an nnz×K array sums the edges of each row (or column) of E."""
        key = (which, np.dtype(dtype))
        if key not in self._summing:
            if which == "rows":  # row i: the edges indptr[i] .. indptr[i+1] − 1
                edges, indptr = np.arange(self.nnz), self.indptr
            else:  # row j: the edges in column j
                edges = self.by_column
                indptr = np.concatenate([[0], np.cumsum(np.bincount(self.cols, minlength=self.m))])
            ones = np.ones(self.nnz, dtype=dtype)
            self._summing[key] = sp.csr_matrix((ones, edges, indptr), shape=(self.m, self.nnz))
        return self._summing[key]

    def _summed(self, V: Array, which: str) -> Array:  # V nnz×K: the m×K sums over each row or column of E
        return self._summing_matrix(which, V.dtype) @ V

    def _heads_matrix(self, V: Array, transpose: bool) -> sp.csr_matrix:
        """``Σ_k V_k ⊗ e_k e_kᵀ`` (or its transpose) as CSR, its values taken from V (K×nnz)."""
        K = V.shape[0]
        if (K, transpose) not in self._stacked:
            k = np.tile(np.arange(K), self.nnz)  # number e K + k, in the edge-by-edge order of V's
            e = np.repeat(np.arange(self.nnz), K)  # storage, is edge e of head k
            r, c = self.rows[e] * K + k, self.cols[e] * K + k
            if transpose:
                r, c = c, r
            order = np.lexsort((c, r))  # CSR order: by row, then by column
            matrix = sp.csr_matrix(
                (np.zeros(K * self.nnz), c[order], np.searchsorted(r[order], np.arange(K * self.m + 1))),
                shape=(K * self.m, K * self.m),
            )
            self._stacked[K, transpose] = (matrix, order)
        matrix, source = self._stacked[K, transpose]
        matrix = copy.copy(matrix)  # shares the index arrays; only the values are new
        matrix.data = np.take(np.ascontiguousarray(V.T).ravel(), source)
        return matrix

    def times(self, V: Array, U: Array) -> Array:
        m, K, n = U.shape
        return (self._heads_matrix(V, False) @ U.reshape(m * K, n)).reshape(m, K, n)

    def transpose_times(self, V: Array, G: Array) -> Array:
        m, K, n = G.shape
        return (self._heads_matrix(V, True) @ np.ascontiguousarray(G).reshape(m * K, n)).reshape(m, K, n)

    def sampled(self, G: Array, U: Array) -> Array:  # edge (i, j), head k: G[i, k] · U[j, k]
        """``Π_E(G_k U_kᵀ)``: per edge and head, the dot product of row i of G_k with row j of U_k.

        A block of edges at a time (small blocks stay in cache): the rows gathered, multiplied
        entry by entry, and each run of n products summed by one matrix-vector product with a
        vector of ones, which BLAS does about twice as fast as ``np.einsum("ekn,ekn->ek", ...)``.
        """
        m, K, n = G.shape
        dtype = np.result_type(G, U)
        out, ones = np.empty((self.nnz, K), dtype=dtype), np.ones(n, dtype=dtype)
        indptr = self.indptr
        step = max(1, self.BLOCK * m // (K * n * self.nnz))  # rows per block
        for r0 in range(0, m, step):
            b = slice(indptr[r0], indptr[min(m, r0 + step)])  # the edges of rows r0 .. r0 + step − 1
            products = np.take(G, self.rows[b], axis=0).astype(dtype, copy=False)  # row i per edge (i, j)
            products *= np.take(U, self.cols[b], axis=0)  # times row j
            np.matmul(products.reshape(-1, n), ones, out=out[b].reshape(-1))  # summed over n
        return out.T

    def row_sums(self, V: Array) -> Array:
        return self._summed(np.ascontiguousarray(V.T), "rows").T

    def column_sums(self, V: Array) -> Array:
        return self._summed(np.ascontiguousarray(V.T), "columns").T

    def scale_rows(self, d: Array, V: Array) -> Array:
        return (np.take(np.ascontiguousarray(d.T), self.rows, axis=0) * V.T).T

    def to_matrices(self, V: Array) -> list:
        shape = (self.m, self.m)
        return [sp.csr_matrix((np.ascontiguousarray(v), self.cols, self.indptr), shape=shape) for v in V]


Edges = _DenseEdges | _SparseEdges


def _edges(A: Any) -> Edges:
    """The pattern E of the non-zero entries of A, checked: square, no empty neighbourhood."""
    if isinstance(A, (_DenseEdges, _SparseEdges)):
        return A
    A = as_adjacency(A)
    if sp.issparse(A):
        A = A.copy()
        A.eliminate_zeros()
        A.sort_indices()
        degrees = np.diff(A.indptr)
    else:
        degrees = (A != 0).sum(axis=1)
    empty = np.flatnonzero(degrees == 0)
    if empty.size:
        raise ValueError(
            f"A ({_shape(A)}): row {empty[0]} has no non-zero entry ({empty.size} such rows); the "
            f"softmax over an empty neighbourhood is undefined: include self loops (A + I), as GAT does"
        )
    return _SparseEdges(A) if sp.issparse(A) else _DenseEdges(A != 0)


# --- trace and gradients ------------------------------------------------------------------


@dataclass
class AttentionTrace:
    """What :func:`attention_forward` computes, kept for :func:`attention_backward`.

    Arrays "on E" hold, per head, the entries on the graph's pattern: K×nnz (CSR order of
    A's non-zeros; stored edge by edge, so that their transposes are C-contiguous) for a
    sparse A, K×m×m (zero off E) for a dense A; ``edges.to_matrices(values)`` turns them
    into K matrices.

    Attributes
    ----------
    Z : ndarray
        The layer's output: m×Kn (heads concatenated) or m×n (averaged).
    U : ndarray
        The messages, m×K×n: ``U[:, k]`` is ``U_k = H̃ W_k`` (m×n).
    S, A : ndarray
        The scores ``S_k`` and the attention ``A_k = softmax_E(φ(S_k))``, on E.
    A_dropped : ndarray
        ``Ã_k = A_k ⊙ M_Ak``, on E (``A`` itself without attention dropout).
    H : ndarray or scipy.sparse matrix
        The layer input after dropout, ``H̃ = H ⊙ M``, m×o.
    W, a1, a2, b : ndarray
        The parameters: W is o×Kn (``W_k`` = columns ``k n .. (k+1) n − 1``), a1, a2, b are K×n.
    input_mask : ndarray or None
        M, m×o.
    attention_mask : ndarray or None
        The masks M_Ak, on E.
    combine : str
        ``"concat"`` or ``"mean"``.
    phi : Activation
        The LeakyReLU of the scores.
    edges : object
        The pattern E (pass it as ``A`` to a later call to skip re-checking the graph).
    """

    Z: Array
    U: Array
    S: Array
    A: Array
    A_dropped: Array
    H: Any
    W: Array
    a1: Array
    a2: Array
    b: Array | None
    input_mask: Array | None
    attention_mask: Array | None
    combine: str
    phi: Activation
    edges: Any = field(repr=False)

    @property
    def heads(self) -> int:
        """The number of heads K."""
        return self.U.shape[1]

    def __repr__(self) -> str:
        m, K, n = self.U.shape
        kind = "sparse" if isinstance(self.edges, _SparseEdges) else "dense"
        return (
            f"AttentionTrace(m={m}, {self.edges.nnz} edges ({kind}), {K} head{'s' * (K > 1)} of {n}, "
            f"{self.combine}, Z {_shape(self.Z)}, {self.Z.dtype})"
        )


@dataclass
class AttentionGradients:
    """The result of :func:`attention_backward`: ``X̄ = ∂L/∂X`` for the parameters and intermediates.

    Attributes
    ----------
    W : ndarray or None
        ``W̄``, o×Kn.
    a1, a2 : ndarray or None
        ``ā_1``, ``ā_2``, K×n (row k belongs to head k).
    b : ndarray or None
        ``b̄``, K×n (None if the layer has no bias).
    H : ndarray or None
        ``H̄ = ∂L/∂H``, m×o (dense), the gradient passed to the layer below.
    A, R, S : ndarray
        ``Ā``, ``R̄``, ``S̄``, on E (see :class:`AttentionTrace`).
    U : ndarray
        ``Ū``, m×K×n (``U[:, k]`` is ``Ū_k``).
    """

    W: Array | None
    a1: Array | None
    a2: Array | None
    b: Array | None
    H: Array | None
    A: Array
    R: Array
    S: Array
    U: Array

    def __repr__(self) -> str:
        have = [name for name in ("W", "a1", "a2", "b", "H") if getattr(self, name) is not None]
        return f"AttentionGradients({', '.join(have) or 'intermediates only'}; Ā, R̄, S̄, Ū)"


# --- checking the input ---------------------------------------------------------------------


def _check_parameters(H: Any, W: Any, a1: Any, a2: Any, b: Any, m: int):
    H = as_matrix(H, "H", sparse_ok=True)
    W, a1, a2 = as_matrix(W, "W"), as_matrix(a1, "a1"), as_matrix(a2, "a2")
    if H.shape[0] != m:
        raise ValueError(f"H has shape {_shape(H)} but A is {m}×{m}: H needs one row per node ({m} rows)")
    K, n = a1.shape
    if a2.shape != (K, n):
        raise ValueError(f"a2 has shape {_shape(a2)} but a1 is {K}×{n}: both are K×n (one row per head)")
    if W.shape != (H.shape[1], K * n):
        raise ValueError(
            f"W has shape {_shape(W)} but H is {_shape(H)} and a1 is {K}×{n} ({K} heads of {n}): "
            f"W must be {H.shape[1]}×{K * n}, the heads' W_k side by side"
        )
    if b is not None:
        b = as_matrix(b, "b")
        if b.shape != (K, n):
            raise ValueError(f"b has shape {_shape(b)} but a1 is {K}×{n}: b is K×n (one bias row per head)")
    return H, W, a1, a2, b


def _check_masks(input_mask: Any, attention_mask: Any, H: Any, edges: Edges, K: int, dtype):
    if input_mask is not None:
        input_mask = as_matrix(input_mask, "input_mask", dtype=dtype)
        if input_mask.shape != H.shape:
            raise ValueError(
                f"input_mask has shape {_shape(input_mask)} but H is {_shape(H)}: the mask must have H's shape"
            )
    if attention_mask is not None:
        attention_mask = np.asarray(attention_mask, dtype=dtype)
        expected = edges.values_shape(K)
        if attention_mask.shape != expected:
            where = "one per head and stored entry of A" if len(expected) == 2 else "one m×m mask per head"
            raise ValueError(
                f"attention_mask has shape {attention_mask.shape} but must be {expected} ({where})"
            )
    return input_mask, attention_mask


# --- forward and backward -------------------------------------------------------------------


def attention_forward(
    A: Any,
    H: Any,
    W: Any,
    a1: Any,
    a2: Any,
    b: Any = None,
    *,
    combine: str = "concat",
    input_mask: Any = None,
    attention_mask: Any = None,
    slope: float = ATTENTION_SLOPE,
) -> AttentionTrace:
    """One graph attention layer with K heads: ``Z_k = softmax_E(φ(S_k)) U_k + 1 b_kᵀ``.

    Parameters
    ----------
    A : array_like or scipy.sparse matrix, m×m
        The graph: only the pattern E of its non-zero entries is used. Every row needs an
        entry (GAT's neighbourhoods include the node itself: pass A + I). A sparse A keeps
        everything on its nnz entries. May also be ``trace.edges`` of an earlier call.
    H : array_like or scipy.sparse matrix, m×o
        The layer input.
    W : array_like, o×Kn
        The heads' weights side by side, ``W = [W_1 … W_K]``.
    a1, a2 : array_like, K×n
        Row k holds the two halves of head k's attention vector ``a_k = [a_1k; a_2k]``:
        ``a_1k`` scores the receiving node i, ``a_2k`` the neighbour j.
    b : array_like, K×n, optional
        One bias row per head (default: none).
    combine : {"concat", "mean"}
        Concatenate the heads (hidden layers, m×Kn) or average them (output layer, m×n).
    input_mask : array_like, m×o, optional
        Dropout mask M on the input: the layer uses ``H̃ = H ⊙ M``.
    attention_mask : array_like, optional
        Dropout masks ``M_Ak`` on the attention: K×nnz for a sparse A (one value per edge,
        row by row and by increasing column, the order of A's sorted CSR entries), K×m×m for
        a dense A.
    slope : float
        The LeakyReLU slope of the scores, default 0.2.

    Returns
    -------
    AttentionTrace
        ``trace.Z`` is the output; the rest is what :func:`attention_backward` needs.
        float32 if H, W, a1, a2 and b are float32 (the masks are then used in float32
        too; A gives only the pattern), else float64.

    Raises
    ------
    TypeError, ValueError
        For malformed input; the message names the argument and the shapes.
    """
    if combine not in COMBINE:
        raise ValueError(f"combine: expected 'concat' or 'mean', got {combine!r}")
    phi = leaky_relu_with_slope(slope)
    edges = _edges(A)
    H, W, a1, a2, b = _check_parameters(H, W, a1, a2, b, edges.m)
    dtype = float_dtype(H.dtype, W.dtype, a1.dtype, a2.dtype, *([b.dtype] if b is not None else []))
    H, W, a1, a2 = (X.astype(dtype, copy=False) for X in (H, W, a1, a2))
    b = None if b is None else b.astype(dtype, copy=False)
    K = a1.shape[0]
    M, M_A = _check_masks(input_mask, attention_mask, H, edges, K, dtype)
    return _forward(edges, H, W, a1, a2, b, combine=combine, input_mask=M, attention_mask=M_A, phi=phi)


def _forward(edges: Edges, H: Any, W: Array, a1: Array, a2: Array, b: Array | None, *, combine: str,
             input_mask: Array | None, attention_mask: Array | None, phi: Activation) -> AttentionTrace:  # fmt: skip
    """:func:`attention_forward` on checked input: the pattern, arrays of one float dtype, shapes that fit.

    :func:`train_gat` calls it directly: its input is checked once, before the first epoch, and
    checking every array of every layer again (finite, shapes) cost about 4 % of an epoch.
    """
    M, M_A = input_mask, None if attention_mask is None else edges.in_layout(attention_mask)
    if M is not None:
        H = H.multiply(M).tocsr() if sp.issparse(H) else H * M

    m, (K, n) = edges.m, a1.shape
    U = _product(H, W).reshape(m, K, n)  # U_k = H̃ W_k: all heads in one product
    s1 = _heads_times(U, a1)  # s_1k = U_k a_1k
    s2 = _heads_times(U, a2)  # s_2k = U_k a_2k
    S = edges.outer_sum(s1, s2)  # S_k = Π_E(s_1k 1ᵀ + 1 s_2kᵀ)
    A_k = edges.row_softmax(phi.f(S))  # A_k = softmax_E(φ(S_k))
    A_drop = A_k if M_A is None else A_k * M_A  # Ã_k = A_k ⊙ M_Ak
    Z = edges.times(A_drop, U)  # Z_k = Ã_k U_k
    if b is not None:
        Z += b  #       + 1 b_kᵀ
    Z = Z.reshape(m, K * n) if combine == "concat" else Z.mean(axis=1)
    return AttentionTrace(Z=Z, U=U, S=S, A=A_k, A_dropped=A_drop, H=H, W=W, a1=a1, a2=a2, b=b,
                          input_mask=M, attention_mask=M_A, combine=combine, phi=phi, edges=edges)  # fmt: skip


def attention_backward(
    trace: AttentionTrace, e: Any, *, wrt: str | Iterable[str] = WRT
) -> AttentionGradients:
    """The backward pass of a graph attention layer, from ``e = ∂L/∂Z``.

    Parameters
    ----------
    trace : AttentionTrace
        The result of :func:`attention_forward`.
    e : array_like
        ``∂L/∂Z``, of the shape of ``trace.Z`` (m×Kn or m×n).
    wrt : tuple of str
        Which of ``"W"``, ``"a"`` (both halves), ``"b"``, ``"H"`` to return (default all).
        The first layer of a network needs no ``"H"``, which for wide sparse input
        features would be the most expensive product.

    Returns
    -------
    AttentionGradients
        ``W̄`` (o×Kn), ``ā_1``, ``ā_2``, ``b̄`` (K×n), ``H̄`` (m×o), and the intermediates
        ``Ā``, ``R̄``, ``S̄`` (on E) and ``Ū`` (m×K×n). Gradients not asked for are None.

    Raises
    ------
    TypeError, ValueError
        If ``trace`` is not an AttentionTrace, ``e`` has not the shape of ``trace.Z``, or
        ``wrt`` names an unknown gradient.
    """
    if not isinstance(trace, AttentionTrace):
        raise TypeError(
            f"trace: expected the AttentionTrace returned by attention_forward, got {type(trace).__name__}"
        )
    wanted = as_names(wrt, WRT)
    e = as_matrix(e, "e", dtype=trace.Z.dtype)
    if e.shape != trace.Z.shape:
        raise ValueError(
            f"e has shape {_shape(e)} but Z is {_shape(trace.Z)}: e = ∂L/∂Z must have exactly the shape of Z"
        )
    return _backward(trace, e, wanted)


def _backward(trace: AttentionTrace, e: Array, wanted: frozenset) -> AttentionGradients:
    """:func:`attention_backward` on checked input: e of Z's shape and dtype, ``wanted`` a subset of WRT."""
    t, edges = trace, trace.edges
    m, K, n = t.U.shape
    e = e.reshape(m, K, n) if t.combine == "concat" else np.broadcast_to(e[:, None, :] / K, t.U.shape)  # e_k

    A_bar = edges.sampled(e, t.U)  # Ā_k = Π_E(e_k U_kᵀ)
    if t.attention_mask is not None:
        A_bar *= t.attention_mask  #       ⊙ M_Ak
    AA = t.A * A_bar
    R_bar = AA - edges.scale_rows(edges.row_sums(AA), t.A)  # R̄_k = A_k ⊙ Ā_k − diag((A_k ⊙ Ā_k)1) A_k
    S_bar = t.phi.df(t.S, None) * R_bar  # S̄_k = φ'(S_k) ⊙ R̄_k
    s1_bar = edges.row_sums(S_bar)  # s̄_1k = S̄_k 1
    s2_bar = edges.column_sums(S_bar)  # s̄_2k = S̄_kᵀ 1
    U_bar = edges.transpose_times(t.A_dropped, e)  # Ū_k = Ã_kᵀ e_k
    U_bar += _heads_outer(s1_bar, t.a1)  #       + s̄_1k a_1kᵀ
    U_bar += _heads_outer(s2_bar, t.a2)  #       + s̄_2k a_2kᵀ
    U_side = U_bar.reshape(m, K * n)  # [Ū_1 … Ū_K]

    want_a = "a" in wanted
    return AttentionGradients(
        W=_product(t.H, U_side, transpose=True) if "W" in wanted else None,  # W̄ = H̃ᵀ [Ū_1 … Ū_K]
        a1=_heads_transpose_times(t.U, s1_bar) if want_a else None,           # ā_1k = U_kᵀ s̄_1k
        a2=_heads_transpose_times(t.U, s2_bar) if want_a else None,           # ā_2k = U_kᵀ s̄_2k
        b=e.sum(axis=0) if "b" in wanted and t.b is not None else None,       # b̄_k = e_kᵀ 1
        H=_input_gradient(_product(U_side, t.W.T), t.input_mask) if "H" in wanted else None,  # ([Ū] Wᵀ) ⊙ M
        A=A_bar, R=R_bar, S=S_bar, U=U_bar,
    )  # fmt: skip


def _input_gradient(G: Array, M: Array | None) -> Array:
    return G if M is None else G * M


# --- the heads' small products: one BLAS call for all K heads ------------------------------------
# np.einsum loops over the n = 8 numbers of a head in Python-free but slow C loops, and
# NumPy's broadcasting pays a call per run of n numbers; on Cora's layer 1 each of these took
# about three times as long as the BLAS form (four times for the outer products).


def _heads_times(U: Array, a: Array) -> Array:
    """``[U_k a_k]_k`` as K×m, from U m×K×n and a K×n: one batched matrix-vector product."""
    return (U.transpose(1, 0, 2) @ a[:, :, None])[:, :, 0]


def _heads_transpose_times(U: Array, s: Array) -> Array:
    """``[U_kᵀ s_k]_k`` as K×n, from U m×K×n and s K×m: one batched matrix-vector product."""
    return (U.transpose(1, 2, 0) @ s[:, :, None])[:, :, 0]


def _heads_outer(s: Array, a: Array) -> Array:
    """``[s_k a_kᵀ]_k`` as m×K×n, from s K×m and a K×n: ``sᵀ`` times the K×Kn block-diagonal ``diag(a_1ᵀ, …, a_Kᵀ)``.

    One matrix product yields all K outer products side by side, in the layout of U; its
    zero blocks cost less than broadcasting ``s[:, :, None] * a``, which pays a call per head and row.
    """
    K, n = a.shape
    blocks = (np.eye(K, dtype=a.dtype)[:, :, None] * a).reshape(K, K * n)  # a_kᵀ in row k, block column k
    return (s.T @ blocks).reshape(-1, K, n)


PRODUCT_BLOCK = 1 << 18  # multiply-adds per call in `_product`


def _product(X: Any, Y: Array, transpose: bool = False) -> Array:
    """``X Y`` (or ``Xᵀ Y``) for a tall X: a sparse X by scipy, a dense one a block of rows at a time.

    The dense products of a layer, such as (m×64)(64×7), are too small for several threads to
    pay off but large enough for OpenBLAS to start them; on a machine whose cores are busy with
    other work, starting and spinning the threads was measured to cost about ten times the
    product itself. Blocks of rows with at most ``PRODUCT_BLOCK`` multiply-adds each stay on one
    thread. (``Xᵀ Y`` adds the products of matching blocks of rows of X and Y.)
    """
    if sp.issparse(X):
        return np.asarray((X.T if transpose else X) @ Y)
    k, n = X.shape[1], Y.shape[1]
    out = np.zeros((k, n) if transpose else (X.shape[0], n), dtype=np.result_type(X, Y))
    step = max(1, PRODUCT_BLOCK // max(1, k * n))
    for s in range(0, X.shape[0], step):
        b = slice(s, s + step)
        if transpose:
            out += X[b].T @ Y[b]
        else:
            np.matmul(X[b], Y, out=out[b])
    return out


# --- the two-layer GAT of the paper, trained with these gradients ---------------------------


@dataclass
class GATLayer:
    """The parameters of one attention layer: ``W`` (o×Kn), ``a1``, ``a2``, ``b`` (K×n), and how heads combine."""

    W: Array
    a1: Array
    a2: Array
    b: Array
    combine: str

    def arrays(self) -> list:
        """``[W, a1, a2, b]``, the arrays an optimiser updates in place."""
        return [self.W, self.a1, self.a2, self.b]

    def __repr__(self) -> str:
        K, n = self.a1.shape
        return f"GATLayer({self.W.shape[0]} → {K} head{'s' * (K > 1)} of {n}, {self.combine}, {self.W.dtype})"


def gat_parameters(
    features: int,
    classes: int,
    rng: np.random.Generator,
    *,
    heads: int = 8,
    hidden: int = 8,
    output_heads: int = 1,
    dtype=np.float64,
) -> list[GATLayer]:
    """Initial parameters of the two-layer GAT: Glorot-uniform weights and attention, zero biases.

    Layer 1 maps the features to ``heads`` concatenated heads of ``hidden`` units; layer 2
    averages ``output_heads`` heads of ``classes`` scores. Each head's ``W_k`` (o×n) and each
    half ``a_1k``, ``a_2k`` (n×1) of its attention vector is drawn with
    :func:`gcnlib.glorot_uniform <gcnlib.training.glorot_uniform>`.

    Parameters
    ----------
    features : int
        F, the width of the input X (m×F).
    classes : int
        c, the number of classes (the output width).
    rng : numpy.random.Generator
        Source of randomness.
    heads, hidden, output_heads : int, optional
        K_1 (default 8), n_1 (default 8) and K_2 (default 1), the paper's setting for Cora.
    dtype : numpy dtype, optional
        float64 (default) or float32.

    Returns
    -------
    list of GATLayer
        ``[layer 1 (F → K_1 n_1, concat), layer 2 (K_1 n_1 → c, mean)]``.
    """
    for name, value in (("features", features), ("classes", classes), ("heads", heads),
                        ("hidden", hidden), ("output_heads", output_heads)):  # fmt: skip
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")

    def layer(o: int, K: int, n: int, combine: str) -> GATLayer:
        W = np.hstack([glorot_uniform((o, n), rng, dtype) for _ in range(K)])
        a1, a2 = (np.vstack([glorot_uniform((n, 1), rng, dtype).T for _ in range(K)]) for _ in range(2))
        return GATLayer(W, a1, a2, np.zeros((K, n), dtype=dtype), combine)

    return [layer(features, heads, hidden, "concat"), layer(heads * hidden, output_heads, classes, "mean")]


@dataclass
class GATHistory:
    """What :func:`train_gat` records, one entry per epoch, and the model early stopping kept.

    Attributes
    ----------
    loss : list of float
        The training objective of each update (with dropout): mean cross-entropy over the
        training nodes plus ``λ/2`` times the sum of squares of all parameters.
    val_loss : list of float
        Mean cross-entropy over the validation nodes after the update, without dropout
        (what early stopping watches, with the validation accuracy).
    train_accuracy, val_accuracy, test_accuracy : list of float
        Accuracy of each split after the update, without dropout (``nan`` for a split not given).
    kept_epoch : int
        The epoch (from 0) of the kept model: the last one at which the validation accuracy
        was at least, and the validation loss at most, every earlier value.
    layers : list of GATLayer
        The parameters of the kept model (copies).
    """

    loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    kept_epoch: int = 0
    layers: list = field(default_factory=list)

    @property
    def kept_test_accuracy(self) -> float:
        """Test accuracy of the kept model."""
        return self.test_accuracy[self.kept_epoch]

    def __repr__(self) -> str:
        return (
            f"GATHistory({len(self.loss)} epochs, kept epoch {self.kept_epoch}: validation "
            f"{self.val_accuracy[self.kept_epoch]:.1%}, test {self.kept_test_accuracy:.1%})"
        )


@dataclass
class GATTrace:
    """The forward pass of a GAT: one :class:`AttentionTrace` per layer and the ELU outputs between them.

    Attributes
    ----------
    layers : list of AttentionTrace
        ``layers[l].Z`` is the output of layer l + 1 (before the ELU).
    H : list of ndarray
        ``H[l] = ELU(layers[l].Z)``, the input of layer l + 2 before its dropout (one fewer than layers).
    """

    layers: list
    H: list

    @property
    def Z(self) -> Array:
        """The class scores, the output of the last layer (m×c)."""
        return self.layers[-1].Z

    def __repr__(self) -> str:
        return f"GATTrace({len(self.layers)} layers, Z {_shape(self.Z)})"


def gat_forward(
    A: Any,
    X: Any,
    layers: list[GATLayer],
    *,
    dropout: float = 0.0,
    attention_dropout: float = 0.0,
    rng: np.random.Generator | None = None,
) -> GATTrace:
    """Run the GAT: attention layers with ELU between them; return one trace per layer.

    Parameters
    ----------
    A : array_like or scipy.sparse matrix, m×m
        The graph with self loops (or ``traces[0].edges`` of an earlier call).
    X : array_like or scipy.sparse matrix, m×F
        The node features.
    layers : list of GATLayer
        From :func:`gat_parameters`.
    dropout, attention_dropout : float, optional
        Drop probabilities on each layer's input and on the attention (default 0: none).
    rng : numpy.random.Generator, optional
        Source of the dropout masks; required when a probability is positive.

    Returns
    -------
    GATTrace
        ``trace.Z`` (m×c) are the class scores.
    """
    if (dropout or attention_dropout) and rng is None:
        raise ValueError("rng: a random generator is needed for dropout (dropout or attention_dropout > 0)")
    return _gat_forward(_edges(A), X, layers, dropout, attention_dropout, rng, attention_forward)


def _gat_forward(edges: Edges, X: Any, layers: list, dropout: float, attention_dropout: float,
                 rng: np.random.Generator | None, layer_forward: Callable) -> GATTrace:  # fmt: skip
    """:func:`gat_forward` with each layer run by ``layer_forward``: :func:`attention_forward`
    (which checks its input) or, in :func:`train_gat`, the unchecked :func:`_unchecked_forward`."""
    H, trace = X, GATTrace([], [])
    for l, layer in enumerate(layers):
        dtype = layer.W.dtype
        M = None
        if dropout and sp.issparse(H):  # sparse features: drop stored entries only
            H = sparse_dropout(H, dropout, rng).astype(dtype, copy=False)
        elif dropout:
            M = _dropout(H.shape, dropout, rng, dtype)
        K = layer.a1.shape[0]
        M_A = _dropout(edges.values_shape(K), attention_dropout, rng, dtype) if attention_dropout else None
        trace.layers.append(layer_forward(edges, H, layer.W, layer.a1, layer.a2, layer.b,
                                          combine=layer.combine, input_mask=M, attention_mask=M_A))  # fmt: skip
        if l < len(layers) - 1:
            H = _elu(trace.layers[-1].Z)  # H^l = ELU(Z^l)
            trace.H.append(H)
    return trace


def _unchecked_forward(edges, H, W, a1, a2, b, *, combine, input_mask, attention_mask) -> AttentionTrace:
    """:func:`attention_forward` for :func:`train_gat`'s own, already checked, arrays (GAT's slope)."""
    return _forward(edges, H, W, a1, a2, b, combine=combine, input_mask=input_mask,
                    attention_mask=attention_mask, phi=_GAT_PHI)  # fmt: skip


def _elu(Z: Array) -> Array:
    """ELU(Z) as ``max(Z, 0) + expm1(min(Z, 0))``: bit for bit ``ACTIVATIONS["elu"].f(Z)``, faster.

    gcnlib's ELU has α = ``ELU_ALPHA`` = 1. Where Z > 0 the sum is Z + 0, elsewhere
    0 + expm1(Z): exactly the table's ``np.where(Z > 0, Z, α expm1(min(Z, 0)))``. But
    ``np.where`` mispredicts a branch per entry when the signs are random, as they are here:
    on the m×64 output of GAT's first layer it took about ten times as long as these passes.
    """
    H = np.minimum(Z, 0)
    np.expm1(H, out=H)
    H += np.maximum(Z, 0)
    return H


def _elu_slope(H: Array) -> Array:
    """ELU'(Z) from H = ELU(Z) as ``min(H, 0) + 1``: bit for bit ``ACTIVATIONS["elu"].df(Z, H)``.

    Where Z > 0, H = Z > 0 and the result is 0 + 1; elsewhere H = expm1(Z) ≤ 0 and it is
    H + 1 = e^Z, the table's ``H + α`` (α = 1); no ``np.where`` (see :func:`_elu`).
    """
    D = np.minimum(H, 0)
    D += 1
    return D


def gat_backward(trace: GATTrace, e: Any) -> list:
    """The gradients of every layer's ``[W, a1, a2, b]`` from ``e = ∂L/∂Z`` of the last layer.

    Between layers the book's recursion step: ``e^{l} = H̄^{l} ⊙ ELU'(Z^{l})``, where
    ``H̄^l`` is the gradient of the next layer's input ``H^l = ELU(Z^l)``.

    Returns
    -------
    list of list of ndarray
        ``[[W̄, ā_1, ā_2, b̄] for each layer]``.
    """
    return _gat_backward(trace, e, attention_backward)


def _gat_backward(trace: GATTrace, e: Any, layer_backward: Callable) -> list:
    """:func:`gat_backward` with each layer's pass run by ``layer_backward``: :func:`attention_backward`,
    or, in :func:`train_gat`, :func:`_unchecked_backward`."""
    grads: list = [None] * len(trace.layers)
    for l in reversed(range(len(trace.layers))):
        g = layer_backward(trace.layers[l], e, wrt=("W", "a", "b", "H") if l > 0 else ("W", "a", "b"))
        grads[l] = [g.W, g.a1, g.a2, g.b]
        if l > 0:
            e = g.H * _elu_slope(trace.H[l - 1])  # e^{l} = H̄^{l} ⊙ ELU'(Z^{l})
    return grads


def _unchecked_backward(trace: AttentionTrace, e: Array, *, wrt: tuple) -> AttentionGradients:
    """:func:`attention_backward` for :func:`train_gat`'s own e (Z's shape and dtype)."""
    return _backward(trace, e, frozenset(wrt))


def train_gat(
    A: Any,
    X: Any,
    labels: Any,
    idx_train: Any,
    idx_val: Any,
    idx_test: Any = None,
    *,
    heads: int = 8,
    hidden: int = 8,
    output_heads: int = 1,
    epochs: int = 10_000,
    patience: int = 100,
    lr: float = 0.005,
    weight_decay: float = 5e-4,
    dropout: float = 0.6,
    attention_dropout: float = 0.6,
    seed: int = 0,
    callback: Callable | None = None,
) -> GATHistory:
    """Train the two-layer GAT of Veličković et al. (2018) with the hand-derived backward pass.

    Each epoch: dropout on the input of both layers (``dropout``) and on the attention
    (``attention_dropout``), forward, softmax cross-entropy on the training nodes plus
    ``λ/2`` times the squared norm of every parameter, the gradients of
    :func:`gat_backward` plus ``λθ``, one Adam step; then a forward pass without dropout
    measures loss and accuracy on each split. Early stopping as in the authors' code: stop
    after ``patience`` epochs in which neither the validation accuracy reached its maximum
    nor the validation loss its minimum; keep the last model at which both did.

    Parameters
    ----------
    A : array_like or scipy.sparse matrix, m×m
        The graph; self loops are added (each neighbourhood includes its node), weights ignored.
    X : array_like or scipy.sparse matrix, m×F
        Node features (the paper row-normalises them; see ``Planetoid.row_normalized_features``).
        float32 features train in float32.
    labels : array of int, (m,)
        Classes ``0 .. c-1`` (``-1`` allowed outside the splits).
    idx_train, idx_val : array of int
        Labelled nodes of the loss, and the nodes early stopping watches.
    idx_test : array of int, optional
        Nodes only evaluated.
    heads, hidden, output_heads : int, optional
        8 heads of 8 units, 1 output head (the paper's Cora and Citeseer setting).
    epochs : int, optional
        At most this many epochs (default 10 000; early stopping ends much sooner).
    patience : int, optional
        Default 100.
    lr, weight_decay : float, optional
        Adam's learning rate (0.005) and λ (5e-4).
    dropout, attention_dropout : float, optional
        Drop probabilities, both 0.6 by default.
    seed : int, optional
        Seeds the initial parameters and every dropout mask.
    callback : callable, optional
        Called as ``callback(epoch, trace)`` after each epoch with the GATTrace of the
        evaluation pass (no dropout).

    Returns
    -------
    GATHistory
        Per-epoch loss and accuracies, the kept epoch and its parameters.
    """
    if patience < 1 or epochs < 1:
        raise ValueError(
            f"epochs and patience must be positive integers, got epochs={epochs}, patience={patience}"
        )
    rng = np.random.default_rng(seed)
    X = as_matrix(X, "X", sparse_ok=True)
    A = as_adjacency(A)
    if X.shape[0] != A.shape[0]:
        raise ValueError(f"X has shape {_shape(X)} but A is {_shape(A)}: X needs one row per node")
    A = (sp.csr_matrix(A) != 0) + sp.eye(A.shape[0], format="csr", dtype=bool)
    edges = _edges(A.astype(np.float64))
    labels = np.asarray(labels)
    splits = {name: _node_indices(idx, A.shape[0], f"idx_{name}")
              for name, idx in (("train", idx_train), ("val", idx_val), ("test", idx_test))}  # fmt: skip
    if splits["val"] is None:
        raise ValueError("idx_val: early stopping watches the validation nodes; give them")
    classes = int(labels[np.concatenate([s for s in splits.values() if s is not None])].max()) + 1
    layers = gat_parameters(X.shape[1], classes, rng, heads=heads, hidden=hidden,
                            output_heads=output_heads, dtype=X.dtype)  # fmt: skip
    params = [P for layer in layers for P in layer.arrays()]
    adam = Adam(params, lr=lr)
    history = GATHistory(layers=copy.deepcopy(layers))
    best_accuracy, best_loss, waited = -np.inf, np.inf, 0

    for epoch in range(epochs):
        trace = _gat_forward(edges, X, layers, dropout, attention_dropout, rng, _unchecked_forward)
        loss, e = losses.softmax_cross_entropy(trace.Z, labels, splits["train"])
        grads = [G for layer_grads in _gat_backward(trace, e, _unchecked_backward) for G in layer_grads]
        history.loss.append(loss + 0.5 * weight_decay * sum(float(np.sum(P * P)) for P in params))
        adam.step(
            [G + weight_decay * P for G, P in zip(grads, params, strict=True)]
        )  # ∂/∂θ of λ/2 ‖θ‖² is λθ

        evaluation = _gat_forward(edges, X, layers, 0.0, 0.0, None, _unchecked_forward)
        Z = evaluation.Z
        for name in ("train", "val", "test"):
            idx = splits[name]
            value = float("nan") if idx is None else losses.accuracy(Z, labels, idx)
            getattr(history, f"{name}_accuracy").append(value)
        history.val_loss.append(losses.softmax_cross_entropy(Z, labels, splits["val"])[0])
        if callback is not None:
            callback(epoch, evaluation)

        accuracy, val_loss = history.val_accuracy[-1], history.val_loss[-1]
        if accuracy >= best_accuracy or val_loss <= best_loss:
            if accuracy >= best_accuracy and val_loss <= best_loss:
                history.kept_epoch, history.layers = epoch, copy.deepcopy(layers)
            best_accuracy, best_loss = max(accuracy, best_accuracy), min(val_loss, best_loss)
            waited = 0
        else:
            waited += 1
            if waited == patience:
                break
    return history


def _dropout(shape: tuple, p: float, rng: np.random.Generator, dtype) -> Array:
    """A dropout mask of any shape: 0 with probability p, else 1/(1 − p)."""
    if not 0 <= p < 1:
        raise ValueError(f"dropout probability p must satisfy 0 <= p < 1, got p = {p}")
    return np.multiply(rng.random(shape, dtype=np.float32) >= p, 1.0 / (1.0 - p), dtype=dtype)


def _node_indices(idx: Any, m: int, name: str) -> Array | None:
    """The sorted node indices of a split (indices or a boolean mask, as ``train`` takes them)."""
    if idx is None:
        return None
    return np.flatnonzero(as_selection(idx, m, name, unit="node", of="the graph"))
