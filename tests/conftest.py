"""Shared fixtures and settings for the unit tests."""

import os

import numpy as np
import pytest
from hypothesis import settings

# Property tests explore new random examples on every run on a developer's machine; in CI
# (which sets CI=true) they replay a fixed sequence, so that a green build is reproducible.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator, so every test run sees the same numbers."""
    return np.random.default_rng(20170224)
