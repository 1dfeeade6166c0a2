"""Structural facts about expressions that simplification may rely on.

Only facts that hold for *every* value allowed by the declarations are used
(a declared ``symmetric`` matrix is symmetric at every point the checker
draws), so a simplified derivative is equal to the unsimplified one wherever
the cell's declarations hold.
"""

from __future__ import annotations

import weakref

from ..graph import Expr, var_props

SYMMETRIC_PROPS = frozenset({"symmetric", "spd", "psd"})
SUMS_TO_ONE = frozenset({"onehot", "probability"})


_SYMMETRIC: "weakref.WeakKeyDictionary[Expr, bool]" = weakref.WeakKeyDictionary()


def is_symmetric(e: Expr) -> bool:
    """Whether ``e`` equals its transpose at every allowed value (memoized:
    the answer for a sum needs its terms' transposes)."""
    known = _SYMMETRIC.get(e)
    if known is None:
        known = _SYMMETRIC[e] = _is_symmetric(e)
    return known


def _is_symmetric(e: Expr) -> bool:
    op = e.op
    if e.is_scalar or op in ("eye", "diag"):
        return True
    if op == "commutation":
        return e.params[0] == e.params[1]
    if op in ("ones", "zeros"):
        return e.shape[0] == e.shape[1]
    if op == "var":
        return bool(var_props(e) & SYMMETRIC_PROPS)
    if op in ("inv", "matpow", "epow", "smul"):
        # f(S) for symmetric S stays symmetric; smul's matrix is args[1].
        return is_symmetric(e.args[-1] if op == "smul" else e.args[0])
    if op == "hadamard":
        return all(is_symmetric(a) for a in e.args)
    if op == "add":
        # A + Aᵀ: every term is symmetric or has its transpose among the terms.
        terms = set(e.args)
        return all(is_symmetric(t) or _transpose_of(t) in terms for t in e.args)
    if op == "matmul":
        # Aᵀ … A (a palindrome up to transposes) or a product of one factor.
        f = e.args
        n = len(f)
        for i in range(n // 2):
            a, b = f[i], f[n - 1 - i]
            if not (_transposes(a, b)):
                return False
        return n % 2 == 0 or is_symmetric(f[n // 2])
    return False


def _transposes(a: Expr, b: Expr) -> bool:
    return (a.op == "transpose" and a.args[0] is b) or (b.op == "transpose" and b.args[0] is a) or (
        a is b and is_symmetric(a)
    )


def sums_to_one(e: Expr) -> bool:
    """A vector declared one-hot or a probability vector: its entries sum to 1."""
    return e.op == "var" and bool(var_props(e) & SUMS_TO_ONE) and (e.shape[0] == 1 or e.shape[1] == 1)


def columns_sum_to_one(e: Expr) -> bool:
    """A matrix declared one-hot or probability: each column sums to 1 (the
    convention with one example per column; random data is drawn that way)."""
    return e.op == "var" and bool(var_props(e) & SUMS_TO_ONE) and e.shape[0] != 1 and e.shape[1] != 1


def _transpose_of(t: Expr):
    from .build import transpose

    return transpose(t)
