"""gcnlib: the backward pass of a graph convolutional network, by hand.

The forward recursion, for layers t = 1..T::

    Z^t = A H^{t-1} W^t,    H^t = sigma(Z^t)

and the backward recursion the book derives, with e^t = dL/dZ^t::

    e^t = (A^T e^{t+1} (W^{t+1})^T) ⊙ sigma'(Z^t)
"""

__version__ = "0.1.0"

from .activations import *  # noqa: F401,F403
from .attention import *  # noqa: F401,F403
from .datasets import *  # noqa: F401,F403
from .finite_differences import *  # noqa: F401,F403
from .graphs import *  # noqa: F401,F403
from .index_notation import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .products import *  # noqa: F401,F403
from .recursion import *  # noqa: F401,F403
from .renormalization import *  # noqa: F401,F403
from .training import *  # noqa: F401,F403


def __getattr__(name: str):
    if name == "gradcheck":  # a PyTorch habit (torch.autograd.gradcheck): say where to look
        raise AttributeError(
            "gcnlib has no gradcheck function: gcnlib.check_gradients(A, H0, weights, ...) checks every "
            "gradient of a network; numerical_gradient, directional_check and relative_error check one"
        )
    raise AttributeError(f"module 'gcnlib' has no attribute {name!r}")
