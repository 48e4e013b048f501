"""Math typeset when the book is built, so that a reader's browser has nothing left to compute.

Sphinx's default math renderer writes TeX into the page and lets MathJax typeset it in the
reader's browser: on a phone a long chapter shows raw ``\\(...\\)`` for seconds. This extension
registers the HTML math renderer ``prerendered_mathjax`` instead. Every formula, whatever wrote
it (``$...$``, ``{math}`` roles, ``$$...$$ (label)``, amsmath environments, math in admonitions,
exercises and proofs, docstrings, ``text/latex`` outputs of notebooks), reaches Sphinx as a
``math`` or ``math_block`` node; each one is typeset here by MathJax 3 running under Node
(``_ext/mathjax_render.cjs``, one process for the whole build) into CommonHTML, the HTML and CSS
MathJax itself produces in a browser, with the MathML of the formula for screen readers.

Around the formulas Sphinx keeps its own markup: ``span.math``/``div.math``, the equation number
``span.eqno`` with its link, the ``equation-<label>`` anchors that ``{eq}`` references point to.
The one style sheet, ``_static/mathjax-chtml/mathjax.css``, covers every character of the book
and is written when the build ends, with MathJax's web fonts beside it; a page loads only the
fonts its formulas use. No script is needed and nothing is fetched from another host.

A TeX error (an unknown macro, an unbalanced brace) is reported as a Sphinx warning at the
formula's source location, so the strict build (``-W``) fails instead of showing a reader red
text. Needs Node and the npm package ``mathjax-full`` (``npm ci`` installs it from
``package-lock.json``; ``make book`` does that).
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.locale import _
from sphinx.util import logging
from sphinx.util.math import get_node_equation_number

logger = logging.getLogger(__name__)

RENDERER = "prerendered_mathjax"
HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "mathjax_render.cjs"
STATIC = "mathjax-chtml"  # folder under _static/: the style sheet and the fonts
STYLESHEET = f"{STATIC}/mathjax.css"
FONTS = Path("mathjax-full", "es5", "output", "chtml", "fonts", "woff-v2")

# Layout that MathJax's own style sheet leaves to the page. A display formula wider than the
# column scrolls inside its own box, and its number stays beside that box, never on top of it;
# an inline formula wider than the column scrolls too (the theme would cut it off).
LAYOUT_CSS = """
/* prerendered_math: the layout of formulas typeset at build time */
/* MathJax in a browser scales its fonts to the x-height of the text around them; the theme's
   sans-serif fonts have an x-height about 1.2 times that of MathJax's TeX fonts. */
mjx-container[jax="CHTML"] { font-size: 120%; }
div.math { display: flex; flex-direction: row-reverse; align-items: center; gap: 0.5em; overflow: visible; }
div.math > span.eqno { flex: none; float: none; margin: 0; }
div.math > mjx-container[display="true"] { flex: 1 1 auto; min-width: 0; margin: 0.6em 0;
  overflow-x: auto; overflow-y: hidden; padding: 0.2em 0; }
span.math { display: inline; overflow: visible; max-width: none; }
span.math > mjx-container { display: inline-block; max-width: 100%; overflow-x: auto;
  overflow-y: hidden; vertical-align: middle; }
"""


class MathJax:
    """One Node process that typesets TeX on request (see ``_ext/mathjax_render.cjs``)."""

    def __init__(self, node_modules: Path, tex_options: dict[str, Any]) -> None:
        node = shutil.which("node")
        if node is None:
            raise ExtensionError("prerendered_math needs Node.js (`node`) to typeset the book's math")
        if not (node_modules / "mathjax-full").is_dir():
            raise ExtensionError(
                f"prerendered_math: no mathjax-full in {node_modules}; "
                "run `npm ci` in the book's folder (make book does)"
            )
        options = json.dumps({"fontURL": "fonts", "tex": tex_options})
        env = {**os.environ, "NODE_PATH": str(node_modules)}
        self.process = subprocess.Popen(
            [node, str(SCRIPT), options],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            env=env,
        )
        self.lock = threading.Lock()
        self.cache: dict[tuple[str, bool], dict[str, str]] = {}

    def ask(self, request: dict[str, Any]) -> dict[str, str]:
        with self.lock:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            line = self.process.stdout.readline()
        if not line:
            raise ExtensionError("prerendered_math: the MathJax process under Node stopped")
        return json.loads(line)

    def typeset(self, tex: str, display: bool) -> dict[str, str]:
        key = (tex, display)
        if key not in self.cache:
            self.cache[key] = self.ask({"tex": tex, "display": display})
        return self.cache[key]

    def stylesheet(self) -> str:
        return self.ask({"css": True})["css"]

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)


def node_modules_dir(app: Sphinx) -> Path:
    """``node_modules`` of the book (where ``npm ci`` puts it), or of the folder above ``_ext``."""
    configured = app.config.prerendered_math_node_modules
    candidates = (
        [Path(configured)]
        if configured
        else [Path(app.srcdir) / "node_modules", HERE.parent / "node_modules"]
    )
    return next((c for c in candidates if (c / "mathjax-full").is_dir()), candidates[0])


def mathjax(app: Sphinx) -> MathJax:
    if getattr(app, "_prerendered_mathjax", None) is None:
        tex_options = dict((app.config.mathjax3_config or {}).get("tex", {}))
        for key in ("inlineMath", "displayMath", "processEscapes", "processEnvironments", "processRefs"):
            tex_options.pop(key, None)  # options for finding TeX in a page: there is no page here
        app._prerendered_mathjax = MathJax(node_modules_dir(app), tex_options)
    return app._prerendered_mathjax


def typeset(self: Any, node: nodes.Element, tex: str, display: bool) -> str:
    """The HTML of ``tex``; on a TeX error a warning at the node and the TeX source, escaped."""
    result = mathjax(self.builder.app).typeset(tex, display)
    if "error" in result:
        logger.warning("TeX error in %r: %s", tex, result["error"], location=node)
        return f'<code class="math-error">{html.escape(tex)}</code>'
    return result["html"]


def display_tex(node: nodes.math_block) -> str:
    """The TeX of a display formula, as Sphinx's MathJax renderer would hand it to MathJax."""
    text = node.astext().strip()
    if node.get("nowrap"):  # amsmath environments, or formulas that bring their own delimiters
        for start, end in (("\\[", "\\]"), ("$$", "$$")):
            if text.startswith(start) and text.endswith(end):
                return text[len(start) : -len(end)]
        return text
    parts = [part for part in text.split("\n\n") if part.strip()]
    parts = ["\\begin{split}" + part + "\\end{split}" if "\\\\" in part else part for part in parts]
    if len(parts) > 1:  # several equations in one block: aligned, as Sphinx does
        return "\\begin{align}\\begin{aligned}" + "\\\\".join(parts) + "\\end{aligned}\\end{align}"
    return parts[0] if parts else ""


def visit_math(self: Any, node: nodes.math) -> None:
    self.body.append(self.starttag(node, "span", "", CLASS="math notranslate nohighlight"))
    self.body.append(typeset(self, node, node.astext(), display=False) + "</span>")
    raise nodes.SkipNode


def visit_displaymath(self: Any, node: nodes.math_block) -> None:
    self.body.append(self.starttag(node, "div", CLASS="math notranslate nohighlight"))
    if node.get("number"):
        number = get_node_equation_number(self, node)
        self.body.append(f'<span class="eqno">({number})')
        self.add_permalink_ref(node, _("Link to this equation"))
        self.body.append("</span>")
    self.body.append(typeset(self, node, display_tex(node), display=True) + "</div>\n")
    raise nodes.SkipNode


# MathJax's TeX fonts: the class a glyph carries in CommonHTML, and the file of its font.
# Glyphs with no class are in the main font; the zero-width font comes first for every glyph.
FONT_FILES = {
    "": "Main-Regular",
    "B": "Main-Bold",
    "MI": "Main-Italic",
    "I": "Math-Italic",
    "BI": "Math-BoldItalic",
    "S1": "Size1-Regular",
    "S2": "Size2-Regular",
    "S3": "Size3-Regular",
    "S4": "Size4-Regular",
    "A": "AMS-Regular",
    "C": "Calligraphic-Regular",
    "CB": "Calligraphic-Bold",
    "FR": "Fraktur-Regular",
    "FRB": "Fraktur-Bold",
    "SS": "SansSerif-Regular",
    "SSB": "SansSerif-Bold",
    "SSI": "SansSerif-Italic",
    "SC": "Script-Regular",
    "T": "Typewriter-Regular",
    "V": "Vector-Regular",
    "VB": "Vector-Bold",
}
GLYPH_CLASS = re.compile(r'<mjx-c class="mjx-c[0-9A-F]+(?: TEX-([A-Z0-9]+))?"')


def fonts_used(body: str, formulas: int = 20) -> list[str]:
    """The font files that the first ``formulas`` formulas of a page (about a screen) draw with."""
    starts = [m.start() for m in re.finditer("<mjx-container", body)]
    end = starts[formulas] if len(starts) > formulas else len(body)
    classes = set(GLYPH_CLASS.findall(body[:end]))
    return ["Zero"] + [FONT_FILES[c] for c in sorted(classes) if c in FONT_FILES] if classes else []


def add_stylesheet(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """Link the style sheet on the pages that have formulas, and preload the fonts of the first screen.

    A browser finds out which fonts a page needs only after it has laid the page out; told in
    the page's head, it fetches them while it is still reading the page. Fonts that only later
    formulas use load when the reader gets there.
    """
    if app.builder.format != "html" or app.builder.math_renderer_name != RENDERER:
        return
    if app.env.get_domain("math").has_equations(pagename):
        app.add_css_file(STYLESHEET)
        # The theme drops Sphinx's `metatags`; _templates/layout.html writes this into the head.
        # (Not add_css_file: Sphinx would add a ?v= checksum that the style sheet's URLs lack.)
        context["math_font_preloads"] = "\n".join(
            f'<link rel="preload" href="{context["pathto"](f"_static/{STATIC}/fonts/MathJax_{name}.woff", 1)}"'
            ' as="font" type="font/woff" crossorigin="anonymous" />'
            for name in fonts_used(context.get("body", ""))
        )


def record_formulas(app: Sphinx, doctree: nodes.document) -> None:
    """Note every formula of a document as it is read, so that the style sheet covers them all."""
    formulas = {(node.astext(), False) for node in doctree.findall(nodes.math)}
    formulas |= {(display_tex(node), True) for node in doctree.findall(nodes.math_block)}
    if not hasattr(app.env, "prerendered_math"):
        app.env.prerendered_math = {}
    app.env.prerendered_math[app.env.docname] = formulas


def purge_formulas(app: Sphinx, env: Any, docname: str) -> None:
    getattr(env, "prerendered_math", {}).pop(docname, None)


def merge_formulas(app: Sphinx, env: Any, docnames: set[str], other: Any) -> None:
    if not hasattr(env, "prerendered_math"):
        env.prerendered_math = {}
    for docname in docnames:
        env.prerendered_math[docname] = other.prerendered_math.get(docname, set())


def write_assets(app: Sphinx, exception: Exception | None) -> None:
    """At the end of the build: the style sheet for every formula of the book, and the fonts.

    A page left as it was by an incremental build keeps its formulas, so the style sheet must
    cover the formulas of every document, not only of the pages written in this build: those
    noted when each document was read are typeset again (most of them are cached already).
    """
    recorded = getattr(app.env, "prerendered_math", {})
    if exception is not None or app.builder.format != "html" or not any(recorded.values()):
        return
    if app.builder.math_renderer_name != RENDERER:
        return
    process = mathjax(app)
    for tex, display in set().union(*recorded.values()):
        process.typeset(tex, display)
    target = Path(app.outdir) / "_static" / STATIC
    (target / "fonts").mkdir(parents=True, exist_ok=True)
    css = process.stylesheet() + LAYOUT_CSS
    (target / "mathjax.css").write_text(css, encoding="utf-8")
    process.close()
    app._prerendered_mathjax = None
    fonts = node_modules_dir(app) / FONTS
    for font in sorted(fonts.glob("*.woff")):
        if f"fonts/{font.name}" in css:
            shutil.copyfile(font, target / "fonts" / font.name)


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("prerendered_math_node_modules", None, "html")
    app.add_html_math_renderer(RENDERER, (visit_math, None), (visit_displaymath, None))
    app.connect("doctree-read", record_formulas)
    app.connect("env-purge-doc", purge_formulas)
    app.connect("env-merge-info", merge_formulas)
    app.connect("html-page-context", add_stylesheet)
    app.connect("build-finished", write_assets)
    # Writing pages in parallel would split the formulas over several processes, and with them
    # the style sheet: the pages are written by one process.
    return {"parallel_read_safe": True, "parallel_write_safe": False}
