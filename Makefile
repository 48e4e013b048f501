# Two commands do everything: `make book` builds the site, `make test` runs every test.
# Both create the virtual environment .venv and install what they need on first use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
NOTEBOOKS := $(sort $(wildcard chapters/*.ipynb))
PDF    := matrix-calculus-gcn.pdf
PYTEST_NBVAL := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg

.PHONY: help setup book test lint format pdf unit notebooks lab constraints clean

help:
	@echo "make book       build the site into _build/html (sets everything up on first use)"
	@echo "make test       build the site (and the PDF if XeLaTeX is there), then run every test"
	@echo "make pdf        build the whole book as one PDF with XeLaTeX"
	@echo "make unit       only the unit tests in tests/ (quick)"
	@echo "make lint       ruff: lint and format check of the Python files (make format fixes the layout)"
	@echo "make notebooks  re-execute every chapter in place so its stored outputs are current"
	@echo "make lab        open JupyterLab on chapters/ in the project's environment"
	@echo "make constraints  re-pin constraints.txt after a change to requirements.txt"
	@echo "make clean      remove _build (keeps .venv)"

setup: $(STAMP) $(NODE_STAMP)

$(STAMP): requirements.txt constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -c constraints.txt -r requirements.txt
	$(BIN)/python -m pip install -c constraints.txt -e .
	touch $(STAMP)

# MathJax under Node typesets the book's formulas at build time (_ext/prerendered_math.py).
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $(NODE_STAMP)

book: setup
	$(BIN)/jupyter-book build -W -n --keep-going .
	@echo "The book is built: open $(CURDIR)/_build/html/index.html"

# The PDF is part of the tests where XeLaTeX is installed (.ci/run installs it; see `pdf`).
test: lint book
	@if command -v xelatex >/dev/null; then $(MAKE) --no-print-directory pdf; \
	else echo "xelatex not found: the PDF is not built and its test is skipped (see make pdf)"; fi
	$(BIN)/python -m pytest -n 2 --dist loadfile $(PYTEST_NBVAL) tests chapters

# The whole book as one PDF, typeset by XeLaTeX (Debian: the TeX Live packages .ci/run installs),
# copied next to the site's pages, where every page's download menu links it.
pdf: setup
	$(BIN)/jupyter-book build -W -n --keep-going --builder pdflatex .
	mkdir -p _build/html
	cp _build/latex/$(PDF) _build/html/$(PDF)
	@echo "The PDF is built: $(CURDIR)/_build/latex/$(PDF)"

# The Python files pass ruff's checks and are laid out as `ruff format` lays them out (pyproject.toml).
lint: setup
	$(BIN)/ruff check
	$(BIN)/ruff format --check

format: setup
	$(BIN)/ruff check --fix
	$(BIN)/ruff format

unit: setup
	$(BIN)/python -m pytest -n 2 tests

notebooks: $(STAMP)
	$(BIN)/jupyter execute --inplace $(NOTEBOOKS)

lab: $(STAMP)
	$(BIN)/jupyter lab chapters/

# Re-resolve the pinned versions in constraints.txt from requirements.txt, in a scratch environment.
constraints:
	rm -rf .venv-constraints
	$(PYTHON) -m venv .venv-constraints
	.venv-constraints/bin/python -m pip install -q -r requirements.txt
	sed '/^[^#]/,$$d' constraints.txt > constraints.new  # the header: the comment lines on top
	.venv-constraints/bin/python -m pip freeze --exclude-editable | grep -v '^#' >> constraints.new
	mv constraints.new constraints.txt
	rm -rf .venv-constraints

clean:
	rm -rf _build
