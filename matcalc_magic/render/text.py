"""Plain Unicode text: ``(A + Aᵀ) x``, ``X⁻ᵀ``, ``relu′(z) ⊙ δ``."""

from __future__ import annotations

import re
from functools import lru_cache

import sympy

from ..graph import Expr, const_value, is_const
from ..ops.registry import FUNC, MUL
from ..shapes import ONE, dim_str
from .base import Printer, squared_norm_of
from .names import name_text

_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


@lru_cache(maxsize=4096)
def scalar_text(value) -> str:
    """A SymPy number or size formula as text: m**2 → m², m**(-2) → m⁻², 2*m → 2 m, pi → π."""
    text = re.sub(r"\*\*\(?(-?\d+)\b\)?", lambda m: superscript(m.group(1)), sympy.sstr(value))
    return text.replace("**", "^").replace("*", " ").replace("pi", "π")


def superscript(value) -> str:
    text = str(value)
    if all(ch in "0123456789-" for ch in text):
        return text.translate(_SUPERSCRIPT)
    return "^" + (text if text.isalnum() else f"({text})")


class TextPrinter(Printer):
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
        return "I"

    def _print_ones(self, e: Expr) -> str:
        if e.shape[0] != ONE and e.shape[1] != ONE:
            return "𝟏 𝟏ᵀ"  # the all-ones matrix
        return "𝟏ᵀ" if e.shape[0] == ONE else "𝟏"


    def _print_commutation(self, e: Expr) -> str:
        m, n = e.params
        return f"K({dim_str(m)},{dim_str(n)})"



    def _print_epow(self, e: Expr) -> str:
        a, p = e.args
        a = self.implicit(a)
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
        body = self.paren(a, MUL + 1)
        if axis == 0:
            return f"𝟏ᵀ {body}"
        if axis == 1:
            return f"{body} 𝟏"
        return f"𝟏ᵀ {body} 𝟏"


def to_text(e: Expr, labels: dict | None = None, expand_root: bool = False, aliases: bool = True) -> str:
    return TextPrinter(labels, aliases).doprint(e, expand_root)
