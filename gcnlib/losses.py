r"""Losses: each returns the value :math:`L` and the gradient :math:`e^T = \partial L/\partial Z^T` that starts the backward pass.

* :func:`squared_error`: :math:`L = \tfrac12 \lVert Z - Y \rVert_F^2`, whose gradient is
  simply :math:`e^T = Z - Y`.
* :func:`softmax_cross_entropy`: node classification. Row i of ``Z`` holds the scores of
  node i for the n classes; ``softmax`` turns them into probabilities ``P`` and the loss is
  the mean of :math:`-\log P_{i, y_i}` over the labelled nodes :math:`S` (the *mask*: in
  the semi-supervised setting of Kipf and Welling (2017) only a few nodes carry a
  label). Its gradient is :math:`e^T = (P - Y)/|S|` on the rows in :math:`S` and 0 on the
  others, where :math:`Y` is the one-hot matrix of the labels.

All functions keep the dtype of ``Z`` (float32 stays float32).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .validation import as_matrix, as_selection

__all__ = ["squared_error", "softmax", "softmax_cross_entropy", "accuracy"]


# --- input checks --------------------------------------------------------------------


def _rows(Z: np.ndarray, mask: Any) -> np.ndarray:
    """The boolean (m,) vector of selected rows: all for None, else a bool mask or row indices."""
    m = Z.shape[0]
    if m == 0:
        raise ValueError(
            f"Z has shape {Z.shape}, no rows (an empty graph): the result is a mean "
            f"over nodes and needs at least one node"
        )
    if mask is None:
        return np.ones(m, dtype=bool)
    return as_selection(mask, m, "mask")


def _labels(labels: Any, Z: np.ndarray, selected: np.ndarray) -> np.ndarray:
    """Integer labels, shape (m,), within [0, n) on the selected rows."""
    labels = np.asarray(labels)
    m, n = Z.shape
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"labels: expected integer class indices, got dtype {labels.dtype}")
    if labels.shape != (m,):
        raise ValueError(
            f"labels: expected shape ({m},), one label per row of Z {Z.shape}, got {labels.shape}"
        )
    used = labels[selected]
    if used.min() < 0 or used.max() >= n:
        raise ValueError(
            f"labels: must lie in [0, {n}) for Z {Z.shape} with {n} classes, "
            f"got values from {used.min()} to {used.max()} on the selected rows"
        )
    return labels


# --- the losses ----------------------------------------------------------------------


def squared_error(Z: ArrayLike, Y: ArrayLike) -> tuple[float, np.ndarray]:
    r"""The loss :math:`L = \tfrac12 \lVert Z - Y \rVert_F^2` and its gradient :math:`e^T = \partial L/\partial Z = Z - Y`.

    Parameters
    ----------
    Z : array_like, m×n
        The output ``Z^T`` of the last layer.
    Y : array_like, m×n
        The targets.

    Returns
    -------
    L : float
    e_T : ndarray, m×n
        ``Z − Y`` (dtype of ``Z``).

    Raises
    ------
    ValueError
        If the shapes differ, or an input is not 2-D or holds NaN/infinity.

    Examples
    --------
    >>> squared_error([[3.0, 0.0]], [[1.0, 0.0]])
    (2.0, array([[2., 0.]]))
    """
    Z, Y = as_matrix(Z, "Z"), as_matrix(Y, "Y")
    if Z.shape != Y.shape:
        raise ValueError(f"squared_error: Z and Y must have the same shape, got Z {Z.shape} and Y {Y.shape}")
    e_T = (Z - Y).astype(Z.dtype, copy=False)
    return 0.5 * float(np.sum(np.square(e_T))), e_T


def softmax(Z: ArrayLike) -> np.ndarray:
    """Row-wise softmax ``P_ij = exp(Z_ij) / Σ_k exp(Z_ik)``, computed stably.

    Subtracting each row's maximum first changes nothing mathematically and keeps every
    exponent ≤ 0, so nothing overflows.

    Parameters
    ----------
    Z : array_like, m×n

    Returns
    -------
    P : ndarray, m×n
        Nonnegative rows that sum to 1 (dtype of ``Z``).
    """
    Z = as_matrix(Z, "Z")
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    return P / P.sum(axis=1, keepdims=True)


def _log_softmax(Z: np.ndarray) -> np.ndarray:
    """``log softmax(Z)`` by the log-sum-exp trick (Z already checked)."""
    shifted = Z - Z.max(axis=1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))


def softmax_cross_entropy(
    Z: ArrayLike, labels: ArrayLike, mask: ArrayLike | None = None
) -> tuple[float, np.ndarray]:
    r"""Mean cross-entropy of ``softmax(Z)`` over the selected rows, and its gradient.

    With :math:`P = \operatorname{softmax}(Z)` row by row, :math:`S` the selected rows,
    :math:`s` their number and :math:`Y` the one-hot labels,

    .. math::

        L = -\frac{1}{s} \sum_{i \in S} \log P_{i, y_i}, \qquad
        e^T = \frac{\partial L}{\partial Z} = \frac{P - Y}{s} \text{ on the rows in } S,
        \ 0 \text{ on the other rows.}

    Parameters
    ----------
    Z : array_like, m×n
        Scores (logits) of the m nodes for n classes: the output ``Z^T``.
    labels : array_like of int, (m,)
        Class of each node, in ``[0, n)`` on the selected rows (others are ignored, so an
        unlabelled node may carry e.g. −1).
    mask : None, bool array (m,), or int array of row indices
        The nodes whose loss is counted; None counts every node.

    Returns
    -------
    L : float
    e_T : ndarray, m×n
        The gradient, dtype of ``Z``.

    Raises
    ------
    ValueError
        Shapes that do not match, labels out of range, an empty mask, NaN/infinity in ``Z``.
    TypeError
        Non-integer labels, a mask that is neither boolean nor integer.

    Examples
    --------
    Equal scores: each of the two classes gets probability ½ and ``L = log 2``.

    >>> L, e_T = softmax_cross_entropy([[0.0, 0.0]], [1])
    >>> round(L, 6), e_T
    (0.693147, array([[ 0.5, -0.5]]))
    """
    Z = as_matrix(Z, "Z")
    selected = _rows(Z, mask)
    labels = _labels(labels, Z, selected)
    rows = np.flatnonzero(selected)
    log_P = _log_softmax(Z[rows])
    L = -float(np.mean(log_P[np.arange(rows.size), labels[rows]]))
    e_T = np.zeros_like(Z)
    G = np.exp(log_P)
    G[np.arange(rows.size), labels[rows]] -= 1
    e_T[rows] = G / rows.size
    return L, e_T


def accuracy(Z: ArrayLike, labels: ArrayLike, mask: ArrayLike | None = None) -> float:
    """Fraction of the selected rows whose largest score is at the true label.

    Parameters
    ----------
    Z : array_like, m×n
        Scores; the prediction for node i is ``argmax_j Z_ij`` (the first one on ties).
    labels : array_like of int, (m,)
    mask : None, bool array (m,), or int array of row indices
        As in :func:`softmax_cross_entropy`.

    Returns
    -------
    float
        A number in [0, 1].

    Examples
    --------
    >>> accuracy([[2.0, 1.0], [0.0, 3.0], [5.0, 4.0]], [0, 1, 1])
    0.6666666666666666
    """
    Z = as_matrix(Z, "Z")
    selected = _rows(Z, mask)
    labels = _labels(labels, Z, selected)
    return float(np.mean(Z[selected].argmax(axis=1) == labels[selected]))
