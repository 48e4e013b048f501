"""Time gcnlib's forward + backward against the matrix products it consists of (and PyTorch).

Run by hand (not a test)::

    .venv/bin/python benchmarks/bench_gcn.py            # every case
    .venv/bin/python benchmarks/bench_gcn.py --cases dense64 tiny --reps 9

For each case the script times, interleaved in one run, with medians after a warm-up
(each sample preceded by one untimed call of the same pass, see ``timer``):

* ``gcnlib``: ``gcnlib.forward`` + ``gcnlib.backward`` (validation included);
* ``products``: only the matrix products that pass is made of, in the same order, on
  ready-made operands (no activation, no Hadamard products, no checks), keeping alive
  the results a pass returns (Z^t, e^t) and dropping its temporaries: the lower bound;
* ``torch``: the same model under ``torch.autograd`` (same dtype, same thread count), if
  PyTorch is importable, with a pause between libraries so one library's spinning threads
  do not slow the other down.

and prints the ratios gcnlib/products and gcnlib/torch. PyTorch is never a dependency of
gcnlib; install it only to run this comparison (``pip install torch``, a CPU build).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

import gcnlib

PAUSE = 0.25  # seconds between samples of different libraries
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
clock = CLOCKS["wall"]  # set by --clock


@dataclass
class Case:
    """One model: adjacency, features, weights, the gradient e^T and what to differentiate."""

    name: str
    A: object
    H0: np.ndarray
    Ws: list
    e_T: np.ndarray
    sigma: str = "tanh"
    wrt: tuple = ("W", "A", "H0")
    note: str = ""


# --- the cases -------------------------------------------------------------------------


def dense_case(dtype, m=2000, widths=(256, 128, 64, 16), seed=0) -> Case:
    rng = np.random.default_rng(seed)
    A = gcnlib.normalize_adjacency((rng.random((m, m)) < 0.01).astype(float)).astype(dtype)
    return _case(f"dense m={m} {np.dtype(dtype).name}", A, widths, dtype, rng)


def sparse_case(dtype=np.float64, m=100_000, degree=10, widths=(128, 64, 64, 16), seed=0, wrt=("W",)) -> Case:
    rng = np.random.default_rng(seed)
    A = gcnlib.normalize_adjacency(gcnlib.random_graph(m, degree, rng=rng)).astype(dtype)
    what = "W only" if wrt == ("W",) else "all gradients"
    return _case(f"sparse m={m:,} {what}", A, widths, dtype, rng, wrt=wrt)


def tiny_case(dtype=np.float64, seed=0) -> Case:
    rng = np.random.default_rng(seed)
    A = gcnlib.normalize_adjacency(gcnlib.karate_club().A)
    return _case("karate m=34", A.astype(dtype), (34, 16, 4, 2), dtype, rng)


def _case(name, A, widths, dtype, rng, wrt=("W", "A", "H0")) -> Case:
    m = A.shape[0]
    H0 = rng.standard_normal((m, widths[0])).astype(dtype)
    Ws = [
        (rng.standard_normal((o, n)) / np.sqrt(o)).astype(dtype)
        for o, n in zip(widths[:-1], widths[1:], strict=True)
    ]
    e_T = rng.standard_normal((m, widths[-1])).astype(dtype)
    return Case(name, A, H0, Ws, e_T, wrt=wrt)


# --- the three ways of running a case -------------------------------------------------------


def gcnlib_pass(c: Case) -> Callable[[], object]:
    def run():
        trace = gcnlib.forward(c.A, c.H0, c.Ws, c.sigma)
        return gcnlib.backward(trace, c.e_T, wrt=c.wrt)

    return run


def products_pass(c: Case) -> Callable[[], object]:
    """The bare products of gcnlib's pass, on stand-in operands of the right shapes."""
    trace = gcnlib.forward(c.A, c.H0, c.Ws, c.sigma)
    grads = gcnlib.backward(trace, c.e_T, wrt=c.wrt)
    A, AT, H, e, Ws = trace.A, trace.A.T, trace.H, grads.e, c.Ws
    T = len(Ws)
    narrowing = [W.shape[1] <= W.shape[0] for W in Ws]
    U = [H[t] @ Ws[t] for t in range(T)]
    E, Us = np.hstack(e), np.hstack(U)

    def run():
        # The results that the pass returns stay alive until it ends, as they must in any
        # implementation: Z^t from the forward products, and from the backward products
        # e^{t-1} (before its Hadamard products) and dL/dH^0. Temporaries are dropped.
        S, Z = [None] * T, [None] * T
        kept = []
        for t in range(T):  # forward
            if narrowing[t]:
                Z[t] = A @ (H[t] @ Ws[t])
            else:
                S[t] = A @ H[t]
                Z[t] = S[t] @ Ws[t]
        for t in reversed(range(T)):  # backward
            if narrowing[t]:
                P = AT @ e[t]
                if "W" in c.wrt:
                    H[t].T @ P
                if t > 0 or "H0" in c.wrt:
                    kept.append(P @ Ws[t].T)
                del P
            else:
                if "W" in c.wrt:
                    S[t].T @ e[t]
                if t > 0 or "H0" in c.wrt:
                    kept.append(AT @ (e[t] @ Ws[t].T))
        if "A" in c.wrt:
            if sp.issparse(A):  # layer by layer, as gcnlib does for a sparse A
                sum(sampled_values(A, e[t], H[t] @ Ws[t]) for t in range(T))
            else:
                E @ Us.T

    return run


def sampled_values(A, E, U):
    """Entries of E Uᵀ on A's pattern: counted as one product (no library has it)."""
    from gcnlib.recursion import _sampled_values

    return _sampled_values(A, E, U)


def torch_pass(c: Case):
    import torch

    dtype = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}[c.H0.dtype]
    if sp.issparse(c.A):
        A_csr = c.A.tocsr()
        with warnings.catch_warnings():  # "sparse CSR support is in beta": we know
            warnings.simplefilter("ignore", UserWarning)
            A = torch.sparse_csr_tensor(
                torch.from_numpy(A_csr.indptr.astype(np.int64)),
                torch.from_numpy(A_csr.indices.astype(np.int64)),
                torch.from_numpy(A_csr.data),
                size=A_csr.shape,
                dtype=dtype,
                check_invariants=True,  # checked once, here
            )
        mm = lambda A, X: torch.sparse.mm(A, X)  # noqa: E731
        A.requires_grad_("A" in c.wrt)
    else:
        A = torch.tensor(c.A, dtype=dtype, requires_grad="A" in c.wrt)
        mm = torch.mm
    H0 = torch.tensor(c.H0, dtype=dtype, requires_grad="H0" in c.wrt)
    Ws = [torch.tensor(W, dtype=dtype, requires_grad=True) for W in c.Ws]
    e_T = torch.tensor(c.e_T, dtype=dtype)
    sigma = {"tanh": torch.tanh, "relu": torch.relu}[c.sigma]

    def run():
        for X in [A, H0, *Ws]:
            X.grad = None
        H = H0
        for W in Ws:
            narrowing = W.shape[1] <= W.shape[0]
            Z = mm(A, H @ W) if narrowing else mm(A, H) @ W  # the same good order
            H = sigma(Z)
        Z.backward(e_T)  # dL/dZ^T = e_T
        return [W.grad for W in Ws]

    return run


# --- timing ------------------------------------------------------------------------------


def timer(run: Callable[[], object], inner: int) -> Callable[[], float]:
    """A sampler: one untimed call, then the mean time of ``inner`` timed calls.

    The untimed call puts the process's memory in the state that this pass leaves behind.
    Without it, each sample would start from the state left by the other library's pass,
    and the passes keep different amounts of memory: a pass that follows a smaller one
    maps fresh pages, which is slow on some virtual machines (see benchmarks/README.md).
    A training loop, too, runs the same pass again and again.
    """

    def sample() -> float:
        run()
        start = clock()
        for _ in range(inner):
            run()
        return (clock() - start) / inner

    return sample


def measure(samplers: dict, reps: int) -> dict:
    """Median seconds per call of each sampler, interleaved, after one warm-up round.

    The order of the samplers alternates from round to round. Also the median of the
    per-round ratios ``gcnlib / other``: the two are timed back to
    back in each round, so a slow spell of a shared machine affects both alike.
    """
    times = {k: [] for k in samplers}
    order = list(samplers)
    for r in range(reps + 1):
        # alternate the order: what ran just before (and the memory it freed) matters here
        for k in order if r % 2 else order[::-1]:
            t = samplers[k]()
            if r:
                times[k].append(t)
            if PAUSE and "torch" in samplers:
                time.sleep(PAUSE)
    result = {k: statistics.median(v) for k, v in times.items()}
    for k in samplers:
        if k != "gcnlib":
            result[f"gcnlib/{k}"] = statistics.median(
                g / o for g, o in zip(times["gcnlib"], times[k], strict=True)
            )
    return result


def fmt(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:7.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:7.1f} ms"
    return f"{seconds:7.2f} s "


def bench_case(c: Case, reps: int, use_torch: bool) -> dict:
    m = c.A.shape[0]
    inner = 200 if m < 100 else 1
    samplers = {"gcnlib": timer(gcnlib_pass(c), inner), "products": timer(products_pass(c), inner)}
    if use_torch:
        try:
            run = torch_pass(c)
            run()
            samplers["torch"] = timer(run, inner)
        except Exception as err:  # e.g. a sparse gradient PyTorch does not support
            print(f"  (torch skipped for {c.name}: {type(err).__name__}: {str(err).splitlines()[0][:80]})")
    t = measure(samplers, reps)
    return {"case": c.name, **t}


def bench_cora(epochs: int, reps: int) -> dict:
    data = gcnlib.load_planetoid("cora")
    A_hat = gcnlib.normalize_adjacency(data.A)
    X = (
        data.row_normalized_features()
        if callable(data.row_normalized_features)
        else data.row_normalized_features
    )
    args = (A_hat, X, data.labels, data.idx_train, data.idx_val, data.idx_test)
    times = []
    for r in range(reps + 1):
        start = clock()
        gcnlib.train(*args, epochs=epochs, seed=r)
        if r:
            times.append(clock() - start)
    return {
        "case": f"Cora train, {epochs} epoch{'s' if epochs > 1 else ''}",
        "gcnlib": statistics.median(times),
    }


# --- main -----------------------------------------------------------------------------------

CASES = {
    "dense64": lambda: dense_case(np.float64),
    "dense32": lambda: dense_case(np.float32),
    "sparse": lambda: sparse_case(),
    "sparse-all": lambda: sparse_case(wrt=("W", "A", "H0")),
    "tiny": lambda: tiny_case(),
}
TARGETS = {
    "dense64": "≤1.15× products, ≤1× torch",
    "dense32": "≤1.15× products, ≤1× torch",
    "sparse": "≤1.15× products",
    "sparse-all": "(no target)",
    "tiny": "≤200 µs",
    "cora1": "",
    "cora200": "≤1.5 s",
}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Cases: dense64, dense32 (m=2000, widths 256→128→64→16, tanh, all gradients); "
        "sparse (m=100 000, about 10 neighbours, renormalised, widths 128→64→64→16, tanh, weight "
        "gradients only as in training); sparse-all (the same with dL/dA and dL/dH0); tiny (karate "
        "club, widths 34→16→4→2, all gradients); cora1, cora200 (gcnlib.train, Kipf & Welling's model).",
    )
    parser.add_argument(
        "--cases",
        nargs="+",
        default=list(TARGETS),
        choices=list(TARGETS),
        help="which cases to run (default: all)",
    )
    parser.add_argument(
        "--reps", type=int, default=15, help="timed repetitions per case after one warm-up (default 15)"
    )
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even if it is importable")
    parser.add_argument(
        "--keep-memory",
        action="store_true",
        help="re-run this script with glibc told to keep freed memory (MALLOC_MMAP_MAX_=0): "
        "large arrays then reuse the process's pages instead of faulting in fresh ones, "
        "which is expensive on some virtual machines; shows what page faults cost",
    )
    parser.add_argument(
        "--clock",
        choices=list(CLOCKS),
        default="wall",
        help="wall: elapsed time (default); cpu: this process's CPU time, for a machine "
        "shared with other jobs (run with OPENBLAS_NUM_THREADS=1 and --no-torch, so that "
        "threads waiting for a core do not count as work)",
    )
    args = parser.parse_args(argv)
    global clock
    clock = CLOCKS[args.clock]
    if args.keep_memory and os.environ.get("MALLOC_MMAP_MAX_") != "0":
        env = dict(
            os.environ, MALLOC_MMAP_MAX_="0", MALLOC_TRIM_THRESHOLD_=str(2**40), MALLOC_TOP_PAD_=str(2**28)
        )
        os.execve(sys.executable, [sys.executable, *sys.argv], env)

    use_torch = False
    if not args.no_torch:
        try:
            import torch

            torch.set_num_threads(_blas_threads())
            use_torch = True
        except ImportError:
            print("(PyTorch not importable: no torch column)")
    print(
        f"{time.strftime('%Y-%m-%d')}  {platform.machine()}  {_cpu_name()}  "
        f"numpy {np.__version__}, scipy {__import__('scipy').__version__}"
        + (
            f", torch {__import__('torch').__version__} ({__import__('torch').get_num_threads()} threads)"
            if use_torch
            else ""
        )
    )
    if os.environ.get("MALLOC_MMAP_MAX_") == "0":
        print("glibc keeps freed memory (MALLOC_MMAP_MAX_=0): no fresh pages after warm-up")
    print(
        f"medians of {args.reps} repetitions after a warm-up; ratios are medians of per-repetition ratios; "
        f"{'CPU' if args.clock == 'cpu' else 'wall-clock'} time\n"
    )
    header = f"{'case':<30}{'gcnlib':>11}{'products':>11}{'ratio':>7}{'torch':>11}{'gcn/torch':>10}   target"
    print(header)
    print("-" * len(header))
    for name in args.cases:
        if name.startswith("cora"):
            if not hasattr(gcnlib, "train"):
                print(f"{name:<30}  skipped: gcnlib.train does not exist yet")
                continue
            row = bench_cora(1 if name == "cora1" else 200, reps=max(3, args.reps // 2))
        else:
            row = bench_case(CASES[name](), args.reps, use_torch)
        print(_format_row(row, TARGETS[name]), flush=True)


def _format_row(row: dict, target: str) -> str:
    g, p, t = row["gcnlib"], row.get("products"), row.get("torch")
    cells = [
        f"{row['case']:<30}",
        f"{fmt(g):>11}",
        f"{fmt(p):>11}" if p else f"{'':>11}",
        f"{row['gcnlib/products']:7.2f}" if p else f"{'':>7}",
        f"{fmt(t):>11}" if t else f"{'':>11}",
        f"{row['gcnlib/torch']:10.2f}" if t else f"{'':>10}",
    ]
    return "".join(cells) + f"   {target}"


def _blas_threads() -> int:
    try:
        from threadpoolctl import threadpool_info

        return max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")
    except Exception:  # threadpoolctl is optional
        import os

        return len(os.sched_getaffinity(0))


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return (
                        line.split(":", 1)[1].strip()
                        + f" ({len(__import__('os').sched_getaffinity(0))} cores)"
                    )
    except OSError:
        pass
    return platform.processor()


if __name__ == "__main__":
    main()
