"""The differential of an expression: forward, one ``jvp`` rule per operator.

``d f`` is itself an expression in the matrix language, linear in the
variable's differential ``dX`` (a ``tangent`` leaf).  It is the derivative
without any layout: every layout is read off it later (see ``extract``).
Nodes are visited once each, so the differential of a graph with shared
sub-expressions stays as small as the graph.
"""

from __future__ import annotations

from ..graph import Expr, dependency_set, postorder, tangent, var_name, zeros
from ..ops.registry import MissingRule, rule


def tangent_of(variable: Expr) -> Expr:
    """The ``dX`` leaf of a variable."""
    name = var_name(variable) if variable.op == "var" else "X"
    return tangent("d" + name, variable.shape)


def differential(root: Expr, variable: Expr, dx: Expr | None = None) -> tuple[Expr, Expr]:
    """(dX, d root): the differential of ``root`` in the direction ``dX``."""
    dx = dx if dx is not None else tangent_of(variable)
    table = differentials(root, variable, dx)
    out = table.get(root)
    return dx, out if out is not None else zeros(*root.shape)


def differentials(root: Expr, variable: Expr, dx: Expr) -> dict[Expr, Expr | None]:
    """The differential of every node of ``root`` that depends on ``variable``."""
    return joint_differentials(root, {variable: dx})


def joint_differentials(root: Expr, seeds: dict) -> dict[Expr, Expr | None]:
    """The differential of every node of ``root`` when the variables in
    ``seeds`` (variable → its differential) vary together."""
    deps: set[int] = set()
    for v in seeds:
        deps |= dependency_set(root, v)
    memo: dict[Expr, Expr | None] = dict(seeds)
    for node in postorder(root):
        if node in seeds or id(node) not in deps:
            continue
        ts = [memo.get(a) if id(a) in deps else None for a in node.args]
        if all(t is None for t in ts):
            memo[node] = None
            continue
        r = rule(node.op)
        if r.jvp is None:
            raise MissingRule(f"no differentiation rule for {node.op}")
        memo[node] = r.jvp(node, ts)
    return memo
