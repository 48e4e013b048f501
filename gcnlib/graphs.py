r"""Graphs: the renormalised adjacency, graphs in a batch, Zachary's karate club, random graphs.

A graph convolution mixes each node's features with its neighbours' through the
m×m matrix ``A`` in ``Z = A H W``. Kipf and Welling (2017) do not use the raw
0/1 adjacency but a *renormalised* one,

.. math::

    \hat A = \tilde D^{-1/2} (A + I) \tilde D^{-1/2}, \qquad \tilde D_{ii} = \textstyle\sum_j (A + I)_{ij},

so that every node also keeps its own features (the ``+ I``) and repeated layers neither
blow up nor shrink the features (the scaling by degrees).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from .validation import Matrix, as_adjacency, as_generator

__all__ = [
    "normalize_adjacency",
    "SELF_LOOPS",
    "GraphBatch",
    "batch_graphs",
    "KarateClub",
    "karate_club",
    "random_graph",
]


# --- the renormalised adjacency ------------------------------------------------------

SELF_LOOPS: dict[str, str] = {
    "missing": "A with a self-loop of weight 1 added to every node that has none (existing ones kept)",
    "add": "A + I: a self-loop of weight 1 added to every node (an existing one grows by 1)",
    "none": "A as it is",
}
"""The choices of ``normalize_adjacency(A, self_loops=...)`` and the matrix Ã each one normalises.

:meta hide-value:
"""


def _inverse_sqrt_degrees(d: np.ndarray, shape: tuple[int, ...], self_loops: str) -> np.ndarray:
    """Return d^{-1/2} for the degrees d of Ã, which must be positive."""
    bad = np.flatnonzero(d <= 0)
    if bad.size:
        hint = (
            "an isolated node? use self_loops='missing'"
            if self_loops == "none"
            else "are there negative weights?"
        )
        raise ValueError(
            f"A: every degree of Ã (self_loops={self_loops!r}: {SELF_LOOPS[self_loops]}) must be positive, "
            f"but row {bad[0]} of the {shape} adjacency has degree {d[bad[0]]:g} ({hint})"
        )
    return 1 / np.sqrt(d)


def normalize_adjacency(A: Matrix, self_loops: str = "missing") -> Any:
    r"""The renormalised adjacency :math:`\hat A = \tilde D^{-1/2} \tilde A \tilde D^{-1/2}` of Kipf & Welling (2017).

    ``Ã`` is ``A`` with self-loops, ``D̃`` the diagonal matrix of its row sums,
    ``D̃_ii = Σ_j Ã_ij``. Kipf & Welling take ``Ã = A + I`` for a graph without
    self-loops; for such a graph all three choices of ``self_loops`` but ``"none"``
    give that same matrix.

    Parameters
    ----------
    A : array_like or scipy.sparse matrix, m×m
        Adjacency (edge weights), usually 0/1 and symmetric; symmetry is not required.
    self_loops : {"missing", "add", "none"}
        How ``Ã`` is made from ``A`` (see ``SELF_LOOPS``). ``"missing"`` (the default,
        as PyTorch Geometric's ``GCNConv`` does) adds a loop of weight 1 to each node
        whose diagonal entry is 0 and keeps the others, so ``normalize_adjacency(A + I)``
        does not count a loop twice; ``"add"`` is ``Ã = A + I`` whatever the diagonal
        holds; ``"none"`` normalises ``A`` itself.

    Returns
    -------
    ndarray or scipy.sparse CSR matrix, m×m
        ``Â``: dense for a dense ``A``, CSR for a sparse ``A`` (never densified).
        float32 stays float32; every other input type becomes float64.

    Raises
    ------
    ValueError
        If ``A`` is not square, holds NaN or infinity, a degree of ``Ã`` is not positive,
        or ``self_loops`` is not one of the three choices.
    TypeError
        If ``A`` is not a real numeric matrix.

    Examples
    --------
    Two nodes joined by one edge: ``A + I`` is all ones and every degree is 2.

    >>> normalize_adjacency([[0, 1], [1, 0]])
    array([[0.5, 0.5],
           [0.5, 0.5]])

    A graph that already has its self-loops gets no second one:

    >>> normalize_adjacency([[1, 1], [1, 1]])
    array([[0.5, 0.5],
           [0.5, 0.5]])
    """
    if self_loops not in SELF_LOOPS:
        raise ValueError(f"self_loops: expected one of {list(SELF_LOOPS)}, got {self_loops!r}")
    A = as_adjacency(A)  # a square float matrix, CSR if sparse; errors name the shape
    A_tilde = _with_self_loops(A, self_loops)
    if sp.issparse(A):
        return _normalize_sparse(A_tilde, self_loops)
    d_inv_sqrt = _inverse_sqrt_degrees(A_tilde.sum(axis=1), A.shape, self_loops)
    return d_inv_sqrt[:, None] * A_tilde * d_inv_sqrt[None, :]


def _with_self_loops(A: Any, self_loops: str) -> Any:
    """Ã: A with the self-loops ``self_loops`` asks for (a new matrix; A is not changed)."""
    m = A.shape[0]
    if self_loops == "none":
        return A.copy()
    loops = np.ones(m, dtype=A.dtype)
    if self_loops == "missing":
        loops[A.diagonal() != 0] = 0  # only where the diagonal is empty
    if sp.issparse(A):
        return (A + sp.diags(loops, format="csr")).tocsr()
    A_tilde = A.copy()
    A_tilde[np.arange(m), np.arange(m)] += loops
    return A_tilde


def _normalize_sparse(A_tilde: Any, self_loops: str) -> Any:
    """Sparse ``Â``: scale each stored entry (i, j) of Ã by d_i^{-1/2} d_j^{-1/2}, in place."""
    m = A_tilde.shape[0]
    d_inv_sqrt = _inverse_sqrt_degrees(np.asarray(A_tilde.sum(axis=1)).ravel(), A_tilde.shape, self_loops)
    rows = np.repeat(np.arange(m), np.diff(A_tilde.indptr))
    A_tilde.data *= d_inv_sqrt[rows] * d_inv_sqrt[A_tilde.indices]
    return A_tilde


# --- graphs in a batch ---------------------------------------------------------------


@dataclass(frozen=True)
class GraphBatch:
    """Several graphs as one: a block-diagonal adjacency and where each graph's nodes are.

    Attributes
    ----------
    A : scipy.sparse CSR matrix, m×m
        ``diag(A_1, ..., A_k)`` with ``m = m_1 + ... + m_k``: graph g's nodes are rows
        ``offsets[g]`` to ``offsets[g + 1] - 1``, and no edge joins two graphs.
    offsets : ndarray of int, (k + 1,)
        ``[0, m_1, m_1 + m_2, ..., m]``.
    """

    A: Any
    offsets: np.ndarray

    def nodes(self, g: int) -> slice:
        """The rows of graph g in the batch (in ``A``, ``H^t``, ``Z^t``, ``e^t``)."""
        return slice(int(self.offsets[g]), int(self.offsets[g + 1]))

    def split(self, X: Any) -> list:
        """The row blocks of an m×n matrix, one per graph: ``[X_1, ..., X_k]``."""
        return [X[self.nodes(g)] for g in range(len(self.offsets) - 1)]

    @property
    def graph_of_node(self) -> np.ndarray:
        """For each of the m nodes, the index of its graph (an int array of length m)."""
        return np.repeat(np.arange(len(self.offsets) - 1), np.diff(self.offsets))

    def __repr__(self) -> str:
        return f"GraphBatch({len(self.offsets) - 1} graphs, {self.A.shape[0]} nodes, {self.A.nnz} stored entries)"


def batch_graphs(adjacencies: Sequence[Matrix]) -> GraphBatch:
    """Put several graphs into one block-diagonal sparse adjacency, to train them together.

    ``Z = A H W`` with ``A = diag(A_1, ..., A_k)`` and the node features stacked,
    ``H = [H_1; ...; H_k]``, computes every graph's own ``Z_g = A_g H_g W`` at once:
    block g of ``A H`` is ``A_g H_g``, as no edge joins two graphs. The weights are
    shared, so ``∂L/∂W`` is the sum of the graphs' gradients, and ``∂L/∂A`` is
    block-diagonal too. Normalising the batch (``normalize_adjacency(batch.A)``) equals
    normalising each graph, since the degrees of a node only count its own graph.

    Parameters
    ----------
    adjacencies : list of array_like or scipy.sparse matrices
        ``[A_1, ..., A_k]``, A_g of shape m_g×m_g.

    Returns
    -------
    GraphBatch
        ``batch.A`` (CSR, m×m) and ``batch.offsets``; stack the features with
        ``np.vstack`` (or ``scipy.sparse.vstack``) in the same order, and use
        ``batch.split(Z)`` or ``batch.nodes(g)`` to read one graph's rows.

    Examples
    --------
    >>> batch = batch_graphs([[[0, 1], [1, 0]], np.zeros((3, 3))])
    >>> batch.A.shape, batch.offsets.tolist(), batch.nodes(1)
    ((5, 5), [0, 2, 5], slice(2, 5, None))
    """
    if isinstance(adjacencies, np.ndarray) or sp.issparse(adjacencies):
        raise TypeError("adjacencies: expected a list [A_1, ..., A_k] of adjacency matrices, got one array")
    blocks = [as_adjacency(A, name=f"adjacencies[{g}]") for g, A in enumerate(adjacencies)]
    if not blocks:
        raise ValueError("adjacencies: the list is empty; a batch needs at least one graph")
    sizes = [A.shape[0] for A in blocks]
    dtype = np.result_type(*(A.dtype for A in blocks))
    A = sp.block_diag([sp.csr_matrix(A) for A in blocks], format="csr", dtype=dtype)
    return GraphBatch(A=A, offsets=np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64))


# --- Zachary's karate club -----------------------------------------------------------
# The friendships among the 34 members of a university karate club observed by
# Zachary (1977): node i is joined to the nodes listed after it (0-based,
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
    """Zachary's karate club (Zachary, 1977): 34 members, 78 friendships, two factions.

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
    rng = as_generator(rng)
    n_edges = int(round(m * degree / 2))
    keys = np.empty(0, dtype=np.int64)  # an edge i < j is stored as the number i·m + j
    while keys.size < n_edges:
        i, j = rng.integers(0, m, size=(2, n_edges - keys.size))
        i, j = np.minimum(i, j)[i != j], np.maximum(i, j)[i != j]
        keys = np.unique(np.concatenate([keys, i * m + j]))
    i, j = np.divmod(keys, m)
    ones = np.ones(2 * n_edges, dtype=dtype)
    return sp.csr_matrix((ones, (np.concatenate([i, j]), np.concatenate([j, i]))), shape=(m, m))
