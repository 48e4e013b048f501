"""The command line of gcnlib: ``python -m gcnlib kipf-welling --dataset cora --seeds 10``
(and ``python -m gcnlib gat ...``, the graph attention network of Veličković et al.).

It trains Kipf & Welling's two-layer GCN on Cora or Citeseer once per seed, with gcnlib's own
backward pass, prints one line per seed to stderr while it runs, and ends with the mean and
standard deviation of the test accuracy on stdout, e.g.::

    cora: test accuracy 81.7 ± 0.6 % over 10 seeds
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import numpy as np

from . import graphs
from .datasets import PLANETOID_FIGURES, load_planetoid
from .training import train

DESCRIPTION = """\
Reproduce Table 2 of Kipf & Welling (ICLR 2017) with gcnlib's hand-derived backward pass.

The model: row-normalised features X, the renormalised adjacency Â = D^-1/2 (A + I) D^-1/2,
Z1 = Â X W1, H1 = ReLU(Z1), Z2 = Â H1 W2, softmax cross-entropy on the 20 labelled nodes per
class of the Planetoid split; Glorot-uniform weights, no biases; dropout on the input of both
layers; L2 weight decay on W1; Adam. Each seed gives other initial weights and dropout masks.

The test accuracy of a seed is that of the weights after the final epoch (the paper's
200 epochs), unless --early-stopping W is given: then training stops, as in the paper's code,
once the validation loss exceeds the mean of the W epochs before it, and the weights at that
epoch are evaluated. The last line is the mean ± standard deviation (numpy.std, ddof=0) over
the seeds, in percent (with --seed S, the accuracy of that one run). The paper reports
81.5 % on Cora and 70.3 % on Citeseer.
"""


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    print(gat(args) if args.command == "gat" else kipf_welling(args))
    return 0


def kipf_welling(args: argparse.Namespace) -> str:
    """Train once per seed, report each seed on stderr, return the summary line."""
    data = load_planetoid(args.dataset)
    A_hat = graphs.normalize_adjacency(data.A)
    X = data.row_normalized_features()
    seeds = range(args.seeds) if args.seed is None else [args.seed]
    print(
        f"{data.name}: {data.num_nodes} nodes, {data.A.nnz // 2} edges, {X.shape[1]} features, "
        f"{data.num_classes} classes; training {len(seeds)} seed(s) x {args.epochs} epochs",
        file=sys.stderr,
    )
    accuracies = []
    for seed in seeds:
        start = time.perf_counter()
        history = train(
            A_hat, X, data.labels, data.idx_train, data.idx_val, data.idx_test,
            widths=(args.hidden,), epochs=args.epochs, lr=args.lr, weight_decay=args.weight_decay,
            dropout=args.dropout, seed=seed, early_stopping=args.early_stopping or None,
        )  # fmt: skip
        accuracies.append(history.test_accuracy[-1])
        print(
            f"  seed {seed}: test accuracy {100 * history.test_accuracy[-1]:.1f} %, "
            f"validation {100 * history.val_accuracy[-1]:.1f} %, "
            f"{len(history.loss)} epochs, {time.perf_counter() - start:.1f} s",
            file=sys.stderr,
            flush=True,
        )
    if args.seed is not None:
        return f"{data.name}: test accuracy {100 * accuracies[0]:.1f} % with seed {args.seed}"
    mean, std = 100 * np.mean(accuracies), 100 * np.std(accuracies)
    noun = "seed" if args.seeds == 1 else "seeds"
    return f"{data.name}: test accuracy {mean:.1f} ± {std:.1f} % over {args.seeds} {noun}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m gcnlib",
        description="gcnlib: the backward pass of a graph convolutional network, by hand.",
        allow_abbrev=False,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    kw = commands.add_parser(
        "kipf-welling",
        help="train Kipf & Welling's two-layer GCN on Cora or Citeseer and report the test accuracy",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,  # --seed and --seeds are different options: no prefix guessing
    )
    kw.add_argument("--dataset", type=str.lower, choices=sorted(PLANETOID_FIGURES), default="cora",
                    help="the citation graph, with its standard Planetoid split; case does not matter "
                         "(default: cora)")  # fmt: skip
    runs = kw.add_mutually_exclusive_group()
    runs.add_argument(
        "--seeds",
        type=_positive_int,
        default=10,
        metavar="N",
        help="number of runs, with seeds 0..N-1 (default: 10)",
    )
    runs.add_argument(
        "--seed",
        type=_non_negative_int,
        default=None,
        metavar="S",
        help="one run, with seed S (instead of --seeds)",
    )
    kw.add_argument(
        "--epochs",
        type=_positive_int,
        default=200,
        help="number of full-batch Adam updates per run (default: 200, as in the paper)",
    )
    kw.add_argument("--lr", type=_positive_float, default=0.01, help="Adam's learning rate (default: 0.01)")
    kw.add_argument(
        "--hidden",
        type=_positive_int,
        default=16,
        metavar="WIDTH",
        help="number of hidden units, the width of H1 (default: 16)",
    )
    kw.add_argument(
        "--dropout",
        type=_probability,
        default=0.5,
        metavar="P",
        help="drop probability on the input of each layer; 0 turns dropout off (default: 0.5)",
    )
    kw.add_argument(
        "--weight-decay",
        type=_non_negative_float,
        default=5e-4,
        metavar="LAMBDA",
        help="L2 penalty LAMBDA/2 ||W1||^2 on the first layer's weights (default: 5e-4)",
    )
    kw.add_argument("--early-stopping", type=_non_negative_int, default=0, metavar="W",
                    help="stop when the validation loss exceeds the mean of the previous W epochs; "
                         "0 trains all epochs and evaluates the final weights (default: 0)")  # fmt: skip
    _add_gat_parser(commands)
    return parser


def _number(text: str, kind: type, ok, requirement: str):
    """Parse ``text`` as ``kind`` and check it, or raise an error argparse reports with the option."""
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not ok(value):
        raise argparse.ArgumentTypeError(f"must be {requirement}, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    return _number(text, int, lambda n: n > 0, "a positive integer")


def _non_negative_int(text: str) -> int:
    return _number(text, int, lambda n: n >= 0, "an integer >= 0")


def _positive_float(text: str) -> float:
    return _number(text, float, lambda x: 0 < x < math.inf, "a finite number > 0")


def _non_negative_float(text: str) -> float:
    return _number(text, float, lambda x: 0 <= x < math.inf, "a finite number >= 0")


def _probability(text: str) -> float:
    return _number(text, float, lambda x: 0 <= x < 1, "a probability P with 0 <= P < 1")


# --- python -m gcnlib gat: the graph attention network ----------------------------------------

GAT_DESCRIPTION = """\
Reproduce the transductive results of Veličković et al. (ICLR 2018) with gcnlib's hand-derived
backward pass of graph attention (gcnlib.attention).

The model (defaults): row-normalised features X; layer 1 has 8 attention heads of 8 units,
concatenated, then ELU; layer 2 has 1 head with one score per class; softmax cross-entropy on the 20
labelled nodes per class of the Planetoid split. Dropout 0.6 on the input of both layers and
on the attention coefficients, L2 penalty 5e-4 on every parameter, Adam with learning rate
0.005, Glorot-uniform initialisation. Early stopping as in the authors' code: stop after
--patience epochs in which the validation accuracy never reached its maximum and the
validation loss never reached its minimum; the model kept (and tested) is the last one at
which both did. Computations run in float32, like the authors' TensorFlow code (--float64
for double precision). The last line is the mean ± standard deviation (numpy.std, ddof=0)
of the test accuracy over the seeds, in percent. The paper reports 83.0 ± 0.7 % on Cora
and 72.5 ± 0.7 % on Citeseer.
"""


def _add_gat_parser(commands) -> None:
    g = commands.add_parser(
        "gat",
        help="train the graph attention network of Veličković et al. on Cora or Citeseer",
        description=GAT_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    g.add_argument(
        "--dataset",
        choices=sorted(PLANETOID_FIGURES),
        default="cora",
        help="the citation graph, with its standard Planetoid split (default: cora)",
    )
    g.add_argument(
        "--seeds",
        type=_positive_int,
        default=10,
        metavar="N",
        help="number of runs, with seeds 0..N-1 (default: 10)",
    )
    g.add_argument(
        "--epochs",
        type=_positive_int,
        default=10_000,
        help="at most this many epochs per run; early stopping ends sooner (default: 10000)",
    )
    g.add_argument(
        "--patience",
        type=_positive_int,
        default=100,
        help="epochs without a new best validation accuracy or loss before stopping (default: 100)",
    )
    g.add_argument("--lr", type=_positive_float, default=0.005, help="Adam's learning rate (default: 0.005)")
    g.add_argument("--heads", type=_positive_int, default=8, help="attention heads of layer 1 (default: 8)")
    g.add_argument(
        "--hidden",
        type=_positive_int,
        default=8,
        metavar="WIDTH",
        help="units per head of layer 1 (default: 8)",
    )
    g.add_argument(
        "--output-heads",
        type=_positive_int,
        default=1,
        metavar="HEADS",
        help="attention heads of layer 2, averaged (default: 1)",
    )
    g.add_argument(
        "--dropout",
        type=_probability,
        default=0.6,
        metavar="P",
        help="drop probability on the input of each layer (default: 0.6)",
    )
    g.add_argument(
        "--attention-dropout",
        type=_probability,
        default=0.6,
        metavar="P",
        help="drop probability on the attention coefficients (default: 0.6)",
    )
    g.add_argument(
        "--weight-decay",
        type=_non_negative_float,
        default=5e-4,
        metavar="LAMBDA",
        help="L2 penalty LAMBDA/2 ||theta||^2 on every parameter (default: 5e-4)",
    )
    g.add_argument("--float64", action="store_true", help="compute in float64 instead of float32")  # fmt: skip


def gat(args: argparse.Namespace) -> str:
    """Train the GAT once per seed, report each seed on stderr, return the summary line."""
    from .attention import train_gat

    data = load_planetoid(args.dataset)
    X = data.row_normalized_features().astype(np.float64 if args.float64 else np.float32)
    print(
        f"{data.name}: {data.num_nodes} nodes, {data.A.nnz // 2} edges, {X.shape[1]} features, "
        f"{data.num_classes} classes; GAT with {args.heads}x{args.hidden} hidden units, {args.seeds} seed(s), "
        f"{X.dtype}",
        file=sys.stderr,
    )
    accuracies = []
    for seed in range(args.seeds):
        start = time.perf_counter()
        history = train_gat(
            data.A, X, data.labels, data.idx_train, data.idx_val, data.idx_test,
            heads=args.heads, hidden=args.hidden, output_heads=args.output_heads, epochs=args.epochs,
            patience=args.patience, lr=args.lr, weight_decay=args.weight_decay, dropout=args.dropout,
            attention_dropout=args.attention_dropout, seed=seed,
        )  # fmt: skip
        accuracies.append(history.kept_test_accuracy)
        print(
            f"  seed {seed}: test accuracy {100 * history.kept_test_accuracy:.1f} %, "
            f"validation {100 * history.val_accuracy[history.kept_epoch]:.1f} % "
            f"(model of epoch {history.kept_epoch + 1} of {len(history.loss)}), "
            f"{time.perf_counter() - start:.1f} s",
            file=sys.stderr,
            flush=True,
        )
    mean, std = 100 * np.mean(accuracies), 100 * np.std(accuracies)
    seeds = "seed" if args.seeds == 1 else "seeds"
    return f"{data.name}: test accuracy {mean:.1f} ± {std:.1f} % over {args.seeds} {seeds}"


if __name__ == "__main__":
    sys.exit(main())
