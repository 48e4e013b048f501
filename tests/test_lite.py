"""The chapters run in the reader's browser: JupyterLite with Pyodide, served from the built site.

What a reader of the website meets when they press "Run this chapter in your browser":

- every notebook chapter of the table of contents has the link, and the live notebook it opens is in
  the site; a chapter page loads nothing of the runtime before the click;
- chapter 8 runs top to bottom with no error; moving one slider of each explorer redraws its picture;
  the button above an explorer cell starts that explorer in the page itself;
- chapter 5 runs top to bottom with no error output;
- the MyST markup renders (no raw ``:::{exercise}``), and no request leaves 127.0.0.1 (every other
  request is blocked and counted);
- ``make lab``'s JupyterLab renders the same MyST (jupyterlab-myst).

The browser tests share one Chromium context, so the runtime starts cold once per test session and
the later chapters use the browser's cache. They need Debian's Chromium, driven by the PyPI ``playwright``
package, and a site built with the in-browser path (``make book`` with the Pyodide runtime beside the
project). Without them the tests skip, unless ``GCNLIB_REQUIRE_BROWSER=1`` (CI) turns that into a failure.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SITE = Path(os.environ.get("GCNLIB_SITE", ROOT / "_build" / "html"))
LITE = SITE / "lite"
REQUIRED = os.environ.get("GCNLIB_REQUIRE_BROWSER") == "1"


def _load(name: str) -> object:
    spec = importlib.util.spec_from_file_location(name, ROOT / "lite" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


drive = _load("drive")
build_lite = _load("build_lite")


def _unavailable(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"{reason} (GCNLIB_REQUIRE_BROWSER=1: the in-browser tests must run)")
    pytest.skip(reason)


def toc_notebooks() -> list[Path]:
    """Every notebook chapter listed in _toc.yml, found by walking the table of contents."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files, todo = [], [toc]
    while todo:
        entry = todo.pop(0)
        if isinstance(entry, dict):
            if "file" in entry or "root" in entry:
                files.append(entry.get("file") or entry.get("root"))
            todo.extend(v for k, v in entry.items() if k in ("parts", "chapters", "sections"))
        elif isinstance(entry, list):
            todo.extend(entry)
    paths = [ROOT / f"{name}.ipynb" for name in files]
    return [path for path in paths if path.exists()]


def widget_cells(notebook: Path) -> list[int]:
    """Indices of the code cells whose stored output is a widget."""
    cells = json.loads(notebook.read_text())["cells"]
    return [
        i
        for i, cell in enumerate(cells)
        if cell["cell_type"] == "code"
        and any(
            "application/vnd.jupyter.widget-view+json" in output.get("data", {})
            for output in cell.get("outputs", [])
        )
    ]


@pytest.fixture(scope="module")
def lite_site() -> Path:
    if not (SITE / "index.html").exists():
        _unavailable(f"no built site at {SITE}: run `make book` first")
    if not (LITE / "notebooks" / "index.html").exists():
        _unavailable(f"the site at {SITE} was built without the in-browser path (no {LITE})")
    return LITE


@pytest.fixture(scope="module")
def server(lite_site: Path) -> Iterator[str]:
    with drive.serve(SITE) as url:
        yield url


@pytest.fixture(scope="module")
def context() -> Iterator[object]:
    """One browser context for this file: the runtime is fetched cold once, then from the cache.

    Module scope: Playwright's synchronous API allows one instance at a time in a process, and
    the other browser test may run after this file in the same pytest worker.
    """
    names = ("chromium", "chromium-browser", "google-chrome")
    executable = next((found for found in map(shutil.which, names) if found), None)
    if executable is None:
        _unavailable("Chromium is not installed: `apt-get install chromium` enables this test")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the `playwright` package is not installed (it is in requirements.txt)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=drive.CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.requests = drive.Requests().attach(context)
        yield context
        context.close()
        browser.close()


@pytest.fixture
def page(lite_site: Path, context: object) -> Iterator[object]:
    page = context.new_page()
    page.problems = []
    page.on("pageerror", lambda error: page.problems.append(f"uncaught exception: {error}"))
    yield page
    page.close()
    assert not context.requests.remote, f"requests left 127.0.0.1: {context.requests.remote[:5]}"


def open_chapter(page: object, server: str, notebook: Path) -> None:
    path = notebook.relative_to(ROOT).as_posix()
    drive.open_notebook(page, f"{server}/lite/notebooks/index.html?path={path}")


# --------------------------------------------------------------------------------------------
# The site: links and files, no browser needed
# --------------------------------------------------------------------------------------------


def test_the_toc_has_notebook_chapters() -> None:
    chapters = toc_notebooks()
    assert len(chapters) >= 8 and ROOT / "chapters" / "08_explorers.ipynb" in chapters


@pytest.mark.parametrize("notebook", toc_notebooks(), ids=lambda p: p.stem)
def test_every_chapter_links_to_its_live_notebook(lite_site: Path, notebook: Path) -> None:
    relative = notebook.relative_to(ROOT)
    page = (SITE / relative).with_suffix(".html").read_text()
    links = re.findall(r'href="([^"]*lite/notebooks/index\.html\?path=[^"]*)"', page)
    assert links == [f"../lite/notebooks/index.html?path={relative.as_posix()}"], links
    staged = json.loads((lite_site / "files" / relative).read_text())
    source = json.loads(notebook.read_text())
    assert staged["cells"][1:] == source["cells"], "the live notebook is not the chapter"
    # Nothing of the runtime is loaded by the page itself: no script or style from lite/.
    assert not re.search(r'<(script|link)[^>]+(src|href)="[^"]*lite/', page)


def test_explorer_cells_have_a_live_button(lite_site: Path) -> None:
    notebook = ROOT / "chapters" / "08_explorers.ipynb"
    page = (SITE / "chapters" / "08_explorers.html").read_text()
    buttons = re.findall(r'data-src="([^"]*lite/repl/index\.html\?[^"]*)"', page)
    assert len(widget_cells(notebook)) == 2 and len(buttons) == 2, buttons


def test_the_runtime_is_the_official_one(lite_site: Path) -> None:
    """Every package file the site serves matches Pyodide's lock; the added wheels are listed."""
    runtime = lite_site / "static" / "pyodide"
    official = json.loads((runtime / "pyodide-lock.orig.json").read_text())
    assert official["info"]["version"] == build_lite.PYODIDE_VERSION
    for name, expected in build_lite.package_files(official).items():
        assert hashlib.sha256((runtime / name).read_bytes()).hexdigest() == expected, name
    served = json.loads((runtime / "pyodide-lock.json").read_text())["packages"]
    for added in ("gcnlib", "ipywidgets", "comm"):
        wheel = runtime / served[added]["file_name"]
        assert hashlib.sha256(wheel.read_bytes()).hexdigest() == served[added]["sha256"]
    config = json.loads((lite_site / "jupyter-lite.json").read_text())["jupyter-config-data"]
    kernel = config["litePluginSettings"]["@jupyterlite/pyodide-kernel-extension:kernel"]
    assert kernel["disablePyPIFallback"] is True
    assert {"gcnlib", "ipywidgets"} <= set(kernel["loadPyodideOptions"]["packages"])


# --------------------------------------------------------------------------------------------
# Where the runtime comes from (no browser)
# --------------------------------------------------------------------------------------------


def test_a_missing_runtime_directory_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GCNLIB_PYODIDE_DIR", str(tmp_path / "missing"))
    with pytest.raises(build_lite.RuntimeUnavailable, match="missing is not a directory"):
        build_lite.find_runtime()


def test_the_download_checks_every_file_against_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Package files come from a release URL and must match the lock; a changed file is refused."""
    source = build_lite.ROOT.parent / "shared" / f"pyodide-{build_lite.PYODIDE_VERSION}"
    if not source.is_dir():
        pytest.skip(f"no Pyodide runtime at {source} to play the release")
    release, cache = tmp_path / "release", tmp_path / "cache"
    lock = json.loads((source / "pyodide-lock.json").read_text())
    wanted = build_lite.package_files(lock)
    release.mkdir()
    cache.mkdir()
    for name in wanted:
        os.symlink(source / name, release / name)
    for name in build_lite.CORE_FILES:  # as if npm had delivered the core already
        os.symlink(source / name, cache / name)
    with drive.serve(release) as url:
        monkeypatch.setenv("GCNLIB_PYODIDE_BASE_URL", url + "/")
        assert build_lite.download_runtime(cache) == cache
        assert not build_lite.missing_files(cache)
        victim = sorted(wanted)[0]
        (cache / victim).unlink()
        (release / victim).unlink()
        (release / victim).write_bytes(b"not the official file")
        with pytest.raises(OSError, match="sha256"):
            build_lite.download_runtime(cache)


# --------------------------------------------------------------------------------------------
# In the browser
# --------------------------------------------------------------------------------------------


def test_chapter_page_loads_no_runtime_before_the_click(page: object, server: str) -> None:
    before = len(page.context.requests.local)
    page.goto(f"{server}/chapters/08_explorers.html", wait_until="load")
    fetched = page.context.requests.local[before:]
    assert fetched and not [url for url in fetched if "/lite/" in url], fetched


def test_chapter_8_runs_and_its_explorers_respond(page: object, server: str) -> None:
    open_chapter(page, server, ROOT / "chapters" / "08_explorers.ipynb")
    drive.run_all(page)
    assert not drive.errors(page)
    assert not page.problems, page.problems
    # MyST renders: exercises are boxes, not ":::{exercise}" text.
    text = page.locator(".jp-MarkdownCell").all_inner_texts()  # the rendered text, not the source
    raw = [t[:80] for t in text if ":::" in t or "{eq}" in t or "{ref}" in t or "{exercise}" in t]
    assert not raw and any("Exercise 1" in t for t in text), raw
    explorers = page.locator(".jp-OutputArea-output > .widget-vbox")
    assert explorers.count() == 2, "expected the two explorers' widgets"
    for index, slider in ((0, "depth T"), (1, "epoch")):
        explorer = explorers.nth(index)
        image = explorer.locator("img").first
        image.wait_for()
        page.wait_for_function(
            "img => img.src.startsWith('blob:') || img.src.startsWith('data:')", arg=image.element_handle()
        )
        before = image.get_attribute("src")
        readout = explorer.locator(".widget-slider", has_text=slider)
        value = readout.locator(".widget-readout").inner_text()
        drag_slider(page, readout)
        assert readout.locator(".widget-readout").inner_text() != value, f"{slider} did not move"
        page.wait_for_function(
            "([img, before]) => img.src !== before", arg=[image.element_handle(), before], timeout=120_000
        )


def drag_slider(page: object, slider: object) -> None:
    """Drag the slider's handle to the right by a seventh of its track, as a reader would."""
    handle = slider.locator(".noUi-handle").first
    handle.scroll_into_view_if_needed()
    track = slider.locator(".noUi-target").first.bounding_box()
    box = handle.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + track["width"] / 7, y, steps=5)
    page.mouse.up()


def test_chapter_5_runs_without_error_output(page: object, server: str) -> None:
    open_chapter(page, server, ROOT / "chapters" / "05_recursion.ipynb")
    drive.run_all(page)
    assert not drive.errors(page)
    assert not page.problems, page.problems


def test_the_explorer_button_runs_the_explorer_in_the_page(page: object, server: str) -> None:
    page.goto(f"{server}/chapters/08_explorers.html", wait_until="load")
    button = page.locator("button", has_text="Run this explorer live here").first
    button.click()
    frame = page.frame_locator("iframe.gcnlib-live-frame")
    frame.locator(".widget-slider").first.wait_for(timeout=300_000)
    frame.locator(".jp-OutputArea-output img").first.wait_for(timeout=120_000)
    assert not page.problems, page.problems


# --------------------------------------------------------------------------------------------
# make lab: JupyterLab renders the chapters' MyST
# --------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_jupyterlab_renders_myst(context: object, tmp_path: Path) -> None:
    """What `make lab` opens: a chapter's exercises and equation references come out rendered."""
    port = _free_port()
    jupyter = Path(sys.executable).with_name("jupyter")
    server = subprocess.Popen(
        [
            str(jupyter),
            "lab",
            "--no-browser",
            "--allow-root",
            f"--port={port}",
            "--ServerApp.ip=127.0.0.1",
            "--IdentityProvider.token=",
            f"--ServerApp.root_dir={ROOT / 'chapters'}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "lab.log").open("w"),
        env={**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path), "JUPYTER_RUNTIME_DIR": str(tmp_path)},
    )
    page = context.new_page()
    try:
        url = f"http://127.0.0.1:{port}/lab/tree/08_explorers.ipynb"
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, f"jupyter lab did not start:\n{(tmp_path / 'lab.log').read_text()}"
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=5)
                break
            except OSError:
                assert time.monotonic() < deadline, "jupyter lab did not answer within 120 s"
                time.sleep(0.5)
        page.goto(url)
        exercise = page.locator(".jp-MarkdownCell", has_text="Set the explorer to").first
        exercise.wait_for(timeout=60_000)
        text = exercise.inner_text()
        assert ":::" not in text and "{exercise}" not in text, text
        # JupyterLab renders a markdown cell when it scrolls into view: visit those still raw.
        cells = page.locator(".jp-MarkdownCell")
        for index in range(cells.count()):
            cell = cells.nth(index)
            if "{eq}" in cell.inner_text():  # the visible text: the hidden source does not count
                cell.scroll_into_view_if_needed()
                page.wait_for_function(
                    "cell => !cell.innerText.includes('{eq}')", arg=cell.element_handle(), timeout=30_000
                )
    finally:
        page.close()
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:  # a loaded machine: do not wait for a clean shutdown
            server.kill()
            server.wait()
