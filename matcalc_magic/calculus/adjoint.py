"""The adjoint of a differential: the trace trick, done by rule.

For a scalar ``J`` with ``dJ = L(dX)``, the gradient ``G`` is the one matrix
with ``dJ = ⟨G, dX⟩ = tr(Gᵀ dX)``, i.e. ``G = L*(1)``.  Walking ``L``
backwards and applying each linear operator's ``transpose`` rule is exactly
the sequence of trace-trick moves (cyclic rotation, transposing a scalar,
moving a Hadamard factor across the inner product), and it is reverse-mode
differentiation: adjoints are shared, so the result stays linear in size.
"""

from __future__ import annotations

from ..graph import Expr, dependency_set, postorder, zeros
from ..ops import build as B
from ..ops.registry import MissingRule, rule


def adjoint(linear: Expr, dx: Expr, seed: Expr) -> Expr:
    """``L*(seed)`` for ``linear = L(dx)``: the cotangent that reaches ``dx``."""
    return adjoints(linear, dx, seed).get(dx) or zeros(*dx.shape)


def adjoints(linear: Expr, dx: Expr, seed: Expr) -> dict[Expr, Expr]:
    """The cotangent of every node of ``linear`` on a path to ``dx``."""
    deps = dependency_set(linear, dx)
    if id(linear) not in deps:
        return {}
    order = [n for n in postorder(linear) if id(n) in deps]
    position = {id(n): k for k, n in enumerate(order)}
    pending: dict[Expr, list] = {linear: [(0, seed)]}
    done: dict[Expr, Expr] = {}
    for node in reversed(order):
        parts = pending.pop(node, None)
        if not parts:
            continue
        # Sum the shares in the order their uses are written (data term, then
        # regularizer), not in the order the backward walk met them.
        parts = [ct for _k, ct in sorted(parts, key=lambda p: p[0])]
        ct = parts[0] if len(parts) == 1 else B.add(*parts)
        done[node] = ct
        if node is dx:
            continue
        carried = [i for i, a in enumerate(node.args) if id(a) in deps]
        r = rule(node.op)
        if r.transpose is None:
            raise MissingRule(f"{node.op} is not linear: no adjoint rule")
        if len(carried) > 1 and node.op not in ("add", "concat"):
            raise MissingRule(f"{node.op} is not linear in dX (dX appears in two factors)")
        for i in carried:
            pending.setdefault(node.args[i], []).append((position[id(node)], r.transpose(node, ct, i)))
    return done
