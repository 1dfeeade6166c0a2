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
    """Whether ``e`` equals its transpose at every allowed value.

    Answers are memoized and worked out children first, so deeply nested
    expressions (a 100-layer residual network) need no deep recursion."""
    known = _SYMMETRIC.get(e)
    if known is None:
        from ..graph import postorder

        for node in postorder(e):
            if node not in _SYMMETRIC:
                _SYMMETRIC[node] = _is_symmetric(node)
        known = _SYMMETRIC[e]
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
        return all(is_symmetric(t) or any(_transposes(t, u) for u in e.args) for t in e.args)
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
    """Whether b = aᵀ, read off the structure (A and Aᵀ; A B and Bᵀ Aᵀ)."""
    if (a.op == "transpose" and a.args[0] is b) or (b.op == "transpose" and b.args[0] is a):
        return True
    if a is b:
        return is_symmetric(a)
    if a.op == "matmul" and b.op == "matmul" and len(a.args) == len(b.args):
        return all(_transposes(x, y) for x, y in zip(a.args, reversed(b.args)))
    if a.op == b.op == "smul" and a.args[0] is b.args[0]:
        return _transposes(a.args[1], b.args[1])
    return False


def sums_to_one(e: Expr) -> bool:
    """A vector declared one-hot or a probability vector: its entries sum to 1."""
    return e.op == "var" and bool(var_props(e) & SUMS_TO_ONE) and (e.shape[0] == 1 or e.shape[1] == 1)


def columns_sum_to_one(e: Expr) -> bool:
    """A matrix declared one-hot or probability: each column sums to 1 (the
    convention with one example per column; random data is drawn that way)."""
    return e.op == "var" and bool(var_props(e) & SUMS_TO_ONE) and e.shape[0] != 1 and e.shape[1] != 1
