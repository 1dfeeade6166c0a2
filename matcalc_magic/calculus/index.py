"""Index notation (Ricci calculus): ``∂Y_ij/∂X_kl`` one entry at a time.

Matrix expressions are written entry-wise mechanically — ``(A B)_ij =
Σ_a A_ia B_aj``, ``(Aᵀ)_ij = A_ji``, ``I_ij = δ_ij`` — keeping sums that sit
inside products as single factors, so ``(ŷ − y)_a`` is not expanded.  For
tensors the differential ``dY`` is written this way with ``dX_ab`` inside,
then ``dX_ab`` becomes ``δ_ak δ_bl`` and the δ's are eliminated.

The form is also evaluable with ``numpy.einsum``, which is how the tests
check that what is printed equals what was derived.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field

import numpy as np
import sympy

from ..evaluate import evaluate
from ..graph import Expr, const_value, is_const, ones, postorder
from ..ops.registry import rule
from ..shapes import ONE, concrete
from ..syntax.parse import PLAIN_DIGITS, SUBSCRIPT_DIGITS
from .derivative import Derivative

_SUMMED = "abcdefghmnopqrstuvwxyz"
_EINSUM_LETTERS = string.ascii_lowercase + string.ascii_uppercase


@dataclass(frozen=True)
class Factor:
    """``expr`` indexed by ``indices`` (one per axis of size ≠ 1), or a δ."""

    expr: Expr | None
    indices: tuple[str, ...]
    power: object = 1  # SymPy number; −1 for a division

    @property
    def is_delta(self) -> bool:
        return self.expr is None


@dataclass
class Term:
    coef: object = sympy.Integer(1)
    factors: list[Factor] = field(default_factory=list)

    def times(self, other: "Term") -> "Term":
        return Term(self.coef * other.coef, self.factors + other.factors)

    def indices(self) -> list[str]:
        seen: list[str] = []
        for f in self.factors:
            for i in f.indices:
                if i not in seen:
                    seen.append(i)
        return seen


class _Fresh:
    def __init__(self, taken):
        self.taken = set(taken)
        self.count = 0

    def __call__(self) -> str:
        while True:
            name = f"_{self.count}"
            self.count += 1
            if name not in self.taken:
                return name


def axes_of(e: Expr) -> list[int]:
    """Which of (rows, cols) carry an index."""
    return [k for k in (0, 1) if e.shape[k] != ONE]


_STRUCTURAL = {"add", "smul", "matmul", "transpose", "hadamard", "hdiv", "eye", "ones", "zeros", "const",
               "broadcast", "sum", "trace", "diag", "diagvec", "epow"}


class NoIndexForm(Exception):
    """The expression cannot be written entry-wise with plain indices."""


def entries(e: Expr, idx: tuple[str, ...], fresh, labels: dict, top: bool = True, varying=frozenset()) -> list[Term]:
    """``e`` indexed by ``idx`` as a sum of products.

    Nodes in ``varying`` (ids of nodes that contain the differential) are
    always expanded, so ``dX`` ends up as a factor of its own."""
    if id(e) in varying and e.op == "tangent":
        return [Term(factors=[Factor(e, idx)])]
    if id(e) in varying and e.op not in _STRUCTURAL:
        raise NoIndexForm(f"{e.op} of a differential")
    if (e in labels and id(e) not in varying) or e.op not in _STRUCTURAL:
        return [Term(factors=[Factor(e, idx)])] if idx or not e.is_scalar else [Term(factors=[Factor(e, ())])]
    op = e.op
    by_axis = dict(zip(axes_of(e), idx))
    if op == "const":
        return [Term(coef=const_value(e))]
    if op == "zeros":
        return []
    if op == "ones":  # kept until the end: a sum over an index only 𝟏 carries counts its size
        return [Term(factors=[Factor(e, idx)])] if idx else [Term()]
    if op == "eye":
        return [Term(factors=[Factor(None, idx)])]
    if op == "add":
        if not top and id(e) not in varying:
            return [Term(factors=[Factor(e, idx)])]
        return [t for a in e.args for t in entries(a, idx, fresh, labels, top, varying)]
    if op == "smul":
        s, a = e.args
        left = entries(s, (), fresh, labels, False, varying)
        right = entries(a, idx, fresh, labels, top, varying)
        return [l.times(r) for l in left for r in right]
    if op == "transpose":
        (a,) = e.args
        return entries(a, tuple(reversed(idx)), fresh, labels, False, varying)
    if op in ("hadamard", "hdiv"):
        parts = [entries(a, idx, fresh, labels, False, varying) for a in e.args]
        if op == "hdiv":
            parts[1] = _reciprocal(parts[1], e.args[1], idx)
        return _product(parts)
    if op == "epow" and is_const(e.args[1]):
        a = e.args[0]
        return [Term(factors=[Factor(a, idx, const_value(e.args[1]))])]
    if op == "epow":
        return [Term(factors=[Factor(e, idx)])]
    if op == "matmul":
        f = _named_runs(e.args, labels)
        if len(f) == 1:
            return entries(f[0], idx, fresh, labels, top, varying)
        chain_idx: list[str | None] = []
        for k in range(len(f) - 1):
            chain_idx.append(fresh() if f[k].shape[1] != ONE else None)
        parts = []
        for k, factor in enumerate(f):
            row = by_axis.get(0) if k == 0 else chain_idx[k - 1]
            col = by_axis.get(1) if k == len(f) - 1 else chain_idx[k]
            sub = tuple(x for x, size in ((row, factor.shape[0]), (col, factor.shape[1])) if size != ONE)
            parts.append(entries(factor, sub, fresh, labels, False, varying))
        return _product(parts)
    if op == "broadcast":
        (a,) = e.args
        sub = tuple(by_axis[k] for k in axes_of(a))
        # the axes it spreads along carry a 𝟏 (see drop_ones: summed over, it counts)
        spread = [Factor(ones(e.shape[k], ONE), (by_axis[k],)) for k in axes_of(e) if k not in axes_of(a)]
        return [Term(t.coef, t.factors + spread) for t in entries(a, sub, fresh, labels, False, varying)]
    if op == "sum":
        (a,) = e.args
        (axis,) = e.params
        sub = []
        for k in axes_of(a):
            sub.append(by_axis[k] if (axis is not None and k != axis) else fresh())
        return entries(a, tuple(sub), fresh, labels, False, varying)
    if op == "trace":
        a = fresh()
        return entries(e.args[0], (a, a), fresh, labels, False, varying)
    if op == "diag":
        (v,) = e.args
        (i, j) = idx
        return [Term(factors=[Factor(None, (i, j))]).times(t) for t in entries(v, (i,), fresh, labels, False, varying)]
    if op == "diagvec":
        (i,) = idx
        return entries(e.args[0], (i, i), fresh, labels, False, varying)
    return [Term(factors=[Factor(e, idx)])]  # pragma: no cover


def _reciprocal(terms: list[Term], denominator: Expr, idx: tuple) -> list[Term]:
    """The entries of 1 ⊘ ``denominator``: a single product of entries with
    no summation inverts factor by factor (1/(a[i] b[i]) = a[i]⁻¹ b[i]⁻¹);
    a sum, or a sum over an index (1/Σ_a E[i,a]), is not the sum of
    reciprocals and stays one factor, 1/(E 𝟏)[i]."""
    if len(terms) == 1 and all(set(f.indices) <= set(idx) for f in terms[0].factors):
        (t,) = terms
        return [Term(t.coef ** -1, [Factor(f.expr, f.indices, -f.power) for f in t.factors])]
    return [Term(factors=[Factor(denominator, idx, -1)])]


def _named_runs(factors: tuple, labels: dict) -> tuple:
    """Runs of factors that make up a named product become that name:
    W x xᵀ with y = W x is y xᵀ, so its entries read 2 y_i x_j."""
    from ..graph import make
    from ..ops import build as B

    chains = []
    for node in labels:
        if node.op == "matmul" and len(node.args) < len(factors):
            chains.append((node.args, node))
            chains.append((tuple(B.transpose(a) for a in reversed(node.args)), make("transpose", (node,), ())))
    if not chains:
        return factors
    chains.sort(key=lambda c: -len(c[0]))
    out, i = [], 0
    while i < len(factors):
        for run, node in chains:
            if factors[i:i + len(run)] == run:
                out.append(node)
                i += len(run)
                break
        else:
            out.append(factors[i])
            i += 1
    return tuple(out)


def _product(parts: list[list[Term]]) -> list[Term]:
    out = [Term()]
    for p in parts:
        out = [a.times(b) for a in out for b in p]
    return out


def eliminate_deltas(term: Term, free: tuple[str, ...]) -> Term:
    factors = list(term.factors)
    changed = True
    while changed:
        changed = False
        for k, f in enumerate(factors):
            if not f.is_delta:
                continue
            p, q = f.indices
            if p == q and p not in free:
                if not any(p in g.indices for j, g in enumerate(factors) if j != k):
                    raise NoIndexForm("Σ_a δ_aa: a trace of the identity")
                factors.pop(k)  # δ_aa inside a sum over a that other factors carry: 1 at every a
                changed = True
                break
            if p not in free or q not in free:
                old, new = (p, q) if p not in free else (q, p)
                factors.pop(k)
                factors = [Factor(g.expr, tuple(new if i == old else i for i in g.indices), g.power)
                           for g in factors]
                changed = True
                break
    return Term(term.coef, factors)


def drop_ones(term: Term, free: tuple[str, ...]) -> Term:
    """Remove the 𝟏 factors: each entry is 1, but a summed index that nothing
    else carries (Σ_c 𝟏_c) contributes its size to the coefficient."""
    ones = [f for f in term.factors if f.expr is not None and f.expr.op == "ones"]
    if not ones:
        return term
    rest = [f for f in term.factors if f not in ones]
    carried = {i for f in rest for i in f.indices}
    coef, counted = term.coef, set()
    for f in ones:
        for i, size in zip(f.indices, [x for x in f.expr.shape if x != ONE]):
            if i not in carried and i not in free and i not in counted:
                coef, counted = coef * size, counted | {i}
    return Term(coef, rest)


def _subscript(base: str, idx: str) -> str:
    """x_{2} with index i is x_{2,i}: LaTeX allows one subscript."""
    m = re.fullmatch(r"(.*)_\{([^{}]*)\}", base)
    if m and "\\left" not in base:
        return f"{m.group(1)}_{{{m.group(2)},{idx}}}"
    return f"{base}_{{{idx}}}"


def _like_terms_merged(terms: list[Term]) -> list[Term]:
    """(1/N) δ[i,k] δ[j,l] − (1/N²) δ[i,k] δ[j,l] is (1/N − 1/N²) δ[i,k] δ[j,l]: one term per
    product of factors, in the order they first appear."""
    merged: dict[tuple, list] = {}
    for t in terms:
        key = tuple((id(f.expr), f.indices, f.power) for f in t.factors)
        merged.setdefault(key, []).append(t)
    out = []
    for group in merged.values():
        if len(group) == 1:
            out.append(group[0])
            continue
        coef = sympy.together(sum((sympy.sympify(t.coef) for t in group), sympy.Integer(0)))
        if coef != 0:
            out.append(Term(coef, group[0].factors))
    return out or [Term(sympy.Integer(0), [])]


def _latex_letter(letter: str) -> str:
    """a₁ → a_{1}"""
    plain = letter.translate(PLAIN_DIGITS)
    return plain if plain == letter else f"{plain[0]}_{{{plain[1:]}}}"


def _summation_letters(free):
    """a, b, c, … then a₁, b₁, … : as many summation indices as needed (one
    letter each, so Σ_ca₁e reads back as c, a₁, e)."""
    round_ = 0
    while True:
        for letter in _SUMMED:
            name = letter if round_ == 0 else letter + str(round_).translate(SUBSCRIPT_DIGITS)
            if name not in free:
                yield name
        round_ += 1


@dataclass
class IndexForm:
    """``∂Y/∂X`` written entry-wise: terms over free indices ``free``."""

    terms: list[Term]
    free: tuple[str, ...]
    labels: dict
    sizes_of: dict  # index name -> symbolic size
    kronecker: str = "δ"  # I where the cell has a δ of its own (CS224n's error signal)

    # ------------------------------------------------------------ printing
    def _names(self):
        """Rename summed indices a, b, c… in order of appearance."""
        mapping = {}
        # every name written inside a factor too: Σ_b (a - π)[b], never Σ_a (a - π)[a]
        taken = set(self.free)
        for e in dict.fromkeys(f.expr for t in self.terms for f in t.factors if f.expr is not None):
            for node in postorder(e, stop=self.labels):
                taken.add(self.labels.get(node) or (node.params[0] if node.op == "var" else ""))
        letters = _summation_letters(taken)
        for t in self.terms:
            for i in t.indices():
                if i not in self.free and i not in mapping:
                    mapping[i] = next(letters)
        return mapping

    def latex(self, layout: str = "index") -> str:
        from ..render.latex import LatexPrinter

        return self._render(LatexPrinter(self.labels), latex=True)

    def text(self, layout: str = "index") -> str:
        from ..render.text import TextPrinter

        return self._render(TextPrinter(self.labels), latex=False)

    def _render(self, printer, latex: bool) -> str:
        if not self.terms:
            return "0"
        names = self._names()
        out = []
        for n, t in enumerate(_like_terms_merged(self.terms)):
            coef = sympy.sympify(t.coef)
            sign = ""
            if coef.could_extract_minus_sign():
                sign, coef = "-", -coef
            summed = []
            for i in t.indices():
                if i not in self.free and names[i] not in summed:
                    summed.append(names[i])
            body = [self._factor(printer, f, names, latex) for f in t.factors]
            text = " ".join(body)
            if summed:
                text = (f"\\sum_{{{','.join(map(_latex_letter, summed))}}} " if latex
                        else f"Σ_{''.join(summed)} ") + text
            if not text:
                text = printer.number(coef)
            elif coef != 1:
                text = printer.coefficient(coef) + " " + text
            if n == 0:
                out.append(sign + text)
            else:
                out.append((" - " if sign else " + ") + text)
        return "".join(out)

    def _factor(self, printer, f: Factor, names, latex: bool) -> str:
        idx = [_latex_letter(names.get(i, i)) if latex else names.get(i, i) for i in f.indices]
        if f.is_delta:
            if self.kronecker != "δ":
                return f"I_{{{''.join(idx)}}}" if latex else f"I[{','.join(idx)}]"
            return f"\\delta_{{{''.join(idx)}}}" if latex else f"δ[{','.join(idx)}]"
        e = f.expr
        from ..ops.registry import ATOM, FUNC, MUL

        base = printer._print(e)
        if idx and printer.precedence(e) < ATOM and rule(e.op).notation.kind != "func":
            base = printer.wrap(base)
        elif idx and e in printer.labels:
            pass
        if idx:
            base = _subscript(base, "".join(idx)) if latex else f"{base}[{','.join(idx)}]"
        elif printer.precedence(e) < (FUNC if f.power != 1 else MUL):  # (a − y) x[i], not a − y x[i]
            base = printer.wrap(base)
        if f.power != 1:
            if f.power == -1:
                return f"\\frac{{1}}{{{base}}}" if latex else f"1/{base}"
            if latex:
                return f"{base}^{{{sympy.latex(f.power)}}}"
            power = sympy.sympify(f.power)
            return f"{base}^{power}" if power.is_Integer and power > 0 else f"{base}^({power})"  # x^(-1/2)
        return base

    # ------------------------------------------------------------ evaluation
    def einsum_terms(self):
        """Each term as ``(coef, subscripts, operands)`` for ``numpy.einsum``:
        the operands are the term's factors (δ's included), then the name of each free index no factor
        carries, standing for a ones vector along it.  A term constant along
        a free index (∂Σ_j X_ij/∂X_kl = δ_ik for every j) needs that operand:
        einsum cannot make an output axis up.  No operands: the term is its
        coefficient."""
        for t in self.terms:
            carried = {i for f in t.factors for i in f.indices}
            operands = list(t.factors) + [i for i in self.free if i not in carried]
            indices = [op.indices if isinstance(op, Factor) else (op,) for op in operands]
            letters: dict = {}  # index → einsum letter, in order of appearance
            for i in (i for ix in indices for i in ix):
                letters.setdefault(i, _EINSUM_LETTERS[len(letters)])
            subs = ",".join("".join(letters[i] for i in ix) for ix in indices)
            yield t.coef, subs + "->" + "".join(letters[i] for i in self.free), operands

    def evaluate(self, env: dict, sizes: dict) -> np.ndarray:
        """The tensor with axes ``free``, by ``numpy.einsum``."""
        total = np.zeros([concrete(self.sizes_of[i], sizes) for i in self.free])
        memo: dict = {}

        def value(op) -> np.ndarray:
            if isinstance(op, str):
                return np.ones(concrete(self.sizes_of[op], sizes))
            if op.is_delta:
                return np.eye(concrete(self.sizes_of[op.indices[0]], sizes))
            v = evaluate(op.expr, env, sizes, memo)
            v = v.reshape([v.shape[k] for k in axes_of(op.expr)])
            return np.power(v, float(op.power)) if op.power != 1 else v

        for coef, subscripts, operands in self.einsum_terms():
            coef = float(sympy.sympify(coef).xreplace(sizes))
            if operands:
                total = total + coef * np.einsum(subscripts, *map(value, operands), optimize=True)
            else:
                total = total + coef
        return total


def kronecker_symbol(cell_names) -> str:
    """δ for the Kronecker delta, unless the cell names something δ: then the
    identity's entries I[i,k], which say the same."""
    return "I" if "δ" in cell_names and "I" not in cell_names else "δ"


def index_form(d: Derivative, labels: dict, kronecker: str = "δ") -> IndexForm:
    """The derivative entry-wise, with the index names the layouts use."""
    n_out = len([x for x in d.of.shape if x != ONE])
    n_var = len([x for x in d.wrt.shape if x != ONE])
    letters = "ijkl"
    out_idx = tuple(letters[:n_out])
    var_idx = tuple(letters[n_out:n_out + n_var])
    var_dims = [x for x in d.wrt.shape if x != ONE]
    out_dims = [x for x in d.of.shape if x != ONE]
    sizes_of = dict(zip(out_idx, out_dims)) | dict(zip(var_idx, var_dims))
    fresh = _Fresh("ijkl")
    if d.matrix is None and d.kind in ("gradient", "jacobian"):
        raise NoIndexForm("no matrix form to write entry-wise")
    if d.kind in ("gradient", "hvp") or (d.kind == "jacobian" and d.wrt.is_scalar):
        free = var_idx if d.kind in ("gradient", "hvp") else out_idx
        terms = entries(d.matrix, free, fresh, labels)
    elif d.kind == "jacobian":
        free = out_idx + var_idx
        terms = entries(d.matrix, free, fresh, labels)
    else:
        if d.kind == "hessian":
            first = tuple(letters[:n_var])
            second = tuple(letters[n_var:2 * n_var])
            sizes_of = dict(zip(first, var_dims)) | dict(zip(second, var_dims))
            lin_idx, free = first, first + second
            target = second
        else:
            lin_idx, free, target = out_idx, out_idx + var_idx, var_idx
        from ..graph import dependency_set

        raw = entries(d.differential, lin_idx, fresh, labels, True, frozenset(dependency_set(d.differential, d.dx)))
        terms = []
        for t in raw:
            factors = []
            for f in t.factors:
                if f.expr is d.dx:
                    factors += [Factor(None, (a, b)) for a, b in zip(f.indices, target)]
                else:
                    factors.append(f)
            terms.append(Term(t.coef, factors))
    terms = [drop_ones(eliminate_deltas(t, free), free) for t in terms]
    for t in terms:
        for f in t.factors:
            for i in f.indices:
                if i not in sizes_of and f.expr is not None:
                    k = f.indices.index(i)
                    sizes_of[i] = [x for x in f.expr.shape if x != ONE][k]
    return IndexForm(terms, free, labels, sizes_of, kronecker)
