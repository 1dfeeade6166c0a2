"""Scaled definitions folded back into a result.

A Gaussian process's ``dK_dℓ = σ_f² exp(−D / (2 ℓ²)) ⊙ D / ℓ³`` is built as
``(σ_f² / ℓ³) (E ⊙ D)``; differentiating the log likelihood pulls the scale
out of every place the part ``E ⊙ D`` is used, and the result reads
``(1/2) (1/ℓ³) (αᵀ (E ⊙ D) α − tr(K⁻¹ (E ⊙ D))) σ_f²`` where the textbook has
``(1/2) (αᵀ dK_dℓ α − tr(K⁻¹ dK_dℓ))``.  Here the part is replaced by
``dK_dℓ`` over its scale and the scalars are simplified; that is kept
only when it reads shorter.

The definition goes in as a stand-in variable and is put back without
rebuilding, as a node the printer names: building would pull its scale out
again.
"""

from __future__ import annotations

from ..graph import Expr, make, postorder, substitute, var
from ..ops import build as B


def fold_scaled_definitions(e: Expr, names: dict) -> Expr:
    """``e`` with the user's scaled definitions (``L = s P``, ``s`` a scalar)
    used in place of their part ``P`` where that reads shorter."""
    if not names:
        return e
    from .tidy import cost, tidy

    for node, name in names.items():
        if node.op != "smul" or node.is_scalar:
            continue
        present = set(postorder(e))
        if node in present:
            continue
        scale, part = _scale_and_part(node)
        if part not in present:
            continue
        stand_in = var(f"\u2063{name}", node.shape)  # a name no cell can write (U+2063)
        trial = tidy(substitute(e, {part: B.smul(B.epow(scale, -1), stand_in)}), names)
        if part in set(postorder(trial)) or cost(trial) >= cost(e):
            continue
        e = _put_back(trial, stand_in, node)
    return e


def _scale_and_part(node: Expr) -> tuple[Expr, Expr]:
    """``s (t P)`` → (s t, P): the scalar factors and what they scale."""
    scale = None
    while node.op == "smul":
        s, node = node.args
        scale = s if scale is None else B.smul(scale, s)
    return scale, node


def _put_back(root: Expr, stand_in: Expr, node: Expr) -> Expr:
    """``root`` with ``stand_in`` replaced by ``node``, nothing above it
    rebuilt (simplified) again."""
    memo: dict = {}
    for n in postorder(root):
        if n is stand_in:
            memo[n] = node
            continue
        args = tuple(memo[a] for a in n.args)
        memo[n] = n if all(a is b for a, b in zip(args, n.args)) else make(n.op, args, n.params, n.shape)
    return memo[root]
