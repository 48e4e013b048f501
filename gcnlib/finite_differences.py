r"""Checking gradients against the definition of the derivative: finite differences.

:func:`check_gradients` checks every gradient of a whole network in one call; the three
functions below it check the gradient of any scalar function of one matrix.

For a scalar function :math:`f` of a matrix :math:`X`, the gradient :math:`G = df/dX` is
the matrix with :math:`f(X + \varepsilon V) \approx f(X) + \varepsilon\, G:V` for every
direction :math:`V` (:math:`G:V = \sum_{ij} G_{ij} V_{ij}`, the Frobenius product). Central
differences estimate it with an error of order :math:`\varepsilon^2`,

.. math::

    G_{ij} \approx \frac{f(X + \varepsilon E_{ij}) - f(X - \varepsilon E_{ij})}{2\varepsilon},

one pair of evaluations per entry (so only for small :math:`X`), while the directional
check tests the whole gradient at once along one random :math:`V`:

.. math::

    \frac{f(X + \varepsilon V) - f(X - \varepsilon V)}{2\varepsilon} \approx G:V.

A sparse X (scipy.sparse) is perturbed on its stored entries only, which is the gradient
with respect to the edge weights that gcnlib returns for a sparse A.

(PyTorch users: ``torch.autograd.gradcheck`` corresponds to :func:`check_gradients`.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike

from . import recursion
from .activations import Activation
from .validation import Matrix, as_generator

__all__ = ["check_gradients", "numerical_gradient", "directional_check", "relative_error"]

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


def check_gradients(
    A: Matrix,
    H0: Matrix,
    weights: Sequence[ArrayLike],
    *,
    sigma: str | Activation | Sequence[str | Activation] = "tanh",
    biases: Sequence[ArrayLike | None] | None = None,
    masks: Sequence[ArrayLike | None] | None = None,
    loss: Callable[[np.ndarray], tuple[float, np.ndarray]] | None = None,
    directions: int | None = None,
    eps: float = 1e-6,
    rng: np.random.Generator | int = 0,
    max_entries: int = 20_000,
) -> dict[str, float]:
    """Check every gradient of a network against central finite differences.

    Runs :func:`gcnlib.forward <gcnlib.recursion.forward>` and
    :func:`gcnlib.backward <gcnlib.recursion.backward>` once, then estimates each gradient
    (``∂L/∂W^t`` and ``∂L/∂b^t`` for every layer, ``∂L/∂A``, ``∂L/∂H^0``) from the loss
    alone, by central differences of the same network, and returns the relative error of
    each. Everything runs in float64 (finite differences in float32 are mostly round-off).

    Parameters
    ----------
    A : array_like or scipy.sparse matrix, m×m
        The adjacency.
    H0 : array_like or scipy.sparse matrix, m×o_1
        The node features.
    weights : list of array_like
        ``[W^1, ..., W^T]``, W^t of shape o_t×n_t.
    sigma : str, Activation or a list of T of them
        The activation of every layer, or of each.
    biases, masks : list, optional
        As for :func:`gcnlib.forward <gcnlib.recursion.forward>`.
    loss : callable, optional
        ``loss(Z^T) -> (L, e^T)``, e.g. ``lambda Z: gcnlib.softmax_cross_entropy(Z, labels)``.
        By default ``L = ½‖Z^T‖²_F`` (so ``e^T = Z^T``).
    directions : int, optional
        None (default): every entry of every matrix, two forward passes per entry (small
        networks). An integer k: k random directions per matrix instead
        (:func:`directional_check`), for networks too large for the first way.
    eps : float
        The step ε of the differences.
    rng : numpy.random.Generator or int
        Source (or seed) of the random directions.
    max_entries : int
        Checking entry by entry refuses matrices with more entries than this (the message
        says to use ``directions``).

    Returns
    -------
    dict of str to float
        The relative error ``‖G − G_fd‖ / max(‖G‖, ‖G_fd‖)`` of each gradient, keyed
        ``"W^1", ..., "W^T"``, ``"b^t"`` for the layers with a bias, ``"A"``, ``"H0"``.
        With a correct backward pass and smooth activations, each is about 1e-8 or less;
        an estimate whose step crosses 0 in a relu layer (a kink) or an elu layer (a jump in
        the curvature) can be far less accurate.

    Examples
    --------
    >>> import numpy as np, gcnlib
    >>> club = gcnlib.karate_club()
    >>> A = gcnlib.normalize_adjacency(club.A)
    >>> weights = [gcnlib.glorot_uniform((34, 4), 0), gcnlib.glorot_uniform((4, 2), 1)]
    >>> errors = gcnlib.check_gradients(A, np.eye(34), weights, sigma=["tanh", "identity"],
    ...     loss=lambda Z: gcnlib.softmax_cross_entropy(Z, club.labels))
    >>> list(errors), max(errors.values()) < 1e-6
    (['W^1', 'W^2', 'A', 'H0'], True)
    """
    A = recursion.as_adjacency(A).astype(np.float64, copy=False)
    H0 = recursion.as_matrix(H0, "H0", sparse_ok=True).astype(np.float64, copy=False)
    weights = [W.astype(np.float64, copy=False) for W in recursion._check_weights(weights)]
    # the checks of forward, with their messages, before anything is converted to float64
    biases = recursion._check_biases(biases, weights, np.dtype(np.float64))
    masks = recursion._check_masks(masks, H0, weights, np.dtype(np.float64))
    loss = _check_loss(loss)

    def L(A=A, H0=H0, weights=weights, biases=biases) -> float:
        Z_T = recursion.forward(A, H0, weights, sigma, masks=masks, biases=biases).Z[-1]
        return loss(Z_T)[0]

    trace = recursion.forward(A, H0, weights, sigma, masks=masks, biases=biases)
    grads = recursion.backward(trace, loss(trace.Z[-1])[1])
    checks = {}  # name: (L as a function of that matrix, the point, the gradient)
    for t, W in enumerate(weights):
        checks[f"W^{t + 1}"] = (lambda X, t=t: L(weights=_replace(weights, t, X)), W, grads.W[t])
    for t, b in enumerate(biases or []):
        if b is not None:  # a bias as a 1×n_t matrix
            f = lambda x, t=t: L(biases=_replace(biases, t, x[0]))  # noqa: E731
            checks[f"b^{t + 1}"] = (f, b[None, :], grads.b[t][None, :])
    checks["A"] = (lambda X: L(A=X), A, grads.A)
    H0_dense = H0.toarray() if sp.issparse(H0) else H0  # ∂L/∂H^0 is dense even for a sparse H^0
    checks["H0"] = (lambda X: L(H0=X), H0_dense, grads.H0)

    rng = as_generator(rng)
    errors = {}
    for name, (f, X, G) in checks.items():
        if directions is None:
            size = X.nnz if sp.issparse(X) else X.size
            if size > max_entries:
                raise ValueError(
                    f"check_gradients: {name} has {size:,} entries, more than max_entries = "
                    f"{max_entries:,} (two forward passes per entry); pass directions=10 to "
                    f"check along 10 random directions instead"
                )
            errors[name] = relative_error(G, numerical_gradient(f, X, eps))
        else:
            pairs = [directional_check(f, X, G, rng, eps) for _ in range(directions)]
            errors[name] = relative_error([p[0] for p in pairs], [p[1] for p in pairs])
    return errors


def _replace(items: list, t: int, X: Any) -> list:
    """A copy of the list with entry t replaced by X."""
    return [*items[:t], X, *items[t + 1 :]]


def _check_loss(loss: Any) -> Callable:
    """The loss as a function of Z^T returning (L, e^T); by default ½‖Z^T‖²_F."""
    if loss is None:
        return lambda Z: (0.5 * float(np.sum(Z * Z)), Z)
    if not callable(loss):
        raise TypeError(f"loss: expected a function Z -> (L, e_T), got {type(loss).__name__}")

    def checked(Z: np.ndarray) -> tuple[float, np.ndarray]:
        result = loss(Z)
        if not (isinstance(result, tuple) and len(result) == 2):
            raise TypeError(
                "loss must return the pair (L, e_T), as gcnlib's losses do "
                f"(e.g. lambda Z: gcnlib.softmax_cross_entropy(Z, labels)), got {type(result).__name__}"
            )
        return float(result[0]), result[1]

    return checked


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


def numerical_gradient(f: Callable[[Any], float], X: Matrix, eps: float = 1e-6) -> Any:
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
    X: Matrix,
    G: Matrix,
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


def relative_error(a: ArrayLike | sp.spmatrix, b: ArrayLike | sp.spmatrix) -> float:
    r"""The relative distance :math:`\lVert a - b\rVert / \max(\lVert a\rVert, \lVert b\rVert)` of two arrays (Frobenius norms).

    0 for equal inputs (also two zeros), at most 2 always; about 1e-8 or less when a
    gradient agrees with its finite-difference estimate.

    Parameters
    ----------
    a, b : float, array_like or scipy.sparse matrix
        Of the same shape; sparse and dense are compared entry by entry.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If the shapes differ (the message gives both).
    """
    _same_shape("a", a, "b", b)
    if sp.issparse(a) or sp.issparse(b):
        diff = sp.csr_matrix(a, dtype=np.float64) - sp.csr_matrix(b, dtype=np.float64)
        a_norm, b_norm, d_norm = _norm(a), _norm(b), _norm(diff)
    else:
        a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        a_norm, b_norm, d_norm = _norm(a), _norm(b), _norm(a - b)
    return d_norm / max(a_norm, b_norm, np.finfo(np.float64).tiny)
