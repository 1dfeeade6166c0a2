"""Linear and multilinear structure: sums, products, transposes, reshaping.

These are the operators differentials are made of, so each carries a
``transpose`` rule (its share of the adjoint: the trace-trick move) besides
its differential.
"""

from __future__ import annotations

from functools import reduce

import numpy as np
import sympy

from ..graph import Expr, const, const_value, eye, is_all_ones, is_const, is_zero, make, ones, zeros
from ..shapes import ONE, ShapeError, concrete, concrete_shape, same, shape_str
from . import build as B
from .properties import is_symmetric, sums_to_one
from .registry import ADD, FUNC, MUL, POW, MissingRule, Notation, OpRule, register


def _present(tangents):
    return [t for t in tangents if t is not None]


# =========================================================== add
def _add_shape(shapes, _params):
    first = shapes[0]
    for i, s in enumerate(shapes[1:], 1):
        if not (same(s[0], first[0]) and same(s[1], first[1])):
            raise ShapeError(f"cannot add {shape_str(first)} and {shape_str(s)}", (0, i))
    return first


def split_coefficient(e: Expr):
    """``c X`` → (c, X) for a numeric c; anything else → (1, e)."""
    if e.op == "smul" and is_const(e.args[0]) and const_value(e.args[0]).is_Number:
        return const_value(e.args[0]), e.args[1]
    if is_const(e) and const_value(e).is_Number:
        return const_value(e), const(1)
    return sympy.Integer(1), e


def _add_canon(args, params):
    flat: list[Expr] = []
    for a in args:
        flat.extend(a.args if a.op == "add" else (a,))
    shape = _add_shape(tuple(a.shape for a in flat), params)
    if all(is_const(t) for t in flat):
        return const(sympy.expand(sum((const_value(t) for t in flat), sympy.Integer(0))))
    coefs: dict[Expr, object] = {}
    order: list[Expr] = []
    for term in flat:
        if is_zero(term):
            continue
        c, base = split_coefficient(term)
        if base not in coefs:
            coefs[base] = c
            order.append(base)
        else:
            coefs[base] = coefs[base] + c
    terms = [B.smul(coefs[b], b) for b in order if coefs[b] != 0]
    terms = [t for t in terms if not is_zero(t)]
    if not terms:
        return zeros(*shape)
    if len(terms) == 1:
        return terms[0]
    return make("add", tuple(terms), ())


register(OpRule(
    "add", _add_shape, lambda v, p, n, c: reduce(np.add, v),
    Notation("custom", precedence=ADD), canon=_add_canon, linear=True,
    jvp=lambda node, ts: B.add(*_present(ts)) if _present(ts) else None,
    transpose=lambda node, ct, i: ct,
    vec=lambda node, i, k: k,
    rule_name="d(A + B) = dA + dB",
))


# =========================================================== scalar multiple
def _smul_shape(shapes, _params):
    s, a = shapes
    if not (s[0] == ONE and s[1] == ONE):
        raise ShapeError(f"a scalar multiple needs a 1×1 factor, not {shape_str(s)}", (0,))
    return a


def _smul_canon(args, params):
    s, a = args
    if is_zero(s) or is_zero(a):
        return zeros(*a.shape)
    if is_const(s, 1):
        return a
    s_num = is_const(s) and const_value(s).is_Number
    if a.op == "smul":
        t, inner = a.args
        t_num = is_const(t) and const_value(t).is_Number
        if is_const(s) and is_const(t):
            return B.smul(const(const_value(s) * const_value(t)), inner)
        if t_num and not s_num:  # keep the number outermost: 2 (s X)
            return B.smul(t, B.smul(s, inner))
    if is_const(s) and is_const(a):
        return const(const_value(s) * const_value(a))
    if a.is_scalar and not s.is_scalar:  # pragma: no cover - shape rule forbids
        raise ShapeError("bad scalar multiple")
    if a.is_scalar and is_const(a) and not is_const(s):
        return B.smul(a, s)  # the number first: 2 s, not s 2
    return make("smul", (s, a), ())


def _smul_eval(v, p, n, c):
    return v[0][0, 0] * v[1]


def _smul_transpose(node, ct, i):
    s, a = node.args
    if i == 1:
        return B.smul(s, ct)
    return B.inner(a, ct)  # d s · A: ⟨A, C̄⟩


register(OpRule(
    "smul", _smul_shape, _smul_eval, Notation("custom", precedence=MUL),
    canon=_smul_canon, linear=True,
    jvp=lambda node, ts: B.add(*_present([
        B.smul(ts[0], node.args[1]) if ts[0] is not None else None,
        B.smul(node.args[0], ts[1]) if ts[1] is not None else None,
    ])) if _present(ts) else None,
    transpose=_smul_transpose,
    vec=lambda node, i, k: B.smul(node.args[0], k) if i == 1 else B.matmul(B.vec(node.args[1]), k),
    rule_name="d(s A) = ds A + s dA",
))


# =========================================================== matrix product
def _matmul_shape(shapes, _params):
    for i in range(len(shapes) - 1):
        a, b = shapes[i], shapes[i + 1]
        if not same(a[1], b[0]):
            raise ShapeError(
                f"inner sizes {a[1]} and {b[0]} differ ({shape_str(a)} times {shape_str(b)})",
                (i, i + 1),
            )
    return (shapes[0][0], shapes[-1][1])


def _merge_kron_pair(a: Expr, b: Expr):
    """(A ⊗ B)(C ⊗ D) = AC ⊗ BD when the sizes allow."""
    if a.op == "kron" and b.op == "kron":
        (p, q), (r, s) = a.args, b.args
        if same(p.shape[1], r.shape[0]) and same(q.shape[1], s.shape[0]):
            return B.kron(B.matmul(p, r), B.matmul(q, s))
    return None


def _matmul_canon(args, params):
    coef: list[Expr] = []
    chain: list[Expr] = []
    stack = list(reversed(args))
    while stack:  # flatten nested products, pulling scalar multiples out front
        f = stack.pop()
        if f.op == "smul":
            coef.append(f.args[0])
            stack.append(f.args[1])
        elif f.op == "matmul":
            stack.extend(reversed(f.args))
        else:
            chain.append(f)
    shape = _matmul_shape(tuple(f.shape for f in chain), params)
    if any(is_zero(f) for f in chain):
        return zeros(*shape)
    if len(chain) > 1:
        # A 1×1 factor of a chain is a scalar: its neighbours meet in a 1.
        kept = []
        for f in chain:
            if f.is_scalar:
                coef.append(f)
            else:
                kept.append(f)
        chain = kept
        chain = [f for f in chain if f.op != "eye"] or chain[:0]
    # Cancel A⁻¹ A and A A⁻¹; merge Kronecker products.
    changed = True
    while changed and len(chain) > 1:
        changed = False
        for i in range(len(chain) - 1):
            a, b = chain[i], chain[i + 1]
            if (a.op == "inv" and a.args[0] is b) or (b.op == "inv" and b.args[0] is a):
                chain[i:i + 2] = []
                changed = True
                break
            if a.op == "diag" and is_all_ones(b) and b.shape[1] == ONE:  # diag(v) 𝟏 = v
                v = a.args[0]
                chain[i:i + 2] = [v if v.shape[1] == ONE else B.transpose(v)]
                changed = True
                break
            if b.op == "diag" and is_all_ones(a) and a.shape[0] == ONE:  # 𝟏ᵀ diag(v) = vᵀ
                v = b.args[0]
                chain[i:i + 2] = [v if v.shape[0] == ONE else B.transpose(v)]
                changed = True
                break
            merged = _merge_kron_pair(a, b)
            if merged is not None:
                chain[i:i + 2] = [merged]
                changed = True
                break
    if not chain:
        body = eye(shape[0]) if same(shape[0], shape[1]) else None
        if body is None:  # pragma: no cover - only scalars can vanish entirely
            body = const(1)
    elif len(chain) == 1:
        body = chain[0]
    else:
        body = make("matmul", tuple(chain), ())
    if body.is_scalar and not (shape[0] == ONE and shape[1] == ONE):
        body = eye(shape[0]) if body is const(1) else body
    for c in reversed(coef):
        body = B.smul(c, body)
    return body


def _matmul_eval(v, p, n, c):
    return v[0] @ v[1] if len(v) == 2 else np.linalg.multi_dot(v)


def _matmul_jvp(node, ts):
    terms = []
    for i, t in enumerate(ts):
        if t is not None:
            factors = list(node.args)
            factors[i] = t
            terms.append(B.matmul(*factors))
    return B.add(*terms) if terms else None


def _matmul_transpose(node, ct, i):
    f = node.args
    parts = []
    if i > 0:
        parts.append(B.transpose(B.matmul(*f[:i])))
    parts.append(ct)
    if i < len(f) - 1:
        parts.append(B.transpose(B.matmul(*f[i + 1:])))
    return B.matmul(*parts)


def _matmul_vec(node, i, k):
    """vec(L T R) = (Rᵀ ⊗ L) vec(T)."""
    f = node.args
    t = f[i]
    left = B.matmul(*f[:i]) if i > 0 else eye(t.shape[0])
    right = B.matmul(*f[i + 1:]) if i < len(f) - 1 else eye(t.shape[1])
    return B.matmul(B.kron(B.transpose(right), left), k)


register(OpRule(
    "matmul", _matmul_shape, _matmul_eval, Notation("custom", precedence=MUL),
    canon=_matmul_canon, linear=True, jvp=_matmul_jvp, transpose=_matmul_transpose, vec=_matmul_vec,
    rule_name="d(AB) = dA B + A dB",
))


# =========================================================== transpose
def _transpose_canon(args, params):
    (a,) = args
    if a.is_scalar or is_symmetric(a):
        return a
    op = a.op
    if op == "transpose":
        return a.args[0]
    if op in ("eye", "zeros", "ones"):
        return make(op, (), (), (a.shape[1], a.shape[0]))
    if op == "smul":
        return B.smul(a.args[0], B.transpose(a.args[1]))
    if op == "matmul":
        return B.matmul(*(B.transpose(f) for f in reversed(a.args)))
    if op == "broadcast":
        return B.broadcast(B.transpose(a.args[0]), (a.shape[1], a.shape[0]))
    if op == "kron":
        return B.kron(B.transpose(a.args[0]), B.transpose(a.args[1]))
    if op == "diag":
        return a
    if op == "vec" and a.args[0].shape[1] == ONE:  # pragma: no cover - vec canon removes it
        return B.transpose(a.args[0])
    return make("transpose", args, ())


register(OpRule(
    "transpose", lambda s, p: (s[0][1], s[0][0]), lambda v, p, n, c: v[0].T,
    Notation("postfix", latex="^{\\top}", text="ᵀ", numpy=".T", precedence=POW),
    canon=_transpose_canon, linear=True,
    jvp=lambda node, ts: B.transpose(ts[0]) if ts[0] is not None else None,
    transpose=lambda node, ct, i: B.transpose(ct),
    vec=lambda node, i, k: B.matmul(B.commutation(*node.args[0].shape), k),
    rule_name="d(Aᵀ) = (dA)ᵀ",
))


# =========================================================== Hadamard product
def _same_shapes(what):
    def rule(shapes, _params):
        first = shapes[0]
        for i, s in enumerate(shapes[1:], 1):
            if not (same(s[0], first[0]) and same(s[1], first[1])):
                raise ShapeError(f"{what} needs equal shapes, not {shape_str(first)} and {shape_str(s)}", (0, i))
        return first
    return rule


_hadamard_shape = _same_shapes("an elementwise product")


def _is_fill(e: Expr):
    """broadcast of a 1×1 value → that value."""
    if e.op == "broadcast" and e.args[0].is_scalar:
        return e.args[0]
    if e.op == "ones":
        return const(1)
    return None


def _hadamard_canon(args, params):
    flat: list[Expr] = []
    for a in args:
        flat.extend(a.args if a.op == "hadamard" else (a,))
    shape = _hadamard_shape(tuple(f.shape for f in flat), params)
    if any(is_zero(f) for f in flat):
        return zeros(*shape)
    coef: list[Expr] = []
    counts: dict[Expr, int] = {}
    order: list[Expr] = []
    for f in flat:
        while f.op == "smul":
            coef.append(f.args[0])
            f = f.args[1]
        s = _is_fill(f)
        if s is not None:
            if not is_const(s, 1):
                coef.append(s)
            continue
        if f.is_scalar:
            coef.append(f)
            continue
        base, power = f, 1
        if f.op == "epow" and is_const(f.args[1]) and const_value(f.args[1]).is_Integer:
            base, power = f.args[0], int(const_value(f.args[1]))
        if base not in counts:
            counts[base] = 0
            order.append(base)
        counts[base] += power
    factors = []
    for base in order:
        k = counts[base]
        if k == 0:
            continue
        factors.append(base if k == 1 else B.epow(base, k))
    if not factors:
        body = B.fill(1, shape)
        if coef:
            # Only scalars were multiplied: the product of the coefficients.
            value = coef[0]
            for c in coef[1:]:
                value = B.smul(c, value)
            return B.broadcast(value, shape) if value.shape != shape else value
        return body
    body = factors[0] if len(factors) == 1 else make("hadamard", tuple(factors), ())
    for c in reversed(coef):
        body = B.smul(c, body)
    return body


def _hadamard_jvp(node, ts):
    terms = []
    for i, t in enumerate(ts):
        if t is not None:
            others = [a for j, a in enumerate(node.args) if j != i]
            terms.append(B.hadamard(t, *others))
    return B.add(*terms) if terms else None


register(OpRule(
    "hadamard", _hadamard_shape, lambda v, p, n, c: reduce(np.multiply, v),
    Notation("infix", latex="\\odot", text="⊙", numpy="*", precedence=MUL),
    canon=_hadamard_canon, linear=True, jvp=_hadamard_jvp,
    transpose=lambda node, ct, i: B.hadamard(ct, *(a for j, a in enumerate(node.args) if j != i)),
    vec=lambda node, i, k: B.matmul(B.diag(B.vec(B.hadamard(*(a for j, a in enumerate(node.args) if j != i)))), k),
    rule_name="d(A ⊙ B) = dA ⊙ B + A ⊙ dB",
))


# =========================================================== elementwise division
def _hdiv_canon(args, params):
    a, b = args
    shape = _same_shapes("an elementwise division")((a.shape, b.shape), params)
    if is_zero(a):
        return zeros(*shape)
    if is_all_ones(b):
        return a
    s = _is_fill(b)
    if s is not None or b.is_scalar:
        return B.smul(B.epow(s if s is not None else b, -1), a)
    if a is b:
        return B.fill(1, shape)
    if a.op == "smul":
        return B.smul(a.args[0], B.hdiv(a.args[1], b))
    if b.op == "smul" and is_const(b.args[0]):
        return B.smul(const(1 / const_value(b.args[0])), B.hdiv(a, b.args[1]))
    return make("hdiv", args, ())


def _hdiv_jvp(node, ts):
    a, b = node.args
    da, db = ts
    terms = []
    if da is not None:
        terms.append(B.hdiv(da, b))
    if db is not None:
        terms.append(B.neg(B.hdiv(B.hadamard(node, db), b)))
    return B.add(*terms) if terms else None


def _hdiv_transpose(node, ct, i):
    if i != 0:
        raise MissingRule("A ⊘ B is not linear in B")
    return B.hdiv(ct, node.args[1])


register(OpRule(
    "hdiv", _same_shapes("an elementwise division"), lambda v, p, n, c: v[0] / v[1],
    Notation("infix", latex="\\oslash", text="⊘", numpy="/", precedence=MUL),
    canon=_hdiv_canon, linear=True, jvp=_hdiv_jvp, transpose=_hdiv_transpose,
    vec=lambda node, i, k: B.matmul(B.diag(B.vec(B.epow(node.args[1], -1))), k),
    rule_name="d(A ⊘ B) = dA ⊘ B − (A ⊘ B) ⊙ dB ⊘ B",
))


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
    fill = _is_fill(a)
    if fill is not None:
        count = a.shape[0] * a.shape[1] if axis is None else a.shape[axis]
        body = B.smul(const(sympy.expand(count)), fill)
        return body if axis is None else B.broadcast(body, shape)
    if sums_to_one(a) and (axis is None or a.shape[1 - axis] == ONE):
        return const(1)
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


def _diag_transpose(node, ct, i):
    d = B.diagvec(ct)
    return d if node.args[0].shape[1] == ONE else B.transpose(d)


register(OpRule(
    "diag", _diag_shape, lambda v, p, n, c: np.diag(v[0].ravel()),
    Notation("func", latex="\\operatorname{diag}", text="diag", numpy="np.diag", precedence=FUNC),
    canon=_diag_canon, linear=True,
    jvp=lambda node, ts: B.diag(ts[0]) if ts[0] is not None else None,
    transpose=_diag_transpose,
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
    rule_name="d diag(A) = diag(dA)",
))


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


def _kron_transpose(node, ct, i):
    raise MissingRule("the adjoint of a Kronecker product with a varying factor")


register(OpRule(
    "kron", _kron_shape, lambda v, p, n, c: np.kron(v[0], v[1]),
    Notation("infix", latex="\\otimes", text="⊗", numpy="np.kron", precedence=MUL),
    canon=_kron_canon, linear=True,
    jvp=lambda node, ts: B.add(*_present([
        B.kron(ts[0], node.args[1]) if ts[0] is not None else None,
        B.kron(node.args[0], ts[1]) if ts[1] is not None else None,
    ])) if _present(ts) else None,
    transpose=_kron_transpose,
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


ATOM_LIKE = 90  # bracketed blocks print as atoms
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
