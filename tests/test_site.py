"""The built website, opened page by page in a real headless browser.

For each page of ``_build/html`` this test checks what a reader would see with no internet connection:

- every formula is typeset: each element Sphinx marks as math holds MathJax's output (typeset when
  the book was built, ``_ext/prerendered_math.py``), its fonts load, no TeX error shows, no raw
  ``\\(``, ``\\[`` or ``$$`` is left in the visible text, and every numbered equation shows its
  number and is the target of the links that refer to it;
- every image loaded;
- no request went to a host other than the local server (the site must not need a CDN);
- the browser console shows no error, except a missing ``favicon.ico``;
- on a phone's screen (390 px wide) nothing is wider than the screen unless it sits in a box that
  scrolls sideways on its own (wide equations, code, tables), and no equation number overlaps its
  equation;
- on a wide screen the page has one search field (some theme versions add a second, empty one);
- every Font Awesome icon a page can show (menus and the colour modes included) has its glyph in the
  icon font it is drawn with, which the build cuts down to the site's icons (``_ext/subset_icons.py``),
  and on a phone's screen the header's icons are drawn from those fonts, not as missing glyphs.

The test needs Debian's Chromium (``apt-get install chromium``), driven by the PyPI ``playwright``
package. Where Chromium is absent the test is skipped, unless ``GCNLIB_REQUIRE_BROWSER=1`` is set
(``.ci/run`` sets it), in which case it fails.
"""

from __future__ import annotations

import importlib.util
import io
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]
SITE = Path(os.environ.get("GCNLIB_SITE", ROOT / "_build" / "html"))  # what `make book` builds
REQUIRED = os.environ.get("GCNLIB_REQUIRE_BROWSER") == "1"
# The local server, Chromium's flags and the local hosts are those of the in-browser tests (lite/drive.py).
_spec = importlib.util.spec_from_file_location("drive", ROOT / "lite" / "drive.py")
drive = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(drive)
LOCAL_HOSTS, CHROMIUM_ARGS, serve = drive.LOCAL_HOSTS, drive.CHROMIUM_ARGS, drive.serve

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

# Every formula of the page (not a sample): those without typeset output, those showing a TeX
# error, numbered equations without a visible number, and equation links without a target.
FORMULAS_JS = """async () => {
    await document.fonts.ready;
    const formulas = Array.from(document.querySelectorAll('.math'));
    const text = el => el.textContent.trim().slice(0, 80);
    const mathjaxFaces = Array.from(document.fonts).filter(f => f.family.startsWith('MJX'));
    return {
        count: formulas.length,
        untypeset: formulas.filter(el => !el.querySelector(':scope > mjx-container')).map(text),
        errors: Array.from(document.querySelectorAll('.math mjx-merror, .math .math-error')).map(text),
        unnumbered: Array.from(document.querySelectorAll('div.math[id^="equation-"]'))
            .filter(el => !/^\\([0-9.]+\\)/.test((el.querySelector('.eqno') || {}).textContent || '')
                          || el.querySelector('.eqno').getBoundingClientRect().width === 0)
            .map(el => el.id),
        dangling: Array.from(document.querySelectorAll('a[href^="#equation-"]'))
            .filter(a => !document.getElementById(decodeURIComponent(a.hash.slice(1))))
            .map(a => a.getAttribute('href')),
        fontsFailed: mathjaxFaces.filter(f => f.status === 'error').map(f => f.family),
        fontsLoaded: mathjaxFaces.filter(f => f.status === 'loaded').length,
    };
}"""


PHONE = {"width": 390, "height": 844}

# The site lets the browser skip drawing sections far from the screen (content-visibility); the
# checks look at every section, so they draw them all.
DRAW_EVERYTHING_CSS = "* { content-visibility: visible !important; }"

# What does not fit a phone's screen: the outermost elements of the page that reach past the
# right edge of the screen without a box around them that scrolls sideways; and equation numbers
# that overlap their equation's box.
PHONE_LAYOUT_JS = """() => {
    const width = document.documentElement.clientWidth;
    const problems = [];
    if (document.documentElement.scrollWidth > width + 1) {
        problems.push(`the page scrolls sideways: ${document.documentElement.scrollWidth} px wide`);
    }
    const scrolls = el => /auto|scroll/.test(getComputedStyle(el).overflowX)
        && el.getBoundingClientRect().right <= width + 1;
    const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
        + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/ +/).join('.') : '');
    const hidden = el => {  // off-canvas sidebars are hidden, whatever their children say
        for (let box = el; box && box !== document.body; box = box.parentElement) {
            if (getComputedStyle(box).visibility === 'hidden') { return true; }
        }
        return false;
    };
    const offenders = new Set();
    for (const el of document.querySelectorAll('.bd-main *')) {
        if (el.closest('mjx-assistive-mml') || hidden(el)) { continue; }
        const r = el.getBoundingClientRect();
        if (r.width === 0 || r.height === 0 || r.right <= width + 1) { continue; }
        let box = el.parentElement, contained = false;
        while (box && box !== document.body) {
            if (scrolls(box)) { contained = true; break; }
            box = box.parentElement;
        }
        if (contained) { continue; }
        let outer = el.parentElement, reported = false;
        while (outer) { if (offenders.has(outer)) { reported = true; break; } outer = outer.parentElement; }
        if (!reported) {
            offenders.add(el);
            problems.push(`${name(el).slice(0, 80)} reaches ${Math.round(r.right)} px: `
                          + JSON.stringify(el.textContent.trim().slice(0, 60)));
        }
    }
    for (const math of document.querySelectorAll('div.math')) {
        const number = math.querySelector(':scope > .eqno');
        const formula = math.querySelector(':scope > mjx-container');
        if (!number || !formula) { continue; }
        const a = number.getBoundingClientRect(), b = formula.getBoundingClientRect();
        if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) {
            problems.push(`equation number ${number.textContent.trim()} overlaps its equation`);
        }
    }
    return problems;
}"""

# Search fields a reader can see.
VISIBLE_SEARCH_FIELDS_JS = """() => Array.from(document.querySelectorAll(
        '.search-button-field, form.bd-search input, input[type=search]'))
    .filter(el => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0
                    && getComputedStyle(el).visibility !== 'hidden'; }).length"""


# Every Font Awesome icon of the page, shown or not (menus, the other colour modes): the characters
# that an element's ::before or ::after draws with a Font Awesome font, with the font's family and
# weight. Math is skipped: its thousands of elements draw with MathJax's fonts.
ICONS_JS = """() => {
    const icons = [];
    for (const el of document.querySelectorAll('body *:not(mjx-container, mjx-container *)')) {
        for (const pseudo of ['::before', '::after']) {
            const style = getComputedStyle(el, pseudo);
            const family = style.fontFamily.split(',').map(f => f.trim().replace(/^"|"$/g, ''))
                .find(f => f.startsWith('Font Awesome'));
            if (family && style.content.startsWith('"')) {
                icons.push({family, weight: style.fontWeight, content: style.content, pseudo,
                            element: [el.tagName.toLowerCase(), ...el.classList].join('.')});
            }
        }
    }
    return icons;
}"""

# The icons of the header a reader sees, each tagged so that Chrome DevTools can find it; and the
# Font Awesome faces that failed to load.
HEADER_ICONS_JS = """() => {
    const icons = Array.from(document.querySelectorAll('.bd-header *, .bd-header-article *'))
        .filter(el => getComputedStyle(el, '::before').fontFamily.includes('Font Awesome')
                      && getComputedStyle(el, '::before').content.startsWith('"') && el.checkVisibility());
    document.querySelectorAll('[data-icon-probe]').forEach(el => { delete el.dataset.iconProbe; });
    icons.forEach(el => { el.dataset.iconProbe = [el.tagName.toLowerCase(), ...el.classList].join('.'); });
    return Array.from(document.fonts).filter(f => f.family.includes('Font Awesome') && f.status === 'error')
        .map(f => `${f.family} ${f.weight}`);
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


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The built site, served locally."""
    with serve(SITE) as url:
        yield url


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
    page.add_style_tag(content=DRAW_EVERYTHING_CSS)

    math = page.evaluate(FORMULAS_JS)
    for formula in math["untypeset"]:
        problems.append(f"formula not typeset: {formula!r}")
    for formula in math["errors"]:
        problems.append(f"TeX error shown: {formula!r}")
    for label in math["unnumbered"]:
        problems.append(f"numbered equation without a visible number: {label}")
    for href in math["dangling"]:
        problems.append(f"link to a missing equation: {href}")
    for family in math["fontsFailed"]:
        problems.append(f"math font did not load: {family}")
    if math["count"] and not math["fontsLoaded"]:
        problems.append("the page has math but no math font loaded")
    prose = page.evaluate(VISIBLE_PROSE_JS)
    for raw in ("\\(", "\\[", "$$"):
        if raw in prose:
            where = prose.index(raw)
            problems.append(f"raw {raw!r} left in the text: ...{prose[max(0, where - 40) : where + 40]!r}...")
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


def phone_layout_problems(browser: object, url: str) -> list[str]:
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(url, wait_until="load")
    page.add_style_tag(content=DRAW_EVERYTHING_CSS)
    page.evaluate("document.fonts.ready.then(() => true)")
    problems = page.evaluate(PHONE_LAYOUT_JS)
    context.close()
    return problems


def test_every_page_fits_a_phone(server: str, browser: object) -> None:
    report = {}
    for path in _pages():
        if redirect_target(path) is None:
            relative = path.relative_to(SITE).as_posix()
            problems = phone_layout_problems(browser, f"{server}/{relative}")
            if problems:
                report[relative] = problems
    assert not report, "\n".join(f"{page}:\n  " + "\n  ".join(p) for page, p in report.items())


def test_the_phone_check_finds_what_does_not_fit(browser: object, tmp_path: Path) -> None:
    (tmp_path / "wide.html").write_text(
        '<html><body><div class="bd-main"><p style="width:600px">a wide paragraph</p>'
        '<div style="overflow-x:auto"><pre style="width:900px">wide code that scrolls</pre></div>'
        '<div class="math" style="display:flex"><span class="eqno" style="position:absolute;left:0">'
        '(1.1)</span><mjx-container style="display:block;width:300px">x</mjx-container></div>'
        "</div></body></html>"
    )
    with serve(tmp_path) as url:
        problems = phone_layout_problems(browser, f"{url}/wide.html")
    assert any("a wide paragraph" in p for p in problems), problems
    assert not any("wide code" in p for p in problems), problems
    assert any("(1.1) overlaps" in p for p in problems), problems


def icon_fonts(site: Path) -> dict[tuple[str, int], list[Path]]:
    """The site's Font Awesome faces, from its style sheets' @font-face rules: (family, weight) → files."""
    faces = {}
    for sheet in (site / "_static").rglob("*.css"):
        for body in re.findall(r"@font-face\s*\{([^}]*)\}", sheet.read_text(errors="replace")):
            family = re.search(r"font-family:\s*([^;]+)", body)[1].replace("\\", "").strip("\"' ")
            if family.startswith("Font Awesome"):
                weight = int(re.search(r"font-weight:\s*(\d+)", body)[1])
                urls = re.findall(r"url\(\s*[\"']?([^\"')]+)", body)
                faces[family, weight] = [(sheet.parent / url).resolve() for url in urls]
    return faces


def test_every_icon_has_its_glyph(server: str, browser: object) -> None:
    """Each icon any page can show is in the icon font that draws it (fonts cut down at build time)."""
    from fontTools.ttLib import TTFont

    faces = icon_fonts(SITE)
    assert faces, f"no Font Awesome @font-face in the style sheets of {SITE}"
    characters = {path: set(TTFont(path).getBestCmap()) for paths in faces.values() for path in paths}
    for path, kept in characters.items():  # the whole solid font maps 1966 characters
        assert 0 < len(kept) < 200, (
            f"{path.name} has {len(kept)} characters: not cut down to the site's icons"
        )
    report, shown = {}, set()
    for path in _pages():
        if redirect_target(path) is not None:
            continue
        relative = path.relative_to(SITE).as_posix()
        context = browser.new_context(viewport=PHONE)
        page = context.new_page()
        page.goto(f"{server}/{relative}", wait_until="load")
        icons = page.evaluate(ICONS_JS)
        context.close()
        problems = []
        for icon in icons:
            weights = [w for family, w in faces if family == icon["family"]]
            if not weights:
                problems.append(f"{icon['element']}{icon['pseudo']}: no @font-face for {icon['family']}")
                continue
            weight = min(weights, key=lambda w: abs(w - int(icon["weight"])))  # the face drawn with
            for char in icon["content"][1:-1].replace('\\"', '"'):
                shown.add((icon["family"], weight, char))
                for font in faces[icon["family"], weight]:
                    if ord(char) not in characters[font]:
                        problems.append(
                            f"{icon['element']}{icon['pseudo']}: U+{ord(char):04X} not in {font.name}"
                        )
        if problems:
            report[relative] = sorted(set(problems))
    assert not report, "\n".join(f"{page}:\n  " + "\n  ".join(p) for page, p in report.items())
    assert len(shown) >= 10, f"expected the header's icons and more, found {sorted(shown)}"


def header_icon_fonts(browser: object, url: str, solid: bytes | None = None) -> dict[str, list[str]]:
    """The fonts that drew each icon a reader sees in the header at a phone's width, in each colour
    mode, as Chromium reports them (DevTools' ``CSS.getPlatformFontsForNode``; "failed" lists the
    icon fonts that did not load). ``solid`` replaces the solid icon font, for the check's own test."""
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    if solid is not None:
        page.route(
            "**/fa-solid-900.woff2", lambda route: route.fulfill(body=solid, content_type="font/woff2")
        )
    page.goto(url, wait_until="load")
    devtools = context.new_cdp_session(page)
    devtools.send("DOM.enable")
    devtools.send("CSS.enable")
    drawn: dict[str, list[str]] = {"failed": []}
    for mode in ("auto", "light", "dark"):
        page.evaluate(f"document.documentElement.dataset.mode = '{mode}'")
        page.evaluate("document.fonts.ready.then(() => true)")
        drawn["failed"] += page.evaluate(HEADER_ICONS_JS)
        root = devtools.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
        found = devtools.send("DOM.querySelectorAll", {"nodeId": root, "selector": "[data-icon-probe]"})
        for node_id in found["nodeIds"]:
            node = devtools.send("DOM.describeNode", {"nodeId": node_id})["node"]
            name = node["attributes"][node["attributes"].index("data-icon-probe") + 1]
            before = next(p for p in node.get("pseudoElements", []) if p["pseudoType"] == "before")
            fonts = devtools.send("CSS.getPlatformFontsForNode", {"nodeId": before["nodeId"]})["fonts"]
            drawn[f"{name} ({mode} mode)"] = [font["familyName"] for font in fonts]
    context.close()
    return drawn


def header_icon_problems(drawn: dict[str, list[str]]) -> list[str]:
    """Header icons not drawn with a Font Awesome font alone (a missing glyph falls back to another font)."""
    problems = [f"icon font did not load: {face}" for face in drawn.pop("failed")]
    for icon, fonts in drawn.items():
        if not fonts or not all(font.startswith("Font Awesome") for font in fonts):
            problems.append(f"{icon} is drawn with {fonts}, not with its icon font: a missing glyph")
    return problems


def test_the_header_icons_render_on_a_phone(server: str, browser: object) -> None:
    _pages()
    drawn = header_icon_fonts(browser, f"{server}/chapters/04_hadamard.html")
    problems = header_icon_problems(drawn)
    assert not problems, "\n".join(problems)
    icons = " ".join(drawn)
    for icon in ("fa-bars", "fa-magnifying-glass", "fa-github", "fa-sun", "fa-moon", "fa-circle-half-stroke"):
        assert icon in icons, f"no {icon} among the header's icons at 390 px: {icons}"


def test_the_icon_check_finds_a_dropped_glyph(server: str, browser: object) -> None:
    """The check itself works: a solid icon font without the magnifying glass (U+F002) is reported."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    _pages()
    font = TTFont(SITE / "_static" / "vendor" / "fontawesome" / "webfonts" / "fa-solid-900.woff2")
    options = subset.Options(flavor="woff2")
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=set(font.getBestCmap()) - {0xF002})
    subsetter.subset(font)
    broken = io.BytesIO()
    subset.save_font(font, broken, options)
    drawn = header_icon_fonts(browser, f"{server}/chapters/04_hadamard.html", broken.getvalue())
    problems = header_icon_problems(drawn)
    assert problems and all("fa-magnifying-glass" in p for p in problems), problems


def test_one_search_field_on_a_wide_screen(server: str, browser: object) -> None:
    _pages()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{server}/chapters/preface.html", wait_until="load")
    assert page.evaluate(VISIBLE_SEARCH_FIELDS_JS) == 1
    context.close()


def test_math_is_typeset_without_scripts(server: str, browser: object) -> None:
    """The recursion chapter's formulas are on the page as built: no script, no MathJax in the browser."""
    _pages()
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{server}/chapters/05_recursion.html", wait_until="load")
    assert page.locator("div.math > mjx-container[display=true]").count() >= 10
    assert page.locator("span.math > mjx-container").count() >= 100
    assert page.locator("div.math span.eqno").count() >= 3
    assert page.locator("script[src*=mathjax], script[src*=MathJax]").count() == 0
    assert page.locator("mjx-assistive-mml math").count() == page.locator("mjx-container").count(), (
        "every formula carries its MathML for screen readers"
    )
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
    assert any("formula not typeset" in p for p in problems), problems
    assert any("raw" in p for p in problems), problems


def test_the_check_finds_tex_errors_and_missing_numbers(browser: object, tmp_path: Path) -> None:
    """A TeX error on the page, an equation without its number and a dangling link are reported."""
    (tmp_path / "bad.html").write_text(
        '<html><body><main><p><span class="math"><mjx-container><mjx-merror>\\foo</mjx-merror>'
        '</mjx-container></span></p><div class="math" id="equation-x"><mjx-container>x'
        '</mjx-container></div><a href="#equation-y">(1.1)</a></main></body></html>'
    )
    with serve(tmp_path) as url:
        problems = check_page(browser, f"{url}/bad.html")
    assert any("TeX error" in p for p in problems), problems
    assert any("without a visible number: equation-x" in p for p in problems), problems
    assert any("missing equation: #equation-y" in p for p in problems), problems


def test_site_benchmark_runs_on_one_page() -> None:
    """``benchmarks/bench_site.py`` (run by hand) keeps working: one page, one round, no throttle."""
    import subprocess
    import sys

    _pages()
    _chromium()
    command = [
        sys.executable,
        str(ROOT / "benchmarks" / "bench_site.py"),
        "--site",
        str(SITE),
        "--pages",
        "chapters/preface.html",
        "--rounds",
        "1",
        "--throttle",
        "1",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    row = next(line for line in result.stdout.splitlines() if line.startswith("preface.html"))
    formulas, raw, packed, ready, first, adds, jump, loaded = row.split()[1:]
    assert int(formulas) > 0 and float(raw) > float(packed) > 0
    assert float(first) > 0 and float(ready) > 0


def test_site_benchmark_removes_the_math_for_its_baseline() -> None:
    """The benchmark's page 'without math' has no typeset formula and loads no math asset."""
    import importlib.util
    import re as regex

    _pages()
    spec = importlib.util.spec_from_file_location("bench_site", ROOT / "benchmarks" / "bench_site.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    page = (SITE / "chapters" / "05_recursion.html").read_text()
    stripped = bench.without_math(page, regex.compile(r"/(mathjax|katex)[^/]*/|tex-[a-z-]+\.js"))
    assert "<mjx-container" in page and "mjx-container" not in stripped
    assert "mathjax-chtml/" in page and "mathjax-chtml/" not in stripped
    assert "<h1>" in stripped or "<h1" in stripped
