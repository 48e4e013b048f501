"""A link to the whole book as one PDF in every page's download menu.

`make pdf` typesets the book with XeLaTeX and copies the PDF next to the site's pages
(``_build/html/<name>.pdf``, the name from ``latex_documents``). The theme's download menu only
offers the page's source and the browser's "print this page"; no theme option adds an entry,
so this extension appends one to the menu the theme builds for each page.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from sphinx.application import Sphinx


def pdf_name(app: Sphinx) -> str:
    """The PDF's file name: the LaTeX target of the book with ``.pdf`` for ``.tex``."""
    target = app.config.latex_documents[0][1] if app.config.latex_documents else "book.tex"
    return PurePosixPath(target).with_suffix(".pdf").name


def add_pdf_to_download_menu(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    for button in context.get("header_buttons", []):
        if button.get("label") == "download-buttons":
            button["buttons"].append(
                {
                    "type": "link",
                    "url": context["pathto"](pdf_name(app), 1),
                    "text": "Book (PDF)",
                    "tooltip": "Download the whole book as one PDF",
                    "icon": "fas fa-book",
                    "label": "download-book-pdf-button",
                }
            )


def setup(app: Sphinx) -> dict[str, Any]:
    # After sphinx-book-theme has built the header buttons (default priority 500).
    app.connect("html-page-context", add_pdf_to_download_menu, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
