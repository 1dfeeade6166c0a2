"""Smart constructors: the vocabulary rules are written in.

Each function builds a node through its operator's ``canon`` hook, so every
expression the engine makes is simplified as it is made (``x + 0 → x``,
``(Aᵀ)ᵀ → A``, ``I A → A``).  Rules import these instead of calling
:func:`~matcalc_magic.graph.make` directly.
"""

from __future__ import annotations

import sympy

from ..graph import Expr, const, eye, ones, zeros  # noqa: F401  (re-exported)
from ..shapes import ONE
from .registry import apply


def add(*terms: Expr) -> Expr:
    return apply("add", tuple(terms))


def sub(a: Expr, b: Expr) -> Expr:
    return add(a, neg(b))


def neg(a: Expr) -> Expr:
    return smul(const(-1), a)


def smul(s, a: Expr) -> Expr:
    """Scalar multiple ``s a``; ``s`` is a 1×1 expression or a number."""
    if not isinstance(s, Expr):
        s = const(s)
    return apply("smul", (s, a))


def matmul(*factors: Expr) -> Expr:
    return apply("matmul", tuple(factors))


def transpose(a: Expr) -> Expr:
    return apply("transpose", (a,))


def hadamard(*factors: Expr) -> Expr:
    return apply("hadamard", tuple(factors))


def hdiv(a: Expr, b: Expr) -> Expr:
    return apply("hdiv", (a, b))


def epow(a: Expr, p) -> Expr:
    if not isinstance(p, Expr):
        p = const(p)
    return apply("epow", (a, p))


def broadcast(a: Expr, shape) -> Expr:
    return apply("broadcast", (a,), (tuple(shape),))


def fill(value, shape) -> Expr:
    """A matrix of ``shape`` whose every entry is the scalar ``value``."""
    if not isinstance(value, Expr):
        value = const(value)
    return broadcast(value, shape)


def total(a: Expr, axis: int | None = None) -> Expr:
    """``sum(a)`` (all entries), ``axis=0`` (down the columns), ``axis=1``."""
    return apply("sum", (a,), (axis,))


def trace(a: Expr) -> Expr:
    return apply("trace", (a,))


def diag(v: Expr) -> Expr:
    return apply("diag", (v,))


def diagvec(a: Expr) -> Expr:
    return apply("diagvec", (a,))


def kron(a: Expr, b: Expr) -> Expr:
    return apply("kron", (a, b))


def vec(a: Expr) -> Expr:
    return apply("vec", (a,))


def unvec(v: Expr, shape) -> Expr:
    return apply("unvec", (v,), (tuple(shape),))


def commutation(m, n) -> Expr:
    """K_{m,n}: vec(Aᵀ) = K_{m,n} vec(A) for A m×n."""
    return apply("commutation", (), (sympy.sympify(m), sympy.sympify(n)))


def rows(a: Expr, start, stop) -> Expr:
    return apply("rows", (a,), (sympy.sympify(start), sympy.sympify(stop)))


def cols(a: Expr, start, stop) -> Expr:
    return apply("cols", (a,), (sympy.sympify(start), sympy.sympify(stop)))


def pad_rows(a: Expr, before, total_rows) -> Expr:
    return apply("pad_rows", (a,), (sympy.sympify(before), sympy.sympify(total_rows)))


def pad_cols(a: Expr, before, total_cols) -> Expr:
    return apply("pad_cols", (a,), (sympy.sympify(before), sympy.sympify(total_cols)))


def concat(items, axis: int) -> Expr:
    return apply("concat", tuple(items), (axis,))


def inv(a: Expr) -> Expr:
    return apply("inv", (a,))


def det(a: Expr) -> Expr:
    return apply("det", (a,))


def logdet(a: Expr) -> Expr:
    return apply("logdet", (a,))


def matpow(a: Expr, k: int) -> Expr:
    return apply("matpow", (a,), (int(k),))


def elementwise(fname: str, a: Expr) -> Expr:
    return apply(fname, (a,))


def softmax(a: Expr, axis: int = 0) -> Expr:
    return apply("softmax", (a,), (axis,))


def logsoftmax(a: Expr, axis: int = 0) -> Expr:
    return apply("logsoftmax", (a,), (axis,))


def logsumexp(a: Expr, axis: int | None = None) -> Expr:
    return apply("logsumexp", (a,), (axis,))


def inner(a: Expr, b: Expr) -> Expr:
    """⟨a, b⟩ = Σ a ⊙ b for equal shapes (aᵀb for columns, tr(AᵀB) else)."""
    return total(hadamard(a, b))


def scalar_of(e: Expr) -> bool:
    return e.shape[0] == ONE and e.shape[1] == ONE
