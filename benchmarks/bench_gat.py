"""Time a training epoch of the graph attention network (GAT) against one of the GCN, on Cora.

Run by hand (not a test)::

    .venv/bin/python benchmarks/bench_gat.py                 # float32 and float64, 9 rounds
    .venv/bin/python benchmarks/bench_gat.py --dtype float32 --rounds 15 --epochs 30

For each dtype the script times, interleaved in one run (round after round, each variant once
per round), with medians over the rounds after a warm-up round:

* ``gcn``: one epoch of ``gcnlib.train``, Kipf & Welling's model (16 hidden units);
* ``gat``: one epoch of ``gcnlib.train_gat``, the paper's model (8 heads of 8, 1 output head),
  with its dropout and early-stopping bookkeeping (patience set out of reach);
* ``gat products``: only the matrix products a GAT epoch is made of (the feature products
  ``X̃ W``, ``X̃ᵀ Ū``, ``H̃ W``, ``Ū Wᵀ``, the heads' sparse products ``Ã_k U_k`` and
  ``Ã_kᵀ e_k``, the sampled products ``Π_E(e_k U_kᵀ)``), on ready-made operands: the lower bound;

each as time per epoch (a run of ``--epochs`` epochs divided by their number), and prints the
ratios gat/gcn and gat/products (medians of the per-round ratios). An epoch of either trainer
is one update (forward, backward, Adam) and one evaluation pass without dropout.

Times are CPU time of this process (``time.process_time``): on a machine shared with other
work, wall-clock time also counts the time the process waits for a CPU, which can dwarf what is
measured; wall-clock medians are printed too. BLAS runs on one thread (``OPENBLAS_NUM_THREADS``
and ``OMP_NUM_THREADS`` default to 1 here, set before NumPy is imported): the sparse products
that dominate both epochs are single-threaded anyway, and a second thread would add its
spinning to the CPU time.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402

import gcnlib  # noqa: E402
from gcnlib import attention  # noqa: E402


def cora(dtype):
    data = gcnlib.load_planetoid("cora")
    X = data.row_normalized_features().astype(dtype)
    A_hat = gcnlib.normalize_adjacency(data.A).astype(dtype)
    return data, X, A_hat


def gcn_epochs(data, X, A_hat, epochs):
    def run():
        gcnlib.train(A_hat, X, data.labels, data.idx_train, data.idx_val, data.idx_test, epochs=epochs)

    return run


def gat_epochs(data, X, epochs):
    def run():
        attention.train_gat(data.A, X, data.labels, data.idx_train, data.idx_val, data.idx_test,
                            epochs=epochs, patience=10**9)  # fmt: skip

    return run


def gat_products(data, X, epochs):
    """The bare products of `epochs` GAT epochs: stand-in operands of the right shapes and patterns."""
    rng = np.random.default_rng(0)
    dtype = X.dtype
    m, c = data.num_nodes, data.num_classes
    A = (data.A != 0) + sp.eye(m, format="csr", dtype=bool)
    edges = attention._edges(A.astype(np.float64))
    layers = attention.gat_parameters(X.shape[1], c, rng, dtype=dtype)
    trace = attention.gat_forward(edges, X, layers)
    (W1, W2), (t1, t2) = (layers[0].W, layers[1].W), trace.layers
    A1 = edges._heads_matrix(t1.A, False)
    A1T = edges._heads_matrix(t1.A, True)
    A2 = edges._heads_matrix(t2.A, False)
    A2T = edges._heads_matrix(t2.A, True)
    H1 = trace.H[0]
    U1, U2 = t1.U, t2.U
    e1, e2 = rng.standard_normal(U1.shape).astype(dtype), rng.standard_normal(U2.shape).astype(dtype)
    m1, m2 = U1.shape[0] * U1.shape[1], U2.shape[0] * U2.shape[1]

    def one_pass(backward: bool):
        Z1 = A1 @ np.asarray(X @ W1).reshape(m1, -1)  # forward: X̃ W, then Ã_k U_k
        Z2 = A2 @ (H1 @ W2).reshape(m2, -1)  # H̃ W, then Ã_k U_k
        if backward:
            edges.sampled(e2, U2)  # Π_E(e_k U_kᵀ), layer 2
            G2 = (A2T @ e2.reshape(m2, -1)).reshape(m, -1)  # Ã_kᵀ e_k
            G2 @ W2.T  # Ū Wᵀ
            edges.sampled(e1, U1)  # layer 1
            G1 = (A1T @ e1.reshape(m1, -1)).reshape(m, -1)
            X.T @ G1  # X̃ᵀ Ū
        return Z1, Z2

    def run():
        for _ in range(epochs):
            one_pass(backward=True)  # the update
            one_pass(backward=False)  # the evaluation pass

    return run


def measure(samplers: dict, rounds: int) -> tuple[dict, dict]:
    """CPU and wall seconds per epoch of each sampler, `rounds` interleaved rounds after a warm-up."""
    cpu: dict = {name: [] for name in samplers}
    wall: dict = {name: [] for name in samplers}
    for r in range(rounds + 1):
        for name, (run, epochs) in samplers.items():
            time.sleep(0.1)
            start_cpu, start_wall = time.process_time(), time.perf_counter()
            run()
            if r:
                cpu[name].append((time.process_time() - start_cpu) / epochs)
                wall[name].append((time.perf_counter() - start_wall) / epochs)
    return cpu, wall


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--dtype",
        choices=["float32", "float64"],
        nargs="+",
        default=["float32", "float64"],
        help="precision(s) to run, each model in the same one (default: both)",
    )
    parser.add_argument(
        "--rounds", type=int, default=9, help="timed rounds after a warm-up round (default 9)"
    )
    parser.add_argument("--epochs", type=int, default=20, help="epochs per timed run (default 20)")
    args = parser.parse_args(argv)

    print(
        f"{time.strftime('%Y-%m-%d')}  {platform.machine()}  numpy {np.__version__}, "
        f"scipy {__import__('scipy').__version__}"
    )
    print(
        f"Cora; CPU time per epoch, medians over {args.rounds} interleaved rounds of {args.epochs} epochs "
        f"each; ratios are medians of per-round ratios; BLAS threads: {os.environ['OPENBLAS_NUM_THREADS']}\n"
    )
    header = (
        f"{'dtype':<9}{'gcn epoch':>11}{'gat epoch':>11}{'gat products':>14}{'gat/gcn':>9}"
        f"{'gat/products':>14}   wall: gcn, gat"
    )
    print(header)
    print("-" * len(header))
    for name in args.dtype:
        data, X, A_hat = cora(np.dtype(name))
        E = args.epochs
        t, wall = measure({"gcn": (gcn_epochs(data, X, A_hat, E), E), "gat": (gat_epochs(data, X, E), E),
                           "products": (gat_products(data, X, E), E)}, args.rounds)  # fmt: skip
        gcn, gat, products = (statistics.median(t[k]) for k in ("gcn", "gat", "products"))
        per_gcn = statistics.median(a / b for a, b in zip(t["gat"], t["gcn"], strict=True))
        per_products = statistics.median(a / b for a, b in zip(t["gat"], t["products"], strict=True))
        print(
            f"{name:<9}{gcn * 1e3:8.1f} ms{gat * 1e3:8.1f} ms{products * 1e3:11.1f} ms"
            f"{per_gcn:9.1f}{per_products:14.1f}   {statistics.median(wall['gcn']) * 1e3:.1f} ms, "
            f"{statistics.median(wall['gat']) * 1e3:.1f} ms",
            flush=True,
        )


if __name__ == "__main__":
    main()
