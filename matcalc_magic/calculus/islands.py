"""Elementwise formulas simplified as the scalar algebra they are.

A maximal sub-expression built only from elementwise operations (+, ⊙, ⊘,
scalar multiples, powers) is a scalar formula applied entry by entry, so
SymPy can cancel it: Ng's logistic-regression gradient
``((1−Y) ⊘ (1−A) − Y ⊘ A) ⊙ A ⊙ (1−A)`` becomes ``A − Y``.  Everything
that is not elementwise (products, transposes, functions, names) is a
symbol.  A rewrite is kept only when it is smaller.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from ..graph import Expr, const, const_value, is_const
from ..ops import build as B

ISLAND_OPS = frozenset({"add", "smul", "hadamard", "hdiv", "epow", "broadcast"})


def simplify_islands(root: Expr) -> Expr:
    memo: dict[Expr, Expr] = {}
    # one converter for the whole graph: an island nested in a larger one (the
    # running sum of a residual chain) is converted once, not once per island
    conv = None

    def visit(node: Expr) -> Expr:
        if node in memo:
            return memo[node]
        stack = [node]  # children first, without deep recursion, never below a node already done
        while stack:
            top = stack[-1]
            if top in memo:
                stack.pop()
                continue
            pending = [a for a in top.args if a not in memo]
            if pending:
                stack.extend(reversed(pending))
                continue
            stack.pop()
            memo[top] = simplify_one(top)
        return memo[node]

    def simplify_one(node: Expr) -> Expr:
        if node in memo:
            return memo[node]
        if node.op in ISLAND_OPS and not node.is_scalar and _is_island(node):
            out = _simplify_island(node, converter())
        elif node.op == "add" and node.is_scalar and all(_as_summand(t) for t in node.args):
            # Σ of inner products = Σ of one elementwise formula: simplify that
            parts = [_as_summand(t) for t in node.args]
            shapes = {p[1].shape for p in parts}
            out = _rebuild_plain(node, visit)
            if len(shapes) == 1:
                inside = B.add(*(B.smul(c, h) for c, h in parts))
                if inside.op in ISLAND_OPS and not inside.is_scalar:
                    simpler = _simplify_island(inside, converter())
                    if simpler is not inside:
                        out = B.total(simpler)
        elif _is_inner_product(node):
            # aᵀ b is Σ (a ⊙ b): simplify the elementwise product inside
            a, b = node.args
            inside = B.hadamard(B.transpose(a), b)
            out = _rebuild_plain(node, visit)
            if inside.op in ISLAND_OPS:
                simpler = _simplify_island(inside, converter())
                if simpler is not inside:
                    out = B.total(simpler)
        elif node.op == "smul" and not node.is_scalar and node.args[1].op == "smul":
            out = _simplify_coefficients(node, converter())
        elif node.op in ("smul", "epow", "add") and node.is_scalar and _is_island(node):
            # scalar algebra: −(1/det X²) det X → −1/det X
            out = _simplify_island(node, converter())
        elif node.args:
            from ..ops.registry import apply

            args = tuple(visit(a) for a in node.args)
            out = node if all(a is b for a, b in zip(args, node.args)) else apply(node.op, args, node.params)
        else:
            out = node
        return out

    def converter() -> "_ToSympy":
        nonlocal conv
        if conv is None:
            conv = _ToSympy(visit)
        return conv

    return visit(root)


def _as_summand(term: Expr):
    """``c aᵀ b`` → (c, a ⊙ b) with both as rows or columns; None otherwise."""
    coef = const(1)
    if term.op == "smul":
        coef, term = term.args
    if term.op == "sum" and term.params[0] is None or (term.op == "sum" and term.args[0].shape[0] == 1
                                                       and term.params[0] == 1):
        return coef, term.args[0]
    if not _is_inner_product(term):
        return None
    a, b = term.args
    if b.op == "transpose":
        return coef, B.hadamard(a, b.args[0])
    if a.op == "transpose":
        return coef, B.hadamard(a.args[0], b)
    return coef, B.hadamard(B.transpose(a), b)


def _is_inner_product(node: Expr) -> bool:
    if node.op != "matmul" or len(node.args) != 2 or not node.is_scalar:
        return False
    a, b = node.args
    return a.shape[0] == 1 and b.shape[1] == 1 and a.shape[1] != 1


def _is_island(node: Expr) -> bool:
    if node.op == "broadcast":
        return node.args[0].is_scalar
    if node.op == "epow":
        return is_const(node.args[1])
    return True


@dataclass(frozen=True)
class _Converted:
    """An island as SymPy sees it, and whether SymPy could simplify it at all:
    only a division or a leaf met twice gives it something to cancel."""

    sx: sympy.Expr
    divides: bool
    leaves: frozenset
    repeats: bool


class _ToSympy:
    def __init__(self, visit):
        self.visit = visit
        self.symbols: dict[Expr, sympy.Symbol] = {}
        self.back: dict[sympy.Symbol, Expr] = {}
        self.memo: dict[Expr, _Converted] = {}
        self.costs: dict[Expr, int] = {}  # tidy.cost of every node met, shared by all islands

    def leaf(self, e: Expr) -> _Converted:
        e = self.visit(e)
        s = self.symbols.get(e)
        if s is None:
            s = sympy.Symbol(f"_L{len(self.symbols)}")
            self.symbols[e] = s
            self.back[s] = e
        return _Converted(s, False, frozenset((s,)), False)

    def __call__(self, e: Expr) -> _Converted:
        out = self.memo.get(e)
        if out is None:
            out = self.memo[e] = self._convert(e)
        return out

    def _convert(self, e: Expr) -> _Converted:
        op = e.op
        if op == "const":
            return _constant(const_value(e))
        if op == "ones":
            return _constant(sympy.Integer(1))
        if op == "add":
            return _combine(sympy.Add, [self(a) for a in e.args])
        if op in ("smul", "hadamard"):
            return _combine(sympy.Mul, [self(a) for a in e.args])
        if op == "hdiv":
            num, den = self(e.args[0]), self(e.args[1])
            return _combine(sympy.Mul, [num, _Converted(1 / den.sx, True, den.leaves, den.repeats)])
        if op == "epow" and is_const(e.args[1]):
            p = const_value(e.args[1])
            base = self(e.args[0])
            return _Converted(base.sx ** p, base.divides or (p.is_number and p < 0), base.leaves, base.repeats)
        if op == "broadcast" and e.args[0].is_scalar:
            return self(e.args[0])
        if op == "sqrt":  # √s² = s, s / √s = √s
            inner = self(e.args[0])
            return _Converted(sympy.sqrt(inner.sx), inner.divides, inner.leaves, inner.repeats)
        return self.leaf(e)


def _constant(value) -> _Converted:
    return _Converted(value, False, frozenset(), False)


def _combine(combine, parts: list) -> _Converted:
    leaves = frozenset().union(*(p.leaves for p in parts))
    repeats = any(p.repeats for p in parts) or sum(len(p.leaves) for p in parts) > len(leaves)
    return _Converted(combine(*(p.sx for p in parts)), any(p.divides for p in parts), leaves, repeats)


def _simplify_island(node: Expr, conv: _ToSympy) -> Expr:
    visit = conv.visit
    converted = conv(node)
    if not (converted.divides or converted.repeats) or not _worth_cancelling(converted.sx):
        return _rebuild_plain(node, visit)
    from .tidy import cost

    simpler = sympy.factor_terms(sympy.cancel(converted.sx))
    plain = _rebuild_plain(node, visit)
    candidate = _from_sympy(simpler, conv.back, node.shape)
    return candidate if cost(candidate, conv.costs) < cost(plain, conv.costs) else plain


def _simplify_coefficients(node: Expr, conv: _ToSympy) -> Expr:
    """s (t X) with scalars s, t: simplify the product s t as scalar algebra
    (a (1/a) X⁻ᵀ → X⁻ᵀ)."""
    visit = conv.visit
    coefs, inner = [], node
    while inner.op == "smul" and not inner.is_scalar:
        coefs.append(inner.args[0])
        inner = inner.args[1]
    converted = _combine(sympy.Mul, [conv(c) for c in coefs])
    product = converted.sx
    rest = visit(inner)
    if not (converted.divides or converted.repeats) or not _worth_cancelling(product):
        out = rest
        for c in reversed(coefs):
            out = B.smul(visit(c), out)
        return out
    simpler = sympy.factor_terms(sympy.cancel(product))
    return B.smul(_from_sympy(simpler, conv.back, (sympy.Integer(1), sympy.Integer(1))), rest)


#: more distinct denominators than this and a common denominator is a polynomial
#: nobody wants to read (and SymPy takes seconds to build it)
MAX_DENOMINATORS = 3


def _worth_cancelling(sx) -> bool:
    bases = set()
    for term in sympy.Add.make_args(sx):
        for factor in sympy.Mul.make_args(sympy.denom(term)):
            base = factor.base if factor.is_Pow else factor
            if not base.is_number:
                bases.add(base)
    return len(bases) <= MAX_DENOMINATORS


def _rebuild_plain(node: Expr, visit) -> Expr:
    from ..ops.registry import apply

    args = tuple(visit(a) for a in node.args)
    return node if all(a is b for a, b in zip(args, node.args)) else apply(node.op, args, node.params)


def _from_sympy(sx, back: dict, shape) -> Expr:
    def scalar(x) -> bool:
        return all(back[s].is_scalar for s in x.free_symbols if s in back)

    def conv(x) -> Expr:
        if not (x.free_symbols & back.keys()):
            return const(x)
        if x in back:
            return back[x]
        if x.is_Add:  # a scalar sum stays scalar and is spread once: (a − y) x
            return B.add(*((conv if scalar(x) else full)(t) for t in x.args))
        if x.is_Mul:
            coef = sympy.Integer(1)
            num, den = [], []
            for f in x.args:
                if not (f.free_symbols & back.keys()):
                    coef *= f
                elif f.is_Pow and f.exp.is_number and f.exp < 0:
                    den.append(conv(f.base ** -f.exp))  # √ handled by conv of Pow(…, 1/2)
                else:
                    num.append(conv(f))
            scal = [f for f in num if f.is_scalar]
            mats = [f for f in num if not f.is_scalar]
            body = B.hadamard(*mats) if mats else None
            if den:
                denom = B.hadamard(*den) if len(den) > 1 else den[0]
                if denom.is_scalar:
                    scal.append(B.epow(denom, -1))
                else:
                    body = B.hdiv(body if body is not None else B.fill(1, denom.shape), denom)
            if body is None:
                body = const(1)
            for s in scal:
                body = B.smul(s, body)
            return B.smul(const(coef), body)
        if x.is_Pow and x.exp == sympy.Rational(1, 2):
            return B.elementwise("sqrt", conv(x.base))
        if x.is_Pow and x.exp.is_number and x.exp.is_Rational and x.exp.q == 2:
            return B.epow(B.elementwise("sqrt", conv(x.base)), const(x.exp * 2))
        if x.is_Pow and x.exp.is_number:
            return B.epow(conv(x.base), const(x.exp))
        raise ValueError(f"cannot convert {x}")  # pragma: no cover

    def full(x) -> Expr:
        e = conv(x)
        return e if e.shape == shape else B.broadcast(e, shape)

    return full(sx)
