"""Small helpers shared by the operator modules."""

from __future__ import annotations

from ..graph import Expr, const
from ..shapes import ShapeError, same, shape_str


def present(tangents):
    """The differentials that are not zero (None means zero)."""
    return [t for t in tangents if t is not None]


def same_shapes(what):
    def rule(shapes, _params):
        first = shapes[0]
        for i, s in enumerate(shapes[1:], 1):
            if not (same(s[0], first[0]) and same(s[1], first[1])):
                raise ShapeError(f"{what} needs equal shapes, not {shape_str(first)} and {shape_str(s)}", (0, i))
        return first
    return rule


def fill_value(e: Expr):
    """The scalar a constant matrix is filled with (``broadcast(s)``, 𝟏), or None."""
    if e.op == "broadcast" and e.args[0].is_scalar:
        return e.args[0]
    if e.op == "ones":
        return const(1)
    return None
