"""Scaled definitions and softmaxes folded back into a result.

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

In the same way an exponential divided by its own sum is a softmax: InfoNCE's
``−log(exp(qᵀk₊/τ) / sum(exp(Kᵀq/τ)))`` differentiates to
``(K E − (𝟏ᵀ E) k₊) / ((𝟏ᵀ E) τ)`` with E = exp(Kᵀq/τ); written with
E = (𝟏ᵀ E) softmax(Kᵀq/τ) the sums cancel and it reads as the paper's
``(K softmax(Kᵀ q / τ) − k₊) / τ``.
"""

from __future__ import annotations

from ..graph import Expr, make, postorder, rebuild, substitute, var
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
        present = set(postorder(e, stop=names))  # not inside the user's other definitions
        if node in present:
            continue
        scale, part = _scale_and_part(node)
        if part not in present or part in names:
            continue
        stand_in = var(f"\u2063{name}", node.shape)  # a name no cell can write (U+2063)
        written = B.smul(B.epow(scale, -1), stand_in)
        trial = tidy(rebuild(e, lambda n, _args: written if n is part else (n if n in names else None)), names)
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


def fold_softmax(e: Expr) -> Expr:
    """``e`` with each exponential E that is divided by its own sums written
    as those sums times a softmax, where the sums then cancel: kept only
    when E is gone and the result reads shorter."""
    exps = [n for n in postorder(e) if n.op == "exp" and not n.is_scalar]
    if not exps:
        return e
    from .tidy import cost, tidy

    for E in exps:
        present = set(postorder(e))
        if E not in present:
            continue
        for axis, along in _softmax_axes(E):
            sums = B.total(E, axis)
            if sums not in present:
                continue
            stand_in = var("\u2063Σexp", sums.shape)  # the sums, kept out of the rewriting
            scaled = B.softmax(E.args[0], along)
            factor = stand_in if stand_in.is_scalar else B.broadcast(stand_in, E.shape)
            written = B.smul(factor, scaled) if stand_in.is_scalar else B.hadamard(factor, scaled)
            trial = tidy(substitute(substitute(e, {sums: stand_in}), {E: written}))
            trial_nodes = set(postorder(trial))
            if E in trial_nodes or cost(trial) >= cost(e):
                continue
            e = _put_back(trial, stand_in, sums) if stand_in in trial_nodes else trial
            break
    return e


def _softmax_axes(E: Expr) -> tuple:
    """(the axis E is summed along, the softmax's axis): a vector's sum
    (written either way), a matrix's columns and rows."""
    rows, cols = E.shape
    if cols == 1 or rows == 1:
        along = 0 if cols == 1 else 1
        return ((None, along), (along, along))
    return ((0, 0), (1, 1))
