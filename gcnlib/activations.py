"""Element-wise activations, each beside its derivative.

A layer computes ``H = sigma(Z)`` entry by entry, so its Jacobian is diagonal and the
backward pass only needs the numbers ``sigma'(Z)``, multiplied in with a Hadamard
product: ``e^t = (...) ⊙ sigma'(Z^t)``.

Every derivative ``df(Z, H)`` receives both ``Z`` and ``H = sigma(Z)``: for tanh and
the sigmoid the derivative is cheaper to write with ``H`` (``1 - H²``, ``H(1 - H)``),
which the forward pass has already computed.

All functions keep the dtype of ``Z`` (float32 stays float32).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import erf

__all__ = ["Activation", "ACTIVATIONS", "get_activation", "LEAKY_RELU_SLOPE", "ELU_ALPHA"]

Array = np.ndarray


@dataclass(frozen=True)
class Activation:
    """An element-wise function paired with its derivative.

    Attributes
    ----------
    name : str
        Short name, e.g. ``"tanh"``.
    f : callable
        ``f(Z) -> H``, applied entry by entry; ``Z`` and ``H`` are m×n.
    df : callable
        ``df(Z, H) -> sigma'(Z)``, m×n, given ``Z`` and ``H = f(Z)``.

    Examples
    --------
    A reader's own activation, the cube:

    >>> cube = Activation("cube", lambda Z: Z**3, lambda Z, H: 3 * Z**2)
    """

    name: str
    f: Callable[[Array], Array]
    df: Callable[[Array, Array], Array]


# --- the functions -----------------------------------------------------------------
# Stable forms: sigmoid(z) = (1 + tanh(z/2)) / 2 never overflows, and
# softplus(z) = log(1 + e^z) = logaddexp(0, z) never overflows either.

LEAKY_RELU_SLOPE = 0.01
r"""The slope of ``leaky_relu`` for negative arguments, 0.01.

``leaky_relu`` is :math:`z` for :math:`z > 0` and :math:`0.01\,z` otherwise.
"""

ELU_ALPHA = 1.0
r"""The :math:`\alpha` of ``elu`` (Clevert et al., 2016), 1.

``elu`` is :math:`z` for :math:`z > 0` and :math:`\alpha\,(e^z - 1)` otherwise.
"""


def _sigmoid(Z: Array) -> Array:
    H = np.multiply(Z, 0.5)
    np.tanh(H, out=H)
    H += 1
    H *= 0.5
    return H


def _one_minus_square(Z: Array, H: Array) -> Array:
    D = np.square(H)
    np.subtract(1, D, out=D)
    return D


def _relu_step(Z: Array, H: Array) -> Array:
    return (Z > 0).astype(Z.dtype)


def _leaky_relu(Z: Array) -> Array:
    return np.where(Z > 0, Z, LEAKY_RELU_SLOPE * Z)


def _leaky_step(Z: Array, H: Array) -> Array:
    return np.where(Z > 0, 1.0, LEAKY_RELU_SLOPE).astype(Z.dtype)


def _elu(Z: Array) -> Array:
    # expm1 of min(Z, 0): exact near 0, and never overflows for large positive Z
    return np.where(Z > 0, Z, ELU_ALPHA * np.expm1(np.minimum(Z, 0)))


def _elu_step(Z: Array, H: Array) -> Array:
    # for z ≤ 0, d/dz α(exp(z) − 1) = α exp(z) = H + α
    return np.where(Z > 0, 1.0, H + ELU_ALPHA).astype(Z.dtype)


def _gaussian_cdf(Z: Array) -> Array:
    return (0.5 * (1 + erf(Z / np.sqrt(2)))).astype(Z.dtype, copy=False)


def _gelu(Z: Array) -> Array:
    # exact GELU (Hendrycks & Gimpel, 2016): z Φ(z), Φ the standard normal distribution function
    return Z * _gaussian_cdf(Z)


def _gelu_slope(Z: Array, H: Array) -> Array:
    # d/dz z Φ(z) = Φ(z) + z φ(z), φ(z) = exp(−z²/2) / sqrt(2π) the standard normal density
    density = np.exp(-0.5 * np.square(Z)) / np.sqrt(2 * np.pi)
    return (_gaussian_cdf(Z) + Z * density).astype(Z.dtype, copy=False)


# --- the table: each function beside its derivative --------------------------------

ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in [
        #          name          f(Z) = H                         df(Z, H) = sigma'(Z)
        Activation("identity",   lambda Z: Z,                     lambda Z, H: np.ones_like(Z)),
        Activation("sigmoid",    _sigmoid,                        lambda Z, H: H * (1 - H)),
        Activation("tanh",       np.tanh,                         _one_minus_square),
        Activation("relu",       lambda Z: np.maximum(Z, 0),      _relu_step),
        Activation("leaky_relu", _leaky_relu,                     _leaky_step),
        Activation("softplus",   lambda Z: np.logaddexp(0, Z),    lambda Z, H: _sigmoid(Z)),
        Activation("elu",        _elu,                            _elu_step),
        Activation("gelu",       _gelu,                           _gelu_slope),
    ]
}  # fmt: skip
r"""The built-in activations by name, each function beside its derivative.

Any of these names can be given as ``sigma`` (for all layers or for one); a function of your
own goes in as an :class:`Activation`. Below, :math:`s` is the logistic sigmoid, :math:`\Phi`
and :math:`\varphi` are the standard normal distribution function and density, and
:math:`h = \sigma(z)`, which ``df`` receives as ``H``.

.. list-table::
   :header-rows: 1

   * - name
     - :math:`\sigma(z)`
     - :math:`\sigma'(z)`, as ``df`` computes it
   * - ``identity``
     - :math:`z`
     - :math:`1`
   * - ``sigmoid``
     - :math:`s(z) = 1/(1 + e^{-z})`
     - :math:`h\,(1 - h)`
   * - ``tanh``
     - :math:`\tanh z`
     - :math:`1 - h^2`
   * - ``relu``
     - :math:`\max(z, 0)`
     - :math:`1` if :math:`z > 0`, else :math:`0`
   * - ``leaky_relu``
     - :math:`z` if :math:`z > 0`, else :math:`0.01\,z`
     - :math:`1` if :math:`z > 0`, else :math:`0.01`
   * - ``softplus``
     - :math:`\log(1 + e^z)`
     - :math:`s(z)`
   * - ``elu``
     - :math:`z` if :math:`z > 0`, else :math:`\alpha\,(e^z - 1)`
     - :math:`1` if :math:`z > 0`, else :math:`h + \alpha`
   * - ``gelu``
     - :math:`z\,\Phi(z)` (the exact form, not the tanh approximation)
     - :math:`\Phi(z) + z\,\varphi(z)`

:data:`LEAKY_RELU_SLOPE` (0.01) is the slope of leaky_relu and :data:`ELU_ALPHA` (1) the
:math:`\alpha` of elu. At :math:`z = 0`, where relu and leaky_relu have a kink, the table
takes the derivative from the left.

:meta hide-value:
"""


def get_activation(sigma: str | Activation) -> Activation:
    """Return the activation named ``sigma``, or ``sigma`` itself if it is an Activation.

    Parameters
    ----------
    sigma : str or Activation
        A key of ``ACTIVATIONS`` or an ``Activation(name, f, df)``.

    Raises
    ------
    ValueError
        For an unknown name; the message lists the valid ones.
    TypeError
        For anything that is neither a string nor an Activation.
    """
    if isinstance(sigma, Activation):
        return sigma
    if isinstance(sigma, str):
        try:
            return ACTIVATIONS[sigma]
        except KeyError:
            valid = ", ".join(sorted(ACTIVATIONS))
            raise ValueError(f"sigma: unknown activation {sigma!r}; valid names: {valid}") from None
    raise TypeError(
        f"sigma: expected an activation name (str) or a gcnlib.Activation, got {type(sigma).__name__}"
    )
