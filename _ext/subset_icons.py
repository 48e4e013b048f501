"""Font Awesome's icon fonts cut down to the icons the site shows.

pydata-sphinx-theme ships Font Awesome 6 Free whole: three web fonts of 300 KB in woff2 (solid
156 KB, brands 118 KB, regular 25 KB), the first two fetched by every page, for the few dozen icons
the site draws (its header buttons, the admonition and exercise icons, the arrows to the next
page). When the HTML build finishes, this extension writes each font of
``_static/vendor/fontawesome/webfonts/`` (the woff2 and its ttf fallback) anew, from the theme's
original, with only the code points the site can show:

- every icon class (``fa-github``, ``fa-magnifying-glass``, ...) that a page names, or a script
  it loads (the theme's scripts add icons at run time), through the theme's class map
  (``.fa-github:before{content:"\\f09b"}``);
- every character that a style sheet of a page puts on it itself with ``content`` (``var()``
  resolved through the custom properties the style sheets define), if it lies in the Private Use
  Area, where Font Awesome's icons live and no text does (admonition and proof icons,
  sphinx-exercise's pencil, breadcrumb arrows), or if the rule sets a Font Awesome font.

The pages considered are those whose style sheets load these fonts (JupyterLite's pages under
``lite/`` do not). Each of the three fonts keeps all of these code points that it has, so an icon
stays whichever face (solid, regular, brands) draws it; the fonts keep their name table, licence
included (SIL OFL 1.1). Subsetting needs fontTools and, for woff2, the ``brotli`` package.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

from fontTools import subset
from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

WEBFONTS = Path("_static", "vendor", "fontawesome", "webfonts")
PRIVATE_USE = range(0xE000, 0xF900)
ASSET = re.compile(r"<(?:link|script)\b[^>]*?\b(?:href|src)=\"([^\"?#]+)")  # style sheets, scripts
IMPORT = re.compile(r"@import\s+(?:url\()?[\"']?([^\"')\s;]+)")
STYLE = re.compile(r"<style\b[^>]*>(.*?)</style>", re.DOTALL)
COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
RULE = re.compile(r"([^{}]*)\{([^{}]*)\}")  # innermost blocks: rules, also inside @media
CLASS_MAP_RULE = re.compile(r"\.fa-[\w-]+::?before(?:,\.fa-[\w-]+::?before)*")
CLASS_NAME = re.compile(r"(?<![\w-])fa-[a-z0-9-]+")
CONTENT = re.compile(r"(?<![\w-])content\s*:\s*([^;]*)")
CUSTOM_PROPERTY = re.compile(r"(--[\w-]+)\s*:\s*([^;]*)")
VAR = re.compile(r"var\(\s*(--[\w-]+)\s*(?:,([^()]*))?\)")
STRING = re.compile(r"\"((?:[^\"\\]|\\.)*)\"|'((?:[^'\\]|\\.)*)'", re.DOTALL)
ESCAPE = re.compile(r"\\([0-9a-fA-F]{1,6})\s?|\\(.)", re.DOTALL)
FA_FONT = re.compile(r"font(?:-family)?\s*:[^;]*(?:Font Awesome|--fa-font)", re.IGNORECASE)


@functools.cache
def read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""


def assets(page: Path) -> tuple[list[Path], list[Path]]:
    """The local style sheets (with those they import) and scripts that ``page`` loads."""
    linked = [(page.parent / url).resolve() for url in ASSET.findall(read(page)) if "//" not in url]
    sheets = [path for path in linked if path.suffix == ".css"]
    for sheet in sheets:  # grows while it is walked: imported sheets are read too
        sheets += [(sheet.parent / url).resolve() for url in IMPORT.findall(read(sheet))]
    return sheets, [path for path in linked if path.suffix == ".js"]


def characters(css_value: str) -> str:
    """The text of the CSS strings in ``css_value``, escapes decoded (``"\\f303"`` → U+F303)."""

    def decode(escape: re.Match) -> str:
        return chr(int(escape[1], 16)) if escape[1] else escape[2]

    return "".join(ESCAPE.sub(decode, a or b) for a, b in STRING.findall(css_value))


def used_code_points(css: str, names: set[str]) -> set[int]:
    """Code points of the icon classes ``names`` and of the icons ``css`` draws with ``content``."""
    rules = RULE.findall(COMMENT.sub("", css))
    properties: dict[str, list[str]] = {}
    for _, body in rules:
        for name, value in CUSTOM_PROPERTY.findall(body):
            properties.setdefault(name, []).append(value)

    def resolve(value: str) -> str:
        for _ in range(10):  # custom properties refer to one another, a few levels deep
            value = VAR.sub(lambda m: " ".join(properties.get(m[1], [m[2] or ""])), value)
        return value

    points: set[int] = set()
    for selector, body in rules:
        selector = re.sub(r"\s+", "", selector)
        if CLASS_MAP_RULE.fullmatch(selector):
            if names & set(re.findall(r"\.(fa-[\w-]+)", selector)):
                points |= {ord(c) for value in CONTENT.findall(body) for c in characters(value)}
            continue
        sets_icon_font = FA_FONT.search(body) is not None
        for value in CONTENT.findall(body):
            text = characters(resolve(value))
            points |= {ord(c) for c in text if sets_icon_font or ord(c) in PRIVATE_USE}
    return points


def subset_font(source: Path, target: Path, code_points: set[int]) -> None:
    options = subset.Options(name_IDs=["*"], name_languages=["*"], name_legacy=True)
    options.flavor = {".woff2": "woff2", ".woff": "woff"}.get(target.suffix)  # else TrueType
    font = subset.load_font(str(source), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=code_points)
    subsetter.subset(font)
    subset.save_font(font, str(target), options)


def subset_icon_fonts(app: Sphinx, exception: Exception | None) -> None:
    outdir = Path(app.outdir)
    if exception is not None or app.builder.format != "html" or not (outdir / WEBFONTS).is_dir():
        return
    css, names = [], set()
    for page in outdir.rglob("*.html"):
        sheets, scripts = assets(page)
        if not any("fontawesome/webfonts/" in read(sheet) for sheet in sheets):
            continue  # this page does not use the icon fonts
        css += [read(sheet) for sheet in sheets] + STYLE.findall(read(page))
        for text in [read(page)] + [read(script) for script in scripts]:
            names |= set(CLASS_NAME.findall(text))
    code_points = used_code_points("\n".join(dict.fromkeys(css)), names)
    originals = [Path(folder, "static") for folder in app.builder.theme.get_theme_dirs()]
    before = after = 0
    for font in sorted((outdir / WEBFONTS).iterdir()):
        relative = font.relative_to(outdir / "_static")
        source = next((folder / relative for folder in originals if (folder / relative).is_file()), font)
        before += source.stat().st_size
        subset_font(source, font, code_points)
        after += font.stat().st_size
    read.cache_clear()
    logger.info(
        f"subset_icons: Font Awesome cut down to {len(code_points)} code points, "
        f"{before // 1024} KB -> {after // 1024} KB ({WEBFONTS.as_posix()})"
    )


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("build-finished", subset_icon_fonts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
