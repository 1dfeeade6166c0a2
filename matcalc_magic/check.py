"""From syntax tree to typed graph: names, sizes, shapes and properties.

This is where notation gets its meaning: ``W x`` is a matrix product or a
scalar multiple depending on the shapes, ``*`` broadcasts as in NumPy,
``σ(z)`` is the sigmoid unless ``σ`` was declared, ``log det(X)`` applies
``log`` to ``det(X)``.  Every mistake becomes one :class:`MatcalcError`
pointing at the span of the cell that is wrong, with the shapes involved.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from fractions import Fraction

import sympy

from . import graph as G
from .errors import TOO_DEEP, MatcalcError, Span
from .graph import Expr
from .ops import build as B
from .ops.registry import MissingRule
from .shapes import ONE, ShapeError, dim_symbol, same, shape_str
from .syntax import tree as T

PROPERTIES = {
    "symmetric": "square",
    "spd": "square",
    "psd": "square",
    "invertible": "square",
    "positive": None,
    "onehot": "vector",
    "probability": "vector",
}
LEFT_ASSOCIATIVE = {"+", "-", "*", "/", "⊙", "⊘", "@", "⊗"}
PROPERTY_ALIASES = {"posdef": "spd", "pd": "spd", "one-hot": "onehot", "one_hot": "onehot", "sym": "symmetric"}

_PREFIXES = ("numpy.linalg.", "np.linalg.", "numpy.", "np.", "scipy.special.", "math.", "torch.", "jnp.", "F.")


@dataclass
class Request:
    """One derivative asked for: ∂(of)/∂(wrt), to first or second order."""

    text: str
    span: Span
    of: Expr
    of_text: str
    wrt: Expr
    wrt_name: str
    order: int = 1

    @property
    def key(self) -> str:
        if self.order == 2:
            return f"∂²{self.of_text}/∂{self.wrt_name}²"
        return f"∂{self.of_text}/∂{self.wrt_name}"


@dataclass
class ClaimSpec:
    request: Request
    value: Expr
    value_text: str
    span: Span
    # what was written, to typeset it as written: the syntax of both sides, and
    # which operands of its products and quotients are scalars
    written: T.Claim | None = None
    scalars: frozenset = frozenset()


@dataclass
class CheckedCell:
    """A cell with meaning: every name bound to a node of known shape."""

    source: str
    variables: dict[str, Expr] = field(default_factory=dict)
    definitions: dict[str, Expr] = field(default_factory=dict)
    definition_text: dict[str, str] = field(default_factory=dict)
    labels: dict[Expr, str] = field(default_factory=dict)
    dims: dict[str, sympy.Symbol] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    claims: list[ClaimSpec] = field(default_factory=list)

    def properties(self, name: str) -> frozenset:
        return G.var_props(self.variables[name])


def _nameable(value: Expr) -> bool:
    """Whether a definition's node prints as its name: not a variable, zero
    or a computed number; a number as written (ρ = 0.05) is the user's."""
    if value.op == "const":
        return G.written_text(value) is not None
    return value.op not in ("var", "zeros")


def check(program: T.Program) -> CheckedCell:
    return Checker(program.source).run(program)


class Checker:
    def __init__(self, source: str):
        self.src = source
        self.cell = CheckedCell(source)
        self.definition_syntax: dict[str, T.Node] = {}

    # ================================================================ helpers
    def text(self, node) -> str:
        return self.src[node.span.start:node.span.end].strip()

    def fail(self, message: str, node_or_span, shapes: dict | None = None, hint: str | None = None):
        span = node_or_span if isinstance(node_or_span, Span) else node_or_span.span
        raise MatcalcError(message, span, self.src, shapes, hint)

    def shapes_of(self, *pairs) -> dict[str, str]:
        return {self.text(n): shape_str(e.shape) for n, e in pairs}

    def known_names(self) -> list[str]:
        return list(self.cell.variables) + list(self.cell.definitions) + list(self.cell.dims)

    def suggest(self, name: str, pool) -> str | None:
        pool = list(pool)
        close = [p for p in pool if p.lower() == name.lower() and p != name]  # X for x
        close += [p for p in difflib.get_close_matches(name, pool, n=3, cutoff=0.5) if p not in close]
        return f"did you mean {', '.join(close[:3])}?" if close else None

    # ================================================================ program
    def run(self, program: T.Program) -> CheckedCell:
        for stmt in program.statements:  # declarations may come in any order
            if isinstance(stmt, T.Decl):
                self.declare(stmt)
        for stmt in program.statements:
            try:
                self.statement(stmt)
            except RecursionError:
                self.fail(TOO_DEEP, stmt)
        return self.cell

    def statement(self, stmt) -> None:
        if isinstance(stmt, T.Define):
            self.define(stmt)
        elif isinstance(stmt, T.Requests):
            for item in stmt.items:
                self.cell.requests.append(self.request(item))
        elif isinstance(stmt, T.Claim):
            self.claim(stmt)

    # ================================================================ declarations
    def dim(self, d) -> sympy.Expr:
        if isinstance(d, T.DimNum):
            if d.value < 1:
                self.fail(f"a size must be at least 1, not {d.value}", d)
            return sympy.Integer(d.value)
        if isinstance(d, T.DimName):
            if d.name in self.cell.variables:
                self.fail(f"{d.name} is a variable, not a size", d)
            sym = dim_symbol(d.name)
            self.cell.dims.setdefault(d.name, sym)
            return sym
        left, right = self.dim(d.left), self.dim(d.right)
        size = sympy.expand({"+": left + right, "-": left - right, "*": left * right}[d.op])
        if size.is_number and size < 1:  # n − n, 2 − 3
            self.fail(f"a size must be at least 1, but {self.text(d)} is {size}", d)
        return size

    def declare(self, decl: T.Decl) -> None:
        if len(decl.dims) == 0:
            shape = (ONE, ONE)
        elif len(decl.dims) == 1:
            shape = (self.dim(decl.dims[0]), ONE)
        elif len(decl.dims) == 2:
            shape = (self.dim(decl.dims[0]), self.dim(decl.dims[1]))
        else:
            self.fail("a variable has at most two sizes (rows x columns)", decl)
        props = []
        for p in decl.props:
            word = PROPERTY_ALIASES.get(p.id.lower(), p.id.lower())
            if word not in PROPERTIES:
                self.fail(f"unknown property {p.id!r}", p, hint=self.suggest(word, PROPERTIES) or
                          "known properties: " + ", ".join(PROPERTIES))
            need = PROPERTIES[word]
            if need == "square" and not same(shape[0], shape[1]):
                self.fail(f"{word} needs a square matrix, but the shape is {shape_str(shape)}", p)
            if need == "vector" and not (shape[0] == ONE or shape[1] == ONE) and word == "probability":
                pass  # a matrix of probability columns is allowed
            props.append(word)
        if "spd" in props:
            props += ["symmetric", "invertible", "positive_definite"]
        for n in decl.names:
            if n.id in self.cell.variables:
                self.fail(f"{n.id} is declared twice", n)
            if n.id in self.cell.dims:
                self.fail(f"{n.id} is already used as a size", n)
            self.cell.variables[n.id] = G.var(n.id, shape, props)

    # ================================================================ definitions
    def define(self, stmt: T.Define) -> None:
        name = stmt.target.id
        if name in self.cell.variables:
            self.fail(f"{name} is a declared variable; it cannot also be defined", stmt.target)
        if name in self.cell.definitions:
            self.fail(f"{name} is defined twice", stmt.target)
        if name in self.cell.dims:
            self.fail(f"{name} is a size; it cannot also be defined", stmt.target)
        value = self.expr(stmt.value)
        self.cell.definitions[name] = value
        self.cell.definition_text[name] = self.text(stmt.value)
        self.definition_syntax[name] = stmt.value
        if _nameable(value) and value not in self.cell.labels:
            self.cell.labels[value] = name

    # ================================================================ requests
    def request(self, item) -> Request:
        if isinstance(item, T.Hessian):
            order, of_node, wrt_node = 2, item.of, item.wrt
        else:
            order, of_node, wrt_node = item.order, item.of, item.wrt
        wrt_name = wrt_node.id
        if wrt_name in self.cell.variables:
            of = self.expr(of_node)
            wrt = self.cell.variables[wrt_name]
        elif wrt_name in self.cell.definitions:
            node = self.cell.definitions[wrt_name]
            if node.op in G.LEAVES:
                self.fail(f"{wrt_name} is defined as {self.cell.definition_text[wrt_name]}; "
                          f"differentiate by that instead", wrt_node)
            wrt = G.var(wrt_name, node.shape)
            of = self.as_function_of(wrt_name, wrt, of_node)
        else:
            self.fail(f"cannot differentiate by {wrt_name}: it is not a declared or defined name", wrt_node,
                      hint=self.suggest(wrt_name, list(self.cell.variables) + list(self.cell.definitions)))
        if order == 2 and not of.is_scalar:
            self.fail(f"a Hessian needs a scalar function, but {self.text(of_node)} is {shape_str(of.shape)}",
                      of_node)
        of_text = self.text(of_node)
        if of_text.startswith("(") and of_text.endswith(")") and isinstance(of_node, T.Name) is False:
            inner = of_text[1:-1]
            if inner.count("(") == inner.count(")"):
                of_text = inner
        return Request(self.text(item), item.span, of, of_text, wrt, wrt_name, order)

    def as_function_of(self, name: str, variable: Expr, of_node) -> Expr:
        """``of`` with the defined ``name`` made a variable: the definitions
        after it are read again from the cell's text with ``name`` standing for
        itself (∂J/∂z holds everything upstream of z fixed).  Rebuilding from
        the text, rather than searching the graph for z's node, also works
        where simplification merged z into its neighbours (uᵀ (W x))."""
        saved = self.cell.definitions
        replayed: dict[str, Expr] = {}
        after = False
        try:
            self.cell.definitions = replayed
            for defined, node in saved.items():
                if defined == name:
                    after = True
                    replayed[defined] = variable
                elif after:
                    value = self.expr(self.definition_syntax[defined])
                    replayed[defined] = value
                    if _nameable(value) and value not in self.cell.labels:
                        self.cell.labels[value] = defined
                else:
                    replayed[defined] = node
            return self.expr(of_node)
        finally:
            self.cell.definitions = saved

    def claim(self, stmt: T.Claim) -> None:
        req = self.request(stmt.target)
        value = self.expr(stmt.value)
        self.cell.claims.append(ClaimSpec(req, value, self.text(stmt.value), stmt.span, stmt,
                                          self.scalar_operands(stmt.value)))

    def scalar_operands(self, root) -> frozenset:
        """The operands of ``*``, ``/`` and ``**`` under ``root`` that are
        scalars (``2 * x`` is a multiple, ``a * b`` a Hadamard product)."""
        out = set()
        for node in T.walk(root):
            if isinstance(node, T.BinOp) and node.op in ("*", "/", "**"):
                out.update(side for side in (node.left, node.right) if self.expr(side).is_scalar)
        return frozenset(out)

    # ================================================================ expressions
    def expr(self, node) -> Expr:
        method = getattr(self, "x_" + type(node).__name__, None)
        if method is None:
            self.fail(f"{type(node).__name__.lower()} is not allowed here", node)
        try:
            return method(node)
        except ShapeError as e:  # a rule deeper down: report at this node
            self.fail(e.message, node)
        except MissingRule as e:
            self.fail(str(e), node)

    def x_Name(self, node: T.Name) -> Expr:
        name = node.id
        cell = self.cell
        if name in cell.definitions:
            return cell.definitions[name]
        if name in cell.variables:
            return cell.variables[name]
        if name in cell.dims:
            return G.const(cell.dims[name])
        if name in ("pi", "π"):
            return G.const(sympy.pi)
        m = re.fullmatch(r"I_(\w+)", name)  # I_n: the identity of a declared size
        if m and (m.group(1) in cell.dims or m.group(1).isdigit()):
            size = cell.dims.get(m.group(1)) or sympy.Integer(int(m.group(1)))
            return G.eye(size)
        if name == "I":
            self.fail("the identity needs its size: write I_n (n a declared size) or eye(n)", node)
        if self.function_spec(name) is not None:
            self.fail(f"{name} is a function; call it as {name}(…)", node)
        self.fail(f"unknown name {name!r}", node, hint=self.suggest(name, self.known_names()))

    def x_Number(self, node: T.Number) -> Expr:
        v = node.value
        if isinstance(v, Fraction):
            value = sympy.Rational(v.numerator, v.denominator)
            return G.written_const(value, self.text(node)) if not value.is_Integer else G.const(value)
        if isinstance(v, float):
            return G.const(sympy.nsimplify(v, rational=True))
        return G.const(v)

    def x_Neg(self, node: T.Neg) -> Expr:
        return B.neg(self.expr(node.operand))

    def x_Transpose(self, node: T.Transpose) -> Expr:
        return B.transpose(self.expr(node.operand))

    def x_Inverse(self, node: T.Inverse) -> Expr:
        a = self.expr(node.operand)
        if not same(a.shape[0], a.shape[1]):
            self.fail(f"only a square matrix has an inverse; {self.text(node.operand)} is {shape_str(a.shape)}",
                      node, self.shapes_of((node.operand, a)))
        out = B.inv(a)
        return B.transpose(out) if node.transpose else out

    def x_Abs(self, node: T.Abs) -> Expr:
        return B.elementwise("abs", self.expr(node.operand))

    def x_Norm(self, node: T.Norm) -> Expr:
        x = self.expr(node.operand)
        kind = (node.kind or "").lower()
        if kind not in ("", "2", "f", "fro"):
            self.fail(f"unsupported norm ‖·‖_{node.kind}: use ‖x‖ (2-norm of a vector) or ‖X‖_F", node)
        if kind == "2" and not (x.shape[0] == ONE or x.shape[1] == ONE):
            self.fail("the spectral norm ‖X‖₂ of a matrix is not supported; use the Frobenius norm ‖X‖_F", node)
        squared = B.inner(x, x)
        if node.power is None:
            return B.elementwise("sqrt", squared)
        p = self.expr(node.power)
        if G.is_const(p, 2):
            return squared
        return B.epow(B.elementwise("sqrt", squared), p)

    def x_Deriv(self, node) -> Expr:
        self.fail("a derivative can only be requested on its own line (or after 'claim')", node)

    x_Hessian = x_Deriv

    def x_ListLit(self, node) -> Expr:
        self.fail("a list is only allowed as an argument (as in np.hstack([a, b]))", node)

    def x_TupleLit(self, node) -> Expr:
        if len(node.items) == 1:
            return self.expr(node.items[0])
        self.fail("a tuple is only allowed as a size argument (as in np.ones((m, 1)))", node)

    def x_Slice(self, node) -> Expr:
        self.fail("a slice is only allowed inside [ ]", node)

    # ---------------------------------------------------------------- binary
    def x_BinOp(self, node: T.BinOp) -> Expr:
        # a + b + c … parses left-deep: fold the left spine in a loop, so a long
        # sum or product costs no recursion depth
        spine = []
        while isinstance(node, T.BinOp) and node.op in LEFT_ASSOCIATIVE:
            spine.append(node)
            node = node.left
        if not spine:  # a power: right-deep, and short in practice
            return self.binop(node, self.expr(node.left), self.expr(node.right))
        acc = self.expr(node)
        for step in reversed(spine):
            b = self.expr(step.right)
            try:
                acc = self.binop(step, acc, b)
            except ShapeError as e:
                self.fail(e.message, step)
        return acc

    def binop(self, node: T.BinOp, a: Expr, b: Expr) -> Expr:
        op = node.op
        if op == "+":
            return self.elementwise2(node, a, b, "add", lambda x, y: B.add(x, y))
        if op == "-":
            return self.elementwise2(node, a, b, "subtract", lambda x, y: B.sub(x, y))
        if op in ("*", "⊙"):
            if a.is_scalar or b.is_scalar:
                return B.smul(a, b) if a.is_scalar else B.smul(b, a)
            return self.elementwise2(node, a, b, "multiply elementwise", B.hadamard,
                                     hint="for a matrix product use @ or write the factors side by side")
        if op in ("/", "⊘"):
            if b.is_scalar:
                return B.smul(B.epow(b, -1), a)
            return self.elementwise2(node, a, b, "divide elementwise", B.hdiv)
        if op == "@":
            if a.is_scalar and not b.shape[0] == ONE or b.is_scalar and not a.shape[1] == ONE:
                self.matmul_error(node, a, b, hint="@ does not take a scalar; use * or juxtaposition")
            return self.matmul(node, a, b)
        if op == "⊗":
            return B.kron(a, b)
        if op == "**":
            return self.power(node, a, b, elementwise=True)
        if op == "^":
            return self.power(node, a, b, elementwise=False)
        self.fail(f"unknown operator {op}", node)

    def x_Juxt(self, node: T.Juxt) -> Expr:
        left = node.left
        if isinstance(left, T.Name) and self.is_function_name(left.id):
            return self.apply_function(node, left.id, (node.right,), (), left.span)
        a = self.expr(left)
        b = self.expr(node.right)
        if a.is_scalar or b.is_scalar:
            return B.smul(a, b) if a.is_scalar else B.smul(b, a)
        return self.matmul(node, a, b)

    def matmul(self, node, a: Expr, b: Expr) -> Expr:
        if not same(a.shape[1], b.shape[0]):
            self.matmul_error(node, a, b)
        return B.matmul(a, b)

    def matmul_error(self, node, a: Expr, b: Expr, hint: str | None = None):
        lt, rt = self.text(node.left), self.text(node.right)
        lp = lt if _is_simple(lt) else f"({lt})"
        rp = rt if _is_simple(rt) else f"({rt})"
        reason = f"inner sizes {a.shape[1]} and {b.shape[0]} differ"
        if hint is None and same(a.shape[0], b.shape[0]) and not (a.shape[1] == ONE and b.shape[1] == ONE):
            hint = f"did you mean {lp}ᵀ {rt}?"
        elif hint is None and same(a.shape[1], b.shape[1]):
            hint = f"did you mean {lt} {rp}ᵀ?"
        self.fail(
            f"{self.text(node)}: {lt} is {shape_str(a.shape)}, {rt} is {shape_str(b.shape)}: {reason}",
            node, self.shapes_of((node.left, a), (node.right, b)), hint,
        )

    def broadcast_shape(self, node, a: Expr, b: Expr, verb: str, hint=None):
        out = []
        for k in (0, 1):
            x, y = a.shape[k], b.shape[k]
            if same(x, y) or y == ONE:
                out.append(x)
            elif x == ONE:
                out.append(y)
            else:
                lt, rt = self.text(node.left), self.text(node.right)
                self.fail(
                    f"cannot {verb} {lt} ({shape_str(a.shape)}) and {rt} ({shape_str(b.shape)}): "
                    f"the {'rows' if k == 0 else 'columns'} differ ({x} vs {y})",
                    node, self.shapes_of((node.left, a), (node.right, b)), hint,
                )
        return tuple(out)

    def elementwise2(self, node, a, b, verb, combine, hint=None) -> Expr:
        shape = self.broadcast_shape(node, a, b, verb, hint)
        return combine(B.broadcast(a, shape), B.broadcast(b, shape))

    def power(self, node, a: Expr, p: Expr, elementwise: bool) -> Expr:
        if not p.is_scalar:
            self.fail(f"the exponent must be a scalar, not {shape_str(p.shape)}", node.right)
        if elementwise or a.is_scalar:
            return B.epow(a, p)
        if not same(a.shape[0], a.shape[1]):
            self.fail(
                f"{self.text(node)}: a matrix power needs a square matrix, {self.text(node.left)} is "
                f"{shape_str(a.shape)}", node, self.shapes_of((node.left, a)),
                hint="for an elementwise power use **",
            )
        if not (G.is_const(p) and G.const_value(p).is_Integer):
            self.fail("a matrix power needs an integer exponent", node.right)
        return B.matpow(a, int(G.const_value(p)))

    # ---------------------------------------------------------------- indexing
    def x_Index(self, node: T.Index) -> Expr:
        a = self.expr(node.operand)
        subs = list(node.subscripts)
        if len(subs) == 1 and a.shape[0] == ONE and a.shape[1] != ONE:
            subs = [None, subs[0]]  # a row vector is indexed along its columns
        if len(subs) > 2:
            self.fail("at most two subscripts", node)
        for axis, sub in enumerate(subs):
            if sub is None:
                continue
            start, stop = self.slice_bounds(sub, a.shape[axis])
            a = B.rows(a, start, stop) if axis == 0 else B.cols(a, start, stop)
        return a

    def slice_bounds(self, sub, size):
        def bound(n, default):
            if n is None:
                return default
            value = self.size_value(n)
            return sympy.expand(size + value) if value.is_Number and value < 0 else value

        if isinstance(sub, T.Slice):
            start, stop = bound(sub.start, sympy.Integer(0)), bound(sub.stop, size)
        else:
            start = bound(sub, None)
            stop = sympy.expand(start + 1)
        if sympy.expand(stop - start).is_number and sympy.expand(stop - start) <= 0:
            self.fail("this slice is empty", sub)
        return start, stop

    def size_value(self, node) -> sympy.Expr:
        """A size or index written in the cell: an integer or size expression."""
        e = self.expr(node)
        if not G.is_const(e):
            self.fail("expected a size or index (a number or a size name like n)", node)
        v = sympy.expand(G.const_value(e))
        if not (v.is_Integer or all(s in self.cell.dims.values() for s in v.free_symbols)):
            self.fail("expected an integer size or index", node)
        return v

    # ---------------------------------------------------------------- calls
    def x_Call(self, node: T.Call) -> Expr:
        name = node.func
        if name in self.cell.variables or name in self.cell.definitions:
            # W(x + b): a product; x'(y) a transposed product.
            if len(node.args) != 1 or node.kwargs:
                self.fail(f"{name} is a variable, not a function", node.func_span or node)
            a = self.expr(T.Name(node.func_span or node.span, name))
            if node.primes % 2:
                a = B.transpose(a)
            b = self.expr(node.args[0])
            fake = T.Juxt(node.span, T.Name(node.func_span or node.span, name), node.args[0])
            if a.is_scalar or b.is_scalar:
                return B.smul(a, b) if a.is_scalar else B.smul(b, a)
            return self.matmul(fake, a, b)
        return self.apply_function(node, name, node.args, node.kwargs, node.func_span or node.span,
                                   node.primes)

    def is_function_name(self, name: str) -> bool:
        cell = self.cell
        return (name not in cell.variables and name not in cell.definitions and name not in cell.dims
                and self.function_spec(name) is not None)

    @staticmethod
    def function_spec(name: str):
        from .functions import lookup

        return lookup(name)

    def apply_function(self, node, name, args, kwargs, name_span, primes: int = 0) -> Expr:
        spec = self.function_spec(name)
        if spec is None:
            from .functions import all_names

            self.fail(f"unknown function {name!r}", name_span, hint=self.suggest(_base_name(name), all_names()))
        return spec(self, node, tuple(args), dict(kwargs), primes)


def _base_name(name: str) -> str:
    for p in _PREFIXES:
        if name.startswith(p):
            return name[len(p):]
    return name


def _is_simple(text: str) -> bool:
    """A name or call that needs no brackets before a transpose mark."""
    import re

    return re.fullmatch(r"[\w.]+(\(.*\))?", text) is not None and text.count("(") <= 1
