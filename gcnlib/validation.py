"""Turning user input into checked float matrices.

Every public function of gcnlib passes its inputs through here, so that a wrong input
fails early with a message that names the argument and its shape, instead of deep
inside a matrix product (or, worse, being silently broadcast).

The checks are cheap: a float64/float32 NumPy array that is already 2-D costs one
``sum`` (to detect NaN and infinity) and no copy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any, Union

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike

Matrix = Union[ArrayLike, sp.spmatrix]  # noqa: UP007
"""A dense matrix (anything ``numpy.asarray`` turns into a 2-D array) or a scipy.sparse one."""

__all__ = [
    "as_matrix",
    "as_adjacency",
    "as_vector",
    "as_generator",
    "as_selection",
    "as_list",
    "as_names",
    "float_dtype",
    "is_sparse",
    "detached",
    "fingerprint",
]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def is_sparse(X: Any) -> bool:
    """True if ``X`` is a scipy.sparse matrix or array."""
    return sp.issparse(X)


def float_dtype(*dtypes: np.dtype) -> np.dtype:
    """The float type the computation runs in: float32 only if every input is float32."""
    return np.dtype(np.float32) if all(d == np.float32 for d in dtypes) else np.dtype(np.float64)


def _shape(X: Any) -> str:
    return "×".join(map(str, X.shape))


def _check_dtype(dtype: np.dtype, name: str) -> np.dtype:
    """Float32/float64 are kept, integers and booleans become float64, the rest is refused."""
    if dtype in _FLOATS:
        return dtype
    if dtype.kind in "biuf":
        return np.dtype(np.float64)
    if dtype.kind == "c":
        raise TypeError(f"{name}: complex input (dtype {dtype}) is not supported; gcnlib is real-valued")
    raise TypeError(f"{name}: expected real numbers, got dtype {dtype}")


def _check_finite(values: np.ndarray, name: str, X: Any) -> None:
    if values.size <= 4096:  # small: the element-wise test is cheapest
        finite = np.isfinite(values).all()
    else:  # large: any NaN or ±inf makes the sum non-finite; only then test element-wise
        with np.errstate(over="ignore", invalid="ignore"):  # (a finite sum may overflow)
            finite = np.isfinite(values.sum()) or np.isfinite(values).all()
    if not finite:
        raise ValueError(f"{name} ({_shape(X)}) contains NaN or infinity")


def as_matrix(X: Any, name: str, *, dtype: np.dtype | None = None, sparse_ok: bool = False):
    """Return ``X`` as a checked 2-D float matrix.

    Parameters
    ----------
    X : array_like or scipy.sparse matrix
        A matrix: nested lists, an integer or float array, or (if ``sparse_ok``) a
        scipy.sparse matrix, which stays sparse (as CSR, duplicates summed).
    name : str
        The argument's name, used in error messages (e.g. ``"H0"`` or ``"W^2"``).
    dtype : numpy dtype, optional
        Cast to this float type. By default float32 and float64 are kept and everything
        else real becomes float64.
    sparse_ok : bool
        Whether a scipy.sparse input is accepted.

    Returns
    -------
    ndarray or scipy.sparse CSR matrix
        2-D, float32 or float64, all finite. No copy when none is needed.

    Raises
    ------
    TypeError
        Non-numeric or complex input; a sparse matrix where a dense one is required.
    ValueError
        Ragged lists, not 2-D, NaN or infinity.
    """
    if type(X) is np.ndarray and X.ndim == 2 and X.dtype in _FLOATS and (dtype is None or X.dtype == dtype):
        _check_finite(X, name, X)  # the common case: nothing to convert
        return X
    if sp.issparse(X):
        if not sparse_ok:
            raise TypeError(
                f"{name}: expected a dense array, got a scipy.sparse matrix ({_shape(X)}); use .toarray()"
            )
        return _as_sparse(X, name, dtype)
    if not (type(X) is np.ndarray and X.dtype in _FLOATS):
        try:
            X = np.asarray(X)
        except (ValueError, TypeError) as err:  # ragged nested lists
            raise ValueError(f"{name}: not a rectangular matrix ({err})") from None
        if X.dtype == object:
            raise TypeError(f"{name}: expected real numbers, got objects (ragged lists or non-numbers?)")
    target = _check_dtype(X.dtype, name)
    if dtype is not None:
        target = np.dtype(dtype)
    if X.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D matrix, got {X.ndim}-D array of shape {X.shape}")
    if X.dtype != target:
        X = X.astype(target)
    _check_finite(X, name, X)
    return X


def _as_sparse(X: Any, name: str, dtype: np.dtype | None):
    target = _check_dtype(X.dtype, name)
    if dtype is not None:
        target = np.dtype(dtype)
    if X.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D matrix, got {X.ndim}-D sparse array of shape {X.shape}")
    if X.format != "csr":
        X = X.tocsr()
    if X.dtype != target:
        X = X.astype(target)
    if not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
    _check_finite(X.data, name, X)
    return X


def as_vector(x: Any, name: str, length: int, *, dtype: np.dtype | None = None) -> np.ndarray:
    """Return ``x`` as a checked 1-D float vector of the given length (a bias ``b^t``).

    Raises
    ------
    ValueError
        If ``x`` is not 1-D of length ``length`` (the message gives both), or holds NaN or
        infinity.
    TypeError
        For non-numeric or complex input, or a sparse matrix.
    """
    if sp.issparse(x):
        raise TypeError(f"{name}: expected a 1-D vector of length {length}, got a scipy.sparse matrix")
    try:
        x = np.asarray(x)
    except (ValueError, TypeError) as err:
        raise ValueError(f"{name}: not a vector ({err})") from None
    if x.dtype == object:
        raise TypeError(f"{name}: expected real numbers, got objects")
    target = _check_dtype(x.dtype, name)  # refuses complex numbers and non-numbers
    if dtype is not None:
        target = np.dtype(dtype)
    if x.shape != (length,):
        raise ValueError(
            f"{name} has shape {x.shape} but must be a 1-D vector of length {length} (one entry per "
            f"column of Z)"
        )
    x = x.astype(target, copy=False)
    if not np.isfinite(x).all():
        raise ValueError(f"{name} (length {length}) contains NaN or infinity")
    return x


def as_adjacency(A: Any, *, dtype: np.dtype | None = None, name: str = "A"):
    """Return the adjacency ``A`` (m×m, dense or scipy.sparse) checked, sparse kept sparse.

    Raises
    ------
    ValueError
        If ``A`` is not square (the message gives its shape), or for any error of
        :func:`as_matrix`.
    """
    A = as_matrix(A, name, dtype=dtype, sparse_ok=True)
    if A.shape[0] != A.shape[1]:
        raise ValueError(f"{name}: the adjacency must be square (m×m), got shape {_shape(A)}")
    return A


def _buffers(X: Any) -> list:
    """The NumPy arrays behind X: itself, or a sparse matrix's values and index arrays."""
    if sp.issparse(X):
        names = ("data", "indices", "indptr", "row", "col", "offsets")
        return [a for a in (getattr(X, n, None) for n in names) if isinstance(a, np.ndarray)]
    if isinstance(X, np.ndarray):
        return [X]
    if hasattr(X, "__array__") or hasattr(X, "__array_interface__"):  # e.g. a pandas DataFrame
        return [np.asarray(X)]
    return []  # nested lists: whatever was made of them is new


def detached(X: Any, original: Any):
    """``X`` itself if it shares no memory with ``original``, else a copy of ``X``.

    ``X`` is what a check made of the caller's argument ``original`` (often ``original``
    itself). gcnlib keeps such matrices for later (the :class:`~gcnlib.recursion.Trace` of
    the forward pass keeps ``A``, ``H^0`` and the weights for the backward pass); a private
    copy means that changing the caller's array in place afterwards, as an optimiser does
    with the weights, cannot change a result computed later. The copy is made only when
    the check did not already make one.
    """
    if X is original:
        return X.copy()
    theirs = _buffers(original)
    if any(np.may_share_memory(a, b) for a in _buffers(X) for b in theirs):
        return X.copy()
    return X


@lru_cache(maxsize=64)
def _fingerprint_weights(n: int, dtype: np.dtype) -> np.ndarray:
    """n fixed weights in [1, 2), all distinct: 1 + frac(j φ) for j = 0..n-1, φ the golden ratio."""
    v = 1 + (np.arange(n) * 0.6180339887498949) % 1
    v = v.astype(dtype)
    v.flags.writeable = False
    return v


def fingerprint(X: Any) -> tuple:
    """What it takes to tell later whether the matrix ``X`` (m×n) was changed in place.

    A small ``X`` (up to 4096 stored numbers) is remembered exactly: its bytes, which cost
    less to copy than any checksum does to compute. For a larger one, its row sums
    weighted by fixed distinct weights. An unchanged ``X`` gives the same result again;
    a change changes it unless it keeps every weighted row sum: scaling, overwriting,
    adding to or swapping entries do change it (the tests check such changes down to one
    part in 10¹²), but a change below round-off, or one crafted to keep each row's
    weighted sum, would go unnoticed. It is a checksum, not a proof. It costs one pass over
    the stored numbers and no BLAS call (BLAS may round differently with another number
    of threads), so the same matrix always gives the same bytes. The shape and, for a
    sparse ``X``, the number of stored entries are part of it.
    """
    if sp.issparse(X):
        if X.nnz <= 4096:
            return X.shape, X.data.tobytes(), X.indices.tobytes(), X.indptr.tobytes()
        v = _fingerprint_weights(X.shape[1], np.dtype(np.float64))
        return X.shape, X.nnz, np.asarray(X @ v).tobytes()  # scipy: one sequential pass
    if X.size <= 4096:
        return X.shape, X.tobytes()
    v = _fingerprint_weights(X.shape[1], X.dtype)
    return X.shape, np.einsum("ij,j->i", X, v).tobytes()  # NumPy's own loop, not BLAS


def as_generator(rng: Any, name: str = "rng") -> np.random.Generator:
    """A NumPy random generator from a generator or an integer seed.

    Parameters
    ----------
    rng : numpy.random.Generator, int or None
        A generator is returned as it is (drawing from it advances its state); an integer
        ``s ≥ 0`` gives ``np.random.default_rng(s)``, the same numbers on every run; None
        gives a generator seeded from the operating system, different on every run.
    name : str
        The argument's name, for error messages.

    Raises
    ------
    TypeError
        For anything else (a float, a string, the legacy ``np.random.RandomState``).
    ValueError
        For a negative seed.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, (int, np.integer)) and not isinstance(rng, bool)):
        if rng is not None and rng < 0:
            raise ValueError(f"{name}: a seed must be an integer ≥ 0, got {rng}")
        return np.random.default_rng(rng)
    raise TypeError(
        f"{name}: expected a numpy.random.Generator (e.g. np.random.default_rng(0)) or an integer "
        f"seed, got {type(rng).__name__}"
    )


def as_selection(selection: Any, m: int, name: str, *, unit: str = "row", of: str = "Z") -> np.ndarray:
    """The boolean vector (length m) of the rows a selection picks.

    Parameters
    ----------
    selection : array_like
        Either a boolean mask of shape ``(m,)`` (True for a selected row) or a 1-D
        sequence of distinct integer row indices in ``[0, m)``; the two are interchangeable.
        A 0/1 *integer* array is read as indices, not as a mask, so one of length m > 2
        repeats an index and is refused with a hint to pass ``mask.astype(bool)``.
    m : int
        The number of rows to choose from.
    name : str
        The argument's name, for error messages (e.g. ``"mask"`` or ``"idx_train"``).
    unit, of : str
        What a row is and whose rows they are, for messages (``"node"``, ``"the graph"``).

    Raises
    ------
    ValueError
        A boolean mask of another length, an index out of range or repeated, or a selection
        of no row (a mean over it would be undefined).
    TypeError
        Neither booleans nor integers (e.g. float indices).
    """
    selection = np.asarray(selection)
    if selection.size == 0 or (selection.dtype == bool and selection.shape == (m,) and not selection.any()):
        count = f"the {m} {unit}s of {of}" if m else f"{of}, which has no {unit}s (an empty graph)"
        raise ValueError(f"{name}: selects no {unit} of {count}; at least one {unit} is needed")
    if selection.dtype == bool:
        if selection.shape != (m,):
            raise ValueError(
                f"{name}: a boolean mask must have shape ({m},), one entry per {unit} of {of}, "
                f"got shape {selection.shape}"
            )
        return selection
    if np.issubdtype(selection.dtype, np.integer) and selection.ndim == 1:
        if selection.min() < 0 or selection.max() >= m:
            raise ValueError(
                f"{name}: {unit} indices must lie in [0, {m}) for {of} with {m} {unit}s, "
                f"got values from {selection.min()} to {selection.max()}"
            )
        values, counts = np.unique(selection, return_counts=True)
        if counts.max() > 1:
            repeated = int(values[counts.argmax()])
            hint = (
                f"; a 0/1 integer array is read as {unit} indices, not as a mask: pass {name}.astype(bool)"
                if set(values.tolist()) <= {0, 1}
                else ""
            )
            raise ValueError(
                f"{name}: {unit} index {repeated} appears {counts.max()} times; the indices must be "
                f"distinct{hint}"
            )
        selected = np.zeros(m, dtype=bool)
        selected[selection] = True
        return selected
    raise TypeError(
        f"{name}: expected a boolean mask of shape ({m},) or a 1-D array of integer {unit} indices, "
        f"got dtype {selection.dtype} and shape {selection.shape}"
    )


def as_list(values: Any, name: str, expected: str, *, array_hint: str = "") -> list:
    """``values`` as a list, for an argument that takes one entry per layer (weights, biases, masks).

    Refuses, naming ``name`` and saying what was ``expected``: one array (``array_hint`` may add
    how to wrap it), a dict (its keys would be taken for the entries), a string and anything that
    is not iterable.
    """
    if isinstance(values, np.ndarray) or sp.issparse(values):
        raise TypeError(f"{name}: expected {expected}, got one array of shape {values.shape}{array_hint}")
    if isinstance(values, Mapping):
        raise TypeError(
            f"{name}: expected {expected}, got a {type(values).__name__}; "
            f"pass list({name}.values()) in the order of the layers"
        )
    if isinstance(values, str):
        raise TypeError(f"{name}: expected {expected}, got a str")
    try:
        return list(values)
    except TypeError:
        raise TypeError(f"{name}: expected {expected}, got {type(values).__name__}") from None


def as_names(wrt: Any, choices: Sequence[str], name: str = "wrt") -> frozenset:
    """The set of gradient names ``wrt`` asks for: one name or an iterable of names, each in ``choices``.

    Raises
    ------
    ValueError
        A name not among ``choices``; the message lists the choices.
    TypeError
        Neither a name nor an iterable of names (e.g. a number).
    """
    try:
        wanted = frozenset((wrt,) if isinstance(wrt, str) else wrt)
    except TypeError:
        raise TypeError(
            f"{name}: expected a gradient name or a list of names from {list(choices)}, "
            f"got {type(wrt).__name__}"
        ) from None
    unknown = wanted - set(choices)
    if unknown:
        raise ValueError(f"{name}: unknown gradient(s) {sorted(unknown)}; choose from {list(choices)}")
    return wanted
