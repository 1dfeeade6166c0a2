"""Elementwise functions: one table row each, derivative beside the forward.

A row gives the NumPy function, the differential ``d f(X) = f'(X) ⊙ dX``
(written with the output ``Y = f(X)`` where that reads best, as textbooks
do: ``d tanh(Z) = (1 − A^{∘2}) ⊙ dZ``), the SymPy function used for constant
folding and for simplifying elementwise formulas, how it prints, and the
domain random test data must respect.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import sympy

from ..graph import Expr, const, const_value, is_const, is_zero, make, written_text
from ..limits import check_power
from ..shapes import ONE, ShapeError, shape_str
from . import build as B
from .registry import FUNC, POW, Notation, OpRule, register


def _sigmoid(x):
    out = np.empty_like(x, dtype=float)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    ex = np.exp(x[~pos])
    out[~pos] = ex / (1.0 + ex)
    return out


def _softplus(x):
    return np.logaddexp(0.0, x)


@dataclass(frozen=True)
class Elementwise:
    name: str
    numpy: Callable
    # d f(X) given X, Y = f(X) and dX; None means the derivative is zero (a.e.)
    differential: Callable[[Expr, Expr, Expr], Expr] | None
    latex: str
    text: str
    numpy_name: str
    sympy_fn: Callable | None = None
    domain: str = "real"  # "real" or "positive": where inputs may be drawn
    rule_name: str = ""


def _one_minus(y: Expr) -> Expr:
    return B.sub(B.fill(1, y.shape), y)


TABLE = [
    Elementwise("exp", np.exp, lambda x, y, dx: B.hadamard(y, dx),
                "\\exp", "exp", "np.exp", sympy.exp, rule_name="d exp(X) = exp(X) ⊙ dX"),
    Elementwise("log", np.log, lambda x, y, dx: B.hdiv(dx, x),
                "\\log", "log", "np.log", sympy.log, "positive", "d log(X) = dX ⊘ X"),
    Elementwise("sqrt", np.sqrt, lambda x, y, dx: B.smul(sympy.Rational(1, 2), B.hdiv(dx, y)),
                "\\sqrt", "sqrt", "np.sqrt", sympy.sqrt, "positive", "d √X = dX ⊘ (2 √X)"),
    Elementwise("sin", np.sin, lambda x, y, dx: B.hadamard(B.elementwise("cos", x), dx),
                "\\sin", "sin", "np.sin", sympy.sin, rule_name="d sin(X) = cos(X) ⊙ dX"),
    Elementwise("cos", np.cos, lambda x, y, dx: B.neg(B.hadamard(B.elementwise("sin", x), dx)),
                "\\cos", "cos", "np.cos", sympy.cos, rule_name="d cos(X) = −sin(X) ⊙ dX"),
    Elementwise("tanh", np.tanh, lambda x, y, dx: B.hadamard(B.sub(B.fill(1, y.shape), B.epow(y, 2)), dx),
                "\\tanh", "tanh", "np.tanh", sympy.tanh, rule_name="d tanh(X) = (1 − tanh(X)^∘2) ⊙ dX"),
    Elementwise("sigmoid", _sigmoid, lambda x, y, dx: B.hadamard(y, _one_minus(y), dx),
                "\\sigma", "σ", "sigmoid", lambda a: 1 / (1 + sympy.exp(-a)),
                rule_name="d σ(X) = σ(X) ⊙ (1 − σ(X)) ⊙ dX"),
    Elementwise("relu", lambda x: np.maximum(x, 0.0), lambda x, y, dx: B.hadamard(B.elementwise("drelu", x), dx),
                "\\operatorname{relu}", "relu", "relu", lambda a: sympy.Max(a, 0),
                rule_name="d relu(X) = relu′(X) ⊙ dX"),
    Elementwise("drelu", lambda x: (x > 0).astype(float), None,
                "\\operatorname{relu}'", "relu′", "relu_prime", lambda a: sympy.Heaviside(a, 0)),
    Elementwise("softplus", _softplus, lambda x, y, dx: B.hadamard(B.elementwise("sigmoid", x), dx),
                "\\operatorname{softplus}", "softplus", "softplus", lambda a: sympy.log(1 + sympy.exp(a)),
                rule_name="d softplus(X) = σ(X) ⊙ dX"),
    Elementwise("abs", np.abs, lambda x, y, dx: B.hadamard(B.elementwise("sign", x), dx),
                "\\operatorname{abs}", "abs", "np.abs", sympy.Abs, rule_name="d |X| = sign(X) ⊙ dX"),
    Elementwise("sign", np.sign, None, "\\operatorname{sign}", "sign", "np.sign", sympy.sign),
    Elementwise("cosh", np.cosh, lambda x, y, dx: B.hadamard(B.elementwise("sinh", x), dx),
                "\\cosh", "cosh", "np.cosh", sympy.cosh, rule_name="d cosh(X) = sinh(X) ⊙ dX"),
    Elementwise("sinh", np.sinh, lambda x, y, dx: B.hadamard(B.elementwise("cosh", x), dx),
                "\\sinh", "sinh", "np.sinh", sympy.sinh, rule_name="d sinh(X) = cosh(X) ⊙ dX"),
    # drawn positive (0.5 to 1.5): inside (−π/2, π/2), away from tan's poles
    Elementwise("tan", np.tan, lambda x, y, dx: B.hadamard(B.add(B.fill(1, y.shape), B.epow(y, 2)), dx),
                "\\tan", "tan", "np.tan", sympy.tan, "positive", "d tan(X) = (1 + tan(X)^∘2) ⊙ dX"),
    Elementwise("arctan", np.arctan, lambda x, y, dx: B.hdiv(dx, B.add(B.fill(1, x.shape), B.epow(x, 2))),
                "\\arctan", "arctan", "np.arctan", sympy.atan, rule_name="d arctan(X) = dX ⊘ (1 + X^∘2)"),
    Elementwise("log1p", np.log1p, lambda x, y, dx: B.hdiv(dx, B.add(B.fill(1, x.shape), x)),
                "\\operatorname{log1p}", "log1p", "np.log1p", lambda a: sympy.log(1 + a), "positive",
                "d log1p(X) = dX ⊘ (1 + X)"),
    Elementwise("expm1", np.expm1, lambda x, y, dx: B.hadamard(B.elementwise("exp", x), dx),
                "\\operatorname{expm1}", "expm1", "np.expm1", lambda a: sympy.exp(a) - 1,
                rule_name="d expm1(X) = exp(X) ⊙ dX"),
]
BY_NAME = {row.name: row for row in TABLE}


def _inverse_pairs(name: str, a: Expr):
    """Compositions that undo each other or have a fused, stabler form."""
    if name == "log" and a.op == "exp":
        return a.args[0]
    if name == "exp" and a.op == "log":
        return a.args[0]
    if name == "log" and a.op == "softmax":
        return B.logsoftmax(a.args[0], a.params[0])
    if name == "log" and a.op == "det":
        return B.logdet(a.args[0])
    if name in ("relu", "abs") and a.op == name:
        return a
    return None


def _register(row: Elementwise):
    name = row.name

    def canon(args, params):
        (a,) = args
        fused = _inverse_pairs(name, a)
        if fused is not None:
            return fused
        if is_const(a) and row.sympy_fn is not None and written_text(a) is None:  # log(0.05) as written
            value = row.sympy_fn(const_value(a))
            if value.is_number and not value.has(sympy.zoo, sympy.nan):
                return const(value)
        if is_zero(a) and row.sympy_fn is not None:  # cos(0) of a zero matrix is all ones
            value = row.sympy_fn(sympy.Integer(0))
            if value.is_number and not value.has(sympy.zoo, sympy.nan):
                return a if value == 0 else B.fill(value, a.shape)
        return make(name, args, params)

    def jvp(node, ts):
        (dx,) = ts
        if dx is None or row.differential is None:
            return None
        return row.differential(node.args[0], node, dx)

    register(OpRule(
        name, lambda s, p: s[0], lambda v, p, n, c: row.numpy(v[0]),
        Notation("func", latex=row.latex, text=row.text, numpy=row.numpy_name, precedence=FUNC),
        canon=canon, jvp=jvp, rule_name=row.rule_name, extra={"elementwise": row},
    ))


for _row in TABLE:
    _register(_row)


# =========================================================== elementwise power
def _epow_shape(shapes, _params):
    a, p = shapes
    if not (p[0] == ONE and p[1] == ONE):
        raise ShapeError(f"an elementwise power needs a scalar exponent, not {shape_str(p)}", (1,))
    return a


def _epow_canon(args, params):
    a, p = args
    if is_const(p, 1):
        return a
    if is_const(p, 0):
        return B.fill(1, a.shape)
    if is_const(a) and is_const(p) and written_text(a) is None:
        check_power(const_value(a), const_value(p))  # before computing it: 9 ** 9 ** 9 takes minutes
        return const(const_value(a) ** const_value(p))
    if a.op == "sqrt" and is_const(p, 2):
        return a.args[0]
    if is_const(p) and const_value(p).is_Integer:
        k = const_value(p)
        if a.op == "epow" and is_const(a.args[1]):
            return B.epow(a.args[0], const(const_value(a.args[1]) * k))
        if a.op == "smul" and is_const(a.args[0]):
            check_power(const_value(a.args[0]), k)
            return B.smul(const(const_value(a.args[0]) ** k), B.epow(a.args[1], p))
    return make("epow", args, params)


def _epow_eval(v, params, node, ctx):
    return np.power(v[0], v[1][0, 0])


def _epow_jvp(node, ts):
    a, p = node.args
    da, dp = ts
    terms = []
    if da is not None:
        terms.append(B.smul(p, B.hadamard(B.epow(a, B.sub(p, const(1))), da)))
    if dp is not None:
        terms.append(B.smul(dp, B.hadamard(node, B.elementwise("log", a))))
    return B.add(*terms) if terms else None


register(OpRule(
    "epow", _epow_shape, _epow_eval,
    Notation("postfix", latex="^{\\circ %s}", text="^∘%s", numpy="**", precedence=POW),
    canon=_epow_canon, jvp=_epow_jvp, rule_name="d(X^∘p) = p X^∘(p−1) ⊙ dX",
))
