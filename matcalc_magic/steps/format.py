"""Printing steps: the factors of the main product with their shapes.

A step shows ``dJ = 2 yᵀ dW x`` and, under each factor of its main product,
that factor's shape (``\\underbrace{y^{\\top}}_{1 \\times m}`` in LaTeX,
``yᵀ (1×m) · dW (m×n) · x (n×1)`` in text), so a reader sees the sizes meet.
The printers are the engine's (:mod:`matcalc_magic.render`), extended here
only to brace the products a step asks for.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..graph import Expr, const_value, is_const
from ..ops.registry import MUL, NEG
from ..render.latex import LatexPrinter
from ..render.names import name_latex, name_text
from ..render.text import TextPrinter
from ..shapes import ONE, shape_latex


def shape_str(shape) -> str:
    """``m×n``; a product of sizes as ``hm``, a power as ``n^2``."""
    return "×".join(_dim(d) for d in shape)


def _dim(d) -> str:
    text = str(d).replace("**", "^").replace("*", "")
    return f"({text})" if any(op in text for op in "+-") else text

PRODUCT_OPS = ("matmul", "hadamard", "kron")
_SYMBOLS_TEXT = {"matmul": "·", "hadamard": "⊙", "kron": "⊗"}


@dataclass
class Product:
    """One product a step shows: its operator, factors (text, shape) and shape."""

    op: str
    factors: list = field(default_factory=list)  # [(text, (rows, cols))]
    shape: tuple = (ONE, ONE)

    def annotation(self) -> str:
        if self.op == "inner":
            body = ", ".join(f"{t} ({shape_str(s)})" for t, s in self.factors)
            return f"⟨{body}⟩ = {shape_str(self.shape)}"
        sep = f" {_SYMBOLS_TEXT.get(self.op, '·')} "
        body = sep.join(f"{t} ({shape_str(s)})" for t, s in self.factors)
        return f"{body} = {shape_str(self.shape)}"


def main_products(e: Expr, labels: dict, depth: int = 0) -> list[Expr]:
    """The products whose factors a step annotates: the product at the top
    (under scalar multiples, traces, transposes and sums), or the product in
    each term of a sum."""
    while e not in labels and e.op in ("smul", "trace", "transpose", "sum", "vec", "broadcast"):
        e = e.args[1] if e.op == "smul" else e.args[0]
    if e in labels:
        return []
    if e.op in PRODUCT_OPS:
        return [e]
    if e.op == "add" and depth == 0:
        out = []
        for t in e.args:
            out.extend(main_products(t, labels, 1))
        return out
    return []


def _groups(printer, e: Expr):
    """The factors of a product as printed: named runs (``W x`` → ``y``) stay
    together, as the printer shows them."""
    factors = e.args
    if e.op != "matmul":
        return [(f, f.shape) for f in factors]
    out, i = [], 0
    while i < len(factors):
        for chain, name, transposed in printer.chains_at(factors, i):
            k = len(chain)
            if 1 < k < len(factors) and factors[i:i + k] == chain:
                out.append(((name, transposed), (chain[0].shape[0], chain[-1].shape[1])))
                i += k
                break
        else:
            out.append((factors[i], factors[i].shape))
            i += 1
    return out


class _Braced:
    """Mixin: print the products in ``self.braced`` factor by factor."""

    braced: set

    def factor_text(self, f) -> str:
        if isinstance(f, tuple):
            name, transposed = f
            return self.name(name) + (self.transpose_mark if transposed else "")
        return self.paren(f, MUL + 1)

    def product_factors(self, e: Expr) -> list:
        return [(self.factor_text(f), shape) for f, shape in _groups(self, e)]

    def _print_matmul(self, e: Expr) -> str:
        if e not in self.braced or e in self.labels:
            return super()._print_matmul(e)
        return self.join_braced(e, " ")

    def _print_hadamard(self, e: Expr) -> str:
        if e not in self.braced or e in self.labels:
            return self._print_kind_infix(e, _notation("hadamard"))
        return self.join_braced(e, " " + self.hadamard_symbol + " ", strict=True)

    def _print_kron(self, e: Expr) -> str:
        if e not in self.braced or e in self.labels:
            return self._print_kind_infix(e, _notation("kron"))
        return self.join_braced(e, " " + self.kron_symbol + " ", strict=True)

    def join_braced(self, e: Expr, sep: str, strict: bool = False) -> str:
        parts = []
        for f, shape in _groups(self, e):
            if strict and not isinstance(f, tuple):
                text = self.paren(f, MUL, strict=True)
            else:
                text = self.factor_text(f)
            parts.append(self.brace(text, shape))
        return sep.join(parts)

    def brace(self, text: str, shape) -> str:
        return text


def _notation(op: str):
    from ..ops.registry import rule

    return rule(op).notation


class BracedLatex(_Braced, LatexPrinter):
    hadamard_symbol = "\\odot"
    kron_symbol = "\\otimes"

    def __init__(self, labels, braced=()):
        super().__init__(labels)
        self.braced = set(braced)

    def brace(self, text: str, shape) -> str:
        return f"\\underbrace{{{text}}}_{{{shape_latex(shape)}}}"


class PlainText(_Braced, TextPrinter):
    hadamard_symbol = "⊙"
    kron_symbol = "⊗"

    def __init__(self, labels, braced=()):
        super().__init__(labels)
        self.braced = set()  # text shows shapes after the formula, not inside it


class Formatter:
    """Text and LaTeX of expressions in one world (one set of labels).

    Broadcasts and sums print as products with 𝟏 (``b₁ 𝟏ᵀ``, ``A 𝟏``), so
    their shapes can be read like any other factor's."""

    def __init__(self, labels: dict):
        self.labels = labels

    def _prepare(self, e: Expr, expand_root: bool):
        from .world import explicit

        labels = self.labels
        if expand_root and e in labels:
            labels = dict(labels)
            labels.pop(e)
        return explicit(e), labels

    # ------------------------------------------------------------ plain
    def text(self, e: Expr, expand_root: bool = False) -> str:
        e, labels = self._prepare(e, expand_root)
        return PlainText(labels).doprint(e)

    def latex(self, e: Expr, expand_root: bool = False) -> str:
        e, labels = self._prepare(e, expand_root)
        return BracedLatex(labels).doprint(e)

    # ------------------------------------------------------------ annotated
    def products(self, e: Expr, expand_root: bool = False) -> list[Product]:
        e, labels = self._prepare(e, expand_root)
        printer = PlainText(labels)
        return [Product(p.op, list(printer.product_factors(p)), p.shape) for p in main_products(e, labels)]

    def braced_latex(self, e: Expr, expand_root: bool = False) -> str:
        e, labels = self._prepare(e, expand_root)
        return BracedLatex(labels, main_products(e, labels)).doprint(e)

    # ------------------------------------------------------------ operands
    # The printers bracket an operand only for the operators they print.  A
    # step also writes formulas beside ``:`` (``G : dX``), beside a shape
    # (``G (m×n)`` in ⟨G (m×n), dX (m×n)⟩) and after a ``d`` in a rule, which
    # no printer sees, so those are bracketed here by the printers'
    # precedences: ``A - B : dX`` would read as ``A - (B : dX)``.
    def operand_text(self, e: Expr, level: int) -> str:
        """``e``, in brackets when it binds looser than ``level``."""
        e, labels = self._prepare(e, False)
        return PlainText(labels).paren(e, level)

    def operand_latex(self, e: Expr, level: int) -> str:
        e, labels = self._prepare(e, False)
        return BracedLatex(labels).paren(e, level)

    def frobenius_text(self, g: Expr) -> str:
        """G before ``: dX``: a sum is bracketed; G's own products
        (``2 y xᵀ : dX``) and a leading minus (``-A : dX`` is ``-(A : dX)``
        either way) are not."""
        return self.operand_text(g, NEG)

    def frobenius_latex(self, g: Expr) -> str:
        return self.operand_latex(g, NEG)

    def factor_text(self, e: Expr) -> str:
        """A factor followed by its shape, bracketed as the product
        annotations bracket theirs (``(A + B) (n×n)``)."""
        return self.operand_text(e, MUL + 1)

    def pair_text(self, g: Expr, d: Expr) -> str:
        return f"⟨{self.text(g)}, {self.text(d)}⟩"

    def pair_latex(self, g: Expr, d: Expr, braced: bool = True) -> str:
        if braced:
            left = f"\\underbrace{{{self.latex(g)}}}_{{{shape_latex(g.shape)}}}"
            right = f"\\underbrace{{{self.latex(d)}}}_{{{shape_latex(d.shape)}}}"
        else:
            left, right = self.latex(g), self.latex(d)
        return f"\\left\\langle {left}, {right} \\right\\rangle"


def merge_subscripts(latex: str) -> str:
    """``b_{2}_{i}`` (a double subscript, which LaTeX rejects) → ``b_{2,i}``."""
    import re

    pattern = re.compile(r"_\{([^{}]*)\}_\{([^{}]*)\}")
    while True:
        fixed = pattern.sub(r"_{\1,\2}", latex)
        if fixed == latex:
            return latex
        latex = fixed


def with_shapes(text: str, products: list[Product]) -> str:
    """``formula    [a (m×n) · b (n×1) = m×1]``."""
    if not products:
        return text
    return text + "    [" + "; ".join(p.annotation() for p in products) + "]"


def flat_shapes(products: list[Product]) -> list[tuple[str, str]]:
    return [(t, shape_str(s)) for p in products for t, s in p.factors]


def coefficient_of(e: Expr):
    if e.op == "smul" and is_const(e.args[0]):
        return const_value(e.args[0])
    return None


def d_text(name: str) -> str:
    return "d" + name_text(name)


def d_latex(name: str) -> str:
    return "\\mathrm{d}" + name_latex(name)


__all__ = ["Formatter", "Product", "d_latex", "d_text", "flat_shapes", "main_products", "with_shapes"]


# ====================================================================== rules and notes in LaTeX
_PROSE_SHORT = {"a", "an", "it", "in", "on", "no", "be", "up", "at", "if"}  # prose beside prose
_PROSE_ALWAYS = {"is", "of", "so", "as", "to", "by", "we", "its", "off", "and", "the", "or", "for", "per", "all"}
_FUNCS_STD = {"tr": "\\operatorname{tr}", "det": "\\det", "log": "\\log", "exp": "\\exp", "tanh": "\\tanh",
              "sin": "\\sin", "cos": "\\cos", "diag": "\\operatorname{diag}", "vec": "\\operatorname{vec}",
              "relu": "\\operatorname{relu}", "softmax": "\\operatorname{softmax}", "sum": "\\operatorname{sum}",
              "logsumexp": "\\operatorname{logsumexp}", "sign": "\\operatorname{sign}", "sqrt": "\\sqrt",
              "softplus": "\\operatorname{softplus}", "unvec": "\\operatorname{vec}^{-1}", "CE": "\\operatorname{CE}"}
_CHARS = {"⊙": "\\odot ", "⊘": "\\oslash ", "⊗": "\\otimes ", "−": "-", "·": "\\cdot ", "⟨": "\\langle ",
          "⟩": "\\rangle ", "Σ": "\\sum", "𝟏": "\\mathbf{1}", "∂": "\\partial ", "→": "\\to ", "×": "\\times ",
          "∘": "\\circ ", "′": "'", "⇒": "\\Rightarrow ", "≠": "\\neq ", "√": "\\sqrt", "–": "-", "…": "\\dots ",
          "%": "\\%", "&": "\\&", "#": "\\#", "{": "\\{", "}": "\\}", "_": "\\_", "$": "\\$"}
_SUPER = {"ᵀ": "\\top", "⁻": "-", "¹": "1", "²": "2", "³": "3", "⁰": "0", "ᵏ": "k", "ⁱ": "i", "ⁿ": "n",
          "⁴": "4", "⁵": "5", "⁶": "6", "⁷": "7", "⁸": "8", "⁹": "9"}
_SUB = {"ᵢ": "i", "ⱼ": "j", "ₖ": "k", "ₗ": "l"}
_LETTERS = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u0370-\u03ff"
_NAME = f"[{_LETTERS}][{_LETTERS}0-9\u0300-\u036f₀-₉′]*"


def _tokens(text: str) -> list[tuple[str, str]]:
    import re

    out = []
    for m in re.finditer(rf"(\s+)|({_NAME})|([0-9]+)|(.)", text):
        space, name, num, other = m.groups()
        if space:
            out.append(("S", space))
        elif name:
            out.append(("N", name))
        elif num:
            out.append(("D", num))
        else:
            out.append(("O", other))
    return out


def _is_prose_word(tok: str, nxt: str) -> bool:
    if tok in _PROSE_ALWAYS:
        return True
    return (tok.isascii() and tok.isalpha() and tok.islower() and len(tok) >= 3 and tok not in _FUNCS_STD
            and nxt != "(") or tok in ("Jacobian", "Jacobians", "Frobenius", "Kronecker", "Magnus", "Neudecker",
                                       "Hessian", "CS224n", "Ng")


def rule_latex(text: str) -> str:
    """A rule or note written in Unicode (``gᵀ (a ⊙ dz) = (g ⊙ a)ᵀ dz``,
    ``we transpose because …``) as LaTeX: words in ``\\text{}``, the rest as
    math."""
    toks = _tokens(text)
    n = len(toks)
    kinds = []
    for i, (k, t) in enumerate(toks):
        nxt = toks[i + 1][1] if i + 1 < n else ""
        kinds.append("P" if k == "N" and _is_prose_word(t, nxt) else k)
    # short words, digits and punctuation between prose words are prose too
    changed = True
    while changed:
        changed = False
        for i, (k, t) in enumerate(toks):
            if kinds[i] == "P":
                continue
            left = _neighbour(kinds, i, -1)
            right = _neighbour(kinds, i, 1)
            short = kinds[i] == "N" and t in _PROSE_SHORT and (left == "P" or right == "P")
            glue = kinds[i] == "O" and t in ",;:.-'’" and left == "P"
            glue = glue or (kinds[i] == "O" and t == "(" and right == "P")
            glue = glue or (kinds[i] == "O" and t == ")" and left == "P")
            glue = glue or (kinds[i] == "D" and right == "P" and i + 1 < n and toks[i + 1][1] == "-")
            glue = glue or (kinds[i] == "O" and t == "-" and left == "P" and right == "P")
            if short or glue:
                kinds[i] = "P"
                changed = True
    out, i = [], 0
    while i < n:
        if kinds[i] == "P":
            j = i
            while j < n and (kinds[j] == "P" or (kinds[j] == "S" and j + 1 < n and kinds[j + 1] == "P")):
                j += 1
            words = "".join(t for _k, t in toks[i:j])
            out.append("\\text{ " + _text_escape(words) + " }")
            i = j
            continue
        i = _math(toks, kinds, i, out)
    body = "".join(out)
    return body.strip()


def _neighbour(kinds, i, step):
    j = i + step
    while 0 <= j < len(kinds) and kinds[j] == "S":
        j += step
    return kinds[j] if 0 <= j < len(kinds) else None


def _text_escape(text: str) -> str:
    for a, b in (("\\", "\\backslash "), ("{", "\\{"), ("}", "\\}"), ("_", "\\_"), ("%", "\\%"),
                 ("&", "\\&"), ("#", "\\#"), ("^", "\\^{}"), ("’", "'")):
        text = text.replace(a, b)
    return text


def _math(toks, kinds, i, out) -> int:
    from ..render.names import name_latex

    k, t = toks[i]
    if k == "S":
        prev = out[-1] if out else ""
        nxt = toks[i + 1] if i + 1 < len(toks) else ("", "")
        if prev and (prev[-1].isalnum() or prev[-1] in ")}'") and nxt[0] in ("N", "D"):
            out.append("\\,")
        else:
            out.append(" ")
        return i + 1
    if k == "N":
        prime = t.endswith("′")
        base = t.rstrip("′")
        if base in _FUNCS_STD:
            text = _FUNCS_STD[base]
        elif base == "Σ":
            text = "\\sum"
        elif base == "d":
            text = "\\mathrm{d}"
        elif base.startswith("d") and len(base) > 1 and base not in _FUNCS_STD and base[1:2] != "_":
            text = "\\mathrm{d}" + name_latex(base[1:])
        else:
            text = name_latex(base)
        out.append(text + ("'" if prime else ""))
        return i + 1
    if k == "D":
        out.append(t)
        return i + 1
    if t in _SUPER:
        j, sup = i, ""
        while j < len(toks) and toks[j][0] == "O" and toks[j][1] in _SUPER:
            sup += _SUPER[toks[j][1]] + ("" if toks[j][1] != "ᵀ" else " ")
            j += 1
        out.append("^{" + sup.strip() + "}")
        return j
    if t in _SUB:
        out.append("_{" + _SUB[t] + "}")
        return i + 1
    if t == "^":
        j = i + 1
        circ = j < len(toks) and toks[j][1] == "∘"
        if circ:
            j += 1
        if j < len(toks) and toks[j][1] == "(":
            depth, k2 = 0, j
            while k2 < len(toks):
                depth += toks[k2][1] == "("
                depth -= toks[k2][1] == ")"
                k2 += 1
                if depth == 0:
                    break
            inner: list = []
            m = j + 1
            while m < k2 - 1:
                m = _math(toks, kinds, m, inner)
            out.append("^{" + ("\\circ " if circ else "") + "".join(inner) + "}")
            return k2
        if j < len(toks):
            inner = []
            _math(toks, kinds, j, inner)
            out.append("^{" + ("\\circ " if circ else "") + "".join(inner) + "}")
            return j + 1
        out.append("\\hat{}")
        return j
    out.append(_CHARS.get(t, t))
    return i + 1
