"""Sums, scalar multiples, matrix and Hadamard products, transposes.

The bilinear algebra differentials are made of: each operator carries a
``transpose`` rule (its share of the adjoint, one trace-trick move) and a
``vec`` rule besides its differential, and simplifies as it is built.
"""

from __future__ import annotations

from functools import reduce

import numpy as np
import sympy

from ..graph import Expr, const, const_value, eye, is_all_ones, is_const, is_zero, make, ones, written_text, zeros
from ..limits import MAX_MATRIX_POWER
from ..shapes import ONE, ShapeError, same, shape_str
from . import build as B
from .helpers import fill_value, present, same_shapes
from .properties import is_symmetric
from .registry import ADD, MUL, POW, MissingRule, Notation, OpRule, register


# =========================================================== add
def _add_shape(shapes, _params):
    first = shapes[0]
    for i, s in enumerate(shapes[1:], 1):
        if not (same(s[0], first[0]) and same(s[1], first[1])):
            raise ShapeError(f"cannot add {shape_str(first)} and {shape_str(s)}", (0, i))
    return first


def split_coefficient(e: Expr):
    """``c X`` → (c, X) for a numeric c; anything else → (1, e).  A number
    as the cell wrote it (1e-5) is a term of its own, so it keeps its spelling."""
    if e.op == "smul" and is_const(e.args[0]) and const_value(e.args[0]).is_Number and not written_text(e.args[0]):
        return const_value(e.args[0]), e.args[1]
    if is_const(e) and const_value(e).is_Number and written_text(e) is None:
        return const_value(e), const(1)
    return sympy.Integer(1), e


BIG_SUM = 4  # a sum of more terms stays one unit inside another sum


def _add_canon(args, params):
    outer = {split_coefficient(a)[1] for a in args if a.op != "add"}
    flat: list[Expr] = []
    for a in args:
        # Splice small sums in; keep a big one whole (it is usually a shared
        # adjoint, printed once under a name) unless a term can be collected.
        splice = a.op == "add" and (
            len(a.args) < BIG_SUM or any(split_coefficient(t)[1] in outer for t in a.args))
        flat.extend(a.args if splice else (a,))
    shape = _add_shape(tuple(a.shape for a in flat), params)
    if all(is_const(t) for t in flat) and not any(written_text(t) for t in flat):
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
    jvp=lambda node, ts: B.add(*present(ts)) if present(ts) else None,
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
    if s.op == "smul":  # (2 s) X → 2 (s X)
        return B.smul(s.args[0], B.smul(s.args[1], a))
    s_num = is_const(s) and const_value(s).is_Number
    if a.op == "smul":
        t, inner = a.args
        t_num = is_const(t) and const_value(t).is_Number
        merged = _product(s, t) if is_const(s) and is_const(t) else None
        if merged is not None:
            return B.smul(merged, inner)
        if (s_num and t_num and inner.op == "smul" and is_const(inner.args[0])
                and not (written_text(s) or written_text(inner.args[0]))):
            # 2 (0.25 (2 X)): the computed numbers meet first, 0.25 (4 X), then maybe cancel
            return B.smul(t, B.smul(const(const_value(s) * const_value(inner.args[0])), inner.args[1]))
        if t_num and not s_num:  # keep the number outermost: 2 (s X)
            return B.smul(t, B.smul(s, inner))
    merged = _product(s, a) if is_const(s) and is_const(a) else None
    if merged is not None:
        return merged
    if a.is_scalar and not s.is_scalar:  # pragma: no cover - shape rule forbids
        raise ShapeError("bad scalar multiple")
    if a.is_scalar and is_const(a) and not is_const(s):
        return B.smul(a, s)  # the number first: 2 s, not s 2
    return make("smul", (s, a), ())


def _product(s: Expr, t: Expr) -> Expr | None:
    """Two constants multiplied, or None to keep them apart.  A number the
    cell wrote (0.5, or ρ = 0.05 named) keeps its spelling, unless the
    product is a whole number (∇ 0.5 xᵀx is x, not 2 0.5 x) or the other
    factor is 1."""
    if const_value(t) == 1 or const_value(s) == 1:
        return s if const_value(t) == 1 else t
    value = const_value(s) * const_value(t)
    if not (written_text(s) or written_text(t)) or (value.is_Integer and value != 0):
        return const(value)
    return None


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
    jvp=lambda node, ts: B.add(*present([
        B.smul(ts[0], node.args[1]) if ts[0] is not None else None,
        B.smul(node.args[0], ts[1]) if ts[1] is not None else None,
    ])) if present(ts) else None,
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


def _power_of(f: Expr):
    """A square factor as (base, integer exponent): A → (A, 1), A⁻¹ → (A, −1),
    (A⁻¹)ᵀ = (Aᵀ)⁻¹ → (Aᵀ, −1), (X⁻¹)³ → (X, −3)."""
    k = 1
    while True:
        if f.op == "matpow":
            k *= f.params[0]
            f = f.args[0]
        elif f.op == "inv":
            k = -k
            f = f.args[0]
        elif f.op == "transpose" and f.args[0].op in ("inv", "matpow"):
            f = B.transpose(f.args[0].args[0]) if f.args[0].op == "inv" else f
            if f.op == "transpose" and f.args[0].op == "matpow":
                inner = f.args[0]
                k *= inner.params[0]
                f = B.transpose(inner.args[0])
            else:
                k = -k
        else:
            return f, k


def _peel_inverse(a: Expr, b: Expr):
    """A neighbour cancels an end of an inverted product of square factors:
    F_k (F₁…F_k)⁻¹ = (F₁…F_{k−1})⁻¹ and (F₁…F_k)⁻¹ F₁ = (F₂…F_k)⁻¹ — how
    Aᵀ (A X B)⁻ᵀ Bᵀ becomes X⁻ᵀ.  Square factors of an invertible product are
    invertible, so this holds wherever the product's inverse exists."""
    for inverse, other, left in ((b, a, True), (a, b, False)):
        base, k = _power_of(inverse)
        if k != -1 or base.op != "matmul" or not all(same(*f.shape) for f in base.args):
            continue
        factors = base.args
        if left and other is factors[-1]:
            rest = factors[:-1]
        elif not left and other is factors[0]:
            rest = factors[1:]
        else:
            continue
        return B.inv(B.matmul(*rest))
    return None


def _from_power(base: Expr, k: int):
    if k == 0:
        return None
    return B.matpow(base, k) if k > 0 else B.matpow(B.inv(base), -k)


def _merge_powers(chain: list) -> list:
    """A A → A², A² A⁻¹ → A, Xᵀ (X⁻ᵀ)² → X⁻ᵀ (adjacent square factors with a
    common base).  Two inverses stay a product, as the identities print them."""
    out: list = []
    for f in chain:
        if out and same(f.shape[0], f.shape[1]) and not f.is_scalar:
            base, k = _power_of(f)
            prev_base, j = _power_of(out[-1])
            # (a product longer than the largest matrix power stays a product)
            if base is prev_base and not (j < 0 and k < 0) and abs(j + k) <= MAX_MATRIX_POWER:
                merged = _from_power(base, j + k)
                out.pop()
                if merged is not None:
                    out.append(merged)
                continue
        out.append(f)
    return out


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
        elif f.op == "broadcast" and f.args[0].is_scalar and not is_all_ones(f):  # c 𝟏 in a product: c out front
            coef.append(f.args[0])
            chain.append(B.fill(1, f.shape))
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
    chain = _merge_powers(chain)
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
            if is_all_ones(a) and is_all_ones(b) and a.shape[1] != ONE:  # (𝟏 𝟏ᵀ) 𝟏 = n 𝟏: the inner length counts
                coef.append(const(sympy.expand(a.shape[1])))
                rows, cols = a.shape[0], b.shape[1]
                chain[i:i + 2] = [] if rows == ONE and cols == ONE else [ones(rows, cols)]
                changed = True
                break
            merged = _merge_kron_pair(a, b) or _peel_inverse(a, b)
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
    if op == "commutation":  # K_{m,n}ᵀ = K_{n,m}
        return B.commutation(a.params[1], a.params[0])
    if op == "smul":
        if a.args[0].op == "smul":  # a named scalar product kept whole (r X): so is its transpose
            return make("smul", (a.args[0], B.transpose(a.args[1])), ())
        return B.smul(a.args[0], B.transpose(a.args[1]))
    if op == "matmul":
        return B.matmul(*(B.transpose(f) for f in reversed(a.args)))
    if op == "broadcast":
        return B.broadcast(B.transpose(a.args[0]), (a.shape[1], a.shape[0]))
    if op == "kron":
        return B.kron(B.transpose(a.args[0]), B.transpose(a.args[1]))
    if op == "diag":
        return a
    if op == "matpow":  # (Aᵏ)ᵀ = (Aᵀ)ᵏ
        return B.matpow(B.transpose(a.args[0]), a.params[0])
    if op in ("pad_rows", "pad_cols"):
        flip = B.pad_cols if op == "pad_rows" else B.pad_rows
        return flip(B.transpose(a.args[0]), *a.params)
    if op == "concat":
        return B.concat([B.transpose(x) for x in a.args], 1 - a.params[0])
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
_hadamard_shape = same_shapes("an elementwise product")


BIG_PRODUCT = 8  # a product of more factors stays one unit inside another product


def _factor_base(f: Expr) -> Expr:
    """The factor a power collects on: c X^∘k → X."""
    while f.op == "smul":
        f = f.args[1]
    if f.op == "epow" and is_const(f.args[1]) and const_value(f.args[1]).is_Integer:
        return f.args[0]
    return f


def _hadamard_canon(args, params):
    outer = {_factor_base(a) for a in args if a.op != "hadamard"}
    flat: list[Expr] = []
    for a in args:
        # Splice small products in; keep a big one whole unless a factor can be
        # collected into a power: a chain a_k = exp(a_{k−1}) ⊙ … would otherwise
        # build products of every length, quadratic in the chain's length.
        splice = a.op == "hadamard" and (
            len(a.args) < BIG_PRODUCT or any(_factor_base(f) in outer for f in a.args))
        flat.extend(a.args if splice else (a,))
    # a 1×1 factor broadcasts, as in NumPy: s ⊙ A is the scalar multiple s A
    shape = _hadamard_shape(tuple(f.shape for f in flat if not f.is_scalar) or ((ONE, ONE),), params)
    if any(is_zero(f) for f in flat):
        return zeros(*shape)
    coef: list[Expr] = []
    counts: dict[Expr, int] = {}
    order: list[Expr] = []
    for f in flat:
        while f.op == "smul":
            coef.append(f.args[0])
            f = f.args[1]
        s = fill_value(f)
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
    shape = same_shapes("an elementwise division")((a.shape, b.shape), params)
    if is_zero(a):
        return zeros(*shape)
    if is_all_ones(b):
        return a
    s = fill_value(b)
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
    "hdiv", same_shapes("an elementwise division"), lambda v, p, n, c: v[0] / v[1],
    Notation("infix", latex="\\oslash", text="⊘", numpy="/", precedence=MUL),
    canon=_hdiv_canon, linear=True, jvp=_hdiv_jvp, transpose=_hdiv_transpose,
    vec=lambda node, i, k: B.matmul(B.diag(B.vec(B.epow(node.args[1], -1))), k),
    rule_name="d(A ⊘ B) = dA ⊘ B − (A ⊘ B) ⊙ dB ⊘ B",
))
