"""The API page is built from gcnlib's docstrings by Sphinx's autodoc, which reads reStructuredText,
not the MyST Markdown of the chapters: a MyST role in a docstring would show up raw on the page."""

import importlib
import inspect
import pkgutil
import re

import pytest

import gcnlib

MYST_ROLE = re.compile(r"\{(cite|cite:p|cite:t|eq|doc|math|ref|numref)\}?`")
MODULES = [m.name for m in pkgutil.iter_modules(gcnlib.__path__) if m.name != "__main__"]


def docstrings(module):
    yield module.__name__, module.__doc__ or ""
    for name, obj in vars(module).items():
        if getattr(obj, "__module__", None) == module.__name__ and (
            inspect.isfunction(obj) or inspect.isclass(obj)
        ):
            yield f"{module.__name__}.{name}", obj.__doc__ or ""
            for member_name, member in vars(obj).items() if inspect.isclass(obj) else ():
                if inspect.isfunction(member) or isinstance(member, property):
                    yield f"{module.__name__}.{name}.{member_name}", member.__doc__ or ""


@pytest.mark.parametrize("name", MODULES)
def test_no_myst_roles_in_docstrings(name):
    if name == "explorers":
        pytest.importorskip("ipywidgets")
    module = importlib.import_module(f"gcnlib.{name}")
    found = [where for where, doc in docstrings(module) if MYST_ROLE.search(doc)]
    assert not found, f"MyST roles in docstrings (use :math: and plain citations): {found}"


def test_the_check_finds_a_myst_role():
    assert MYST_ROLE.search("as Kipf and Welling {cite:p}`kipf2017` do") and not MYST_ROLE.search(":math:`x`")
