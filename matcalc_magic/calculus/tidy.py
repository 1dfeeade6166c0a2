"""Final touches that make a result read like a textbook.

Construction already simplifies locally (see ``ops/build.py``); this pass
makes the choices that need a view of a whole sum: ``A x + Aᵀ x`` becomes
``(A + Aᵀ) x`` by collecting a common right or left factor, and the terms of
a sum that vanish identically (``𝟏ᵀ (X − 𝟏 μ)`` with ``μ`` the mean of
``X``'s columns, see :mod:`.centred`) are dropped.
"""

from __future__ import annotations

from ..graph import Expr, is_all_ones, rebuild
from ..shapes import ONE
from ..ops import build as B
from ..ops.algebra import BIG_SUM, split_coefficient
from .centred import Sums, axes_of


def tidy(e: Expr, keep=()) -> Expr:
    """``e`` in textbook form; nodes in ``keep`` (the user's named
    definitions) are left as they are, so they print as their names."""
    from .islands import simplify_islands

    sums = Sums()

    def step(node, args):
        return node if node in keep else _tidy_node(node, args, sums)

    out = rebuild(simplify_islands(e, keep), step)
    if sums.vanished:  # the formula around a zero may simplify further: (n δ − (𝟏ᵀ δ) 𝟏) / ‖δ‖ → n δ / ‖δ‖ → …
        again = simplify_islands(out, keep)
        out = out if again is out else rebuild(again, step)
    return out


def _tidy_node(node: Expr, args: tuple, sums: Sums) -> Expr | None:
    summed = _without_vanishing_sums(node, args, sums)
    if summed is not None:
        if summed.op != "matmul":
            return summed
        args = summed.args  # a product: tidied further below
    if node.op == "add":
        total = _merge_transposed_sums(B.add(*args))
        factored = _factor_sum(total)
        if factored is total:
            factored = _factor_groups(total)
        return _pull_sign(factored)
    if node.op == "matmul" and len(args) > 2:
        product = _simplified_inner_products(B.matmul(*args))
        if product.op != "matmul":
            return product
        args = product.args
    if node.op == "matmul" and any(a.op == "add" for a in args):
        return _maybe_distribute(B.matmul(*args))
    return None if summed is None else B.matmul(*args)


def _without_vanishing_sums(node: Expr, args: tuple, sums: Sums) -> Expr | None:
    """Σ (X̂ ⊙ 𝟏 c + A) → Σ A when the columns of X̂ sum to zero (see
    :mod:`.centred`), for a ``sum`` node and for 𝟏ᵀ, 𝟏 in a product."""
    if node.op == "sum":
        axes, (summed,) = axes_of(node.params[0]), args
        kept = sums.without_vanishing(summed, axes)
        return None if kept is summed else B.total(kept, node.params[0])
    if node.op == "matmul" and any(is_all_ones(a) or a.op == "add" for a in args):
        return sums.product_without_vanishing(args)
    return None


def is_inner_pair(row: Expr, col: Expr) -> bool:
    """A row times a column of the same length n > 1: a scalar, uᵀ v."""
    return row.shape[0] == ONE and col.shape[1] == ONE and row.shape[1] != ONE


def _simplified_inner_products(product: Expr) -> Expr:
    """p (y ⊘ p)ᵀ p → (𝟏ᵀ y) p: a row times a column inside a longer product
    is a scalar, an elementwise formula summed, which may cancel."""
    from .islands import simplify_islands

    f = product.args if product.op == "matmul" else ()
    for i in range(len(f) - 1):
        row, col = f[i], f[i + 1]
        if not is_inner_pair(row, col):
            continue
        inner = B.matmul(row, col)
        simpler = simplify_islands(inner)
        if simpler is not inner and cost(simpler) < cost(inner):
            return B.smul(simpler, B.matmul(*f[:i], *f[i + 2:]))
    return product


def _maybe_distribute(product: Expr) -> Expr:
    """diag(s) (I − 𝟏 sᵀ) → diag(s) − s sᵀ: distribute over a sum when that
    reads shorter (it never does for (A + Aᵀ) x)."""
    if product.op != "matmul":
        return product
    f = product.args
    for k, factor in enumerate(f):
        if factor.op != "add":
            continue
        spread = B.add(*(B.matmul(*f[:k], t, *f[k + 1:]) for t in factor.args))
        if cost(spread) < cost(product):
            return spread
    return product


def cost(e: Expr, memo: dict | None = None) -> int:
    """How much there is to read: structural nodes of the printed tree, with
    each function application or name counted once."""
    memo = {} if memo is None else memo
    stack = [e]
    while stack:  # children first, and only below structural nodes not yet costed
        node = stack[-1]
        if node in memo:
            stack.pop()
            continue
        if node.op not in _STRUCTURE:
            memo[stack.pop()] = _leaf_cost(node)
            continue
        pending = [a for a in node.args if a not in memo]
        if pending:
            stack.extend(pending)
            continue
        memo[stack.pop()] = 1 + sum(memo[a] for a in node.args)
    return memo[e]


def _leaf_cost(node: Expr) -> int:
    """A coefficient such as 1/N or 1/√k reads as two things, a digit as one."""
    if node.op == "const" and len(node.params) == 1 and not node.params[0].is_Integer:
        return 2
    return 1


_STRUCTURE = frozenset({"add", "smul", "matmul", "transpose", "hadamard", "hdiv", "epow", "broadcast",
                        "sum", "trace", "diag", "diagvec", "kron", "vec", "unvec", "inv"})


def _ends(term: Expr):
    """(coefficient, factors) of a product term, for factoring."""
    c, base = split_coefficient(term)
    factors = list(base.args) if base.op == "matmul" else [base]
    return c, factors


def _factor_sum(s: Expr) -> Expr:
    """Collect the longest common right (else left) factor of every term."""
    if s.op != "add" or len(s.args) < 2:
        return s
    plain = [_ends(t) for t in s.args]
    for side in ("right", "left"):
        parts = plain
        if not _shared_end(parts, side):  # a xᵀ b + b xᵀ a: the scalar xᵀ b is bᵀ x, so x is common
            parts = [(c, _inner_product_turned(f, side)) for c, f in plain]
        k = 0
        while True:
            candidates = set()
            ok = True
            for _c, f in parts:
                if len(f) <= k + 1:
                    ok = False
                    break
                candidates.add(f[-1 - k] if side == "right" else f[k])
            if not ok or len(candidates) != 1:
                break
            k += 1
        if k:
            common = [f[len(f) - k:] if side == "right" else f[:k] for _c, f in parts][0]
            rest = [_times(c, B.matmul(*(f[:len(f) - k] if side == "right" else f[k:]))) for c, f in parts]
            inner = _pull_sign(_factor_sum(B.add(*rest)))
            return B.matmul(inner, *common) if side == "right" else B.matmul(*common, inner)
    return s


def _shared_end(parts, side: str) -> bool:
    ends = {f[-1] if side == "right" else f[0] for _c, f in parts if len(f) > 1}
    return len(ends) == 1 and all(len(f) > 1 for _c, f in parts)


def _inner_product_turned(f: list, side: str) -> list:
    """Factors ending (right) or starting (left) with an inner product uᵀ v,
    written vᵀ u instead: the same scalar, with u at the end."""
    pair = f[-2:] if side == "right" else f[:2]
    if len(f) < 3 or len(pair) < 2:
        return f
    row, col = pair
    if not is_inner_pair(row, col):
        return f
    turned = [B.transpose(col), B.transpose(row)]
    return f[:-2] + turned if side == "right" else turned + f[2:]


def _times(c, body: Expr) -> Expr:
    """c body, a small sum negated term by term, so that it joins the sum
    around it: U (2 ŷ − y₁ − y₂), not U (2 ŷ − (y₁ + y₂))."""
    if c == -1 and body.op == "add" and len(body.args) < BIG_SUM:
        return B.add(*(B.neg(t) for t in body.args))
    return B.smul(c, body)


def _factor_groups(s: Expr) -> Expr:
    """Collect a common right (else left) factor of some of the terms, when
    no factor is common to all: p₁ h₁ᵀ − y₁ h₁ᵀ + p₂ h₂ᵀ − y₂ h₂ᵀ becomes
    (p₁ − y₁) h₁ᵀ + (p₂ − y₂) h₂ᵀ, one term per step of a recurrence."""
    if s.op != "add" or len(s.args) < 3:
        return s
    parts = [_ends(t) for t in s.args]
    for side in ("right", "left"):
        groups: dict[Expr, list[int]] = {}
        for i, (_c, f) in enumerate(parts):
            if len(f) >= 2:
                groups.setdefault(f[-1] if side == "right" else f[0], []).append(i)
        merged: dict[int, Expr] = {}
        for members in groups.values():
            if len(members) < 2:
                continue
            group = B.add(*(s.args[i] for i in members))
            factored = _factor_sum(group)
            if factored is not group:
                merged.update({i: None for i in members})
                merged[members[0]] = factored
        if not merged:
            continue
        terms = [merged.get(i, t) if i in merged else t for i, t in enumerate(s.args)]
        out = B.add(*(t for t in terms if t is not None))
        if cost(out) < cost(s):
            return out
    return s


def _pull_sign(s: Expr) -> Expr:
    """−a − b → −(a + b) (one sign to read instead of one per term)."""
    if s.op != "add":
        return s
    parts = [split_coefficient(t) for t in s.args]
    if all(c.is_Number and c < 0 for c, _ in parts):
        return B.neg(B.add(*(B.smul(-c, base) for c, base in parts)))
    return s


def _merge_transposed_sums(s: Expr) -> Expr:
    """(𝟏ᵀ (X A))ᵀ + Aᵀ Xᵀ 𝟏: the same column sum written two ways (the
    transpose of a sum down the columns is the sum along the rows of the
    transpose), collected when another term is written the second way."""
    if s.op != "add":
        return s
    flipped = {t: _transposed_sum(t) for t in s.args}
    if not any(f is not None and f in s.args for f in flipped.values()):
        return s
    return B.add(*(f if f is not None and f in s.args else t for t, f in flipped.items()))


def _transposed_sum(term: Expr) -> Expr | None:
    """c (𝟏ᵀ M)ᵀ → c Mᵀ 𝟏 (and c (M 𝟏)ᵀ → c 𝟏ᵀ Mᵀ), else None."""
    c, base = split_coefficient(term)
    if base.op != "transpose" or base.args[0].op != "sum" or base.args[0].params[0] not in (0, 1):
        return None
    inner = base.args[0]
    return B.smul(c, B.total(B.transpose(inner.args[0]), 1 - inner.params[0]))
