"""The backward pass in index notation: 4th-order Jacobians, built literally with ``np.einsum``.

This is the route a student first tries. Write the chain rule entry by entry,

    e^{t-1}_pq = Σ_ij Σ_kl  e^t_ij  ∂Z^t_ij/∂H^{t-1}_kl  ∂H^{t-1}_kl/∂Z^{t-1}_pq,

with the two Jacobians of one layer

    ∂Z^t_ij/∂H^{t-1}_kl     = A_ik W^t_lj                (from Z^t = A H^{t-1} W^t),
    ∂H^{t-1}_kl/∂Z^{t-1}_pq = σ'(Z^{t-1}_pq) δ_kp δ_lq   (σ acts entry by entry),

and contract. The functions below build these tensors as arrays and do exactly that. The
result equals the matrix recursion ``e^{t-1} = (Aᵀ e^t W^{tT}) ⊙ σ'(Z^{t-1})`` of
:func:`gcnlib.backward <gcnlib.recursion.backward>` to round-off, but a Jacobian ∂Z/∂H has
m·n·m·o entries: at m = 1000 and widths 16 that is 256 million numbers, nearly 2 GiB. Every function
therefore estimates the memory first and refuses, with the size in MiB, anything above
``max_bytes`` (256 MiB unless told otherwise). Use them to see the indices at work on
small graphs, never to train.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .activations import Activation, get_activation
from .recursion import Trace
from .validation import as_matrix, float_dtype

__all__ = ["dZ_dH", "dH_dZ", "dZ_dW", "backward_index"]

MAX_BYTES: int = 256 * 2**20
"""Default memory limit for the materialised Jacobians: 256 MiB."""

MiB = 2**20


# --- the size guard ------------------------------------------------------------------


def _shape(shape: tuple[int, ...]) -> str:
    return "×".join(map(str, shape))


def _mib(n_bytes: int) -> str:
    """A size in MiB, readable both for 2 GiB and for a few kilobytes."""
    if n_bytes >= MiB / 10:
        return f"{n_bytes / MiB:,.1f} MiB"
    return f"{n_bytes / MiB:.2g} MiB ({n_bytes:,} bytes)"


def _guard(who: str, tensors: dict[str, tuple[int, ...]], dtype: np.dtype, max_bytes: int) -> None:
    """Refuse, before building anything, tensors whose total size exceeds ``max_bytes``."""
    n_bytes = sum(int(np.prod(shape, dtype=object)) for shape in tensors.values()) * dtype.itemsize
    if n_bytes > max_bytes:
        listed = " and ".join(f"{name} ({_shape(shape)})" for name, shape in tensors.items())
        noun = "Jacobian" if len(tensors) == 1 else "Jacobians"
        raise ValueError(
            f"{who}: the {noun} {listed} would need {_mib(n_bytes)} of "
            f"{dtype}, above the limit max_bytes = {_mib(max_bytes)}. Index notation "
            f"is for small sizes: use gcnlib.backward (which never forms these tensors), or "
            f"pass a larger max_bytes if the memory is there"
        )


def _dense_square(A: Any, who: str) -> np.ndarray:
    if sp.issparse(A):
        raise TypeError(
            f"{who}: index notation needs a dense A, got a scipy.sparse matrix of shape "
            f"{A.shape}; use A.toarray() on a small graph, or gcnlib.backward"
        )
    A = as_matrix(A, "A")
    if A.shape[0] != A.shape[1]:
        raise ValueError(f"{who}: the adjacency A must be square (m×m), got shape {A.shape}")
    return A


# --- the three Jacobians -------------------------------------------------------------


def dZ_dH(A: Any, W: Any, *, max_bytes: int = MAX_BYTES) -> np.ndarray:
    """The Jacobian of ``Z = A H W`` with respect to ``H``: ``∂Z_ij/∂H_kl = A_ik W_lj``.

    Parameters
    ----------
    A : array_like, m×m
        Dense adjacency.
    W : array_like, o×n
        Weights; ``H`` is m×o and ``Z`` is m×n.
    max_bytes : int, optional
        Refuse if the tensor would need more memory than this.

    Returns
    -------
    ndarray, shape (m, n, m, o)
        ``J[i, j, k, l] = ∂Z_ij/∂H_kl``. float32 if A and W are, else float64.

    Raises
    ------
    TypeError
        For a sparse ``A`` (dense only) or non-numeric input.
    ValueError
        For a non-square ``A``, a non-2-D input, or a tensor above ``max_bytes``.

    Examples
    --------
    >>> J = dZ_dH([[0, 1], [1, 0]], [[2, 3]])   # m = 2, o = 1, n = 2
    >>> J.shape, float(J[0, 1, 1, 0])            # ∂Z_01/∂H_10 = A_01 W_01 = 1·3
    ((2, 2, 2, 1), 3.0)
    """
    A = _dense_square(A, "dZ_dH")
    W = as_matrix(W, "W")
    (m, _), (o, n) = A.shape, W.shape
    dtype = float_dtype(A.dtype, W.dtype)
    _guard("dZ_dH", {"∂Z/∂H": (m, n, m, o)}, dtype, max_bytes)
    return np.einsum("ik,lj->ijkl", A.astype(dtype), W.astype(dtype))


def dH_dZ(Z: Any, activation: str | Activation, H: Any = None, *, max_bytes: int = MAX_BYTES) -> np.ndarray:
    """The Jacobian of ``H = σ(Z)`` (entry by entry): ``∂H_kl/∂Z_pq = σ'(Z_pq) δ_kp δ_lq``.

    It is zero except where (k, l) = (p, q): a 4th-order tensor holding only the m·n
    numbers σ'(Z), which is why the matrix form needs just a Hadamard product.

    Parameters
    ----------
    Z : array_like, m×n
        Pre-activation.
    activation : str or Activation
        σ, a name in ``gcnlib.ACTIVATIONS`` or an ``Activation``.
    H : array_like, m×n, optional
        ``σ(Z)`` if already computed; computed here otherwise.
    max_bytes : int, optional
        Refuse if the tensor would need more memory than this.

    Returns
    -------
    ndarray, shape (m, n, m, n)
        ``J[k, l, p, q] = ∂H_kl/∂Z_pq`` (dtype of ``Z``).

    Raises
    ------
    ValueError
        If ``H`` is given with a shape other than that of ``Z``, or the tensor is above
        ``max_bytes``; for an unknown activation name.

    Examples
    --------
    >>> J = dH_dZ([[0.0, 1.0]], "relu")
    >>> J.shape, float(J[0, 1, 0, 1]), float(J[0, 0, 0, 1])
    ((1, 2, 1, 2), 1.0, 0.0)
    """
    act = get_activation(activation)
    Z = as_matrix(Z, "Z")
    m, n = Z.shape
    _guard("dH_dZ", {"∂H/∂Z": (m, n, m, n)}, Z.dtype, max_bytes)
    if H is None:
        H = act.f(Z)
    H = as_matrix(H, "H", dtype=Z.dtype)
    if H.shape != Z.shape:
        raise ValueError(f"dH_dZ: H = σ(Z) must have the shape of Z {Z.shape}, got {H.shape}")
    sigma_prime = np.asarray(act.df(Z, H), dtype=Z.dtype)
    I_m, I_n = np.eye(m, dtype=Z.dtype), np.eye(n, dtype=Z.dtype)
    return np.einsum("pq,kp,lq->klpq", sigma_prime, I_m, I_n)


def dZ_dW(A: Any, H: Any, n: int, *, max_bytes: int = MAX_BYTES) -> np.ndarray:
    """The Jacobian of ``Z = A H W`` with respect to ``W``: ``∂Z_ij/∂W_kl = (AH)_ik δ_jl``.

    Contracting it with ``e = ∂L/∂Z`` gives the weight gradient by the index route,
    ``∂L/∂W_kl = Σ_ij e_ij (AH)_ik δ_jl = ((AH)ᵀ e)_kl``.

    Parameters
    ----------
    A : array_like, m×m
        Dense adjacency.
    H : array_like, m×o
        Layer input.
    n : int
        Number of columns of ``W`` (o×n) and of ``Z`` (m×n); ``A`` and ``H`` do not fix it.
    max_bytes : int, optional
        Refuse if the tensor would need more memory than this.

    Returns
    -------
    ndarray, shape (m, n, o, n)
        ``J[i, j, k, l] = ∂Z_ij/∂W_kl``.

    Raises
    ------
    TypeError
        For a sparse ``A`` or ``H``, or a non-integer ``n``.
    ValueError
        If ``A`` is not square, ``H`` has not m rows, ``n`` < 1, or the tensor is above
        ``max_bytes``.

    Examples
    --------
    >>> J = dZ_dW([[1.0, 0.0], [0.0, 1.0]], [[5.0], [7.0]], n=3)   # A = I, o = 1
    >>> J.shape, float(J[1, 2, 0, 2]), float(J[1, 2, 0, 1])       # (AH)_10 = 7
    ((2, 3, 1, 3), 7.0, 0.0)
    """
    A = _dense_square(A, "dZ_dW")
    if sp.issparse(H):
        raise TypeError(f"dZ_dW: H must be dense here, got a scipy.sparse matrix of shape {H.shape}")
    H = as_matrix(H, "H")
    if H.shape[0] != A.shape[0]:
        raise ValueError(f"dZ_dW: H has shape {H.shape} but A is {A.shape}: H needs {A.shape[0]} rows")
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
        raise TypeError(f"dZ_dW: n (the number of columns of W) must be an int, got {n!r}")
    if n < 1:
        raise ValueError(f"dZ_dW: n (the number of columns of W) must be ≥ 1, got {n}")
    (m, o), dtype = H.shape, float_dtype(A.dtype, H.dtype)
    _guard("dZ_dW", {"∂Z/∂W": (m, n, o, n)}, dtype, max_bytes)
    AH = A.astype(dtype) @ H.astype(dtype)
    return np.einsum("ik,jl->ijkl", AH, np.eye(n, dtype=dtype))


# --- the backward pass, contracted index by index ------------------------------------


def backward_index(trace: Trace, e_T: Any, *, max_bytes: int = MAX_BYTES) -> list:
    """``[e^1, ..., e^T]`` by contracting the materialised Jacobians, layer by layer.

    For t = T, ..., 2::

        e^{t-1}_pq = Σ_ij Σ_kl  e^t_ij  ∂Z^t_ij/∂H^{t-1}_kl  ∂H^{t-1}_kl/∂Z^{t-1}_pq

    taken in two contractions: first over (i, j), which gives ``∂L/∂H^{t-1}_kl``, then
    over (k, l). It is meant to be compared with
    :func:`gcnlib.backward <gcnlib.recursion.backward>`, not to replace it.

    Only a **dense** ``A`` and a forward pass **without dropout masks** are supported.

    Parameters
    ----------
    trace : Trace
        The result of :func:`gcnlib.forward <gcnlib.recursion.forward>` with a dense ``A``
        and ``masks=None``.
    e_T : array_like, m×n_T
        ``∂L/∂Z^T``, of the shape of ``Z^T``.
    max_bytes : int, optional
        Refuse (before any work) if the two Jacobians of one layer together would need more
        memory than this.

    Returns
    -------
    list of ndarray
        ``[e^1, ..., e^T]``, ``e^t`` m×n_t, dtype of the trace.

    Raises
    ------
    TypeError
        If ``trace`` is not a Trace, or its ``A`` is sparse.
    ValueError
        If the trace used dropout masks, ``e_T`` has not the shape of ``Z^T``, or the
        Jacobians exceed ``max_bytes`` (the message gives their shapes and the size in MiB).
    """
    if not isinstance(trace, Trace):
        raise TypeError(f"backward_index: expected the Trace of gcnlib.forward, got {type(trace).__name__}")
    if sp.issparse(trace.A):
        raise TypeError(
            f"backward_index: index notation supports a dense A only, but the trace holds a "
            f"scipy.sparse A of shape {trace.A.shape}; run forward with A.toarray() on a small graph"
        )
    if trace.masks is not None and any(M is not None for M in trace.masks):
        raise ValueError("backward_index: dropout masks are not supported; run forward with masks=None")
    Z_T = trace.Z[-1]
    e_T = as_matrix(e_T, "e_T", dtype=Z_T.dtype)
    if e_T.shape != Z_T.shape:
        raise ValueError(f"backward_index: e_T has shape {e_T.shape} but Z^T is {Z_T.shape}")

    A, T, m = trace.A, len(trace.Z), trace.A.shape[0]
    for t in range(T, 1, -1):  # check every layer before building anything
        o, n = trace.weights[t - 1].shape
        _guard(
            "backward_index",
            {f"∂Z^{t}/∂H^{t - 1}": (m, n, m, o), f"∂H^{t - 1}/∂Z^{t - 1}": (m, o, m, o)},
            Z_T.dtype,
            max_bytes,
        )

    e = [None] * T
    e[T - 1] = e_T
    for t in range(T, 1, -1):  # Python list index t - 1 holds layer t
        Z_prev, H_prev, W = trace.Z[t - 2], trace.H[t - 1], trace.weights[t - 1]
        dZt_dH = dZ_dH(A, W, max_bytes=max_bytes)  # (m, n_t, m, o_t)
        dH_dZprev = dH_dZ(Z_prev, trace.activation, H_prev, max_bytes=max_bytes)  # (m, o_t, m, o_t)
        dL_dH = np.einsum("ij,ijkl->kl", e[t - 1], dZt_dH)  # Σ_ij e^t_ij ∂Z^t_ij/∂H^{t-1}_kl
        e[t - 2] = np.einsum("kl,klpq->pq", dL_dH, dH_dZprev)  # Σ_kl (...) ∂H^{t-1}_kl/∂Z^{t-1}_pq
    return e
