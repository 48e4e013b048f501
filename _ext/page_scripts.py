"""Two small fixes to the scripts of every page, so that the browser console stays clean.

1. sphinx-thebe registers an inline script that declares ``const THEBE_JS_URL``; under Jupyter
   Book 1 with Sphinx 7.4 inline scripts end up twice on each page, and declaring a ``const``
   twice throws in the browser. Sphinx keeps file scripts unique by name, not inline ones:
   here an inline script whose body is already on the page is dropped.
2. The theme reads the colour mode from local storage and falls back to the template variable
   ``default_mode``, which sphinx-book-theme leaves empty; the theme's JavaScript then reports the
   empty mode as an error. Setting it to ``auto`` (follow the reader's system) is a valid fallback.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx


def fix_page_context(app: Sphinx, pagename: str, templatename: str,
                     context: dict[str, Any], doctree: Any) -> None:
    if not context.get("default_mode"):
        context["default_mode"] = "auto"
    drop_repeated_inline_scripts(context)


def drop_repeated_inline_scripts(context: dict[str, Any]) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[str] = set()
    unique = []
    for script in scripts:
        body = getattr(script, "attributes", {}).get("body") if not isinstance(script, str) else None
        if body:
            if body in seen:
                continue
            seen.add(body)
        unique.append(script)
    scripts[:] = unique


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("html-page-context", fix_page_context, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
