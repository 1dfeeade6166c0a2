"""Leaves: variables, differentials, numbers and the special matrices."""

from __future__ import annotations

import numpy as np
import sympy

from ..shapes import ShapeError, concrete, concrete_shape
from .registry import ATOM, Notation, OpRule, register


def _given_shape(_arg_shapes, _params):
    raise ShapeError("a leaf's shape is given when it is made")


def _lookup(_values, params, node, ctx):
    name = params[0]
    try:
        value = ctx.env[name]
    except KeyError:
        raise ShapeError(f"no value for {name}") from None
    return value


register(OpRule(
    "var", _given_shape, _lookup, Notation("custom", precedence=ATOM),
    doc="A declared variable; params = (name, properties).",
))

register(OpRule(
    "tangent", _given_shape, _lookup, Notation("custom", precedence=ATOM),
    doc="The differential dX of a variable; params = (name,).",
))


def _const_eval(_values, params, _node, ctx):
    value = params[0]
    if not value.is_Number:
        value = value.xreplace(ctx.sizes)
    return np.array([[float(value)]])


register(OpRule(
    "const", _given_shape, _const_eval, Notation("custom", precedence=ATOM),
    doc="A 1×1 number or size symbol (SymPy value).",
))


def _eye_eval(_v, _p, node, ctx):
    return np.eye(concrete(node.shape[0], ctx.sizes))


def _ones_eval(_v, _p, node, ctx):
    return np.ones(concrete_shape(node.shape, ctx.sizes))


def _zeros_eval(_v, _p, node, ctx):
    return np.zeros(concrete_shape(node.shape, ctx.sizes))


register(OpRule("eye", _given_shape, _eye_eval, Notation("custom", precedence=ATOM), doc="Identity I_n."))
register(OpRule("ones", _given_shape, _ones_eval, Notation("custom", precedence=ATOM), doc="All-ones matrix."))
register(OpRule("zeros", _given_shape, _zeros_eval, Notation("custom", precedence=ATOM), doc="Zero matrix."))


def _commutation_shape(_arg_shapes, params):
    m, n = params
    return (sympy.expand(m * n), sympy.expand(m * n))


def _commutation_eval(_v, params, _node, ctx):
    m, n = (concrete(d, ctx.sizes) for d in params)
    k = np.zeros((m * n, m * n))
    for i in range(m):
        for j in range(n):
            # vec is column-major: A[i, j] sits at i + j m; Aᵀ[j, i] at j + i n.
            k[j + i * n, i + j * m] = 1.0
    return k


def _commutation_canon(args, params):
    from ..graph import eye, make

    m, n = params
    if m == 1 or n == 1:
        return eye(sympy.expand(m * n))
    return make("commutation", args, params)


register(OpRule(
    "commutation", _commutation_shape, _commutation_eval,
    Notation("custom", precedence=ATOM), canon=_commutation_canon,
    doc="Commutation matrix K_{m,n}: vec(Aᵀ) = K_{m,n} vec(A).",
))
