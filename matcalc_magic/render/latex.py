"""LaTeX, as a textbook prints it: ``(A + A^{\\top}) x``, ``X^{-\\top}``."""

from __future__ import annotations

from functools import lru_cache

import sympy

from ..graph import Expr, const_value, is_const
from ..ops.registry import FUNC, MUL
from ..shapes import ONE, dim_latex
from .base import Printer, squared_norm_of
from .names import name_latex


def number_latex(text: str) -> str:
    """A number as the cell wrote it: 1e-5 → 10^{-5}, 2.5e-3 → 2.5 \\cdot 10^{-3};
    decimals as written."""
    mantissa, _, exponent = text.lower().partition("e")
    if not exponent:
        return text
    power = f"10^{{{int(exponent)}}}"
    return power if float(mantissa) == 1 else f"{mantissa} \\cdot {power}"


@lru_cache(maxsize=4096)
def scalar_latex(value) -> str:
    """SymPy's LaTeX of a number or a size (slow, and the same ones recur)."""
    return sympy.latex(value)


class LatexPrinter(Printer):
    transpose_mark = "^{\\top}"
    inverse_mark = "^{-1}"
    inverse_transpose_mark = "^{-\\top}"
    sub_sep = " - "

    def wrap(self, text: str) -> str:
        return f"\\left({text}\\right)"

    def name(self, name: str) -> str:
        return name_latex(name)

    def symbol(self, notation) -> str:
        return notation.latex

    def number(self, value) -> str:
        return scalar_latex(value)

    def coefficient(self, value) -> str:
        return scalar_latex(value)

    def written(self, text: str) -> str:
        return number_latex(text)

    # ------------------------------------------------------------ leaves
    def _print_tangent(self, e: Expr) -> str:
        return "\\mathrm{d}" + self.name(e.params[0][1:])

    def _print_eye(self, e: Expr) -> str:
        return f"I_{{{scalar_latex(e.shape[0])}}}"

    def _print_ones(self, e: Expr) -> str:
        r, c = e.shape
        if c == ONE:
            return f"\\mathbf{{1}}_{{{scalar_latex(r)}}}"
        if r == ONE:
            return f"\\mathbf{{1}}_{{{scalar_latex(c)}}}^{{\\top}}"
        return f"\\mathbf{{1}}_{{{dim_latex(r)} \\times {dim_latex(c)}}}"


    def _print_commutation(self, e: Expr) -> str:
        m, n = e.params
        return f"K_{{{scalar_latex(m)},{scalar_latex(n)}}}"

    # ------------------------------------------------------------ postfix

    def _print_epow(self, e: Expr) -> str:
        a, p = e.args
        exponent = self._print(p)
        if e.is_scalar:
            if is_const(p) and const_value(p) < 0:
                k = -const_value(p)
                base = self._print(a) if k == 1 else self.paren(a, FUNC) + f"^{{{scalar_latex(k)}}}"
                return f"\\frac{{1}}{{{base}}}"
            return self.paren(a, FUNC) + f"^{{{exponent}}}"
        return self.paren(a, FUNC) + f"^{{\\circ {exponent}}}"

    def _print_matpow(self, e: Expr) -> str:
        a = e.args[0]
        if a.op == "transpose" and a not in self.labels and a.args[0].op != "inv":  # (Xᵀ)ᵏ prints as (Xᵏ)ᵀ
            return self.wrap(self.paren(a.args[0], FUNC) + f"^{{{e.params[0]}}}") + "^{\\top}"
        return self.paren(a, FUNC) + f"^{{{e.params[0]}}}"


    # ------------------------------------------------------------ functions
    def _print_kind_func(self, e: Expr, notation) -> str:
        return f"{notation.latex}\\left({', '.join(self.printed_args(e))}\\right)"

    def keyword(self, name: str, value) -> str:
        return f"\\mathrm{{{name}}}={value}"

    def _print_sqrt(self, e: Expr) -> str:
        norm = squared_norm_of(e.args[0])
        if norm is not None:
            sub = "_F" if not self.is_vector(norm) else ""
            return f"\\left\\|{self._print(norm)}\\right\\|{sub}"
        return f"\\sqrt{{{self._print(e.args[0])}}}"

    def fraction(self, numerator: Expr, denominator: Expr) -> str:
        return f"\\frac{{{self._print(numerator)}}}{{{self._print(denominator)}}}"

    def _print_sum(self, e: Expr) -> str:
        (a,) = e.args
        (axis,) = e.params
        norm = squared_norm_of(e)
        if norm is not None:
            sub = "_F" if not self.is_vector(norm) else ""
            return f"\\left\\|{self._print(norm)}\\right\\|{sub}^{{2}}"
        body = self.summand(a)
        if axis == 0:
            return f"\\mathbf{{1}}^{{\\top}} {body}"
        if axis == 1:
            return f"{body} \\mathbf{{1}}"
        return f"\\mathbf{{1}}^{{\\top}} {body} \\mathbf{{1}}"

    def _print_hdiv(self, e: Expr) -> str:
        a, b = e.args
        return f"{self.paren(a, MUL, strict=True)} \\oslash {self.paren(b, MUL, strict=True)}"

    # ------------------------------------------------------------ blocks
    slice_sep = ","

    def size(self, d) -> str:
        return scalar_latex(d)

    def subscripted(self, base: str, rng: str) -> str:
        return f"{base}_{{[{rng}]}}"

    def sized_zeros(self, rows, cols) -> str:
        return f"0_{{{self.size(rows)} \\times {self.size(cols)}}}"

    def block(self, items: list[str], axis: int) -> str:
        sep = " \\\\ " if axis == 0 else " & "
        return "\\begin{bmatrix} " + sep.join(items) + " \\end{bmatrix}"

    def _print_unvec(self, e: Expr) -> str:
        return f"\\operatorname{{vec}}^{{-1}}\\left({self._print(e.args[0])}\\right)"


def to_latex(e: Expr, labels: dict | None = None, expand_root: bool = False, aliases: bool = True) -> str:
    return LatexPrinter(labels, aliases).doprint(e, expand_root)
