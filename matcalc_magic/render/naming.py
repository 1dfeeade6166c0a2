"""Names for the parts of a result worth naming, so it stays readable.

A sub-expression used twice or more is printed once under a name instead of
being written out at every use (that is what keeps the result of a residual
network linear in size), and one nested too deep to read is cut off and named
the same way (a 100-layer chain reads as δ's, as back-propagation notes write
it).  Names the user gave (``z = W x + b``) are kept as they are.
"""

from __future__ import annotations

from collections import Counter

from ..graph import Expr, postorder

MAX_DEPTH = 10  # nesting levels printed before a part gets a name of its own
MIN_SIZE = 7  # smaller shared parts are cheaper to repeat than to name
_ATOMIC = frozenset({"var", "tangent", "const", "eye", "ones", "zeros", "commutation", "broadcast"})


def auxiliary_names(root: Expr, labels: dict, taken: set[str]) -> dict[Expr, str]:
    """{node: name} for the shared or deeply nested parts of ``root``, in an
    order in which each definition only uses names defined before it."""
    order = postorder(root)
    uses: Counter = Counter()
    for node in order:
        for a in node.args:
            uses[a] += 1
    prefix = "δ" if not any(t.startswith("δ") for t in taken) else "g"
    names: dict[Expr, str] = {}
    depth: dict[Expr, int] = {}
    size: dict[Expr, int] = {}
    for node in order:
        if node in labels or not node.args:
            depth[node], size[node] = 0, 1
            continue
        d = 1 + max(depth[a] for a in node.args)
        s = 1 + sum(size[a] for a in node.args)
        worth = node is not root and node.op not in _ATOMIC and not node.is_scalar or (
            node is not root and node.op not in _ATOMIC and s >= MIN_SIZE)
        if worth and ((uses[node] >= 2 and s >= MIN_SIZE) or d > MAX_DEPTH):
            names[node] = f"{prefix}_{len(names) + 1}"
            depth[node], size[node] = 0, 1
        else:
            depth[node], size[node] = d, s
    return names
