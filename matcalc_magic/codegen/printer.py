"""The printer shared by every backend: one method per operator, brackets
from Python's own precedence.

A backend (numpy.py, torch.py, jax.py) is a subclass that names its module
and overrides what its library spells differently; everything else — the
algebra, reshapes, slices — is written the same in all three.  Every array
is 2-D, as in the engine: a column is (n, 1), a scalar (1, 1).
"""

from __future__ import annotations

import re

import sympy

from ..errors import MatcalcError
from ..graph import Expr, const_value, leaves
from ..ops.registry import MissingRule, rule
from ..shapes import ONE

# Python's precedence, low to high
ADD, MUL, UNARY, POW, ATOM = 10, 20, 30, 40, 100

#: elementwise parents that broadcast a size-1 axis by themselves
_BROADCASTING = frozenset({"add", "hadamard", "hdiv", "bmul"})


def number(value) -> str:
    """A size or constant as Python: 3, 1/m, n + 1 (sizes are variables of
    the generated code)."""
    value = sympy.sympify(value)
    if value.is_Integer:
        return str(int(value))
    if value.is_Float:
        return repr(float(value))
    if all(isinstance(a, (sympy.Add, sympy.Mul, sympy.Pow, sympy.Rational, sympy.Symbol))
           and not (isinstance(a, sympy.Pow) and a.exp in (sympy.S.Half, -sympy.S.Half))
           for a in sympy.preorder_traversal(value)):
        return str(value)  # arithmetic of sizes: SymPy writes it as Python does (1/(2*m), n**2)
    return sympy.pycode(value, fully_qualified_modules=True)


def _function_of_constant(e: Expr):
    """The value of an elementwise function of a constant (√k, log 2) as
    SymPy computes it, or None."""
    if not e.args or e.args[0].op != "const":
        return None
    try:
        row = rule(e.op).extra.get("elementwise")
    except MissingRule:  # the code's own operators (bmul, solve, …)
        return None
    if row is None or row.sympy_fn is None:
        return None
    return row.sympy_fn(sympy.sympify(const_value(e.args[0])))


def shape_tuple(dims) -> str:
    parts = [number(d) for d in dims]
    return f"({parts[0]},)" if len(parts) == 1 else f"({', '.join(parts)})"


class CodePrinter:
    """Prints the nodes of a program (numpy spelling; backends override)."""

    backend = "numpy"
    xp = "np"  # the array module, as imported
    linalg = "np.linalg"
    imports = ("import numpy as np",)
    #: helper functions the code may define, in order: name → source
    helper_code: dict = {}
    helper_needs: dict = {}  # helper → the helpers it calls

    def __init__(self, names: dict):
        self.names = names  # node → the name it was assigned to
        self.helpers: set[str] = set()  # helper functions the code needs
        self.sizes: set = set()  # size symbols the code mentions
        self.needs_math = False

    # ------------------------------------------------------------------ entry points
    def expr(self, e: Expr, level: int = 0) -> str:
        """``e`` in Python, bracketed if it binds looser than ``level``."""
        if e in self.names:
            return self.names[e]
        text, prec = self.emit(e)
        return f"({text})" if prec < level else text

    def array(self, e: Expr) -> str:
        """``e`` as a whole array, also where it is a constant (a line of its own)."""
        if e in self.names:
            return self.names[e]
        return self.definition(e)

    def definition(self, e: Expr) -> str:
        """What ``e`` is computed as, even when it has a name (its own line)."""
        if e.op == "const":
            return self.full((ONE, ONE), self.fill(const_value(e)))
        if e.op == "broadcast" and e.args[0].op == "const":
            return self.full(e.shape, self.fill(const_value(e.args[0])))
        if e.shape == (ONE, ONE) and all(leaf.op == "const" for leaf in leaves(e)):
            return self.full((ONE, ONE), f"float({self.emit(e)[0]})")  # (1/2) * 1 or √k: a number, not an array
        return self.emit(e)[0]

    def fill(self, value) -> str:
        """A constant to fill an array with, as a float (np.full keeps ints)."""
        value = sympy.sympify(value)
        return f"{int(value)}.0" if value.is_Integer else f"float({self.constant(value)})"

    def emit(self, e: Expr) -> tuple[str, int]:
        method = getattr(self, "_" + e.op, None)
        if method is not None:
            return method(e)
        value = _function_of_constant(e)
        if value is not None:  # √k of a size k: a Python number (torch.sqrt takes tensors only)
            text = self.constant(value)
            return (text if re.fullmatch(r"[\w.]+\([\w.]*\)", text) else f"({text})"), ATOM
        row = rule(e.op).extra.get("elementwise")
        if row is not None:
            return self.elementwise(e.op, row.numpy_name, self.expr(e.args[0])), ATOM
        raise MatcalcError(f"no {self.backend} code for the operator {e.op!r} yet")

    # ------------------------------------------------------------------ backend words
    def call(self, fn: str, *args: str) -> tuple[str, int]:
        return f"{fn}({', '.join(args)})", ATOM

    def elementwise(self, op: str, numpy_name: str, x: str) -> str:
        """NumPy's elementwise functions (np.exp, np.tanh…) have the same name
        in every backend's module."""
        if numpy_name.startswith("np."):
            return f"{self.xp}.{numpy_name.removeprefix('np.')}({x})"
        raise MatcalcError(f"no {self.backend} code for the function {op!r} yet")

    def size(self, d) -> str:
        self.sizes |= set(sympy.sympify(d).free_symbols)
        return number(d)

    def dims(self, shape) -> str:
        return "(" + ", ".join(self.size(d) for d in shape) + ")"

    def constant(self, value) -> str:
        value = sympy.sympify(value)
        self.sizes |= set(value.free_symbols)
        text = number(value)
        if "math." in text:
            self.needs_math = True
        return text

    def full(self, shape, value: str) -> str:
        return f"{self.xp}.full({self.dims(shape)}, {value})"

    def new_array(self, fn: str, shape) -> str:  # eye, ones, zeros
        if fn == "eye":
            return f"{self.xp}.eye({self.size(shape[0])})"
        return f"{self.xp}.{fn}({self.dims(shape)})"

    def total(self, x: str, axis) -> str:
        if axis is None:
            return f"{x}.sum(keepdims=True)"
        return f"{x}.sum(axis={axis}, keepdims=True)"

    def scalar(self, x: str) -> str:
        """A 0-d result as the (1, 1) array the program works with."""
        return f"{x}.reshape(1, 1)"

    def permute(self, x: str, axes) -> str:
        return f"{x}.transpose({', '.join(map(str, axes))})"

    def pad(self, x: str, axis: int, before: str, after: str) -> str:
        widths = f"(({before}, {after}), (0, 0))" if axis == 0 else f"((0, 0), ({before}, {after}))"
        return f"{self.xp}.pad({x}, {widths})"

    def concat(self, items: list[str], axis: int) -> str:
        return f"{self.xp}.concatenate([{', '.join(items)}], axis={axis})"

    def broadcast_to(self, x: str, shape) -> str:
        return f"{self.xp}.broadcast_to({x}, {self.dims(shape)})"

    def logdet(self, x: str) -> str:
        self.helpers.add("logdet")
        return f"logdet({x})"

    def sigmoid(self, x: str) -> str:
        self.helpers.add("sigmoid")
        return f"sigmoid({x})"

    def relu(self, x: str) -> str:
        return f"{self.xp}.maximum({x}, 0.0)"

    def step(self, x: str) -> str:  # relu′
        return f"({x} > 0).astype({x}.dtype)"

    def softplus(self, x: str) -> str:
        return f"{self.xp}.logaddexp(0.0, {x})"

    def softmax_family(self, fn: str, x: str, axis, shape) -> str:
        """softmax, log_softmax (same shape) and logsumexp (keeps the axis);
        ``shape`` is the result's."""
        self.helpers.add(fn)
        return f"{fn}({x}, axis={axis})"

    def convert(self, name: str) -> str:
        """A parameter as an array of the backend."""
        return f"{self.xp}.asarray({name}, dtype=float)"

    def to_numpy(self) -> str:
        """A function ``_numpy(a)``: a backend array as a float64 NumPy array."""
        return "def _numpy(a):\n    return np.asarray(a, dtype=float)"

    def header(self) -> list[str]:
        lines = list(self.imports)
        if self.needs_math:
            lines.insert(0, "import math")
        return lines

    def helper_source(self) -> list[str]:
        wanted = set(self.helpers)
        for h in self.helpers:
            wanted |= set(self.helper_needs.get(h, ()))
        return [code for h, code in self.helper_code.items() if h in wanted]

    def before_body(self, first_param: str | None) -> list[str]:
        """Lines the body needs before it starts (torch: the dtype and device)."""
        return []

    # ------------------------------------------------------------------ structure
    def operand(self, parent: Expr, a: Expr, level: int) -> str:
        """An operand of an elementwise parent: a broadcast is left to the
        backend's broadcasting when some other operand has the full shape."""
        if (a.op == "broadcast" and a not in self.names and parent.op in _BROADCASTING
                and any(b is not a and b.shape == parent.shape and b.op != "broadcast" for b in parent.args)):
            a = a.args[0]
        return self.expr(a, level)

    def _var(self, e):
        return self.names[e], ATOM

    _tangent = _var

    def _const(self, e):
        value = sympy.sympify(const_value(e))
        text = self.constant(value)
        if value.is_Integer or value.is_Symbol or value.is_Float:
            return text, (UNARY if text.startswith("-") else ATOM)
        return f"({text})", ATOM

    def _add(self, e):
        out = []
        for a in _positive_first(e.args):
            coef = negative_coefficient(a)
            if coef is not None and out:
                out.append(" - " + self._scaled(e, coef, a.args[1]))
            else:
                text = self.operand(e, a, ADD + 1 if out else ADD)
                out.append((" + " if out else "") + text)
        return "".join(out), ADD

    def _scaled(self, parent, coef, a) -> str:
        """|c| a for a term c a with c < 0."""
        if coef == 1:
            return self.operand(parent, a, ADD + 1)
        return f"{self.constant(coef)} * {self.expr(a, MUL + 1)}" if coef.is_Integer else \
            f"({self.constant(coef)}) * {self.expr(a, MUL + 1)}"

    def _smul(self, e):
        s, a = e.args
        if s.op == "const":
            c = sympy.sympify(const_value(s))
            if c == -1:
                return "-" + self.expr(a, POW), UNARY
            if c.is_Number and c < 0:
                return "-" + self._smul_text(-c, a), UNARY
            return self._smul_text(c, a), MUL
        return f"{self.expr(s, MUL)} * {self.expr(a, MUL + 1)}", MUL

    def _smul_text(self, c, a) -> str:
        text = self.constant(c)
        if not (c.is_Integer or c.is_Symbol or c.is_Float):
            text = f"({text})"
        return f"{text} * {self.expr(a, MUL + 1)}"

    def _matmul(self, e):
        parts = [self.expr(e.args[0], _first(e, e.args[0]))] + [self.expr(a, MUL + 1) for a in e.args[1:]]
        return " @ ".join(parts), MUL

    def _hadamard(self, e):
        parts = [self.operand(e, e.args[0], _first(e, e.args[0]))] + [self.operand(e, a, MUL + 1)
                                                                      for a in e.args[1:]]
        return " * ".join(parts), MUL

    _bmul = _hadamard

    def _hdiv(self, e):
        a, b = e.args
        return f"{self.operand(e, a, _first(e, a))} / {self.operand(e, b, MUL + 1)}", MUL

    def _transpose(self, e):
        a = e.args[0]
        if a.op == "vec" and a not in self.names:  # vec(X)ᵀ: the columns in one row
            return f"{self.expr(a.args[0], ATOM)}.T.reshape(1, -1)", ATOM
        return self.expr(a, ATOM) + ".T", ATOM

    def _epow(self, e):
        a, p = e.args
        exponent = self.constant(const_value(p)) if p.op == "const" else self.expr(p, ATOM)
        if p.op == "const" and not sympy.sympify(const_value(p)).is_Integer:
            exponent = f"({exponent})"
        return f"{self.expr(a, ATOM)} ** {exponent}", POW

    def _broadcast(self, e):
        (a,) = e.args
        if a.op == "const":
            return self.full(e.shape, self.fill(const_value(a))), ATOM
        return self.broadcast_to(self.expr(a), e.shape), ATOM

    def _sum(self, e):
        return self.total(self.expr(e.args[0], ATOM), e.params[0]), ATOM

    def _trace(self, e):
        return self.scalar(f"{self.xp}.trace({self.expr(e.args[0])})"), ATOM

    def _det(self, e):
        return self.scalar(f"{self.linalg}.det({self.expr(e.args[0])})"), ATOM

    def _logdet(self, e):
        return self.logdet(self.expr(e.args[0])), ATOM

    def _inv(self, e):
        return self.call(f"{self.linalg}.inv", self.expr(e.args[0]))

    def _solve(self, e):
        return self.call(f"{self.linalg}.solve", self.expr(e.args[0]), self.expr(e.args[1]))

    def _matpow(self, e):
        return self.call(f"{self.linalg}.matrix_power", self.expr(e.args[0]), str(e.params[0]))

    def _kron(self, e):
        return self.call(f"{self.xp}.kron", self.expr(e.args[0]), self.expr(e.args[1]))

    def _diag(self, e):
        return self.call(f"{self.xp}.diag", self.expr(e.args[0], ATOM) + ".ravel()")

    def _diagvec(self, e):
        return f"{self.xp}.diag({self.expr(e.args[0])}).reshape(-1, 1)", ATOM

    def _vec(self, e):  # column-major: the columns stacked
        return f"{self.expr(e.args[0], ATOM)}.T.reshape(-1, 1)", ATOM

    def _unvec(self, e):
        r, c = e.shape
        return f"{self.expr(e.args[0], ATOM)}.reshape({self.size(c)}, {self.size(r)}).T", ATOM

    def _rows(self, e):
        start, stop = e.params
        return f"{self.expr(e.args[0], ATOM)}[{self.size(start)}:{self.size(stop)}, :]", ATOM

    def _cols(self, e):
        start, stop = e.params
        return f"{self.expr(e.args[0], ATOM)}[:, {self.size(start)}:{self.size(stop)}]", ATOM

    def _pad(self, e, axis: int):
        before, total = e.params
        after = sympy.expand(total - before - e.args[0].shape[axis])
        return self.pad(self.array(e.args[0]), axis, self.size(before), self.size(after)), ATOM

    def _pad_rows(self, e):
        return self._pad(e, 0)

    def _pad_cols(self, e):
        return self._pad(e, 1)

    def _concat(self, e):
        return self.concat([self.array(a) for a in e.args], e.params[0]), ATOM

    def _eye(self, e):
        return self.new_array("eye", e.shape), ATOM

    def _ones(self, e):
        return self.new_array("ones", e.shape), ATOM

    def _zeros(self, e):
        return self.new_array("zeros", e.shape), ATOM

    def _sigmoid(self, e):
        return self.sigmoid(self.expr(e.args[0])), ATOM

    def _relu(self, e):
        return self.relu(self.expr(e.args[0])), ATOM

    def _drelu(self, e):
        return self.step(self.expr(e.args[0], ATOM)), ATOM

    def _softplus(self, e):
        return self.softplus(self.expr(e.args[0])), ATOM

    def _softmax(self, e):
        return self.softmax_family("softmax", self.expr(e.args[0]), e.params[0], e.shape), ATOM

    def _logsoftmax(self, e):
        return self.softmax_family("log_softmax", self.expr(e.args[0]), e.params[0], e.shape), ATOM

    def _logsumexp(self, e):
        return self.softmax_family("logsumexp", self.expr(e.args[0]), e.params[0], e.shape), ATOM

    def _perm_rows(self, e):
        """K_{m,n} M: M's rows are vec(A) for A m×n; they become vec(Aᵀ)."""
        m, n = e.params
        x = self.expr(e.args[0], ATOM)
        return (f"{x}.reshape({self.size(n)}, {self.size(m)}, -1).swapaxes(0, 1)"
                f".reshape({self.size(sympy.expand(m * n))}, -1)"), ATOM

    def _perm_cols(self, e):
        """M K_{m,n}: the columns of M reordered likewise."""
        m, n = e.params
        x = self.expr(e.args[0], ATOM)
        return (f"{x}.reshape(-1, {self.size(m)}, {self.size(n)}).swapaxes(1, 2)"
                f".reshape(-1, {self.size(sympy.expand(m * n))})"), ATOM

    def _kron_mm(self, e):
        """(A ⊗ B) M for A p×q, B r×s: B times each s-row block of M, then A
        combines the q blocks — (A ⊗ B) is never formed."""
        a, b, m = e.args
        (p, q), (r, s) = a.shape, b.shape
        blocks = f"({self.expr(b, MUL)} @ {self.expr(m, ATOM)}.reshape({self.size(q)}, {self.size(s)}, -1))"
        combined = f"({self.expr(a, MUL)} @ {blocks}.reshape({self.size(q)}, -1))"
        return f"{combined}.reshape({self.size(sympy.expand(p * r))}, -1)", ATOM


_ELEMENTWISE_PRODUCTS = frozenset({"hadamard", "bmul", "hdiv"})


def _first(parent: Expr, a: Expr) -> int:
    """The level of a product's first operand: @ and * bind alike in Python,
    but a matrix product inside an elementwise one (or the reverse) reads
    better bracketed."""
    mixed = (parent.op == "matmul") != (a.op == "matmul") and a.op in _ELEMENTWISE_PRODUCTS | {"matmul"}
    return MUL + 1 if mixed else MUL


def _positive_first(terms) -> list:
    """The terms with a positive one first: ŷ - y rather than -y + ŷ."""
    first = next((t for t in terms if negative_coefficient(t) is None), None)
    return list(terms) if first is None else [first] + [t for t in terms if t is not first]


def negative_coefficient(e: Expr):
    """|c| for a term c a with a negative number c, else None."""
    if e.op == "smul" and e.args[0].op == "const":
        c = sympy.sympify(const_value(e.args[0]))
        if c.is_Number and c < 0:
            return -c
    return None
