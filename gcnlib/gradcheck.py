"""The former name of :mod:`gcnlib.finite_differences`, kept so that old imports still work.

``from gcnlib.gradcheck import numerical_gradient`` imports the same function as
``from gcnlib import numerical_gradient``. New code uses the package's names directly;
the check of a whole network is :func:`gcnlib.check_gradients`.
"""

from .finite_differences import *  # noqa: F401,F403
from .finite_differences import __all__  # noqa: F401
