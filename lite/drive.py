"""Drive a chapter in the site's JupyterLite from Playwright: open it, run it, read its outputs.

Used by ``tests/test_lite.py`` and ``benchmarks/bench_lite.py``. The page exposes the JupyterLab
application as ``window.jupyterapp`` (``exposeAppInBrowser`` in ``lite/jupyter-lite.json``), so the
helpers talk to the notebook through JupyterLab's own API rather than through its markup.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

LOCAL_HOSTS = {"127.0.0.1", "localhost"}
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

KERNEL_IDLE_JS = """() => {
    const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    const kernel = panel && panel.sessionContext && panel.sessionContext.session
        && panel.sessionContext.session.kernel;
    return !!kernel && kernel.status === 'idle' && !panel.sessionContext.isRestarting;
}"""

# Code cells that have not run since the notebook was opened (the stored counts are cleared first).
PENDING_JS = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    const cells = panel.content.model.cells;
    let pending = 0;
    for (let i = 0; i < cells.length; i++) {
        const cell = cells.get(i);
        if (cell.type === 'code' && cell.executionCount === null) { pending += 1; }
    }
    return pending;
}"""

CLEAR_OUTPUTS_JS = """async () => {
    await window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs');
    const cells = window.jupyterapp.shell.currentWidget.content.model.cells;
    for (let i = 0; i < cells.length; i++) {
        const cell = cells.get(i);
        if (cell.type === 'code') { cell.executionCount = null; }
    }
}"""

OUTPUTS_JS = """() => {
    const cells = window.jupyterapp.shell.currentWidget.content.model.cells;
    const found = [];
    for (let i = 0; i < cells.length; i++) {
        const cell = cells.get(i);
        if (cell.type !== 'code') { continue; }
        for (let j = 0; j < cell.outputs.length; j++) {
            found.push({cell: i, ...cell.outputs.get(j).toJSON()});
        }
    }
    return found;
}"""


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".wasm": "application/wasm",
        ".mjs": "text/javascript",
    }

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        """A browser that closes a connection early (a page left mid-download) is no error."""


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1 at a free port; yields the base URL."""
    handler = functools.partial(QuietHandler, directory=str(directory))
    httpd = QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


class Requests:
    """Blocks every request that would leave 127.0.0.1 and keeps what was asked for."""

    def __init__(self) -> None:
        self.remote: list[str] = []
        self.local: list[str] = []

    def route(self, route: object) -> None:
        url = route.request.url
        parsed = urlparse(url)
        if parsed.scheme in ("http", "https", "ws", "wss") and parsed.hostname not in LOCAL_HOSTS:
            self.remote.append(url)
            route.abort()
        else:
            self.local.append(url)
            route.continue_()

    def attach(self, context: object) -> Requests:
        context.route("**/*", self.route)
        return self


def open_notebook(page: object, url: str, timeout_s: float = 300) -> dict[str, float]:
    """Open a JupyterLite notebook URL; wait until its kernel is idle. Returns the times taken."""
    start = time.perf_counter()
    page.goto(url)
    page.wait_for_function("() => window.jupyterapp !== undefined", timeout=timeout_s * 1000)
    page.wait_for_function("() => !!window.jupyterapp.shell.currentWidget", timeout=timeout_s * 1000)
    shown = time.perf_counter() - start
    page.wait_for_function(KERNEL_IDLE_JS, timeout=timeout_s * 1000, polling=100)
    return {"interface": shown, "kernel ready": time.perf_counter() - start, "start": start}


def run_all(page: object, timeout_s: float = 600) -> dict[str, float]:
    """Run every cell from a clean state; returns seconds to the first output and to the end."""
    page.evaluate(CLEAR_OUTPUTS_JS)
    start = time.perf_counter()
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    first = None
    deadline = start + timeout_s
    while time.perf_counter() < deadline:
        if first is None and page.evaluate(OUTPUTS_JS):
            first = time.perf_counter() - start
        if page.evaluate(PENDING_JS) == 0 and page.evaluate(KERNEL_IDLE_JS):
            break
        time.sleep(0.1)
    else:
        raise TimeoutError(f"Run All did not finish in {timeout_s} s")
    end = time.perf_counter() - start
    return {"first output": first if first is not None else end, "run all": end}


def outputs(page: object) -> list[dict]:
    """Every output of every code cell, as nbformat dictionaries with the cell's index added."""
    return page.evaluate(OUTPUTS_JS)


def errors(page: object) -> list[str]:
    """The error outputs (tracebacks) of the notebook, as 'cell N: Name: value' lines."""
    return [
        f"cell {o['cell']}: {o.get('ename')}: {o.get('evalue')}"
        for o in outputs(page)
        if o.get("output_type") == "error"
    ]
