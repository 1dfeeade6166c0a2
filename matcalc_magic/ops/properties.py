"""Structural facts about expressions that simplification may rely on.

Only facts that hold for *every* value allowed by the declarations are used
(a declared ``symmetric`` matrix is symmetric at every point the checker
draws).  Construction uses only symmetry (``Sᵀ = S``), which leaves every
derivative within symmetric matrices unchanged; what sums to one is applied
to finished results only (:mod:`matcalc_magic.calculus.constraints`), never
to a function before it is differentiated by the variable concerned.
"""

from __future__ import annotations

import weakref

from ..graph import Expr, var_props
from ..shapes import ONE

SYMMETRIC_PROPS = frozenset({"symmetric", "spd", "psd"})
ONEHOT_ROWS = "onehot_rows"  # a matrix with a single 1 per row (plain onehot: per column)
SUMS_TO_ONE = frozenset({"onehot", "probability", ONEHOT_ROWS})


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
        return all(is_symmetric(t) or any(are_transposes(t, u) for u in e.args) for t in e.args)
    if op == "matmul":
        # Aᵀ … A (a palindrome up to transposes) or a product of one factor.
        f = e.args
        n = len(f)
        for i in range(n // 2):
            a, b = f[i], f[n - 1 - i]
            if not (are_transposes(a, b)):
                return False
        return n % 2 == 0 or is_symmetric(f[n // 2])
    return False


def are_transposes(a: Expr, b: Expr) -> bool:
    """Whether b = aᵀ, read off the structure (A and Aᵀ; A B and Bᵀ Aᵀ)."""
    if (a.op == "transpose" and a.args[0] is b) or (b.op == "transpose" and b.args[0] is a):
        return True
    if a is b:
        return is_symmetric(a)
    if a.op == "matmul" and b.op == "matmul" and len(a.args) == len(b.args):
        return all(are_transposes(x, y) for x, y in zip(a.args, reversed(b.args)))
    if a.op == b.op == "smul" and a.args[0] is b.args[0]:
        return are_transposes(a.args[1], b.args[1])
    return False


def summing_axis(e: Expr) -> int | None:
    """The axis along which the entries of ``e`` sum to one, as NumPy counts
    axes (0: down each column, 1: along each row), or None when no
    declaration says so.  A one-hot or probability vector sums along its
    length; a matrix holds one example per column (the convention random data
    is drawn with) unless declared one-hot by rows.  Sees through a transpose."""
    if e.op == "transpose":
        inner = summing_axis(e.args[0])
        return None if inner is None else 1 - inner
    if e.op != "var" or not var_props(e) & SUMS_TO_ONE:
        return None
    return 1 if e.shape[0] == ONE or ONEHOT_ROWS in var_props(e) else 0


def is_onehot(e: Expr) -> bool:
    """Entries 0 or 1, one 1 along the summing axis (a declared one-hot variable)."""
    return e.op == "var" and bool({"onehot", ONEHOT_ROWS} & var_props(e))


def sums_to_one(e: Expr) -> bool:
    """A vector declared one-hot or a probability vector: its entries sum to 1."""
    return summing_axis(e) is not None and e.op == "var" and (e.shape[0] == ONE or e.shape[1] == ONE)
