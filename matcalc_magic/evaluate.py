"""NumPy evaluation of expression graphs (every value a 2-D float array)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .graph import Expr, postorder
from .ops.registry import rule
from .shapes import concrete_shape


@dataclass
class EvalContext:
    env: dict  # variable or tangent name -> 2-D array
    sizes: dict  # size symbol -> int
    memo: dict = field(default_factory=dict)


def as_matrix(value, shape: tuple[int, int] | None = None) -> np.ndarray:
    """A user's value as a 2-D float array: (n,) becomes a column n×1, or a
    row 1×n where ``shape`` (declared rows, columns; 0 = any size) is a row."""
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        arr = arr.reshape(1, 1)
    elif arr.ndim == 1:
        if shape is not None and shape[0] == 1 and shape[1] != 1:  # declared a row
            arr = arr.reshape(1, -1)
        else:
            arr = arr.reshape(-1, 1)
    return arr


def evaluate(root: Expr, env: dict, sizes: dict, memo: dict | None = None) -> np.ndarray:
    """The value of ``root`` (2-D) for variable values ``env`` and sizes ``sizes``."""
    ctx = EvalContext(env, sizes, memo if memo is not None else {})
    return evaluate_in(root, ctx)


def evaluate_in(root: Expr, ctx: EvalContext) -> np.ndarray:
    memo = ctx.memo
    for node in postorder(root):
        if node in memo:
            continue
        values = [memo[a] for a in node.args]
        out = rule(node.op).evaluate(values, node.params, node, ctx)
        out = np.asarray(out, dtype=float)
        expected = concrete_shape(node.shape, ctx.sizes)
        if out.shape != expected:
            if out.size == expected[0] * expected[1] and node.op in ("var", "tangent"):
                out = out.reshape(expected)
            else:
                raise ValueError(
                    f"{node.op} evaluated to shape {out.shape}, expected {expected}"
                )
        memo[node] = out
    return memo[root]
