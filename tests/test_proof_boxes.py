"""The numbered results of chapters 2–5 and 9 in the built site: boxes numbered, references resolved.

Chapters 5 and 9 cite a numbered definition, lemma or theorem at every step of their derivations
(sphinx-proof's ``{prf:ref}``). This test reads the HTML that ``make book`` builds and checks that
every such box carries a number of its chapter ("Lemma 3.4"), that every reference to one is a link
showing that number, and that the chains are there: chapter 5 cites results of chapters 2, 3 and 4,
and chapter 9 (graph attention) cites results of chapters 2 to 5. Whether MathJax typesets the boxes
is checked in a browser by ``test_site.py``. Without a built site the test is skipped.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SITE = Path(os.environ.get("GCNLIB_SITE", ROOT / "_build" / "html"))
CHAPTERS = {2: "02_index_notation", 3: "03_frobenius", 4: "04_hadamard", 5: "05_recursion", 9: "09_attention"}
KINDS = "Definition|Lemma|Theorem|Corollary|Proposition|Example"


def page(number: int) -> str:
    path = SITE / "chapters" / f"{CHAPTERS[number]}.html"
    if not path.exists():
        pytest.skip(f"the site is not built ({path} is missing): run `make book`")
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize("number", sorted(CHAPTERS))
def test_every_box_is_numbered_in_its_chapter(number):
    html = page(number)
    captions = re.findall(rf'<span class="caption-number">({KINDS}) (\S+) </span>', html)
    assert len(captions) >= 5, f"chapter {number} shows only {len(captions)} numbered results"
    numbers = [label for _, label in captions]
    assert all(label.startswith(f"{number}.") for label in numbers), numbers
    counters = [int(label.split(".")[1]) for label in numbers]
    assert counters == list(range(1, len(counters) + 1)), "one counter for all kinds, in order"


@pytest.mark.parametrize("number", sorted(CHAPTERS))
def test_every_reference_resolves_to_a_number(number):
    html = page(number)
    links = re.findall(r'<a class="reference internal" href="([^"]*#[^"]*)">([^<]*)</a>', html)
    to_results = [(href, text) for href, text in links if re.match(rf"({KINDS}) \d+\.\d+$", text)]
    assert to_results, f"chapter {number} cites no numbered result"
    assert "prf:ref" not in html and "undefined label" not in html.lower()


def cited_chapters(html: str) -> set[str]:
    return set(re.findall(rf'href="(\d\d_\w+)\.html#[^"]*">(?:{KINDS}) \d+\.\d+</a>', html))


def test_chapter_5_cites_the_earlier_chapters():
    html = page(5)
    cited = cited_chapters(html)
    assert {"02_index_notation", "03_frobenius", "04_hadamard"} <= cited, cited
    assert 'id="thm-recursion"' in html


def test_chapter_9_cites_chapters_2_to_5():
    html = page(9)
    cited = cited_chapters(html)
    assert {"02_index_notation", "03_frobenius", "04_hadamard", "05_recursion"} <= cited, cited
    assert 'id="lem-softmax-pattern"' in html and 'id="thm-attention-backward"' in html
