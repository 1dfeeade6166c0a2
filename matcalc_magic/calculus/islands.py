"""Elementwise formulas simplified as the scalar algebra they are.

A maximal sub-expression built only from elementwise operations (+, ⊙, ⊘,
scalar multiples, powers) is a scalar formula applied entry by entry, so
SymPy can cancel it: Ng's logistic-regression gradient
``((1−Y) ⊘ (1−A) − Y ⊘ A) ⊙ A ⊙ (1−A)`` becomes ``A − Y``.  Everything
that is not elementwise (products, transposes, functions, names) is a
symbol.  A rewrite is kept only when it is smaller.

What the simplification leaves alone:

* the user's named definitions (``s = sqrt(v + 1e-5)`` stays ``s``: its
  inside is never expanded into the formula around it);
* numbers as the cell wrote them (``1e-5`` is a symbol to SymPy, never
  merged into a coefficient);
* islands whose common-denominator form would be large (more than
  :data:`MAX_TERMS` terms): they stay as written and only their parts are
  simplified, so deriving stays polynomial in the size of the cell however
  deeply its definitions share one another.

Only maximal islands are cancelled; an island nested in a larger one is
cancelled on its own only when the larger one does not simplify as a whole.
An island that equals a named elementwise function of one argument is
written as that function: ``(exp(u) − exp(−u)) ⊘ (exp(u) + exp(−u))`` is
``tanh(u)``, and ``sign(a) a / abs(a)`` is 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy

from ..graph import Expr, const, const_value, is_const, make, postorder, written_text
from ..ops import build as B
from ..ops.algebra import split_coefficient
from ..ops.registry import all_rules, apply
from ..shapes import ONE
from .tidy import cost, is_inner_pair

ISLAND_OPS = frozenset({"add", "smul", "hadamard", "hdiv", "epow", "broadcast"})

#: an island whose common-denominator form would have more terms than this
#: (numerator terms times denominator terms, estimated without expanding) is
#: not cancelled as a whole
MAX_TERMS = 32
_CAP = 10**9  # term estimates saturate here


def simplify_islands(root: Expr, keep=()) -> Expr:
    """``root`` with its elementwise islands simplified; nodes in ``keep``
    (the user's named definitions) are left exactly as they are."""
    return _Simplifier(keep).run(root)


class _Simplifier:
    def __init__(self, keep):
        self.keep = keep
        self.memo: dict[Expr, Expr] = {}  # node → simplified (an island: simplified as a whole)
        self.summands: dict[Expr, object] = {}
        self.shared: set[Expr] = set()
        self.by_part: dict | None = None  # a node → the user's elementwise definitions with it inside
        self.definitions: dict = {}  # a definition → (its leaves solved for, the leaves it needs)
        self.conv = _ToSympy(self)
        # Σ of inner products read as one elementwise formula: its terms are
        # merged on purpose, so what they share is written out in it
        self.flat = _ToSympy(self, like=self.conv)

    def run(self, root: Expr) -> Expr:
        order = postorder(root, stop=self.keep)  # a name is not looked inside
        roots = self.island_roots(root, order)
        # a shared formula is a symbol in the islands around it, but not a
        # coefficient or a scalar multiple: those are the algebra (1/√k out
        # front), and what they multiply is shared instead; nor a product of
        # two names, which reads as well written out and may factor
        # (A ⊙ (G Vᵀ − ((G Vᵀ ⊙ A) 𝟏) 𝟏ᵀ), as FlashAttention writes dS)
        self.shared.update(r for r in roots if not _transparent(r) and not _small(r, self.keep))
        for node in order:  # children first; islands inside others are converted with them
            if node in roots or not self.is_island(node):
                self.visit(node)
        return self.memo[root]

    def island_roots(self, root: Expr, order: list) -> set:
        """The islands simplified on their own: the root, those used by a
        non-elementwise node (the δ in 𝟏ᵀ δ), and those shared by two islands
        (δ in δ ⊙ X and in δ + Y).  Each is simplified once and is a symbol
        in the islands around it, so a shared part stays shared; the others
        belong to the one island around them."""
        parents: dict[Expr, list] = {}
        for node in order:
            for a in node.args:
                parents.setdefault(a, []).append(node)
        roots: set = set()
        region: dict[Expr, Expr] = {}  # island node → the root of the island it is part of
        for node in reversed(order):  # parents first
            if not self.is_island(node):
                continue
            users = parents.get(node, ())
            if node is root or any(not self.is_island(p) for p in users) or any(
                    p in roots and _transparent(p) for p in users):
                roots.add(node)
                continue
            around = {p if p in roots else region[p] for p in users}
            if len(around) > 1:
                roots.add(node)
            else:
                region[node] = around.pop()
        return roots

    # ---------------------------------------------------------------- kinds
    def is_island(self, node: Expr) -> bool:
        if node in self.keep:
            return False
        if node.op in ISLAND_OPS and not node.is_scalar:
            return _is_island(node)
        if node.op in ("smul", "epow", "add") and node.is_scalar and _is_island(node):
            return not (node.op == "add" and self.scalar_summands(node) is not None)
        return False

    def scalar_summands(self, node: Expr):
        """A scalar sum of inner products as [(c, a ⊙ b)], else None."""
        if node not in self.summands:
            parts = [_as_summand(t) for t in node.args]
            self.summands[node] = parts if all(parts) else None
        return self.summands[node]

    # ---------------------------------------------------------------- visiting
    def visit(self, node: Expr) -> Expr:
        out = self.memo.get(node)
        if out is not None:
            return out
        if node in self.keep:
            out = node
        elif self.is_island(node):
            out = self.island(node)
        elif node.op == "add" and node.is_scalar and self.scalar_summands(node) is not None:
            # Σ of inner products = Σ of one elementwise formula: simplify that
            parts = self.scalar_summands(node)
            out = self.rebuild(node)
            if len({p[1].shape for p in parts}) == 1:
                inside = B.add(*(B.smul(c, h) for c, h in parts))
                if inside.op in ISLAND_OPS and not inside.is_scalar:
                    simpler = self.island(inside, self.flat)
                    if simpler is not inside:
                        out = B.total(simpler)
        elif _is_inner_product(node):
            # aᵀ b is Σ (a ⊙ b): simplify the elementwise product inside
            a, b = node.args
            inside = B.hadamard(B.transpose(a), b)
            out = self.rebuild(node)
            if self.is_island(inside):
                simpler = self.island(inside, self.flat)
                if simpler is not inside:
                    out = B.total(simpler)
        else:
            out = self.rebuild(node)
        self.memo[node] = out
        return out

    def rebuild(self, node: Expr) -> Expr:
        if not node.args:
            return node
        args = tuple(self.visit(a) for a in node.args)
        return node if all(a is b for a, b in zip(args, node.args)) else apply(node.op, args, node.params)

    def island(self, node: Expr, conv: "_ToSympy | None" = None) -> Expr:
        """An island simplified as a whole if that reads shorter; else its
        parts, each an island of its own, simplified (without recursion)."""
        conv = conv or self.conv
        costs = conv.costs
        whole: dict[Expr, Expr | None] = {}
        stack = [node]
        while stack:
            x = stack[-1]
            if x in self.memo:
                stack.pop()
                continue
            if x not in whole:
                whole[x] = candidate = self.cancel(x, conv)
                if candidate is not None and cost(candidate, costs) < cost(x, costs):
                    self.memo[x] = candidate
                    stack.pop()
                    continue
                parts = [a for a in x.args if self.is_island(a) and a not in self.memo]
                if parts:
                    stack.extend(parts)
                    continue
            plain = self.rebuild(x)
            candidate = whole[x]
            if candidate is None and plain is not x and self.is_island(plain):
                # the parts simplified may now cancel as a whole
                again = self.cancel(plain, conv)
                if again is not None and (candidate is None or cost(again, costs) < cost(candidate, costs)):
                    candidate = again
            better = candidate is not None and cost(candidate, costs) < cost(plain, costs)
            self.memo[x] = candidate if better else plain
            stack.pop()
        return self.memo[node]

    def cancel(self, node: Expr, conv: "_ToSympy") -> Expr | None:
        """The island cancelled by SymPy as a whole, or None when there is
        nothing to cancel or it would be too large to try."""
        c = conv(node)
        named = _named_function(c, conv, node.shape)
        if named is not None:
            return named
        if c.terms > MAX_TERMS or _separate_parts(c.sx, frozenset(conv.back)):
            return None
        best, best_sx = None, c.sx
        if (c.divides or c.repeats) and _worth_cancelling(c.sx):
            sx, back = _signs_as_ratios(c, conv)
            if not c.divides and sx is c.sx:  # a polynomial: expanding it only makes it longer
                simpler = _factored(sx)
                if _leaves_scalars_inside(simpler, back):
                    simpler = sx
            else:
                simpler = _cancelled(sx)
            matrices = frozenset(s for s in simpler.free_symbols if s in back and not back[s].is_scalar)
            simpler = _collected(simpler, matrices)
            simpler, back = _named_coefficients(simpler, matrices, back, conv)
            # even unchanged, SymPy's form may be shorter: it merges powers as it builds
            best, best_sx = conv.back_to_graph(simpler, back, node.shape), simpler
        rewrites = self.definitions_in(c)
        together = dict(reversed(rewrites))  # every leaf at once, the first rewrite of each
        if len(together) > 1:  # σ = 1/(1 + exp(−z)): both 1 + exp(−z) and exp(−z) in terms of σ
            rewrites = rewrites + [(None, together)]
        for leaf, value in rewrites:
            # Xc ⊘ s is the user's Xh = Xc ⊘ s; written back only if SymPy counts it shorter
            rewritten = _cancelled(c.sx.xreplace(value if leaf is None else {leaf: value}))
            if _ops(rewritten) > _ops(best_sx):
                continue
            written = conv.back_to_graph(rewritten, conv.back, node.shape)
            if best is None or cost(written, conv.costs) < cost(best, conv.costs):
                best, best_sx = written, rewritten
        return best

    def definitions_in(self, c: "_Converted") -> list:
        """(leaf, value) rewrites that bring back the user's elementwise
        definitions: with Xh = Xc ⊘ s, the leaf Xc is Xh ⊙ s wherever s is."""
        if self.by_part is None:
            # all of them, not only those in the result's graph: canonical
            # forms may have rescaled a definition out of it (ρ ⊘ ((1/m) S)
            # is m ρ ⊘ S) while its parts are still there
            self.by_part = {}
            for k in self.keep:
                if k.op in ISLAND_OPS and _is_island(k):
                    for part in _parts(k, self.keep):
                        self.by_part.setdefault(part, []).append(k)
        back = self.conv.back
        out = []
        for k in dict.fromkeys(k for s in c.leaves if s in back for k in self.by_part.get(back[s], ())):
            if k not in self.definitions:
                # converting k visits its parts, whose islands look for definitions again:
                # k is not one of them while it is being converted
                self.definitions[k] = ((), None)
                formula, written_out = self.conv(k), self.flat(k)  # shared parts as symbols, and written out
                solved = _solved_for_leaves(formula.sx, self.conv.symbol(k))
                solved += _solved_for_leaves(written_out.sx, self.conv.symbol(k))
                self.definitions[k] = (solved, formula.leaves)
            solved, needs = self.definitions[k]
            if needs is not None and needs <= c.leaves:
                out += [(leaf, value) for leaf, value in solved if leaf in c.leaves]
        return out


def _leaves_scalars_inside(factored, back: dict) -> bool:
    """Whether pulling a common factor out of a sum left a scalar
    coefficient on one of its terms: (1/m) (A + λ B) reads worse than
    (1/m) A + (λ/m) B, while (1/√k) (A − B) reads better, and a factor that
    is all scalars is a coefficient ((a + 3 l) (a + l) S⁻¹)."""
    def scalar(s):
        return s not in back or back[s].is_scalar

    for f in sympy.Mul.make_args(factored):
        if not f.is_Add or all(scalar(s) for s in f.free_symbols):
            continue
        for term in f.args:
            for g in sympy.Mul.make_args(term):
                if g.is_number:
                    continue
                if all(scalar(s) for s in g.free_symbols):
                    return True
    return False


def _small(node: Expr, keep) -> bool:
    """An elementwise product or quotient of two operands that are no
    formulas themselves: written out where it is shared, it may cancel
    (p ⊙ (y ⊘ p) is y)."""
    return node.op in ("hadamard", "hdiv") and len(node.args) == 2 and all(
        a in keep or a.op not in ISLAND_OPS for a in node.args)


def _transparent(node: Expr) -> bool:
    """A coefficient, or a scalar multiple or broadcast of a formula."""
    return node.is_scalar or node.op in ("smul", "broadcast")


def _parts(node: Expr, keep=()) -> list:
    """The operands an elementwise definition is written in, through scalar
    multiples, broadcasts and powers, and through an unnamed sum inside a
    power or a quotient:
    Xc and s for Xc ⊘ s, S for (1/m) S, exp(−z) for 1/(1 + exp(−z))."""
    out, stack = [], list(node.args)
    while stack:
        a = stack.pop()
        if a.op in ("smul", "broadcast", "epow") and not a.is_scalar:
            stack.extend(a.args)
        elif a.op == "add" and not a.is_scalar and node.op in ("epow", "hdiv") and a not in keep:
            stack.extend(a.args)
        else:
            out.append(a)
    return out


def _solved_for_leaves(formula, own) -> list:
    """``own = formula`` solved for each leaf that enters it once, as a
    factor (Xh = Xc / s: Xc = Xh s, s = Xc / Xh) or as a term, also inside a
    power (σ = 1/(1 + exp(−z)): exp(−z) = 1/σ − 1; s = sqrt(v + ε): v = s² − ε)."""
    out = []
    if formula.is_Pow and formula.exp.is_Rational and formula.exp != 0:
        if formula.base.is_Symbol:
            return [(formula.base, own ** (1 / formula.exp))]
        return _solved_for_leaves(formula.base, own ** (1 / formula.exp))
    if formula.is_Mul:
        for f in formula.args:
            base, e = f.as_base_exp()
            if base.is_Symbol and e in (1, -1):
                rest = formula / f
                out.append((base, (own / rest) ** e))
    elif formula.is_Add:
        for t in formula.args:
            coef, base = t.as_coeff_Mul()
            if base.is_Symbol and coef.is_Number:
                out.append((base, (own - (formula - t)) / coef))
    return [(leaf, value) for leaf, value in out if leaf not in value.free_symbols]


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
    return node.op == "matmul" and len(node.args) == 2 and node.is_scalar and is_inner_pair(*node.args)


def _is_island(node: Expr) -> bool:
    if node.op == "epow":
        return is_const(node.args[1])
    return True


# ====================================================================== to SymPy
@dataclass(frozen=True)
class _Converted:
    """An island as SymPy sees it, whether SymPy could simplify it at all
    (only a division or a leaf met twice gives it something to cancel), and
    how many terms its numerator and denominator would have if expanded."""

    sx: sympy.Expr
    divides: bool
    leaves: frozenset
    repeats: bool
    num: int = 1
    den: int = 1

    @property
    def terms(self) -> int:
        return min(self.num * self.den, _CAP)


class _ToSympy:
    def __init__(self, simplifier: _Simplifier, like: "_ToSympy | None" = None):
        self.simplifier = simplifier
        self.memo: dict[Expr, _Converted] = {}
        self.tops: dict[Expr, _Converted] = {}  # shared islands as formulas
        self.converted_back: dict = {}
        if like is not None:  # the same symbols for the same leaves; shared islands written out
            self.symbols, self.back, self.costs = like.symbols, like.back, like.costs
            self.shared: set = set()
            return
        self.symbols: dict[Expr, sympy.Symbol] = {}
        self.back: dict[sympy.Symbol, Expr] = {}
        # tidy.cost of every node met, shared by all islands; a name reads as one thing
        self.costs: dict[Expr, int] = dict.fromkeys(simplifier.keep, 1)
        self.shared = simplifier.shared

    def back_to_graph(self, sx, back: dict, shape) -> Expr:
        """``_from_sympy``, once per formula: the same cancelled form recurs
        (an island tried whole and again from its simplified parts)."""
        key = (sx, shape, len(back))
        out = self.converted_back.get(key)
        if out is None:
            out = self.converted_back[key] = _from_sympy(sx, back, shape)
        return out

    def symbol(self, e: Expr) -> sympy.Symbol:
        s = self.symbols.get(e)
        if s is None:
            s = sympy.Symbol(f"_L{len(self.symbols)}")
            self.symbols[e] = s
            self.back[s] = e
        return s

    def leaf(self, e: Expr) -> _Converted:
        v = self.simplifier.visit(e)
        coefficients = []
        while v.op == "smul" and not v.is_scalar and e not in self.simplifier.keep:
            # simplifying a product pulled a scalar out of it ((2/s²) x yᵀ):
            # the scalar is part of the algebra, only the rest is a symbol
            coefficients.append(self._fill(v.args[0]))
            v = v.args[1]
        s = self.symbol(v)
        out = _Converted(s, False, frozenset((s,)), False)
        return _product(coefficients + [out]) if coefficients else out

    def __call__(self, e: Expr) -> _Converted:
        """``e`` as a formula (an island shared with others is a symbol in
        them, but a formula when it is the island simplified)."""
        out = self.tops.get(e)
        if out is None:
            # a scalar multiple is one formula with what it multiplies
            through = _transparent(e) and e not in self.simplifier.keep
            parts = {a: (self(a) if through and a in self.shared else self._fill(a))
                     for a in self._inside(e, top=True)}
            out = self.tops[e] = self._convert(e, top=True, parts=parts)
        return out

    def _fill(self, e: Expr) -> _Converted:
        """Convert children before parents, without recursion: islands can be
        as deep as the cell is long."""
        stack = [e]
        while stack:
            top = stack[-1]
            if top in self.memo:
                stack.pop()
                continue
            pending = [a for a in self._inside(top) if a not in self.memo]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            self.memo[top] = self._convert(top)
        return self.memo[e]

    def _inside(self, e: Expr, top: bool = False) -> tuple:
        """The arguments converted as part of ``e``'s formula (not as symbols)."""
        if not top and (e in self.simplifier.keep or e in self.shared):
            return ()
        if e.op in ("add", "smul", "hadamard", "hdiv"):
            return e.args
        if (e.op == "epow" and is_const(e.args[1])) or e.op == "broadcast":
            return e.args[:1]
        if e.op == "sqrt":
            return e.args
        return ()

    def _convert(self, e: Expr, top: bool = False, parts: dict | None = None) -> _Converted:
        op = e.op
        if (op == "const" and written_text(e) is not None) or (
                not top and (e in self.simplifier.keep or e in self.shared)):
            return self.leaf(e)
        if op == "const":
            return _constant(const_value(e))
        if op == "ones":
            return _constant(sympy.Integer(1))
        memo = self.memo if parts is None else parts
        if op == "add":
            return _sum([memo[a] for a in e.args])
        if op in ("smul", "hadamard"):
            return _product([memo[a] for a in e.args])
        if op == "hdiv":
            num, den = memo[e.args[0]], memo[e.args[1]]
            return _product([num, _Converted(1 / den.sx, True, den.leaves, den.repeats, den.den, den.num)])
        if op == "epow" and is_const(e.args[1]):
            p = const_value(e.args[1])
            base = memo[e.args[0]]
            num, den = (base.num, base.den) if not (p.is_number and p < 0) else (base.den, base.num)
            k = abs(int(p)) if p.is_Integer else 1
            return _Converted(base.sx ** p, base.divides or (p.is_number and p < 0), base.leaves, base.repeats,
                              _power(num, k), _power(den, k))
        if op == "broadcast":  # a row over every row: the same entrywise formula
            return memo[e.args[0]]
        if op == "sqrt":  # √s² = s, s / √s = √s
            inner = memo[e.args[0]]
            return _Converted(sympy.sqrt(inner.sx), inner.divides, inner.leaves, inner.repeats)
        return self.leaf(e)


def _constant(value) -> _Converted:
    # a size in two terms (1/√k twice) is something to factor out, like a leaf
    return _Converted(value, False, frozenset(value.free_symbols), False)


def _power(n: int, k: int) -> int:
    return min(n ** min(k, 64), _CAP) if n > 1 else 1


def _sum(parts: list) -> _Converted:
    num, den = 0, 1
    for p in parts:  # a/b + c/d = (a d + c b) / (b d)
        num, den = min(num * p.den + p.num * den, _CAP), min(den * p.den, _CAP)
    out = _combine(sympy.Add, parts, num, den)
    # one number on several terms (½ α αᵀ − ½ K⁻¹) is something to factor out too
    coefficients = [abs(p.sx.as_coeff_Mul()[0]) for p in parts]
    common = [c for c in coefficients if c != 1 and coefficients.count(c) > 1]
    if common and not out.repeats:
        out = _Converted(out.sx, out.divides, out.leaves, True, out.num, out.den)
    return out


def _product(parts: list) -> _Converted:
    num, den = 1, 1
    for p in parts:
        num, den = min(num * p.num, _CAP), min(den * p.den, _CAP)
    return _combine(sympy.Mul, parts, num, den)


def _combine(combine, parts: list, num: int, den: int) -> _Converted:
    leaves = frozenset().union(*(p.leaves for p in parts))
    repeats = any(p.repeats for p in parts) or sum(len(p.leaves) for p in parts) > len(leaves)
    return _Converted(combine(*(p.sx for p in parts)), any(p.divides for p in parts), leaves, repeats, num, den)


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


def _separate_parts(sx, leaves: frozenset) -> bool:
    """A product or a sum whose fractions share no leaf with its other
    factors or terms: a common denominator would only multiply it out, so
    its parts are simplified each on its own instead."""
    if not (sx.is_Mul or sx.is_Add):
        return False
    parts = [f for f in sx.args if not f.is_number]
    symbols = [f.free_symbols & leaves for f in parts]
    for k, f in enumerate(parts):
        fraction = any(p.exp.is_negative and p.base.free_symbols & leaves for p in f.atoms(sympy.Pow))
        if fraction and (f.is_Add or sx.is_Add):
            others = set().union(*(s for j, s in enumerate(symbols) if j != k))
            if not symbols[k] & others:
                return True
    return False


@lru_cache(maxsize=4096)
def _cancelled(sx):
    """One common denominator, common factors pulled out.  The same island
    recurs across the requests of a cell (∂J/∂W1 and ∂J/∂b1 share their δ)."""
    return sympy.factor_terms(sympy.cancel(sx))


@lru_cache(maxsize=4096)
def _collected(sx, matrices: frozenset):
    """Terms that are scalar multiples of one matrix part, collected:
    M − u + s u is M + (s − 1) u.  ``cancel`` multiplies its numerator out
    and ``factor_terms`` takes out only what every term shares, so a sum
    with a third term (M) would keep −(1 − s) u multiplied out."""
    if not matrices:
        return sx

    def collect(total):
        groups: dict = {}
        for term in total.args:
            scalar, part = term.as_independent(*matrices, as_Add=False)
            groups.setdefault(part, []).append(scalar)
        if len(groups) == len(total.args):
            return total
        return sympy.Add(*(sympy.factor_terms(sympy.Add(*scalars)) * part for part, scalars in groups.items()))

    return sx.replace(lambda x: x.is_Add, collect)


def _named_coefficients(sx, matrices: frozenset, back: dict, conv: "_ToSympy"):
    """The scalar coefficient of a collected term written as a multiple of a
    named function where it is one, as it is alone: (σ(u) − 1) x is −σ(−u) x."""
    if not matrices or not sx.is_Add:
        return sx, back
    extended, terms = dict(back), []
    for term in sx.args:
        coef, part = term.as_independent(*matrices, as_Add=False)
        if coef.is_Add:
            leaves = frozenset(coef.free_symbols & back.keys())
            named = _named_function(_Converted(coef, False, leaves, False), conv, (ONE, ONE), multiple_only=True)
            if named is not None:  # its number stays in the algebra: − σ(−u) x in a sum
                number, rest = split_coefficient(named)
                term = number * _symbol_for(rest, extended) * part
        terms.append(term)
    return (sympy.Add(*terms), extended) if len(extended) > len(back) else (sx, back)


@lru_cache(maxsize=4096)
def _cancel(sx):
    """SymPy's cancel, once per formula: trying an island against each named
    function (and its negated argument) meets the same quotients again."""
    return sympy.cancel(sx)


@lru_cache(maxsize=4096)
def _ops(sx) -> int:
    return sympy.count_ops(sx)


@lru_cache(maxsize=4096)
def _factored(sx):
    """Common factors pulled out of a sum, nothing expanded: a x + a y → a (x + y)."""
    return sympy.factor_terms(sx)


# ====================================================================== named functions
def _signs_as_ratios(c: _Converted, conv: _ToSympy):
    """sign(a) = |a| / a where a or |a| is in the formula, so that
    sign(a) a / |a| cancels to 1 (and sign(a) a to |a|)."""
    sx, back = c.sx, conv.back
    signs = {s: back[s].args[0] for s in c.leaves if s in back and back[s].op == "sign"}
    if not signs:
        return sx, back
    present = {back[s]: s for s in c.leaves if s in back}
    back = dict(back)
    swap = {}
    for s, a in signs.items():
        magnitude = B.elementwise("abs", a)
        if a not in present and magnitude not in present:
            continue
        swap[s] = _symbol_for(magnitude, back) / _symbol_for(a, back)
    return (sx.xreplace(swap), back) if swap else (sx, conv.back)


def _symbol_for(node: Expr, back: dict) -> sympy.Symbol:
    for s, n in back.items():
        if n is node:
            return s
    s = sympy.Symbol(f"_M{len(back)}")
    back[s] = node
    return s


_Y = sympy.Symbol("_y", positive=True)


def _exp_forms() -> dict:
    """Elementwise functions written with y = exp(u): the ones an island is
    recognised as, and the ones it is rewritten from."""
    y = _Y
    forms = {
        "exp": lambda k: y**k,
        "sinh": lambda k: (y**k - y**-k) / 2,
        "cosh": lambda k: (y**k + y**-k) / 2,
        "tanh": lambda k: (y ** (2 * k) - 1) / (y ** (2 * k) + 1),
        "sigmoid": lambda k: y**k / (1 + y**k),
    }
    known = all_rules()
    return {name: f for name, f in forms.items() if name in known}


#: rewritten from exponentials: these in an island can add up to a named function
_FROM = ("exp", "sinh", "cosh", "sigmoid")
#: what an island is recognised as, in order of preference
_AS = ("tanh", "sigmoid", "cosh", "sinh")


def _named_function(c: _Converted, conv: _ToSympy, shape, multiple_only: bool = False) -> Expr | None:
    """The island as c f(u) or f(u) + c for a named elementwise f, when its
    exponentials, sinh and cosh of one argument u make exactly that."""
    sx = c.sx
    forms = _exp_forms()
    back = conv.back
    groups: dict[Expr, dict] = {}
    for s in c.leaves:
        node = back.get(s)
        if node is None or node.op not in _FROM or node.op not in forms or node in conv.simplifier.keep:
            continue
        k, u = _multiple(node.args[0])
        groups.setdefault(u, {})[s] = forms[node.op](k)
    for u, swap in groups.items():
        if (len(swap) < 2 and not (c.divides or multiple_only)) or c.terms > MAX_TERMS:
            continue
        fy = sx.xreplace(swap)
        for name in _AS:
            if name not in forms:
                continue
            for sign in (1, -1):  # f(u), or f(−u): σ(u) exp(−u) is σ(−u)
                ry = forms[name](sign)
                named = sympy.Symbol("_F")
                forms_of = (lambda: _cancel(fy / ry) * named, lambda: _cancel(fy - ry) + named)
                for combined in forms_of[:1] if multiple_only else forms_of:
                    candidate = combined()
                    if _Y not in candidate.free_symbols:
                        argument = u if sign == 1 else B.neg(u)
                        extended = {**back, named: B.elementwise(name, argument)}
                        return _from_sympy(sympy.factor_terms(candidate), extended, shape)
    return None


def _multiple(e: Expr):
    """u → (1, u); −u or 2 u → (k, u) for an integer k."""
    if e.op == "smul" and is_const(e.args[0]) and const_value(e.args[0]).is_Integer:
        return int(const_value(e.args[0])), e.args[1]
    return 1, e


# ====================================================================== back from SymPy
def _from_sympy(sx, back: dict, shape) -> Expr:
    """The SymPy formula as an expression of ``shape``.  Each part keeps the
    shape its leaves give it (a row stays a row) and is broadcast where it
    meets a larger one, as the cell's own ``X − μ`` is."""

    def shape_of(x):
        rows, cols = ONE, ONE
        for s in x.free_symbols:
            node = back.get(s)
            if node is not None:
                rows = node.shape[0] if node.shape[0] != ONE else rows
                cols = node.shape[1] if node.shape[1] != ONE else cols
        return rows, cols

    def fit(e: Expr, target) -> Expr:
        return e if e.shape == target else B.broadcast(e, target)

    done: dict = {}

    def conv(x) -> Expr:
        out = done.get(x)
        if out is None:
            out = done[x] = convert(x)
        return out

    def convert(x) -> Expr:
        if not (x.free_symbols & back.keys()):
            return const(x)
        if x in back:
            return back[x]
        target = shape_of(x)
        if x.is_Add:  # a scalar sum stays scalar and is spread once: (a − y) x
            return B.add(*(fit(conv(t), target) for t in x.args))
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
            body = None
            if mats:
                part = _broadcast_shape(f.shape for f in mats)
                body = B.hadamard(*(fit(f, part) for f in mats))
            if den:
                denom = B.hadamard(*(fit(d, _broadcast_shape(d.shape for d in den)) for d in den)) \
                    if len(den) > 1 else den[0]
                if denom.is_scalar:
                    scal.append(B.epow(denom, -1))
                elif body is None:  # β ρ ⊘ ρh, not β ρ (1 ⊘ ρh)
                    top = const(coef)
                    for f in scal:
                        top = B.smul(top, f) if not is_const(top, 1) else f
                    return B.hdiv(B.broadcast(top, denom.shape), denom)
                else:
                    part = _broadcast_shape([denom.shape] + ([body.shape] if body is not None else []))
                    body = B.hdiv(fit(body, part) if body is not None else B.fill(1, part), fit(denom, part))
            if body is None:
                body = const(1)
            for s in scal:
                # a named scalar that is itself a product (r = (aᵀ π) / (aᵀ p)) stays one
                # factor: built flat, r would print as its parts
                body = make("smul", (s, body), ()) if s.op == "smul" and not body.is_scalar else B.smul(s, body)
            return B.smul(const(coef), body)
        if x.is_Pow and x.exp == sympy.Rational(1, 2):
            return B.elementwise("sqrt", conv(x.base))
        if x.is_Pow and x.exp.is_number and x.exp.is_Rational and x.exp.q == 2:
            return B.epow(B.elementwise("sqrt", conv(x.base)), const(x.exp * 2))
        if x.is_Pow and x.exp.is_number:
            return B.epow(conv(x.base), const(x.exp))
        raise ValueError(f"cannot convert {x}")  # pragma: no cover

    return fit(conv(sx), shape)


def _broadcast_shape(shapes) -> tuple:
    rows, cols = ONE, ONE
    for r, c in shapes:
        rows = r if r != ONE else rows
        cols = c if c != ONE else cols
    return rows, cols
