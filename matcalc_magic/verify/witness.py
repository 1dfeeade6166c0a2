"""The cell as written, evaluated with NumPy: the numeric check's witness.

The finite differences of the check (:mod:`matcalc_magic.verify`) are taken
of *this* evaluation, which reads the syntax tree directly: the declarations,
the definitions and each operator's meaning as the user wrote them.  Nothing
here goes through the typed graph, its simplifications or the operators'
rules in :mod:`matcalc_magic.ops`, so a wrong simplification or a wrong rule
is caught by the check instead of being shared by it.  The same evaluator
reads a printed result parsed back (:mod:`matcalc_magic.verify.printed`), so what the
check certifies is the formula the user reads.

It is deliberately small and boring: every value is a 2-D float array (a
column vector is n×1, a scalar 1×1), and each function is one NumPy line.
The only thing it takes from the type checker is the size of an ``I`` or a
``𝟏`` written without one (``I − K H``), which only the shapes around it fix.
"""

from __future__ import annotations

import math
import re
from collections import OrderedDict
from fractions import Fraction
from functools import lru_cache

from dataclasses import dataclass

import numpy as np

from ..syntax import tree as T
from ..syntax.parse import PLAIN_DIGITS

#: module prefixes a function name may carry (np.exp, np.linalg.inv, …)
PREFIXES = ("numpy.linalg.", "np.linalg.", "numpy.", "np.", "scipy.special.", "math.", "jnp.", "torch.", "F.")
CONSTANTS = {"pi": math.pi, "π": math.pi, "e": math.e}
ONES_NAMES = ("𝟏", "𝟙")


class ReferenceError(Exception):
    """The witness cannot evaluate something the cell (or a printed form) says."""


def _scalar(x: float) -> np.ndarray:
    return np.array([[float(x)]])


def _is_scalar(v: np.ndarray) -> bool:
    return v.shape == (1, 1)


def _col(v: np.ndarray) -> np.ndarray:
    """A vector as a column (rows stay rows only where the caller wants)."""
    return v.reshape(-1, 1)


# ====================================================================== elementwise functions
def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _softplus(x):
    return np.logaddexp(0.0, x)


#: name -> (f, f′): each function and its derivative, restated here
ELEMENTWISE = {
    "exp": (np.exp, np.exp),
    "log": (np.log, lambda x: 1.0 / x),
    "sqrt": (np.sqrt, lambda x: 0.5 / np.sqrt(x)),
    "sin": (np.sin, np.cos),
    "cos": (np.cos, lambda x: -np.sin(x)),
    "tan": (np.tan, lambda x: 1.0 / np.cos(x) ** 2),
    "tanh": (np.tanh, lambda x: 1.0 - np.tanh(x) ** 2),
    "cosh": (np.cosh, np.sinh),
    "sinh": (np.sinh, np.cosh),
    "arctan": (np.arctan, lambda x: 1.0 / (1.0 + x * x)),
    "log1p": (np.log1p, lambda x: 1.0 / (1.0 + x)),
    "expm1": (np.expm1, np.exp),
    "sigmoid": (_sigmoid, lambda x: _sigmoid(x) * (1.0 - _sigmoid(x))),
    "relu": (lambda x: np.maximum(x, 0.0), lambda x: (x > 0).astype(float)),
    "softplus": (_softplus, _sigmoid),
    "abs": (np.abs, np.sign),
    "sign": (np.sign, np.zeros_like),
}
ELEMENTWISE_ALIASES = {
    "ln": "log", "√": "sqrt", "σ": "sigmoid", "sigma": "sigmoid", "expit": "sigmoid", "logistic": "sigmoid",
    "ReLU": "relu", "absolute": "abs", "sgn": "sign", "atan": "arctan",
}


def elementwise(name: str):
    """The NumPy function of an elementwise function name (prefixes and aliases
    allowed), or None."""
    base = _strip(name)
    base = ELEMENTWISE_ALIASES.get(base, base)
    return ELEMENTWISE[base][0] if base in ELEMENTWISE else None


_SCOPES: "OrderedDict[int, _Scope]" = OrderedDict()


@dataclass
class _Scope:
    """What the evaluator needs to know of a program, worked out once per
    program (the check evaluates one cell hundreds of times)."""

    program: T.Program
    declared: set
    definitions: dict  # name → definition syntax
    reads: dict  # name → the names its definition reads directly
    depends: dict  # name → every name its value depends on, through other definitions
    sized_by_shapes: set  # definitions whose value needs the type checker's sizes (a bare I, 𝟏, block)


def _program_scope(program: T.Program) -> _Scope:
    key = id(program)
    entry = _SCOPES.get(key)
    if entry is None or entry.program is not program:
        declared = {n.id for s in program.statements if isinstance(s, T.Decl) for n in s.names}
        definitions = {s.target.id: s.value for s in program.statements if isinstance(s, T.Define)}
        reads = {name: names_read(value) for name, value in definitions.items()}
        depends: dict = {}
        for name in definitions:  # every name reached through the definitions' reads
            seen, stack = set(), list(reads[name])
            while stack:
                n = stack.pop()
                if n not in seen:
                    seen.add(n)
                    stack.extend(reads.get(n, ()))
            depends[name] = seen
        local = {name for name, value in definitions.items() if _needs_shapes(value)}
        sized = {name for name in definitions if name in local or depends[name] & local}
        entry = _SCOPES[key] = _Scope(program, declared, definitions, reads, depends, sized)
        while len(_SCOPES) > 64:
            _SCOPES.popitem(last=False)
    _SCOPES.move_to_end(key)
    return entry


def _needs_shapes(node) -> bool:
    """Whether evaluating ``node`` may look up a size in the type checker's
    shapes: a bare I or 𝟏, or a zero block of a block matrix."""
    return any(isinstance(n, T.Name) and n.id in ONES_NAMES + ("I",) or isinstance(n, (T.Block, T.ListLit))
               for n in T.walk(node))


def _scope(program: T.Program) -> tuple[set, dict]:
    """(declared names, name → definition syntax) of a program."""
    entry = _program_scope(program)
    return entry.declared, entry.definitions


def definition_reads(program: T.Program) -> dict[str, set]:
    """name → the names its definition reads, once per program."""
    return _program_scope(program).reads


class PointValues:
    """The values of a program's own definitions at one point: ``env``,
    ``sizes`` and ``given``, the very objects (not equal ones).  The readings
    of several printed forms at one point share them: each definition of the
    cell is evaluated once there, not once per reading."""

    def __init__(self, program: T.Program, env: dict, sizes: dict, given: dict | None = None):
        self.point = (program, env, sizes, given)
        self.values: dict[str, np.ndarray] = {}

    def serves(self, program, env, sizes, given) -> bool:
        mine = self.point
        return mine[0] is program and mine[1] is env and mine[2] is sizes and mine[3] is given


# ====================================================================== the evaluator
#: (evaluator class, syntax node class) → the method that evaluates such nodes
_METHODS: dict = {}


class Reference:
    """Values of a program's names and expressions at one point.

    ``env`` maps declared names to 2-D arrays, ``sizes`` size names to ints.
    ``given`` fixes the value of a *defined* name: ∂J/∂z varies z itself
    with its inputs held fixed, and definitions that do not depend on the
    varying name are evaluated once.  ``shapes`` (id of a syntax node →
    (rows, cols), from the type checker) sizes an ``I`` or ``𝟏`` written
    without its size.  ``extra`` adds definitions (a printed
    result's where-parts, δ₁ = …).
    """

    def __init__(self, program: T.Program, env: dict, sizes: dict, shapes: dict | None = None,
                 given: dict | None = None, extra: dict | None = None, point: PointValues | None = None):
        self.env = env
        self.sizes = {getattr(k, "name", None) or str(k): int(v) for k, v in sizes.items()}
        self.symbol_sizes = {k: v for k, v in sizes.items() if not isinstance(k, str)}
        self.shapes = shapes or {}
        self.given = given or {}
        scope = _program_scope(program)
        self.declared, self.definitions = scope.declared, scope.definitions
        if extra:  # printed where-parts (δ₁ = …) and the printed result
            self.definitions = {**self.definitions, **extra}
        self.values: dict[str, np.ndarray] = {}
        # the cell's definitions this reading may take from (and give to) the
        # point's shared values: those the same at every reading there, i.e.
        # not sized by this reading's shapes and reading none of its extra names
        self.point_values, self.from_point = None, frozenset()
        if point is not None and point.serves(program, env, sizes, given):
            extra_names = set(extra or ())
            self.point_values = point.values
            self.from_point = frozenset(
                name for name in scope.definitions
                if name not in scope.sized_by_shapes and name not in extra_names
                and not scope.depends[name] & extra_names)

    def at(self, env: dict, given: dict | None = None) -> "Reference":
        """A fresh evaluation of the same program, sizes and shapes at other
        values (no value computed here is carried over, nor shared with a point)."""
        ref = object.__new__(type(self))
        ref.__dict__.update(self.__dict__)
        ref.env, ref.given, ref.values = env, given or {}, {}
        ref.point_values, ref.from_point = None, frozenset()
        return ref

    # ------------------------------------------------------------ names
    def name(self, name: str, node=None) -> np.ndarray:
        if name in self.given:
            return self.given[name]
        if name in self.values:
            if self.values[name] is None:
                raise ReferenceError(f"{name} is defined in terms of itself")
            return self.values[name]
        if name in self.definitions:
            shared = name in self.from_point
            if shared and name in self.point_values:
                value = self.values[name] = self.point_values[name]
                return value
            self.values[name] = None  # a cycle shows as an error, not a recursion
            value = self.expr(self.definitions[name])
            self.values[name] = value
            if shared:
                self.point_values[name] = value
            return value
        if name in self.env:
            return np.asarray(self.env[name], dtype=float)
        if name in self.sizes:
            return _scalar(self.sizes[name])
        bare = _strip(name)
        if bare in CONSTANTS:
            return _scalar(CONSTANTS[bare])
        identity = re.fullmatch(r"I_\{?(\w+?)\}?", name)
        if identity:
            return np.eye(self.size(identity.group(1)))
        ones = re.fullmatch(r"(?:𝟏|𝟙|1)_\{?(\w+?)\}?", name)
        if ones:
            return np.ones((self.size(ones.group(1)), 1))
        if name in ONES_NAMES + ("I",) and node is not None and id(node) in self.shapes:
            rows, cols = (self.dim(d) for d in self.shapes[id(node)])
            return np.eye(rows) if name == "I" else np.ones((rows, cols))
        raise ReferenceError(f"no value for {name!r}")

    def dim(self, d) -> int:
        """A size the type checker worked out (a SymPy expression of size symbols)."""
        if isinstance(d, int):
            return d
        value = d.xreplace(self.symbol_sizes) if self.symbol_sizes else d
        if isinstance(value, int):
            return value
        if not value.is_Integer:
            raise ReferenceError(f"no size for {d}")
        return int(value)

    def size(self, text: str) -> int:
        """A size written as a number, a size name or an expression of them."""
        text = text.replace(" ", "").translate(PLAIN_DIGITS)  # I_₂ is I_2
        if text.isdigit():
            return int(text)
        if text in self.sizes:
            return self.sizes[text]
        tokens = re.findall(r"\d+|[^\W\d]\w*|[-+*()]", text)
        if "".join(tokens) != text:
            raise ReferenceError(f"cannot read the size {text!r}")
        spelled = " ".join(str(self.sizes[t]) if t in self.sizes else t for t in tokens)
        if re.search(r"[^\W\d]", spelled):
            raise ReferenceError(f"unknown size in {text!r}")
        return int(_arith(spelled))

    def cell_names(self) -> set[str]:
        """Every name the cell declares or defines (values and sizes)."""
        return {*self.declared, *self.definitions, *self.sizes}

    def is_value_name(self, name: str) -> bool:
        return name in self.given or name in self.definitions or name in self.env or name in self.declared

    # ------------------------------------------------------------ expressions
    def expr(self, node) -> np.ndarray:
        if type(node) is T.Name:  # most nodes: x_Name, inlined
            out = self.name(node.id, node)
        else:
            key = (type(self), type(node))
            method = _METHODS.get(key)
            if method is None:  # looked up by name once per kind of node, not at every node
                method = _METHODS[key] = getattr(type(self), "x_" + type(node).__name__, None)
                if method is None:
                    del _METHODS[key]
                    raise ReferenceError(f"cannot evaluate {type(node).__name__}")
            out = method(self, node)
        out = np.asarray(out, dtype=float)
        if out.ndim != 2:
            raise ReferenceError(f"{type(node).__name__} gave a {out.ndim}-D value")
        return out

    def x_Name(self, node: T.Name) -> np.ndarray:
        return self.name(node.id, node)

    def x_Number(self, node: T.Number) -> np.ndarray:
        v = node.value
        return _scalar(float(v) if not isinstance(v, Fraction) else v.numerator / v.denominator)

    def x_Neg(self, node: T.Neg) -> np.ndarray:
        return -self.expr(node.operand)

    def x_Transpose(self, node: T.Transpose) -> np.ndarray:
        return self.expr(node.operand).T

    def x_Inverse(self, node: T.Inverse) -> np.ndarray:
        out = np.linalg.inv(self.expr(node.operand))
        return out.T if node.transpose else out

    def x_Abs(self, node: T.Abs) -> np.ndarray:
        return np.abs(self.expr(node.operand))

    def x_Norm(self, node: T.Norm) -> np.ndarray:
        x = self.expr(node.operand)
        out = _scalar(np.sqrt(np.sum(x * x)))
        if node.power is not None:
            out = out ** self.expr(node.power)
        return out

    def x_TupleLit(self, node: T.TupleLit) -> np.ndarray:
        if len(node.items) == 1:
            return self.expr(node.items[0])
        raise ReferenceError("a tuple is not a value")

    def x_BinOp(self, node: T.BinOp) -> np.ndarray:
        # long left-deep sums and products are folded in a loop
        if node.op in ("**", "^"):  # powers are right-deep, and short in practice
            return self.binop(node.op, self.expr(node.left), self.expr(node.right))
        spine = []
        while isinstance(node, T.BinOp) and node.op not in ("**", "^"):
            spine.append(node)
            node = node.left
        acc = self.expr(node)
        for step in reversed(spine):
            acc = self.binop(step.op, acc, self.expr(step.right))
        return acc

    def binop(self, op: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op in ("*", "⊙"):
            return a * b
        if op in ("/", "⊘"):
            return a / b
        if op == "@":
            return a @ b
        if op == "⊗":
            return np.kron(a, b)
        if op == "**":
            return np.power(a, b)
        if op == "^":
            if _is_scalar(a):
                return np.power(a, b)
            return np.linalg.matrix_power(a, _integer(b))
        raise ReferenceError(f"unknown operator {op}")

    def x_Juxt(self, node: T.Juxt) -> np.ndarray:
        """``a b c``: products, left to right; a function name takes the operand
        right after it (``-1/2 log det(Σ)``, ``2 tr A B`` = 2 tr(A) B), and
        ``x [0]`` subscripts x as ``x[0]`` does."""
        items = []
        while isinstance(node, T.Juxt):
            items.append(node.right)
            node = node.left
        items.append(node)
        operands: list = []  # right to left, each a node or an evaluated array
        for item in items:
            negated = isinstance(item, T.Neg)
            name = item.operand if negated else item
            if isinstance(name, T.Name) and operands and self.is_function(name.id):
                value = self.call(name.id, (_Evaluated(None, self.operand(operands.pop())),), {}, 0)
                item = -value if negated else value
            operands.append(item)
        operands.reverse()
        acc = self.operand(operands[0])
        for right in operands[1:]:
            if isinstance(right, T.ListLit) and self.is_subscript_list(right):
                acc = self.subscript(acc, list(right.items))
            else:
                acc = product(acc, self.operand(right))
        return acc

    def operand(self, item) -> np.ndarray:
        return item if isinstance(item, np.ndarray) else self.expr(item)

    def is_function(self, name: str) -> bool:
        return not self.is_value_name(name) and name not in self.sizes and bool(function(name))

    def is_subscript_list(self, node: T.ListLit) -> bool:
        def index_like(item):
            if isinstance(item, T.Neg):
                item = item.operand
            return (isinstance(item, T.Number) and isinstance(item.value, int)
                    or isinstance(item, T.Name) and item.id in self.sizes)

        return 1 <= len(node.items) <= 2 and all(index_like(i) for i in node.items)

    def x__Evaluated(self, node: "_Evaluated") -> np.ndarray:
        return node.array

    def x_ListLit(self, node: T.ListLit) -> np.ndarray:
        return self.block(node, (node.items,))

    def x_Block(self, node) -> np.ndarray:
        return self.block(node, node.rows)

    def block(self, node, rows) -> np.ndarray:
        """``[a, b; c, d]``; a 0 is a zero block of the size the type checker
        worked out for it."""
        out = []
        for row in rows:
            parts = []
            for item in row:
                if isinstance(item, T.Number) and item.value == 0 and id(item) in self.shapes:
                    parts.append(np.zeros(tuple(self.dim(d) for d in self.shapes[id(item)])))
                else:
                    parts.append(self.expr(item))
            out.append(np.concatenate(parts, axis=1))
        return np.concatenate(out, axis=0)

    def x_Call(self, node: T.Call) -> np.ndarray:
        if self.is_value_name(node.func) and not (len(node.args) > 1 and function(node.func)):  # W(x + b): a product; x'(y) a transposed one
            a = self.name(node.func)
            if node.primes % 2:
                a = a.T
            return product(a, self.expr(node.args[0]))
        return self.call(node.func, node.args, dict(node.kwargs), node.primes)

    def x_Index(self, node: T.Index) -> np.ndarray:
        return self.subscript(self.expr(node.operand), list(node.subscripts))

    def subscript(self, a: np.ndarray, subs: list) -> np.ndarray:
        if len(subs) == 1 and a.shape[0] == 1 and a.shape[1] != 1:
            subs = [None, subs[0]]  # a row vector is indexed along its columns
        for axis, sub in enumerate(subs):
            if sub is None:
                continue
            n = a.shape[axis]
            if isinstance(sub, T.Slice):
                start = self.position(sub.start, n, 0)
                stop = self.position(sub.stop, n, n)
            else:
                start = self.position(sub, n, 0)
                stop = start + 1
            if not 0 <= start < stop <= n:
                raise ValueError(f"index {start}:{stop} outside a size {n}")
            a = a[start:stop, :] if axis == 0 else a[:, start:stop]
        return a

    def position(self, sub, n: int, default: int) -> int:
        if sub is None:
            return default
        k = _integer(self.expr(sub))
        return n + k if k < 0 else k

    # ------------------------------------------------------------ functions
    def call(self, name: str, args, kwargs: dict, primes: int) -> np.ndarray:
        base = _strip(name)
        base = ELEMENTWISE_ALIASES.get(base, base)
        if base in ELEMENTWISE:
            f, df = ELEMENTWISE[base]
            if len(args) != 1 or primes > 1:
                raise ReferenceError(f"{name} takes one argument")
            return (df if primes else f)(self.expr(args[0]))
        impl = _TABLE.get(base)  # what function(name) finds
        if impl is None:
            raise ReferenceError(f"unknown function {name!r}")
        if primes:
            raise ReferenceError(f"{name}′ is not a function")
        return impl(self, list(args), kwargs)

    def axis(self, args, kwargs, index: int = 1):
        src = kwargs.get("axis")
        if src is None and len(args) > index:
            src = args[index]
        if src is None or (isinstance(src, T.Name) and src.id == "None"):
            return None
        axis = _integer(self.expr(src))
        return {-1: 1, -2: 0}.get(axis, axis)

    def sizes_of(self, args) -> tuple[int, int]:
        items = list(args)
        if len(items) == 1 and isinstance(items[0], T.TupleLit):
            items = list(items[0].items)
        dims = [_integer(self.expr(a)) for a in items]
        return (dims[0], 1) if len(dims) == 1 else (dims[0], dims[1])


@dataclass(frozen=True, eq=False)
class _Evaluated(T.Node):
    """An operand already evaluated (the argument of ``log det(Σ)``)."""

    array: np.ndarray = None


def product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Juxtaposition: a scalar multiple if either side is 1×1, else a matrix product."""
    if a.shape == (1, 1) or b.shape == (1, 1):  # _is_scalar, inlined: every product passes here
        return a * b
    return a @ b


def _integer(v: np.ndarray) -> int:
    x = float(np.asarray(v).reshape(-1)[0])
    if x != round(x):
        raise ReferenceError(f"expected an integer, got {x}")
    return int(round(x))


def _arith(text: str) -> int:
    """+, −, × and brackets over integers, without eval."""
    tokens = text.split()
    pos = 0

    def atom():
        nonlocal pos
        t = tokens[pos]
        pos += 1
        if t == "(":
            v = expr()
            pos += 1  # ')'
            return v
        if t == "-":
            return -atom()
        return int(t)

    def term():
        nonlocal pos
        v = atom()
        while pos < len(tokens) and tokens[pos] == "*":
            pos += 1
            v *= atom()
        return v

    def expr():
        nonlocal pos
        v = term()
        while pos < len(tokens) and tokens[pos] in "+-":
            op = tokens[pos]
            pos += 1
            v = v + term() if op == "+" else v - term()
        return v

    return expr()


@lru_cache(maxsize=4096)
def _strip(name: str) -> str:
    for p in PREFIXES:
        if name.startswith(p):
            return name[len(p):]
    return name


# ====================================================================== the function table
_TABLE: dict = {}


def function(name: str):
    """The implementation of a function name (prefixes allowed), or None."""
    base = _strip(name)
    base = ELEMENTWISE_ALIASES.get(base, base)
    if base in ELEMENTWISE:
        return True
    return _TABLE.get(base)


def defines(*names):
    def deco(fn):
        for n in names:
            _TABLE[n] = fn
        return fn
    return deco


@defines("sum", "Σ", "∑")
def _sum(ref, args, kw):
    x, axis = ref.expr(args[0]), ref.axis(args, kw)
    return _scalar(x.sum()) if axis is None else x.sum(axis=axis, keepdims=True)


@defines("mean")
def _mean(ref, args, kw):
    x, axis = ref.expr(args[0]), ref.axis(args, kw)
    return _scalar(x.mean()) if axis is None else x.mean(axis=axis, keepdims=True)


@defines("var")
def _var(ref, args, kw):
    x, axis = ref.expr(args[0]), ref.axis(args, kw)
    ddof = _integer(ref.expr(kw["ddof"])) if "ddof" in kw else 0
    return _scalar(x.var(ddof=ddof)) if axis is None else x.var(axis=axis, keepdims=True, ddof=ddof)


@defines("std")
def _std(ref, args, kw):
    return np.sqrt(_var(ref, args, kw))


@defines("tr", "trace", "Tr")
def _trace(ref, args, kw):
    return _scalar(np.trace(ref.expr(args[0])))


@defines("det")
def _det(ref, args, kw):
    return _scalar(np.linalg.det(ref.expr(args[0])))


@defines("logdet", "log_det", "slogdet")
def _logdet(ref, args, kw):
    sign, value = np.linalg.slogdet(ref.expr(args[0]))
    return _scalar(value if sign > 0 else np.nan)


@defines("inv", "inverse")
def _inv(ref, args, kw):
    return np.linalg.inv(ref.expr(args[0]))


@defines("matrix_power")
def _matrix_power(ref, args, kw):
    return np.linalg.matrix_power(ref.expr(args[0]), _integer(ref.expr(args[1])))


@defines("diag")
def _diag(ref, args, kw):
    x = ref.expr(args[0])
    if 1 in x.shape:
        return np.diag(x.ravel())
    return np.diag(x).reshape(-1, 1).copy()


@defines("kron")
def _kron(ref, args, kw):
    return np.kron(ref.expr(args[0]), ref.expr(args[1]))


@defines("vec")
def _vec(ref, args, kw):
    return ref.expr(args[0]).reshape(-1, 1, order="F")


@defines("transpose")
def _transpose(ref, args, kw):
    return ref.expr(args[0]).T


@defines("outer")
def _outer(ref, args, kw):
    return _col(ref.expr(args[0])) @ _col(ref.expr(args[1])).T


@defines("inner", "vdot")
def _inner(ref, args, kw):
    return _scalar(np.sum(ref.expr(args[0]) * ref.expr(args[1])))


@defines("dot", "matmul")
def _dot(ref, args, kw):
    a, b = ref.expr(args[0]), ref.expr(args[1])
    if a.shape[1] == 1 and b.shape[1] == 1 and a.shape[0] == b.shape[0] and a.shape[0] != 1:
        return a.T @ b  # np.dot of two vectors
    return product(a, b)


@defines("multiply")
def _multiply(ref, args, kw):
    return ref.expr(args[0]) * ref.expr(args[1])


@defines("divide")
def _divide(ref, args, kw):
    return ref.expr(args[0]) / ref.expr(args[1])


@defines("norm")
def _norm(ref, args, kw):
    x = ref.expr(args[0])
    return _scalar(np.sqrt(np.sum(x * x)))


@defines("maximum")
def _maximum(ref, args, kw):
    return np.maximum(ref.expr(args[0]), ref.expr(args[1]))


@defines("power")
def _power(ref, args, kw):
    return np.power(ref.expr(args[0]), ref.expr(args[1]))


@defines("square")
def _square(ref, args, kw):
    return ref.expr(args[0]) ** 2


def _vector_axis(x: np.ndarray, axis):
    if axis is not None:
        return axis
    if x.shape[1] == 1:
        return 0
    if x.shape[0] == 1:
        return 1
    return None


def _logsumexp(x: np.ndarray, axis) -> np.ndarray:
    m = x.max(axis=axis, keepdims=True)
    out = m + np.log(np.exp(x - m).sum(axis=axis, keepdims=True))
    return out.reshape(1, 1) if axis is None else out


@defines("softmax")
def _softmax(ref, args, kw):
    x = ref.expr(args[0])
    return np.exp(x - _logsumexp(x, _vector_axis(x, ref.axis(args, kw))))


@defines("log_softmax", "logsoftmax")
def _log_softmax(ref, args, kw):
    x = ref.expr(args[0])
    return x - _logsumexp(x, _vector_axis(x, ref.axis(args, kw)))


@defines("logsumexp", "LSE", "lse")
def _lse(ref, args, kw):
    x = ref.expr(args[0])
    return _logsumexp(x, _vector_axis(x, ref.axis(args, kw)))


@defines("CE", "ce", "cross_entropy", "crossentropy", "H")
def _cross_entropy(ref, args, kw):
    return _scalar(-(ref.expr(args[0]) * np.log(ref.expr(args[1]))).sum())


@defines("ones")
def _ones(ref, args, kw):
    return np.ones(ref.sizes_of(args))


@defines("zeros")
def _zeros(ref, args, kw):
    return np.zeros(ref.sizes_of(args))


@defines("commutation", "K")
def _commutation(ref, args, kw):
    """K(m, n) vec(A) = vec(Aᵀ) for an m×n A."""
    m, n = (_integer(ref.expr(a)) for a in args)
    k = np.zeros((m * n, m * n))
    for i in range(m):
        for j in range(n):
            k[i * n + j, j * m + i] = 1.0
    return k


@defines("unvec")
def _unvec(ref, args, kw):
    """unvec(v, m, n): the m×n matrix whose vec (columns stacked) is v."""
    m, n = (_integer(ref.expr(a)) for a in args[1:])
    return ref.expr(args[0]).reshape((m, n), order="F")


@defines("eye", "identity", "I")
def _eye(ref, args, kw):
    return np.eye(_integer(ref.expr(args[0])))


def _stack(axis: int):
    def impl(ref, args, kw):
        return np.concatenate([ref.expr(i) for i in args[0].items], axis=axis)
    return impl


defines("hstack", "column_stack")(_stack(1))
defines("vstack", "row_stack")(_stack(0))


@defines("concatenate")
def _concatenate(ref, args, kw):
    return _stack(ref.axis(args, kw) or 0)(ref, args[:1], kw)


# ====================================================================== a function of one variable
def names_read(node) -> set[str]:
    """The names an expression reads directly (not through definitions)."""
    out: set[str] = set()
    for n in T.walk(node):
        if isinstance(n, T.Name):
            out.add(n.id)
        elif isinstance(n, T.Call):
            out.add(n.func)
    return out


class Written:
    """``of`` as written in the cell, as a function of the name ``wrt`` (a
    declared variable, or a defined name whose own inputs are then held fixed),
    everything else fixed at ``env``/``sizes``.

    Definitions that do not depend on ``wrt`` are evaluated once."""

    def __init__(self, program: T.Program, of_node, wrt: str, env: dict, sizes: dict, shapes: dict | None = None,
                 point: PointValues | None = None):
        self.program, self.of_node, self.wrt = program, of_node, wrt
        self.env, self.sizes, self.shapes = dict(env), sizes, shapes
        base = Reference(program, env, sizes, shapes, point=point)  # the fixed values, at env itself
        self.template = Reference(program, self.env, sizes, shapes)
        self.is_defined = wrt in base.definitions
        reads = definition_reads(program)
        varying = {wrt}
        for name in base.definitions:  # in the order written
            if name != wrt and reads[name] & varying:
                varying.add(name)
        self.fixed = {}
        needed = self._needed(base.definitions, reads)
        for name in base.definitions:
            if name in needed and name not in varying:
                self.fixed[name] = base.name(name)

    def _needed(self, definitions: dict, reads: dict) -> set[str]:
        needed: set[str] = set()
        stack = list(names_read(self.of_node))
        while stack:
            name = stack.pop()
            if name in needed or name not in definitions or name == self.wrt:
                continue
            needed.add(name)
            stack.extend(reads[name])
        return needed

    def __call__(self, x: np.ndarray) -> np.ndarray:
        env, given = self.env, dict(self.fixed)
        if self.is_defined:
            given[self.wrt] = x
        else:
            env = dict(env)
            env[self.wrt] = x
        return self.template.at(env, given).expr(self.of_node)
