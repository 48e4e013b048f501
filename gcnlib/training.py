"""Training a GCN with the hand-derived backward pass: Kipf & Welling's semi-supervised setting.

The pieces, each a few lines:

* :func:`glorot_uniform` draws the initial weights (Glorot & Bengio, 2010).
* :func:`dropout_mask` and :func:`sparse_dropout` implement dropout (Srivastava et al., 2014) as
  a Hadamard product ``H ⊙ M`` with a random mask ``M`` whose entries are 0 or ``1/(1-p)``.
  Because it is a Hadamard product, its gradient is the same mask times the incoming gradient:
  :func:`gcnlib.forward <gcnlib.recursion.forward>` takes the masks and
  :func:`gcnlib.backward <gcnlib.recursion.backward>` needs no new rule.
* :class:`Adam` (Kingma & Ba, 2015) and :class:`SGD` (with momentum) update the weights
  from their gradients, in place.
* :func:`train` puts them together. By default it trains the two-layer GCN of Kipf &
  Welling (2017): ``Z^1 = Â X W^1``, ``H^1 = ReLU(Z^1)``, ``Z^2 = Â H^1 W^2``, softmax
  cross-entropy on the labelled nodes, L2 weight decay on ``W^1``, Adam; it records loss
  and accuracy per epoch. Every part can be changed: the initial weights and biases, the
  loss, the optimiser, which layers decay, and whether to keep the best validation epoch.

Every gradient comes from ``gcnlib.backward(trace, e_T, wrt=("W", "b"))``: no autodiff
library is used.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, DTypeLike

from . import losses, recursion
from .activations import Activation
from .validation import Matrix, as_adjacency, as_generator, as_list, as_matrix, as_selection, float_dtype

__all__ = [
    "glorot_uniform",
    "dropout_mask",
    "sparse_dropout",
    "Adam",
    "SGD",
    "OPTIMIZERS",
    "History",
    "train",
]


def glorot_uniform(
    shape: tuple[int, int], rng: np.random.Generator | int, dtype: DTypeLike = "float64"
) -> np.ndarray:
    """Weights drawn uniformly from ``[-r, r]`` with ``r = sqrt(6 / (o + n))`` (Glorot & Bengio, 2010).

    The bound keeps the variance of the signal roughly the same from layer to layer.

    Parameters
    ----------
    shape : tuple of int
        ``(o, n)``: a weight matrix ``W^t`` is o_t×n_t.
    rng : numpy.random.Generator or int
        Source of randomness, e.g. ``np.random.default_rng(0)``, or an integer seed.
    dtype : numpy dtype, optional
        float64 (default) or float32.

    Returns
    -------
    numpy.ndarray
        o×n.
    """
    o, n = _check_shape(shape, "shape")
    r = np.sqrt(6.0 / (o + n))
    return as_generator(rng).uniform(-r, r, size=(o, n)).astype(dtype, copy=False)


def dropout_mask(
    shape: tuple[int, int], p: float, rng: np.random.Generator | int, dtype: DTypeLike = "float64"
) -> np.ndarray:
    """A dropout mask ``M``: each entry is 0 with probability ``p``, else ``1/(1-p)``.

    Multiplying ``H ⊙ M`` drops a fraction ``p`` of the entries of ``H`` and scales the rest so
    that ``E[H ⊙ M] = H``; at evaluation time no mask is used.

    Parameters
    ----------
    shape : tuple of int
        ``(m, o)``, the shape of the layer input ``H^{t-1}`` it multiplies.
    p : float
        Drop probability, ``0 <= p < 1``; ``p = 0`` gives a mask of ones.
    rng : numpy.random.Generator or int
        Source of randomness, or an integer seed.
    dtype : numpy dtype, optional
        float64 (default) or float32.

    Returns
    -------
    numpy.ndarray
        m×o, entries 0 or ``1/(1-p)``.
    """
    m, o = _check_shape(shape, "shape")
    _check_p(p)
    M = (as_generator(rng).random((m, o)) >= p).astype(dtype)
    M *= 1.0 / (1.0 - p)  # in place: the dtype stays
    return M


def sparse_dropout(X: sp.spmatrix | sp.sparray, p: float, rng: np.random.Generator | int) -> Any:
    """Dropout on the stored entries of a sparse matrix: ``X ⊙ M`` without forming ``M``.

    Only the non-zeros of ``X`` can change, so the mask is drawn for them alone; this is
    how Kipf & Welling drop out the sparse bag-of-words features.

    Parameters
    ----------
    X : scipy.sparse matrix or array
        m×F.
    p : float
        Drop probability, ``0 <= p < 1``.
    rng : numpy.random.Generator or int
        Source of randomness, or an integer seed.

    Returns
    -------
    scipy.sparse matrix or array, CSR
        m×F, same sparsity pattern as ``X`` and the same kind: a sparse *array* (whose ``*``
        multiplies entry by entry) for a sparse array, a sparse *matrix* (whose ``*`` is the
        matrix product) for a sparse matrix. Each stored entry is 0 with probability ``p``,
        else the entry of ``X`` times ``1/(1-p)``.
    """
    _check_p(p)
    if not sp.issparse(X):
        raise TypeError(
            f"X: expected a scipy.sparse matrix, got {type(X).__name__} of shape {np.shape(X)}; "
            f"for a dense X use X * gcnlib.dropout_mask(X.shape, p, rng)"
        )
    X = as_matrix(X, "X", sparse_ok=True)  # float CSR of X's kind (an integer X would truncate 1/(1-p))
    keep = as_generator(rng).random(X.nnz) >= p
    data = (X.data * keep / (1.0 - p)).astype(X.dtype, copy=False)
    # copies of the index arrays: editing the result in place must never change X
    return type(X)((data, X.indices.copy(), X.indptr.copy()), shape=X.shape)


def _check_params(params: Any, who: str) -> list:
    """The list of arrays an optimiser updates in place."""
    if not isinstance(params, (list, tuple)) or not all(isinstance(W, np.ndarray) for W in params):
        raise TypeError(f"{who}: params must be a list of numpy arrays (they are updated in place)")
    for i, W in enumerate(params):
        if W.dtype.kind != "f":
            raise TypeError(
                f"{who}: params[{i}] has dtype {W.dtype}; a parameter updated in place must be float"
            )
    return list(params)


def _check_grads(grads: Any, params: list, who: str) -> list:
    """One gradient per parameter, of its shape; None (a gradient wrt left out) names the fix."""
    if grads is None:
        raise TypeError(
            "grads is None: gcnlib.backward returns None for a gradient not named in wrt; "
            'ask for it, e.g. gcnlib.backward(trace, e_T, wrt=("W",)).W'
        )
    grads = list(grads)
    missing = [i for i, G in enumerate(grads) if G is None]
    if missing:
        raise TypeError(
            f"grads[{missing[0]}] is None: gcnlib.backward returns None for a gradient not named "
            f"in wrt; add it to wrt, or leave its parameter out of {who}'s params"
        )
    if len(grads) != len(params):
        raise ValueError(f"grads has {len(grads)} arrays, expected one per parameter ({len(params)})")
    for i, (W, G) in enumerate(zip(params, grads, strict=True)):
        if np.shape(G) != W.shape:
            raise ValueError(f"grads[{i}] has shape {np.shape(G)}, its parameter has shape {W.shape}")
    return grads


class Adam:
    """The Adam optimiser of Kingma & Ba (2015), updating a list of arrays in place.

    For each parameter ``W`` with gradient ``G``, step ``k = 1, 2, ...`` computes::

        m ← β₁ m + (1 − β₁) G              running mean of the gradient
        v ← β₂ v + (1 − β₂) G ⊙ G          running mean of its square
        W ← W − lr · m̂ / (sqrt(v̂) + ε),    m̂ = m / (1 − β₁^k),  v̂ = v / (1 − β₂^k)

    Parameters
    ----------
    params : list of numpy.ndarray
        The arrays to optimise (e.g. the weights ``[W^1, ..., W^T]`` and biases); they are
        changed in place.
    lr : float, optional
        Learning rate (step size), default 0.01.
    beta1, beta2 : float, optional
        Decay rates of the two running means, defaults 0.9 and 0.999.
    eps : float, optional
        Added to the denominator to avoid division by zero, default 1e-8.

    Examples
    --------
    >>> import numpy as np
    >>> W = np.array([[1.0, -2.0]])
    >>> opt = Adam([W], lr=0.1)
    >>> opt.step([2 * W])          # gradient of ‖W‖²_F
    >>> W                          # the first step moves every entry by lr
    array([[ 0.9, -1.9]])
    """

    def __init__(
        self,
        params: list[np.ndarray],
        lr: float = 0.01,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
    ) -> None:
        self.params = _check_params(params, "Adam")
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.m = [np.zeros_like(W) for W in self.params]
        self.v = [np.zeros_like(W) for W in self.params]
        self.k = 0

    def step(self, grads: Sequence[np.ndarray]) -> None:
        """Update every parameter in place from its gradient.

        Parameters
        ----------
        grads : list of numpy.ndarray
            One gradient per parameter, each of its parameter's shape (checked before any
            parameter changes).
        """
        grads = _check_grads(grads, self.params, "Adam")
        self.k += 1
        for i, (W, G) in enumerate(zip(self.params, grads, strict=True)):
            self.m[i] = self.beta1 * self.m[i] + (1 - self.beta1) * G
            self.v[i] = self.beta2 * self.v[i] + (1 - self.beta2) * G * G
            m_hat = self.m[i] / (1 - self.beta1**self.k)
            v_hat = self.v[i] / (1 - self.beta2**self.k)
            W -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


class SGD:
    """Gradient descent with (heavy-ball) momentum, updating a list of arrays in place.

    For each parameter ``W`` with gradient ``G``, every step computes::

        v ← μ v + G          the velocity, a running sum of past gradients
        W ← W − lr · v

    With ``momentum`` μ = 0 this is plain gradient descent, ``W ← W − lr · G``. (This is
    the convention of PyTorch's ``torch.optim.SGD``.)

    Parameters
    ----------
    params : list of numpy.ndarray
        The arrays to optimise; they are changed in place.
    lr : float, optional
        Learning rate, default 0.1.
    momentum : float, optional
        μ, with 0 ≤ μ < 1; default 0.

    Examples
    --------
    >>> import numpy as np
    >>> W = np.array([1.0])
    >>> opt = SGD([W], lr=0.5, momentum=0.5)
    >>> opt.step([np.array([1.0])]); W       # v = 1
    array([0.5])
    >>> opt.step([np.array([1.0])]); W       # v = 0.5 · 1 + 1 = 1.5
    array([-0.25])
    """

    def __init__(self, params: list[np.ndarray], lr: float = 0.1, momentum: float = 0.0) -> None:
        self.params = _check_params(params, "SGD")
        if not 0 <= momentum < 1:
            raise ValueError(f"SGD: momentum must satisfy 0 <= momentum < 1, got {momentum}")
        self.lr, self.momentum = lr, momentum
        self.velocity = [np.zeros_like(W) for W in self.params]

    def step(self, grads: Sequence[np.ndarray]) -> None:
        """Update every parameter in place from its gradient (shapes checked first)."""
        grads = _check_grads(grads, self.params, "SGD")
        for W, v, G in zip(self.params, self.velocity, grads, strict=True):
            v *= self.momentum
            v += G
            W -= self.lr * v


OPTIMIZERS: dict[str, type] = {"adam": Adam, "sgd": SGD}
"""The optimisers :func:`train` knows by name: ``"adam"`` (:class:`Adam`) and ``"sgd"`` (:class:`SGD`).

:meta hide-value:
"""


class History:
    """What :func:`train` records, one entry per epoch, and the weights it ends with.

    Attributes
    ----------
    loss : list of float
        Training objective of each epoch's update (with dropout): the loss over the training
        nodes plus the weight decay ``Σ_t λ_t/2 ‖W^t‖²_F``.
    train_accuracy, val_accuracy, test_accuracy : list of float
        Fraction of correctly classified nodes of each split after the epoch's update, from a
        forward pass without dropout; ``nan`` for a split that was not given.
    val_loss : list of float
        The same objective as ``loss`` on the validation nodes, without dropout (``nan`` if no
        validation split was given); early stopping and ``restore_best`` watch it.
    weights : list of numpy.ndarray
        The weights ``[W^1, ..., W^T]`` after the last epoch, or of the best epoch with
        ``restore_best=True``.
    biases : list or None
        The biases ``[b^1, ..., b^T]`` to go with ``weights`` (None without biases).
    best_epoch : int or None
        With ``restore_best=True``: the epoch (counting from 0) of the lowest validation
        loss, whose weights ``weights`` holds.
    """

    def __init__(self) -> None:
        self.loss: list[float] = []
        self.train_accuracy: list[float] = []
        self.val_accuracy: list[float] = []
        self.test_accuracy: list[float] = []
        self.val_loss: list[float] = []
        self.weights: list[np.ndarray] = []
        self.biases: list | None = None
        self.best_epoch: int | None = None

    def __repr__(self) -> str:
        if not self.loss:
            return "History(0 epochs)"
        widths = "→".join(str(n) for n in [self.weights[0].shape[0], *(W.shape[1] for W in self.weights)])
        kept = -1 if self.best_epoch is None else self.best_epoch  # the epoch whose weights are kept
        accuracies = ", ".join(
            f"{name} {values[kept]:.3f}"
            for name, values in (("train", self.train_accuracy), ("val", self.val_accuracy),
                                 ("test", self.test_accuracy))
            if not math.isnan(values[kept])
        )  # fmt: skip
        when = (
            "the last epoch"
            if self.best_epoch is None
            else f"epoch {self.best_epoch + 1} of {len(self.loss)}, the best, whose weights are kept"
        )
        return (
            f"History({len(self.loss)} epochs, widths {widths}: loss {self.loss[0]:.4g} → {self.loss[-1]:.4g}; "
            f"accuracy at {when}: {accuracies or 'no split'})"
        )


def train(
    A_hat: Matrix,
    X: Matrix,
    labels: ArrayLike,
    idx_train: ArrayLike,
    idx_val: ArrayLike | None = None,
    idx_test: ArrayLike | None = None,
    *,
    widths: Sequence[int] | None = None,
    epochs: int = 200,
    lr: float = 0.01,
    weight_decay: float | Sequence[float] = 5e-4,
    dropout: float = 0.5,
    sigma: str | Activation | Sequence[str | Activation] = "relu",
    seed: int = 0,
    callback: Callable | None = None,
    early_stopping: int | None = None,
    weights: Sequence[ArrayLike] | None = None,
    biases: bool | Sequence[ArrayLike | None] | None = None,
    loss: Callable | None = None,
    optimizer: str | Callable = "adam",
    momentum: float = 0.0,
    restore_best: bool = False,
) -> History:
    """Train a GCN by full-batch gradient descent; by default Kipf & Welling's (2017) setting.

    Each epoch: draw dropout masks for the input of every layer, run
    ``trace = gcnlib.forward(A_hat, X ⊙ M^1, weights, sigma, masks=[None, M^2, ...], biases=...)``,
    take the loss of ``Z^T`` on the training nodes, get the gradients from
    ``gcnlib.backward(trace, e_T, wrt=("W", "b"))``, add ``λ_t W^t`` (the gradient of the
    weight decay ``λ_t/2 ‖W^t‖²_F``) and let the optimiser update the weights and biases.
    Then a forward pass without dropout measures the accuracy of each split.

    The defaults reproduce the paper: two layers with 16 hidden units, ReLU, dropout 0.5,
    weight decay 5e-4 on the first layer only, Adam with learning rate 0.01, softmax
    cross-entropy, Glorot-uniform weights, no biases, 200 epochs.

    Parameters
    ----------
    A_hat : numpy.ndarray or scipy.sparse matrix
        m×m propagation matrix, typically ``gcnlib.normalize_adjacency(A)``.
    X : numpy.ndarray or scipy.sparse matrix
        m×F node features ``H^0`` (Kipf & Welling row-normalise them first).
    labels : array of int
        Shape (m,), classes ``0 .. c-1``; nodes outside the given splits may hold ``-1``.
    idx_train : array of int or bool
        The labelled nodes the loss sees: node indices or a boolean mask of length m.
    idx_val, idx_test : array of int or bool, optional
        Nodes only evaluated (accuracy recorded per epoch), as indices or boolean masks.
    widths : sequence of int, optional
        Hidden widths ``n_1, ..., n_{T-1}``; the output width ``n_T`` is the number of classes c.
        Default ``(16,)``: two layers. Not needed (and not allowed) with ``weights``.
    epochs : int, optional
        Number of updates, default 200.
    lr : float, optional
        The optimiser's learning rate, default 0.01.
    weight_decay : float or sequence of float, optional
        A number λ puts the penalty ``λ/2 ‖W^1‖²_F`` on the first layer only, as Kipf &
        Welling do (default 5e-4); a sequence ``(λ_1, ..., λ_T)`` puts ``λ_t/2 ‖W^t‖²_F``
        on each layer (0 for none). Biases never decay.
    dropout : float, optional
        Drop probability p on the input of every layer, default 0.5 (0 turns dropout off).
    sigma : str, Activation or a list of T of them, optional
        Activation of every layer or of each, default ``"relu"`` (the loss reads ``Z^T``,
        so the last layer's activation does not enter it).
    seed : int, optional
        Seeds the initial weights and the dropout masks: equal seeds give equal runs.
    callback : callable, optional
        Called as ``callback(epoch, trace)`` after every epoch (epoch = 0, 1, ...) with the trace
        of the evaluation pass: no dropout, the weights just updated. Use it e.g. to
        plot the hidden embedding ``trace.H[1]`` over the epochs.
    early_stopping : int, optional
        Kipf & Welling's rule with window w: stop once the validation loss exceeds the mean of
        the w previous ones (checked from epoch w + 1 on, counting from 0). Needs ``idx_val``.
        Default None: train all epochs.
    weights : list of array_like, optional
        Initial weights ``[W^1, ..., W^T]`` (W^1 with F rows) instead of Glorot-uniform ones;
        they set the network's shape. ``train`` works on copies: yours are not changed.
    biases : bool or list, optional
        None or False (default): no biases. True: a bias in every layer, starting at zero.
        A list ``[b^1, ..., b^T]``: initial biases (None for a layer without one; copied).
    loss : callable, optional
        ``loss(Z, labels, mask) -> (L, e_T)``, with ``mask`` the boolean vector of the nodes
        to average over; default ``gcnlib.softmax_cross_entropy``.
    optimizer : str or callable, optional
        ``"adam"`` (default) or ``"sgd"`` (see ``OPTIMIZERS``), or a function
        ``optimizer(params)`` that returns an object with a ``step(grads)`` method updating
        ``params`` in place (then ``lr`` and ``momentum`` are not used).
    momentum : float, optional
        The momentum μ of ``optimizer="sgd"``, default 0.
    restore_best : bool, optional
        If True, return the weights (and biases) of the epoch with the lowest validation loss
        instead of the last one; ``history.best_epoch`` tells which. Needs ``idx_val``.

    Returns
    -------
    History
        Loss and accuracies per epoch, and the final (or best) weights and biases.

    Raises
    ------
    TypeError, ValueError
        For arguments of the wrong kind or out of range; the message names the argument.
    """
    A_hat, X = as_adjacency(A_hat, name="A_hat"), as_matrix(X, "X", sparse_ok=True)
    m = A_hat.shape[0]
    if X.shape[0] != m:
        raise ValueError(f"X has shape {X.shape} but A_hat is {m}×{m}: X needs one row per node ({m} rows)")
    early_stopping = _check_window(early_stopping)
    if (early_stopping or restore_best) and idx_val is None:
        what = "early_stopping" if early_stopping else "restore_best"
        raise ValueError(f"{what} watches the validation loss: give idx_val")
    labels = _check_labels(labels, m)
    _check_numbers(epochs, lr, dropout, momentum, optimizer)
    rng = as_generator(seed, "seed")
    dtype = float_dtype(A_hat.dtype, X.dtype)  # float32 in, float32 throughout
    c = int(labels.max()) + 1
    if weights is None:
        sizes = [
            X.shape[1],
            *_check_hidden_widths((16,) if widths is None else widths),
            c,
        ]  # o_1, n_1, ..., n_T
        weights = [glorot_uniform((o, n), rng, dtype) for o, n in zip(sizes[:-1], sizes[1:], strict=True)]
    else:
        if widths is not None:
            raise ValueError("widths: give either widths or initial weights (which set the widths), not both")
        weights = _initial_weights(weights, X.shape[1], dtype)
        sizes = [X.shape[1], *(W.shape[1] for W in weights)]
    T = len(weights)
    biases = _initial_biases(biases, weights, dtype)
    decay = _check_decay(weight_decay, T)
    loss = losses.softmax_cross_entropy if loss is None else loss
    params = weights + [b for b in biases or [] if b is not None]
    update = _optimizer(optimizer, params, lr, momentum)
    wrt = ("W",) if biases is None else ("W", "b")
    splits = {
        "train": _node_mask(idx_train, m, "idx_train"),
        "val": _node_mask(idx_val, m, "idx_val"),
        "test": _node_mask(idx_test, m, "idx_test"),
    }
    history = History()
    history.weights, history.biases = weights, biases
    best = (math.inf, None, None)  # the lowest validation loss, its epoch, its parameters

    for epoch in range(epochs):
        H0, masks = _dropout_inputs(X, sizes, m, dropout, rng, dtype)
        trace = recursion.forward(A_hat, H0, weights, sigma, masks=masks, biases=biases)
        L, e_T = _loss_pair(loss, trace.Z[-1], labels, splits["train"])
        grads = recursion.backward(trace, e_T, wrt=wrt)
        dW = [
            G + lam * W if lam else G for G, W, lam in zip(grads.W, weights, decay, strict=True)
        ]  # + λ_t W^t
        history.loss.append(L + _decay(weights, decay))
        update.step(dW + [g for g in grads.b or [] if g is not None])

        evaluation = recursion.forward(A_hat, X, weights, sigma, biases=biases)  # forward copies the weights
        _record(history, loss, evaluation.Z[-1], labels, splits, _decay(weights, decay))
        if restore_best and history.val_loss[-1] < best[0]:
            best = (history.val_loss[-1], epoch, [p.copy() for p in params])
        if callback is not None:
            callback(epoch, evaluation)
        if early_stopping and _should_stop(history.val_loss, early_stopping):
            break
    if restore_best and best[1] is not None:
        for p, kept in zip(params, best[2], strict=True):
            p[...] = kept
        history.best_epoch = best[1]
    return history


def _initial_weights(weights: Any, F: int, dtype: np.dtype) -> list:
    """Float copies of the caller's initial weights, W^1 with one row per feature."""
    weights = as_list(weights, "weights", "a list [W^1, ..., W^T] of matrices")
    weights = [np.array(as_matrix(W, f"W^{t}"), dtype=dtype) for t, W in enumerate(weights, start=1)]
    if not weights:
        raise ValueError("weights: the list is empty; a network needs at least W^1")
    if weights[0].shape[0] != F:
        raise ValueError(
            f"weights: W^1 has shape {weights[0].shape} but X has {F} features: W^1 needs {F} rows"
        )
    return weights


def _initial_biases(biases: Any, weights: list, dtype: np.dtype) -> list | None:
    """None, zeros for every layer (True), or float copies of the caller's biases."""
    if biases is None or biases is False:
        return None
    if biases is True:
        return [np.zeros(W.shape[1], dtype=dtype) for W in weights]
    checked = recursion._check_biases(biases, weights, dtype)
    return None if checked is None else [None if b is None else np.array(b, dtype=dtype) for b in checked]


def _check_decay(weight_decay: Any, T: int) -> list[float]:
    """λ_1, ..., λ_T from one λ (first layer only, as Kipf & Welling) or one per layer."""
    if isinstance(weight_decay, (int, float, np.integer, np.floating)):
        decay = [float(weight_decay)] + [0.0] * (T - 1)
    else:
        decay = [float(lam) for lam in weight_decay]
        if len(decay) != T:
            raise ValueError(
                f"weight_decay: expected one number (for W^1) or one per layer ({T}), got {len(decay)}"
            )
    if not all(0 <= lam < math.inf for lam in decay):
        raise ValueError(f"weight_decay: every λ must be a finite number ≥ 0, got {weight_decay}")
    return decay


def _check_numbers(epochs: Any, lr: Any, dropout: Any, momentum: Any, optimizer: Any) -> None:
    if not isinstance(epochs, (int, np.integer)) or isinstance(epochs, bool) or epochs < 0:
        raise ValueError(f"epochs: expected a number of epochs ≥ 0, got {epochs!r}")
    if not 0 < lr < math.inf:
        raise ValueError(f"lr: the learning rate must be a finite number > 0, got {lr!r}")
    _check_p(dropout)
    if momentum and optimizer != "sgd":
        raise ValueError(f"momentum is a setting of optimizer='sgd', not of optimizer={optimizer!r}")


def _optimizer(optimizer: Any, params: list, lr: float, momentum: float):
    """The optimiser object: Adam or SGD by name, or whatever a factory returns."""
    if isinstance(optimizer, str):
        if optimizer not in OPTIMIZERS:
            raise ValueError(
                f"optimizer: unknown name {optimizer!r}; choose from {list(OPTIMIZERS)} or pass a function"
            )
        return Adam(params, lr=lr) if optimizer == "adam" else SGD(params, lr=lr, momentum=momentum)
    if not callable(optimizer):
        raise TypeError(
            f"optimizer: expected a name in {list(OPTIMIZERS)} or a function params -> optimiser, "
            f"got {type(optimizer).__name__}"
        )
    made = optimizer(params)
    if not callable(getattr(made, "step", None)):
        raise TypeError("optimizer: the function must return an object with a step(grads) method")
    return made


def _loss_pair(loss: Callable, Z: np.ndarray, labels: np.ndarray, mask: np.ndarray) -> tuple[float, Any]:
    """``loss(Z, labels, mask)``, checked to be the pair (L, e_T)."""
    result = loss(Z, labels, mask)
    if not (isinstance(result, tuple) and len(result) == 2):
        raise TypeError(
            "loss must return the pair (L, e_T) for loss(Z, labels, mask), as "
            f"gcnlib.softmax_cross_entropy does; got {type(result).__name__}"
        )
    return float(result[0]), result[1]


def _dropout_inputs(X, sizes: list[int], m: int, p: float, rng: np.random.Generator, dtype: np.dtype):
    """The dropped-out input ``H^0 = X ⊙ M^1`` and the masks ``[None, M^2, ..., M^T]``."""
    if p == 0:
        return X, None
    if sp.issparse(X):
        H0, first = sparse_dropout(X, p, rng), None
    else:
        H0, first = X, dropout_mask(X.shape, p, rng, dtype)
    hidden = [dropout_mask((m, o), p, rng, dtype) for o in sizes[1:-1]]
    return H0, [first, *hidden]


def _record(
    history: History, loss: Callable, Z: np.ndarray, labels: np.ndarray, splits: dict, decay: float
) -> None:
    """Append the accuracy of each split (and the validation loss) for the output ``Z = Z^T``."""
    for name in ("train", "val", "test"):
        mask = splits[name]
        value = float("nan") if mask is None else float(losses.accuracy(Z, labels, mask))
        getattr(history, f"{name}_accuracy").append(value)
    val = splits["val"]
    val_loss = float("nan") if val is None else _loss_pair(loss, Z, labels, val)[0] + decay
    history.val_loss.append(val_loss)


def _should_stop(val_loss: list[float], window: int) -> bool:
    """Kipf & Welling's early stopping: the last validation loss exceeds the mean of the window before it.

    As in their code, the rule applies from the epoch after the first ``window + 1`` epochs.
    """
    if len(val_loss) <= window + 1:
        return False
    return val_loss[-1] > np.mean(val_loss[-window - 1 : -1])


def _decay(weights: list[np.ndarray], decay: list[float]) -> float:
    """The penalty ``Σ_t λ_t/2 ‖W^t‖²_F``."""
    return sum(0.5 * lam * float(np.sum(W**2)) for W, lam in zip(weights, decay, strict=True) if lam)


def _node_mask(idx, m: int, name: str) -> np.ndarray | None:
    """Boolean mask of length m that is True on the nodes ``idx`` (None stays None).

    ``idx`` may be node indices or a boolean mask, as the losses accept.
    """
    return None if idx is None else as_selection(idx, m, name, unit="node", of="the graph")


def _check_labels(labels, m: int) -> np.ndarray:
    """Integer labels, one per node, with at least one class."""
    labels = np.asarray(labels)
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(
            f"labels: expected integer classes 0..c-1 (−1 for unlabelled), got dtype {labels.dtype}"
        )
    if labels.shape != (m,):
        raise ValueError(
            f"labels: expected shape ({m},), one label per node of A_hat ({m}×{m}), got {labels.shape}"
        )
    if m == 0 or labels.max() < 0:
        raise ValueError("labels: no node has a class (all labels are negative or the graph is empty)")
    return labels


def _check_hidden_widths(widths) -> tuple[int, ...]:
    """The hidden widths n_1, ..., n_{T-1}: a sequence of positive integers (possibly empty)."""
    if isinstance(widths, (int, np.integer)):
        raise TypeError(
            f"widths: expected a sequence of hidden widths, got the int {widths}; "
            f"write widths=({widths},) for one hidden layer of {widths} units (or widths=() for none)"
        )
    try:
        widths = tuple(widths)
    except TypeError:
        raise TypeError(
            f"widths: expected a sequence of hidden widths such as (16,), got {type(widths).__name__}"
        ) from None
    if not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n > 0 for n in widths):
        raise ValueError(f"widths: every hidden width must be a positive integer, got {widths}")
    return tuple(int(n) for n in widths)


def _check_window(early_stopping) -> int | None:
    """The early-stopping window: None (or 0) for none, else a positive number of epochs."""
    if early_stopping is None:
        return None
    if not isinstance(early_stopping, (int, np.integer)) or isinstance(early_stopping, bool):
        raise TypeError(
            f"early_stopping: expected a number of epochs (int) or None, got {type(early_stopping).__name__}"
        )
    if early_stopping < 0:
        raise ValueError(
            f"early_stopping: the window must be a positive number of epochs, or None to train all "
            f"epochs; got {early_stopping}"
        )
    return int(early_stopping) or None


def _check_shape(shape, name: str) -> tuple[int, int]:
    """A 2-D shape of positive integers."""
    if len(shape) != 2 or any(int(s) != s or s <= 0 for s in shape):
        raise ValueError(f"{name} must be two positive integers (rows, columns), got {shape}")
    return int(shape[0]), int(shape[1])


def _check_p(p: float) -> None:
    """A drop probability in [0, 1)."""
    if not 0 <= p < 1:
        raise ValueError(f"dropout probability p must satisfy 0 <= p < 1, got p = {p}")
