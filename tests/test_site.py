"""The built website, opened page by page in a real headless browser.

For each page of ``_build/html`` this test checks what a reader would see with no internet connection:

- MathJax typeset every formula: pages with math contain ``mjx-container`` elements, and no raw
  ``\\(``, ``\\[`` or ``$$`` is left in the visible text;
- every image loaded;
- no request went to a host other than the local server (the site must not need a CDN);
- the browser console shows no error, except a missing ``favicon.ico``.

The test needs Debian's Chromium (``apt-get install chromium``), driven by the PyPI ``playwright``
package. Where Chromium is absent the test is skipped, unless ``GCNLIB_REQUIRE_BROWSER=1`` is set
(``.ci/run`` sets it), in which case it fails.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]
SITE = Path(os.environ.get("GCNLIB_SITE", ROOT / "_build" / "html"))  # what `make book` builds
REQUIRED = os.environ.get("GCNLIB_REQUIRE_BROWSER") == "1"
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

# Visible text of the page with code, scripts and styles removed: what a reader reads as prose.
VISIBLE_PROSE_JS = """() => {
    const main = (document.querySelector('main') || document.body).cloneNode(true);
    main.querySelectorAll('pre, code, script, style, .highlight, mjx-assistive-mml')
        .forEach(node => node.remove());
    return main.innerText;
}"""

# Load every image, lazy ones included, and report those that failed.
BROKEN_IMAGES_JS = """async () => {
    const images = Array.from(document.images);
    for (const img of images) { img.loading = 'eager'; }
    await Promise.all(images.map(img => img.complete ? null :
        new Promise(done => { img.onload = done; img.onerror = done; })));
    return images.filter(img => !(img.complete && img.naturalWidth > 0)).map(img => img.src);
}"""

# Wait until MathJax has finished typesetting (it may be absent on pages without math).
MATHJAX_DONE_JS = """async () => {
    if (!window.MathJax || !MathJax.startup || !MathJax.startup.promise) { return false; }
    await MathJax.startup.promise;
    return true;
}"""


def _unavailable(reason: str) -> None:
    """Skip with ``reason``, or fail when the browser test is required (CI)."""
    if REQUIRED:
        pytest.fail(f"{reason} (GCNLIB_REQUIRE_BROWSER=1: the browser test must run)")
    pytest.skip(reason)


def _chromium() -> str:
    names = ("chromium", "chromium-browser", "google-chrome")
    path = next((found for found in map(shutil.which, names) if found), None)
    if path is None:
        _unavailable("Chromium is not installed: `apt-get install chromium` enables this test")
    return path


def _pages() -> list[Path]:
    if not (SITE / "index.html").exists():
        _unavailable(f"no built site at {SITE}: run `make book` (or `make test`) first")
    skip = {"_static", "_sources", "_images", "_downloads", ".pytest_cache", "lite"}  # lite: test_lite.py
    return sorted(p for p in SITE.rglob("*.html") if not skip & set(p.relative_to(SITE).parts))


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1 at a free port; yields the base URL."""
    handler = functools.partial(QuietHandler, directory=str(directory))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The built site, served locally."""
    with serve(SITE) as url:
        yield url


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    executable = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the `playwright` package is not installed (it is in requirements.txt)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _is_favicon(url: str) -> bool:
    return urlparse(url).path.endswith("favicon.ico")


def check_page(browser: object, url: str) -> list[str]:
    """Open ``url`` and return every problem a reader would meet, as sentences."""
    problems: list[str] = []
    context = browser.new_context()
    page = context.new_page()

    def on_request(request: object) -> None:
        parsed = urlparse(request.url)
        if parsed.scheme in ("http", "https", "ws", "wss") and parsed.hostname not in LOCAL_HOSTS:
            problems.append(f"request to a non-local host: {request.url}")

    def on_response(response: object) -> None:
        if response.status >= 400 and not _is_favicon(response.url):
            problems.append(f"HTTP {response.status} for {response.url}")

    def on_console(message: object) -> None:
        if message.type == "error" and not _is_favicon(message.location.get("url", "")):
            if "favicon.ico" not in message.text:
                problems.append(f"console error: {message.text}")

    page.on("request", on_request)
    page.on("response", on_response)
    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"uncaught exception: {error}"))
    # Anything not served by the local server is refused, as it would be offline.
    page.route(
        lambda u: urlparse(u).hostname not in LOCAL_HOSTS and urlparse(u).scheme != "data",
        lambda route: route.abort(),
    )
    page.goto(url, wait_until="load")

    has_math = page.locator(".math").count() > 0
    if has_math:
        if not page.evaluate(MATHJAX_DONE_JS):
            problems.append("the page has math but MathJax did not load")
        elif page.locator("mjx-container").count() == 0:
            problems.append("the page has math but MathJax typeset nothing")
    prose = page.evaluate(VISIBLE_PROSE_JS)
    for raw in ("\\(", "\\[", "$$"):
        if raw in prose:
            where = prose.index(raw)
            problems.append(f"raw {raw!r} left in the text: ...{prose[max(0, where - 40):where + 40]!r}...")
    for src in page.evaluate(BROKEN_IMAGES_JS):
        problems.append(f"image did not load: {src[:120]}")
    context.close()
    return problems


def redirect_target(path: Path) -> Path | None:
    """The page a redirect stub (such as the top-level ``index.html``) sends readers to, if it is one."""
    match = re.search(r'http-equiv="refresh"[^>]*url=([^"]+)"', path.read_text(), re.IGNORECASE)
    return (path.parent / match.group(1)).resolve() if match else None


def test_every_page_reads_offline(server: str, browser: object) -> None:
    pages = _pages()
    assert len(pages) >= 5, f"expected the book's pages in {SITE}, found {len(pages)}"
    report = {}
    for path in pages:
        relative = path.relative_to(SITE).as_posix()
        target = redirect_target(path)
        if target is not None:
            problems = [] if target.exists() else [f"redirects to a missing page: {target}"]
        else:
            problems = check_page(browser, f"{server}/{relative}")
        if problems:
            report[relative] = problems
    assert not report, "\n".join(f"{page}:\n  " + "\n  ".join(p) for page, p in report.items())


def test_math_pages_are_typeset(server: str, browser: object) -> None:
    """The preface has display math: it must come out as MathJax output, not as TeX source."""
    _pages()
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{server}/chapters/preface.html", wait_until="load")
    assert page.evaluate(MATHJAX_DONE_JS), "MathJax did not load on the preface"
    assert page.locator("mjx-container").count() >= 2
    context.close()


def test_the_check_fails_for_mathjax_from_a_cdn(browser: object, tmp_path: Path) -> None:
    """The check itself works: a page that loads MathJax from a CDN is reported, offline or not."""
    page = tmp_path / "cdn.html"
    page.write_text(
        "<html><head><script defer "
        'src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js"></script></head>'
        '<body><main><p>Some math: <span class="math">\\(x^2\\)</span></p></main></body></html>'
    )
    with serve(tmp_path) as url:
        problems = check_page(browser, f"{url}/cdn.html")
    assert any("non-local host" in p for p in problems), problems
    assert any("MathJax did not load" in p for p in problems), problems
    assert any("raw" in p for p in problems), problems
