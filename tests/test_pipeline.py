"""The test and build pipeline catches what it promises to catch.

- nbval in strict mode compares stored outputs: a notebook whose stored output is wrong fails.
- The book build is strict: a notebook cell that raises makes ``jupyter-book build`` fail.

Each test runs the real tool in a subprocess on a tiny notebook made here, so a change to the
Makefile's flags or the sanitize file that weakened either promise would show up.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
SANITIZE = ROOT / "tests" / "nbval_sanitize.cfg"


def tiny_notebook(path: Path, source: str, stored_output: str | None) -> None:
    """A one-cell notebook whose stored stdout is ``stored_output`` (None: no output)."""
    cell = nbformat.v4.new_code_cell(source)
    if stored_output is not None:
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=stored_output)]
    cell.execution_count = 1
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Tiny"), cell])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, path)


def run_nbval(notebook: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval",
               "--nbval-current-env", "--nbval-sanitize-with", str(SANITIZE), str(notebook)]
    return subprocess.run(command, capture_output=True, text=True, cwd=notebook.parent, timeout=120)


def test_nbval_compares_stored_outputs(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.ipynb", tmp_path / "bad.ipynb"
    tiny_notebook(good, "print(6 * 7)", "42\n")
    tiny_notebook(bad, "print(6 * 7)", "43\n")
    assert run_nbval(good).returncode == 0
    result = run_nbval(bad)
    assert result.returncode != 0, "nbval accepted a wrong stored output"
    assert "43" in result.stdout and "42" in result.stdout


def test_sanitizer_only_forgives_round_off(tmp_path: Path) -> None:
    """A round-off-sized number may differ; a number of ordinary size may not."""
    tiny = tmp_path / "tiny.ipynb"
    tiny_notebook(tiny, "print(f'{2.0**-52:.1e}')", "4.4e-16\n")
    assert run_nbval(tiny).returncode == 0
    tiny_notebook(tiny, "print(f'{2.0**-52:.1e}')", "3.1e-16\n")
    assert run_nbval(tiny).returncode == 0, "round-off-sized numbers should be sanitised"
    tiny_notebook(tiny, "print(f'{2.0**-5:.1e}')", "3.2e-02\n")
    assert run_nbval(tiny).returncode != 0, "numbers of ordinary size must be compared"


@pytest.mark.skipif(shutil.which("jupyter-book", path=str(Path(sys.executable).parent)) is None,
                    reason="jupyter-book is not installed next to this Python")
def test_a_raising_cell_fails_the_build(tmp_path: Path) -> None:
    jupyter_book = str(Path(sys.executable).parent / "jupyter-book")
    book = tmp_path / "book"
    book.mkdir()
    for name in ("_config.yml", "references.bib"):
        shutil.copy(ROOT / name, book / name)
    shutil.copytree(ROOT / "_ext", book / "_ext")
    shutil.copytree(ROOT / "assets", book / "assets")
    shutil.copytree(ROOT / "_templates", book / "_templates")
    (book / "node_modules").symlink_to(ROOT / "node_modules")  # MathJax, for the math at build time
    (book / "_toc.yml").write_text("format: jb-book\nroot: page\n")
    tiny_notebook(book / "page.ipynb", "print('fine')", "fine\n")
    build = [jupyter_book, "build", "-W", "-n", "--keep-going", str(book)]
    ok = subprocess.run(build, capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stdout[-3000:] + ok.stderr[-3000:]
    tiny_notebook(book / "page.ipynb", "raise RuntimeError('a broken chapter')", None)
    broken = subprocess.run(build, capture_output=True, text=True, timeout=300)
    assert broken.returncode != 0, "a cell that raises must fail the build"
    assert "a broken chapter" in broken.stdout + broken.stderr
