"""The two products of matrix calculus: Frobenius ``A:B`` and Hadamard ``A ⊙ B``.

The Frobenius product turns two matrices of the same shape into a number,

    A:B = tr(AᵀB) = Σ_ij A_ij B_ij,

and is how the book writes a differential: ``dL = G:dX`` says that ``G`` is the gradient
of the scalar ``L`` with respect to the matrix ``X``.

The Hadamard product multiplies entry by entry, ``(A ⊙ B)_ij = A_ij B_ij``; it is how an
element-wise activation enters the backward pass, ``e^t = (...) ⊙ σ'(Z^t)``.

Both products require operands of exactly the same shape: nothing is broadcast.
Either operand may be a ``scipy.sparse`` matrix (the gradient with respect to a sparse
adjacency is one); the work is then done on its stored entries only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .validation import Matrix

__all__ = ["frobenius", "hadamard"]


def _checked(name: str, X: Any) -> Any:
    """Return ``X`` as a real numeric NumPy array, or unchanged if it is scipy.sparse."""
    if sp.issparse(X):
        return X
    X = np.asarray(X)
    if not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise TypeError(f"{name}: expected a numeric array, got dtype {X.dtype} of shape {X.shape}")
    if np.iscomplexobj(X):
        raise TypeError(
            f"{name}: complex input (dtype {X.dtype}, shape {X.shape}) is not supported; "
            f"gcnlib is real-valued"
        )
    return X


def _entrywise(op: str, A: Any, B: Any) -> Any:
    """The checked entry-by-entry product of A and B, sparse if either operand is sparse."""
    A, B = _checked(f"{op}: A", A), _checked(f"{op}: B", B)
    if A.shape != B.shape:
        raise ValueError(
            f"{op}: A and B must have the same shape, got A {A.shape} and B {B.shape} (nothing is broadcast)"
        )
    if sp.issparse(A):
        return A.multiply(B)
    if sp.issparse(B):
        return B.multiply(A)
    return A * B


def frobenius(A: Matrix, B: Matrix) -> float:
    """The Frobenius product ``A:B = tr(AᵀB) = Σ_ij A_ij B_ij``.

    Parameters
    ----------
    A, B : array_like or scipy.sparse matrix, same shape (for instance m×n)

    Returns
    -------
    float
        The number ``A:B``.

    Raises
    ------
    ValueError
        If the shapes differ (the message names both).
    TypeError
        If an operand is not real and numeric.

    Examples
    --------
    >>> frobenius([[1, 2], [3, 4]], [[1, 0], [0, 1]])   # = tr(A), since B = I
    5.0
    """
    return float(_entrywise("frobenius", A, B).sum())


def hadamard(A: Matrix, B: Matrix) -> Any:
    """The Hadamard (entry-by-entry) product ``(A ⊙ B)_ij = A_ij B_ij``.

    Parameters
    ----------
    A, B : array_like or scipy.sparse matrix, same shape (for instance m×n)

    Returns
    -------
    ndarray or scipy.sparse CSR matrix, same shape
        ``A ⊙ B``; sparse if either operand is sparse (a zero in one operand
        stays a zero in the product).

    Raises
    ------
    ValueError
        If the shapes differ (the message names both).
    TypeError
        If an operand is not real and numeric.

    Examples
    --------
    >>> hadamard([[1, 2], [3, 4]], [[10, 0], [0, 10]])
    array([[10,  0],
           [ 0, 40]])
    """
    product = _entrywise("hadamard", A, B)
    return product.tocsr() if sp.issparse(product) else product
