"""Sums that vanish identically: a centred quantity sums to zero.

BatchNorm and LayerNorm subtract a mean, ``Xc = X − 𝟏 μ`` with ``μ = (1/N)
𝟏ᵀ X``, so ``𝟏ᵀ Xc = 0`` for every ``X``, and so is ``𝟏ᵀ (Xc ⊘ 𝟏 s) ⊙ c``
for any row ``s`` and ``c``.  Their gradients hold such sums
(``𝟏ᵀ (δ ⊙ X̂) ⊙ 𝟏ᵀ X̂``); textbooks (CS231n) drop them.

:class:`Sums` works out a sum of an expression along some axes by
linearity alone — through ``+``, scalar multiples, transposes, products,
broadcasts, and Hadamard products and quotients whose other factors repeat
along the summed axis — building every piece with the graph's own
constructors, so that the sum of ``X`` and the sum of the broadcast mean of
``X`` meet as the same node with opposite coefficients and cancel.  Every
spelling of a sum (``sum(X, axis=0)``, ``𝟏ᵀ X``, a sum of sums) is turned
into one form first.  What it cannot see through stays a sum of its own,
which never cancels by mistake: a mean along the other axis, a weighted
mean or the mean of another matrix is left alone.
"""

from __future__ import annotations

from functools import reduce
from operator import mul

import sympy

from ..graph import Expr, const, is_all_ones, is_zero, ones, zeros
from ..ops import build as B
from ..ops.algebra import split_coefficient
from ..ops.registry import apply, rule
from ..shapes import ONE

BOTH = frozenset({0, 1})
ONLY = (frozenset({0}), frozenset({1}))
NONE = frozenset()
_DEEPEST = 200  # a deeper expression is not looked into (it stays a sum of its own)


def axes_of(axis) -> frozenset:
    """The axes a ``sum`` node with this parameter adds up (None: all)."""
    return BOTH if axis is None else frozenset({axis})


class Sums:
    """Sums along axes of the expressions of one result; each worked out once."""

    def __init__(self):
        self.memo: dict[tuple, Expr] = {}
        self.depth = 0
        self.vanished = False  # whether a whole sum or product was found to be zero

    # ------------------------------------------------------------ use
    def vanishes(self, e: Expr, axes: frozenset) -> bool:
        return is_zero(self.of(e, axes))

    def without_vanishing(self, e: Expr, axes: frozenset) -> Expr:
        """``e`` without the terms whose sum along ``axes`` cancels, which
        leaves that sum unchanged: zeros if all of it cancels, ``e`` itself
        if nothing does.  Terms cancel in groups that share what they sum
        to (``X`` and ``−𝟏 μ``), or alone (``X̂ ⊙ 𝟏 c``)."""
        if e.op == "transpose":  # (A + B)ᵀ 𝟏
            inner = self.without_vanishing(e.args[0], frozenset(1 - a for a in axes))
            return e if inner is e.args[0] else B.transpose(inner)
        if e.op == "smul":  # 𝟏ᵀ c (A + B)
            inner = self.without_vanishing(e.args[1], axes)
            return e if inner is e.args[1] else B.smul(e.args[0], inner)
        terms = e.args if e.op == "add" else (e,)
        sums = [self.of(t, axes) for t in terms]
        group = list(range(len(terms)))  # union-find over the terms

        def root(i):
            while group[i] != i:
                group[i] = group[group[i]]
                i = group[i]
            return i

        owner: dict[Expr, int] = {}
        for i, s in enumerate(sums):
            for part in _terms(s):
                base = split_coefficient(part)[1]
                j = owner.setdefault(base, i)
                group[root(i)] = root(j)
        members: dict[int, list[int]] = {}
        for i in range(len(terms)):
            members.setdefault(root(i), []).append(i)
        dropped = set()
        for idx in members.values():
            if is_zero(B.add(*(sums[i] for i in idx))):
                dropped.update(idx)
        if not dropped:
            return e
        kept = [t for i, t in enumerate(terms) if i not in dropped]
        self.vanished = self.vanished or not kept
        return B.add(*kept) if kept else zeros(*e.shape)

    def product_without_vanishing(self, f: tuple) -> Expr | None:
        """The product f₀ f₁ … without what vanishes, or None if nothing
        does: the terms of A in 𝟏ᵀ A or A 𝟏 that sum to zero; the whole
        product if it holds P 𝟏 with P 𝟏 = 0 (or 𝟏ᵀ Q = 0); a term 𝟏 r (or
        r 𝟏ᵀ) of a factor beside such a P (or Q), as in x̂ᵀ (I − 𝟏 𝟏ᵀ/N) = x̂ᵀ."""
        f = list(f)
        for i, factor in enumerate(f):
            if (i and _ones_column(factor) and self.vanishes(B.matmul(*f[:i]), ONLY[1])
                    or i < len(f) - 1 and _ones_row(factor) and self.vanishes(B.matmul(*f[i + 1:]), ONLY[0])):
                self.vanished = True
                return zeros(f[0].shape[0], f[-1].shape[1])
        changed = False
        if _ones_row(f[0]) and len(f) > 1:  # 𝟏ᵀ A …
            kept = self.without_vanishing(f[1], ONLY[0])
            changed, f[1] = changed or kept is not f[1], kept
        if _ones_column(f[-1]) and len(f) > 1:  # … A 𝟏
            kept = self.without_vanishing(f[-2], ONLY[1])
            changed, f[-2] = changed or kept is not f[-2], kept
        for i, factor in enumerate(f):
            if factor.op != "add":
                continue
            terms = [t for t in factor.args if not self._vanishes_beside(t, f[:i], f[i + 1:])]
            if len(terms) < len(factor.args):
                changed, f[i] = True, B.add(*terms) if terms else zeros(*factor.shape)
                self.vanished = self.vanished or not terms
        return B.matmul(*f) if changed else None

    def _vanishes_beside(self, term: Expr, before: list, after: list) -> bool:
        """Whether P term Q is zero because term is c 𝟏 r with P 𝟏 = 0, or c r 𝟏ᵀ with 𝟏ᵀ Q = 0."""
        while term.op == "smul":
            term = term.args[1]
        chain = term.args if term.op == "matmul" else (term,)
        return (bool(before) and _ones_column(chain[0]) and self.vanishes(B.matmul(*before), ONLY[1])
                or bool(after) and _ones_row(chain[-1]) and self.vanishes(B.matmul(*after), ONLY[0]))

    # ------------------------------------------------------------ the sum
    def of(self, e: Expr, axes: frozenset) -> Expr:
        """Σ of ``e`` along ``axes`` (0: down the columns, 1: along the rows;
        none: ``e`` itself in the common form), kept 2-D."""
        axes = frozenset(a for a in axes if e.shape[a] != ONE)
        key = (e, axes)
        out = self.memo.get(key)
        if out is None:
            if self.depth > _DEEPEST:
                return _opaque(e, axes)
            self.depth += 1
            try:
                out = self._push(e, axes)
            finally:
                self.depth -= 1
            self.memo[key] = out
        return out

    def _push(self, e: Expr, axes: frozenset) -> Expr:
        op, args = e.op, e.args
        if is_zero(e):
            return zeros(*_reduced(e.shape, axes))
        if op == "sum":
            return self.of(args[0], axes | axes_of(e.params[0]))
        if op == "add":
            return B.add(*(p for t in args for p in _terms(self.of(t, axes))))
        if op == "smul":
            return _spread(lambda t: B.smul(args[0], t), self.of(args[1], axes))
        if op == "transpose":
            return _spread(B.transpose, self.of(args[0], frozenset(1 - a for a in axes)))
        if op == "ones":
            return B.smul(_count(e.shape, axes), ones(*_reduced(e.shape, axes)))
        if op == "broadcast":
            (v,) = args
            grown = frozenset(a for a in axes if v.shape[a] == ONE)
            count, shape = _count(e.shape, grown), _reduced(e.shape, axes)
            return _spread(lambda t: B.smul(count, B.broadcast(t, shape)), self.of(v, axes - grown))
        if op == "matmul":
            return self._product(args, axes)
        if op in ("hadamard", "hdiv") and axes:
            return self._elementwise(e, axes)
        if op in ("hadamard", "hdiv"):
            return apply(op, tuple(self.of(a, NONE) for a in args), e.params)
        return _opaque(e, axes)

    def _product(self, f: tuple, axes: frozenset) -> Expr:
        """Σ of f₀ f₁ … f_k: 𝟏ᵀ reaches the first factor, 𝟏 the last."""
        if BOTH <= axes:
            return self.of(self._product(f, frozenset({0})), frozenset({1}))
        first, rest = (f[0], f[1:]) if 1 not in axes else (f[-1], f[:-1])
        if not axes:
            if is_all_ones(f[0]) and f[0].shape[0] == ONE:  # 𝟏ᵀ A is Σ A down the columns
                return self.of(B.matmul(*f[1:]), frozenset({0}))
            if is_all_ones(f[-1]) and f[-1].shape[1] == ONE:
                return self.of(B.matmul(*f[:-1]), frozenset({1}))
            return B.matmul(*(self.of(a, NONE) for a in f))
        end, coefficients = self.of(first, axes), []
        while end.op == "smul" and end.args[0].op == "const":  # N 𝟏ᵀ: the number out front
            coefficients.append(end.args[0])
            end = end.args[1]
        if end.is_scalar:  # a column times a row: its sum is a multiple of the row
            coefficients.append(end)
            out = self.of(B.matmul(*rest), NONE)
        elif is_all_ones(end):  # 𝟏ᵀ A B is (Σ A) B
            out = self.of(B.matmul(*rest), axes)
        else:
            rest_sum = self.of(B.matmul(*rest), NONE)
            out = _spread(lambda t: B.matmul(t, rest_sum) if 1 not in axes else B.matmul(rest_sum, t), end)
        for c in reversed(coefficients):
            out = _spread(lambda t: B.smul(c, t), out)
        return out

    def _elementwise(self, e: Expr, axes: frozenset) -> Expr:
        """Σ (A ⊙ 𝟏 c) = (Σ A) ⊙ c, and likewise for A ⊘ 𝟏 c: only one
        factor may change along the summed axes."""
        moving = [a for a in e.args if not _repeats(a, axes)]
        if len(moving) > 1 or e.op == "hdiv" and e.args[1] in moving:
            if BOTH <= axes:  # Σ (A ⊙ 𝟏 c): down the columns first, then along the rows (or the other way)
                for first in (frozenset({0}), frozenset({1})):
                    part = self._elementwise(e, first)
                    if part is not _opaque(e, first):
                        return self.of(part, axes - first)
            return _opaque(e, axes)
        if not moving:
            return B.smul(_count(e.shape, axes), self._repeated(e, axes))
        (m,) = moving
        others = [None if a is m else self._repeated(a, axes) for a in e.args]
        return _spread(lambda t: apply(e.op, tuple(t if o is None else o for o in others), e.params),
                       self.of(m, axes))

    def _repeated(self, e: Expr, axes: frozenset) -> Expr:
        """The row (column) that ``e`` repeats along ``axes``."""
        axes = frozenset(a for a in axes if e.shape[a] != ONE)
        if not axes:
            return self.of(e, NONE)
        shape = _reduced(e.shape, axes)
        if e.op == "ones":
            return ones(*shape)
        if e.op == "broadcast":
            v = e.args[0]
            return B.broadcast(self._repeated(v, axes), shape)
        if e.op == "transpose":
            return B.transpose(self._repeated(e.args[0], frozenset(1 - a for a in axes)))
        if e.op == "smul":
            return B.smul(e.args[0], self._repeated(e.args[1], axes))
        if e.op == "epow":
            return B.epow(self._repeated(e.args[0], axes), e.args[1])
        return apply(e.op, tuple(self._repeated(a, axes) for a in e.args), e.params)


def _repeats(e: Expr, axes: frozenset, depth: int = 0) -> bool:
    """Whether ``e`` is the same along each of ``axes`` (a broadcast row, 𝟏,
    and what elementwise operations make of them); too deep to tell: no."""
    axes = frozenset(a for a in axes if e.shape[a] != ONE)
    if not axes or e.op == "ones":
        return True
    if depth > _DEEPEST:
        return False
    if e.op == "transpose":
        return _repeats(e.args[0], frozenset(1 - a for a in axes), depth + 1)
    if e.op in ("broadcast", "smul", "epow"):
        return _repeats(e.args[1] if e.op == "smul" else e.args[0], axes, depth + 1)
    if e.op in ("add", "hadamard", "hdiv") or _is_elementwise(e):
        return all(_repeats(a, axes, depth + 1) for a in e.args)
    return False


def _ones_row(e: Expr) -> bool:
    """𝟏ᵀ, which sums what follows it down its columns."""
    return e.shape[0] == ONE and e.shape[1] != ONE and is_all_ones(e)


def _ones_column(e: Expr) -> bool:
    return e.shape[1] == ONE and e.shape[0] != ONE and is_all_ones(e)


def _is_elementwise(e: Expr) -> bool:
    return len(e.args) == 1 and "elementwise" in rule(e.op).extra


def _opaque(e: Expr, axes: frozenset) -> Expr:
    """A sum seen as a whole."""
    if not axes:
        return e
    return B.total(e, None if BOTH <= axes else next(iter(axes)))


def _spread(f, e: Expr) -> Expr:
    """``f`` (linear) applied to each term of ``e``: the sum stays one flat
    list of terms, where equal terms meet."""
    return B.add(*(p for t in _terms(e) for p in _terms(f(t)))) if e.op == "add" else f(e)


def _terms(e: Expr) -> tuple:
    return e.args if e.op == "add" else (e,)


def _reduced(shape, axes: frozenset):
    return tuple(ONE if k in axes else shape[k] for k in (0, 1))


def _count(shape, axes: frozenset) -> Expr:
    return const(sympy.expand(reduce(mul, (shape[a] for a in axes), sympy.Integer(1))))
