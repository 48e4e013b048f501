"""How long a reader on a phone waits for the built site, and how much each page fetches.

Run by hand (not a test), after ``make book``::

    .venv/bin/python benchmarks/bench_site.py                 # every chapter, CPU throttled 4×
    .venv/bin/python benchmarks/bench_site.py --pages chapters/05_recursion.html --rounds 5
    .venv/bin/python benchmarks/bench_site.py --help

It builds nothing. It serves ``_build/html`` on 127.0.0.1 and opens each chapter in headless
Chromium with a phone's viewport (390×844) and the CPU slowed down by Chrome DevTools'
``Emulation.setCPUThrottlingRate``. For each page it prints:

* ``KB raw`` / ``KB gzip``: the bytes the page fetches (HTML, CSS, scripts, fonts, images), as served
  and as each file would be sent gzip-compressed;
* ``ready, no math``: the time from navigation to DOMContentLoaded of the page without its math:
  the local server leaves out every tag that loads a math asset (a URL that matches
  ``--math-assets``: MathJax's scripts, or the math fonts and style sheet), MathJax's configuration,
  and the formulas typeset at build time;
* ``math, 1st screen``: the time from navigation until every formula in the first screen is rendered
  (it contains typeset output: ``mjx-container``, ``.katex`` or ``<math>``) and every font the page
  asked for has loaded;
* ``math adds``: the difference of the two (medians), which is what the math costs the reader
  (negative when the first screen of math shows before the rest of the page is parsed);
* ``after jump``: the time from a jump to the middle of the page, and from there to its end, until
  the formulas then in view are rendered (the larger of the two);
* ``ready``: DOMContentLoaded of the whole page, math included.

With ``--live`` it then times a chapter run in the reader's browser (the "Run in your browser" path,
``benchmarks/bench_lite.py``): from the click to the kernel ready, to the first result of Run All and
to Run All finished, cold and with the browser's cache.

Every time is the median of ``--rounds`` fresh page loads (a new browser context each, with the
browser's cache off, so nothing is cached between loads); the loads with and without math alternate
in order from one round to the next. Timings on a shared machine are noisy: compare runs made one
after the other.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gzip
import http.server
import importlib.util
import re
import shutil
import statistics
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VIEWPORT = {"width": 390, "height": 844}
# Chromium's flags are those of the browser tests (lite/drive.py).
_spec = importlib.util.spec_from_file_location("drive", ROOT / "lite" / "drive.py")
_drive = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_drive)
CHROMIUM_ARGS = _drive.CHROMIUM_ARGS

# Installed before any script of the page runs: records when the formulas in view are rendered.
# A formula is an element of class "math" (Sphinx's markup); it is rendered once it contains the
# output of a TeX renderer (mjx-container, .katex or <math>) and every font its glyphs use has
# loaded: a formula drawn before its font arrives is not readable. The first screen counts as
# complete once the page is parsed beyond it (or parsed whole), so that a half-parsed screen
# with no formula yet does not count as "all formulas in view rendered".
WATCH_JS = """
window.__mathTimes = {};
window.__watchMath = (key) => {
    const inView = () => Array.from(document.querySelectorAll('.math')).filter(el => {
        const r = el.getBoundingClientRect();
        return r.bottom > 0 && r.top < innerHeight && r.width > 0;
    });
    const screenFull = () => {
        if (document.readyState !== 'loading') { return true; }
        const all = document.body ? document.body.getElementsByTagName('*') : [];
        return all.length > 0 && all[all.length - 1].getBoundingClientRect().top > innerHeight;
    };
    const rendered = el => el.querySelector('mjx-container, .katex, math') !== null;
    const fontsReady = formulas => {
        const families = new Set();
        for (const f of formulas) {
            for (const el of [f, ...f.querySelectorAll('*')]) {
                for (const name of getComputedStyle(el).fontFamily.split(',')) {
                    families.add(name.trim().replace(/^["']|["']$/g, ''));
                }
            }
        }
        return Array.from(document.fonts).every(face =>
            !families.has(face.family.replace(/^["']|["']$/g, '')) || face.status === 'loaded'
            || face.status === 'error');
    };
    const check = () => {
        const formulas = screenFull() ? inView() : null;
        if (formulas && formulas.every(rendered) && fontsReady(formulas)) {
            window.__mathTimes[key] = {t: performance.now(), n: formulas.length};
        } else {
            requestAnimationFrame(check);
        }
    };
    window.__mathTimes[key] = null;
    requestAnimationFrame(check);
};
window.__watchMath('first');
"""

# The page as it would be without math (served for URLs ending in ?nomath): formulas typeset at
# build time are cut out of its HTML, and so are the tags that load math assets (scripts, style
# sheets, font preloads: URLs that match --math-assets).
PRERENDERED = re.compile(
    r"<mjx-container\b.*?</mjx-container>|<span class=\"katex\b.*?</math></span>"
    r"|<math\b.*?</math>",
    re.DOTALL,
)

DOM_READY_JS = "() => performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd"


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the site; ``page.html?nomath`` is the page with its math removed (see ``without_math``)."""

    math_assets: re.Pattern

    def do_GET(self) -> None:  # noqa: N802
        path, _, query = self.path.partition("?")
        if query != "nomath":
            return super().do_GET()
        body = without_math(Path(self.translate_path(path)).read_text(), self.math_assets).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def without_math(page: str, math_assets: re.Pattern) -> str:
    """``page`` without typeset formulas and without the tags that load math assets."""

    def keep(tag: re.Match) -> str:
        return "" if math_assets.search(tag.group(0)) else tag.group(0)

    page = PRERENDERED.sub("", page)
    page = re.sub(r"<script\b[^>]*>.*?</script>", keep, page, flags=re.DOTALL)
    page = re.sub(r"<script\b[^>]*>\s*window\.MathJax\b.*?</script>", "", page, flags=re.DOTALL)
    return re.sub(r"<link\b[^>]*>", keep, page)


class QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        """A page closed while a file was still being sent is not an error of the benchmark."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextlib.contextmanager
def serve(directory: Path, math_assets: re.Pattern) -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1 at a free port; yields the base URL."""
    handler = functools.partial(
        type("Handler", (SiteHandler,), {"math_assets": math_assets}), directory=str(directory)
    )
    httpd = QuietServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()


def open_page(browser, throttle: float):
    """A fresh context and page at a phone's size, with the CPU throttled."""
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=3, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.add_init_script(WATCH_JS)
    cdp = context.new_cdp_session(page)
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": throttle})
    return context, page


def page_weight(browser, url: str) -> tuple[int, int]:
    """Bytes fetched by one load of ``url``: as served, and with each file gzip-compressed."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    bodies: list[bytes] = []
    page.on("requestfinished", lambda request: bodies.append(request.response().body()))
    page.goto(url, wait_until="load")
    page.wait_for_timeout(500)  # late fonts and images
    page.evaluate("document.fonts.ready.then(() => true)")
    context.close()
    return sum(map(len, bodies)), sum(len(gzip.compress(b, 6)) for b in bodies)


def wait_for(page, key: str, timeout_ms: float = 120_000) -> dict:
    page.wait_for_function(f"window.__mathTimes['{key}'] !== null", timeout=timeout_ms, polling=50)
    return page.evaluate(f"window.__mathTimes['{key}']")


def jump_time(page, fraction: float, key: str) -> float:
    """Seconds from a jump to ``fraction`` of the page's height until the formulas in view are rendered."""
    start = page.evaluate(f"""() => {{
        const t = performance.now();
        window.scrollTo(0, {fraction} * (document.documentElement.scrollHeight - innerHeight));
        window.__watchMath('{key}');
        return t;
    }}""")
    return (wait_for(page, key)["t"] - start) / 1000


def ready_without_math(browser, url: str, throttle: float) -> float:
    context, page = open_page(browser, throttle)
    page.goto(f"{url}?nomath", wait_until="domcontentloaded")
    ready = page.evaluate(DOM_READY_JS) / 1000
    context.close()
    return ready


def with_math(browser, url: str, throttle: float) -> dict:
    """First screen of math, jumps to the middle and the end, and the page's own DOMContentLoaded."""
    context, page = open_page(browser, throttle)
    page.goto(url, wait_until="domcontentloaded")
    first = wait_for(page, "first")
    loaded = page.evaluate(DOM_READY_JS) / 1000
    jump = max(jump_time(page, 0.5, "middle"), jump_time(page, 1.0, "end"))
    formulas = page.locator(".math").count()
    context.close()
    return {"first": first["t"] / 1000, "jump": jump, "formulas": formulas, "loaded": loaded}


def measure(browser, url: str, throttle: float, without_first: bool) -> dict:
    """One round: the page without math and with it, in the order given (rounds alternate it)."""
    if without_first:
        ready = ready_without_math(browser, url, throttle)
        return {"ready": ready, **with_math(browser, url, throttle)}
    result = with_math(browser, url, throttle)
    return {"ready": ready_without_math(browser, url, throttle), **result}


def chapter_pages(site: Path) -> list[str]:
    """The book's pages: every HTML page under chapters/ (the index page is a redirect)."""
    return sorted(p.relative_to(site).as_posix() for p in (site / "chapters").glob("*.html"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--site", type=Path, default=ROOT / "_build" / "html", help="the built site (default: _build/html)"
    )
    parser.add_argument("--pages", nargs="*", help="pages relative to the site (default: every chapter)")
    parser.add_argument("--throttle", type=float, default=4.0, help="CPU slow-down factor (default 4)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="page loads per measurement (median; the order of the two loads alternates)",
    )
    parser.add_argument(
        "--math-assets",
        default=r"/(mathjax|katex)[^/]*/|tex-[a-z-]+\.js",
        help="regular expression for the URLs of math assets, left out for 'ready, no math'",
    )
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    parser.add_argument(
        "--live",
        metavar="CHAPTER",
        nargs="?",
        const="chapters/08_explorers.ipynb",
        help="then time CHAPTER (default: chapter 8) run in the browser, click to first result and "
        "to Run All, cold and cached (benchmarks/bench_lite.py, 3 rounds)",
    )
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    if not (args.site / "index.html").exists():
        parser.error(f"no built site in {args.site}: run `make book` first")
    pages = args.pages or chapter_pages(args.site)
    math_assets = re.compile(args.math_assets)
    print(
        f"site {args.site}, viewport {VIEWPORT['width']}×{VIEWPORT['height']}, CPU throttled "
        f"{args.throttle:g}×, median of {args.rounds} loads; times in seconds from navigation\n"
    )
    header = (
        f"{'page':28} {'formulas':>8} {'KB raw':>7} {'KB gzip':>7} {'ready, no math':>14} "
        f"{'math, 1st screen':>16} {'math adds':>9} {'after jump':>10} {'ready':>6}"
    )
    print(header)
    print("-" * len(header))
    with serve(args.site, math_assets) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
        for name in pages:
            url = f"{base}/{name}"
            raw, packed = page_weight(browser, url)
            rounds = [measure(browser, url, args.throttle, r % 2 == 0) for r in range(args.rounds)]
            med = {k: statistics.median(r[k] for r in rounds) for k in ("ready", "first", "jump", "loaded")}
            print(
                f"{name.removeprefix('chapters/'):28} {rounds[0]['formulas']:8d} {raw / 1000:7.0f} "
                f"{packed / 1000:7.0f} {med['ready']:14.2f} {med['first']:16.2f} "
                f"{med['first'] - med['ready']:9.2f} {med['jump']:10.2f} {med['loaded']:6.2f}",
                flush=True,
            )
        browser.close()
    if args.live:
        print(f"\n{args.live} in the browser (JupyterLite), seconds from the click, no throttling:")
        live = importlib.util.spec_from_file_location("bench_lite", ROOT / "benchmarks" / "bench_lite.py")
        bench_lite = importlib.util.module_from_spec(live)
        live.loader.exec_module(bench_lite)
        bench_lite.measure_live(args.site, args.live, rounds=3)


if __name__ == "__main__":
    main()
