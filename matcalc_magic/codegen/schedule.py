"""Which nodes become assignments, under which names, in which order.

The graph is hash-consed, so every sub-expression is one node: computing
each node once *is* common-subexpression elimination, and walking only from
the outputs leaves out everything no output uses.  A node gets a line of its
own when the user named it (``p = σ(X w)``: the code reads like the cell),
when it is an output, when it is used twice or more (``t_0 = …``), or when
writing it inline would nest too deep to read; anything else is written
inline where it is used.  A transpose of a named array, a constant, a
broadcast scalar cost nothing and are always inline.
"""

from __future__ import annotations

from collections import Counter

from ..graph import Expr, postorder
from .names import Namer

MAX_DEPTH = 6  # operators nested in one line before a part gets its own
MAX_INLINE = 24  # operators in one line before a part gets its own
#: operators that cost nothing next to their argument (views, constants)
_FREE = frozenset({"transpose", "broadcast"})
_LEAVES_FREE = frozenset({"const", "var"})


def schedule(roots: list[Expr], labels: dict, namer: Namer, fixed: dict,
             wanted: dict | None = None) -> tuple[list[tuple[str, Expr]], dict]:
    """(steps, names): the assignments ``[(name, node)]`` in an order where
    each uses only names before it, and ``names`` (node → name) for every
    node printed as a name.  ``fixed`` names nodes that need no line (the
    parameters); ``wanted`` (node → name) asks a name for an output."""
    order = postorder(*roots)
    uses = _uses(order, roots)
    names: dict[Expr, str] = dict(fixed)
    steps: list[tuple[str, Expr]] = []
    depth: dict[Expr, int] = {}
    size: dict[Expr, int] = {}
    root_set = set(roots)
    for node in order:
        if node in names:
            depth[node], size[node] = 0, 0
            continue
        d = 1 + max((depth[a] for a in node.args), default=0)
        s = 1 + sum(size[a] for a in node.args)
        free = node.op in _LEAVES_FREE or (
            node.op in _FREE and all(a in names or a.op in _LEAVES_FREE for a in node.args))
        labelled = node in labels and node.op not in ("const", "var")
        own_line = (labelled or node in root_set or (uses[node] > 1 and not free)
                    or d > MAX_DEPTH or s > MAX_INLINE)
        if own_line and not (free and not labelled and node not in root_set):
            if node in labels:
                name = namer.claim(labels[node])
            elif wanted and node in wanted:
                name = namer.claim(wanted[node])
            else:
                name = namer.temporary()
            names[node] = name
            steps.append((name, node))
            depth[node], size[node] = 0, 0
        else:
            depth[node], size[node] = d, s
    return steps, names


def _uses(order: list[Expr], roots: list[Expr]) -> Counter:
    """How often each node is printed, parents first: a term ``-c a`` of a
    sum prints as ``… - c * a``, a use of ``a`` and not of the node ``-c a``;
    a node nothing prints uses nothing."""
    from .printer import negative_coefficient

    uses: Counter = Counter(roots)
    for node in reversed(order):
        if not uses[node]:
            continue
        for i, a in enumerate(node.args):
            if node.op == "add" and i > 0 and negative_coefficient(a) is not None:
                uses[a.args[1]] += 1
            else:
                uses[a] += 1
    return uses
