"""The array libraries generated code runs on, for the tests.

torch and jax come with the ``codegen`` extra.  Without them their tests are
skipped, unless ``MATCALC_REQUIRE_BACKENDS=1`` (as in CI), when they fail:
CI must never pass by skipping them.  jax computes in float64 here, like the
engine (``jax_enable_x64``), and compiles each operation without XLA's
optimisation passes (the tests run every operation once or twice: compiling
is most of their time).
"""

from __future__ import annotations

import importlib
import os

import pytest

BACKENDS = ("numpy", "torch", "jax")


def require(backend: str):
    """The backend's module (numpy, torch or jax); skips or fails without it."""
    try:
        module = importlib.import_module(backend)
    except ImportError as e:
        if os.environ.get("MATCALC_REQUIRE_BACKENDS") == "1":
            pytest.fail(f"{backend} required (MATCALC_REQUIRE_BACKENDS=1): {e}")
        pytest.skip(f"{backend} is not installed (pip install '.[codegen]')")
    if backend == "jax":
        module.config.update("jax_enable_x64", True)
        module.config.update("jax_disable_most_optimizations", True)
    return module


def to_numpy(value):
    """A result of any backend as a float64 NumPy array."""
    import numpy as np

    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=float)
