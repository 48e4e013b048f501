"""The ipywidgets explorers of the book: change a setting, watch the recursion respond.

Two explorers, each a small class whose widgets are attributes, so that Python code (and
the tests) can set a value and read what the explorer now shows:

* :class:`RecursionExplorer` -- pick an activation, a depth T, a width and a seed; see
  every ``e^t = dL/dZ^t`` from the backward recursion beside its finite-difference
  counterpart, with their relative error.
* :class:`TrainingExplorer` -- train a GCN on Zachary's karate club once, then step
  through the epochs with a slider and watch the two factions separate in the 2-D hidden
  layer.

The computations are plain functions (:func:`recursion_check`, :func:`train_karate`) that
need no widgets. Each explorer draws with matplotlib into a PNG shown by an
``ipywidgets.Image``; ``static_figure()`` draws the same picture with pyplot, for pages
without a running kernel.

This module needs the optional packages ipywidgets and matplotlib
(``pip install ipywidgets matplotlib``, or gcnlib installed with its extra ``widgets`` as the
README shows); ``import gcnlib`` alone does not load it::

    from gcnlib.explorers import RecursionExplorer
    RecursionExplorer().widget      # the last line of a notebook cell displays it
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

try:
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure
except ImportError as missing:  # the optional extra "widgets" is not installed
    raise ImportError(
        f"gcnlib.explorers needs ipywidgets and matplotlib ({missing}); install them with "
        f"pip install ipywidgets matplotlib, or install gcnlib with its extra 'widgets' (see the README)"
    ) from missing

from .activations import ACTIVATIONS, Activation, get_activation
from .finite_differences import numerical_gradient, relative_error
from .graphs import karate_club, normalize_adjacency
from .losses import squared_error
from .recursion import Trace, backward, forward
from .training import History, glorot_uniform, train

__all__ = [
    "RecursionCheck",
    "recursion_check",
    "RecursionExplorer",
    "KarateRun",
    "train_karate",
    "TrainingExplorer",
]

Array = np.ndarray

# Two colours that stay apart for colour-blind readers and in grey scale (ends of cividis).
FACTION_COLOURS = ("#00204c", "#ffe945")
FACTION_NAMES = ("Mr. Hi (faction 0)", "Officer (faction 1)")


def _png(fig: Figure) -> bytes:
    """Render a matplotlib figure to PNG bytes (no pyplot, no display needed)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    return buffer.getvalue()


# ====================================================================================
# (a) the recursion beside finite differences
# ====================================================================================


@dataclass
class RecursionCheck:
    """The backward recursion on the karate club next to finite differences.

    Attributes
    ----------
    activation : str
        Name of sigma.
    loss : float
        L = ½‖Z^T − Y‖²_F, with Y the one-hot factions (m×2).
    e : list of ndarray
        ``[e^1, ..., e^T]`` from ``gcnlib.backward``, e^t is m×n_t.
    e_fd : list of ndarray
        The same gradients by central finite differences, each entry of Z^t perturbed
        and the remaining layers run forward.
    errors : list of float
        ``relative_error(e^t, e_fd^t)`` for t = 1..T.
    trace : Trace
        The forward pass (``trace.A`` = Â, ``trace.Z``, ``trace.H``, ``trace.weights``).
    Y : ndarray, m×2
        The one-hot targets.
    """

    activation: str
    loss: float
    e: list
    e_fd: list
    errors: list
    trace: Trace
    Y: Array


def _loss_after_layer(t: int, trace, Y: Array):
    """L as a function of Z^t alone: apply sigma, run layers t+1..T, take the loss.

    ``t`` counts layers from 1; for t = T the loss is taken of Z^T directly.
    """
    T = len(trace.Z)
    sigma, rest = trace.activation, trace.weights[t:]

    def L(Z_t: Array) -> float:
        if t == T:
            return squared_error(Z_t, Y)[0]
        Z_T = forward(trace.A, sigma.f(Z_t), rest, sigma).Z[-1]
        return squared_error(Z_T, Y)[0]

    return L


def recursion_check(
    activation: str | Activation = "tanh",
    depth: int = 3,
    width: int = 4,
    seed: int = 0,
    eps: float = 1e-6,
    finite_differences: bool = True,
) -> RecursionCheck:
    """Run forward, backward and finite differences on the karate club.

    The network: ``A = Â`` (the renormalised karate-club adjacency, m = 34), ``H^0 = I``
    (no node features, as in Kipf & Welling), ``T = depth`` layers of ``width`` units
    except the last, which has 2 (one per faction), Glorot-uniform weights, and the loss
    ``L = ½‖Z^T − Y‖²_F`` against the one-hot factions ``Y``.

    Parameters
    ----------
    activation : str or Activation
        sigma, a name in ``gcnlib.ACTIVATIONS`` or an Activation.
    depth : int
        T ≥ 1, the number of layers.
    width : int
        n_t ≥ 1 for the hidden layers t < T.
    seed : int
        Seed of the weights.
    eps : float
        Step of the central differences.
    finite_differences : bool
        False skips them (``e_fd`` and ``errors`` are then empty): much faster for deep,
        wide networks when only ``e`` is wanted.

    Returns
    -------
    RecursionCheck
    """
    if depth < 1 or width < 1:
        raise ValueError(f"depth and width must be at least 1, got depth={depth}, width={width}")
    sigma = get_activation(activation)
    club = karate_club()
    A = normalize_adjacency(club.A)  # dense, as club.A is
    m = A.shape[0]
    Y = np.eye(2)[club.labels]  # m×2, one-hot factions
    rng = np.random.default_rng(seed)
    widths = [m] + [width] * (depth - 1) + [2]
    weights = [glorot_uniform((o, n), rng) for o, n in zip(widths[:-1], widths[1:], strict=True)]

    trace = forward(A, np.eye(m), weights, sigma)
    loss, e_T = squared_error(trace.Z[-1], Y)
    e = backward(trace, e_T, wrt=()).e
    e_fd = [
        numerical_gradient(_loss_after_layer(t, trace, Y), trace.Z[t - 1], eps)
        for t in range(1, depth + 1)
        if finite_differences
    ]
    errors = [float(relative_error(a, b)) for a, b in zip(e, e_fd, strict=True)] if finite_differences else []
    return RecursionCheck(sigma.name, float(loss), e, e_fd, errors, trace, Y)


def draw_recursion_check(fig: Figure, check: RecursionCheck) -> None:
    """Draw each e^t (top row) above its finite-difference counterpart (bottom row).

    Each column is scaled by its largest entry ``s_t = max |e^t_ij|`` (printed in its
    title), so one diverging colour bar, symmetric about 0, serves every layer even when
    the gradients shrink from layer to layer.
    """
    if len(check.e_fd) != len(check.e):
        raise ValueError(
            "check: made with finite_differences=False, so there is nothing to draw "
            "beside e^t; call recursion_check(..., finite_differences=True)"
        )
    T = len(check.e)
    axes = fig.subplots(
        2,
        T,
        squeeze=False,
        sharex="col",
        sharey=True,
        gridspec_kw=dict(
            left=0.55 / fig.get_figwidth(),
            right=1 - 1.3 / fig.get_figwidth(),
            bottom=0.09,
            top=0.8,
            hspace=0.42,
            wspace=0.18,
        ),
    )
    for t in range(1, T + 1):
        e, e_fd = check.e[t - 1], check.e_fd[t - 1]
        scale = float(max(np.abs(e).max(), np.abs(e_fd).max())) or 1.0
        top, bottom = axes[0, t - 1], axes[1, t - 1]
        for ax, G in ((top, e), (bottom, e_fd)):
            image = ax.imshow(
                G / scale, cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto", interpolation="nearest"
            )
        bottom.set_xticks(range(e.shape[1]) if e.shape[1] <= 4 else [0, e.shape[1] - 1])
        top.set_title(f"$e^{{{t}}}$, recursion\n$s_{{{t}}}$ = {scale:.1e}", fontsize=9)
        bottom.set_title(f"finite differences\nrel. err {check.errors[t - 1]:.1e}", fontsize=9)
        bottom.set_xlabel("unit $j$", fontsize=9)
    axes[0, 0].set_ylabel("node $i$")
    axes[1, 0].set_ylabel("node $i$")
    bar = fig.add_axes((1 - 1.1 / fig.get_figwidth(), 0.09, 0.15 / fig.get_figwidth(), 0.71))
    fig.colorbar(image, cax=bar, label="$e^t_{ij} / s_t$")
    fig.suptitle(
        f"$e^t = \\partial L / \\partial Z^t$ on the karate club: σ = {check.activation}, "
        f"T = {T}" + (f", width {check.e[0].shape[1]}" if T > 1 else "") + f", L = {check.loss:.3f}",
        fontsize=11,
    )


def _recursion_figsize(T: int) -> tuple[float, float]:
    return (max(5.5, 1.7 * T + 1.6), 5.5)


class RecursionExplorer:
    """Pick an activation, a depth and a width; see each e^t beside finite differences.

    Attributes
    ----------
    activation, depth, width, seed : ipywidgets
        The controls; setting ``.value`` from Python recomputes and redraws.
    image : ipywidgets.Image
        The picture (PNG) of the current state.
    widget : ipywidgets.VBox
        Everything, ready to display.
    check : RecursionCheck
        The current numbers; ``last_errors`` is ``check.errors``.
    figure : matplotlib.figure.Figure
        The current figure.

    Examples
    --------
    >>> explorer = RecursionExplorer()
    >>> explorer.activation.value = "sigmoid"   # recomputes and redraws
    >>> explorer.last_errors                    # doctest: +SKIP
    """

    def __init__(self, activation: str = "tanh", depth: int = 3, width: int = 4, seed: int = 0):
        style = {"description_width": "initial"}
        self.activation = widgets.Dropdown(
            options=list(ACTIVATIONS), value=activation, description="activation σ", style=style
        )
        self.depth = widgets.IntSlider(
            value=depth, min=1, max=8, description="depth T", continuous_update=False, style=style
        )
        self.width = widgets.IntSlider(
            value=width, min=1, max=16, description="width $n_t$", continuous_update=False, style=style
        )
        self.seed = widgets.BoundedIntText(
            value=seed, min=0, max=10_000, description="seed", layout=widgets.Layout(width="9em"), style=style
        )
        self.image = widgets.Image(format="png")
        controls = widgets.HBox([self.activation, self.depth, self.width, self.seed])
        self.widget = widgets.VBox([controls, self.image])
        for control in (self.activation, self.depth, self.width, self.seed):
            control.observe(self._on_change, names="value")
        self.update()

    def _on_change(self, change: dict) -> None:
        self.update()

    def compute(self) -> RecursionCheck:
        """Recompute the check for the current widget values."""
        return recursion_check(self.activation.value, self.depth.value, self.width.value, self.seed.value)

    def update(self) -> None:
        """Recompute, redraw, and show the new picture."""
        self.check = self.compute()
        self.figure = Figure(figsize=_recursion_figsize(len(self.check.e)))
        draw_recursion_check(self.figure, self.check)
        self.image.value = _png(self.figure)

    @property
    def last_errors(self) -> list:
        """Relative error between e^t and its finite differences, t = 1..T."""
        return self.check.errors

    def static_figure(self):
        """Draw the current state with pyplot (for a page without a kernel); end with plt.show()."""
        fig = plt.figure(figsize=_recursion_figsize(len(self.check.e)))
        draw_recursion_check(fig, self.check)
        return fig


# ====================================================================================
# (b) training on the karate club, epoch by epoch
# ====================================================================================


@dataclass
class KarateRun:
    """A GCN trained on the karate club, with its hidden layer recorded every epoch.

    Attributes
    ----------
    history : History
        Loss and accuracies per epoch, from ``gcnlib.train``.
    embeddings : ndarray, epochs×m×2
        The 2-D hidden layer H^{T-1} after each epoch's update (the evaluation pass that
        ``gcnlib.train`` hands to its callback): ``embeddings[k]`` is after epoch k + 1.
    labels : ndarray, m
        The factions (0 or 1).
    edges : ndarray, k×2
        The friendships, for drawing.
    idx_train : ndarray
        The labelled nodes.
    """

    history: History
    embeddings: Array
    labels: Array
    edges: Array
    idx_train: Array


def train_karate(
    epochs: int = 200,
    hidden: tuple = (4, 2),
    lr: float = 0.01,
    sigma: str = "tanh",
    seed: int = 0,
) -> KarateRun:
    """Train a GCN on the karate club from two labelled members and record every epoch.

    Only the two leaders (node 0, Mr. Hi, and node 33, the officer) are labelled; the
    accuracy is measured on the other 32 members. ``H^0 = I`` (no features), no dropout
    and no weight decay, so the recorded hidden layer is exactly the model of that epoch.

    Parameters
    ----------
    epochs : int
        Number of Adam steps.
    hidden : tuple of int
        Widths of the hidden layers; the last must be 2 (the plotted embedding).
    lr : float
        Adam's learning rate.
    sigma : str
        The activation.
    seed : int
        Seed of the initial weights.

    Returns
    -------
    KarateRun
    """
    if hidden[-1] != 2:
        raise ValueError(f"hidden: the last hidden width must be 2 (a 2-D embedding), got {hidden}")
    club = karate_club()
    A_hat = normalize_adjacency(club.A)
    m = club.labels.shape[0]
    idx_train = np.array([0, m - 1])
    idx_rest = np.setdiff1d(np.arange(m), idx_train)
    embeddings = []

    def record(epoch: int, trace) -> None:
        embeddings.append(np.array(trace.H[-2], copy=True))

    history = train(
        A_hat,
        np.eye(m),
        club.labels,
        idx_train,
        idx_rest,
        idx_rest,
        widths=list(hidden),
        epochs=epochs,
        lr=lr,
        weight_decay=0.0,
        dropout=0.0,
        sigma=sigma,
        seed=seed,
        callback=record,
    )
    return KarateRun(
        history, np.stack(embeddings), np.asarray(club.labels), np.asarray(club.edges), idx_train
    )


def _limits(points: Array) -> tuple[float, float]:
    low, high = float(points.min()), float(points.max())
    pad = 0.05 * (high - low) + 1e-12
    return low - pad, high + pad


def draw_embedding(ax, run: KarateRun, epoch: int) -> None:
    """Scatter the 2-D hidden layer at ``epoch`` (0-based), coloured by faction."""
    H = run.embeddings[epoch]
    ax.add_collection(LineCollection(H[run.edges], colors="0.8", linewidths=0.6, zorder=1))
    for faction in (0, 1):
        rows = run.labels == faction
        ax.scatter(
            H[rows, 0],
            H[rows, 1],
            s=40,
            color=FACTION_COLOURS[faction],
            edgecolor="0.3",
            zorder=2,
            label=FACTION_NAMES[faction],
        )
    ax.scatter(
        H[run.idx_train, 0],
        H[run.idx_train, 1],
        s=220,
        marker="*",
        facecolor="none",
        edgecolor="crimson",
        lw=1.4,
        zorder=3,
        label="labelled",
    )
    ax.set_xlim(_limits(run.embeddings[..., 0]))
    ax.set_ylim(_limits(run.embeddings[..., 1]))
    accuracy = run.history.test_accuracy[epoch]
    ax.set_title(f"hidden layer after epoch {epoch + 1}: accuracy {accuracy:.0%} on the other 32")
    ax.set_xlabel("hidden unit 1")
    ax.set_ylabel("hidden unit 2")


def draw_loss(ax, run: KarateRun, epoch: int | None = None) -> None:
    """The training loss per epoch, the accuracy on a second axis, ``epoch`` (0-based) marked."""
    epochs = np.arange(1, len(run.history.loss) + 1)
    ax.plot(epochs, run.history.loss, color="#21918c", label="loss (2 labelled members)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy loss", color="#21918c")
    ax.set_title("training loss and accuracy")
    right = ax.twinx()
    right.plot(epochs, run.history.test_accuracy, color="#440154", ls="--", lw=1, label="accuracy (other 32)")
    right.set_ylim(0, 1.05)
    right.set_ylabel("accuracy on the other 32", color="#440154")
    if epoch is not None:
        ax.axvline(epoch + 1, color="crimson", lw=1)
        ax.plot(epoch + 1, run.history.loss[epoch], "o", color="crimson")


class TrainingExplorer:
    """Train on the karate club once, then step through the epochs with a slider.

    Attributes
    ----------
    epoch : ipywidgets.IntSlider
        The epoch shown, 1..epochs; setting ``.value`` redraws.
    play : ipywidgets.Play
        Steps the slider automatically (linked in the browser).
    image : ipywidgets.Image
        The picture (PNG) of the current epoch.
    widget : ipywidgets.VBox
        Everything, ready to display.
    run : KarateRun
        The recorded training run.
    embedding : ndarray, m×2
        The hidden layer currently shown.
    figure : matplotlib.figure.Figure
        The current figure.
    """

    def __init__(self, epochs: int = 200, epoch: int = 1, **train_options):
        self.run = train_karate(epochs=epochs, **train_options)
        self.epoch = widgets.IntSlider(
            value=epoch,
            min=1,
            max=epochs,
            description="epoch",
            continuous_update=False,
            layout=widgets.Layout(width="32em"),
        )
        self.play = widgets.Play(value=epoch, min=1, max=epochs, step=5, interval=400)
        widgets.jslink((self.play, "value"), (self.epoch, "value"))
        self.image = widgets.Image(format="png")
        self.widget = widgets.VBox([widgets.HBox([self.play, self.epoch]), self.image])
        self.epoch.observe(self._on_change, names="value")
        self.update()

    def _on_change(self, change: dict) -> None:
        self.update()

    def draw(self, fig: Figure, epoch: int) -> None:
        """Embedding at ``epoch`` (1-based) beside the loss curve."""
        left, right = fig.subplots(1, 2, width_ratios=[1.2, 1])
        draw_embedding(left, self.run, epoch - 1)
        left.legend(loc="best", fontsize=8)
        draw_loss(right, self.run, epoch - 1)

    def update(self) -> None:
        """Redraw for the current slider value."""
        epoch = self.epoch.value
        self.embedding = self.run.embeddings[epoch - 1]
        self.figure = Figure(figsize=(11, 4.5))
        self.figure.subplots_adjust(left=0.07, right=0.93, bottom=0.12, top=0.92, wspace=0.3)
        self.draw(self.figure, epoch)
        self.image.value = _png(self.figure)

    def static_figure(self, epochs: tuple | None = None):
        """Snapshots of the embedding at a few epochs, and the loss curve, with pyplot.

        ``epochs`` (1-based) defaults to the first, a tenth, a quarter and the last.
        End the cell with ``plt.show()``.
        """
        n = len(self.run.history.loss)
        epochs = epochs or sorted({1, max(1, n // 10), max(1, n // 4), n})
        fig = plt.figure(figsize=(2.8 * len(epochs), 6.2))
        grid = fig.add_gridspec(
            2,
            len(epochs),
            height_ratios=[1.15, 1],
            left=0.06,
            right=0.94,
            bottom=0.08,
            top=0.9,
            hspace=0.38,
            wspace=0.22,
        )
        first = None
        for k, epoch in enumerate(epochs):
            ax = fig.add_subplot(grid[0, k], sharex=first, sharey=first)
            first = first or ax
            draw_embedding(ax, self.run, epoch - 1)
            ax.set_title(f"epoch {epoch}: {self.run.history.test_accuracy[epoch - 1]:.0%} right", fontsize=10)
            if k:
                ax.set_ylabel("")
        ax = fig.add_subplot(grid[1, :])
        draw_loss(ax, self.run)
        for epoch in epochs:
            ax.plot(epoch, self.run.history.loss[epoch - 1], "o", color="crimson")
        fig.suptitle("Karate club: the 2-D hidden layer during training (stars: the two labelled leaders)")
        return fig
