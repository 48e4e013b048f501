"""'Run in your browser': every chapter of the site opens as a live notebook in the reader's browser.

With the HTML builder this extension

1. finds the Pyodide runtime (``lite/build_lite.py`` says where it looks); without one it prints one
   line, adds nothing to the pages, and the rest of the site builds as before;
2. adds to every notebook chapter of the table of contents, under its title, a link that opens the
   chapter in JupyterLite (``lite/notebooks/``): Python runs in the reader's browser tab;
3. puts, above every code cell whose metadata has ``run_in_browser: {code: [...]}``, a button that
   starts those lines in a JupyterLite console inside the page (used for the widgets of the
   explorers chapter); the lines are shown beside the button;
4. before the pages are written, builds the JupyterLite site into ``_build/html/lite``; if that
   fails (no wheel of a package to be had, say), it prints why in one line and the pages go
   without the links.

Nothing of the runtime loads before a reader clicks: the pages gain a few lines of HTML and no file.
"""

from __future__ import annotations

import html
import importlib.util
import posixpath
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import quote

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[1]
LITE_DIR = "lite"  # the JupyterLite site, relative to the HTML output directory


BUILDER = ROOT / "lite" / "build_lite.py"


def _load_builder() -> Any:
    spec = importlib.util.spec_from_file_location("build_lite", BUILDER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build_lite = _load_builder() if BUILDER.exists() else None  # a book copied without lite/


def notebooks(app: Sphinx) -> dict[str, Path]:
    """Docname -> source file of every notebook the book builds (the table of contents' chapters)."""
    found = {name: Path(app.env.doc2path(name)) for name in sorted(app.env.found_docs)}
    return {name: path for name, path in found.items() if path.suffix == ".ipynb"}


def on_builder_inited(app: Sphinx) -> None:
    app.gcnlib_runtime = None
    if app.builder.format != "html":
        return
    if build_lite is None:
        logger.info(f"run_in_browser: no in-browser path on this site: {BUILDER} is missing")
        return
    try:
        app.gcnlib_runtime = build_lite.find_runtime()
    except build_lite.RuntimeUnavailable as why:
        logger.info(f"run_in_browser: no in-browser path on this site: {why}")
        return
    app.gcnlib_download_mb = build_lite.runtime_size(app.gcnlib_runtime) / 1e6


def on_env_get_outdated(app: Sphinx, env: Any, added: set, changed: set, removed: set) -> list[str]:
    """Rewrite every notebook page when the in-browser path appears or goes away."""
    state = str(app.gcnlib_runtime is not None)
    if getattr(env, "gcnlib_lite_state", state) == state:
        env.gcnlib_lite_state = state
        return []
    env.gcnlib_lite_state = state
    return list(notebooks(app))


def _lite_url(app: Sphinx, docname: str, target: str) -> str:
    """``target`` inside the JupyterLite site, relative to the page of ``docname``."""
    page_dir = posixpath.dirname(app.builder.get_target_uri(docname))
    return posixpath.relpath(f"{LITE_DIR}/{target}", page_dir or ".")


def chapter_link(app: Sphinx, docname: str, source: Path) -> nodes.raw:
    path = quote(source.resolve().relative_to(ROOT).as_posix())
    url = _lite_url(app, docname, f"notebooks/index.html?path={path}")
    return nodes.raw(
        "",
        (
            '<p class="gcnlib-run-in-browser">'
            f'<a class="btn btn-sm btn-outline-primary" href="{html.escape(url)}" target="_blank" '
            'rel="noopener">&#9654; Run this chapter in your browser</a> '
            '<span class="text-muted">Live Python in a new tab: nothing to install, no server. The '
            f"first start downloads up to {app.gcnlib_download_mb:.0f} MB; the browser keeps it."
            "</span></p>"
        ),
        format="html",
    )


def live_button(app: Sphinx, docname: str, code: list[str]) -> nodes.raw:
    query = "kernel=python&toolbar=1&" + "&".join(f"code={quote(line)}" for line in code)
    url = _lite_url(app, docname, f"repl/index.html?{query}")
    shown = html.escape("; ".join(code))
    start = (
        "const frame = document.createElement('iframe');"
        "frame.src = this.dataset.src; frame.title = 'Live explorer (Python in your browser)';"
        "frame.className = 'gcnlib-live-frame';"
        "frame.style.cssText = 'width: 100%; height: 44rem; border: 1px solid var(--pst-color-border);';"
        "this.parentNode.after(frame); this.disabled = true;"
    )
    return nodes.raw(
        "",
        (
            '<p class="gcnlib-live">'
            f'<button type="button" class="btn btn-sm btn-primary" data-src="{html.escape(url)}" '
            f'onclick="{html.escape(start)}">&#9654; Run this explorer live here</button> '
            f'<span class="text-muted">Starts Python in your browser and runs <code>{shown}</code>. '
            "The first start takes a while; then move the controls.</span></p>"
        ),
        format="html",
    )


def no_runtime_note() -> nodes.raw:
    return nodes.raw(
        "",
        (
            '<p class="gcnlib-live text-muted">This copy of the site was built without the in-browser '
            "Python runtime, so the live explorer cannot start here: the README says how to add it, "
            "or run the chapter with <code>make lab</code>.</p>"
        ),
        format="html",
    )


def on_doctree_resolved(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    if app.builder.format != "html":
        return
    source = notebooks(app).get(docname)
    if source is None:
        return
    live = app.gcnlib_runtime is not None
    for cell in list(doctree.findall(nodes.container)):
        settings = (cell.get("cell_metadata") or {}).get("run_in_browser")
        if cell.get("nb_element") == "cell_code" and settings:
            note = live_button(app, docname, settings["code"]) if live else no_runtime_note()
            cell.parent.insert(cell.parent.index(cell), note)
    if live:
        section = next(iter(doctree.findall(nodes.section)), None)
        title = section.next_node(nodes.title) if section is not None else None
        if title is not None:
            section.insert(section.index(title) + 1, chapter_link(app, docname, source))


def on_env_updated(app: Sphinx, env: Any) -> None:
    """Build the JupyterLite site before the pages are written: they link it only if it exists."""
    if app.gcnlib_runtime is None:
        return
    output = Path(app.outdir) / LITE_DIR
    try:
        build_lite.build(output, list(notebooks(app).values()), app.gcnlib_runtime)
    except (OSError, RuntimeError, subprocess.SubprocessError) as why:
        reason = str(why).strip().splitlines()[0]
        logger.info(f"run_in_browser: no in-browser path on this site: its build failed: {reason}")
        app.gcnlib_runtime = None
        env.gcnlib_lite_state = "failed"  # so that the next build rewrites the notebook pages
        return
    logger.info(
        f"run_in_browser: JupyterLite site with Pyodide from {app.gcnlib_runtime} written to {output}"
    )


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("builder-inited", on_builder_inited)
    app.connect("env-get-outdated", on_env_get_outdated)
    app.connect("doctree-resolved", on_doctree_resolved)
    app.connect("env-updated", on_env_updated)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
