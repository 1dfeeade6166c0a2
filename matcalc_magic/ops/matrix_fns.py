"""Matrix functions: inverse, determinant, log-determinant, powers, softmax."""

from __future__ import annotations

import numpy as np

from ..graph import const, const_value, eye, is_const, make
from ..limits import MAX_MATRIX_POWER
from ..shapes import ONE, ShapeError, same, shape_str
from . import build as B
from .registry import FUNC, MUL, POW, Notation, OpRule, register


def _square(what):
    def rule(shapes, _params):
        (s,) = shapes
        if not same(s[0], s[1]):
            raise ShapeError(f"{what} needs a square matrix, not {shape_str(s)}", (0,))
        return s
    return rule


def _scalar_of_square(what):
    square = _square(what)

    def rule(shapes, params):
        square(shapes, params)
        return (ONE, ONE)
    return rule


# =========================================================== inverse
def _inv_canon(args, params):
    (a,) = args
    _square("the inverse")((a.shape,), params)
    if a.is_scalar:
        return B.epow(a, -1)
    if a.op == "inv":
        return a.args[0]
    if a.op == "eye":
        return a
    if a.op == "smul":  # (s X)⁻¹ = s⁻¹ X⁻¹
        s = a.args[0]
        inverse = const(1 / const_value(s)) if is_const(s) else B.epow(s, -1)
        return B.smul(inverse, B.inv(a.args[1]))
    if a.op == "transpose":
        return B.transpose(B.inv(a.args[0]))
    if a.op == "matpow":  # (Xᵏ)⁻¹ = (X⁻¹)ᵏ
        return B.matpow(B.inv(a.args[0]), a.params[0])
    if a.op == "diag":
        return B.diag(B.epow(a.args[0], -1))
    return make("inv", args, params)


register(OpRule(
    "inv", _square("the inverse"), lambda v, p, n, c: np.linalg.inv(v[0]),
    Notation("postfix", latex="^{-1}", text="⁻¹", numpy="np.linalg.inv", precedence=POW),
    canon=_inv_canon,
    jvp=lambda node, ts: B.neg(B.matmul(node, ts[0], node)) if ts[0] is not None else None,
    rule_name="d(X⁻¹) = −X⁻¹ dX X⁻¹",
))


# =========================================================== determinant
def _det_canon(args, params):
    (a,) = args
    _square("the determinant")((a.shape,), params)
    if a.is_scalar:
        return a
    if a.op == "eye":
        return const(1)
    if a.op == "transpose":
        return B.det(a.args[0])
    if a.op == "inv":
        return B.epow(B.det(a.args[0]), -1)
    if a.op == "smul" and is_const(a.args[0]):
        return B.smul(const(const_value(a.args[0]) ** a.shape[0]), B.det(a.args[1]))
    return make("det", args, params)


register(OpRule(
    "det", _scalar_of_square("the determinant"), lambda v, p, n, c: np.array([[np.linalg.det(v[0])]]),
    Notation("func", latex="\\det", text="det", numpy="np.linalg.det", precedence=FUNC),
    canon=_det_canon,
    jvp=lambda node, ts: B.smul(node, B.trace(B.matmul(B.inv(node.args[0]), ts[0]))) if ts[0] is not None else None,
    rule_name="d det(X) = det(X) tr(X⁻¹ dX)",
))


def _logdet_canon(args, params):
    (a,) = args
    _square("the log-determinant")((a.shape,), params)
    if a.is_scalar:
        return B.elementwise("log", a)
    if a.op == "eye":
        return const(0)
    if a.op == "transpose":
        return B.logdet(a.args[0])
    if a.op == "inv":
        return B.neg(B.logdet(a.args[0]))
    return make("logdet", args, params)


def _logdet_eval(v, p, n, c):
    sign, value = np.linalg.slogdet(v[0])
    return np.array([[value if sign > 0 else np.nan]])


register(OpRule(
    "logdet", _scalar_of_square("the log-determinant"), _logdet_eval,
    # "log det(X)" is log applied to det(X): a power or transpose after it needs brackets
    Notation("func", latex="\\log\\det", text="log det", numpy="logdet", precedence=MUL),
    canon=_logdet_canon,
    jvp=lambda node, ts: B.trace(B.matmul(B.inv(node.args[0]), ts[0])) if ts[0] is not None else None,
    rule_name="d log det(X) = tr(X⁻¹ dX)",
))


# =========================================================== matrix power
#: d(Aᵏ) is a sum of |k| terms, so larger powers would swamp the result (and
#: overflow any numeric check); the limit keeps a typo like A^100000 from hanging.


def _matpow_canon(args, params):
    (a,) = args
    (k,) = params
    _square("a matrix power")((a.shape,), params)
    if abs(k) > MAX_MATRIX_POWER and not a.is_scalar and a.op != "eye":
        raise ShapeError(
            f"matrix powers go up to A^{MAX_MATRIX_POWER} (and A^-{MAX_MATRIX_POWER}), not {k}: "
            f"the derivative of A^k is a sum of |k| terms", (0,))
    if k == 0:
        return eye(a.shape[0])
    if k == 1:
        return a
    if k < 0:
        return B.matpow(B.inv(a), -k)
    if a.is_scalar:
        return B.epow(a, k)
    if a.op == "eye":
        return a
    if a.op == "matpow":
        return B.matpow(a.args[0], a.params[0] * k)
    if a.op == "smul" and is_const(a.args[0]):
        return B.smul(const(const_value(a.args[0]) ** k), B.matpow(a.args[1], k))
    return make("matpow", args, params)


def _matpow_jvp(node, ts):
    (da,) = ts
    if da is None:
        return None
    (a,) = node.args
    (k,) = node.params
    return B.add(*(B.matmul(B.matpow(a, i), da, B.matpow(a, k - 1 - i)) for i in range(k)))


register(OpRule(
    "matpow", _square("a matrix power"), lambda v, p, n, c: np.linalg.matrix_power(v[0], p[0]),
    Notation("postfix", latex="^{%s}", text="^%s", numpy="np.linalg.matrix_power", precedence=POW),
    canon=_matpow_canon, jvp=_matpow_jvp,
    rule_name="d(Xᵏ) = Σᵢ Xⁱ dX Xᵏ⁻¹⁻ⁱ",
))


# =========================================================== softmax family
def _axis_shape(shapes, params):
    return shapes[0]


def _reduce_shape(shapes, params):
    (s,) = shapes
    (axis,) = params
    if axis is None:
        return (ONE, ONE)
    return (ONE, s[1]) if axis == 0 else (s[0], ONE)


def _np_logsumexp(x, axis):
    keep = axis is not None
    m = np.max(x, axis=axis, keepdims=True)
    out = m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))
    return out if keep else out.reshape(1, 1)


def _np_softmax(x, axis):
    return np.exp(x - _np_logsumexp(x, axis))


def _spread(node, value):
    """Broadcast a per-column/row/total value back over ``node``'s shape."""
    return B.broadcast(value, node.shape)


def _softmax_jvp(node, ts):
    (dz,) = ts
    if dz is None:
        return None
    (axis,) = node.params
    s = node
    return B.hadamard(s, B.sub(dz, _spread(node, B.total(B.hadamard(s, dz), axis))))


def _logsoftmax_jvp(node, ts):
    (dz,) = ts
    if dz is None:
        return None
    (axis,) = node.params
    s = B.softmax(node.args[0], axis)
    return B.sub(dz, _spread(node, B.total(B.hadamard(s, dz), axis)))


def _logsumexp_jvp(node, ts):
    (dz,) = ts
    if dz is None:
        return None
    (axis,) = node.params
    return B.total(B.hadamard(B.softmax(node.args[0], axis), dz), axis)


def _softmax_canon(args, params):
    (a,) = args
    if a.is_scalar:
        return const(1)
    return make("softmax", args, params)


register(OpRule(
    "softmax", _axis_shape, lambda v, p, n, c: _np_softmax(v[0], p[0]),
    Notation("func", latex="\\operatorname{softmax}", text="softmax", numpy="softmax", precedence=FUNC),
    canon=_softmax_canon, jvp=_softmax_jvp,
    rule_name="d softmax(z) = s ⊙ dz − s (sᵀ dz)",
))

register(OpRule(
    "logsoftmax", _axis_shape, lambda v, p, n, c: v[0] - _np_logsumexp(v[0], p[0]),
    Notation("func", latex="\\log\\operatorname{softmax}", text="log softmax", numpy="log_softmax",
             precedence=FUNC),
    jvp=_logsoftmax_jvp,
    rule_name="d log softmax(z) = dz − 𝟏 (sᵀ dz)",
))

register(OpRule(
    "logsumexp", _reduce_shape, lambda v, p, n, c: _np_logsumexp(v[0], p[0]),
    Notation("func", latex="\\operatorname{logsumexp}", text="logsumexp", numpy="logsumexp", precedence=FUNC),
    jvp=_logsumexp_jvp,
    rule_name="d logsumexp(z) = softmax(z)ᵀ dz",
))
