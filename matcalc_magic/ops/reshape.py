"""Rearranging entries: Kronecker products, vec, slicing, padding, stacking.

Slicing ``θ[1:]`` and stacking ``[𝟏, X]`` are each other's adjoints, which
is how a bias column and an unregularized ``θ₀`` get their gradients.
"""

from __future__ import annotations


import numpy as np
import sympy

from ..graph import eye, is_all_ones, is_zero, make, zeros
from ..shapes import ONE, ShapeError, concrete, concrete_shape, same, shape_str
from . import build as B
from .helpers import present
from .registry import FUNC, MUL, POW, Notation, OpRule, register

ATOM_LIKE = 90  # bracketed blocks print as atoms


# =========================================================== Kronecker product
def _kron_shape(shapes, _params):
    (p, q), (r, s) = shapes
    return (sympy.expand(p * r), sympy.expand(q * s))


def _kron_canon(args, params):
    a, b = args
    if is_zero(a) or is_zero(b):
        return zeros(*_kron_shape((a.shape, b.shape), params))
    if a.is_scalar:
        return B.smul(a, b)
    if b.is_scalar:
        return B.smul(b, a)
    if a.op == "smul":
        return B.smul(a.args[0], B.kron(a.args[1], b))
    if b.op == "smul":
        return B.smul(b.args[0], B.kron(a, b.args[1]))
    if a.op == "eye" and b.op == "eye":
        return eye(sympy.expand(a.shape[0] * b.shape[0]))
    # A row ⊗ a column, or a column ⊗ a row, is an outer product.
    if a.shape[0] == ONE and b.shape[1] == ONE:
        return B.matmul(b, a)
    if a.shape[1] == ONE and b.shape[0] == ONE:
        return B.matmul(a, b)
    return make("kron", args, ())


def _kron_vec_factor(node, i):
    """M with vec(A ⊗ B) = M vec(A) (i = 0) or M vec(B) (i = 1), from
    vec(A ⊗ B) = (I_q ⊗ K_{s,p} ⊗ I_r)(vec A ⊗ vec B) for A p×q, B r×s
    (Magnus & Neudecker, Theorem 3.10)."""
    a, b = node.args
    (p, q), (r, s) = a.shape, b.shape
    shuffle = B.kron(B.kron(eye(q), B.commutation(s, p)), eye(r))
    if i == 0:  # vec A ⊗ vec B = (I ⊗ vec B) vec A
        return B.matmul(shuffle, B.kron(eye(sympy.expand(p * q)), B.vec(b)))
    return B.matmul(shuffle, B.kron(B.vec(a), eye(sympy.expand(r * s))))  # = (vec A ⊗ I) vec B


def _kron_transpose(node, ct, i):
    m = _kron_vec_factor(node, i)
    return B.unvec(B.matmul(B.transpose(m), B.vec(ct)), node.args[i].shape)


register(OpRule(
    "kron", _kron_shape, lambda v, p, n, c: np.kron(v[0], v[1]),
    Notation("infix", latex="\\otimes", text="⊗", numpy="np.kron", precedence=MUL),
    canon=_kron_canon, linear=True,
    jvp=lambda node, ts: B.add(*present([
        B.kron(ts[0], node.args[1]) if ts[0] is not None else None,
        B.kron(node.args[0], ts[1]) if ts[1] is not None else None,
    ])) if present(ts) else None,
    transpose=_kron_transpose,
    vec=lambda node, i, k: B.matmul(_kron_vec_factor(node, i), k),
    rule_name="d(A ⊗ B) = dA ⊗ B + A ⊗ dB",
))


# =========================================================== vec / unvec
def _vec_canon(args, params):
    (a,) = args
    if a.shape[1] == ONE:
        return a
    if a.shape[0] == ONE:
        return B.transpose(a)
    if a.op == "unvec":
        return a.args[0]
    if a.op == "smul":
        return B.smul(a.args[0], B.vec(a.args[1]))
    if is_zero(a):
        return zeros(sympy.expand(a.shape[0] * a.shape[1]), ONE)
    return make("vec", args, ())


register(OpRule(
    "vec", lambda s, p: (sympy.expand(s[0][0] * s[0][1]), ONE),
    lambda v, p, n, c: v[0].reshape(-1, 1, order="F").copy(),
    Notation("func", latex="\\operatorname{vec}", text="vec", numpy="vec", precedence=FUNC),
    canon=_vec_canon, linear=True,
    jvp=lambda node, ts: B.vec(ts[0]) if ts[0] is not None else None,
    transpose=lambda node, ct, i: B.unvec(ct, node.args[0].shape),
    vec=lambda node, i, k: k,
    rule_name="d vec(A) = vec(dA)",
))


def _unvec_shape(shapes, params):
    (s,) = shapes
    (target,) = params
    if not (s[1] == ONE and same(s[0], target[0] * target[1])):
        raise ShapeError(f"cannot reshape {shape_str(s)} into {shape_str(target)}", (0,))
    return target


def _unvec_canon(args, params):
    (v,) = args
    (target,) = params
    target = (sympy.sympify(target[0]), sympy.sympify(target[1]))
    _unvec_shape((v.shape,), (target,))
    if target[1] == ONE:
        return v
    if target[0] == ONE:
        return B.transpose(v)
    if v.op == "vec" and v.args[0].shape == target:
        return v.args[0]
    if v.op == "smul":
        return B.smul(v.args[0], B.unvec(v.args[1], target))
    return make("unvec", (v,), (target,))


register(OpRule(
    "unvec", _unvec_shape,
    lambda v, p, n, c: v[0].reshape(concrete_shape(n.shape, c.sizes), order="F").copy(),
    Notation("func", latex="\\operatorname{vec}^{-1}", text="unvec", numpy="unvec", precedence=FUNC),
    canon=_unvec_canon, linear=True,
    jvp=lambda node, ts: B.unvec(ts[0], node.shape) if ts[0] is not None else None,
    transpose=lambda node, ct, i: B.vec(ct),
    vec=lambda node, i, k: k,
))


# =========================================================== slicing and padding
def _slice_rule(axis: int):
    name = "rows" if axis == 0 else "cols"

    def shape(shapes, params):
        (s,) = shapes
        start, stop = params
        out = list(s)
        out[axis] = sympy.expand(stop - start)
        if (out[axis]).is_number and out[axis] <= 0:
            raise ShapeError(f"empty slice {start}:{stop}", (0,))
        return tuple(out)

    def canon(args, params):
        (a,) = args
        start, stop = params
        shape(tuple(x.shape for x in args), params)
        if start == 0 and same(stop, a.shape[axis]):
            return a
        if is_zero(a):
            return zeros(*shape((a.shape,), params))
        if is_all_ones(a):  # a slice of 𝟏 𝟏ᵀ is all ones too
            return B.fill(1, shape((a.shape,), params))
        if a.op == "smul":
            return B.smul(a.args[0], apply_slice(a.args[1], start, stop))
        pad_op = "pad_rows" if axis == 0 else "pad_cols"
        if a.op == pad_op:  # slicing back what was padded
            before, _total = a.params
            inner = a.args[0]
            if same(start, before) and same(stop, before + inner.shape[axis]):
                return inner
        return make(name, args, params)

    def apply_slice(a, start, stop):
        return B.rows(a, start, stop) if axis == 0 else B.cols(a, start, stop)

    def evaluate(v, params, node, ctx):
        start, stop = (concrete(d, ctx.sizes) for d in params)
        return v[0][start:stop, :] if axis == 0 else v[0][:, start:stop]

    def vec_rule(node, i, k):
        r, c = node.args[0].shape
        start, stop = node.params
        if axis == 0:  # vec(S A) = (I ⊗ S) vec A
            return B.matmul(B.kron(eye(c), B.rows(eye(r), start, stop)), k)
        return B.matmul(B.kron(B.rows(eye(c), start, stop), eye(r)), k)  # vec(A Sᵀ) = (S ⊗ I) vec A

    def transpose(node, ct, i):
        start, _stop = node.params
        total = node.args[0].shape[axis]
        return B.pad_rows(ct, start, total) if axis == 0 else B.pad_cols(ct, start, total)

    register(OpRule(
        name, shape, evaluate, Notation("custom", precedence=POW), canon=canon, linear=True,
        jvp=lambda node, ts: apply_slice(ts[0], *node.params) if ts[0] is not None else None,
        transpose=transpose, vec=vec_rule, rule_name="d(A[i:j]) = dA[i:j]",
    ))


def _pad_rule(axis: int):
    name = "pad_rows" if axis == 0 else "pad_cols"

    def shape(shapes, params):
        (s,) = shapes
        before, total = params
        out = list(s)
        out[axis] = total
        return tuple(out)

    def canon(args, params):
        (a,) = args
        before, total = params
        if before == 0 and same(total, a.shape[axis]):
            return a
        if is_zero(a):
            return zeros(*shape((a.shape,), params))
        if a.op == "smul":
            return B.smul(a.args[0], apply_pad(a.args[1], before, total))
        return make(name, args, params)

    def apply_pad(a, before, total):
        return B.pad_rows(a, before, total) if axis == 0 else B.pad_cols(a, before, total)

    def evaluate(v, params, node, ctx):
        before, total = (concrete(d, ctx.sizes) for d in params)
        out = np.zeros(concrete_shape(node.shape, ctx.sizes))
        if axis == 0:
            out[before:before + v[0].shape[0], :] = v[0]
        else:
            out[:, before:before + v[0].shape[1]] = v[0]
        return out

    def vec_rule(node, i, k):
        r, c = node.args[0].shape
        before, total = node.params
        if axis == 0:
            return B.matmul(B.kron(eye(c), B.pad_rows(eye(r), before, total)), k)
        return B.matmul(B.kron(B.pad_rows(eye(c), before, total), eye(r)), k)

    def transpose(node, ct, i):
        before, _total = node.params
        stop = sympy.expand(before + node.args[0].shape[axis])
        return B.rows(ct, before, stop) if axis == 0 else B.cols(ct, before, stop)

    register(OpRule(
        name, shape, evaluate, Notation("custom", precedence=ATOM_LIKE), canon=canon, linear=True,
        jvp=lambda node, ts: apply_pad(ts[0], *node.params) if ts[0] is not None else None,
        transpose=transpose, vec=vec_rule,
    ))


_slice_rule(0)
_slice_rule(1)
_pad_rule(0)
_pad_rule(1)


# =========================================================== concatenation
def _concat_shape(shapes, params):
    (axis,) = params
    other = 1 - axis
    first = shapes[0]
    for i, s in enumerate(shapes[1:], 1):
        if not same(s[other], first[other]):
            what = "columns" if axis == 0 else "rows"
            raise ShapeError(
                f"cannot stack {shape_str(first)} and {shape_str(s)}: the numbers of {what} differ", (0, i)
            )
    out = list(first)
    out[axis] = sympy.expand(sum((s[axis] for s in shapes), sympy.Integer(0)))
    return tuple(out)


def _concat_offsets(node):
    (axis,) = node.params
    offsets, at = [], sympy.Integer(0)
    for a in node.args:
        offsets.append(at)
        at = sympy.expand(at + a.shape[axis])
    return offsets


def _concat_canon(args, params):
    if len(args) == 1:
        return args[0]
    shape = _concat_shape(tuple(a.shape for a in args), params)
    if all(is_zero(a) for a in args):
        return zeros(*shape)
    return make("concat", args, params)


def _concat_jvp(node, ts):
    if all(t is None for t in ts):
        return None
    items = [t if t is not None else zeros(*a.shape) for a, t in zip(node.args, ts)]
    return B.concat(items, node.params[0])


def _concat_transpose(node, ct, i):
    (axis,) = node.params
    start = _concat_offsets(node)[i]
    stop = sympy.expand(start + node.args[i].shape[axis])
    return B.rows(ct, start, stop) if axis == 0 else B.cols(ct, start, stop)


def _concat_vec(node, i, k):
    (axis,) = node.params
    item = node.args[i]
    r, c = item.shape
    before = _concat_offsets(node)[i]
    total = node.shape[axis]
    if axis == 0:
        return B.matmul(B.kron(eye(c), B.pad_rows(eye(r), before, total)), k)
    return B.matmul(B.kron(B.pad_rows(eye(c), before, total), eye(r)), k)


register(OpRule(
    "concat", _concat_shape, lambda v, p, n, c: np.concatenate(v, axis=p[0]),
    Notation("custom", precedence=ATOM_LIKE), canon=_concat_canon, linear=True,
    jvp=_concat_jvp, transpose=_concat_transpose, vec=_concat_vec,
    rule_name="d[A, B] = [dA, dB]",
))
