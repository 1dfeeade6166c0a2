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
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction

import sympy

from . import graph as G
from .deadline import working_on
from .errors import TOO_DEEP, MatcalcError, Span
from .graph import Expr
from .limits import MAX_HESSIAN_MATRIX_POWER, literal_problem
from .ops import build as B
from .ops.properties import ONEHOT_ROWS, SYMMETRIC_PROPS  # Y : N x C, onehot rows (plain onehot: per column)
from .ops.registry import MissingRule, apply
from .shapes import ONE, ShapeError, dim_symbol, same, shape_str
from .syntax import tree as T
from .syntax.parse import PLAIN_DIGITS, SUBSCRIPT_DIGITS

PROPERTIES = {
    "symmetric": "square",
    "spd": "square",
    "psd": "square",
    "invertible": "square",
    "positive": None,
    "onehot": "vector",
    "probability": "vector",
}
#: numbers by name; e only with a module prefix (np.e, math.e): a bare e is a name
CONSTANTS = {"pi": sympy.pi, "π": sympy.pi, "e": sympy.E}
AXIS_WORDS = {"rows": 1, "columns": 0, "cols": 0, "axis=1": 1, "axis=-1": 1, "axis=0": 0, "axis=-2": 0}
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
    direction: Expr | None = None  # v of hvp(J, w, v): ∇²J · v
    direction_name: str = ""
    of_node: T.Node | None = None  # what was written: the numeric check evaluates it

    @property
    def result_order(self) -> int:
        """The order whose derivative the result holds in full: an hvp holds
        as many numbers as a gradient."""
        return 1 if self.direction is not None else self.order

    @property
    def key(self) -> str:
        if self.direction is not None:
            return f"hvp({self.of_text}, {self.wrt_name}, {self.direction_name})"
        if self.order == 2:
            return f"∂²{self.of_text}/∂{self.wrt_name}²"
        return f"∂{self.of_text}/∂{self.wrt_name}"


@dataclass
class ClaimSpec:
    request: Request
    value: Expr
    value_text: str
    span: Span
    # what was written, to typeset it as written and for the numeric check's
    # witness to evaluate: the syntax of both sides, and which operands of its
    # products and quotients are scalars
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
    program: T.Program | None = None  # the syntax tree, for the numeric check's witness
    node_shapes: dict = field(default_factory=dict)  # id(syntax node) → its shape (sizes a bare I or 𝟏)

    def properties(self, name: str) -> frozenset:
        return G.var_props(self.variables[name])


def _nameable(value: Expr) -> bool:
    """Whether a definition's node prints as its name: not a variable, zero
    or a computed number; a number as written (ρ = 0.05) is the user's."""
    if value.op == "const":
        return G.written_text(value) is not None
    return value.op not in ("var", "zeros")


def check(program: T.Program) -> CheckedCell:
    cell = Checker(program.source).run(program)
    cell.program = program
    return cell


NO_IDENTITY_SIZE = "the identity needs its size: write I_n (n a declared size) or eye(n)"
NO_ONES_SIZE = "the length of 𝟏 does not follow from its neighbours: write 𝟏_n or ones(n)"


class OpenSizes:
    """Sizes a cell leaves open, as a bare ``I`` or ``𝟏`` does, until a
    neighbour fixes them: ``I − K H`` makes I as large as K H, ``(A − Y) 𝟏``
    makes 𝟏 as long as A − Y is wide.  Each open size is a fresh symbol; where
    two sizes must agree and one is open, the open one is solved for and every
    leaf carrying it is rebuilt with the solution."""

    def __init__(self):
        self.written: dict[sympy.Symbol, T.Node] = {}  # open size -> the I or 𝟏 it belongs to
        self.default: dict[sympy.Symbol, int] = {}  # what an open size is if nothing fixes it
        self.solved: dict[sympy.Symbol, sympy.Expr] = {}  # kept free of solved symbols

    def new(self, node: T.Node, default: int | None = None) -> sympy.Symbol:
        # "?1" is no name a cell can declare; it reads so in a message: ?1×n
        size = sympy.Symbol(f"?{len(self.written) + 1}", positive=True, integer=True)
        self.written[size] = node
        if default is not None:
            self.default[size] = default
        return size

    def value(self, d: sympy.Expr) -> sympy.Expr:
        return d.xreplace(self.solved) if self.solved else d

    def unify(self, x: sympy.Expr, y: sympy.Expr) -> bool:
        """Whether sizes x and y agree, solving an open size in them if need be."""
        if same(x, y):
            return True
        if not self.written:
            return False
        diff = sympy.expand(self.value(x) - self.value(y))
        if diff == 0:
            return True
        for size in sorted(diff.free_symbols & self.written.keys(), key=str):
            roots = [r for r in sympy.solve(diff, size) if _is_size(r)]
            if len(roots) == 1:
                self.solved = {k: v.xreplace({size: roots[0]}) for k, v in self.solved.items()}
                self.solved[size] = roots[0]
                return True
        return False

    def resolve(self, e: Expr) -> Expr:
        """``e`` with the sizes solved so far filled in."""
        if not self.solved:
            return e

        def refill(node, args):
            if not any(d.free_symbols & self.solved.keys() for d in node.shape + _sizes_in(node.params)):
                return None
            params = self._filled(node.params)
            rows, cols = (self.value(d) for d in node.shape)
            if node.op == "const":  # tr(I) is a number
                return G.const(params[0])
            if node.op in ("eye", "ones", "zeros"):
                return G.eye(rows) if node.op == "eye" else getattr(G, node.op)(rows, cols)
            if node.op == "commutation":
                return B.commutation(*params)
            return apply(node.op, args, params)

        return G.rebuild(e, refill)

    def _filled(self, params):
        if isinstance(params, tuple):
            return tuple(self._filled(p) for p in params)
        return self.value(params) if isinstance(params, sympy.Basic) else params

    def close(self, e: Expr) -> tuple[Expr, T.Node | None]:
        """``e`` with the open sizes that have a default set to it, and where
        an open size without one was written (None if there is none left)."""
        left = self.left_open(e)
        for size in left:
            if size in self.default:
                self.unify(size, sympy.Integer(self.default[size]))
        e = self.resolve(e)
        left = [size for size in left if size not in self.solved]
        return e, (self.written[left[0]] if left else None)

    def left_open(self, e: Expr) -> list:
        """The open sizes ``e`` still carries (in its shapes or in its numbers:
        tr(I) is a number)."""
        if not self.written:
            return []
        found: dict = {}
        for node in G.postorder(e):
            for d in node.shape + _sizes_in(node.params):
                for size in d.free_symbols & self.written.keys():
                    if size not in self.solved:
                        found[size] = None
        return list(found)


class Checker:
    def __init__(self, source: str):
        self.src = source
        self.cell = CheckedCell(source)
        self.definition_syntax: dict[str, T.Node] = {}
        self.open = OpenSizes()
        # sizes left open by a definition may be fixed where it is used (as in
        # a printed result's where-parts); by default each statement fixes its own
        self.close_each_statement = True

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
        """The closest known names: fewest edits first (rleu → relu, a swap),
        only the closest of them, then by similarity."""
        pool = [p for p in dict.fromkeys(pool) if p != name]
        close = [p for p in pool if p.lower() == name.lower()]  # X for x
        limit = max(1, len(name) // 3)
        candidates = {p for p in pool if edit_distance(name.lower(), p.lower()) <= limit}
        candidates.update(difflib.get_close_matches(name, pool, n=3, cutoff=0.5))
        if candidates:
            distance = {p: edit_distance(name.lower(), p.lower()) for p in candidates}
            best = min(distance.values())
            ranked = sorted((p for p in candidates if distance[p] == best),
                            key=lambda p: -difflib.SequenceMatcher(None, name, p).ratio())
            close += [p for p in ranked if p not in close]
        close = list({p.lower(): p for p in reversed(close)}.values())[::-1]  # relu, not relu and ReLU
        return f"did you mean {', '.join(close[:3])}?" if close else None

    # ================================================================ program
    def run(self, program: T.Program) -> CheckedCell:
        for stmt in program.statements:  # declarations may come in any order
            if isinstance(stmt, T.Decl):
                try:
                    self.declare(stmt)
                except RecursionError:
                    self.fail(TOO_DEEP, stmt)
        for stmt in program.statements:
            try:
                with working_on("reading this line", stmt.span):
                    self.statement(stmt)
            except RecursionError:
                self.fail(TOO_DEEP, stmt)
        last = program.statements[-1].span if program.statements else None
        with working_on("reading this line", last):  # a stop here still names a line
            self.cell.node_shapes = self.settled_shapes()
        return self.cell

    def settled_shapes(self) -> dict:
        """The shapes of the syntax nodes read so far, with the sizes that a
        bare I or 𝟏 left open filled in where they are known by now."""
        return {k: tuple(self.open.value(d) for d in v) for k, v in self.cell.node_shapes.items()}

    def closed(self, e: Expr) -> Expr:
        """``e`` with its open sizes filled in; an error if one is still open."""
        e, node = self.open.close(e)
        if node is not None:
            is_ones = isinstance(node, T.Name) and node.id == "𝟏"
            self.fail(NO_ONES_SIZE if is_ones else NO_IDENTITY_SIZE, node)
        return e

    def unify(self, x, y) -> bool:
        return self.open.unify(x, y)

    def square(self, a: Expr) -> Expr | None:
        """``a`` if it is square (an open size made to fit), else None."""
        return self.open.resolve(a) if self.unify(a.shape[0], a.shape[1]) else None

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
        if isinstance(d, T.DimBin) and d.op in ("+", "-"):
            # n + n + … parses left-deep: fold the spine in a loop, as x_BinOp does
            spine = []
            while isinstance(d, T.DimBin) and d.op in ("+", "-"):
                spine.append(d)
                d = d.left
            terms = [self.dim(d)]
            for step in reversed(spine):
                right = self.dim(step.right)
                terms.append(right if step.op == "+" else -right)
            size = sympy.expand(sympy.Add(*terms))  # one sum: adding term by term is quadratic
            if size.is_number and size < 1:  # n − n, 2 − 3
                self.fail(f"a size must be at least 1, but {self.text(spine[0])} is {size}", spine[0])
            return size
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
            word, _, axis = p.id.lower().partition(" ")  # onehot rows, onehot axis=1
            word = PROPERTY_ALIASES.get(word, word)
            if word not in PROPERTIES:
                self.fail(f"unknown property {p.id!r}", p, hint=self.suggest(word, PROPERTIES) or
                          "known properties: " + ", ".join(PROPERTIES))
            need = PROPERTIES[word]
            if need == "square" and not same(shape[0], shape[1]):
                self.fail(f"{word} needs a square matrix, but the shape is {shape_str(shape)}", p)
            if axis:
                word = self.property_axis(p, word, axis, shape)
            props.append(word)
        if "spd" in props:
            props += ["symmetric", "invertible", "positive_definite"]
        for n in decl.names:
            if n.id in self.cell.variables:
                self.fail(f"{n.id} is declared twice", n)
            if n.id in self.cell.dims:
                self.fail(f"{n.id} is already used as a size", n)
            self.cell.variables[n.id] = G.var(n.id, shape, props)

    def property_axis(self, p: T.Name, word: str, axis: str, shape) -> str:
        """``onehot rows`` / ``onehot(axis=1)`` (each row has a single 1) is the
        property ONEHOT_ROWS; ``onehot columns`` / ``onehot(axis=0)`` is plain
        ``onehot``, which for a matrix means each column has a single 1."""
        along = AXIS_WORDS.get(axis.replace(" ", ""))
        if word != "onehot":
            self.fail(f"{word} takes no axis", p)
        if along is None:
            self.fail(f"unknown axis {axis!r} for onehot", p,
                      hint="write onehot rows, onehot columns, onehot(axis=1) or onehot(axis=0)")
        if shape[along] == ONE and shape[1 - along] != ONE:  # a k×1 column's rows are single entries
            kind = "column" if along == 1 else "row"
            self.fail(f"each {'row' if along == 1 else 'column'} of a {shape_str(shape)} {kind} is one entry",
                      p, hint="write onehot: a vector has a single 1")
        return ONEHOT_ROWS if along == 1 and shape[0] != ONE else "onehot"

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
        if self.close_each_statement:
            value = self.closed(value)
        self.cell.definitions[name] = value
        self.cell.definition_text[name] = self.text(stmt.value)
        self.definition_syntax[name] = stmt.value
        if _nameable(value) and value not in self.cell.labels:
            self.cell.labels[value] = name

    # ================================================================ requests
    def request(self, item) -> Request:
        if isinstance(item, (T.Hessian, T.HVP)):
            order, of_node, wrt_node = 2, item.of, item.wrt
        else:
            order, of_node, wrt_node = item.order, item.of, item.wrt
        wrt_name = self.spelled(wrt_node.id)
        if wrt_name in self.cell.variables:
            of = self.expr(of_node)
            wrt = self.cell.variables[wrt_name]
        elif wrt_name in self.cell.definitions:
            node = self.cell.definitions[wrt_name]
            if node.op in G.LEAVES:
                written = self.cell.definition_text[wrt_name]
                if G.is_zero(node):
                    self.fail(f"{wrt_name} = {written} is identically zero, so nothing depends on it: "
                              f"there is no derivative by {wrt_name}", wrt_node)
                if node.op != "var":
                    self.fail(f"{wrt_name} = {written} is a constant, so nothing depends on it: "
                              f"there is no derivative by {wrt_name}", wrt_node)
                self.fail(f"{wrt_name} is defined as {written}; differentiate by that instead", wrt_node)
            wrt = G.var(wrt_name, node.shape)
            of = self.as_function_of(wrt_name, wrt, of_node)
        else:
            self.fail(f"cannot differentiate by {wrt_name}: it is not a declared or defined name", wrt_node,
                      hint=self.suggest(wrt_name, list(self.cell.variables) + list(self.cell.definitions)))
        of = self.closed(of)
        if order == 2 and not of.is_scalar:
            self.fail(f"a Hessian needs a scalar function, but {self.text(of_node)} is {shape_str(of.shape)}",
                      of_node)
        if order == 2:
            power = max((abs(n.params[0]) for n in G.postorder(of) if n.op == "matpow"), default=0)
            if power > MAX_HESSIAN_MATRIX_POWER:
                self.fail(f"a Hessian through a matrix power goes up to A^{MAX_HESSIAN_MATRIX_POWER}, not A^{power}: "
                          f"its second derivative is a sum of about {power * power // 2:,} terms", item,
                          hint="ask for the gradient instead")
        direction = self.direction(item, wrt) if isinstance(item, T.HVP) else None
        of_text = self.text(of_node)
        if of_text.startswith("(") and of_text.endswith(")") and isinstance(of_node, T.Name) is False:
            inner = of_text[1:-1]
            if inner.count("(") == inner.count(")"):
                of_text = inner
        return Request(self.text(item), item.span, of, of_text, wrt, wrt_name, order,
                       direction, item.direction.id if direction is not None else "", of_node)

    def direction(self, item: T.HVP, wrt: Expr) -> Expr:
        """The v of hvp(J, w, v): a declared variable shaped like w."""
        name = item.direction.id
        if name not in self.cell.variables:
            self.fail(f"the direction {name} of hvp(J, w, v) must be a declared variable, shaped like "
                      f"{item.wrt.id} ({shape_str(wrt.shape)})", item.direction,
                      hint=self.suggest(name, self.cell.variables))
        v = self.cell.variables[name]
        if not (same(v.shape[0], wrt.shape[0]) and same(v.shape[1], wrt.shape[1])):
            self.fail(f"the direction {name} of hvp(J, w, v) must be shaped like {item.wrt.id}",
                      item.direction, {item.wrt.id: shape_str(wrt.shape), name: shape_str(v.shape)})
        if G.var_props(wrt) & SYMMETRIC_PROPS and not G.var_props(v) & SYMMETRIC_PROPS:
            self.fail(f"{item.wrt.id} is symmetric, so it only moves in symmetric directions: "
                      f"declare {name} symmetric too", item.direction)
        return v

    def as_function_of(self, name: str, variable: Expr, of_node) -> Expr:
        """``of`` with the defined ``name`` made a variable: the definitions
        after it are read again from the cell's text with ``name`` standing for
        itself (∂J/∂z holds everything upstream of z fixed).  Rebuilding from
        the text, rather than searching the graph for z's node, also works
        where simplification merged z into its neighbours (uᵀ (W x))."""
        with self.holding(name, variable):
            return self.expr(of_node)

    @contextmanager
    def holding(self, name: str, variable: Expr):
        """Inside: the definitions as functions of the defined ``name``, which
        stands for the variable ``variable`` (see :meth:`as_function_of`)."""
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
            yield
        finally:
            self.cell.definitions = saved

    def claim(self, stmt: T.Claim) -> None:
        req = self.request(stmt.target)
        value = self.expr(stmt.value)
        if self.open.left_open(value):  # claim ∂J/∂X = 𝟏 𝟏ᵀ: sized as the derivative is
            for mine, theirs in zip(value.shape, _shape_convention(req)):
                self.unify(mine, theirs)
        value = self.closed(value)
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
            out = method(node)
            self.cell.node_shapes[id(node)] = out.shape
            return out
        except ShapeError as e:  # a rule deeper down: report at this node
            self.fail(e.message, node)
        except MissingRule as e:
            self.fail(str(e), node)

    def spelled(self, name: str) -> str:
        """The cell's own spelling of a name written the other way: b₁ for a
        declared b_1 (as results print it), b_1 for a declared b₁."""
        cell = self.cell
        if name in cell.variables or name in cell.definitions or name in cell.dims:
            return name
        m = re.fullmatch(r"(.+?)_(\d+)", name)
        other = (m.group(1) + m.group(2).translate(SUBSCRIPT_DIGITS) if m
                 else re.sub(r"([₀-₉]+)$", lambda d: "_" + d.group(1).translate(PLAIN_DIGITS), name))
        if other in cell.variables or other in cell.definitions or other in cell.dims:
            return other
        return name

    def x_Name(self, node: T.Name) -> Expr:
        name = self.spelled(node.id)
        cell = self.cell
        if name in cell.definitions:
            return self.open.resolve(cell.definitions[name])
        if name in cell.variables:
            return cell.variables[name]
        if name in cell.dims:
            return G.const(cell.dims[name])
        base = _base_name(name)
        if name in ("pi", "π") or (base != name and base in CONSTANTS):  # π, np.pi, np.e
            return G.const(CONSTANTS[base])
        m = re.fullmatch(r"I_(\w+)", name)  # I_n, I_₂: the identity of a declared size
        sub = m.group(1).translate(PLAIN_DIGITS) if m else ""
        if sub in cell.dims:
            return G.eye(cell.dims[sub])
        if sub.isascii() and sub.isdigit():
            problem = literal_problem(sub)
            if problem or int(sub) < 1:
                self.fail(problem or f"the identity {name} needs a size of at least 1", node)
            return G.eye(sympy.Integer(int(sub)))
        if name == "I":  # its size follows from its neighbours
            return G.eye(self.open.new(node))
        if name == "𝟏":
            return G.ones(self.open.new(node), ONE)
        if name.startswith("𝟏_"):  # 𝟏_n, 1_n
            size = name[2:]
            if size in cell.dims or size.isdigit():
                return G.ones(cell.dims.get(size) or sympy.Integer(int(size)), ONE)
            self.fail(f"{size} is not a declared size", node)
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
        if self.square(a) is None:
            self.fail(f"only a square matrix has an inverse; {self.text(node.operand)} is {shape_str(a.shape)}",
                      node, self.shapes_of((node.operand, a)))
        out = B.inv(self.square(a))
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
    x_HVP = x_Deriv

    def x_ListLit(self, node: T.ListLit) -> Expr:
        return self.block(node, (node.items,))

    def x_Block(self, node: T.Block) -> Expr:
        return self.block(node, node.rows)

    def block(self, node, rows) -> Expr:
        """``[a, b; c, d]``: rows side by side, then one above the other.  A 0
        is a zero block whose size follows from its neighbours (one row or
        column where nothing else fixes it), as printed in ``[0; θ[1:]]``."""
        if not any(rows):
            self.fail("an empty block", node)
        if len(rows) == 1 and len(rows[0]) == 1:
            self.fail("a block needs two or more parts", node,
                      hint="to take an entry write x[0], with no space before '['")
        stacked = []
        for row in rows:
            parts = [self.zero_block(i) if _is_zero(i) else self.expr(i) for i in row]
            stacked.append(self.stack("a block", parts, row, 1) if len(parts) > 1 else parts[0])
        return self.stack("a block", stacked, [r[0] for r in rows], 0) if len(stacked) > 1 else stacked[0]

    def zero_block(self, node) -> Expr:
        zero = G.zeros(self.open.new(node, 1), self.open.new(node, 1))
        self.cell.node_shapes[id(node)] = zero.shape  # the numeric check's witness sizes it from this
        return zero

    def stack(self, name: str, items: list, nodes, axis: int) -> Expr:
        """Blocks side by side (axis 1) or one above the other (axis 0)."""
        other = 1 - axis
        for i, it in enumerate(items[1:], 1):
            if not self.unify(it.shape[other], items[0].shape[other]):
                what = "columns" if axis == 0 else "rows"
                self.fail(f"{name}: the numbers of {what} differ ({shape_str(items[0].shape)} and "
                          f"{shape_str(it.shape)})", nodes[i],
                          self.shapes_of((nodes[0], items[0]), (nodes[i], it)))
        return B.concat([self.open.resolve(it) for it in items], axis)

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
        operands = self.juxtaposed(node)
        left = operands[0]
        acc = self.operand(left)
        for right in operands[1:]:
            pair = T.Juxt(Span(left.span.start, right.span.end), left, right)
            if isinstance(right, T.ListLit) and self.is_subscript_list(right):
                acc = self.index(pair, acc, list(right.items))  # x [0] subscripts x, as x[0] does
            else:
                acc = self.product(pair, acc, self.operand(right))
            left = pair
        return acc

    def juxtaposed(self, node: T.Juxt) -> list:
        """The operands of ``a b c …`` (written left-deep), a function name
        taking the operand right after it: ``-1/2 log det(Σ)`` is
        ``(-1/2) · log(det(Σ))``, ``2 tr A B`` is ``2 · tr(A) · B``.  A bare
        ``I`` is the identity, not a call of eye: ``I 𝟏``."""
        items = []
        while isinstance(node, T.Juxt):
            items.append(node.right)
            node = node.left
        items.append(node)
        operands: list = []  # right to left
        for item in items:
            negated = isinstance(item, T.Neg)  # - log det(K)
            name = item.operand if negated else item
            if isinstance(name, T.Name) and operands and name.id != "I" and self.is_function_name(name.id):
                arg = operands.pop()
                item = T.Juxt(Span(name.span.start, arg.span.end), name, arg)
                if negated:
                    item = T.Neg(Span(name.span.start - 1, arg.span.end), item)
            operands.append(item)
        operands.reverse()
        return operands

    def operand(self, node) -> Expr:
        if isinstance(node, T.Neg) and isinstance(node.operand, T.Juxt):
            return B.neg(self.operand(node.operand))
        if isinstance(node, T.Juxt) and isinstance(node.left, T.Name) and self.is_function_name(node.left.id):
            return self.apply_function(node, node.left.id, (node.right,), (), node.left.span)
        return self.expr(node)

    def product(self, node: T.Juxt, a: Expr, b: Expr) -> Expr:
        """``a b``: a scalar multiple, else a matrix product."""
        if a.is_scalar or b.is_scalar:
            return B.smul(a, b) if a.is_scalar else B.smul(b, a)
        return self.matmul(node, a, b)

    def matmul(self, node, a: Expr, b: Expr) -> Expr:
        if not self.unify(a.shape[1], b.shape[0]):
            self.matmul_error(node, a, b)
        return B.matmul(self.open.resolve(a), self.open.resolve(b))

    def matmul_error(self, node, a: Expr, b: Expr, hint: str | None = None):
        lt, rt = self.text(node.left), self.text(node.right)
        lp = lt if _is_simple(lt) else f"({lt})"
        rp = rt if _is_simple(rt) else f"({rt})"
        reason = f"inner sizes {a.shape[1]} and {b.shape[0]} differ"
        if hint is None and same(a.shape[0], b.shape[0]) and not (a.shape[1] == ONE and b.shape[1] == ONE):
            hint = f"did you mean {lp}ᵀ {rt}?"
        elif hint is None and same(a.shape[1], b.shape[1]):
            hint = f"did you mean {lt} {rp}ᵀ?"
        elif hint is None:
            hint = self.equal_sizes_hint((node.left, 1, b.shape[0]), (node.right, 0, a.shape[1]))
        self.fail(
            f"{self.text(node)}: {lt} is {shape_str(a.shape)}, {rt} is {shape_str(b.shape)}: {reason}",
            node, self.shapes_of((node.left, a), (node.right, b)), hint,
        )

    def equal_sizes_hint(self, *sides) -> str | None:
        """For sizes that must be equal but are named apart (Theta1 : s2 x n1
        times an (n + 1)-row matrix): how to declare them equal.  ``sides`` are
        (operand, axis, the size it must equal)."""
        options = []
        for operand, axis, other in sides:
            var = self.cell.variables.get(operand.id) if isinstance(operand, T.Name) else None
            mine = var.shape[axis] if var is not None else None
            if mine is not None and mine.is_Symbol and mine != ONE and not same(mine, other):
                options.append((other.is_Symbol, operand.id, var.shape, axis, other))
        if not options:
            return None
        _, name, shape, axis, other = min(options, key=lambda o: o[0])  # n1 is n + 1 before n1 is n
        sizes = [other if k == axis else d for k, d in enumerate(shape)]
        declared = _size_text(sizes[0]) if sizes[1] == ONE else " x ".join(_size_text(d, True) for d in sizes)
        return f"if {shape[axis]} is {_size_text(other)}, declare {name} : {declared}"

    def row_bias_hint(self, column_node, column: Expr, matrix: Expr) -> str | None:
        """A column b : M meeting an N×M matrix: NumPy would broadcast b as a row."""
        cols = matrix.shape[1]
        if not (column.shape[1] == ONE and matrix.shape[0] != ONE and cols != ONE and same(column.shape[0], cols)):
            return None
        if isinstance(column_node, T.Name) and column_node.id in self.cell.variables:
            name, size = column_node.id, _size_text(cols)
            return (f"write {name} : 1 x {_size_text(cols, True)} or {name} : ({size},) for a row, "
                    f"as NumPy broadcasts a 1-D array")
        return f"a column does not broadcast over rows; for a row write ({self.text(column_node)})ᵀ"

    def broadcast_shape(self, node, a: Expr, b: Expr, verb: str, hint=None):
        out = []
        for k in (0, 1):
            x, y = a.shape[k], b.shape[k]
            if same(x, y) or y == ONE:
                out.append(x)
            elif x == ONE:
                out.append(y)
            elif self.unify(x, y):
                out.append(self.open.value(x))
            else:
                lt, rt = self.text(node.left), self.text(node.right)
                hint = (self.row_bias_hint(node.right, b, a) or self.row_bias_hint(node.left, a, b)
                        or hint)
                self.fail(
                    f"cannot {verb} {lt} ({shape_str(a.shape)}) and {rt} ({shape_str(b.shape)}): "
                    f"the {'rows' if k == 0 else 'columns'} differ ({x} vs {y})",
                    node, self.shapes_of((node.left, a), (node.right, b)), hint,
                )
        return tuple(out)

    def elementwise2(self, node, a, b, verb, combine, hint=None) -> Expr:
        shape = self.broadcast_shape(node, a, b, verb, hint)
        a, b = self.open.resolve(a), self.open.resolve(b)
        shape = tuple(self.open.value(d) for d in shape)
        return combine(B.broadcast(a, shape), B.broadcast(b, shape))

    def power(self, node, a: Expr, p: Expr, elementwise: bool) -> Expr:
        if elementwise and a.is_scalar and not p.is_scalar:  # np.e ** x, 2 ** x: exp(log(a) x)
            return B.elementwise("exp", B.smul(B.elementwise("log", a), p))
        if not p.is_scalar:
            self.fail(f"the exponent must be a scalar, not {shape_str(p.shape)}", node.right)
        if elementwise or a.is_scalar:
            return B.epow(a, p)
        if self.square(a) is None:
            self.fail(
                f"{self.text(node)}: a matrix power needs a square matrix, {self.text(node.left)} is "
                f"{shape_str(a.shape)}", node, self.shapes_of((node.left, a)),
                hint="for an elementwise power use **",
            )
        if not (G.is_const(p) and G.const_value(p).is_Integer):
            self.fail("a matrix power needs an integer exponent", node.right)
        return B.matpow(self.square(a), int(G.const_value(p)))

    # ---------------------------------------------------------------- indexing
    def x_Index(self, node: T.Index) -> Expr:
        return self.index(node, self.expr(node.operand), list(node.subscripts))

    def is_subscript_list(self, node: T.ListLit) -> bool:
        """Whether ``[…]`` holds one or two integers or sizes, as a subscript does."""
        def index_like(item):
            if isinstance(item, T.Neg):
                item = item.operand
            return (isinstance(item, T.Number) and isinstance(item.value, int)
                    or isinstance(item, T.Name) and item.id in self.cell.dims)

        return 1 <= len(node.items) <= 2 and all(index_like(i) for i in node.items)

    def index(self, node, a: Expr, subs: list) -> Expr:
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
        sized = v.free_symbols and all(s in self.cell.dims.values() for s in v.free_symbols)
        if not (v.is_Integer or (sized and v.is_integer)):  # 3, n - 1; not 0.5 or n/2
            self.fail("expected an integer size or index", node)
        return v

    # ---------------------------------------------------------------- calls
    def x_Call(self, node: T.Call) -> Expr:
        name = node.func
        if (name in self.cell.variables or name in self.cell.definitions) and not (
                len(node.args) > 1 and self.function_spec(name) is not None):  # K(m, n) beside a declared K
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


def _sizes_in(params) -> tuple:
    """The sizes among an operator's parameters (a broadcast's target shape,
    a slice's bounds, tr(I)'s number)."""
    out = []
    for p in params:
        if isinstance(p, tuple):
            out.extend(_sizes_in(p))
        elif isinstance(p, sympy.Basic):
            out.append(p)
    return tuple(out)


def _shape_convention(req: Request) -> tuple:
    """The derivative's shape in the shape convention: a gradient the shape of
    the variable, a Jacobian len(y)×len(x), a tensor ∂vec Y/∂(vec X)ᵀ."""
    of, wrt = req.of.shape, req.wrt.shape
    if req.order == 2:
        n = sympy.expand(wrt[0] * wrt[1])
        return (n, n)
    if of == (ONE, ONE):
        return wrt
    if wrt == (ONE, ONE):
        return of
    return (sympy.expand(of[0] * of[1]), sympy.expand(wrt[0] * wrt[1]))  # a Jacobian; a tensor's vec form


def edit_distance(a: str, b: str) -> int:
    """Edits (insert, delete, replace, swap two neighbours) from a to b."""
    prev2, prev = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i]
        for j, cb in enumerate(b, 1):
            cost = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (ca != cb))
            if prev2 is not None and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, prev2[j - 2] + 1)
            row.append(cost)
        prev2, prev = prev, row
    return prev[-1]


def _is_size(d: sympy.Expr) -> bool:
    """Whether ``d`` can be a size: a polynomial in sizes with integer
    coefficients, not below 1 when it is a number (k m = m n gives k = n;
    k (m + p) = m n gives no size)."""
    if not d.free_symbols:
        return d.is_Integer and d >= 1
    try:
        poly = sympy.Poly(d, *sorted(d.free_symbols, key=str))
    except sympy.PolynomialError:
        return False
    return all(c.is_Integer for c in poly.coeffs())


def _size_text(d, bracket: bool = False) -> str:
    """A size as a declaration writes it: n + 1, or (n + 1) beside another."""
    text = str(d).replace("*", " ")
    return f"({text})" if bracket and isinstance(d, sympy.Add) else text


def _is_zero(node) -> bool:
    return isinstance(node, T.Number) and node.value == 0


def _base_name(name: str) -> str:
    for p in _PREFIXES:
        if name.startswith(p):
            return name[len(p):]
    return name


def _is_simple(text: str) -> bool:
    """A name or call that needs no brackets before a transpose mark."""
    import re

    return re.fullmatch(r"[\w.]+(\(.*\))?", text) is not None and text.count("(") <= 1
