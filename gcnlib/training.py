"""Training a GCN with the hand-derived backward pass: Kipf & Welling's semi-supervised setting.

The pieces, each a few lines:

* :func:`glorot_uniform` draws the initial weights (Glorot & Bengio, 2010).
* :func:`dropout_mask` and :func:`sparse_dropout` implement dropout (Srivastava et al., 2014) as
  a Hadamard product ``H ⊙ M`` with a random mask ``M`` whose entries are 0 or ``1/(1-p)``.
  Because it is a Hadamard product, its gradient is the same mask times the incoming gradient:
  :func:`gcnlib.forward <gcnlib.recursion.forward>` takes the masks and
  :func:`gcnlib.backward <gcnlib.recursion.backward>` needs no new rule.
* :class:`Adam` updates the weights from their gradients (Kingma & Ba, 2015).
* :func:`train` puts them together for the two-layer GCN of Kipf & Welling (2017):
  ``Z^1 = Â X W^1``, ``H^1 = ReLU(Z^1)``, ``Z^2 = Â H^1 W^2``, softmax cross-entropy on the
  labelled nodes, L2 weight decay on ``W^1``, and records loss and accuracy per epoch.

Every gradient comes from ``gcnlib.backward(trace, e_T, wrt=("W",))``: no autodiff library is used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import scipy.sparse as sp

from . import losses, recursion
from .validation import as_adjacency, as_generator, as_matrix, as_selection, float_dtype

__all__ = ["glorot_uniform", "dropout_mask", "sparse_dropout", "Adam", "History", "train"]


def glorot_uniform(shape: tuple[int, int], rng: np.random.Generator | int, dtype=np.float64) -> np.ndarray:
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


def dropout_mask(shape: tuple[int, int], p: float, rng: np.random.Generator | int, dtype=np.float64) -> np.ndarray:
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


def sparse_dropout(X: Any, p: float, rng: np.random.Generator | int) -> Any:
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


class Adam:
    """The Adam optimiser of Kingma & Ba (2015), updating a list of arrays in place.

    For each parameter ``W`` with gradient ``G``, step ``k = 1, 2, ...`` computes::

        m ← β₁ m + (1 − β₁) G              running mean of the gradient
        v ← β₂ v + (1 − β₂) G ⊙ G          running mean of its square
        W ← W − lr · m̂ / (sqrt(v̂) + ε),    m̂ = m / (1 − β₁^k),  v̂ = v / (1 − β₂^k)

    Parameters
    ----------
    params : list of numpy.ndarray
        The arrays to optimise (e.g. the weights ``[W^1, ..., W^T]``); they are changed in place.
    lr : float, optional
        Learning rate (step size), default 0.01.
    beta1, beta2 : float, optional
        Decay rates of the two running means, defaults 0.9 and 0.999.
    eps : float, optional
        Added to the denominator to avoid division by zero, default 1e-8.

    Examples
    --------
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
        if not isinstance(params, (list, tuple)) or not all(isinstance(W, np.ndarray) for W in params):
            raise TypeError("params must be a list of numpy arrays (they are updated in place)")
        self.params = list(params)
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.m = [np.zeros_like(W) for W in self.params]
        self.v = [np.zeros_like(W) for W in self.params]
        self.k = 0

    def step(self, grads: Sequence[np.ndarray]) -> None:
        """Update every parameter in place from its gradient.

        Parameters
        ----------
        grads : list of numpy.ndarray
            One gradient per parameter, each of its parameter's shape.
        """
        if grads is None:
            raise TypeError(
                "grads is None: gcnlib.backward returns None for a gradient not named in wrt; "
                "ask for it, e.g. gcnlib.backward(trace, e_T, wrt=(\"W\",)).W"
            )
        missing = [i for i, G in enumerate(grads) if G is None]
        if missing:
            raise TypeError(
                f"grads[{missing[0]}] is None: gcnlib.backward returns None for a gradient not named "
                f"in wrt; add it to wrt, or leave its parameter out of Adam's params"
            )
        if len(grads) != len(self.params):
            raise ValueError(
                f"grads has {len(grads)} arrays, expected one per parameter ({len(self.params)})"
            )
        self.k += 1
        for i, (W, G) in enumerate(zip(self.params, grads)):
            if np.shape(G) != W.shape:
                raise ValueError(f"grads[{i}] has shape {np.shape(G)}, its parameter has shape {W.shape}")
            self.m[i] = self.beta1 * self.m[i] + (1 - self.beta1) * G
            self.v[i] = self.beta2 * self.v[i] + (1 - self.beta2) * G * G
            m_hat = self.m[i] / (1 - self.beta1**self.k)
            v_hat = self.v[i] / (1 - self.beta2**self.k)
            W -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


@dataclass
class History:
    """What :func:`train` records, one entry per epoch.

    Attributes
    ----------
    loss : list of float
        Training objective of each epoch's update (with dropout): mean cross-entropy over the
        training nodes plus ``λ/2 ‖W^1‖²_F``.
    train_accuracy, val_accuracy, test_accuracy : list of float
        Fraction of correctly classified nodes of each split after the epoch's update, from a
        forward pass without dropout; ``nan`` for a split that was not given.
    val_loss : list of float
        The same objective as ``loss`` on the validation nodes, without dropout (``nan`` if no
        validation split was given); early stopping watches it.
    weights : list of numpy.ndarray
        The final weights ``[W^1, ..., W^T]``.
    """

    loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    weights: list[np.ndarray] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)


def train(
    A_hat,
    X,
    labels,
    idx_train,
    idx_val=None,
    idx_test=None,
    *,
    widths: Sequence[int] = (16,),
    epochs: int = 200,
    lr: float = 0.01,
    weight_decay: float = 5e-4,
    dropout: float = 0.5,
    sigma="relu",
    seed: int = 0,
    callback: Callable | None = None,
    early_stopping: int | None = None,
) -> History:
    """Train Kipf & Welling's GCN by full-batch gradient descent with Adam.

    Each epoch: draw dropout masks for the input of every layer, run
    ``trace = gcnlib.forward(A_hat, X ⊙ M^1, weights, sigma, masks=[None, M^2, ...])``,
    take the softmax cross-entropy of ``Z^T`` on the training nodes, get the weight gradients from
    ``gcnlib.backward(trace, e_T, wrt=("W",))``, add ``λ W^1`` (the gradient of the weight decay
    ``λ/2 ‖W^1‖²_F``) and let Adam update the weights. Then a forward pass without dropout
    measures the accuracy of each split.

    Parameters
    ----------
    A_hat : numpy.ndarray or scipy.sparse matrix
        m×m propagation matrix, typically ``gcnlib.normalize_adjacency(A)``.
    X : numpy.ndarray or scipy.sparse matrix
        m×F node features ``H^0`` (Kipf & Welling row-normalise them first).
    labels : array of int
        Shape (m,), classes ``0 .. c-1``; nodes outside the given splits may hold ``-1``.
    idx_train : array of int
        The labelled nodes the loss sees.
    idx_val, idx_test : array of int, optional
        Nodes only evaluated (accuracy recorded per epoch).
    widths : sequence of int, optional
        Hidden widths ``n_1, ..., n_{T-1}``; the output width ``n_T`` is the number of classes c.
        Default ``(16,)``: two layers.
    epochs : int, optional
        Number of updates, default 200.
    lr : float, optional
        Adam's learning rate, default 0.01.
    weight_decay : float, optional
        λ of the penalty ``λ/2 ‖W^1‖²_F`` on the first layer's weights, default 5e-4.
    dropout : float, optional
        Drop probability p on the input of every layer, default 0.5 (0 turns dropout off).
    sigma : str or Activation, optional
        Activation of every layer, default ``"relu"`` (the loss reads ``Z^T``, not ``H^T``).
    seed : int, optional
        Seeds the initial weights and the dropout masks: equal seeds give equal runs.
    callback : callable, optional
        Called as ``callback(epoch, trace)`` after every epoch (epoch = 0, 1, ...) with the trace
        of the evaluation pass: no dropout, the weights just updated (copies). Use it e.g. to
        plot the hidden embedding ``trace.H[1]`` over the epochs.
    early_stopping : int, optional
        Kipf & Welling's rule with window w: stop once the validation loss exceeds the mean of
        the w previous ones (checked from epoch w + 1 on, counting from 0). Needs ``idx_val``. Default None:
        train all epochs.

    Returns
    -------
    History
        Loss and accuracies per epoch, and the final weights.
    """
    A_hat, X = as_adjacency(A_hat), as_matrix(X, "X", sparse_ok=True)
    m = A_hat.shape[0]
    widths = _check_hidden_widths(widths)
    early_stopping = _check_window(early_stopping)
    if early_stopping and idx_val is None:
        raise ValueError("early_stopping watches the validation loss: give idx_val")
    labels = _check_labels(labels, m)
    rng = as_generator(seed, "seed")
    c = int(labels.max()) + 1
    sizes = [X.shape[1], *widths, c]  # o_1, n_1 = o_2, ..., n_T = c
    dtype = float_dtype(A_hat.dtype, X.dtype)  # float32 in, float32 throughout
    weights = [glorot_uniform((o, n), rng, dtype) for o, n in zip(sizes[:-1], sizes[1:])]
    adam = Adam(weights, lr=lr)
    splits = {
        "train": _node_mask(idx_train, m, "idx_train"),
        "val": _node_mask(idx_val, m, "idx_val"),
        "test": _node_mask(idx_test, m, "idx_test"),
    }
    history = History(weights=weights)

    for epoch in range(epochs):
        H0, masks = _dropout_inputs(X, sizes, m, dropout, rng, dtype)
        trace = recursion.forward(A_hat, H0, weights, sigma, masks=masks)
        loss, e_T = losses.softmax_cross_entropy(trace.Z[-1], labels, splits["train"])
        grads = list(recursion.backward(trace, e_T, wrt=("W",)).W)
        grads[0] = grads[0] + weight_decay * weights[0]  # the gradient of λ/2 ‖W^1‖²_F
        history.loss.append(loss + _decay(weights, weight_decay))
        adam.step(grads)

        evaluation = recursion.forward(A_hat, X, [W.copy() for W in weights], sigma)  # Adam edits in place
        _record(history, evaluation.Z[-1], labels, splits, _decay(weights, weight_decay))
        if callback is not None:
            callback(epoch, evaluation)
        if early_stopping and _should_stop(history.val_loss, early_stopping):
            break
    return history


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


def _record(history: History, Z: np.ndarray, labels: np.ndarray, splits: dict, decay: float) -> None:
    """Append the accuracy of each split (and the validation loss) for the output ``Z = Z^T``."""
    for name in ("train", "val", "test"):
        mask = splits[name]
        value = float("nan") if mask is None else float(losses.accuracy(Z, labels, mask))
        getattr(history, f"{name}_accuracy").append(value)
    val = splits["val"]
    val_loss = float("nan") if val is None else losses.softmax_cross_entropy(Z, labels, val)[0] + decay
    history.val_loss.append(val_loss)


def _should_stop(val_loss: list[float], window: int) -> bool:
    """Kipf & Welling's early stopping: the last validation loss exceeds the mean of the window before it.

    As in their code, the rule applies from the epoch after the first ``window + 1`` epochs.
    """
    if len(val_loss) <= window + 1:
        return False
    return val_loss[-1] > np.mean(val_loss[-window - 1 : -1])


def _decay(weights: list[np.ndarray], weight_decay: float) -> float:
    """The penalty ``λ/2 ‖W^1‖²_F``."""
    return 0.5 * weight_decay * float(np.sum(weights[0] ** 2))


def _node_mask(idx, m: int, name: str) -> np.ndarray | None:
    """Boolean mask of length m that is True on the nodes ``idx`` (None stays None).

    ``idx`` may be node indices or a boolean mask, as the losses accept.
    """
    return None if idx is None else as_selection(idx, m, name, unit="node", of="the graph")


def _check_labels(labels, m: int) -> np.ndarray:
    """Integer labels, one per node, with at least one class."""
    labels = np.asarray(labels)
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"labels: expected integer classes 0..c-1 (−1 for unlabelled), got dtype {labels.dtype}")
    if labels.shape != (m,):
        raise ValueError(f"labels: expected shape ({m},), one label per node of A_hat ({m}×{m}), got {labels.shape}")
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
        raise TypeError(f"widths: expected a sequence of hidden widths such as (16,), got {type(widths).__name__}") from None
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
