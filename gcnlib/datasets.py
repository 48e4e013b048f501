"""Cora and Citeseer: two citation graphs with the standard Planetoid split.

Each node is a paper, each edge a citation (taken as undirected), each feature a word of a
fixed vocabulary (1 if the paper uses it). The task is to predict the topic of every paper
from 20 labelled papers per topic. The split into training, validation and test nodes is the
one of Yang et al. (2016), on which Kipf & Welling (2017) report their results; the graphs
themselves come from Sen et al. (2008). ``gcnlib/data/README.md`` describes the files.

The files ship inside the package and are read with ``allow_pickle=False``; every load is
checked against the published figures (nodes, edges, features, classes, split sizes).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import numpy as np
import scipy.sparse as sp

__all__ = ["Planetoid", "PlanetoidFigures", "PLANETOID_FIGURES", "load_planetoid", "normalize_rows"]


@dataclass(frozen=True)
class PlanetoidFigures:
    """What a Planetoid data set contains: the figures its README states, checked on every load."""

    nodes: int
    edges: int
    features: int
    feature_nnz: int
    classes: int
    train: int
    val: int
    test: int


#: The expected figures of each data set, keyed by name.
PLANETOID_FIGURES: dict[str, PlanetoidFigures] = {
    "cora": PlanetoidFigures(2708, 5278, 1433, 49216, 7, 140, 500, 1000),
    "citeseer": PlanetoidFigures(3327, 4552, 3703, 105165, 6, 120, 500, 1000),
}


@dataclass(frozen=True)
class Planetoid:
    """A citation graph with its features, labels and the Planetoid split.

    Attributes
    ----------
    name : str
        ``"cora"`` or ``"citeseer"``.
    A : scipy.sparse.csr_matrix
        m×m adjacency, symmetric, entries 0 or 1, no self loops (float64).
    X : scipy.sparse.csr_matrix
        m×F binary bag-of-words features, not normalised (float64).
    labels : numpy.ndarray
        Class of each node, int64, shape (m,); ``-1`` where a node has no label.
    idx_train, idx_val, idx_test : numpy.ndarray
        Indices (int64) of the training, validation and test nodes.
    num_classes : int
        Number of classes c; labels lie in ``0 .. c-1``.
    """

    name: str
    A: sp.csr_matrix
    X: sp.csr_matrix
    labels: np.ndarray
    idx_train: np.ndarray
    idx_val: np.ndarray
    idx_test: np.ndarray
    num_classes: int

    @property
    def num_nodes(self) -> int:
        """Number of nodes m."""
        return self.A.shape[0]

    def __repr__(self) -> str:
        return (
            f"Planetoid({self.name!r}: {self.num_nodes} nodes, {self.A.nnz // 2} edges, "
            f"{self.X.shape[1]} features, {self.num_classes} classes, split "
            f"{self.idx_train.size}/{self.idx_val.size}/{self.idx_test.size})"
        )

    def row_normalized_features(self) -> sp.csr_matrix:
        """The features with every row divided by its sum, as Kipf & Welling feed them.

        Returns
        -------
        scipy.sparse.csr_matrix
            m×F, each non-empty row sums to 1.
        """
        return normalize_rows(self.X)


def normalize_rows(X: np.ndarray | sp.spmatrix) -> np.ndarray | sp.csr_matrix:
    """Divide every row of ``X`` by its sum; rows that sum to zero stay zero.

    Parameters
    ----------
    X : numpy.ndarray or scipy.sparse matrix
        m×F, non-negative entries (e.g. word counts).

    Returns
    -------
    numpy.ndarray or scipy.sparse.csr_matrix
        m×F float64, dense if ``X`` is dense, CSR if it is sparse.
    """
    if sp.issparse(X):
        X = sp.csr_matrix(X, dtype=np.float64)
        row_sums = np.asarray(X.sum(axis=1)).ravel()
    else:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D (m×F), got shape {X.shape}")
        row_sums = X.sum(axis=1)
    scale = np.divide(1.0, row_sums, out=np.zeros_like(row_sums), where=row_sums != 0)
    if sp.issparse(X):  # scale the stored entries row by row: the sparsity pattern stays
        X = X.copy()
        X.data *= np.repeat(scale, np.diff(X.indptr))
        return X
    return X * scale[:, None]


def load_planetoid(name: str) -> Planetoid:
    """Load Cora or Citeseer from the files shipped with gcnlib.

    Parameters
    ----------
    name : str
        ``"cora"`` or ``"citeseer"`` (case does not matter).

    Returns
    -------
    Planetoid
        The graph ``A`` (m×m), the features ``X`` (m×F), the labels and the split.

    Raises
    ------
    ValueError
        If ``name`` is not a known data set, or the file does not match the expected figures.

    Examples
    --------
    >>> cora = load_planetoid("cora")
    >>> cora.A.shape, cora.X.shape, cora.num_classes
    ((2708, 2708), (2708, 1433), 7)
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, one of {sorted(PLANETOID_FIGURES)}, got {type(name).__name__}")
    key = name.lower()
    if key not in PLANETOID_FIGURES:
        raise ValueError(f"unknown data set name={name!r}; valid names: {sorted(PLANETOID_FIGURES)}")
    arrays = _read_npz(f"{key}.npz")
    data = _build(key, arrays)
    _check(data, PLANETOID_FIGURES[key], arrays["edges"])
    return data


def _read_npz(filename: str) -> dict[str, np.ndarray]:
    """Every array of ``gcnlib/data/<filename>``, read without pickle."""
    source = resources.files("gcnlib").joinpath("data", filename)
    with source.open("rb") as f, np.load(f, allow_pickle=False) as npz:
        return {key: npz[key] for key in npz.files}


def _build(name: str, arrays: dict[str, np.ndarray]) -> Planetoid:
    """Turn the raw arrays of a file into a :class:`Planetoid`."""
    m, F = (int(n) for n in arrays["features_shape"])
    u, v = arrays["edges"].astype(np.int64).T
    rows = np.concatenate([u, v])
    cols = np.concatenate([v, u])
    A = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(m, m))
    X = sp.csr_matrix(
        (arrays["features_data"].astype(np.float64), arrays["features_indices"], arrays["features_indptr"]),
        shape=(m, F),
    )
    labels = arrays["labels"].astype(np.int64)
    return Planetoid(
        name=name,
        A=A,
        X=X,
        labels=labels,
        idx_train=arrays["idx_train"].astype(np.int64),
        idx_val=arrays["idx_val"].astype(np.int64),
        idx_test=arrays["idx_test"].astype(np.int64),
        num_classes=int(labels.max()) + 1,
    )


def _check(data: Planetoid, expected: PlanetoidFigures, edges: np.ndarray) -> None:
    """Raise ValueError unless ``data`` has the expected figures and a clean graph."""
    found = PlanetoidFigures(
        nodes=data.A.shape[0],
        edges=int(edges.shape[0]),
        features=data.X.shape[1],
        feature_nnz=int(data.X.nnz),
        classes=data.num_classes,
        train=data.idx_train.size,
        val=data.idx_val.size,
        test=data.idx_test.size,
    )
    if found != expected:
        raise ValueError(
            f"{data.name}.npz does not match its expected figures: found {found}, expected {expected}"
        )
    if np.any(edges[:, 0] == edges[:, 1]) or data.A.nnz != 2 * expected.edges:
        raise ValueError(
            f"{data.name}.npz: edges must be distinct pairs u≠v, "
            f"got {data.A.nnz} entries of A for {expected.edges} edges"
        )
    labelled = np.concatenate([data.idx_train, data.idx_val, data.idx_test])
    if np.any(data.labels[labelled] < 0):
        raise ValueError(f"{data.name}.npz: a node of the split has no label")
