"""Graphs: the renormalised adjacency, Zachary's karate club, and random sparse graphs.

A graph convolution mixes each node's features with its neighbours' through the
m×m matrix ``A`` in ``Z = A H W``. Kipf and Welling {cite:p}`kipf2017` do not use the raw
0/1 adjacency but a *renormalised* one,

    Â = D̃^{-1/2} (A + I) D̃^{-1/2},    D̃_ii = Σ_j (A + I)_ij,

so that every node also keeps its own features (the ``+ I``) and repeated layers neither
blow up nor shrink the features (the scaling by degrees).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from .validation import as_adjacency

__all__ = ["normalize_adjacency", "KarateClub", "karate_club", "random_graph"]


# --- the renormalised adjacency ------------------------------------------------------


def _inverse_sqrt_degrees(d: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Return d^{-1/2} for the degrees d of A + I, which must be positive."""
    bad = np.flatnonzero(d <= 0)
    if bad.size:
        raise ValueError(
            f"A: every degree of A + I must be positive, but row {bad[0]} of the {shape} "
            f"adjacency has degree {d[bad[0]]:g} (are there negative weights?)"
        )
    return 1 / np.sqrt(d)


def normalize_adjacency(A: Any) -> Any:
    """The renormalised adjacency ``Â = D̃^{-1/2} (A + I) D̃^{-1/2}`` of {cite:p}`kipf2017`.

    Parameters
    ----------
    A : array_like or scipy.sparse matrix, m×m
        Adjacency (edge weights), usually 0/1 and symmetric; symmetry is not required.
        The degrees are the row sums, ``D̃_ii = Σ_j (A + I)_ij``.

    Returns
    -------
    ndarray or scipy.sparse CSR matrix, m×m
        ``Â``: dense for a dense ``A``, CSR for a sparse ``A`` (never densified).
        float32 stays float32; every other input type becomes float64.

    Raises
    ------
    ValueError
        If ``A`` is not square, holds NaN or infinity, or a degree of ``A + I`` is not positive.
    TypeError
        If ``A`` is not a real numeric matrix.

    Examples
    --------
    Two nodes joined by one edge: ``A + I`` is all ones and every degree is 2.

    >>> normalize_adjacency([[0, 1], [1, 0]])
    array([[0.5, 0.5],
           [0.5, 0.5]])
    """
    A = as_adjacency(A)  # a square float matrix, CSR if sparse; errors name the shape
    if sp.issparse(A):
        return _normalize_sparse(A)
    A_tilde = A + np.eye(A.shape[0], dtype=A.dtype)
    d_inv_sqrt = _inverse_sqrt_degrees(A_tilde.sum(axis=1), A.shape)
    return d_inv_sqrt[:, None] * A_tilde * d_inv_sqrt[None, :]


def _normalize_sparse(A: Any) -> Any:
    """Sparse ``Â``: scale each stored entry (i, j) of A + I by d_i^{-1/2} d_j^{-1/2}."""
    m = A.shape[0]
    A_tilde = (A + sp.eye(m, dtype=A.dtype, format="csr")).tocsr()
    d_inv_sqrt = _inverse_sqrt_degrees(np.asarray(A_tilde.sum(axis=1)).ravel(), A.shape)
    rows = np.repeat(np.arange(m), np.diff(A_tilde.indptr))
    A_tilde.data *= d_inv_sqrt[rows] * d_inv_sqrt[A_tilde.indices]
    return A_tilde


# --- Zachary's karate club -----------------------------------------------------------
# The friendships among the 34 members of a university karate club observed by
# Zachary {cite:p}`zachary1977`: node i is joined to the nodes listed after it (0-based,
# each edge once, with the larger index on the right). The club later split in two;
# _OFFICER lists the members who followed the club's officer, all others followed the
# instructor, "Mr. Hi" (node 0). The officer is node 33.

_NEIGHBOURS_ABOVE: dict[int, list[int]] = {
    0: [1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 17, 19, 21, 31],
    1: [2, 3, 7, 13, 17, 19, 21, 30],
    2: [3, 7, 8, 9, 13, 27, 28, 32],
    3: [7, 12, 13],
    4: [6, 10],
    5: [6, 10, 16],
    6: [16],
    8: [30, 32, 33],
    9: [33],
    13: [33],
    14: [32, 33],
    15: [32, 33],
    18: [32, 33],
    19: [33],
    20: [32, 33],
    22: [32, 33],
    23: [25, 27, 29, 32, 33],
    24: [25, 27, 31],
    25: [31],
    26: [29, 33],
    27: [33],
    28: [31, 33],
    29: [32, 33],
    30: [32, 33],
    31: [32, 33],
    32: [33],
}

_OFFICER: list[int] = [9, 14, 15, 18, 20, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33]


@dataclass(frozen=True)
class KarateClub:
    """Zachary's karate club {cite:p}`zachary1977`: 34 members, 78 friendships, two factions.

    Attributes
    ----------
    A : ndarray, 34×34 float64
        Symmetric 0/1 adjacency, no self loops: ``A_ij = 1`` if members i and j are friends.
    labels : ndarray, (34,) int
        The faction each member joined after the split: 0 = Mr. Hi's, 1 = the Officer's.
    edges : ndarray, 78×2 int
        Each friendship once, as ``(i, j)`` with ``i < j``, sorted.
    factions : tuple of str
        Names of the labels: ``factions[labels[i]]`` is member i's faction.
    """

    A: np.ndarray
    labels: np.ndarray
    edges: np.ndarray
    factions: tuple[str, str] = field(default=("Mr. Hi", "Officer"))

    def __repr__(self) -> str:
        counts = ", ".join(f"{name}: {np.sum(self.labels == y)}" for y, name in enumerate(self.factions))
        return f"KarateClub({len(self.labels)} members, {len(self.edges)} friendships; {counts})"


def karate_club() -> KarateClub:
    """Zachary's karate club, built from the edge list embedded in this module.

    Returns
    -------
    KarateClub
        ``A`` (34×34), ``labels`` (34,), ``edges`` (78×2); see :class:`KarateClub`.

    Examples
    --------
    >>> club = karate_club()
    >>> club.A.shape, int(club.A.sum()) // 2, club.labels[[0, 33]].tolist()
    ((34, 34), 78, [0, 1])
    """
    m = 34
    edges = np.array(
        [(i, j) for i, above in sorted(_NEIGHBOURS_ABOVE.items()) for j in above], dtype=np.int64
    )
    A = np.zeros((m, m))
    A[edges[:, 0], edges[:, 1]] = 1.0
    A[edges[:, 1], edges[:, 0]] = 1.0
    labels = np.zeros(m, dtype=np.intp)  # the index type: np.bincount takes it on 32-bit Python too
    labels[_OFFICER] = 1
    return KarateClub(A=A, labels=labels, edges=edges)


# --- random sparse graphs ------------------------------------------------------------


def random_graph(
    m: int, degree: float, rng: np.random.Generator | int | None = None, *, dtype: Any = np.float64
) -> sp.csr_matrix:
    """A random undirected graph on m nodes with average degree ``degree``.

    The graph has exactly ``round(m * degree / 2)`` distinct edges, drawn uniformly among
    all pairs of distinct nodes (an Erdős–Rényi graph with a fixed number of edges).

    Parameters
    ----------
    m : int
        Number of nodes, m ≥ 2.
    degree : float
        Average number of neighbours per node, 0 ≤ degree ≤ m − 1.
    rng : numpy.random.Generator, int or None
        Random source, or a seed for ``np.random.default_rng``.
    dtype : dtype, optional
        Type of the stored ones (float64 by default).

    Returns
    -------
    scipy.sparse.csr_matrix, m×m
        Symmetric 0/1 adjacency with zero diagonal (no self loops).

    Examples
    --------
    >>> A = random_graph(1000, 10, rng=0)
    >>> A.shape, A.nnz, (A != A.T).nnz, float(A.diagonal().sum())
    ((1000, 1000), 10000, 0, 0.0)
    """
    if not isinstance(m, (int, np.integer)) or m < 2:
        raise ValueError(f"m: the number of nodes must be an integer ≥ 2, got {m!r}")
    if not 0 <= degree <= m - 1:
        raise ValueError(f"degree: must lie in [0, m − 1] = [0, {m - 1}] for m = {m}, got {degree!r}")
    rng = np.random.default_rng(rng)
    n_edges = int(round(m * degree / 2))
    keys = np.empty(0, dtype=np.int64)  # an edge i < j is stored as the number i·m + j
    while keys.size < n_edges:
        i, j = rng.integers(0, m, size=(2, n_edges - keys.size))
        i, j = np.minimum(i, j)[i != j], np.maximum(i, j)[i != j]
        keys = np.unique(np.concatenate([keys, i * m + j]))
    i, j = np.divmod(keys, m)
    ones = np.ones(2 * n_edges, dtype=dtype)
    return sp.csr_matrix((ones, (np.concatenate([i, j]), np.concatenate([j, i]))), shape=(m, m))
