"""The benchmark script ``benchmarks/bench_gcn.py`` keeps working.

Its timings are not tested (it is run by hand, on a quiet machine); these tests check that
it runs, prints its table, and that the three passes it compares compute the same model.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import gcnlib

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import bench_gcn  # noqa: E402


def run_script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_gcn.py"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def test_help_names_every_case():
    result = run_script("--help")
    assert result.returncode == 0, result.stderr
    for case in bench_gcn.TARGETS:
        assert case in result.stdout
    assert "--keep-memory" in result.stdout and "--reps" in result.stdout and "--clock" in result.stdout


def test_tiny_case_prints_one_row_of_the_table():
    result = run_script("--cases", "tiny", "--reps", "1", "--no-torch")
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("karate m=34")]
    assert len(rows) == 1, result.stdout
    ratio = float(rows[0].split("µs")[2].split()[0])  # gcnlib µs, products µs, then the ratio
    assert ratio > 0
    assert "≤200 µs" in rows[0]


def small_case(widths, sparse=False, wrt=("W", "A", "H0")):
    rng = np.random.default_rng(3)
    A = gcnlib.normalize_adjacency(gcnlib.random_graph(40, 4, rng=rng))
    return bench_gcn._case("small", A if sparse else A.toarray(), widths, np.float64, rng, wrt=wrt)


@pytest.mark.parametrize("sparse", [False, True])
def test_products_pass_runs_every_branch(sparse):
    # 6 → 9 widens (the (A H) W order), 9 → 2 narrows; all gradients, so every product appears
    bench_gcn.products_pass(small_case((6, 9, 2), sparse=sparse))()


def test_torch_pass_computes_the_same_weight_gradients_as_gcnlib():
    torch = pytest.importorskip("torch")
    for sparse in (False, True):
        c = small_case((6, 9, 2), sparse=sparse, wrt=("W",))
        grads = bench_gcn.torch_pass(c)()
        ours = gcnlib.backward(gcnlib.forward(c.A, c.H0, c.Ws, c.sigma), c.e_T, wrt=("W",)).W
        for g_torch, g_ours in zip(grads, ours, strict=True):
            assert isinstance(g_torch, torch.Tensor)
            np.testing.assert_allclose(g_torch.numpy(), g_ours, rtol=1e-10, atol=1e-12)
        assert sp.issparse(c.A) == sparse


def test_cpu_clock_prints_the_same_table():
    result = run_script("--cases", "tiny", "--reps", "1", "--no-torch", "--clock", "cpu")
    assert result.returncode == 0, result.stderr
    assert "CPU time" in result.stdout and any(
        line.startswith("karate m=34") for line in result.stdout.splitlines()
    )
