"""The Magnus–Neudecker identification: ``d vec Y = K d vec X``.

Walking a differential forward and composing each linear operator's ``vec``
rule (``vec(A T B) = (Bᵀ ⊗ A) vec T``, ``vec(Tᵀ) = K vec T``, …) gives the
matrix ``K = ∂ vec Y / ∂ (vec X)ᵀ``: the vec layout.  Kronecker factors with a
size-1 side simplify away as they are built, so a vector-by-vector
derivative comes out as the plain Jacobian (``W₂ diag(tanh′(z)) W₁``).
"""

from __future__ import annotations

import sympy

from ..graph import Expr, dependency_set, eye, postorder, zeros
from ..ops import build as B
from ..ops.registry import MissingRule, rule


def vec_jacobian(linear: Expr, dx: Expr) -> Expr:
    """K with ``vec(linear) = K vec(dx)``."""
    n = sympy.expand(dx.shape[0] * dx.shape[1])
    deps = dependency_set(linear, dx)
    if id(linear) not in deps:
        return zeros(sympy.expand(linear.shape[0] * linear.shape[1]), n)
    memo: dict[Expr, Expr] = {dx: eye(n)}
    for node in postorder(linear):
        if node is dx or id(node) not in deps:
            continue
        r = rule(node.op)
        if r.vec is None:
            raise MissingRule(f"no vec rule for {node.op}")
        parts = [r.vec(node, i, memo[a]) for i, a in enumerate(node.args) if id(a) in deps]
        memo[node] = parts[0] if len(parts) == 1 else B.add(*parts)
    return memo[linear]
