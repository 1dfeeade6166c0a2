"""The functions a cell may call, in both notations, and what each builds.

One entry per function; NumPy spellings (``np.linalg.inv``), textbook ones
(``tr``, ``σ``) and common aliases resolve here.  Compositions such as CE,
mean, outer and norms are built from operators rather than being operators
themselves, so they need no derivative rule of their own.
"""

from __future__ import annotations

from typing import Callable

import sympy

from . import graph as G
from .ops import build as B
from .ops.elementwise import BY_NAME as ELEMENTWISE
from .shapes import ONE, same, shape_str
from .syntax import tree as T

Spec = Callable  # (checker, node, args, kwargs, primes) -> Expr
_TABLE: dict[str, Spec] = {}
_CANONICAL: dict[str, str] = {}  # every spelling -> the first name its entry was defined with
_PREFIXES = ("numpy.linalg.", "np.linalg.", "numpy.", "np.", "scipy.special.", "math.", "jnp.")


def _spelled(name: str) -> str | None:
    """The key of ``_TABLE`` that ``name`` spells, with or without a prefix."""
    if name in _TABLE:
        return name
    for p in _PREFIXES:
        if name.startswith(p) and name[len(p):] in _TABLE:
            return name[len(p):]
    return None


def lookup(name: str) -> Spec | None:
    key = _spelled(name)
    return None if key is None else _TABLE[key]


def canonical_name(name: str) -> str | None:
    """The function's own name for any spelling (``np.linalg.inv`` → ``inv``,
    ``σ`` → ``sigmoid``), or None for a name that is not a function."""
    key = _spelled(name)
    return None if key is None else _CANONICAL[key]


def all_names() -> list[str]:
    return sorted(_TABLE)


def define(*names: str):
    def deco(fn: Spec) -> Spec:
        for n in names:
            _TABLE[n] = fn
            _CANONICAL[n] = names[0]
        return fn
    return deco


# ------------------------------------------------------------------ argument helpers
def _arity(ck, node, args, n, name, kwargs=None, allowed=()):
    if len(args) != n:
        ck.fail(f"{name} takes {n} argument{'s' if n != 1 else ''}, got {len(args)}", node)
    for k in kwargs or {}:
        if k not in allowed:
            ck.fail(f"{name} has no argument {k!r}", node)


def _axis_source(kwargs, args, index=1):
    """The axis as written, by keyword or position (None if not written)."""
    src = kwargs.get("axis")
    if src is None and len(args) > index:
        src = args[index]
    return src


def _axis(ck, kwargs, args, index=1):
    """axis=0/1/None from a keyword or a positional argument."""
    src = _axis_source(kwargs, args, index)
    if src is None:
        return None
    if isinstance(src, T.Name) and src.id == "None":
        return None
    e = ck.expr(src)
    if not (G.is_const(e) and G.const_value(e) in (0, 1, -1, -2)):
        ck.fail("axis must be 0 or 1", src)
    v = int(G.const_value(e))
    return {-1: 1, -2: 0}.get(v, v)


def _no_primes(ck, node, primes, name):
    if primes:
        ck.fail(f"{name}′ is not defined; primes are for elementwise functions such as relu′ or σ′", node)


def _vector_axis(x, axis):
    """softmax over a vector runs along it; a matrix needs an axis."""
    if axis is not None:
        return axis
    if x.shape[1] == ONE:
        return 0
    if x.shape[0] == ONE:
        return 1
    return None


# ------------------------------------------------------------------ elementwise
def _elementwise(fname: str):
    def spec(ck, node, args, kwargs, primes):
        _arity(ck, node, args, 1, fname)
        x = ck.expr(args[0])
        if primes == 0:
            return B.elementwise(fname, x)
        if primes > 1:
            ck.fail("only first derivatives f′ of elementwise functions are supported", node)
        if fname == "relu":
            return B.elementwise("drelu", x)
        row = ELEMENTWISE[fname]
        if row.differential is None:
            return B.zeros(*x.shape)
        y = B.elementwise(fname, x)
        return row.differential(x, y, B.fill(1, x.shape))
    return spec


for _name, _aliases in {
    "exp": (), "log": ("ln",), "sqrt": ("√",), "sin": (), "cos": (), "tanh": (),
    "sigmoid": ("σ", "sigma", "expit", "logistic"), "relu": ("ReLU",), "softplus": (),
    "abs": ("absolute",), "sign": ("sgn",), "cosh": (), "sinh": (), "tan": (),
    "arctan": ("atan",), "log1p": (), "expm1": (),
}.items():
    define(_name, *_aliases)(_elementwise(_name))


@define("maximum")
def _maximum(ck, node, args, kwargs, primes):
    _arity(ck, node, args, 2, "maximum")
    a, b = ck.expr(args[0]), ck.expr(args[1])
    if G.is_zero(b) or G.is_const(b, 0):
        return B.elementwise("relu", a)
    if G.is_zero(a) or G.is_const(a, 0):
        return B.elementwise("relu", b)
    ck.fail("maximum is supported as maximum(x, 0) (the ReLU)", node)


@define("power")
def _power(ck, node, args, kwargs, primes):
    _arity(ck, node, args, 2, "power")
    p = ck.expr(args[1])
    if not p.is_scalar:
        ck.fail("the exponent must be a scalar", args[1])
    return B.epow(ck.expr(args[0]), p)


@define("square")
def _square(ck, node, args, kwargs, primes):
    _arity(ck, node, args, 1, "square")
    return B.epow(ck.expr(args[0]), 2)


# ------------------------------------------------------------------ reductions
@define("sum", "Σ", "∑")
def _sum(ck, node, args, kwargs, primes):
    _no_primes(ck, node, primes, "sum")
    if len(args) not in (1, 2):
        ck.fail("sum takes one argument (and an optional axis)", node)
    for k in kwargs:
        if k not in ("axis", "keepdims"):
            ck.fail(f"sum has no argument {k!r}", node)
    return B.total(ck.expr(args[0]), _axis(ck, kwargs, args))


@define("mean")
def _mean(ck, node, args, kwargs, primes):
    _no_primes(ck, node, primes, "mean")
    x = ck.expr(args[0])
    axis = _axis(ck, kwargs, args)
    count = x.shape[0] * x.shape[1] if axis is None else x.shape[axis]
    return B.smul(G.const(1 / sympy.expand(count)), B.total(x, axis))


def _spread_args(ck, node, args, kwargs, name):
    """x, axis and ddof of var/std, as NumPy takes them (np.var(X, axis=0,
    keepdims=True, ddof=0)); the reduced axis is kept as size 1 either way,
    as sum and mean keep it."""
    _no_primes(ck, node, 0, name)
    if len(args) not in (1, 2):
        ck.fail(f"{name} takes one argument (and an optional axis)", node)
    for k, v in kwargs.items():
        if k not in ("axis", "keepdims", "ddof"):
            ck.fail(f"{name} has no argument {k!r}", v)
    keep = kwargs.get("keepdims")
    if keep is not None and not (isinstance(keep, T.Name) and keep.id in ("True", "False")):
        ck.fail("keepdims is True or False", keep)
    ddof = sympy.Integer(0)
    if "ddof" in kwargs:
        ddof = ck.size_value(kwargs["ddof"]) if not _is_zero_number(kwargs["ddof"]) else ddof
    x = ck.expr(args[0])
    return x, _axis(ck, kwargs, args), ddof


def _is_zero_number(node) -> bool:
    return isinstance(node, T.Number) and node.value == 0


def _variance(x, axis, ddof):
    """mean((x − mean(x))^∘2) along the axis, divided by (count − ddof) instead
    of the count for ddof > 0: a composition, so no derivative rule of its own."""
    count = sympy.expand(x.shape[0] * x.shape[1] if axis is None else x.shape[axis])
    mean = B.smul(G.const(1 / count), B.total(x, axis))
    centred = B.sub(x, B.broadcast(mean, x.shape))
    return B.smul(G.const(1 / sympy.expand(count - ddof)), B.total(B.epow(centred, 2), axis))


@define("var")
def _var(ck, node, args, kwargs, primes):
    _no_primes(ck, node, primes, "var")
    return _variance(*_spread_args(ck, node, args, kwargs, "var"))


@define("std")
def _std(ck, node, args, kwargs, primes):
    _no_primes(ck, node, primes, "std")
    return B.elementwise("sqrt", _variance(*_spread_args(ck, node, args, kwargs, "std")))


@define("tr", "trace", "Tr")
def _trace(ck, node, args, kwargs, primes):
    _arity(ck, node, args, 1, "tr")
    x = ck.expr(args[0])
    if ck.square(x) is None:
        ck.fail(f"the trace needs a square matrix; {ck.text(args[0])} is {shape_str(x.shape)}", node,
                ck.shapes_of((args[0], x)))
    return B.trace(ck.square(x))


def _square_arg(ck, node, args, what):
    _arity(ck, node, args, 1, what)
    x = ck.expr(args[0])
    if ck.square(x) is None:
        ck.fail(f"{what} needs a square matrix; {ck.text(args[0])} is {shape_str(x.shape)}", node,
                ck.shapes_of((args[0], x)))
    return ck.square(x)


@define("det")
def _det(ck, node, args, kwargs, primes):
    return B.det(_square_arg(ck, node, args, "det"))


@define("logdet", "log_det", "slogdet")
def _logdet(ck, node, args, kwargs, primes):
    return B.logdet(_square_arg(ck, node, args, "logdet"))


@define("inv", "inverse")
def _inv(ck, node, args, kwargs, primes):
    return B.inv(_square_arg(ck, node, args, "inv"))


@define("matrix_power")
def _matrix_power(ck, node, args, kwargs, primes):
    _arity(ck, node, args, 2, "matrix_power")
    x = ck.expr(args[0])
    k = ck.expr(args[1])
    if ck.square(x) is None:
        ck.fail(f"matrix_power needs a square matrix; {ck.text(args[0])} is {shape_str(x.shape)}", node)
    if not (G.is_const(k) and G.const_value(k).is_Integer):
        ck.fail("matrix_power needs an integer exponent", args[1])
    return B.matpow(ck.square(x), int(G.const_value(k)))


@define("diag")
def _diag(ck, node, args, kwargs, primes):
    _arity(ck, node, args, 1, "diag")
    x = ck.expr(args[0])
    if x.shape[0] == ONE or x.shape[1] == ONE:
        return B.diag(x)
    if ck.square(x) is not None:
        return B.diagvec(ck.square(x))
    ck.fail(f"diag needs a vector or a square matrix; {ck.text(args[0])} is {shape_str(x.shape)}", node)


@define("kron")
def _kron(ck, node, args, kwargs, primes):
    _arity(ck, node, args, 2, "kron")
    return B.kron(ck.expr(args[0]), ck.expr(args[1]))


@define("vec")
def _vec(ck, node, args, kwargs, primes):
    _arity(ck, node, args, 1, "vec")
    return B.vec(ck.expr(args[0]))


@define("unvec")
def _unvec(ck, node, args, kwargs, primes):
    """unvec(v, m, n): the m×n matrix whose vec is v (as printed)."""
    _arity(ck, node, args, 3, "unvec")
    v = ck.expr(args[0])
    rows, cols = ck.size_value(args[1]), ck.size_value(args[2])
    if not (v.shape[1] == ONE and ck.unify(v.shape[0], rows * cols)):
        ck.fail(f"unvec: {ck.text(args[0])} ({shape_str(v.shape)}) does not have {rows * cols} entries", node)
    return B.unvec(ck.open.resolve(v), (rows, cols))


@define("transpose")
def _transpose(ck, node, args, kwargs, primes):
    _arity(ck, node, args, 1, "transpose")
    return B.transpose(ck.expr(args[0]))


def _as_column(x):
    return x if x.shape[1] == ONE else B.transpose(x) if x.shape[0] == ONE else None


@define("outer")
def _outer(ck, node, args, kwargs, primes):
    _arity(ck, node, args, 2, "outer")
    a, b = ck.expr(args[0]), ck.expr(args[1])
    ca, cb = _as_column(a), _as_column(b)
    if ca is None or cb is None:
        ck.fail("outer takes two vectors", node)
    return B.matmul(ca, B.transpose(cb))


@define("inner", "vdot")
def _inner(ck, node, args, kwargs, primes):
    _arity(ck, node, args, 2, "inner")
    a, b = ck.expr(args[0]), ck.expr(args[1])
    if not (same(a.shape[0], b.shape[0]) and same(a.shape[1], b.shape[1])):
        ck.fail(f"inner needs equal shapes: {shape_str(a.shape)} and {shape_str(b.shape)}", node)
    return B.inner(a, b)


@define("dot", "matmul")
def _dot(ck, node, args, kwargs, primes):
    _arity(ck, node, args, 2, "dot")
    a, b = ck.expr(args[0]), ck.expr(args[1])
    if a.shape[1] == ONE and b.shape[1] == ONE and same(a.shape[0], b.shape[0]) and a.shape[0] != ONE:
        return B.matmul(B.transpose(a), b)  # np.dot of two vectors
    fake = T.Juxt(node.span, args[0], args[1])
    return ck.matmul(fake, a, b)


@define("multiply")
def _multiply(ck, node, args, kwargs, primes):
    _arity(ck, node, args, 2, "multiply")
    return ck.x_BinOp(T.BinOp(node.span, "*", args[0], args[1]))


@define("divide")
def _divide(ck, node, args, kwargs, primes):
    _arity(ck, node, args, 2, "divide")
    return ck.x_BinOp(T.BinOp(node.span, "/", args[0], args[1]))


@define("norm")
def _norm(ck, node, args, kwargs, primes):
    if len(args) not in (1, 2):
        ck.fail("norm takes a vector or matrix (and an optional ord)", node)
    kind = None
    src = kwargs.get("ord") or (args[1] if len(args) > 1 else None)
    if src is not None:
        kind = ck.text(src).strip("'\"")
    return ck.x_Norm(T.Norm(node.span, args[0], kind, None))


# ------------------------------------------------------------------ softmax family
def _softmax_like(which: str):
    def spec(ck, node, args, kwargs, primes):
        _no_primes(ck, node, primes, which)
        if len(args) not in (1, 2):
            ck.fail(f"{which} takes one argument (and an optional axis)", node)
        x = ck.expr(args[0])
        axis = _vector_axis(x, _axis(ck, kwargs, args))
        src = _axis_source(kwargs, args)
        over_all = isinstance(src, T.Name) and src.id == "None"  # written out: every entry
        if axis is None and which != "logsumexp" and not over_all:
            ck.fail(f"{which} of a {shape_str(x.shape)} matrix needs axis=0 (columns), axis=1 (rows) "
                    f"or axis=None (all entries)", node)
        return {"softmax": B.softmax, "log_softmax": B.logsoftmax, "logsumexp": B.logsumexp}[which](x, axis)
    return spec


define("softmax")(_softmax_like("softmax"))
define("log_softmax", "logsoftmax")(_softmax_like("log_softmax"))
define("logsumexp", "LSE", "lse")(_softmax_like("logsumexp"))


@define("CE", "ce", "cross_entropy", "crossentropy", "H")
def _cross_entropy(ck, node, args, kwargs, primes):
    """CE(y, ŷ) = −Σ y ⊙ log ŷ (summed over classes and examples)."""
    _arity(ck, node, args, 2, "CE")
    y, p = ck.expr(args[0]), ck.expr(args[1])
    if not (same(y.shape[0], p.shape[0]) and same(y.shape[1], p.shape[1])):
        ck.fail(f"CE(y, ŷ) needs equal shapes; {ck.text(args[0])} is {shape_str(y.shape)}, "
                f"{ck.text(args[1])} is {shape_str(p.shape)}", node, ck.shapes_of((args[0], y), (args[1], p)))
    return B.neg(B.inner(y, B.elementwise("log", p)))


# ------------------------------------------------------------------ constructors
def _size_args(ck, node, args):
    """(m, 1), (m,), m, or m, n → (rows, cols)."""
    items = list(args)
    if len(items) == 1 and isinstance(items[0], T.TupleLit):
        items = list(items[0].items)
    dims = [ck.size_value(a) for a in items]
    if len(dims) == 1:
        return dims[0], ONE
    if len(dims) == 2:
        return dims[0], dims[1]
    ck.fail("expected one or two sizes", node)


@define("ones")
def _ones(ck, node, args, kwargs, primes):
    return G.ones(*_size_args(ck, node, args))


@define("zeros")
def _zeros(ck, node, args, kwargs, primes):
    return G.zeros(*_size_args(ck, node, args))


@define("commutation", "K")
def _commutation(ck, node, args, kwargs, primes):
    """K(m, n), the commutation matrix: K vec(A) = vec(Aᵀ) for an m×n A (as printed)."""
    _arity(ck, node, args, 2, "commutation")
    return B.commutation(ck.size_value(args[0]), ck.size_value(args[1]))


@define("eye", "identity", "I")
def _eye(ck, node, args, kwargs, primes):
    _arity(ck, node, args, 1, "eye")
    return G.eye(ck.size_value(args[0]))


def _stack(axis: int, name: str):
    def spec(ck, node, args, kwargs, primes):
        if len(args) != 1 or not isinstance(args[0], (T.ListLit, T.TupleLit)):
            ck.fail(f"{name} takes a list: {name}([a, b])", node)
        if not args[0].items:
            ck.fail(f"{name} needs at least one array", node)
        items = [ck.expr(i) for i in args[0].items]
        return ck.stack(name, items, args[0].items, axis)
    return spec


define("hstack", "column_stack")(_stack(1, "hstack"))
define("vstack", "row_stack")(_stack(0, "vstack"))


@define("concatenate")
def _concatenate(ck, node, args, kwargs, primes):
    axis = _axis(ck, kwargs, args) or 0
    return _stack(axis, "concatenate")(ck, node, args[:1], {}, primes)
