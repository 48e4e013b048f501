"""Checking a gradient against the definition of the derivative.

For a scalar function f of a matrix X, the gradient G = df/dX is the matrix with
``f(X + εV) ≈ f(X) + ε G:V`` for every direction V (``G:V = Σ_ij G_ij V_ij``, the
Frobenius product). Central differences estimate it with an error of order ε²::

    G_ij ≈ (f(X + ε E_ij) − f(X − ε E_ij)) / 2ε

one pair of evaluations per entry (so only for small X), while the directional check
tests the whole gradient at once along one random V::

    (f(X + εV) − f(X − εV)) / 2ε  ≈  G:V

A sparse X (scipy.sparse) is perturbed on its stored entries only, which is the gradient
with respect to the edge weights that gcnlib returns for a sparse A.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import scipy.sparse as sp

from .validation import as_generator

__all__ = ["numerical_gradient", "directional_check", "relative_error"]

Array = np.ndarray


def _float64_copy(X: Any):
    """A float64 copy of X; a sparse X stays of its own class (``*`` means different things
    for scipy's sparse matrices and sparse arrays, and ``f`` may rely on either)."""
    if sp.issparse(X):
        X = X.tocsr().astype(np.float64, copy=True)
        X.sum_duplicates()
        return X
    return np.array(X, dtype=np.float64)


def _same_shape(a_name: str, a: Any, b_name: str, b: Any) -> None:
    if np.shape(a) != np.shape(b):
        raise ValueError(
            f"{a_name} has shape {np.shape(a)} but {b_name} has shape {np.shape(b)}: they must agree"
        )


def _value(f: Callable[[Any], float], X: Any) -> float:
    """``f(X)`` as a float; anything but a single number is refused with what to do."""
    L = f(X)
    if isinstance(L, tuple):
        raise TypeError(
            f"f must return the scalar L alone, but it returned a tuple of {len(L)} items; gcnlib's "
            f"losses return (L, e_T): check a loss with lambda X: loss(X)[0]"
        )
    if np.size(L) != 1:
        raise TypeError(f"f must return a scalar L, but it returned an array of shape {np.shape(L)}")
    return float(np.asarray(L).reshape(()))  # a 1×1 array (such as xᵀ A x) counts as a scalar


def numerical_gradient(f: Callable[[Any], float], X: Any, eps: float = 1e-6):
    """Central finite differences of a scalar function f at the matrix X.

    Parameters
    ----------
    f : callable
        ``f(X) -> float``, a scalar function of an m×n matrix.
    X : array_like or scipy.sparse matrix, m×n
        The point (not modified; f receives float64 copies).
    eps : float
        The step ε.

    Returns
    -------
    ndarray or scipy.sparse CSR matrix, m×n
        G with ``G_ij ≈ (f(X + εE_ij) − f(X − εE_ij)) / 2ε``; for a sparse X, a sparse
        matrix on X's pattern (only the stored entries are perturbed).
    """
    X = _float64_copy(X)
    values = X.data if sp.issparse(X) else X.reshape(-1)  # a view: editing it edits X
    G = np.empty(values.size)
    for k in range(values.size):
        x = values[k]
        values[k] = x + eps
        f_plus = _value(f, X)
        values[k] = x - eps
        f_minus = _value(f, X)
        values[k] = x
        G[k] = (f_plus - f_minus) / (2 * eps)
    if sp.issparse(X):
        return type(X)((G, X.indices.copy(), X.indptr.copy()), shape=X.shape)
    return G.reshape(X.shape)


def directional_check(
    f: Callable[[Any], float],
    X: Any,
    G: Any,
    rng: np.random.Generator | int | None = None,
    eps: float = 1e-6,
) -> tuple[float, float]:
    """Compare the change of f along a random direction V with ``G:V``.

    Parameters
    ----------
    f : callable
        ``f(X) -> float``.
    X : array_like or scipy.sparse matrix, m×n
        The point.
    G : array_like or scipy.sparse matrix, m×n
        The claimed gradient df/dX (for a sparse X: on X's pattern).
    rng : numpy.random.Generator or int, optional
        Source of the standard normal direction V (on X's pattern if X is sparse), or an
        integer seed; by default the seed 0, so that the check is reproducible.
    eps : float
        The step ε.

    Returns
    -------
    (numeric, analytic) : tuple of float
        ``(f(X + εV) − f(X − εV)) / 2ε`` and ``G:V``; they agree to about ε² when G is right.
    """
    rng = as_generator(0 if rng is None else rng)
    X = _float64_copy(X)
    _same_shape("G", G, "X", X)
    if sp.issparse(X):
        V = X.copy()
        V.data = rng.standard_normal(X.data.size)
        G = sp.csr_matrix(G, dtype=np.float64)
        analytic = float(G.multiply(V).sum())
    else:
        G = np.asarray(G, dtype=np.float64)
        V = rng.standard_normal(X.shape)
        analytic = float(np.sum(G * V))
    numeric = (_value(f, X + eps * V) - _value(f, X - eps * V)) / (2 * eps)
    return numeric, analytic


def _norm(X: Any) -> float:
    if sp.issparse(X):
        return float(np.linalg.norm(sp.csr_matrix(X).data))
    return float(np.linalg.norm(np.asarray(X, dtype=np.float64)))


def relative_error(a: Any, b: Any) -> float:
    """``‖a − b‖ / max(‖a‖, ‖b‖, tiny)`` (Frobenius norms): 0 for equal inputs, ≤ 2 always.

    Works for scalars, dense arrays and scipy.sparse matrices (compared entry by entry).
    """
    _same_shape("a", a, "b", b)
    if sp.issparse(a) or sp.issparse(b):
        diff = sp.csr_matrix(a, dtype=np.float64) - sp.csr_matrix(b, dtype=np.float64)
        a_norm, b_norm, d_norm = _norm(a), _norm(b), _norm(diff)
    else:
        a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        a_norm, b_norm, d_norm = _norm(a), _norm(b), _norm(a - b)
    return d_norm / max(a_norm, b_norm, np.finfo(np.float64).tiny)
