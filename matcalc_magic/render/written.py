"""LaTeX of what the user wrote: a claim typeset from its syntax tree.

The engine's printers print *derived* expressions, after definitions have been
substituted and terms canonicalised.  A claim must be shown as the user wrote
it (``δ1^T h^T`` is ``δ₁ᵀ hᵀ``, not the ``(ŷ − y) hᵀ`` it stands for), so this
printer reads the syntax tree: the names, transposes, functions and numbers
as written, brackets only where precedence needs them.  The one thing it
takes from the checker is which operands are scalars, because NumPy's ``*``
is a multiple next to a scalar and a Hadamard product otherwise.
"""

from __future__ import annotations

from ..functions import canonical_name
from ..ops.elementwise import BY_NAME as ELEMENTWISE
from ..syntax import tree as T
from .latex import number_latex
from .names import name_latex

# precedence levels: an operand printed below the level its place needs is bracketed
SUM, NEG, PRODUCT, POWER, FRAC, ATOM = 10, 15, 20, 30, 35, 40

#: functions whose textbook symbol is not \operatorname{name}
_SYMBOLS = {"det": "\\det", "logdet": "\\log\\det", "tr": "\\operatorname{tr}"}
_SYMBOLS.update({name: row.latex for name, row in ELEMENTWISE.items()})
#: infix operators and the product family each belongs to (a different family is bracketed)
_INFIX = {"⊙": ("\\odot", "hadamard"), "⊘": ("\\oslash", "hdiv"), "⊗": ("\\otimes", "kron")}


def written_latex(node: T.Node, source: str, scalars: frozenset = frozenset()) -> str:
    """``node`` typeset as written; ``source`` is the cell text its spans index
    (numbers keep their spelling: ``1e-5``, ``0.5``)."""
    return _Printer(source, scalars).latex(node)[0]


class _Printer:
    def __init__(self, source: str, scalars: frozenset):
        self.source = source
        self.scalars = scalars

    # Each method returns (latex, level, product family or None).
    def latex(self, node) -> tuple[str, int, str | None]:
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:  # a node a claim cannot hold: show its text
            return "\\text{" + self.text(node) + "}", ATOM, None
        return method(node)

    def text(self, node) -> str:
        return self.source[node.span.start:node.span.end].strip()

    def operand(self, node, level: int, family: str | None = None) -> str:
        """``node`` bracketed when it binds more loosely than ``level`` or is
        a product of another family (``A (B ⊙ C)``)."""
        text, got, fam = self.latex(node)
        if got < level or (family is not None and got == PRODUCT and fam not in (None, family)):
            return f"\\left({text}\\right)"
        return text

    def base(self, node) -> str:
        """The base of a superscript: an atom, a braced power, or a bracket."""
        text, got, _ = self.latex(node)
        if got == POWER:
            return "{" + text + "}"
        return text if got == ATOM else f"\\left({text}\\right)"

    # -- leaves ------------------------------------------------------------------
    def _Name(self, n: T.Name):
        if n.id in ("pi", "π", "np.pi"):
            return "\\pi", ATOM, None
        if n.id in ("True", "False", "None"):  # keepdims=True: a Python constant, not a name
            return f"\\mathrm{{{n.id}}}", ATOM, None
        if canonical_name(n.id) in _SYMBOLS:  # log det X: a function written without brackets
            return _SYMBOLS[canonical_name(n.id)], ATOM, None
        return name_latex(n.id), ATOM, None

    def _Number(self, n: T.Number):
        return number_latex(self.text(n)), ATOM, None  # 1e-5 → 10^{-5}, as the printers write it

    # -- operators -----------------------------------------------------------------
    def _Neg(self, n: T.Neg):
        return "-" + self.operand(n.operand, PRODUCT), NEG, None

    def _BinOp(self, n: T.BinOp):
        op, left, right = n.op, n.left, n.right
        if op in ("+", "-"):
            return f"{self.operand(left, SUM)} {op} {self.operand(right, SUM + 1 if op == '-' else SUM)}", SUM, None
        if op == "@":
            return self._product(left, right, "matmul")
        if op == "*":
            if left in self.scalars:
                return self._product(left, right, "matmul")
            if right in self.scalars:  # x * 2: a trailing factor keeps a visible dot
                return self._infix(left, right, "\\cdot", "matmul")
            return self._infix(left, right, "\\odot", "hadamard")
        if op == "/":
            if right in self.scalars:
                return f"\\frac{{{self.latex(left)[0]}}}{{{self.latex(right)[0]}}}", FRAC, None
            return self._infix(left, right, "\\oslash", "hdiv")
        if op in _INFIX:
            return self._infix(left, right, *_INFIX[op])
        exponent = self.latex(right)[0]
        if op == "**" and left not in self.scalars:  # NumPy's power of a matrix is elementwise
            exponent = "\\circ " + exponent
        return f"{self.base(left)}^{{{exponent}}}", POWER, None

    def _Juxt(self, n: T.Juxt):
        return self._product(n.left, n.right, "matmul")

    def _product(self, left, right, family: str):
        return f"{self.operand(left, PRODUCT, family)} {self.operand(right, PRODUCT, family)}", PRODUCT, family

    def _infix(self, left, right, symbol: str, family: str):
        # ⊘ is not associative: a product on its right keeps its brackets
        right_level = PRODUCT + 1 if family == "hdiv" else PRODUCT
        left_text = self.operand(left, PRODUCT, family)
        return f"{left_text} {symbol} {self.operand(right, right_level, family)}", PRODUCT, family

    def _Transpose(self, n: T.Transpose):
        return self.base(n.operand) + "^{\\top}", POWER, None

    def _Inverse(self, n: T.Inverse):
        return self.base(n.operand) + ("^{-\\top}" if n.transpose else "^{-1}"), POWER, None

    # -- calls and brackets -------------------------------------------------------------
    def _Call(self, n: T.Call):
        name = canonical_name(n.func)
        args = [self.latex(a)[0] for a in n.args]
        if name == "sqrt" and len(args) == 1 and not n.primes:
            return f"\\sqrt{{{args[0]}}}", ATOM, None
        if name == "inv" and len(n.args) == 1:
            return self.base(n.args[0]) + "^{-1}", POWER, None
        if name is None:  # not a function: the checker reads it as a product
            symbol = name_latex(n.func)
        else:
            symbol = _SYMBOLS.get(name) or "\\operatorname{" + name.replace("_", "\\_") + "}"
        args += ["\\text{" + key + "}=" + self.latex(value)[0] for key, value in n.kwargs]
        return f"{symbol}{chr(39) * n.primes}\\left({', '.join(args)}\\right)", ATOM, None

    def _Norm(self, n: T.Norm):
        text = f"\\left\\| {self.latex(n.operand)[0]} \\right\\|"
        if n.kind:
            text += f"_{{{n.kind}}}"
        if n.power is not None:
            return f"{{{text}}}^{{{self.latex(n.power)[0]}}}", POWER, None
        return text, ATOM, None

    def _Abs(self, n: T.Abs):
        return f"\\left| {self.latex(n.operand)[0]} \\right|", ATOM, None

    def _Index(self, n: T.Index):
        subscripts = ", ".join(self.latex(s)[0] for s in n.subscripts)
        return f"{self.base(n.operand)}\\left[{subscripts}\\right]", ATOM, None

    def _Slice(self, n: T.Slice):
        start = "" if n.start is None else self.latex(n.start)[0]
        stop = "" if n.stop is None else self.latex(n.stop)[0]
        return f"{start}{{:}}{stop}", ATOM, None

    def _ListLit(self, n: T.ListLit):
        return "\\left[" + ", ".join(self.latex(a)[0] for a in n.items) + "\\right]", ATOM, None

    def _TupleLit(self, n: T.TupleLit):
        return "\\left(" + ", ".join(self.latex(a)[0] for a in n.items) + "\\right)", ATOM, None

    # -- derivatives -----------------------------------------------------------------------
    def _Deriv(self, n: T.Deriv):
        of, _, _ = self.latex(n.of)
        if not isinstance(n.of, T.Name):
            of = f"\\left({of}\\right)"
        wrt = name_latex(n.wrt.id)
        if n.order == 2:
            return f"\\frac{{\\partial^{{2}} {of}}}{{\\partial {wrt}^{{2}}}}", FRAC, None
        return f"\\frac{{\\partial {of}}}{{\\partial {wrt}}}", FRAC, None

    def _Hessian(self, n: T.Hessian):
        return f"\\nabla^{{2}}_{{{name_latex(n.wrt.id)}}} {self.operand(n.of, POWER)}", PRODUCT, None
