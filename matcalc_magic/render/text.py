"""Plain Unicode text: ``(A + Aᵀ) x``, ``X⁻ᵀ``, ``relu′(z) ⊙ δ``."""

from __future__ import annotations

import re
from functools import lru_cache

import sympy

from ..graph import Expr, const_value, is_all_ones, is_const, postorder
from ..ops.registry import FUNC, MUL
from ..shapes import ONE, dim_str
from .base import Printer, squared_norm_of
from .names import name_text

_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


@lru_cache(maxsize=4096)
def scalar_text(value) -> str:
    """A SymPy number or size formula as text: m**2 → m², m**(-2) → m⁻², 2*m → 2 m, pi → π."""
    if isinstance(value, sympy.Basic) and value.has(sympy.E):  # Euler's number reads back as exp(1)
        value = value.xreplace({sympy.E: sympy.Symbol("exp(1)")})
    # m**2 → m², m**(-2) → m⁻²; m**(-3/2) stays a power (m^(-3/2)), brackets balanced
    text = re.sub(r"\*\*(?:\((-?\d+)\)|(\d+)\b)", lambda m: superscript(m.group(1) or m.group(2)),
                  sympy.sstr(value))
    return text.replace("**", "^").replace("*", " ").replace("pi", "π")


def superscript(value) -> str:
    text = str(value)
    if all(ch in "0123456789-" for ch in text):
        return text.translate(_SUPERSCRIPT)
    return "^" + (text if text.isalnum() else f"({text})")


class TextPrinter(Printer):
    _open_parts = None  # how many parts of the formula print without their size
    _sizing = 0  # inside a factor of ⊗ or under vec, whose shape no neighbour fixes
    _root = None  # the formula being printed
    def name(self, name: str) -> str:
        return name_text(name)

    def symbol(self, notation) -> str:
        return notation.text

    def number(self, value) -> str:
        return scalar_text(value)

    def _print_sqrt(self, e: Expr) -> str:
        norm = squared_norm_of(e.args[0])
        if norm is not None:
            return f"‖{self._print(norm)}‖{'' if self.is_vector(norm) else '_F'}"
        return f"sqrt({self._print(e.args[0])})"

    def coefficient(self, value) -> str:
        text = scalar_text(value)
        if isinstance(value, sympy.Rational) and not value.is_Integer or not value.is_Atom:
            return f"({text})"
        return text

    def _print_tangent(self, e: Expr) -> str:
        return "d" + self.name(e.params[0][1:])

    def _print_eye(self, e: Expr) -> str:
        return (self._sizing and self.sized(e)) or "I"

    def _print_zeros(self, e: Expr) -> str:
        # a whole result of 0 takes the result's shape; inside a formula (softmax(0),
        # I ⊗ 0) a zero matrix shows its size
        return "0" if e is self._root else f"zeros({e.shape[0]}, {e.shape[1]})"

    def doprint(self, e: Expr, expand_root: bool = False) -> str:
        # a formula whose only unsized part is one I or 𝟏 gets it from its own
        # shape when read back; with more, or in a where-part, they show sizes
        self._root = e
        self._open_parts = None if expand_root else (
            (e.op in _UNSIZED) + sum(_prints_unsized(a, n) for n in postorder(e) for a in n.args))
        return super().doprint(e, expand_root)

    def sized(self, e: Expr) -> str | None:
        """I or 𝟏 with its size (I_n, 𝟏_m, ones(m, n)) where no neighbour fixes
        it (a factor of ⊗, inside vec, sliced) and the formula has other parts
        whose size it leaves open; None where the bare form reads back."""
        if e.op not in ("eye", "ones") or e in self.labels or self._open_parts == 1:
            return None
        if e.op == "eye":
            return sized_identity(e.shape[0])
        rows, cols = e.shape
        if cols == ONE:
            return sized_ones(rows)
        if rows == ONE:
            return sized_ones(cols) + "ᵀ"
        return f"ones({rows}, {cols})"

    def sliced(self, a: Expr) -> str:
        return self.sized(a) or super().sliced(a)

    def precedence(self, e: Expr) -> int:
        if e.op == "vec" and e not in self.labels and self.constant_column(e) is not None:
            return self.precedence(self.constant_column(e))
        if (e.op == "ones" and e.shape[0] != ONE and e.shape[1] != ONE and e not in self.labels
                and not (self._sizing and self.sized(e))):
            return MUL  # 𝟏 𝟏ᵀ is a product: (𝟏 𝟏ᵀ)[:, 1:]
        return super().precedence(e)

    def _print_kron(self, e: Expr) -> str:
        return " ⊗ ".join(self.showing_sizes(lambda: [self.paren(a, MUL, strict=True) for a in e.args]))

    def showing_sizes(self, print_parts):
        """Print with I and 𝟏 sized: inside ⊗ or vec neighbours fix only a
        product of sizes (k m = m n), not each one."""
        self._sizing += 1
        try:
            return print_parts()
        finally:
            self._sizing -= 1

    def _print_vec(self, e: Expr) -> str:
        column = self.constant_column(e)
        if column is not None:
            return self._print(column)
        (a,) = e.args
        return f"vec({self.sized(a) or self.showing_sizes(lambda: self._print(a))})"

    def constant_column(self, e: Expr) -> Expr | None:
        """vec(c 𝟏 𝟏ᵀ) as c 𝟏 (𝟏 for c = 1), whose length the neighbours fix
        as they fix 𝟏's; None for any other vec."""
        (a,) = e.args
        if a.op == "broadcast" and a.args[0].is_scalar and a not in self.labels:
            from ..ops import build as B

            return B.fill(a.args[0], (e.shape[0], ONE))
        if is_all_ones(a) and a not in self.labels:
            from ..graph import ones

            return ones(e.shape[0], ONE)
        return None

    def _print_unvec(self, e: Expr) -> str:
        rows, cols = e.shape
        return f"unvec({self._print(e.args[0])}, {rows}, {cols})"

    def _print_ones(self, e: Expr) -> str:
        if self._sizing and self.sized(e):
            return self.sized(e)
        if e.shape[0] != ONE and e.shape[1] != ONE:
            return "𝟏 𝟏ᵀ"  # the all-ones matrix
        return "𝟏ᵀ" if e.shape[0] == ONE else "𝟏"


    def _print_commutation(self, e: Expr) -> str:
        m, n = e.params
        return f"K({dim_str(m)},{dim_str(n)})"



    def _print_epow(self, e: Expr) -> str:
        a, p = e.args
        if e.is_scalar:
            if is_const(p) and const_value(p) < 0:
                k = -const_value(p)
                base = self.paren(a, FUNC) + ("" if k == 1 else superscript(k))
                return f"1/{base}"
            return self.paren(a, FUNC) + superscript(self._print(p))
        return self.paren(a, FUNC) + "^∘" + self.paren(p, FUNC)

    def _print_matpow(self, e: Expr) -> str:
        a = e.args[0]
        if a.op == "transpose" and a not in self.labels and a.args[0].op != "inv":  # (Xᵀ)ᵏ prints as (Xᵏ)ᵀ
            return self.wrap(self.paren(a.args[0], FUNC) + superscript(e.params[0])) + "ᵀ"
        return self.paren(a, FUNC) + superscript(e.params[0])

    def _print_sum(self, e: Expr) -> str:
        (a,) = e.args
        (axis,) = e.params
        norm = squared_norm_of(e)
        if norm is not None:
            return f"‖{self._print(norm)}‖{'' if self.is_vector(norm) else '_F'}²"
        body = self.summand(a)
        if axis == 0:
            return f"𝟏ᵀ {body}"
        if axis == 1:
            return f"{body} 𝟏"
        return f"𝟏ᵀ {body} 𝟏"


def sized_identity(n) -> str:
    """I_n, I_3, or eye(n + 1) where the size is not a single name."""
    text = str(n)
    return f"I_{text}" if re.fullmatch(r"\w+", text) else f"eye({text})"


def sized_ones(n) -> str:
    """𝟏_n, 𝟏_3, or ones(n + 1)."""
    text = str(n)
    return f"𝟏_{text}" if re.fullmatch(r"\w+", text) else f"ones({text})"


#: what prints without its size (I, 𝟏, 0), which only its neighbours tell
_UNSIZED = frozenset({"eye", "ones", "zeros", "broadcast", "pad_rows", "pad_cols"})


def _prints_unsized(a: Expr, parent: Expr) -> bool:
    """Whether ``a``, as an argument of ``parent``, prints without its size; a
    broadcast in a sum or elementwise product prints as its operand (W X + b)."""
    return a.op in _UNSIZED and not (a.op == "broadcast" and parent.op in ("add", "hadamard", "hdiv"))


def to_text(e: Expr, labels: dict | None = None, expand_root: bool = False, aliases: bool = True) -> str:
    return TextPrinter(labels, aliases).doprint(e, expand_root)
