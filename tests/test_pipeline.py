"""The test and build pipeline catches what it promises to catch.

- nbval in strict mode compares stored outputs: a notebook whose stored output is wrong fails.
- The book build is strict: a notebook cell that raises makes ``jupyter-book build`` fail.

Each test runs the real tool in a subprocess on a tiny notebook made here, so a change to the
Makefile's flags or the sanitize file that weakened either promise would show up.
"""

from __future__ import annotations

import re
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
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "--nbval",
        "--nbval-current-env",
        "--nbval-sanitize-with",
        str(SANITIZE),
        str(notebook),
    ]
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


@pytest.mark.skipif(
    shutil.which("jupyter-book", path=str(Path(sys.executable).parent)) is None,
    reason="jupyter-book is not installed next to this Python",
)
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


MATH_PAGE = r"""# Every kind of formula

Inline dollars $A \odot B$, a role {math}`\operatorname{tr}(A^\top B)`, and a display:

$$
e^t = \left(A^\top e^{t+1} W^{t+1\top}\right) \odot \sigma'(Z^t)
$$ (eq-tiny)

An amsmath environment:

\begin{align}
dL &= e^t : dZ^t \\
   &= e^t : A\, dH^{t-1} W^t
\end{align}

Equation {eq}`eq-tiny` is referenced.

```{note}
Math in an admonition: $\sum_{k} A_{ik} B_{kj}$.
```

:::{exercise}
:label: ex-tiny
Math in an exercise: $\frac{\partial L}{\partial W}$.
:::
"""


def build_tiny_book(tmp_path: Path, page: str) -> tuple[subprocess.CompletedProcess, Path]:
    """Build a one-page Markdown book with the project's configuration and extensions."""
    jupyter_book = str(Path(sys.executable).parent / "jupyter-book")
    book = tmp_path / "book"
    book.mkdir()
    for name in ("_config.yml", "references.bib"):
        shutil.copy(ROOT / name, book / name)
    for folder in ("_ext", "assets", "_templates"):
        shutil.copytree(ROOT / folder, book / folder)
    (book / "node_modules").symlink_to(ROOT / "node_modules")
    (book / "_toc.yml").write_text("format: jb-book\nroot: page\n")
    (book / "page.md").write_text(page)
    build = [jupyter_book, "build", "-W", "-n", "--keep-going", str(book)]
    return subprocess.run(build, capture_output=True, text=True, timeout=300), book


@pytest.mark.skipif(
    shutil.which("jupyter-book", path=str(Path(sys.executable).parent)) is None
    or not (ROOT / "node_modules" / "mathjax-full").is_dir(),
    reason="jupyter-book or the Node packages (npm ci) are not installed",
)
def test_every_kind_of_formula_is_typeset_at_build_time(tmp_path: Path) -> None:
    result, book = build_tiny_book(tmp_path, MATH_PAGE)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    html = (book / "_build" / "html" / "page.html").read_text()
    formulas = re.findall(
        r'<(span|div) class="[^"]*\bmath notranslate nohighlight[^"]*"[^>]*>(.*?)</\1>', html, re.DOTALL
    )
    assert len(formulas) == 6, [f[1][:60] for f in formulas]
    for _, inner in formulas:
        assert "<mjx-container" in inner and "\\(" not in inner and "\\[" not in inner
    assert '<span class="eqno">(1)' in html and 'id="equation-eq-tiny"' in html
    assert 'href="#equation-eq-tiny"' in html  # the {eq} reference
    assert "mjx-mtable" in html  # the align environment, typeset as a table of rows
    assert not re.search(r"<script[^>]*mathjax|window\.MathJax", html, re.IGNORECASE)  # no script
    css = book / "_build" / "html" / "_static" / "mathjax-chtml" / "mathjax.css"
    assert "MathJax_Main-Regular.woff" in css.read_text()
    assert (css.parent / "fonts" / "MathJax_Main-Regular.woff").exists()


@pytest.mark.skipif(
    shutil.which("jupyter-book", path=str(Path(sys.executable).parent)) is None
    or not (ROOT / "node_modules" / "mathjax-full").is_dir(),
    reason="jupyter-book or the Node packages (npm ci) are not installed",
)
def test_a_tex_error_fails_the_build(tmp_path: Path) -> None:
    result, _ = build_tiny_book(tmp_path, "# Broken\n\nAn unknown macro: $\\notamacro{x}$.\n")
    assert result.returncode != 0, "a TeX error must fail the strict build"
    assert "TeX error" in result.stdout + result.stderr and "notamacro" in result.stdout + result.stderr
