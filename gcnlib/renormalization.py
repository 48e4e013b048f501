"""The gradient through the renormalisation: ∂L/∂A from ∂L/∂Â.

Kipf and Welling's layer mixes nodes with ``Â = D̃^{-1/2} (A + I) D̃^{-1/2}``, where the degrees
``d = (A + I) 1`` (the row sums) depend on ``A`` too. If the edge weights ``A`` are learned, the
backward pass of :func:`gcnlib.backward <gcnlib.recursion.backward>` gives ``G = ∂L/∂Â``, and one
more step is needed. Entry by entry, ``Â_ij = Ã_ij / sqrt(d_i d_j)`` with ``Ã = A + I``, and
``∂d_i/∂A_kl = δ_ik``, so (chapter "Deriving the recursion, twice" proves it twice)::

    ∂L/∂A_kl = G_kl / sqrt(d_k d_l) − (r_k + c_k) / (2 d_k),
    r = (G ⊙ Â) 1   (row sums),    c = (G ⊙ Â)ᵀ 1   (column sums),

that is ``∂L/∂A = D̃^{-1/2} G D̃^{-1/2} − ((r + c) / 2d) 1ᵀ``. The second term is constant along
each row: changing any weight in row ``k`` changes the degree of node ``k``, which rescales
the whole row and column ``k`` of ``Â``.

For an undirected graph whose weights are tied (``A_ab = A_ba = w_ab``, one weight per edge),
the gradient with respect to ``w_ab`` collects both entries: ``∂L/∂A_ab + ∂L/∂A_ba`` off the
diagonal and ``∂L/∂A_aa`` on it (:func:`undirected_edge_gradient`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .graphs import SELF_LOOPS, _with_self_loops, normalize_adjacency
from .validation import as_adjacency, as_matrix, float_dtype

__all__ = ["normalize_adjacency_backward", "undirected_edge_gradient"]


def _shape(shape: tuple[int, ...]) -> str:
    return "×".join(map(str, shape))


def _check_square(X: Any, m: int, name: str, meaning: str):
    """X as a checked dense array or CSR matrix of shape m×m (the shape of A)."""
    X = as_matrix(X, name, sparse_ok=True)
    if X.shape != (m, m):
        raise ValueError(
            f"{name} = {meaning} must have the shape of A ({_shape((m, m))}), got {_shape(X.shape)}"
        )
    return X


def normalize_adjacency_backward(A: Any, G: Any, *, A_hat: Any = None, self_loops: str = "missing") -> Any:
    """``∂L/∂A`` for a loss ``L`` computed from ``Â = D̃^{-1/2}(A + I)D̃^{-1/2}``, given ``G = ∂L/∂Â``.

    The degrees are the row sums ``d = Ã 1`` of ``A`` with its self-loops, ``Ã``, as in
    :func:`gcnlib.normalize_adjacency <gcnlib.graphs.normalize_adjacency>`; ``A`` need not be
    symmetric. Every entry of ``A`` is treated as an independent weight. For a graph without
    self-loops ``Ã = A + I`` whatever ``self_loops`` is (but ``"none"``). The loops that
    ``self_loops="missing"`` adds are constants: at a zero diagonal entry ``A_kk`` the result is
    the derivative with the added loop held fixed (``Â`` itself jumps when ``A_kk`` leaves 0,
    since the added loop then disappears).

    Parameters
    ----------
    A : array_like or scipy.sparse matrix, m×m
        The graph's adjacency (edge weights), the argument of ``normalize_adjacency``.
    G : array_like or scipy.sparse matrix, m×m
        ``∂L/∂Â``, for instance ``gcnlib.backward(...).A``. If sparse, only its entries on
        the pattern of ``Â`` (``A``'s pattern and the diagonal) are used, and no other entry
        of ``G`` can influence the result, since ``Â`` is zero elsewhere.
    A_hat : ndarray or scipy.sparse matrix, m×m, optional
        ``normalize_adjacency(A, self_loops)`` if already computed (it is recomputed otherwise).
    self_loops : {"missing", "add", "none"}
        The same choice as for ``normalize_adjacency`` (see ``gcnlib.SELF_LOOPS``); it must be
        the one that made ``Â``.

    Returns
    -------
    ndarray or scipy.sparse CSR matrix, m×m
        ``∂L/∂A``. Dense for a dense ``A`` (every entry, including those where ``A_kl = 0``:
        a new edge would change the loss too). For a sparse ``A``, a CSR matrix on ``A``'s
        stored entries only, the weights of the existing edges. float32 if ``A`` and ``G``
        are, else float64.

    Raises
    ------
    ValueError
        If ``A`` is not square, ``G`` (or ``A_hat``) does not have ``A``'s shape, a degree of
        ``A + I`` is not positive (the renormalisation is then undefined), or an input holds
        NaN or infinity.
    TypeError
        For non-numeric input.

    Examples
    --------
    Two nodes joined by an edge of weight 1 in each direction, and ``L = Â_00`` (so ``G`` is
    the matrix unit ``E_00``). Since ``Â_00 = (1 + A_00) / (1 + A_00 + A_01)``, a self-loop weight
    ``A_00`` raises ``L`` and the weight ``A_01`` lowers it (it raises the degree of node 0); row 1
    of ``A`` does not enter ``Â_00`` at all:

    >>> normalize_adjacency_backward([[0.0, 1.0], [1.0, 0.0]], [[1.0, 0.0], [0.0, 0.0]])
    array([[ 0.25, -0.25],
           [ 0.  ,  0.  ]])
    """
    A = as_adjacency(A)
    m = A.shape[0]
    G = _check_square(G, m, "G", "∂L/∂Â")
    if A_hat is None:
        A_hat = normalize_adjacency(A, self_loops)  # also checks self_loops and that every degree is positive
    else:
        A_hat = _check_square(A_hat, m, "A_hat", "Â")
    dtype = float_dtype(A.dtype, G.dtype)

    d = np.asarray(_with_self_loops(A, self_loops).sum(axis=1), dtype=np.float64).ravel()  # d = Ã 1
    if np.any(d <= 0):
        k = int(np.flatnonzero(d <= 0)[0])
        raise ValueError(
            f"A: every degree of Ã (self_loops={self_loops!r}: {SELF_LOOPS[self_loops]}) must be "
            f"positive, but row {k} has degree {d[k]:g}"
        )

    # r + c: the row and column sums of G ⊙ Â (only Â's non-zero entries contribute)
    if sp.issparse(A_hat) or sp.issparse(G):
        GA = (A_hat.multiply(G) if sp.issparse(A_hat) else sp.csr_matrix(G).multiply(A_hat)).tocsr()
        r_plus_c = np.asarray(GA.sum(axis=1)).ravel() + np.asarray(GA.sum(axis=0)).ravel()
    else:
        GA = np.asarray(G) * A_hat
        r_plus_c = GA.sum(axis=1) + GA.sum(axis=0)
    u = r_plus_c / (2 * d)  # the row term (r_k + c_k) / (2 d_k)
    d_inv_sqrt = 1 / np.sqrt(d)

    if not sp.issparse(A):
        G_dense = G.toarray() if sp.issparse(G) else G
        dA = d_inv_sqrt[:, None] * G_dense * d_inv_sqrt[None, :] - u[:, None]
        return dA.astype(dtype, copy=False)

    # sparse A: only the stored entries (k, l) of A are weights
    rows = np.repeat(np.arange(m), np.diff(A.indptr))
    cols = A.indices
    G_kl = np.asarray(G[rows, cols]).ravel() if rows.size else np.zeros(0)
    data = G_kl * d_inv_sqrt[rows] * d_inv_sqrt[cols] - u[rows]
    return sp.csr_matrix((data.astype(dtype), cols.copy(), A.indptr.copy()), shape=A.shape)


def undirected_edge_gradient(G: Any) -> Any:
    """The gradient with respect to tied, symmetric edge weights: ``G + Gᵀ − diag(G)``.

    If an undirected graph has one weight ``w_ab`` per edge, stored twice in a symmetric
    ``A`` (``A_ab = A_ba = w_ab``), then ``∂L/∂w_ab = G_ab + G_ba`` for ``a ≠ b`` and
    ``∂L/∂w_aa = G_aa`` for a self-loop, where ``G = ∂L/∂A`` treats all entries of ``A`` as
    independent. The result is symmetric: entry ``(a, b)`` and entry ``(b, a)`` both hold
    the gradient of the one weight ``w_ab``.

    Parameters
    ----------
    G : array_like or scipy.sparse matrix, m×m
        ``∂L/∂A`` with independent entries (from :func:`gcnlib.backward
        <gcnlib.recursion.backward>` or :func:`normalize_adjacency_backward`).

    Returns
    -------
    ndarray or scipy.sparse CSR matrix, m×m
        ``G + Gᵀ − diag(G)``, sparse if ``G`` is.

    Raises
    ------
    ValueError
        If ``G`` is not square or holds NaN or infinity.

    Examples
    --------
    >>> undirected_edge_gradient([[1.0, 2.0], [3.0, 4.0]])
    array([[1., 5.],
           [5., 4.]])
    """
    G = as_matrix(G, "G", sparse_ok=True)
    if G.shape[0] != G.shape[1]:
        raise ValueError(f"G = ∂L/∂A must be square (m×m), got shape {_shape(G.shape)}")
    if sp.issparse(G):
        return (G + G.T - sp.diags(G.diagonal())).tocsr()
    return G + G.T - np.diag(np.diag(G))
