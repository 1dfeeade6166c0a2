"""JAX: jax.numpy and jax.nn only, so the function is pure and ``jax.jit`` applies."""

from __future__ import annotations

from .printer import CodePrinter


class JaxPrinter(CodePrinter):
    backend = "jax"
    xp = "jnp"
    linalg = "jnp.linalg"
    imports = ("import jax", "import jax.numpy as jnp")
    helper_code = {
        "logdet": (
            "def logdet(a):  # log det a, defined where det a > 0\n"
            "    sign, value = jnp.linalg.slogdet(a)\n"
            "    return jnp.where(sign > 0, value, jnp.nan).reshape(1, 1)"
        ),
    }

    def convert(self, name: str) -> str:  # keeps the dtype: float64 needs jax_enable_x64
        return f"jnp.asarray({name})"

    def sigmoid(self, x: str) -> str:
        return f"jax.nn.sigmoid({x})"

    def relu(self, x: str) -> str:
        return f"jax.nn.relu({x})"

    def softmax_family(self, fn: str, x: str, axis, shape) -> str:
        if fn == "logsumexp":
            return f"jax.nn.logsumexp({x}, axis={axis}, keepdims=True)"
        return f"jax.nn.{fn}({x}, axis={axis})"
