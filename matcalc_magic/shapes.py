"""Symbolic sizes and shapes.

Every expression is a matrix: a scalar is 1×1, a column vector n×1, a row
1×n.  Sizes are SymPy expressions (``m``, ``n + 1``, ``m n``), so shapes are
checked and printed symbolically; concrete sizes are substituted only when
something is evaluated.
"""

from __future__ import annotations

from functools import lru_cache

import sympy

Dim = sympy.Expr
Shape = tuple  # (rows, cols), each a Dim

ONE = sympy.Integer(1)


class ShapeError(Exception):
    """A shape rule was violated; ``check`` turns this into a MatcalcError."""

    def __init__(self, message: str, operands: tuple = ()):
        super().__init__(message)
        self.message = message
        self.operands = operands  # the offending argument indices, if known


@lru_cache(maxsize=None)
def dim_symbol(name: str) -> sympy.Symbol:
    """The size symbol for ``name`` (positive integer)."""
    return sympy.Symbol(name, positive=True, integer=True)


def dim(value) -> Dim:
    if isinstance(value, str):
        return dim_symbol(value)
    return sympy.sympify(value)


def same(a: Dim, b: Dim) -> bool:
    return a == b or sympy.expand(a - b) == 0


def is_one(d: Dim) -> bool:
    return d == ONE


def is_scalar(shape: Shape) -> bool:
    return shape[0] == ONE and shape[1] == ONE


def is_column(shape: Shape) -> bool:
    return shape[1] == ONE and shape[0] != ONE


def is_row(shape: Shape) -> bool:
    return shape[0] == ONE and shape[1] != ONE


def is_vector(shape: Shape) -> bool:
    return is_column(shape) or is_row(shape)


def is_square(shape: Shape) -> bool:
    return same(shape[0], shape[1])


def size(shape: Shape) -> Dim:
    return sympy.expand(shape[0] * shape[1])


def transposed(shape: Shape) -> Shape:
    return (shape[1], shape[0])


_SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def dim_str(d: Dim) -> str:
    """``m``, ``n²``, ``mn``, ``(n+1)``: sizes as users read them."""
    import re

    text = str(d).replace(" ", "")
    text = re.sub(r"\*\*(\d+)", lambda m: m.group(1).translate(_SUPERSCRIPTS), text)
    # m n reads as mn, but n_h n_x as n_h·n_x
    long_names = any(len(str(sym)) > 1 for sym in d.free_symbols)
    text = text.replace("*", "·" if long_names else "")
    return f"({text})" if any(op in text for op in "+-") else text


def shape_str(shape: Shape) -> str:
    """``m×n`` as users write it (``n×1`` for a column)."""
    return f"{dim_str(shape[0])}×{dim_str(shape[1])}"


def dim_latex(d: Dim) -> str:
    text = sympy.latex(d)
    return f"({text})" if isinstance(d, sympy.Add) else text


def shape_latex(shape: Shape) -> str:
    return f"{dim_latex(shape[0])} \\times {dim_latex(shape[1])}"


def concrete(d: Dim, sizes: dict) -> int:
    """The integer value of a size under ``sizes`` (symbol -> int)."""
    if d.is_Integer:
        return int(d)
    if d.is_Symbol and d in sizes:
        return int(sizes[d])
    value = sympy.sympify(d.xreplace(sizes))
    if not value.is_Integer:
        missing = sorted(str(s) for s in value.free_symbols)
        raise ShapeError(f"no concrete size for {', '.join(missing)}")
    return int(value)


def concrete_shape(shape: Shape, sizes: dict) -> tuple[int, int]:
    return concrete(shape[0], sizes), concrete(shape[1], sizes)


def complete_sizes(dims: dict, sizes: dict, start: int = 2) -> dict:
    """``sizes`` (symbol → int) with every size of ``dims`` (name → symbol):
    the missing ones small and distinct from the others, from ``start`` up in
    name order (deterministic; distinct, so a transpose shows)."""
    out = dict(sizes)
    used = set(out.values())
    candidate = start
    for name in sorted(dims):
        if dims[name] in out:
            continue
        while candidate in used:
            candidate += 1
        out[dims[name]] = candidate
        used.add(candidate)
    return out


def sizes_text(sizes: dict) -> str:
    """``m = 4, n = 3``: concrete sizes as users read them, by name."""
    return ", ".join(f"{k} = {v}" for k, v in sorted((str(k), v) for k, v in sizes.items()))


def first_empty(named_shapes, sizes: dict):
    """The first ``(label, sizes)`` among ``(label, shape)`` pairs that
    ``sizes`` make smaller than 1×1 (θ : n − 1 at n = 1), or None; shapes with
    a size left unbound are passed over."""
    for label, shape in named_shapes:
        values = [sympy.sympify(d.xreplace(sizes)) for d in shape]
        if all(v.is_number for v in values) and min(values) < 1:
            return label, values
    return None


def derivative_entries(of_shape: Shape, wrt_shape: Shape, order: int, sizes: dict) -> int:
    """How many numbers the whole derivative holds at ``sizes``: the output's
    entries times the variable's (a Hessian: the variable's, squared)."""
    n_var = concrete(size(wrt_shape), sizes)
    return n_var * (n_var if order == 2 else concrete(size(of_shape), sizes))
