"""Structural optimisations: the graph rewritten into what runs fast.

The engine's graph says what a result *is* (``Xᵀ diag(s) X``, ``K (A ⊗ B)``,
``tr(A X⁻¹)``); this pass rewrites it into what a careful human computes,
node by node, sharing every node as the graph does:

* a matrix product is ordered by its sizes (cheapest contraction first), and
  its special factors are applied to their neighbours instead of being formed:
  ``diag(s) M`` is ``s * M`` (broadcasting), ``K_{m,n} M`` a reshape and a
  swap of axes, ``(A ⊗ B) M`` two products of reshaped blocks, ``𝟏ᵀ M`` a sum;
* ``A⁻¹ M`` is ``solve(A, M)`` when that inverse is used nowhere else, once
  the products are formed and shared (used twice, the inverse is computed
  once and multiplied);
* ``tr(F₁ … F_k)`` is ``Σ (F₁ … F_{k−1}) ⊙ F_kᵀ``, never the whole product;
* ``softmax(z)`` is ``exp(log_softmax(z))`` where the log-softmax is computed
  anyway (cross-entropy and its gradient): one normalisation, not two.

The new operators live only here and in the printers:

``bmul(a, b)``      elementwise product with broadcasting (a column or row scales)
``solve(A, B)``     A⁻¹ B by a factorization
``perm_rows(M)``    K_{m,n} M, params (m, n): rows reordered as vec(Aᵀ) reorders vec(A)
``perm_cols(M)``    M K_{m,n}, params (m, n)
``kron_mm(A, B, M)`` (A ⊗ B) M without forming A ⊗ B
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import sympy

from ..graph import Expr, eye, is_all_ones, make, postorder
from ..shapes import ONE

#: the size every symbol is taken to have when contraction orders are compared
TYPICAL_SIZE = 1000


@dataclass(frozen=True)
class Factor:
    """A factor of a product: ``dense`` (an array), ``diag`` (a vector v),
    ``perm`` (K_{m,n}), ``kron`` (A ⊗ B) or ``ones`` (𝟏)."""

    kind: str
    args: tuple = ()
    shape: tuple = ()


def lower(roots: list[Expr], labels: dict) -> tuple[list[Expr], dict]:
    """The roots rewritten, and the labels carried over to the new nodes."""
    order = postorder(*roots)
    uses = _uses(order, roots)
    logs = {(n.args[0], n.params) for n in order if n.op == "logsoftmax"}
    new: dict[Expr, Expr] = {}
    for node in order:
        if node.op == "softmax" and (node.args[0], node.params) in logs:
            log = make("logsoftmax", (new[node.args[0]],), node.params, node.shape)
            out = make("exp", (log,), (), node.shape)
        elif node.op == "matmul":
            out = product([_factor(f, new) for f in node.args])
        elif node.op == "trace" and node.args[0].op == "matmul" and uses[node.args[0]] == 1 \
                and node.args[0] not in labels:
            out = _trace_of_product([_factor(f, new) for f in node.args[0].args])
        elif node.op == "commutation":  # the result is K itself
            out = product([Factor("perm", node.params, node.shape)])
        else:
            out = _rebuilt(node, new)
        new[node] = out
    carried: dict = {}
    for node, name in labels.items():
        if node in new and new[node] not in carried:
            carried[new[node]] = name
    return _solves([new[r] for r in roots], carried)


def _uses(order: list[Expr], roots: list[Expr]) -> Counter:
    uses: Counter = Counter(roots)
    for node in order:
        uses.update(node.args)
    return uses


def _solves(roots: list[Expr], labels: dict) -> tuple[list[Expr], dict]:
    """``A⁻¹ M`` → ``solve(A, M)`` and ``M A⁻¹`` → ``solve(Aᵀ, Mᵀ)ᵀ`` where
    that inverse (unnamed) has no other use in the products as formed."""
    order = postorder(*roots)
    uses = _uses(order, roots)
    new: dict[Expr, Expr] = {}

    def inverted(f: Expr) -> Expr | None:
        """A (as rewritten) for a factor A⁻¹, Aᵀ for A⁻ᵀ, used only here; else None."""
        if uses[f] != 1 or f in labels:
            return None
        if f.op == "inv":
            return new[f.args[0]]
        if f.op == "transpose" and f.args[0].op == "inv" and uses[f.args[0]] == 1 and f.args[0] not in labels:
            return transpose(new[f.args[0].args[0]])
        return None

    for node in order:
        out = None
        if node.op == "matmul":
            (a, b), shape = node.args, node.shape
            if (m := inverted(a)) is not None:
                out = make("solve", (m, new[b]), (), shape)
            elif (m := inverted(b)) is not None:
                out = transpose(make("solve", (transpose(m), transpose(new[a])), (), (shape[1], shape[0])))
        new[node] = out if out is not None else _rebuilt(node, new)
    carried = {new.get(node, node): name for node, name in labels.items()}
    return [new[r] for r in roots], carried


def _rebuilt(node: Expr, new: dict) -> Expr:
    """``node`` over its arguments' new forms (itself if none changed)."""
    args = tuple(new[a] for a in node.args)
    if all(a is b for a, b in zip(args, node.args)):
        return node
    return make(node.op, args, node.params, node.shape)


# ====================================================================== products
def _factor(f: Expr, new: dict) -> Factor:
    if f.op == "diag":
        return Factor("diag", (new[f.args[0]],), f.shape)
    if f.op == "commutation":
        return Factor("perm", f.params, f.shape)
    if f.op == "kron":
        return Factor("kron", (new[f.args[0]], new[f.args[1]]), f.shape)
    if is_all_ones(f):
        return Factor("ones", (), f.shape)
    return Factor("dense", (new[f],), f.shape)


#: the order special factors are taken out of a product in: the cheapest
#: to apply first, so that each is applied to whatever the rest makes (K, a
#: copy, to the finished rest; diag(v) to a neighbour before a Kronecker
#: product would have to multiply it densely)
SPECIAL_ORDER = ("perm", "diag", "ones", "kron")


def product(factors: list[Factor]) -> Expr:
    """The product of the factors, special ones applied to their neighbours."""
    if len(factors) == 1:
        return _materialize(factors[0])
    for kind in SPECIAL_ORDER:
        for i, f in enumerate(factors):
            if f.kind == kind:
                if i + 1 < len(factors):
                    core = _apply_left(f, product(factors[i + 1:]))
                    return core if i == 0 else product(factors[:i] + [_dense(core)])
                return _apply_right(product(factors[:i]), f)
    return _ordered([f.args[0] for f in factors])


def _trace_of_product(factors: list[Factor]) -> Expr:
    """tr(F₁ … F_k) = Σ (F₁ … F_{k−1}) ⊙ F_kᵀ, rotated so that F_k is an array."""
    dense = [i for i, f in enumerate(factors) if f.kind == "dense"]
    if not dense:
        body = product(factors)
        return make("trace", (body,), (), (ONE, ONE))
    j = dense[-1]
    rotated = factors[j + 1:] + factors[:j + 1]
    head, last = product(rotated[:-1]), rotated[-1].args[0]
    if head.op == "transpose":  # Σ Aᵀ ⊙ Bᵀ = Σ A ⊙ B
        head, last = head.args[0], transpose(last)
    return make("sum", (make("hadamard", (head, transpose(last)), (), head.shape),), (None,), (ONE, ONE))


def _dense(e: Expr) -> Factor:
    return Factor("dense", (e,), e.shape)


def _materialize(f: Factor) -> Expr:
    """A special factor standing alone: the result is that matrix."""
    if f.kind == "dense":
        return f.args[0]
    if f.kind == "diag":
        return make("diag", f.args, (), f.shape)
    if f.kind == "perm":
        m, n = f.args
        return make("perm_rows", (eye(sympy.expand(m * n)),), f.args, f.shape)
    if f.kind == "kron":
        return make("kron", f.args, (), f.shape)
    return make("ones", (), (), f.shape)


def _apply_left(f: Factor, right: Expr) -> Expr:
    """f @ right for a special factor f."""
    shape = (f.shape[0], right.shape[1])
    if f.kind == "diag":
        return bmul(_column(f.args[0]), right)
    if f.kind == "perm":
        return make("perm_rows", (right,), f.args, shape)
    if f.kind == "kron":
        return make("kron_mm", (*f.args, right), (), shape)
    # 𝟏 (r×c) right: every row is the column sums of right
    sums = right if right.shape[0] == ONE else make("sum", (right,), (0,), (ONE, right.shape[1]))
    return broadcast(sums, shape)


def _apply_right(left: Expr, f: Factor) -> Expr:
    """left @ f for a special factor f."""
    shape = (left.shape[0], f.shape[1])
    if f.kind == "diag":
        return bmul(left, _row(f.args[0]))
    if f.kind == "perm":
        return make("perm_cols", (left,), f.args, shape)
    if f.kind == "kron":  # L (A ⊗ B) = ((Aᵀ ⊗ Bᵀ) Lᵀ)ᵀ
        a, b = f.args
        lt = transpose(left)
        return transpose(make("kron_mm", (transpose(a), transpose(b), lt), (), (shape[1], shape[0])))
    sums = left if left.shape[1] == ONE else make("sum", (left,), (1,), (left.shape[0], ONE))
    return broadcast(sums, shape)


def _ordered(factors: list[Expr]) -> Expr:
    """A chain of arrays multiplied in the order that costs fewest operations
    (the textbook dynamic programme, sizes estimated with TYPICAL_SIZE)."""
    n = len(factors)
    dims = [_estimate(factors[0].shape[0])] + [_estimate(f.shape[1]) for f in factors]
    cost = [[0.0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(2, n + 1):
        for i in range(n - length + 1):
            j = i + length - 1
            cost[i][j] = float("inf")
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k

    def build(i: int, j: int) -> Expr:
        if i == j:
            return factors[i]
        k = split[i][j]
        a, b = build(i, k), build(k + 1, j)
        return make("matmul", (a, b), (), (a.shape[0], b.shape[1]))

    return build(0, n - 1)


def _estimate(d) -> float:
    d = sympy.sympify(d)
    return float(d.xreplace({s: TYPICAL_SIZE for s in d.free_symbols}))


# ====================================================================== small builders
def transpose(e: Expr) -> Expr:
    if e.op == "transpose":
        return e.args[0]
    if e.is_scalar:
        return e
    return make("transpose", (e,), (), (e.shape[1], e.shape[0]))


def bmul(a: Expr, b: Expr) -> Expr:
    """a * b, broadcasting a size-1 axis."""
    shape = tuple(x if x != ONE else y for x, y in zip(a.shape, b.shape))
    return make("bmul", (a, b), (), shape)


def broadcast(a: Expr, shape) -> Expr:
    if a.shape == tuple(shape):
        return a
    return make("broadcast", (a,), (tuple(shape),), shape)


def _column(v: Expr) -> Expr:
    return v if v.shape[1] == ONE else transpose(v)


def _row(v: Expr) -> Expr:
    return v if v.shape[0] == ONE else transpose(v)
