"""Broadcasting and its adjoints: sums, traces, diagonals.

``b`` added to every column of ``W X`` is ``broadcast(b)``; its adjoint sums
the columns back (Ng's ``db = Σ dZ``).  Traces and diagonals are the other
reductions of the language.
"""

from __future__ import annotations


import numpy as np
import sympy

from ..graph import const, eye, is_all_ones, is_const, is_zero, make, ones, zeros
from ..shapes import ONE, ShapeError, concrete_shape, same, shape_str
from . import build as B
from .helpers import fill_value
from .registry import FUNC, MUL, Notation, OpRule, register


# =========================================================== broadcast
def _broadcast_shape(shapes, params):
    (src,) = shapes
    (target,) = params
    for k, axis in ((0, "rows"), (1, "columns")):
        if not (src[k] == ONE or same(src[k], target[k])):
            raise ShapeError(f"cannot broadcast {shape_str(src)} to {shape_str(target)} ({axis} differ)", (0,))
    return target


def _broadcast_canon(args, params):
    (a,) = args
    (target,) = params
    target = (sympy.sympify(target[0]), sympy.sympify(target[1]))
    _broadcast_shape((a.shape,), (target,))
    if same(a.shape[0], target[0]) and same(a.shape[1], target[1]):
        return a
    if is_zero(a):
        return zeros(*target)
    if a.op == "broadcast":
        return B.broadcast(a.args[0], target)
    if a.op == "smul" and is_const(a.args[0]):
        return B.smul(a.args[0], B.broadcast(a.args[1], target))
    if a.op == "ones":
        return ones(*target)
    return make("broadcast", (a,), (target,))


def _broadcast_eval(v, params, node, ctx):
    return np.broadcast_to(v[0], concrete_shape(node.shape, ctx.sizes)).copy()


def _broadcast_transpose(node, ct, i):
    src = node.args[0].shape
    grow_rows = src[0] == ONE and node.shape[0] != ONE
    grow_cols = src[1] == ONE and node.shape[1] != ONE
    if grow_rows and grow_cols:
        return B.total(ct)
    if grow_rows:
        return B.total(ct, axis=0)
    return B.total(ct, axis=1)


def _broadcast_vec(node, i, k):
    src = node.args[0].shape
    r, c = node.shape
    grow_rows = src[0] == ONE and r != ONE
    grow_cols = src[1] == ONE and c != ONE
    if grow_rows and grow_cols:
        return B.matmul(ones(sympy.expand(r * c), ONE), k)
    if grow_cols:  # vec(b 𝟏ᵀ) = (𝟏 ⊗ I) b
        return B.matmul(B.kron(ones(c, ONE), eye(r)), k)
    return B.matmul(B.kron(eye(c), ones(r, ONE)), k)  # vec(𝟏 a) = (I ⊗ 𝟏) a


register(OpRule(
    "broadcast", _broadcast_shape, _broadcast_eval, Notation("custom", precedence=MUL),
    canon=_broadcast_canon, linear=True,
    jvp=lambda node, ts: B.broadcast(ts[0], node.shape) if ts[0] is not None else None,
    transpose=_broadcast_transpose,
    vec=_broadcast_vec,
    rule_name="d(b 𝟏ᵀ) = db 𝟏ᵀ",
))


# =========================================================== sum
def _sum_shape(shapes, params):
    (s,) = shapes
    (axis,) = params
    if axis is None:
        return (ONE, ONE)
    if axis == 0:
        return (ONE, s[1])
    if axis == 1:
        return (s[0], ONE)
    raise ShapeError(f"axis must be 0 or 1, not {axis}")


def _sum_canon(args, params):
    (a,) = args
    (axis,) = params
    shape = _sum_shape((a.shape,), params)
    if is_zero(a):
        return zeros(*shape)
    if axis == 0 and a.shape[0] == ONE or axis == 1 and a.shape[1] == ONE or a.is_scalar:
        return a
    if axis is None and a.shape[0] == ONE:
        return B.total(a, axis=1)
    if axis is None and a.shape[1] == ONE:
        axis = 0  # Σ of a column is its sum down the column
    if a.op == "smul":
        return B.smul(a.args[0], B.total(a.args[1], axis))
    if a.op == "softmax" and a.params[0] == axis:  # each softmax sums to 1 along its axis
        return ones(*shape)
    if a.op == "broadcast":  # 𝟏ᵀ (𝟏 r) is N r: a copy along the summed axis counts
        return _sum_of_broadcast(a, axis, shape)
    fill = fill_value(a)
    if fill is not None:
        count = a.shape[0] * a.shape[1] if axis is None else a.shape[axis]
        body = B.smul(const(sympy.expand(count)), fill)
        return body if axis is None else B.broadcast(body, shape)
    if axis is None or (axis == 0 and a.shape[1] == ONE) or (axis == 1 and a.shape[0] == ONE):
        if a.op == "hadamard" and len(a.args) >= 2:
            x, y = a.args[0], B.hadamard(*a.args[1:])
            if a.shape[1] == ONE:
                return B.matmul(B.transpose(x), y)
            if a.shape[0] == ONE:
                return B.matmul(x, B.transpose(y))
            return B.trace(B.matmul(B.transpose(x), y))
    if axis is None:
        return make("sum", (a,), (None,))
    return make("sum", (a,), (axis,))


def _sum_of_broadcast(a, axis, shape):
    """The sum of ``a`` = broadcast(x) along ``axis`` (None: all entries):
    the copies along an axis x spreads over count, its own entries are summed."""
    x = a.args[0]
    count, inner = sympy.Integer(1), x
    for k in ((0, 1) if axis is None else (axis,)):
        if x.shape[k] == ONE:
            count *= a.shape[k]
        else:
            inner = B.total(inner, k)
    body = inner if count == 1 else B.smul(const(sympy.expand(count)), inner)
    return body if body.shape == shape else B.broadcast(body, shape)


def _sum_eval(v, params, node, ctx):
    (axis,) = params
    if axis is None:
        return np.array([[v[0].sum()]])
    return v[0].sum(axis=axis, keepdims=True)


def _sum_vec(node, i, k):
    r, c = node.args[0].shape
    (axis,) = node.params
    if axis is None:
        return B.matmul(ones(ONE, sympy.expand(r * c)), k)
    if axis == 0:  # vec(𝟏ᵀ A) = (I ⊗ 𝟏ᵀ) vec A
        return B.matmul(B.kron(eye(c), ones(ONE, r)), k)
    return B.matmul(B.kron(ones(ONE, c), eye(r)), k)  # vec(A 𝟏) = (𝟏ᵀ ⊗ I) vec A


register(OpRule(
    "sum", _sum_shape, _sum_eval, Notation("custom", precedence=MUL),
    canon=_sum_canon, linear=True,
    jvp=lambda node, ts: B.total(ts[0], node.params[0]) if ts[0] is not None else None,
    transpose=lambda node, ct, i: B.broadcast(ct, node.args[0].shape),
    vec=_sum_vec,
    rule_name="d Σ A = Σ dA",
))


# =========================================================== trace
def _trace_shape(shapes, _params):
    (s,) = shapes
    if not same(s[0], s[1]):
        raise ShapeError(f"the trace needs a square matrix, not {shape_str(s)}", (0,))
    return (ONE, ONE)


def _trace_canon(args, params):
    (a,) = args
    _trace_shape((a.shape,), params)
    if a.is_scalar:
        return a
    if is_zero(a):
        return const(0)
    if a.op == "eye":
        return const(a.shape[0])
    if a.op == "smul":
        return B.smul(a.args[0], B.trace(a.args[1]))
    if a.op == "transpose":
        return B.trace(a.args[0])
    if a.op == "kron":  # tr(A ⊗ B) = tr(A) tr(B)
        x, y = a.args
        if same(x.shape[0], x.shape[1]) and same(y.shape[0], y.shape[1]):
            return B.smul(B.trace(x), B.trace(y))
    if a.op == "matmul":
        f = a.args
        for r in range(1, len(f)):  # tr(x yᵀ) = yᵀ x: rotate into a 1×1 product
            rotated = f[r:] + f[:r]
            if rotated[0].shape[0] == ONE and rotated[-1].shape[1] == ONE:
                return B.matmul(*rotated)
    return make("trace", args, ())


register(OpRule(
    "trace", _trace_shape, lambda v, p, n, c: np.array([[np.trace(v[0])]]),
    Notation("func", latex="\\operatorname{tr}", text="tr", numpy="np.trace", precedence=FUNC),
    canon=_trace_canon, linear=True,
    jvp=lambda node, ts: B.trace(ts[0]) if ts[0] is not None else None,
    transpose=lambda node, ct, i: B.smul(ct, eye(node.args[0].shape[0])),
    vec=lambda node, i, k: B.matmul(B.transpose(B.vec(eye(node.args[0].shape[0]))), k),
    rule_name="d tr(A) = tr(dA)",
))


# =========================================================== diag
def _diag_shape(shapes, _params):
    (s,) = shapes
    if s[1] == ONE:
        return (s[0], s[0])
    if s[0] == ONE:
        return (s[1], s[1])
    raise ShapeError(f"diag(v) needs a vector, not {shape_str(s)} (use diagvec for a matrix's diagonal)", (0,))


def _diag_canon(args, params):
    (v,) = args
    shape = _diag_shape((v.shape,), params)
    if is_zero(v):
        return zeros(*shape)
    if v.is_scalar:
        return v
    if v.op == "smul":
        return B.smul(v.args[0], B.diag(v.args[1]))
    if v.op == "transpose":
        return B.diag(v.args[0])
    if is_all_ones(v):
        return eye(shape[0])
    return make("diag", args, ())


def _diag_selector(n):
    """S (n²×n) with vec(diag(v)) = S v and diag(A) = Sᵀ vec(A):
    S = diag(vec I) (𝟏 ⊗ I), since vec(diag v) = vec(I) ⊙ (𝟏 ⊗ v)."""
    return B.matmul(B.diag(B.vec(eye(n))), B.kron(ones(n, ONE), eye(n)))


def _diag_transpose(node, ct, i):
    d = B.diagvec(ct)
    return d if node.args[0].shape[1] == ONE else B.transpose(d)


register(OpRule(
    "diag", _diag_shape, lambda v, p, n, c: np.diag(v[0].ravel()),
    Notation("func", latex="\\operatorname{diag}", text="diag", numpy="np.diag", precedence=FUNC),
    canon=_diag_canon, linear=True,
    jvp=lambda node, ts: B.diag(ts[0]) if ts[0] is not None else None,
    transpose=_diag_transpose,
    vec=lambda node, i, k: B.matmul(_diag_selector(node.shape[0]), k),
    rule_name="d diag(v) = diag(dv)",
))


def _diagvec_shape(shapes, _params):
    (s,) = shapes
    if not same(s[0], s[1]):
        raise ShapeError(f"the diagonal of a non-square {shape_str(s)} matrix", (0,))
    return (s[0], ONE)


def _diagvec_canon(args, params):
    (a,) = args
    _diagvec_shape((a.shape,), params)
    if a.op == "diag":
        v = a.args[0]
        return v if v.shape[1] == ONE else B.transpose(v)
    if a.op == "eye":
        return ones(a.shape[0], ONE)
    if a.op == "smul":
        return B.smul(a.args[0], B.diagvec(a.args[1]))
    if a.op == "transpose":
        return B.diagvec(a.args[0])
    if a.is_scalar:
        return a
    return make("diagvec", args, ())


register(OpRule(
    "diagvec", _diagvec_shape, lambda v, p, n, c: np.diag(v[0]).reshape(-1, 1).copy(),
    Notation("func", latex="\\operatorname{diag}", text="diag", numpy="np.diag", precedence=FUNC),
    canon=_diagvec_canon, linear=True,
    jvp=lambda node, ts: B.diagvec(ts[0]) if ts[0] is not None else None,
    transpose=lambda node, ct, i: B.diag(ct),
    vec=lambda node, i, k: B.matmul(B.transpose(_diag_selector(node.shape[0])), k),
    rule_name="d diag(A) = diag(dA)",
))
