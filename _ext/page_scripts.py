"""One fix to the scripts of every page that no configuration can make.

sphinx-thebe registers an inline script that declares ``const THEBE_JS_URL``; under Jupyter
Book 1 with Sphinx 7.4 inline scripts end up twice on each page, and declaring a ``const`` twice
throws in the browser. Sphinx keeps file scripts unique by name, not inline ones, and offers no
setting to drop one: here an inline script whose body is already on the page is dropped.

(The theme's empty colour mode, once fixed here too, is now set in ``_config.yml`` with
``html_context: {default_mode: auto}``.)
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx


def drop_repeated_inline_scripts(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
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
    app.connect("html-page-context", drop_repeated_inline_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
