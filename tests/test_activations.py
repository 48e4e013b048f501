"""The activation table: each derivative against the function, stability, dtypes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import gcnlib
from gcnlib import ACTIVATIONS, Activation, get_activation

NAMES = ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "elu", "gelu"]


def test_the_table_holds_the_promised_activations():
    assert set(NAMES) <= set(ACTIVATIONS)
    for name, a in ACTIVATIONS.items():
        assert isinstance(a, Activation) and a.name == name


@pytest.mark.parametrize("name", NAMES)
def test_derivative_matches_central_differences(name):
    a = ACTIVATIONS[name]
    Z = np.linspace(-6, 6, 241)
    Z = Z[np.abs(Z) > 1e-3].reshape(-1, 8)  # away from relu's kink; 2-D like a layer
    h = 1e-6
    numeric = (a.f(Z + h) - a.f(Z - h)) / (2 * h)
    np.testing.assert_allclose(a.df(Z, a.f(Z)), numeric, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize(
    "name, Z, H",
    [
        ("identity", [-2.0, 0.5], [-2.0, 0.5]),
        ("sigmoid", [0.0, np.log(3.0)], [0.5, 0.75]),
        ("tanh", [0.0, np.log(2.0)], [0.0, 0.6]),
        ("relu", [-1.0, 2.0], [0.0, 2.0]),
        ("leaky_relu", [-1.0, 2.0], [-0.01, 2.0]),
        ("softplus", [0.0, np.log(3.0)], [np.log(2.0), np.log(4.0)]),
        ("elu", [-np.log(2.0), 0.0, 3.0], [-0.5, 0.0, 3.0]),
        # Φ(0) = 1/2, and Φ(1.959963984540054) = 0.975 (the two-sided 95 % point of the normal)
        (
            "gelu",
            [0.0, 1.959963984540054, -1.959963984540054],
            [0.0, 0.975 * 1.959963984540054, -0.025 * 1.959963984540054],
        ),
    ],
)
def test_known_values(name, Z, H):
    np.testing.assert_allclose(ACTIVATIONS[name].f(np.array([Z])), [H], rtol=1e-15, atol=1e-15)


@pytest.mark.parametrize("name", ["sigmoid", "softplus", "tanh", "elu", "gelu"])
def test_stable_for_huge_arguments(name):
    a = ACTIVATIONS[name]
    Z = np.array([[-1e4, -800.0, 800.0, 1e4]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        H = a.f(Z)
        D = a.df(Z, H)
    assert np.isfinite(H).all() and np.isfinite(D).all()
    if name == "softplus":
        np.testing.assert_allclose(H, [[0.0, 0.0, 800.0, 1e4]], atol=1e-300)
    if name == "sigmoid":
        np.testing.assert_array_equal(H, [[0.0, 0.0, 1.0, 1.0]])


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept(name, dtype):
    a = ACTIVATIONS[name]
    Z = np.linspace(-3, 3, 12, dtype=dtype).reshape(3, 4)
    H = a.f(Z)
    assert H.dtype == dtype and a.df(Z, H).dtype == dtype
    assert H.shape == Z.shape and a.df(Z, H).shape == Z.shape


def test_get_activation_by_name_and_by_object():
    assert get_activation("tanh") is ACTIVATIONS["tanh"]
    cube = Activation("cube", lambda Z: Z**3, lambda Z, H: 3 * Z**2)
    assert get_activation(cube) is cube


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError) as info:
        get_activation("swish")
    assert "'swish'" in str(info.value)
    for name in NAMES:
        assert name in str(info.value)


def test_wrong_type():
    with pytest.raises(TypeError, match="sigma"):
        get_activation(np.tanh)


def test_activation_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        ACTIVATIONS["tanh"].name = "other"


def test_public_names():
    for name in ["Activation", "ACTIVATIONS", "get_activation"]:
        assert hasattr(gcnlib, name)
