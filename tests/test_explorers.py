"""The explorers respond when their widgets change, and what they show is right.

Widget values are set from Python, exactly as a slider drag would set them in a browser;
each test then checks that the numbers and the picture (PNG bytes) changed.
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("ipywidgets")

import gcnlib  # noqa: E402
from gcnlib.explorers import (  # noqa: E402
    RecursionExplorer,
    TrainingExplorer,
    recursion_check,
    train_karate,
)

PNG_MAGIC = b"\x89PNG"


@pytest.fixture(scope="module")
def recursion():
    return RecursionExplorer()


@pytest.fixture(scope="module")
def training():
    return TrainingExplorer(epochs=100)


def test_explorers_are_not_imported_by_gcnlib():
    assert not hasattr(gcnlib, "RecursionExplorer")


def test_recursion_default_state_agrees_with_finite_differences(recursion):
    assert bytes(recursion.image.value).startswith(PNG_MAGIC)
    assert len(recursion.last_errors) == recursion.depth.value == 3
    assert max(recursion.last_errors) < 1e-6
    for e, e_fd in zip(recursion.check.e, recursion.check.e_fd, strict=True):
        assert e.shape == e_fd.shape


@pytest.mark.parametrize(
    "name, value",
    [("activation", "relu"), ("activation", "sigmoid"), ("depth", 5), ("width", 7), ("seed", 3)],
)
def test_recursion_responds_to_each_widget(recursion, name, value):
    before_png, before_e1 = recursion.image.value, recursion.check.e[0]
    getattr(recursion, name).value = value
    assert recursion.image.value != before_png
    assert recursion.check.e[0].shape != before_e1.shape or not np.allclose(recursion.check.e[0], before_e1)
    assert len(recursion.last_errors) == recursion.depth.value
    assert max(recursion.last_errors) < 1e-5
    assert recursion.check.activation == recursion.activation.value
    assert recursion.check.e[0].shape == (34, recursion.width.value)


def test_recursion_options_are_gcnlib_activations(recursion):
    assert list(recursion.activation.options) == list(gcnlib.ACTIVATIONS)


def test_recursion_check_matches_explorer():
    check = recursion_check("tanh", depth=2, width=3, seed=1)
    explorer = RecursionExplorer(activation="tanh", depth=2, width=3, seed=1)
    for a, b in zip(check.e, explorer.check.e, strict=True):
        np.testing.assert_array_equal(a, b)


def test_recursion_static_figure(recursion):
    fig = recursion.static_figure()
    assert len([ax for ax in fig.axes if ax.images]) == 2 * recursion.depth.value
    plt.close(fig)


def test_training_learns_the_factions(training):
    run = training.run
    assert run.embeddings.shape == (100, 34, 2)
    assert run.history.loss[-1] < run.history.loss[0]
    assert run.history.test_accuracy[-1] >= 0.9


def test_training_slider_redraws(training):
    training.epoch.value = 1
    first_png, first_H = training.image.value, training.embedding.copy()
    training.epoch.value = 80
    assert training.image.value != first_png
    assert not np.allclose(training.embedding, first_H)
    np.testing.assert_array_equal(training.embedding, training.run.embeddings[79])
    marker = [line for line in training.figure.axes[1].lines if line.get_xdata()[0] == 80]
    assert marker, "the loss curve marks the chosen epoch"


def test_training_static_figure(training):
    fig = training.static_figure()
    assert len(fig.axes) == 6  # four snapshots, the loss curve and its accuracy axis
    plt.close(fig)


def test_train_karate_rejects_wrong_embedding_width():
    with pytest.raises(ValueError, match="hidden"):
        train_karate(epochs=2, hidden=(4, 3))


def test_recursion_check_without_finite_differences():
    fast = recursion_check("sigmoid", depth=4, width=3, seed=2, finite_differences=False)
    full = recursion_check("sigmoid", depth=4, width=3, seed=2)
    assert fast.e_fd == [] and fast.errors == []
    for a, b in zip(fast.e, full.e, strict=True):
        np.testing.assert_array_equal(a, b)


def test_missing_widgets_extra_gives_a_helpful_error():
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['ipywidgets'] = None\n"
        "try:\n"
        "    import gcnlib.explorers\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "pip install ipywidgets matplotlib" in result.stdout and "widgets" in result.stdout, result.stdout
